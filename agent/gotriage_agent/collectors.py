"""Collectors: each turns one target into zero or more Artefacts.

Collectors never raise for an unreachable target; they log and return
nothing, so one dead endpoint does not stop the others.
"""
from __future__ import annotations

import json
import logging
import os
import re
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

from . import __version__

log = logging.getLogger("gotriage_agent")

GZIP_MAGIC = b"\x1f\x8b"


@dataclass
class Artefact:
    kind: str
    body: bytes                      # raw bytes as fetched (protobuf stays gzipped)
    captured_at: float               # unix seconds
    source: str = ""                 # URL or path, for logs and dry-run
    go_version: str = ""
    content_type: str = "text/plain; charset=utf-8"
    commit: object = None            # callable run once the artefact is safely spooled
    meta: dict = field(default_factory=dict)


class TooLarge(Exception):
    pass


class TargetError(Exception):
    def __init__(self, msg, status=None):
        super().__init__(msg)
        self.status = status


def http_get(url: str, timeout: float, max_bytes: int | None = None,
             ssl_context: ssl.SSLContext | None = None) -> bytes:
    """GET url; raise TooLarge once more than max_bytes arrive (the read
    stops there, so a huge dump is never held in memory whole)."""
    req = urllib.request.Request(url, headers={"User-Agent": f"gotriage-agent/{__version__}"})
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=ssl_context) as resp:
            if max_bytes is None:
                return resp.read()
            chunks, total = [], 0
            while True:
                chunk = resp.read(min(1 << 20, max_bytes + 1 - total))
                if not chunk:
                    return b"".join(chunks)
                chunks.append(chunk)
                total += len(chunk)
                if total > max_bytes:
                    raise TooLarge(f"{url}: more than {max_bytes} bytes")
    except urllib.error.HTTPError as exc:
        raise TargetError(f"{url}: HTTP {exc.code}", status=exc.code) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise TargetError(f"{url}: {reason}") from None


class Shared:
    """Facts learned from one target and useful to the others (Go version)."""

    def __init__(self, go_version: str = ""):
        self.go_version = go_version


class Collector:
    name = ""

    def __init__(self, cfg, shared: Shared):
        self.cfg = cfg
        self.shared = shared
        self.disabled_reason = ""

    def get(self, url, max_bytes=None):
        return http_get(url, self.cfg.timeout, max_bytes)

    def collect(self) -> list[Artefact]:
        raise NotImplementedError


class GoroutineCollector(Collector):
    """debug=2 text up to goroutine_max_bytes; above it the protobuf profile,
    which aggregates identical stacks and stays small for huge processes."""
    name = "goroutine"

    def collect(self):
        base = self.cfg.pprof_url
        now = time.time()
        try:
            body = self.get(f"{base}/goroutine?debug=2", self.cfg.goroutine_max_bytes)
            return [Artefact("goroutine_debug2", body, now, f"{base}/goroutine?debug=2",
                             self.shared.go_version)]
        except TooLarge:
            log.warning("goroutine dump exceeds %d bytes; sending the protobuf profile instead",
                        self.cfg.goroutine_max_bytes)
        body = self.get(f"{base}/goroutine?debug=0")
        return [Artefact("goroutine_proto", body, now, f"{base}/goroutine?debug=0",
                         self.shared.go_version, content_type="application/octet-stream")]


class GoroutineLeakCollector(Collector):
    """Go's own leak detector (Go 1.26 experiment, 1.27 default). A 404 means
    the target's Go has none; stop asking."""
    name = "goroutineleak"

    def collect(self):
        url = f"{self.cfg.pprof_url}/goroutineleak?debug=1"
        try:
            body = self.get(url, self.cfg.goroutine_max_bytes)
        except TargetError as exc:
            if exc.status == 404:
                self.disabled_reason = "target has no goroutineleak profile (needs Go >= 1.26)"
                return []
            raise
        except TooLarge:
            return []
        return [Artefact("goroutineleak", body, time.time(), url, self.shared.go_version)]


class ExpvarCollector(Collector):
    name = "expvar"

    def collect(self):
        url = self.cfg.expvar_url
        now = time.time()
        body = self.get(url, 16 << 20)
        try:
            data = json.loads(body)
        except ValueError:
            raise TargetError(f"{url}: not JSON") from None
        if isinstance(data, dict):
            # cmdline often carries secrets (tokens in flags); gotriage does not need it.
            if data.pop("cmdline", None) is not None:
                body = json.dumps(data, separators=(",", ":")).encode()
            gv = data.get("go_version")
            if isinstance(gv, str) and gv.startswith("go"):
                self.shared.go_version = self.shared.go_version or gv
        return [Artefact("expvar", body, now, url, self.shared.go_version,
                         content_type="application/json")]


