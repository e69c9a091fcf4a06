"""Prometheus text exposition from client_golang's Go and process collectors.

Hand-written rather than prometheus_client's parser: that parser raises on
the first odd line, while scraped files in the wild are often concatenated
scrapes, carry foreign metrics or are cut off. Several scrapes in one file are
split when a series repeats (or by their sample timestamps).
"""
from __future__ import annotations

import math
import re

from ..common import ParseError
from .model import MemSample

_LINE_RE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)(?:\s+(-?\d+))?\s*$")
_LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"')
MAX_INT64 = (1 << 63) - 1

_GAUGES = {
    "go_memstats_heap_alloc_bytes": "heap_alloc",
    "go_memstats_alloc_bytes": "heap_alloc",
    "go_memstats_alloc_bytes_total": "total_alloc",
    "go_memstats_sys_bytes": "sys",
    "go_memstats_mallocs_total": "mallocs",
    "go_memstats_frees_total": "frees",
    "go_memstats_heap_sys_bytes": "heap_sys",
    "go_memstats_heap_idle_bytes": "heap_idle",
    "go_memstats_heap_inuse_bytes": "heap_inuse",
    "go_memstats_heap_released_bytes": "heap_released",
    "go_memstats_heap_objects": "heap_objects",
    "go_memstats_stack_inuse_bytes": "stack_inuse",
    "go_memstats_stack_sys_bytes": "stack_sys",
    "go_memstats_next_gc_bytes": "next_gc",
    "go_gc_heap_goal_bytes": "next_gc",
    "go_goroutines": "goroutines",
    "go_sched_goroutines_goroutines": "goroutines",
    "go_sched_gomaxprocs_threads": "gomaxprocs",
    "go_gc_heap_live_bytes": "live_heap",
    "go_gc_scan_stack_bytes": "scan_stack",
    "go_gc_scan_globals_bytes": "scan_globals",
    "go_gc_limiter_last_enabled_gc_cycle": "limiter_last_enabled",
    "process_resident_memory_bytes": "rss",
    "go_gc_heap_objects_objects": "heap_objects",
}
_OTHER_RUNTIME = ("go_memstats_mspan_sys_bytes", "go_memstats_mcache_sys_bytes",
                  "go_memstats_buck_hash_sys_bytes", "go_memstats_gc_sys_bytes",
                  "go_memstats_other_sys_bytes")
_PAUSE_HISTS = ("go_sched_pauses_total_gc_seconds", "go_gc_pauses_seconds", "go_gc_pauses_seconds_total")


def looks_like_prometheus(text: str) -> bool:
    head = text[:100000]
    return ("# TYPE go_" in head or "\ngo_goroutines " in head or head.startswith("go_")
            or "go_memstats_" in head or "process_resident_memory_bytes" in head)


def _value(s: str) -> float | None:
    try:
        v = float(s)
    except ValueError:
        return None
    return v


def _labels(s: str | None) -> dict:
    if not s:
        return {}
    return {k: v.replace('\\"', '"').replace("\\\\", "\\") for k, v in _LABEL_RE.findall(s)}


def parse_prometheus(text: str, captured_at: float | None = None) -> tuple[list[MemSample], str | None, dict]:
    scrapes: list[dict] = []
    cur: dict = {}
    seen: set = set()
    bad = 0
    types: dict[str, str] = {}
    last_ts = None
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 4 and parts[1] == "TYPE":
                types[parts[2]] = parts[3].strip()
            continue
        m = _LINE_RE.match(line)
        if not m:
            bad += 1
            continue
        name, lab, val, ts = m.groups()
        v = _value(val)
        if v is None:
            bad += 1
            continue
        key = (name, lab or "")
        ts_s = int(ts) / 1000.0 if ts else None
        new_scrape = key in seen or (ts_s is not None and last_ts is not None and abs(ts_s - last_ts) > 1.0)
        if new_scrape and cur:
            scrapes.append(cur)
            cur, seen = {}, set()
        seen.add(key)
        if ts_s is not None:
            last_ts = ts_s
            cur.setdefault("__ts__", ts_s)
        cur.setdefault(name, []).append((_labels(lab), v))
    if cur:
        scrapes.append(cur)
    scrapes = [s for s in scrapes if any(k.startswith(("go_", "process_")) for k in s)]
    if not scrapes:
        raise ParseError("Prometheus text has no go_* or process_* metrics")
    go_version = None
    samples = []
    for sc in scrapes:
        s, ver = _scrape_sample(sc, captured_at if len(scrapes) == 1 else None)
        go_version = go_version or ver
        samples.append(s)
    if len(scrapes) > 1 and captured_at is not None and samples[-1].at is None:
        samples[-1].at, samples[-1].at_source = captured_at, "captured_at"
    return samples, go_version, {"unparsed_lines": bad, "scrapes": len(scrapes)}


