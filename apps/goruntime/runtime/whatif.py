"""What-if: replay a recorded series under another GOGC / GOMEMLIMIT.

Model (from the GC guide and the pacer in runtime/mgcpacer.go):
- the recorded series gives, per interval, bytes allocated, the live heap,
  roots (stacks + globals) and non-heap runtime memory; the workload is
  assumed to allocate the same bytes at the same times under new settings;
- heap goal = min(GOGC goal, memory-limit goal): GOGC goal = live +
  (live + roots) * GOGC/100 (at least 4 MiB * GOGC/100); limit goal = limit -
  non-heap - 3% headroom, never below the live heap;
- the pacer triggers the next cycle at goal - m, clamped to [0.7, 0.95] of
  the runway (and no earlier than goal - 4 MiB for large runways), where m is
  the pacer's allowance for allocation during mark, calibrated on the
  recording; bytes per cycle = (trigger - live) + allocation during mark;
- when the goal collapses onto the live heap the GC runs back to back: a
  cycle cannot be shorter than its mark phase plus the sweep that must finish
  before the next one (SWEEP_FACTOR x mark time; an assumption, see TUNING.md);
- GC CPU per cycle scales with the heap it marks; the GC CPU limiter caps GC
  at about 50% of GOMAXPROCS.
"""
from __future__ import annotations

import math
import statistics

from .gctrace import last_segment
from .model import GCCycle, MemSample
from .signals import HALF_MIB, MIB, goal_for

LIMIT_HEADROOM = 0.03  # memoryLimitHeapGoalHeadroomPercent
LIMIT_MIN_HEADROOM = 1 * MIB  # memoryLimitMinHeapGoalHeadroom
MIN_TRIGGER = 45 / 64
MAX_TRIGGER = 61 / 64
HEAP_MINIMUM = 4 * MIB
SWEEP_FACTOR = 1.3  # back-to-back cycle = mark time x this (mark + sweep before the next start)
CPU_LIMITER = 0.5


def limit_goal(limit: int, non_heap: float, live: float) -> float:
    goal = limit - non_heap
    if goal <= 0:
        return live
    headroom = max(goal * LIMIT_HEADROOM, LIMIT_MIN_HEADROOM)
    goal = headroom if goal < 2 * headroom else goal - headroom
    return max(goal, live)


def _goal(live, roots, non_heap, gogc, memlimit):
    g1 = goal_for(live, roots, gogc) if gogc is not None and gogc >= 0 else math.inf
    g2 = limit_goal(memlimit, non_heap, live) if memlimit else math.inf
    return min(g1, g2), ("gogc" if g1 <= g2 else "memory_limit")


def _trigger(live, goal, m):
    runway = goal - live
    if runway <= 0:
        return live
    lo = live + runway * MIN_TRIGGER
    hi = max(live + runway * MAX_TRIGGER, goal - HEAP_MINIMUM if goal > HEAP_MINIMUM else 0)
    hi = max(hi, lo)
    return min(max(goal - m, lo), hi)


