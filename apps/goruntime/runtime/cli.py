"""`recommend` / `whatif` command line (also behind `manage.py recommend`)."""
from __future__ import annotations

import argparse
import json
import os
import sys

from ..common import ParseError
from .cgroup import parse_cpu_quantity
from .detect import parse_runtime
from .model import ContainerLimits
from .recommend import _minor, recommend
from .signals import derive_signals
from .sizes import format_go_size, human, parse_size
from .whatif import what_if


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--memory-limit", metavar="SIZE", help="container memory limit (512MiB, 1Gi, 536870912)")
    parser.add_argument("--cpu-limit", metavar="CORES", help="container CPU limit in cores (2, 1.5, 500m)")
    parser.add_argument("--go-version", metavar="1.N", help="Go toolchain version the service is built with")
    parser.add_argument("--go-mod", metavar="1.N", help="the `go` line of the main module's go.mod")
    parser.add_argument("--automaxprocs", action="store_true", help="the service imports go.uber.org/automaxprocs")
    parser.add_argument("--gogc", metavar="N|off", help="GOGC the service currently runs with")
    parser.add_argument("--gomemlimit", metavar="SIZE", help="GOMEMLIMIT the service currently runs with")
    parser.add_argument("--single-tenant", action="store_true",
                        help="the container runs only this Go program (allows GOGC=off with a limit)")
    parser.add_argument("files", nargs="+", metavar="FILE",
                        help="expvar/MemStats JSON, runtime/metrics dump, Prometheus text, gctrace, cgroup files")


def build_parser(prog: str = "recommend") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description="Recommend GOMAXPROCS / GOGC / GOMEMLIMIT from runtime data")
    add_arguments(p)
    return p


def load_files(paths):
    samples, cycles, limits, go_version, kinds = [], [], None, None, []
    for path in paths:
        with open(path, "rb") as fh:
            data = fh.read()
        try:
            rd = parse_runtime(data, name=os.path.basename(path))
        except ParseError as exc:
            raise ParseError(f"{path}: {exc}") from None
        kinds.append({"file": path, "kind": rd.kind, "samples": len(rd.samples), "gc_cycles": len(rd.gc_cycles)})
        samples += rd.samples
        if rd.gc_cycles:
            cycles += rd.gc_cycles  # several traces read as restarts; signals use the last
        if rd.limits is not None:
            limits = rd.limits if limits is None else limits.merge(rd.limits)
        go_version = go_version or rd.go_version
    return samples, cycles, limits, go_version, kinds


def run(opts: dict, stdout, stderr=None) -> int:
    stderr = stderr or sys.stderr
    try:
        samples, cycles, limits, go_version, kinds = load_files(opts["files"])
        lim = limits or ContainerLimits(source="none")
        if opts.get("memory_limit"):
            lim.memory_limit = parse_size(opts["memory_limit"])
            lim.source = "cli" if lim.source == "none" else lim.source + "+cli"
        if opts.get("cpu_limit"):
            lim.cpu_limit = parse_cpu_quantity(opts["cpu_limit"])
            lim.source = "cli" if lim.source == "none" else lim.source + "+cli"
        go_version = opts.get("go_version") or go_version
        current = {}
        if opts.get("gogc"):
            current["GOGC"] = opts["gogc"]
        if opts.get("gomemlimit"):
            current["GOMEMLIMIT"] = parse_size(opts["gomemlimit"])
        if opts.get("go_mod"):
            current["go_mod"] = opts["go_mod"]
        if opts.get("automaxprocs"):
            current["automaxprocs"] = True
        if opts.get("single_tenant"):
            current["single_tenant"] = True
        gogc_hint = None
        if current.get("GOGC") is not None:
            g = str(current["GOGC"]).strip().lower()
            gogc_hint = -1 if g == "off" else (int(g) if g.lstrip("-").isdigit() else 100)
        sig = derive_signals(samples, cycles, lim, gogc_hint=gogc_hint, go_minor=_minor(go_version))
        rec = recommend(sig, lim, go_version, current)
    except (ParseError, OSError) as exc:
        stderr.write(f"error: {exc}\n")
        return 2
    rec["inputs"]["files"] = kinds
    if opts.get("format") == "json":
        stdout.write(json.dumps(rec, indent=2, sort_keys=False, default=str) + "\n")
    else:
        stdout.write(format_text(rec))
    return 0


def format_text(rec: dict) -> str:
    lines = []
    gml = rec["GOMEMLIMIT"]
    lines.append(f"GOMEMLIMIT  {format_go_size(gml) if gml is not None else 'unset'}")
    lines.append(f"GOGC        {rec['GOGC']}")
    lines.append(f"GOMAXPROCS  {rec['GOMAXPROCS'] if rec['GOMAXPROCS'] is not None else 'leave unset'}")
    ra = rec["rss_alert_bytes"]
    lines.append(f"RSS alert   {human(ra) if ra is not None else 'none'}")
    if rec.get("needs_more_memory"):
        mm = rec.get("min_memory_limit_bytes")
        lines.append("NEEDS MORE MEMORY" + (f" (at least {human(mm)})" if mm else ""))
    lines.append("")
    lines.append("Why:")
    lines += [f"  - {s}" for s in rec["rationale"]]
    s = rec["signals"]
    lines.append("")
    lines.append("Signals:")
    for k in ("live_heap", "live_heap_peak", "heap_goal", "non_heap_overhead", "gc_per_minute", "gc_cpu_fraction",
              "pause_p50_ns", "pause_p99_ns", "pause_max_ns", "heap_slope_bytes_per_hour", "goroutines",
              "stack_bytes", "rss_peak", "headroom_bytes", "thrashing"):
        lines.append(f"  {k:28} {s.get(k)}")
    for name, text in rec["snippets"].items():
        lines.append("")
        lines.append(f"--- {name} ---")
        lines.append(text.rstrip("\n"))
    return "\n".join(lines) + "\n"


def run_whatif(argv, stdout, stderr) -> int:
    p = argparse.ArgumentParser(prog="whatif", description="Predict GC behaviour under other GOGC/GOMEMLIMIT")
    p.add_argument("--gogc", default="100", help="proposed GOGC (number or off)")
    p.add_argument("--memory-limit", dest="memlimit", help="proposed GOMEMLIMIT (SIZE)")
    p.add_argument("--duration", type=float, help="seconds to predict for (default: the recording's span)")
    p.add_argument("files", nargs="+")
    try:
        o = p.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        samples, cycles, _lim, _v, _k = load_files(o.files)
        gogc = None if o.gogc.strip().lower() == "off" else int(o.gogc)
        ml = parse_size(o.memlimit) if o.memlimit else None
    except (ParseError, OSError, ValueError) as exc:
        stderr.write(f"error: {exc}\n")
        return 2
    out = what_if(samples, cycles, gogc, ml, o.duration)
    stdout.write(json.dumps(out, indent=2, default=str) + "\n")
    return 0


def main(argv=None, stdout=None, stderr=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    if argv and argv[0] in ("whatif", "what-if"):
        return run_whatif(argv[1:], stdout, stderr)
    if argv and argv[0] == "recommend":
        argv = argv[1:]
    parser = build_parser()
    try:
        opts = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0) if exc.code not in (None, 0) else 0
    return run(vars(opts), stdout, stderr)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
