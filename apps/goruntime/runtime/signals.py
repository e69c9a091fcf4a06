"""Derived GC/memory signals from a series of samples and gctrace cycles.

The GC guide's model: heap goal = live + (live + stacks + globals) * GOGC/100,
capped by the memory limit, which counts Sys - HeapReleased. HeapAlloc/NextGC
near 1 is the normal end of every cycle, so it is never used as "pressure";
pressure is the GC rate, GC CPU, a goal pinned by the limit, and the limiter.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from .gctrace import align_offset, last_segment
from .model import ContainerLimits, GCCycle, MemSample
from .runtime_metrics import clean_histogram

MIB = 1 << 20
HALF_MIB = MIB // 2  # gctrace prints MiB truncated: add half a MiB for an unbiased estimate


@dataclass
class Signals:
    live_heap: int | None = None  # latest live heap after GC (bytes)
    live_heap_peak: int | None = None
    live_heap_p50: int | None = None
    live_heap_source: str | None = None
    heap_goal: int | None = None
    heap_goal_peak: int | None = None
    roots_bytes: int | None = None  # stacks + globals the pacer counts (Go 1.18+)
    non_heap_overhead: int | None = None  # peak Sys - HeapIdle - HeapAlloc
    go_memory_peak: int | None = None  # peak Sys - HeapReleased (what GOMEMLIMIT counts)
    other_runtime: int | None = None
    gc_per_minute: float | None = None
    gc_per_minute_recent: float | None = None
    forced_gc_per_minute: float | None = None
    gc_cpu_fraction: float | None = None
    gc_cpu_fraction_source: str | None = None
    pause_p50_ns: int | None = None
    pause_p99_ns: int | None = None
    pause_max_ns: int | None = None
    pause_source: str | None = None
    heap_slope_bytes_per_hour: float | None = None
    heap_growth_suspected: bool = False
    goroutines: int | None = None
    goroutines_peak: int | None = None
    goroutine_slope_per_hour: float | None = None
    stack_bytes: int | None = None
    stack_bytes_per_goroutine: float | None = None
    rss_peak: int | None = None
    working_set_peak: int | None = None
    memory_limit: int | None = None
    headroom_bytes: int | None = None
    non_go_memory: int | None = None  # RSS/working set above what the Go runtime accounts for
    alloc_rate_bytes_per_s: float | None = None
    gogc: int | None = None  # observed; -1 = off
    gomemlimit: int | None = None
    gomaxprocs: int | None = None
    limit_bound_fraction: float | None = None  # share of recent cycles whose goal the limit set
    limiter_engaged: bool = False
    thrashing: bool = False
    window: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)

    def to_dict(self) -> dict:
        d = asdict(self)
        for k, v in list(d.items()):
            if isinstance(v, float):
                d[k] = None if not math.isfinite(v) else round(v, 6)
        return d


def percentile(values: list, q: float):
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    vs = sorted(values)
    if not vs:
        return None
    k = max(0, min(len(vs) - 1, math.ceil(q / 100.0 * len(vs)) - 1))
    return vs[k]


def slope_per_s(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of (t, y) points."""
    if len(points) < 3:
        return None
    n = len(points)
    mt = sum(p[0] for p in points) / n
    my = sum(p[1] for p in points) / n
    den = sum((p[0] - mt) ** 2 for p in points)
    if den <= 0:
        return None
    return sum((p[0] - mt) * (p[1] - my) for p in points) / den


def _latest(samples, attr):
    for s in reversed(samples):
        v = getattr(s, attr)
        if v is not None:
            return v
    return None


def _peak(samples, attr):
    vals = [getattr(s, attr) for s in samples if getattr(s, attr) is not None]
    return max(vals) if vals else None


def _hist_float(x) -> float:
    if isinstance(x, str):
        return float("inf") if x.startswith("+") or x == "Inf" else float("-inf")
    return float(x)


def hist_quantiles(h: dict, qs=(50, 99, 100)) -> list[float | None]:
    """Quantiles (upper bucket edges, i.e. conservative) from {buckets, counts}."""
    buckets = [_hist_float(b) for b in h["buckets"]]
    counts = h["counts"]
    total = sum(counts)
    if total <= 0:
        return [None for _ in qs]
    out = []
    for q in qs:
        target = max(1, math.ceil(q / 100.0 * total))
        acc = 0
        val = None
        for i, c in enumerate(counts):
            acc += c
            if acc >= target:
                hi = buckets[i + 1] if i + 1 < len(buckets) else float("inf")
                lo = buckets[i] if i < len(buckets) else hi
                val = hi if math.isfinite(hi) else lo
                break
        out.append(val)
    return out


