"""runtime/metrics dumps: {name: value}, histograms as {buckets, counts}.

Also accepted: a list of {"name"/"Name", "value"/"Value"} objects and plain
text lines `"/gc/heap/goal:bytes 123"`. Metric availability depends on the
Go version (e.g. /gc/heap/live and /gc/gogc are 1.21+); absent ones stay None.
"""
from __future__ import annotations

import math
import re

from .model import MemSample
from .timeutil import find_time

MAX_INT64 = (1 << 63) - 1
_NAME_RE = re.compile(r"^/[\w\-/.]+:[\w\-*/]+$")


def looks_like_metrics_dict(d) -> bool:
    if not isinstance(d, dict) or not d:
        return False
    names = [k for k in d if isinstance(k, str) and k.startswith("/") and ":" in k]
    return len(names) >= 3 or ("/gc/heap/goal:bytes" in d)


def unwrap(d):
    """Accept {"metrics": {...}, "timestamp": ...} and list-of-samples shapes."""
    if isinstance(d, dict) and isinstance(d.get("metrics"), (dict, list)):
        inner = unwrap(d["metrics"])
        return inner
    if isinstance(d, list):
        out = {}
        for item in d:
            if isinstance(item, dict):
                name = item.get("name", item.get("Name"))
                val = item.get("value", item.get("Value"))
                if isinstance(name, str):
                    out[name] = val
        return out
    return d


def _scalar(v):
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return v
    if isinstance(v, str):
        try:
            return float(v) if any(c in v for c in ".eE") else int(v)
        except ValueError:
            return None
    if isinstance(v, dict):  # {"kind": ..., "value": ...} style wrappers
        for k in ("value", "Value", "uint64", "float64"):
            if k in v:
                return _scalar(v[k])
    return None


def _i(v):
    v = _scalar(v)
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return None
    return int(v)


def is_histogram(v) -> bool:
    return isinstance(v, dict) and isinstance(v.get("buckets"), list) and isinstance(v.get("counts"), list)


def clean_histogram(v) -> dict | None:
    """{buckets, counts} with numeric (or "+Inf"/"-Inf") edges and non-negative counts, else None."""
    if not is_histogram(v):
        return None
    buckets, counts = v["buckets"], v["counts"]
    if len(buckets) != len(counts) + 1 or not counts:
        return None
    edges = []
    for b in buckets:
        if isinstance(b, str) and b in ("+Inf", "-Inf", "Inf"):
            edges.append(b)
        elif isinstance(b, (int, float)) and not isinstance(b, bool) and math.isfinite(b):
            edges.append(b)
        else:
            return None
    cs = []
    for c in counts:
        if isinstance(c, bool) or not isinstance(c, (int, float)) or not math.isfinite(c) or c < 0:
            return None
        cs.append(int(c))
    return {"buckets": edges, "counts": cs}


def metrics_sample(m: dict, captured_at: float | None = None) -> MemSample:
    g = m.get
    s = MemSample(source="runtime_metrics")
    objects = _i(g("/memory/classes/heap/objects:bytes"))
    unused = _i(g("/memory/classes/heap/unused:bytes"))
    free = _i(g("/memory/classes/heap/free:bytes"))
    released = _i(g("/memory/classes/heap/released:bytes"))
    stacks = _i(g("/memory/classes/heap/stacks:bytes"))
    os_stacks = _i(g("/memory/classes/os-stacks:bytes"))
    s.heap_alloc = objects
    if objects is not None and unused is not None:
        s.heap_inuse = objects + unused
    if free is not None and released is not None:
        s.heap_idle = free + released
    s.heap_released = released
    if None not in (objects, unused, free, released):
        s.heap_sys = objects + unused + free + released
    s.heap_objects = _i(g("/gc/heap/objects:objects"))
    s.next_gc = _i(g("/gc/heap/goal:bytes"))
    s.sys = _i(g("/memory/classes/total:bytes"))
    s.stack_inuse = stacks
    if stacks is not None:
        s.stack_sys = stacks + (os_stacks or 0)
    other = [v for k, v in m.items() if isinstance(k, str) and (
        k.startswith("/memory/classes/metadata/") or k in (
            "/memory/classes/profiling/buckets:bytes", "/memory/classes/other:bytes"))]
    if other:
        s.other_runtime = sum(_i(v) or 0 for v in other)
    s.num_gc = _i(g("/gc/cycles/total:gc-cycles"))
    s.num_forced_gc = _i(g("/gc/cycles/forced:gc-cycles"))
    s.goroutines = _i(g("/sched/goroutines:goroutines"))
    s.gomaxprocs = _i(g("/sched/gomaxprocs:threads"))
    gogc = _scalar(g("/gc/gogc:percent"))
    if gogc is not None:
        # GOGC=off reads as 2^64-1 (or a huge float once through JSON).
        s.gogc = -1 if gogc >= 2**31 or gogc < 0 else int(gogc)
    lim = _scalar(g("/gc/gomemlimit:bytes"))
    if lim is not None:
        s.gomemlimit = None if lim >= MAX_INT64 - 4096 else int(lim)
        if s.gomemlimit is None:
            s.extra["gomemlimit_unset"] = True
    s.total_alloc = _i(g("/gc/heap/allocs:bytes"))
    s.mallocs = _i(g("/gc/heap/allocs:objects"))
    s.frees = _i(g("/gc/heap/frees:objects"))
    s.live_heap = _i(g("/gc/heap/live:bytes"))
    s.scan_stack = _i(g("/gc/scan/stack:bytes"))
    s.scan_globals = _i(g("/gc/scan/globals:bytes"))
    gct = _scalar(g("/cpu/classes/gc/total:cpu-seconds"))
    idle = _scalar(g("/cpu/classes/gc/mark/idle:cpu-seconds"))
    if gct is not None:
        # Idle-priority marking uses otherwise idle CPU; GCCPUFraction excludes it too.
        s.gc_cpu_seconds = float(gct) - float(idle or 0)
    tot = _scalar(g("/cpu/classes/total:cpu-seconds"))
    s.cpu_total_seconds = float(tot) if tot is not None else None
    s.limiter_last_enabled = _i(g("/gc/limiter/last-enabled:gc-cycle"))
    for name in ("/sched/pauses/total/gc:seconds", "/gc/pauses:seconds"):
        h = clean_histogram(g(name))
        if h is not None:
            s.extra["pause_hist"] = {"buckets": list(h["buckets"]), "counts": list(h["counts"]), "metric": name}
            break
    known_prefixes = ("/memory/classes/", "/godebug/")
    metrics = {}
    for k, v in m.items():
        if not isinstance(k, str) or k.startswith(known_prefixes):
            continue
        sv = _scalar(v)
        if sv is not None and not is_histogram(v):
            metrics[k] = sv
    s.extra["metrics"] = metrics  # every scalar metric, including ones we do not interpret
    if captured_at is not None:
        s.at, s.at_source = captured_at, "captured_at"
    return s


def parse_metrics_text(text: str) -> dict | None:
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and _NAME_RE.match(parts[0]):
            try:
                out[parts[0]] = float(parts[1]) if any(c in parts[1] for c in ".eE") else int(parts[1])
            except ValueError:
                continue
    return out if len(out) >= 3 else None


def wrapped_metrics_sample(d, captured_at: float | None = None) -> MemSample:
    t = find_time(d) if isinstance(d, dict) else None
    s = metrics_sample(unwrap(d), captured_at if t is None else t)
    if t is not None:
        s.at_source = "data"
    return s