def _first(sc: dict, name: str):
    vals = sc.get(name)
    if not vals:
        return None
    return vals[0][1]


def _int(v):
    if v is None or not math.isfinite(v):
        return None
    return int(v)


def _scrape_sample(sc: dict, captured_at: float | None) -> tuple[MemSample, str | None]:
    s = MemSample(source="prometheus")
    for name, attr in _GAUGES.items():
        v = _first(sc, name)
        if v is not None and getattr(s, attr) is None:
            setattr(s, attr, _int(v))
    parts = [_first(sc, n) for n in _OTHER_RUNTIME]
    if all(p is not None for p in parts):
        s.other_runtime = int(sum(parts))
    v = _first(sc, "go_memstats_gc_cpu_fraction")
    if v is not None and math.isfinite(v):
        s.gc_cpu_fraction = v
    v = _first(sc, "go_memstats_last_gc_time_seconds")
    if v:
        s.last_gc = v
    v = _first(sc, "go_gc_gogc_percent")
    if v is not None and math.isfinite(v):
        s.gogc = -1 if v < 0 or v >= 2**31 else int(v)
    v = _first(sc, "go_gc_gomemlimit_bytes")
    if v is not None and math.isfinite(v):
        s.gomemlimit = None if v >= MAX_INT64 - 4096 else int(v)
    # go_gc_duration_seconds: summary of recent STW pauses (quantiles 0..1).
    q = {}
    for labels, val in sc.get("go_gc_duration_seconds", []):
        if "quantile" in labels and math.isfinite(val):
            try:
                q[float(labels["quantile"])] = val
            except ValueError:
                pass
    if q:
        s.extra["pause_quantiles"] = q
    cnt = _first(sc, "go_gc_duration_seconds_count")
    if cnt is not None:
        s.num_gc = _int(cnt)
    elif _first(sc, "go_gc_cycles_total_gc_cycles_total") is not None:
        s.num_gc = _int(_first(sc, "go_gc_cycles_total_gc_cycles_total"))
    ssum = _first(sc, "go_gc_duration_seconds_sum")
    if ssum is not None and math.isfinite(ssum):
        s.pause_total_ns = int(ssum * 1e9)
    forced = _first(sc, "go_gc_cycles_forced_gc_cycles_total")
    if forced is not None:
        s.num_forced_gc = _int(forced)
    gct = _first(sc, "go_cpu_classes_gc_total_cpu_seconds_total")
    if gct is not None:
        idle = _first(sc, "go_cpu_classes_gc_mark_idle_cpu_seconds_total") or 0.0
        s.gc_cpu_seconds = gct - idle
    tot = _first(sc, "go_cpu_classes_total_cpu_seconds_total")
    if tot is not None:
        s.cpu_total_seconds = tot
    for hname in _PAUSE_HISTS:
        buckets = sc.get(hname + "_bucket")
        if buckets:
            h = _cumulative_to_hist(buckets)
            if h:
                h["metric"] = hname
                s.extra["pause_hist"] = h
                break
    go_version = None
    for labels, _v in sc.get("go_info", []):
        go_version = labels.get("version") or go_version
    if "__ts__" in sc:
        s.at, s.at_source = sc["__ts__"], "data"
    elif captured_at is not None:
        s.at, s.at_source = captured_at, "captured_at"
    known = set(_GAUGES) | set(_OTHER_RUNTIME)
    metrics = {}
    for name, vals in sc.items():
        if name == "__ts__" or name in known or len(metrics) > 500:
            continue
        if len(vals) == 1 and not vals[0][0]:
            v = vals[0][1]
            metrics[name] = v if math.isfinite(v) else str(v)
    s.extra["metrics"] = metrics  # unknown and unused series are kept
    return s, go_version


def _cumulative_to_hist(buckets: list) -> dict | None:
    pts = []
    for labels, v in buckets:
        le = labels.get("le")
        if le is None:
            continue
        try:
            pts.append((float(le), v))
        except ValueError:
            continue
    if not pts:
        return None
    pts.sort()
    edges: list = [0.0]  # pauses are >= 0: the first bucket's lower edge
    counts = []
    prev = 0.0
    for le, c in pts:
        edges.append(le if math.isfinite(le) else "+Inf")
        counts.append(max(0, int(c - prev)))
        prev = c
    return {"buckets": edges, "counts": counts}
