"""GODEBUG=gctrace=1 (plus gcpacertrace / scavtrace) parser.

Lines may be mixed with the application's own logs and prefixed by log
shippers (timestamps, "stderr F"), so gc lines are searched for, not
anchored. The format has been stable since Go 1.5 apart from the
`MB stacks` / `MB globals` fields (1.18+/1.19+) and the Go 1.26+
`(checking for goroutine leaks)` annotation; both are optional here.
"""
from __future__ import annotations

import re

from ..common import ParseError, as_text
from .model import GCCycle, RuntimeData

MIB = 1 << 20

_GC_RE = re.compile(
    r"\bgc (\d+) @(\d+(?:\.\d+)?)s (\d+)%((?: \([^)]*\))*): "
    r"([\d.]+)\+([\d.]+)\+([\d.]+) ms clock, "
    r"([\d.]+)\+([\d.]+)/([\d.]+)/([\d.]+)\+([\d.]+) ms cpu, "
    r"(\d+)->(\d+)->(\d+) MB, (\d+) MB goal"
    r"(?:, (\d+) MB stacks)?(?:, (\d+) MB globals)?, (\d+) P( \(forced\))?"
)
# A gc line cut short (process killed mid-write, log truncated).
_GC_PREFIX_RE = re.compile(r"\bgc \d+ @\d")
_SCAV_RE = re.compile(
    r"\bscav (?:\d+ )?(\d+) KiB work(?: \(bg\))?, (?:(\d+) KiB work \(eager\), )?(\d+) KiB (?:now|total), (\d+)% util"
)
_SCVG_RE = re.compile(  # Go <= 1.18 scavenger summary
    r"\bscvg(?:-?\d+)?: inuse: (\d+), idle: (\d+), sys: (\d+), released: (\d+), consumed: (\d+) \(MB\)"
)
_PACER_CPU_RE = re.compile(r"\bpacer: (-?[\d.e+-]+)% CPU \((-?[\d.e+-]+) exp\.\)")
_PACER_ASSIST_RE = re.compile(r"\bpacer: assist ratio=(\S+) \(scan (\d+) MB in (\d+)->(\d+) MB\)")
_MAX_EVENTS = 5000  # bound side-channel lists so a huge log cannot blow memory


def looks_like_gctrace(text: str) -> bool:
    return _GC_PREFIX_RE.search(text[:200000]) is not None


def _f(s: str) -> float:
    try:
        return float(s)
    except ValueError:
        return 0.0


def parse_gctrace(data: bytes | str, started_at: float | None = None) -> RuntimeData:
    """Parse gctrace output. `started_at` (unix seconds of process start)
    turns the `@Ns` offsets into unix times; otherwise `at` stays relative."""
    text = as_text(data)
    cycles: list[GCCycle] = []
    pacer: list[dict] = []
    scav: list[dict] = []
    truncated: list[int] = []
    restarts: list[int] = []
    other_lines = 0
    gc_search = _GC_RE.search
    prev_num = None
    for lineno, line in enumerate(text.splitlines(), 1):
        if "gc " in line and "ms clock" in line:
            m = gc_search(line)
            if m:
                g = m.groups()
                num = int(g[0])
                t = float(g[1])
                if prev_num is not None and num <= prev_num:
                    restarts.append(len(cycles))  # a new process started in the same log
                prev_num = num
                cycles.append(GCCycle(
                    num=num,
                    at=t if started_at is None else started_at + t,
                    cpu_pct=int(g[2]),
                    clock_ms=(_f(g[4]), _f(g[5]), _f(g[6])),
                    cpu_ms=(_f(g[7]), _f(g[8]), _f(g[9]), _f(g[10]), _f(g[11])),
                    heap_start=int(g[12]) * MIB,
                    heap_end=int(g[13]) * MIB,
                    heap_live=int(g[14]) * MIB,
                    heap_goal=int(g[15]) * MIB,
                    stacks=int(g[16]) * MIB if g[16] is not None else None,
                    globals=int(g[17]) * MIB if g[17] is not None else None,
                    procs=int(g[18]),
                    forced=g[19] is not None,
                    line=lineno,
                    leak_check="goroutine leak" in (g[3] or ""),
                    t_rel=t,
                    at_unix=started_at is not None,
                ))
                continue
        if "gc " in line and _GC_PREFIX_RE.search(line):
            truncated.append(lineno)
            continue
        if "pacer:" in line:
            if len(pacer) < _MAX_EVENTS:
                m = _PACER_CPU_RE.search(line)
                if m:
                    pacer.append({"line": lineno, "cpu_pct": _f(m.group(1)), "cpu_pct_expected": _f(m.group(2))})
                else:
                    m = _PACER_ASSIST_RE.search(line)
                    if m:
                        pacer.append({"line": lineno, "assist_ratio": _f(m.group(1)),
                                      "scan_mb": int(m.group(2)), "start_mb": int(m.group(3)),
                                      "goal_mb": int(m.group(4))})
            continue
        if "scav" in line:
            m = _SCAV_RE.search(line)
            if m:
                if len(scav) < _MAX_EVENTS:
                    scav.append({"line": lineno, "work_kib": int(m.group(1)),
                                 "eager_kib": int(m.group(2)) if m.group(2) else None,
                                 "released_kib": int(m.group(3)), "util_pct": int(m.group(4)),
                                 "forced": "(forced)" in line})
                continue
            m = _SCVG_RE.search(line)
            if m:
                if len(scav) < _MAX_EVENTS:
                    scav.append({"line": lineno, "inuse_mb": int(m.group(1)), "idle_mb": int(m.group(2)),
                                 "sys_mb": int(m.group(3)), "released_mb": int(m.group(4)),
                                 "consumed_mb": int(m.group(5))})
                continue
        if line.strip():
            other_lines += 1
    if not cycles:
        if truncated:
            raise ParseError("gctrace: only truncated gc lines found", line=truncated[0])
        raise ParseError("no gctrace lines (`gc N @Ts P%: ...`) found")
    extra = {
        "other_lines": other_lines,
        "truncated_lines": truncated,
        "restarts": restarts,
        "pacer": pacer,
        "scavenger": scav,
        "forced_cycles": sum(1 for c in cycles if c.forced),
        "started_at": started_at,
    }
    return RuntimeData(kind="gctrace", gc_cycles=cycles, extra=extra)


def last_segment(cycles: list[GCCycle]) -> list[GCCycle]:
    """Cycles of the most recent process in the log (cycle numbers restart on restart)."""
    start = 0
    for i in range(1, len(cycles)):
        if cycles[i].num <= cycles[i - 1].num:
            start = i
    return cycles[start:]


def align_offset(cycles: list[GCCycle], samples) -> float | None:
    """Unix time of process start, from a MemStats sample's NumGC + LastGC.

    LastGC is the unix end time of cycle NumGC; in the trace that cycle ended
    at @start + clock durations. Returns the median estimate over samples.
    """
    by_num = {c.num: c for c in last_segment(cycles) if not c.at_unix}
    ests = []
    for s in samples:
        if s.num_gc and s.last_gc and s.num_gc in by_num:
            c = by_num[s.num_gc]
            ests.append(s.last_gc - (c.t_rel + c.duration_s))
    if not ests:
        return None
    ests.sort()
    return ests[len(ests) // 2]
