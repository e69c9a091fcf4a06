"""expvar /debug/vars JSON (its `memstats` object) and raw runtime.MemStats JSON."""
from __future__ import annotations

from .model import MemSample
from .timeutil import find_time

# MemStats field -> MemSample field
_MAP = {
    "HeapAlloc": "heap_alloc", "HeapInuse": "heap_inuse", "HeapIdle": "heap_idle",
    "HeapReleased": "heap_released", "HeapSys": "heap_sys", "HeapObjects": "heap_objects",
    "NextGC": "next_gc", "Sys": "sys", "StackInuse": "stack_inuse", "StackSys": "stack_sys",
    "NumGC": "num_gc", "NumForcedGC": "num_forced_gc", "PauseTotalNs": "pause_total_ns",
    "GCCPUFraction": "gc_cpu_fraction", "TotalAlloc": "total_alloc", "Mallocs": "mallocs",
    "Frees": "frees",
}
_OTHER_RUNTIME = ("MSpanSys", "MCacheSys", "BuckHashSys", "GCSys", "OtherSys")
# Known and deliberately not stored per sample (large, or duplicated above).
_SKIP = {"PauseNs", "PauseEnd", "BySize", "Alloc", "LastGC", "EnableGC", "DebugGC", "Lookups",
         "MSpanInuse", "MCacheInuse", *_OTHER_RUNTIME}
MEMSTATS_MARKERS = ("HeapAlloc", "NextGC", "NumGC", "HeapSys")
# expvar vars some programs publish alongside memstats (names vary; these are common).
_VAR_GOROUTINES = ("goroutines", "num_goroutine", "NumGoroutine", "goroutine_count")
_VAR_GOMAXPROCS = ("gomaxprocs", "GOMAXPROCS")
_VAR_VERSION = ("go_version", "goversion", "version")


def is_memstats(d) -> bool:
    return isinstance(d, dict) and sum(1 for k in MEMSTATS_MARKERS if k in d) >= 2


def is_expvar(d) -> bool:
    return isinstance(d, dict) and is_memstats(d.get("memstats"))


def _int(v):
    if type(v) is int:
        return v
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v == v and abs(v) < 1e19:
        return int(v)
    if isinstance(v, str):
        try:
            return int(v)
        except ValueError:
            return None
    return None


def _num(v):
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    return None


def memstats_sample(ms: dict, captured_at: float | None = None) -> MemSample:
    s = MemSample(source="memstats")
    for k, attr in _MAP.items():
        if k in ms:
            v = _num(ms[k]) if attr == "gc_cpu_fraction" else _int(ms[k])
            setattr(s, attr, v)
    if s.heap_alloc is None and "Alloc" in ms:
        s.heap_alloc = _int(ms["Alloc"])
    parts = [_int(ms.get(k)) for k in _OTHER_RUNTIME if k in ms]
    if parts and all(p is not None for p in parts):
        s.other_runtime = sum(parts)
    last_gc = _int(ms.get("LastGC"))
    if last_gc:
        s.last_gc = last_gc / 1e9
    pauses = ms.get("PauseNs")
    if isinstance(pauses, list) and pauses and s.num_gc:
        s.pauses_ns = _ordered_ring(pauses, s.num_gc)
    for k, v in ms.items():
        if k not in _MAP and k not in _SKIP:
            s.extra[k] = v  # unknown fields are kept
    if captured_at is not None:
        s.at, s.at_source = captured_at, "captured_at"
    elif s.last_gc:
        # No capture time in a bare MemStats: the end of the last GC is the
        # closest time the data itself carries (a lower bound).
        s.at, s.at_source = s.last_gc, "last_gc"
    return s


def _ordered_ring(ring: list, num_gc: int) -> list[int]:
    """PauseNs is a circular buffer; most recent at [(NumGC+255)%256]. Return oldest->newest."""
    size = len(ring)
    if num_gc < size:
        out = ring[:num_gc]
    else:
        i = num_gc % size
        out = ring[i:] + ring[:i]
    if not set(map(type, out)) <= {int}:  # sanitise only when needed (long series are hot)
        out = [v if v is not None else 0 for v in map(_int, out)]
    return out


def expvar_sample(d: dict, captured_at: float | None = None) -> tuple[MemSample, str | None]:
    t = find_time(d)
    s = memstats_sample(d["memstats"], captured_at if t is None else t)
    if t is not None:
        s.at_source = "data"
    s.source = "expvar"
    go_version = None
    for k, v in d.items():
        if k == "memstats":
            continue
        if k in _VAR_GOROUTINES and s.goroutines is None:
            s.goroutines = _int(v)
        elif k in _VAR_GOMAXPROCS and s.gomaxprocs is None:
            s.gomaxprocs = _int(v)
        elif k in _VAR_VERSION and isinstance(v, str) and "go" in v:
            go_version = v
        else:
            s.extra[k] = v if not isinstance(v, (dict, list)) or len(str(v)) < 2000 else "(omitted)"
    return s, go_version


def memstats_with_wrapper(d: dict, captured_at: float | None = None) -> MemSample:
    t = find_time(d)
    s = memstats_sample(d, captured_at if t is None else t)
    if t is not None:
        s.at_source = "data"
    return s
