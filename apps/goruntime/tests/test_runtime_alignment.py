"""gctrace and expvar describe the same GC cycles.

gctrace `@Ns` is seconds since process start; MANIFEST gives the run's
started_at (harness spawn time, a few ms before runtime init) and each
sample's capture timestamp. Counting the cycles that finished before each
capture must reproduce the NumGC deltas between expvar samples.
"""
from __future__ import annotations

import bisect

import pytest

from apps.goruntime.runtime import align_offset, derive_signals

from .runtime_fixtures import load_run, requires_fixtures, runs, started_at

RUNS = [r for r in runs() if r.get("run_files", {}).get("gctrace")]


@requires_fixtures
@pytest.mark.parametrize("run", RUNS, ids=lambda r: r["run_id"])
def test_gctrace_cycles_match_numgc_deltas(run):
    expvar, _metrics, cycles = load_run(run)
    assert expvar and cycles
    t0 = started_at(run)
    ends = sorted(t0 + c.t_rel + c.duration_s for c in cycles)
    nums = [c.num for c in sorted(cycles, key=lambda c: c.t_rel)]
    assert nums == sorted(nums) and nums[0] == 1, "one process per trace, cycles numbered from 1"
    # Capture time vs ReadMemStats and spawn vs runtime init are a few ms apart: cycles ending
    # within W of either boundary may fall on either side (bursts of forced cycles, thrash).
    W = 0.05

    def slack(t):
        return bisect.bisect_right(ends, t + W) - bisect.bisect_left(ends, t - W)

    samples = sorted(expvar, key=lambda s: s.at)
    checked = 0
    for a, b in zip(samples, samples[1:]):
        if b.num_gc > nums[-1]:
            break  # the trace was cut off by SIGTERM before this sample's cycles were printed
        traced = bisect.bisect_right(ends, b.at) - bisect.bisect_right(ends, a.at)
        assert abs(traced - (b.num_gc - a.num_gc)) <= slack(a.at) + slack(b.at), (a.num_gc, b.num_gc, traced)
        checked += 1
    assert checked >= 1
    # Total count: cycles up to the last sample's capture == its NumGC.
    last = samples[-1]
    if last.num_gc <= nums[-1]:
        assert abs(bisect.bisect_right(ends, last.at) - last.num_gc) <= slack(last.at) + slack(t0)


@requires_fixtures
@pytest.mark.parametrize("run", RUNS, ids=lambda r: r["run_id"])
def test_lastgc_alignment_recovers_process_start(run):
    expvar, _m, cycles = load_run(run)
    off = align_offset(cycles, expvar)
    assert off is not None
    # LastGC + NumGC pin the trace to wall-clock time: runtime init comes shortly after the
    # harness spawned the process.
    assert -0.01 < off - started_at(run) < 0.25
    by_num = {c.num: c for c in cycles}
    for s in expvar:
        c = by_num.get(s.num_gc)
        if c is not None:
            assert abs(off + c.t_rel + c.duration_s - s.last_gc) < 0.01
    sig = derive_signals(expvar, cycles)
    assert sig.window["gctrace_offset_s"] == pytest.approx(off)
    assert sig.window["gc_cycles_time_base"] == "unix"
