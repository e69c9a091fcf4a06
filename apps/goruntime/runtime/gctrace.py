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

# Simple character classes (no nested optionals) keep the regex fast; numbers are
# validated by float()/int() below and the tail (stacks/globals/P/forced, which vary
# by version) is parsed separately and memoised, as it repeats line after line.
_GC_RE = re.compile(
    r"gc (\d+) @([\d.]+)s (\d+)%([^:\n]*): ([\d.]+)\+([\d.]+)\+([\d.]+) ms clock, "
    r"([\d.]+)\+([\d.]+)/([\d.]+)/([\d.]+)\+([\d.]+) ms cpu, (\d+)->(\d+)->(\d+) MB, (\d+) MB goal, ([^\n]*)"
)
_TAIL_RE = re.compile(r"^(?:(\d+) MB stacks, )?(?:(\d+) MB globals, )?(\d+) P( \(forced\))?")
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
    restarts: list[int] = []
    matched_lines: set[int] = set()
    # One regex pass over the whole text (not a Python loop per line): 100k-line logs in well under 1 s.
    pos, lineno = 0, 1
    prev_num = None
    base = started_at or 0.0
    unix = started_at is not None
    count = text.count
    tails: dict[str, tuple | None] = {}
    bad = 0
    for m in _GC_RE.finditer(text):
        st = m.start()
        if st and (text[st - 1].isalnum() or text[st - 1] == "_"):
            continue  # "xgc 1 @..." is not a gc line
        g = m.groups()
        tail = g[16]
        tp = tails.get(tail, False)
        if tp is False:
            tm = _TAIL_RE.match(tail)
            tp = None if tm is None else (
                int(tm.group(1)) * MIB if tm.group(1) is not None else None,
                int(tm.group(2)) * MIB if tm.group(2) is not None else None,
                int(tm.group(3)), tm.group(4) is not None)
            if len(tails) < 10000:
                tails[tail] = tp
        if tp is None:
            continue  # cut off before "N P": reported as truncated below
        try:
            f = list(map(float, g[4:12]))
            num, t, pct = int(g[0]), float(g[1]), int(g[2])
        except ValueError:
            bad += 1
            continue
        lineno += count("\n", pos, st)
        pos = st
        if prev_num is not None and num <= prev_num:
            restarts.append(len(cycles))  # a new process started in the same log
        prev_num = num
        matched_lines.add(lineno)
        ann = g[3]
        cycles.append(GCCycle(
            num, base + t, pct, (f[0], f[1], f[2]), (f[3], f[4], f[5], f[6], f[7]),
            int(g[12]) * MIB, int(g[13]) * MIB, int(g[14]) * MIB, int(g[15]) * MIB,
            tp[0], tp[1], tp[2], tp[3], lineno, bool(ann) and "goroutine leak" in ann, t, unix,
        ))
    truncated: list[int] = []
    if len(matched_lines) != text.count("gc "):  # some "gc N @" did not fully match: find them
        pos, ln = 0, 1
        for m in _GC_PREFIX_RE.finditer(text):
            ln += count("\n", pos, m.start())
            pos = m.start()
            if ln not in matched_lines and (not truncated or truncated[-1] != ln):
                truncated.append(ln)
                if len(truncated) >= 1000:
                    break
    pacer: list[dict] = []
    scav: list[dict] = []
    if "pacer:" in text or "scav" in text:
        for lno, line in enumerate(text.splitlines(), 1):
            if "pacer:" in line and len(pacer) < _MAX_EVENTS:
                m = _PACER_CPU_RE.search(line)
                if m:
                    pacer.append({"line": lno, "cpu_pct": _f(m.group(1)), "cpu_pct_expected": _f(m.group(2))})
                    continue
                m = _PACER_ASSIST_RE.search(line)
                if m:
                    pacer.append({"line": lno, "assist_ratio": _f(m.group(1)), "scan_mb": int(m.group(2)),
                                  "start_mb": int(m.group(3)), "goal_mb": int(m.group(4))})
            elif "scav" in line and len(scav) < _MAX_EVENTS:
                m = _SCAV_RE.search(line)
                if m:
                    scav.append({"line": lno, "work_kib": int(m.group(1)),
                                 "eager_kib": int(m.group(2)) if m.group(2) else None,
                                 "released_kib": int(m.group(3)), "util_pct": int(m.group(4)),
                                 "forced": "(forced)" in line})
                    continue
                m = _SCVG_RE.search(line)
                if m:
                    scav.append({"line": lno, "inuse_mb": int(m.group(1)), "idle_mb": int(m.group(2)),
                                 "sys_mb": int(m.group(3)), "released_mb": int(m.group(4)),
                                 "consumed_mb": int(m.group(5))})
    if not cycles:
        if truncated:
            raise ParseError("gctrace: only truncated gc lines found", line=truncated[0])
        raise ParseError("no gctrace lines (`gc N @Ts P%: ...`) found")
    total_lines = count("\n") + (0 if text.endswith("\n") else 1)
    extra = {
        "other_lines": max(0, total_lines - len(cycles) - len(truncated)),
        "truncated_lines": truncated,
        "restarts": restarts,
        "pacer": pacer,
        "scavenger": scav,
        "forced_cycles": sum(1 for c in cycles if c.forced),
        "started_at": started_at,
        "malformed_numbers": bad,
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
