"""Configuration: defaults < config file < GOTRIAGE_* environment < flags.

The file may be JSON (starts with "{") or simple key = value lines with
optional [labels] / [intervals] sections (INI-like). Labels and intervals
merge key by key across layers, so a flag can override one label without
repeating the others.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import socket
from dataclasses import dataclass, field

# Collector names; each has its own interval. 0 disables one.
INTERVAL_DEFAULTS = {
    "goroutine": 60.0,
    "goroutineleak": 300.0,  # auto-disabled when the target answers 404 (Go < 1.26)
    "expvar": 30.0,
    "runtime_metrics": 30.0,
    "prometheus": 60.0,
    "gctrace": 30.0,
    "cgroup": 300.0,
}

_SIZE_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1024, "m": 1000**2, "mb": 1000**2,
               "mib": 1024**2, "g": 1000**3, "gb": 1000**3, "gib": 1024**3}
_DURATION_UNITS = {"": 1, "ms": 0.001, "s": 1, "m": 60, "h": 3600}


class ConfigError(ValueError):
    pass


def parse_size(v) -> int:
    if isinstance(v, (int, float)):
        return int(v)
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", str(v))
    if not m or m.group(2).lower() not in _SIZE_UNITS:
        raise ConfigError(f"bad size {v!r} (use e.g. 64MiB)")
    return int(float(m.group(1)) * _SIZE_UNITS[m.group(2).lower()])


def parse_duration(v) -> float:
    if isinstance(v, (int, float)):
        return float(v)
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|)\s*", str(v))
    if not m:
        raise ConfigError(f"bad duration {v!r} (use e.g. 30s, 5m, or seconds)")
    return float(m.group(1)) * _DURATION_UNITS[m.group(2)]


def parse_bool(v) -> bool:
    if isinstance(v, bool):
        return v
    s = str(v).strip().lower()
    if s in ("1", "true", "yes", "on"):
        return True
    if s in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"bad boolean {v!r}")


def parse_pairs(v) -> dict:
    """'a=b,c=d' (or a dict) -> {'a': 'b', 'c': 'd'}."""
    if isinstance(v, dict):
        return {str(k): str(x) for k, x in v.items()}
    out = {}
    for part in str(v).split(","):
        part = part.strip()
        if not part:
            continue
        if "=" not in part:
            raise ConfigError(f"expected key=value, got {part!r}")
        k, x = part.split("=", 1)
        out[k.strip()] = x.strip()
    return out


def parse_cpu(v) -> float:
    """Kubernetes CPU quantity: "500m" -> 0.5, "2" -> 2.0."""
    s = str(v).strip()
    try:
        return float(s[:-1]) / 1000 if s.endswith("m") else float(s)
    except ValueError:
        raise ConfigError(f"bad CPU quantity {v!r}") from None


def parse_k8s_size(v) -> int:
    """Kubernetes memory quantity (512Mi, 1Gi, 1G) or plain bytes."""
    s = str(v).strip()
    if re.fullmatch(r"\d+(Ki|Mi|Gi|Ti)", s):
        return parse_size(s + "B")
    return parse_size(s)


# key -> (parser, default). Strings default to "" (unset).
FIELDS = {
    "server": (str, ""),
    "token": (str, ""),
    "token_file": (str, ""),
    "instance": (str, ""),
    "version": (str, ""),
    "go_version": (str, ""),
    "pprof_url": (str, ""),
    "expvar_url": (str, ""),
    "runtime_metrics_url": (str, ""),
    "metrics_url": (str, ""),
    "gctrace_file": (str, ""),
    "cgroup_root": (str, ""),
    "memory_limit": (parse_k8s_size, 0),
    "cpu_limit": (parse_cpu, 0.0),
    "cpu_limit_millicores": (int, 0),  # downward API with divisor 1m gives a bare number
    "tls_verify": (parse_bool, True),
    "ca_file": (str, ""),
    "timeout": (parse_duration, 10.0),
    "spool_dir": (str, "/var/tmp/gotriage-agent"),
    "spool_max_bytes": (parse_size, 64 * 1024**2),
    "spool_max_files": (int, 1000),
    "goroutine_max_bytes": (parse_size, 32 * 1024**2),
    "gctrace_max_bytes": (parse_size, 1024**2),
    "retries": (int, 3),
    "backoff_base": (parse_duration, 1.0),
    "backoff_max": (parse_duration, 300.0),
    "log_level": (str, "INFO"),
}

SECRET_FIELDS = ("token",)


@dataclass
class Config:
    server: str = ""
    token: str = ""
    token_file: str = ""
    instance: str = ""
    version: str = ""
    go_version: str = ""
    pprof_url: str = ""
    expvar_url: str = ""
    runtime_metrics_url: str = ""
    metrics_url: str = ""
    gctrace_file: str = ""
    cgroup_root: str = ""
    memory_limit: int = 0      # from the downward API when the sidecar cannot see the app's cgroup
    cpu_limit: float = 0.0
    cpu_limit_millicores: int = 0
    tls_verify: bool = True
    ca_file: str = ""
    timeout: float = 10.0
    spool_dir: str = "/var/tmp/gotriage-agent"
    spool_max_bytes: int = 64 * 1024**2
    spool_max_files: int = 1000
    goroutine_max_bytes: int = 32 * 1024**2
    gctrace_max_bytes: int = 1024**2
    retries: int = 3
    backoff_base: float = 1.0
    backoff_max: float = 300.0
    log_level: str = "INFO"
    labels: dict = field(default_factory=dict)
    intervals: dict = field(default_factory=lambda: dict(INTERVAL_DEFAULTS))
    once: bool = False
    dry_run: bool = False
    config_file: str = ""
    sources: dict = field(default_factory=dict)  # key -> where the value came from
    ignored_env: list = field(default_factory=list)

    def enabled_targets(self) -> list:
        return [k for k in ("pprof_url", "expvar_url", "runtime_metrics_url", "metrics_url",
                            "gctrace_file", "cgroup_root", "memory_limit", "cpu_limit") if getattr(self, k)]

    def redacted(self) -> dict:
        d = {k: getattr(self, k) for k in FIELDS}
        d.update(labels=self.labels, intervals=self.intervals)
        for k in SECRET_FIELDS:
            if d[k]:
                d[k] = "***"
        return d


class _Layer:
    def __init__(self, name):
        self.name = name
        self.values: dict = {}
        self.labels: dict = {}
        self.intervals: dict = {}
        self.unknown: list = []

    def set(self, key, raw):
        key = key.strip().lower().replace("-", "_")
        if key in ("labels",):
            self.labels.update(parse_pairs(raw))
        elif key.startswith("label."):
            self.labels[key[6:]] = str(raw)
        elif key in ("intervals",):
            for k, v in parse_pairs(raw).items():
                self.set_interval(k, v)
        elif key.startswith("interval."):
            self.set_interval(key[9:], raw)
        elif key.startswith("interval_"):
            self.set_interval(key[9:], raw)
        elif key in FIELDS:
            parser = FIELDS[key][0]
            try:
                self.values[key] = parser(raw) if parser is not str else str(raw)
            except (ValueError, TypeError) as exc:
                raise ConfigError(f"{self.name}: {key}: {exc}") from None
        else:
            raise ConfigError(f"{self.name}: unknown setting {key!r}")

    def set_interval(self, kind, raw):
        kind = kind.strip().lower()
        if kind not in INTERVAL_DEFAULTS:
            raise ConfigError(f"{self.name}: unknown interval kind {kind!r} "
                              f"(known: {', '.join(INTERVAL_DEFAULTS)})")
        self.intervals[kind] = parse_duration(raw)


def read_file_layer(path: str) -> _Layer:
    layer = _Layer(f"config file {path}")
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as exc:
        raise ConfigError(f"cannot read config file: {exc}") from None
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ConfigError(f"{path}: invalid JSON: {exc}") from None
        for k, v in data.items():
            if k in ("labels", "intervals") and isinstance(v, dict):
                for k2, v2 in v.items():
                    layer.set(("label." if k == "labels" else "interval.") + k2, v2)
            else:
                layer.set(k, v)
        return layer
    section = ""
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip().lower()
            continue
        if "=" not in line and ":" not in line:
            raise ConfigError(f"{path}:{n}: expected key = value")
        sep = "=" if "=" in line else ":"
        k, v = (s.strip() for s in line.split(sep, 1))
        v = v.strip('"').strip("'")
        if section in ("labels", "label"):
            layer.set("label." + k, v)
        elif section in ("intervals", "interval"):
            layer.set("interval." + k, v)
        else:
            layer.set(k, v)
    return layer


def env_layer(environ) -> _Layer:
    layer = _Layer("environment")
    # Kubernetes downward API: fieldRef metadata.name / metadata.namespace.
    if environ.get("POD_NAME"):
        layer.values["instance"] = environ["POD_NAME"]
        layer.labels["pod"] = environ["POD_NAME"]
    if environ.get("POD_NAMESPACE"):
        layer.labels["namespace"] = environ["POD_NAMESPACE"]
    if environ.get("NODE_NAME"):
        layer.labels["node"] = environ["NODE_NAME"]
    for k, v in environ.items():
        if not k.startswith("GOTRIAGE_") or k == "GOTRIAGE_CONFIG":
            continue
        key = k[len("GOTRIAGE_"):].lower()
        if key.startswith("label_"):
            layer.labels[key[6:]] = v
        elif key in FIELDS or key in ("labels", "intervals") or key.startswith("interval_"):
            layer.set(key, v)
        else:
            # Other tools share the prefix (GOTRIAGE_URL in the example
            # service); an unknown variable is reported, not fatal.
            layer.unknown.append(k)
    return layer


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="gotriage_agent",
        description="Collect goroutine dumps and runtime samples from a Go service and upload them to gotriage.",
        epilog="Every flag also reads from GOTRIAGE_<NAME> (e.g. GOTRIAGE_SERVER) and from the config file.",
    )
    a = p.add_argument
    a("--config", "-c", help="JSON or key=value config file (env GOTRIAGE_CONFIG)")
    a("--server", help="gotriage base URL, e.g. https://gotriage.example.com")
    a("--token", help="agent token (prefer --token-file or GOTRIAGE_TOKEN: flags show in ps)")
    a("--token-file", help="file holding the agent token (e.g. a mounted Secret)")
    a("--instance", help="instance name (default: $POD_NAME, else hostname)")
    a("--version-label", dest="version", help="release label of the running build (sent as version=)")
    a("--go-version", help="Go version of the target, if it cannot be detected")
    a("--label", action="append", default=[], metavar="K=V", help="extra label (repeatable)")
    a("--pprof-url", help="pprof base URL, e.g. http://127.0.0.1:6060/debug/pprof")
    a("--expvar-url", help="expvar URL, e.g. http://127.0.0.1:6060/debug/vars")
    a("--runtime-metrics-url", help="URL serving runtime/metrics as JSON")
    a("--metrics-url", help="Prometheus /metrics URL")
    a("--gctrace-file", help="log file (stderr with GODEBUG=gctrace=1) to tail")
    a("--cgroup-root", help="cgroup mount to read limits from, e.g. /sys/fs/cgroup")
    a("--memory-limit", help="the target container's memory limit (e.g. 512Mi), when its cgroup is not visible")
    a("--cpu-limit", help="the target container's CPU limit (e.g. 500m or 2)")
    a("--interval", action="append", default=[], metavar="KIND=DURATION",
      help=f"collection interval per kind ({', '.join(INTERVAL_DEFAULTS)}); 0 disables")
    a("--no-tls-verify", dest="tls_verify", action="store_const", const=False, default=None,
      help="do not verify the server's TLS certificate")
    a("--ca-file", help="CA bundle for the server's certificate")
    a("--timeout", help="HTTP timeout per request (default 10s)")
    a("--spool-dir", help="directory for undelivered uploads")
    a("--spool-max-bytes", help="spool size bound (default 64MiB)")
    a("--spool-max-files", help="spool file-count bound (default 1000)")
    a("--goroutine-max-bytes", help="debug=2 dump size cap before falling back to protobuf (default 32MiB)")
    a("--retries", help="attempts per upload in --once mode (default 3)")
    a("--log-level", help="DEBUG, INFO, WARNING, ERROR")
    a("--once", action="store_true", help="collect everything once, upload, exit")
    a("--dry-run", action="store_true", help="print what would be sent; send nothing, spool nothing")
    return p


def load_config(argv=None, environ=None) -> Config:
    environ = os.environ if environ is None else environ
    args = build_parser().parse_args(argv)
    cfg = Config()
    layers = []
    path = args.config or environ.get("GOTRIAGE_CONFIG", "")
    if path:
        layers.append(read_file_layer(path))
        cfg.config_file = path
    layers.append(env_layer(environ))
    flags = _Layer("flags")
    for k in FIELDS:
        v = getattr(args, k, None)
        if v is not None:
            flags.set(k, v)
    for pair in args.label:
        flags.labels.update(parse_pairs(pair))
    for pair in args.interval:
        for k, v in parse_pairs(pair).items():
            flags.set_interval(k, v)
    layers.append(flags)

    for layer in layers:
        cfg.ignored_env.extend(layer.unknown)
        for k, v in layer.values.items():
            setattr(cfg, k, v)
            cfg.sources[k] = layer.name
        cfg.labels.update(layer.labels)
        cfg.intervals.update(layer.intervals)
    cfg.once, cfg.dry_run = args.once, args.dry_run

    if not cfg.token and cfg.token_file:
        try:
            with open(cfg.token_file, encoding="utf-8") as f:
                cfg.token = f.read().strip()
        except OSError as exc:
            raise ConfigError(f"cannot read token file: {exc}") from None
    if not cfg.instance:
        cfg.instance = socket.gethostname()
    if cfg.cpu_limit_millicores and not cfg.cpu_limit:
        cfg.cpu_limit = cfg.cpu_limit_millicores / 1000
    if cfg.pprof_url:
        cfg.pprof_url = cfg.pprof_url.rstrip("/")
    cfg.server = cfg.server.rstrip("/")
    validate(cfg)
    return cfg


def validate(cfg: Config) -> None:
    if not cfg.dry_run:
        if not cfg.server:
            raise ConfigError("server is required (--server or GOTRIAGE_SERVER)")
        if not re.match(r"https?://", cfg.server):
            raise ConfigError(f"server must be an http(s) URL, got {cfg.server!r}")
        if not cfg.token:
            raise ConfigError("token is required (--token-file, GOTRIAGE_TOKEN or --token)")
    if not cfg.enabled_targets():
        raise ConfigError("no target configured: set at least one of --pprof-url, --expvar-url, "
                          "--runtime-metrics-url, --metrics-url, --gctrace-file, --cgroup-root")
    if cfg.spool_max_files < 1 or cfg.spool_max_bytes < 1024:
        raise ConfigError("spool bounds too small (max files >= 1, max bytes >= 1KiB)")
    for k, v in cfg.intervals.items():
        if v < 0:
            raise ConfigError(f"interval {k} must be >= 0")