class RuntimeMetricsCollector(Collector):
    name = "runtime_metrics"

    def collect(self):
        url = self.cfg.runtime_metrics_url
        now = time.time()
        body = self.get(url, 16 << 20)
        try:
            json.loads(body)
        except ValueError:
            raise TargetError(f"{url}: not JSON") from None
        return [Artefact("runtime_metrics", body, now, url, self.shared.go_version,
                         content_type="application/json")]


_GO_INFO = re.compile(rb'^go_info\{[^}]*version="(go[^"]+)"', re.M)


class PrometheusCollector(Collector):
    name = "prometheus"

    def collect(self):
        url = self.cfg.metrics_url
        now = time.time()
        body = self.get(url, 16 << 20)
        m = _GO_INFO.search(body)
        if m and not self.cfg.go_version:
            self.shared.go_version = m.group(1).decode()
        return [Artefact("prometheus", body, now, url, self.shared.go_version,
                         content_type="text/plain; version=0.0.4")]


# gctrace and the runtime's other GODEBUG trace lines; the application's own
# log lines in the same stderr file are not ours to upload.
_GC_LINE = re.compile(rb"^(gc \d+ @|scvg|pacer:|GC forced|scav )")


class GctraceCollector(Collector):
    """Tails a log file: remembers (device, inode, offset) in a state file,
    follows rename-rotation (reads the rest of the old file when it is still
    beside the new one) and copytruncate (size < offset), and only ships
    complete lines."""
    name = "gctrace"

    def __init__(self, cfg, shared, state_path: str):
        super().__init__(cfg, shared)
        self.state_path = state_path
        self.state = self._load()

    def _load(self):
        try:
            with open(self.state_path, encoding="utf-8") as f:
                st = json.load(f)
            if st.get("path") == self.cfg.gctrace_file:
                return st
        except (OSError, ValueError):
            pass
        return {"path": self.cfg.gctrace_file, "dev": None, "ino": None, "offset": 0, "head": None}

    def _save(self, st):
        tmp = self.state_path + ".tmp"
        os.makedirs(os.path.dirname(self.state_path) or ".", exist_ok=True)
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(st, f)
        os.replace(tmp, self.state_path)

    def _read(self, path, offset, limit):
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size - offset > limit:
                # Far behind (first start on a big log): keep the newest part.
                offset = size - limit
                f.seek(offset)
                f.readline()  # resynchronise on a line boundary
                offset = f.tell()
            else:
                f.seek(offset)
            data = f.read(limit)
        end = data.rfind(b"\n") + 1  # only complete lines; the rest waits
        return data[:end], offset + end

    @staticmethod
    def _head(path) -> str:
        try:
            with open(path, "rb") as f:
                return f.read(64).hex()
        except OSError:
            return ""

    def _find_rotated(self, dev, ino):
        d = os.path.dirname(os.path.abspath(self.cfg.gctrace_file))
        base = os.path.basename(self.cfg.gctrace_file)
        for name in sorted(os.listdir(d)):
            if name.startswith(base) and name != base:
                p = os.path.join(d, name)
                try:
                    st = os.stat(p)
                except OSError:
                    continue
                if st.st_ino == ino and st.st_dev == dev:
                    return p
        return None

    def collect(self):
        path = self.cfg.gctrace_file
        try:
            st = os.stat(path)
        except OSError:
            log.debug("gctrace file %s not there yet", path)
            return []
        state = dict(self.state)
        chunks = []
        limit = self.cfg.gctrace_max_bytes
        if state["ino"] is not None and (state["ino"], state["dev"]) != (st.st_ino, st.st_dev):
            old = self._find_rotated(state["dev"], state["ino"])
            if old:
                data, _ = self._read(old, state["offset"], limit)
                chunks.append(data)
                log.info("gctrace: %s rotated to %s; read its tail", path, old)
            else:
                log.info("gctrace: %s was replaced; starting at its beginning", path)
            state.update(dev=st.st_dev, ino=st.st_ino, offset=0)
        elif st.st_size < state["offset"] or not self._head(path).startswith(state.get("head") or ""):
            # copytruncate: smaller than our offset, or rewritten past it
            # (its first bytes are no longer the ones we saw).
            log.info("gctrace: %s was truncated; starting at its beginning", path)
            state["offset"] = 0
        state.update(dev=st.st_dev, ino=st.st_ino)
        data, state["offset"] = self._read(path, state["offset"], limit)
        state["head"] = self._head(path)
        chunks.append(data)
        lines = [ln for ln in b"".join(chunks).splitlines(keepends=True) if _GC_LINE.match(ln)]

        def commit():
            self.state = state
            self._save(state)

        if not lines:
            commit()  # nothing to send, but do not re-read skipped log lines
            return []
        return [Artefact("gctrace", b"".join(lines), time.time(), path, self.shared.go_version,
                         commit=commit)]