def _hist_delta(first: dict | None, last: dict) -> dict:
    if not first or first.get("buckets") != last.get("buckets") or len(first["counts"]) != len(last["counts"]):
        return last
    counts = [max(0, b - a) for a, b in zip(first["counts"], last["counts"])]
    return {"buckets": last["buckets"], "counts": counts} if sum(counts) else last


def goal_for(live: float, roots: float, gogc: int, go_minor: int | None = None) -> float:
    """GOGC heap goal (GC guide; roots counted from Go 1.18), with the 4 MiB x GOGC/100 minimum."""
    if gogc < 0:
        return float("inf")
    g = gogc / 100.0
    r = roots if (go_minor is None or go_minor >= 18) else 0.0
    return max(live + (live + r) * g, 4 * MIB * g)


def cycle_times(cycles: list[GCCycle], samples: list[MemSample]) -> tuple[list[float], float | None]:
    """Times of cycles as unix seconds when they can be aligned, else relative; and the offset used."""
    if not cycles:
        return [], None
    if cycles[0].at_unix:
        return [c.at for c in cycles], 0.0
    off = align_offset(cycles, samples)
    if off is None:
        return [c.at for c in cycles], None
    return [off + c.at for c in cycles], off


def cycle_alloc_rate(cycles: list[GCCycle]) -> float | None:
    """Allocation rate from gctrace alone: between the starts of consecutive
    cycles the program allocated (heap_end - heap_start) during mark plus
    (next heap_start - heap_live) after it."""
    if len(cycles) < 2:
        return None
    total = 0.0
    for a, b in zip(cycles, cycles[1:]):
        total += max(0, a.heap_end - a.heap_start) + max(0, b.heap_start - a.heap_live)
    dt = cycles[-1].t_rel - cycles[0].t_rel if cycles[0].t_rel is not None else cycles[-1].at - cycles[0].at
    return total / dt if dt > 0 else None