def _intervals(samples: list[MemSample], cycles: list[GCCycle]):
    """Per-interval records: t0, dt, alloc bytes, live, roots, goal, cycles, mark seconds, gc cpu s, procs."""
    out = []
    if len(cycles) >= 2:
        for a, b in zip(cycles, cycles[1:]):
            dt = (b.t_rel if b.t_rel is not None else b.at) - (a.t_rel if a.t_rel is not None else a.at)
            if dt <= 0:
                continue
            alloc = max(0, a.heap_end - a.heap_start) + max(0, b.heap_start - a.heap_live)
            out.append({
                "t0": a.at, "dt": dt, "alloc": float(alloc), "live": a.heap_live + HALF_MIB,
                "roots": float((b.stacks or 0) + (b.globals or 0)), "goal": b.heap_goal + HALF_MIB,
                "start": b.heap_start + HALF_MIB, "cycles": b.num - a.num, "forced": 1 if b.forced else 0, "mark_s": b.clock_ms[1] / 1000.0,
                "cycle_s": b.duration_s, "gc_cpu_s": b.gc_cpu_ms / 1000.0, "procs": b.procs,
            })
        return out, "gctrace"
    ts = [s for s in samples if s.at is not None and s.total_alloc is not None and s.num_gc is not None]
    # Different sources count allocation slightly differently (MemStats vs /gc/heap/allocs) and are
    # captured ms apart: use one source's series, the longest.
    by_src: dict = {}
    for s in ts:
        by_src.setdefault(s.source, []).append(s)
    ts = max(by_src.values(), key=len) if by_src else []
    ts.sort(key=lambda s: s.at)
    for a, b in zip(ts, ts[1:]):
        dt = b.at - a.at
        if dt <= 0 or b.total_alloc < a.total_alloc:
            continue
        live = b.live_heap if b.live_heap is not None else a.live_heap
        if live is None:
            g = (b.gogc if b.gogc is not None and b.gogc > 0 else 100) / 100.0
            live = max(0.0, (b.next_gc or 0) - (b.stack_inuse or 0) * g) / (1 + g)
        gcs = None
        if b.gc_cpu_seconds is not None and a.gc_cpu_seconds is not None:
            gcs = b.gc_cpu_seconds - a.gc_cpu_seconds
        out.append({
            "t0": a.at, "dt": dt, "alloc": float(b.total_alloc - a.total_alloc), "live": float(live),
            "roots": float(b.roots if b.roots is not None else (b.stack_inuse or 0)),
            "goal": float(b.next_gc or 0), "start": None, "cycles": b.num_gc - a.num_gc,
            "forced": max(0, (b.num_forced_gc or 0) - (a.num_forced_gc or 0)), "mark_s": None,
            "cycle_s": None, "gc_cpu_s": gcs, "procs": b.gomaxprocs or 1, "non_heap": b.non_heap,
        })
    return out, "samples"