CGROUP_V2_FILES = ("memory.max", "memory.high", "memory.current", "memory.peak", "memory.swap.max",
                   "memory.stat", "memory.events", "cpu.max", "cpu.weight", "cpu.stat",
                   "cpuset.cpus.effective", "pids.current", "pids.max")
CGROUP_V1_FILES = ("memory/memory.limit_in_bytes", "memory/memory.soft_limit_in_bytes",
                   "memory/memory.usage_in_bytes", "memory/memory.max_usage_in_bytes",
                   "memory/memory.stat", "cpu/cpu.cfs_quota_us", "cpu/cpu.cfs_period_us",
                   "cpu/cpu.shares", "cpuset/cpuset.effective_cpus", "pids/pids.max",
                   "pids/pids.current")


def _self_cgroups(proc_file="/proc/self/cgroup") -> dict:
    """controller -> path ('' is the v2 unified hierarchy)."""
    out = {}
    try:
        with open(proc_file, encoding="utf-8") as f:
            for line in f:
                parts = line.rstrip("\n").split(":", 2)
                if len(parts) == 3:
                    for c in parts[1].split(","):
                        out[c] = parts[2]
        return out
    except OSError:
        return {}


def cgroup_snapshot(root: str, proc_file="/proc/self/cgroup") -> bytes:
    """Limit files in the format `head` prints for several files
    ("==> path <==" then the content), as the Go package sends them; the
    same bytes a person gets from `head -n 100 /sys/fs/cgroup/memory.max ...`."""
    own = _self_cgroups(proc_file)
    files = []
    if os.path.exists(os.path.join(root, "cgroup.controllers")):
        d = root
        p = own.get("", "")
        if p not in ("", "/") and os.path.exists(os.path.join(root, p.lstrip("/"), "memory.max")):
            d = os.path.join(root, p.lstrip("/"))  # systemd host: our own cgroup, not the root
        files = [os.path.join(d, n) for n in CGROUP_V2_FILES]
    else:
        for rel in CGROUP_V1_FILES:
            ctrl, name = rel.split("/", 1)
            cands = [os.path.join(root, ctrl, name)]
            p = own.get(ctrl, "")
            if p not in ("", "/"):
                cands.insert(0, os.path.join(root, ctrl, p.lstrip("/"), name))
            files.append(next((c for c in cands if os.path.exists(c)), cands[-1]))
    out = []
    for path in files:
        try:
            with open(path, "rb") as f:
                data = f.read(64 << 10)
        except OSError:
            continue
        if data and not data.endswith(b"\n"):
            data += b"\n"
        out.append(b"==> " + path.encode() + b" <==\n" + data)
    return b"\n".join(out)


class CgroupCollector(Collector):
    name = "cgroup"

    def collect(self):
        body = cgroup_snapshot(self.cfg.cgroup_root) if self.cfg.cgroup_root else b""
        # Limits handed in by the Kubernetes downward API (resourceFieldRef)
        # describe the app container, which a sidecar's own cgroup does not.
        declared = []
        if self.cfg.memory_limit:
            declared.append(b"memory_limit: %d\n" % self.cfg.memory_limit)
        if self.cfg.cpu_limit:
            declared.append(b"cpu_limit: %s\n" % repr(float(self.cfg.cpu_limit)).encode())
        if declared:
            body = b"".join(declared) + (b"\n" + body if body else b"")
        if not body:
            log.debug("no cgroup files under %s", self.cfg.cgroup_root)
            return []
        return [Artefact("cgroup", body, time.time(), self.cfg.cgroup_root, self.shared.go_version)]


def build_collectors(cfg, shared: Shared, state_dir: str) -> list[Collector]:
    out = []
    if cfg.pprof_url:
        out.append(GoroutineCollector(cfg, shared))
        out.append(GoroutineLeakCollector(cfg, shared))
    if cfg.expvar_url:
        out.append(ExpvarCollector(cfg, shared))
    if cfg.runtime_metrics_url:
        out.append(RuntimeMetricsCollector(cfg, shared))
    if cfg.metrics_url:
        out.append(PrometheusCollector(cfg, shared))
    if cfg.gctrace_file:
        out.append(GctraceCollector(cfg, shared, os.path.join(state_dir, "gctrace-state.json")))
    if cfg.cgroup_root or cfg.memory_limit or cfg.cpu_limit:
        out.append(CgroupCollector(cfg, shared))
    # Prometheus/expvar first: they teach the Go version the dumps are sent with.
    order = {"prometheus": 0, "expvar": 1}
    out.sort(key=lambda c: order.get(c.name, 2))
    return [c for c in out if cfg.intervals.get(c.name, 0) > 0]