def derive_signals(samples: list[MemSample], gc_cycles: list[GCCycle], limits: ContainerLimits | None = None,
                   gogc_hint: int | None = None, go_minor: int | None = None) -> Signals:
    sig = Signals()
    samples = sorted([s for s in (samples or []) if s is not None],
                     key=lambda s: (s.at is None, s.at or 0.0))
    cycles = last_segment(list(gc_cycles or []))
    ctimes, offset = cycle_times(cycles, samples)
    timed = [s for s in samples if s.at is not None]

    sig.gogc = _latest(samples, "gogc")
    if sig.gogc is None:
        sig.gogc = gogc_hint
    sig.gomemlimit = _latest(samples, "gomemlimit")
    sig.gomaxprocs = _latest(samples, "gomaxprocs") or (cycles[-1].procs if cycles else None)
    gogc_eff = sig.gogc if sig.gogc is not None else 100

    # --- roots, non-heap memory, stacks
    roots = [s.roots for s in samples if s.roots is not None]
    if roots:
        sig.roots_bytes = max(roots)
    elif cycles and cycles[-1].stacks is not None:
        sig.roots_bytes = max((c.stacks or 0) + (c.globals or 0) for c in cycles[-50:]) + HALF_MIB
    elif samples and _peak(samples, "stack_inuse") is not None:
        sig.roots_bytes = _peak(samples, "stack_inuse")  # globals unknown from MemStats
    nh = [s.non_heap for s in samples if s.non_heap is not None]
    sig.non_heap_overhead = max(nh) if nh else None
    gm = [s.go_memory for s in samples if s.go_memory is not None]
    sig.go_memory_peak = max(gm) if gm else None
    sig.other_runtime = _peak(samples, "other_runtime")
    sig.stack_bytes = _latest(samples, "stack_inuse")
    sig.goroutines = _latest(samples, "goroutines")
    sig.goroutines_peak = _peak(samples, "goroutines")
    if sig.stack_bytes is not None and sig.goroutines:
        sig.stack_bytes_per_goroutine = sig.stack_bytes / sig.goroutines

    # --- live heap series
    live_pts: list[tuple[float, float]] = []
    if cycles:
        live_pts = [(t, c.heap_live + HALF_MIB) for t, c in zip(ctimes, cycles)]
        sig.live_heap_source = "gctrace"
    exact = [(s.at, s.live_heap) for s in timed if s.live_heap is not None]
    if exact and len(exact) >= len(live_pts) // 10 + 1 and not live_pts:
        live_pts, sig.live_heap_source = exact, "runtime_metrics"
    elif exact and not cycles:
        live_pts, sig.live_heap_source = exact, "runtime_metrics"
    if not live_pts:
        approx = []
        r = sig.roots_bytes or 0
        for s in timed or samples:
            if s.next_gc is None or s.heap_alloc is None:
                continue
            g = (s.gogc if s.gogc is not None else gogc_eff)
            if g is None or g < 0:
                continue
            gf = g / 100.0
            if s.next_gc <= 4 * MIB * gf * 1.01:
                est = s.heap_alloc  # at the heap minimum the goal says nothing about live data
            else:
                est = (s.next_gc - r * gf) / (1 + gf)
            est = max(0.0, min(est, float(s.heap_alloc) if s.heap_alloc else est))
            approx.append((s.at if s.at is not None else 0.0, est))
        if approx:
            live_pts, sig.live_heap_source = approx, "estimated_from_next_gc"
            sig.notes.append("live heap estimated from NextGC and GOGC (no gctrace or /gc/heap/live); "
                             "this is only valid while the memory limit is not setting the goal")
    if live_pts:
        vals = [p[1] for p in live_pts]
        sig.live_heap = int(vals[-1])
        sig.live_heap_peak = int(max(vals))
        sig.live_heap_p50 = int(percentile(vals, 50))
        sl = slope_per_s(live_pts)
        if sl is not None:
            sig.heap_slope_bytes_per_hour = sl * 3600.0
            span = live_pts[-1][0] - live_pts[0][0]
            growth = sl * span
            base = max(sig.live_heap_p50 or 0, MIB)
            gr_pts = [(s.at, s.goroutines) for s in timed if s.goroutines is not None]
            gsl = slope_per_s(gr_pts)
            if gsl is not None:
                sig.goroutine_slope_per_hour = gsl * 3600.0
            g_flat = gsl is None or abs(gsl * span) < 0.2 * max(sig.goroutines_peak or 1, 10)
            if span > 0 and growth > 0.25 * base and growth > 2 * MIB:
                sig.heap_growth_suspected = True
                sig.notes.append(
                    "live heap grows steadily" + (" while goroutines stay flat: a heap leak (caches, maps, "
                                                  "retained slices), not a goroutine leak" if g_flat else
                                                  " together with the goroutine count"))

    # --- heap goal
    goals = [(s.next_gc) for s in samples if s.next_gc is not None]
    if cycles:
        sig.heap_goal = cycles[-1].heap_goal
        sig.heap_goal_peak = max(c.heap_goal for c in cycles)
    if goals:
        sig.heap_goal = goals[-1] if not cycles else sig.heap_goal
        sig.heap_goal_peak = max(goals + ([sig.heap_goal_peak] if sig.heap_goal_peak else []))

    # --- GC rate
    if len(cycles) >= 2:
        span = (ctimes[-1] + cycles[-1].duration_s) - ctimes[0]
        n = cycles[-1].num - cycles[0].num
        if span > 0:
            sig.gc_per_minute = n / span * 60.0
            forced = sum(1 for c in cycles[1:] if c.forced)
            sig.forced_gc_per_minute = forced / span * 60.0
        q = cycles[len(cycles) * 3 // 4:]
        qt = ctimes[len(cycles) * 3 // 4:]
        if len(q) >= 2 and qt[-1] > qt[0]:
            sig.gc_per_minute_recent = (q[-1].num - q[0].num) / (qt[-1] - qt[0]) * 60.0
    gs = [(s.at, s.num_gc) for s in timed if s.num_gc is not None]
    if sig.gc_per_minute is None and len(gs) >= 2 and gs[-1][0] > gs[0][0]:
        sig.gc_per_minute = (gs[-1][1] - gs[0][1]) / (gs[-1][0] - gs[0][0]) * 60.0
        if len(gs) >= 3 and gs[-1][0] > gs[-2][0]:
            sig.gc_per_minute_recent = (gs[-1][1] - gs[-2][1]) / (gs[-1][0] - gs[-2][0]) * 60.0
        fs = [(s.at, s.num_forced_gc) for s in timed if s.num_forced_gc is not None]
        if len(fs) >= 2 and fs[-1][0] > fs[0][0]:
            sig.forced_gc_per_minute = (fs[-1][1] - fs[0][1]) / (fs[-1][0] - fs[0][0]) * 60.0

    # --- allocation rate
    ta = [(s.at, s.total_alloc) for s in timed if s.total_alloc is not None]
    if len(ta) >= 2 and ta[-1][0] > ta[0][0]:
        sig.alloc_rate_bytes_per_s = (ta[-1][1] - ta[0][1]) / (ta[-1][0] - ta[0][0])
    elif cycles:
        sig.alloc_rate_bytes_per_s = cycle_alloc_rate(cycles)

    # --- GC CPU over the window (lifetime GCCPUFraction only as a fallback)
    cpu = [(s.gc_cpu_seconds, s.cpu_total_seconds) for s in samples
           if s.gc_cpu_seconds is not None and s.cpu_total_seconds]
    if len(cpu) >= 2 and cpu[-1][1] > cpu[0][1]:
        sig.gc_cpu_fraction = max(0.0, (cpu[-1][0] - cpu[0][0]) / (cpu[-1][1] - cpu[0][1]))
        sig.gc_cpu_fraction_source = "/cpu/classes window"
    elif len(cycles) >= 2:
        span = (ctimes[-1] + cycles[-1].duration_s) - ctimes[0]
        procs = sum(c.procs for c in cycles) / len(cycles)
        if span > 0 and procs > 0:
            sig.gc_cpu_fraction = sum(c.gc_cpu_ms for c in cycles) / 1000.0 / (span * procs)
            sig.gc_cpu_fraction_source = "gctrace cpu ms over wall x P"
    if sig.gc_cpu_fraction is None:
        if len(cpu) == 1:
            sig.gc_cpu_fraction = cpu[0][0] / cpu[0][1]
            sig.gc_cpu_fraction_source = "/cpu/classes since start"
        elif _latest(samples, "gc_cpu_fraction") is not None:
            sig.gc_cpu_fraction = _latest(samples, "gc_cpu_fraction")
            sig.gc_cpu_fraction_source = "GCCPUFraction (lifetime average)"
        elif cycles:
            sig.gc_cpu_fraction = cycles[-1].cpu_pct / 100.0
            sig.gc_cpu_fraction_source = "gctrace % (lifetime average)"

    # --- STW pauses
    per_cycle: dict[int, int] = {}
    for s in samples:
        if s.pauses_ns and s.num_gc:
            first = s.num_gc - len(s.pauses_ns) + 1
            for i, p in enumerate(s.pauses_ns):
                per_cycle[first + i] = p
    src = "MemStats.PauseNs" if per_cycle else None
    if cycles:
        for c in cycles:
            per_cycle.setdefault(c.num, c.pause_ns)
        src = "gctrace STW clock" if src is None else src + " + gctrace"
    if per_cycle:
        vals = list(per_cycle.values())
        sig.pause_p50_ns = int(percentile(vals, 50))
        sig.pause_p99_ns = int(percentile(vals, 99))
        sig.pause_max_ns = int(max(vals))
        sig.pause_source = f"{src} ({len(vals)} cycles)"
    else:
        hs = [clean_histogram(s.extra.get("pause_hist")) for s in samples if s.extra.get("pause_hist")]
        hs = [h for h in hs if h]
        if hs:
            h = _hist_delta(hs[0] if len(hs) > 1 else None, hs[-1])
            p50, p99, pmax = hist_quantiles(h)
            if p50 is not None:
                sig.pause_p50_ns, sig.pause_p99_ns, sig.pause_max_ns = (
                    int(p50 * 1e9), int(p99 * 1e9), int(pmax * 1e9))
                sig.pause_source = "pause histogram (bucket upper edges)"
        else:
            qs = [s.extra.get("pause_quantiles") for s in samples if s.extra.get("pause_quantiles")]
            if qs:
                q = {float(k): v for k, v in qs[-1].items()}
                if 0.5 in q:
                    sig.pause_p50_ns = int(q[0.5] * 1e9)
                if 1.0 in q:
                    sig.pause_max_ns = int(q[1.0] * 1e9)
                    sig.pause_p99_ns = sig.pause_max_ns
                sig.pause_source = "go_gc_duration_seconds summary (p99 = max: the summary has no p99)"

    # --- RSS, limits, headroom
    sig.rss_peak = _peak(samples, "rss")
    lim = limits or ContainerLimits()
    sig.memory_limit = lim.memory_limit
    ws = [x for x in (lim.working_set, _peak(samples, "memory_current")) if x is not None]
    sig.working_set_peak = max(ws) if ws else None
    if sig.rss_peak is not None:
        pairs = [s.rss - s.go_memory for s in samples if s.rss is not None and s.go_memory is not None]
        if pairs:
            sig.non_go_memory = max(0, max(pairs))
    if sig.working_set_peak is not None and sig.go_memory_peak is not None:
        sig.non_go_memory = max(sig.non_go_memory or 0, sig.working_set_peak - sig.go_memory_peak)
    if lim.memory_limit is not None:
        used = [x for x in (sig.rss_peak, sig.working_set_peak, sig.go_memory_peak) if x is not None]
        if used:
            sig.headroom_bytes = lim.memory_limit - max(used)

    # --- limit-bound cycles and thrash
    _thrash(sig, samples, cycles, gogc_eff, go_minor)

    sig.window = {
        "start": min([p for p in [timed[0].at if timed else None, ctimes[0] if ctimes else None] if p is not None],
                     default=None),
        "end": max([p for p in [timed[-1].at if timed else None, ctimes[-1] if ctimes else None] if p is not None],
                   default=None),
        "samples": len(samples),
        "gc_cycles": len(cycles),
        "gc_cycles_time_base": ("unix" if (cycles and cycles[0].at_unix) or offset is not None
                                else ("process_start" if cycles else None)),
        "gctrace_offset_s": offset,
    }
    return sig


def _thrash(sig: Signals, samples, cycles, gogc_eff, go_minor):
    if len(cycles) >= 4:
        recent = cycles[max(1, len(cycles) * 3 // 4):]
        if len(recent) < 3:
            recent = cycles[-3:]
        idx0 = cycles.index(recent[0])
        bound = 0
        runways = []
        for i in range(idx0, len(cycles)):
            if i == 0:
                continue
            prev, c = cycles[i - 1], cycles[i]
            live = prev.heap_live + HALF_MIB
            roots = (c.stacks or 0) + (c.globals or 0)
            want = goal_for(live, roots, gogc_eff, go_minor)
            # MiB truncation in the trace: allow 2 MiB + 5% before calling it limit-bound
            if c.heap_goal + 2 * MIB < want * 0.95:
                bound += 1
            runways.append((c.heap_goal + HALF_MIB - live) / max(live, MIB))
        n = max(1, len(runways))
        sig.limit_bound_fraction = bound / n
        med = percentile(runways, 50) if runways else None
        if sig.limit_bound_fraction >= 0.5 and med is not None and med < 0.10:
            sig.thrashing = True
            sig.notes.append(
                f"GC thrash: {sig.limit_bound_fraction:.0%} of recent cycles had their goal set by the memory "
                f"limit with a median runway of {med:.0%} of the live heap; the GC runs back to back "
                "(the GC guide's death spiral)")
    lims = [s.limiter_last_enabled for s in samples if s.limiter_last_enabled is not None]
    if len(lims) >= 2 and lims[-1] > lims[0]:
        sig.limiter_engaged = True
        sig.notes.append("the GC CPU limiter engaged during the window (/gc/limiter/last-enabled advanced)")
    elif len(lims) == 1 and lims[0] > 0:
        sig.notes.append(f"the GC CPU limiter engaged at least once (last in cycle {lims[0]})")
    if not cycles and sig.gomemlimit:
        # Without a trace: the goal is pinned when live + non-heap sits at the limit.
        live = sig.live_heap_peak if sig.live_heap_source == "runtime_metrics" else None
        nh = sig.non_heap_overhead or 0
        if live is not None and live + nh >= 0.9 * sig.gomemlimit:
            sig.thrashing = True
            sig.notes.append("live heap plus runtime overhead is within 10% of GOMEMLIMIT: the limit sets "
                             "the goal and the GC runs almost continuously")
    if not cycles:
        # MemStats only: bytes allocated per GC cycle is the runway the pacer allowed. A
        # collapse of it, while the heap is large, means the goal is pinned at the live heap.
        pts = [s for s in samples if s.at is not None and s.num_gc is not None and s.total_alloc is not None]
        per = []
        for a, b in zip(pts, pts[1:]):
            n = b.num_gc - a.num_gc
            if n > 0 and b.total_alloc >= a.total_alloc:
                per.append(((b.total_alloc - a.total_alloc) / n, b.heap_alloc or 0, n / max(b.at - a.at, 1e-9)))
        # A GOGC goal gives each cycle a runway of (live + roots) x GOGC/100, i.e. >= ~10% of the
        # heap even at GOGC=10; under 2% for the last two intervals means the limit pins the goal.
        tail = per[-2:]
        if len(tail) == 2 and all(p[0] < 0.02 * p[1] and p[2] > 1.0 for p in tail):
            last_bytes, heap, rate = tail[-1]
            sig.thrashing = True
            sig.notes.append(
                f"GC thrash: only {last_bytes / MIB:.2f} MiB allocated per GC cycle with a {heap / MIB:.0f} MiB "
                f"heap at {rate:.1f} GCs/s: the goal sits on the live heap, as when a memory limit is too low")
    if sig.limiter_engaged and (sig.gc_per_minute or 0) > 600:
        sig.thrashing = True