def what_if(samples: list[MemSample], gc_cycles: list[GCCycle], gogc: int | None, memlimit: int | None,
            duration_s: float | None = None, baseline_gogc: int | None = None,
            baseline_memlimit: int | None = None, non_heap: float | None = None) -> dict:
    """Predict GC rate, peak heap and GC CPU under GOGC=`gogc` (None = off) and
    GOMEMLIMIT=`memlimit` (None = no limit) for the recorded workload."""
    samples = list(samples or [])
    cycles = last_segment(list(gc_cycles or []))
    ivs, basis = _intervals(samples, cycles)
    if not ivs:
        return {"error": "not enough data: need two gctrace cycles or two MemStats/metrics samples with "
                         "TotalAlloc and NumGC", "gc_per_minute": None, "peak_heap_bytes": None,
                "gc_cpu_fraction": None, "series": []}
    if gogc is not None and gogc < 0:
        gogc = None
    nh_vals = [s.non_heap for s in samples if s.non_heap is not None]
    if non_heap is None:
        non_heap = statistics.median(nh_vals) if nh_vals else None
    assumptions = []
    if non_heap is None:
        # gctrace alone does not show runtime overhead; stacks+globals plus metadata is a floor.
        non_heap = max(iv["roots"] for iv in ivs) + 4 * MIB
        assumptions.append("non-heap runtime memory unknown (gctrace only); assumed roots + 4 MiB")
    total_t = sum(iv["dt"] for iv in ivs)
    total_alloc = sum(iv["alloc"] for iv in ivs)
    rate = total_alloc / total_t if total_t > 0 else 0.0
    measured_cycles = sum(iv["cycles"] for iv in ivs)
    # runtime.GC() / debug.FreeOSMemory cycles happen regardless of GOGC/GOMEMLIMIT: carried over as-is.
    forced_cycles = sum(iv["forced"] for iv in ivs)

    # Calibrate the pacer's mark allowance m and the mark time from the recording.
    m_vals, mark_vals, cyc_vals, cpu_per_live = [], [], [], []
    for iv in ivs:
        runway = iv["goal"] - iv["live"]
        if iv["start"] is not None and runway > MIB and not iv["forced"]:
            frac = (iv["start"] - iv["live"]) / runway
            frac = min(max(frac, MIN_TRIGGER), MAX_TRIGGER)
            m_vals.append((1 - frac) * runway)
        if iv["mark_s"] is not None:
            mark_vals.append(iv["mark_s"])
            cyc_vals.append(iv["cycle_s"])
        if iv["gc_cpu_s"] is not None and iv["cycles"] > 0:
            cpu_per_live.append(iv["gc_cpu_s"] / iv["cycles"] / max(iv["live"] + iv["roots"], MIB))
    m = statistics.median(m_vals) if m_vals else None
    if m is None:
        m = 0.3 * statistics.median([max(iv["goal"] - iv["live"], MIB) for iv in ivs])
        assumptions.append("pacer trigger point not visible (no gctrace); assumed 70% of the runway")
    mark_s = statistics.median(mark_vals) if mark_vals else None
    cycle_s = statistics.median(cyc_vals) if cyc_vals else None
    if mark_s is None:
        mark_s = 0.01
        cycle_s = 0.01
        assumptions.append("mark duration unknown (no gctrace); assumed 10 ms per cycle")
    live_ref = statistics.median([iv["live"] + iv["roots"] for iv in ivs]) or MIB
    cpu_k = statistics.median(cpu_per_live) if cpu_per_live else None
    procs = statistics.median([iv["procs"] for iv in ivs]) or 1

    series = []
    pred_cycles = 0.0
    peak = 0.0
    gc_cpu_s = 0.0
    bound_by = {"gogc": 0.0, "memory_limit": 0.0, "live_heap": 0.0, "none": 0.0}
    uncollected = ivs[0]["live"]  # with no GC at all, everything allocated stays on the heap
    for iv in ivs:
        live, roots = iv["live"], iv["roots"]
        nh = iv.get("non_heap") or non_heap
        goal, why = _goal(live, roots, nh, gogc, memlimit)
        scale = (live + roots) / live_ref if live_ref else 1.0
        mark = mark_s * max(scale, 0.25)
        min_period = max(cycle_s, mark) * SWEEP_FACTOR * max(scale, 0.25)
        if math.isinf(goal):
            n = 0.0
            why = "none"
            uncollected += iv["alloc"]
            heap_peak = uncollected
        else:
            if goal <= live * 1.0001:
                why = "live_heap"
            trig = _trigger(live, goal, m)
            per_cycle = (trig - live) + rate * mark
            n_alloc = iv["alloc"] / per_cycle if per_cycle > 0 else math.inf
            n = min(n_alloc, iv["dt"] / min_period)
            heap_peak = max(goal, trig + rate * mark)
        pred_cycles += n
        bound_by[why] += iv["dt"]
        if cpu_k is not None:
            gc_cpu_s += n * cpu_k * (live + roots)
        peak = max(peak, heap_peak)
        series.append({"at": iv["t0"], "heap_goal": None if math.isinf(goal) else int(goal),
                       "heap_peak": int(heap_peak)})
    gc_cpu = gc_cpu_s / (total_t * procs) if cpu_k is not None and total_t > 0 else None
    limited = False
    if gc_cpu is not None and gc_cpu > CPU_LIMITER:
        # The limiter stops GC from taking more; the heap overshoots the limit instead.
        pred_cycles *= CPU_LIMITER / gc_cpu
        gc_cpu = CPU_LIMITER
        limited = True
    pred_cycles += forced_cycles
    per_min = pred_cycles / total_t * 60.0 if total_t > 0 else None
    dur = duration_s if duration_s is not None else total_t
    if len(series) > 500:
        step = len(series) / 500.0
        series = [series[int(i * step)] for i in range(500)]
    dominant = max(bound_by, key=bound_by.get)
    return {
        "gogc": "off" if gogc is None else gogc,
        "gomemlimit": memlimit,
        "gc_per_minute": per_min,
        "gc_count": per_min * dur / 60.0 if per_min is not None else None,
        "duration_s": dur,
        "peak_heap_bytes": int(peak) if math.isfinite(peak) else None,
        "gc_cpu_fraction": gc_cpu,
        "cpu_limiter_engaged": limited,
        "limited_by": dominant,
        "thrash": dominant == "live_heap",
        "series": series,
        "baseline": {
            "basis": basis,
            "gc_per_minute": measured_cycles / total_t * 60.0 if total_t > 0 else None,
            "forced_cycles": forced_cycles,
            "alloc_rate_bytes_per_s": rate,
            "mark_allowance_bytes": m,
            "mark_s": mark_s,
            "non_heap_bytes": non_heap,
            "gomaxprocs": procs,
        },
        "assumptions": assumptions,
    }
