"""No input makes the runtime parsers raise anything but ParseError (hypothesis, a few seconds)."""
from __future__ import annotations

import gzip
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.goruntime.runtime import (ContainerLimits, ParseError, derive_signals, format_go_size, parse_go_size,
                                    parse_runtime, parse_size, recommend, what_if)

FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

GC_LINE = ("gc 4 @0.364s 3%: 0.47+69+0.003 ms clock, 0.94+0.35/15/56+0.007 ms cpu, 22->27->17 MB, 26 MB goal, "
           "0 MB stacks, 0 MB globals, 2 P")
SEEDS = [
    GC_LINE,
    '{"memstats": {"HeapAlloc": 1, "NextGC": 2, "NumGC": 3, "PauseNs": [1, 2]}}',
    '{"/gc/heap/goal:bytes": 1, "/gc/heap/live:bytes": 2, "/gc/gogc:percent": 100}',
    "# TYPE go_goroutines gauge\ngo_goroutines 5\ngo_gc_duration_seconds{quantile=\"0.5\"} 1e-5\n",
    "/sys/fs/cgroup/memory.max:max\n/sys/fs/cgroup/cpu.max:50000 100000\n",
    "memory_limit: 512Mi\ncpu_limit: 500m\n",
]


def _ok(data, **kw):
    try:
        rd = parse_runtime(data, **kw)
    except ParseError as e:
        assert str(e)
        return None
    sig = derive_signals(rd.samples, rd.gc_cycles, rd.limits)
    json.dumps(sig.to_dict())
    rec = recommend(sig, rd.limits or ContainerLimits(memory_limit=256 << 20, cpu_limit=1), rd.go_version)
    json.dumps(rec)
    what_if(rd.samples, rd.gc_cycles, 100, 200 << 20)
    return rd


@FAST
@given(st.binary(max_size=400))
def test_random_bytes(data):
    _ok(data)
    _ok(gzip.compress(data))


@FAST
@given(st.sampled_from(SEEDS), st.integers(0, 400), st.text(max_size=40))
def test_mutated_seeds(seed, pos, insert):
    pos = min(pos, len(seed))
    _ok(seed[:pos] + insert + seed[pos:])
    _ok(seed[:pos])  # truncated


NUM = st.one_of(st.integers(-2**70, 2**70), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=5),
                st.none(), st.booleans(), st.lists(st.integers(), max_size=3))


@FAST
@given(st.dictionaries(st.sampled_from(["HeapAlloc", "NextGC", "NumGC", "Sys", "HeapIdle", "HeapReleased",
                                        "PauseNs", "LastGC", "TotalAlloc", "GCCPUFraction", "StackInuse"]),
                       NUM, min_size=2))
def test_weird_memstats_values(ms):
    _ok(json.dumps({"memstats": ms}, default=str))
    _ok(json.dumps([ms, ms], default=str))


@FAST
@given(st.dictionaries(st.sampled_from(["/gc/heap/goal:bytes", "/gc/heap/live:bytes", "/gc/gogc:percent",
                                        "/gc/gomemlimit:bytes", "/memory/classes/total:bytes",
                                        "/cpu/classes/gc/total:cpu-seconds", "/sched/pauses/total/gc:seconds",
                                        "/gc/cycles/total:gc-cycles"]),
                       st.one_of(NUM, st.fixed_dictionaries({"buckets": st.lists(NUM, max_size=4),
                                                             "counts": st.lists(NUM, max_size=4)})),
                       min_size=3))
def test_weird_runtime_metrics(m):
    _ok(json.dumps(m, default=str))


@FAST
@given(st.lists(st.tuples(st.integers(0, 10**6), st.floats(0, 1e6), st.integers(0, 100),
                          st.integers(0, 10**5), st.integers(0, 10**5), st.integers(0, 10**5),
                          st.integers(0, 10**5), st.integers(0, 512), st.booleans()), max_size=12))
def test_generated_gctrace(rows):
    lines = [f"gc {n} @{t:.3f}s {p}%: 0.1+1.0+0.01 ms clock, 0.2+0.1/0.5/0.3+0.02 ms cpu, {a}->{b}->{c} MB, "
             f"{g} MB goal, 0 MB stacks, 0 MB globals, {max(P, 1)} P" + (" (forced)" if f else "")
             for n, t, p, a, b, c, g, P, f in rows]
    _ok("\n".join(lines))


@FAST
@given(st.text(max_size=20))
def test_sizes_never_crash(s):
    try:
        n = parse_size(s)
    except ParseError:
        return
    assert n >= 0
    assert parse_go_size(format_go_size(n)) == n


@FAST
@given(st.integers(0, (1 << 63) - 1))
def test_format_go_size_roundtrip(n):
    assert parse_go_size(format_go_size(n)) == n
