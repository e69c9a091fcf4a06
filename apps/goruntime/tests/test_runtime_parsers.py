"""Every runtime input parses to typed, timestamped samples; unknown fields are kept."""
from __future__ import annotations

import gzip
import json

import pytest

from apps.goruntime.runtime import (ContainerLimits, GCCycle, MemSample, ParseError, format_go_size,
                                    parse_go_size, parse_runtime, parse_size)
from apps.goruntime.runtime.cgroup import parse_cpu_quantity

from .runtime_fixtures import load_run, requires_fixtures, run_dir, runs, runtime_files

MIB = 1 << 20


# ------------------------------------------------------------------ fixtures
@requires_fixtures
@pytest.mark.parametrize("run", runs(), ids=lambda r: r["run_id"])
def test_every_fixture_parses(run):
    files = runtime_files(run)
    assert files
    for p in files:
        rd = parse_runtime(p.read_bytes(), name=p.name, captured_at=1.0e9)
        if "gctrace" in p.name:
            assert rd.kind == "gctrace" and rd.gc_cycles
            assert all(isinstance(c, GCCycle) for c in rd.gc_cycles)
        else:
            assert rd.kind in ("expvar", "runtime_metrics")
            (s,) = rd.samples
            assert isinstance(s, MemSample)
            assert s.at is not None
            assert s.heap_alloc and s.sys and s.next_gc and s.num_gc is not None
            assert s.heap_alloc <= s.heap_inuse <= s.heap_sys
            if rd.kind == "expvar":
                assert rd.go_version and rd.go_version.startswith("go1.")
                assert s.goroutines and s.gomaxprocs
                assert "requests_total" in s.extra  # unknown program vars are kept
                assert s.pauses_ns and len(s.pauses_ns) == min(s.num_gc, 256)
            else:
                assert s.live_heap and s.gogc is not None
                assert s.extra["metrics"]  # every scalar metric kept


@requires_fixtures
def test_expvar_fields_match_memstats_and_roundtrip():
    run = next(r for r in runs(("gc_churn",)) if r["variant"] == "short")
    p = run_dir(run) / "s02_expvar.json"
    raw = json.loads(p.read_text())["memstats"]
    (s,) = parse_runtime(p.read_bytes()).samples
    assert s.at_source == "last_gc" and abs(s.at - raw["LastGC"] / 1e9) < 1e-6
    assert s.heap_alloc == raw["HeapAlloc"] and s.next_gc == raw["NextGC"] and s.num_gc == raw["NumGC"]
    assert s.go_memory == raw["Sys"] - raw["HeapReleased"]
    assert s.non_heap == raw["Sys"] - raw["HeapIdle"] - raw["HeapAlloc"]
    # newest pause is PauseNs[(NumGC+255)%256]
    assert s.pauses_ns[-1] == raw["PauseNs"][(raw["NumGC"] + 255) % 256]
    d = json.loads(json.dumps(s.to_dict()))
    assert MemSample.from_dict(d) == s
    # unknown keys survive from_dict
    d["brand_new_field"] = 7
    assert MemSample.from_dict(d).extra["brand_new_field"] == 7


def test_raw_memstats_jsonl_and_wrapper_timestamps():
    ms = {"HeapAlloc": 10 * MIB, "HeapSys": 20 * MIB, "HeapIdle": 8 * MIB, "HeapInuse": 12 * MIB,
          "HeapReleased": 4 * MIB, "Sys": 30 * MIB, "NextGC": 16 * MIB, "NumGC": 3, "TotalAlloc": 99,
          "FutureField": {"x": 1}}
    lines = "\n".join(json.dumps({"timestamp": f"2026-01-01T00:00:0{i}Z", "memstats": ms}) for i in range(3))
    rd = parse_runtime(lines)
    assert rd.kind == "expvar" and len(rd.samples) == 3
    assert rd.samples[1].at - rd.samples[0].at == pytest.approx(1.0)
    assert rd.samples[0].extra["FutureField"] == {"x": 1}
    rd = parse_runtime(json.dumps([dict(ms, time=1700000000123)]))  # raw MemStats, unix ms
    assert rd.kind == "memstats" and rd.samples[0].at == pytest.approx(1700000000.123)


@requires_fixtures
def test_runtime_metrics_gogc_off_and_limit():
    run = next(r for r in runs(("gc_churn",)) if r["variant"].startswith("gogcoff") and r["go_version"] == "1.26.6")
    _e, metrics, _c = load_run(run)
    assert metrics and all(s.gogc == -1 for s in metrics)  # 2^64-1 means off
    assert all(s.gomemlimit == 64 * MIB for s in metrics)
    assert all(s.gomaxprocs == 1 for s in metrics)
    assert metrics[-1].extra.get("pause_hist")


# ------------------------------------------------------------------ gctrace
GC_121 = ("gc 4 @0.364s 3%: 0.47+69+0.003 ms clock, 0.94+0.35/15/56+0.007 ms cpu, "
          "22->27->17 MB, 26 MB goal, 0 MB stacks, 0 MB globals, 2 P")
GC_126_LEAK = ("gc 33 @5.007s 1% (checking for goroutine leaks): 0.46+5.1+0.005 ms clock, 0.93+0/2.8/4.5+0.010 ms "
               "cpu, 23->23->12 MB, 26 MB goal, 0 MB stacks, 0 MB globals, 2 P (forced)")
GC_OLD = "gc 7 @1.020s 2%: 0.015+0.43+0.003 ms clock, 0.060+0.12/0.30/0.43+0.012 ms cpu, 4->4->1 MB, 5 MB goal, 4 P"


def test_gctrace_fields_semantics():
    (c,) = parse_runtime(GC_121).gc_cycles
    # A->B->C MB = heap at GC start -> heap at GC end -> live heap marked
    assert (c.heap_start, c.heap_end, c.heap_live, c.heap_goal) == (22 * MIB, 27 * MIB, 17 * MIB, 26 * MIB)
    assert c.num == 4 and c.at == pytest.approx(0.364) and c.cpu_pct == 3 and c.procs == 2
    assert c.clock_ms == (0.47, 69.0, 0.003) and c.cpu_ms == (0.94, 0.35, 15.0, 56.0, 0.007)
    assert c.pause_ns == round((0.47 + 0.003) * 1e6) and not c.forced and c.stacks == 0
    (c,) = parse_runtime(GC_126_LEAK).gc_cycles
    assert c.forced and c.leak_check and c.num == 33
    (c,) = parse_runtime(GC_OLD).gc_cycles  # Go <= 1.17: no stacks/globals fields
    assert c.stacks is None and c.globals is None and c.procs == 4


def test_gctrace_mixed_with_logs_pacer_scavenger_truncated():
    text = "\n".join([
        "2026/11/23 23:11:13 leaklab listening on 127.0.0.1:17407",
        "pacer: assist ratio=+1.593806e-001 (scan 3 MB in 4->8 MB) workers=0++2.500000e-001",
        "2026-11-23T23:11:14.1Z stderr F " + GC_121,
        "pacer: 25% CPU (25 exp.) for 3145728+2048+131072 B work (3000000 B exp.) in 4194304 B -> 8388608 B "
        "(∆goal 0, cons/mark 0.1467)",
        "scav 0 KiB work (bg), 512 KiB work (eager), 4096 KiB now, 91% util",
        '{"level":"info","msg":"gc 12 is not a gc line"}',
        GC_126_LEAK,
        "gc 34 @5.016s 1% (checking for goroutine leaks): 0.43+5.5+0.004 ms clock, 0.86+0/1.6/5.4+0.0",
    ])
    rd = parse_runtime(text.encode())
    assert [c.num for c in rd.gc_cycles] == [4, 33]
    assert rd.extra["truncated_lines"] == [8]
    assert rd.extra["forced_cycles"] == 1
    assert rd.extra["pacer"][0]["assist_ratio"] == pytest.approx(0.1593806)
    assert rd.extra["pacer"][1]["cpu_pct"] == 25
    assert rd.extra["scavenger"][0]["released_kib"] == 4096
    assert rd.extra["other_lines"] >= 2
    assert rd.gc_cycles[0].line == 3


def test_gctrace_gzip_and_started_at():
    rd = parse_runtime(gzip.compress(GC_121.encode()), started_at=1000.0)
    assert rd.gc_cycles[0].at == pytest.approx(1000.364) and rd.gc_cycles[0].at_unix


def test_only_truncated_gctrace_is_an_error():
    with pytest.raises(ParseError) as e:
        parse_runtime("gc 1 @0.1s 0%: 0.1+0.2+0.3 ms clo")
    assert e.value.line == 1


# ------------------------------------------------------------------ Prometheus
PROM = """# HELP go_gc_duration_seconds A summary of the wall-time pause (stop-the-world) duration in garbage collection cycles.
# TYPE go_gc_duration_seconds summary
go_gc_duration_seconds{quantile="0"} 2.9042e-05
go_gc_duration_seconds{quantile="0.25"} 4.4583e-05
go_gc_duration_seconds{quantile="0.5"} 6.1625e-05
go_gc_duration_seconds{quantile="0.75"} 9.0208e-05
go_gc_duration_seconds{quantile="1"} 0.000823375
go_gc_duration_seconds_sum 0.012318792
go_gc_duration_seconds_count 142
# HELP go_gc_gogc_percent Heap size target percentage configured by the user, otherwise 100.
# TYPE go_gc_gogc_percent gauge
go_gc_gogc_percent 100
# TYPE go_gc_gomemlimit_bytes gauge
go_gc_gomemlimit_bytes 4.83183821e+08
# TYPE go_goroutines gauge
go_goroutines 57
# TYPE go_info gauge
go_info{version="go1.22.5"} 1
# TYPE go_memstats_alloc_bytes gauge
go_memstats_alloc_bytes 2.1633872e+07
# TYPE go_memstats_alloc_bytes_total counter
go_memstats_alloc_bytes_total 3.108498784e+09
# TYPE go_memstats_buck_hash_sys_bytes gauge
go_memstats_buck_hash_sys_bytes 1.494481e+06
# TYPE go_memstats_frees_total counter
go_memstats_frees_total 2.6213245e+07
# TYPE go_memstats_gc_sys_bytes gauge
go_memstats_gc_sys_bytes 4.382432e+06
# TYPE go_memstats_heap_alloc_bytes gauge
go_memstats_heap_alloc_bytes 2.1633872e+07
# TYPE go_memstats_heap_idle_bytes gauge
go_memstats_heap_idle_bytes 1.0346496e+07
# TYPE go_memstats_heap_inuse_bytes gauge
go_memstats_heap_inuse_bytes 2.4133632e+07
# TYPE go_memstats_heap_objects gauge
go_memstats_heap_objects 121432
# TYPE go_memstats_heap_released_bytes gauge
go_memstats_heap_released_bytes 6.062080e+06
# TYPE go_memstats_heap_sys_bytes gauge
go_memstats_heap_sys_bytes 3.4480128e+07
# TYPE go_memstats_last_gc_time_seconds gauge
go_memstats_last_gc_time_seconds 1.7320352419786286e+09
# TYPE go_memstats_mallocs_total counter
go_memstats_mallocs_total 2.6334677e+07
# TYPE go_memstats_mcache_sys_bytes gauge
go_memstats_mcache_sys_bytes 15600
# TYPE go_memstats_mspan_sys_bytes gauge
go_memstats_mspan_sys_bytes 538560
# TYPE go_memstats_next_gc_bytes gauge
go_memstats_next_gc_bytes 3.0012456e+07
# TYPE go_memstats_other_sys_bytes gauge
go_memstats_other_sys_bytes 1.456319e+06
# TYPE go_memstats_stack_inuse_bytes gauge
go_memstats_stack_inuse_bytes 1.146880e+06
# TYPE go_memstats_stack_sys_bytes gauge
go_memstats_stack_sys_bytes 1.146880e+06
# TYPE go_memstats_sys_bytes gauge
go_memstats_sys_bytes 4.3513096e+07
# TYPE go_sched_gomaxprocs_threads gauge
go_sched_gomaxprocs_threads 4
# TYPE go_threads gauge
go_threads 11
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 61.52
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes 5.4525952e+07
# TYPE process_start_time_seconds gauge
process_start_time_seconds 1.73203448193e+09
# TYPE promhttp_metric_handler_requests_total counter
promhttp_metric_handler_requests_total{code="200"} 12
"""


def test_prometheus_client_golang():
    rd = parse_runtime(PROM, captured_at=1732035245.0)
    assert rd.kind == "prometheus" and rd.go_version == "go1.22.5"
    (s,) = rd.samples
    assert s.at == 1732035245.0 and s.rss == 54525952 and s.goroutines == 57 and s.gomaxprocs == 4
    assert s.heap_alloc == 21633872 and s.next_gc == 30012456 and s.num_gc == 142
    assert s.gogc == 100 and s.gomemlimit == 483183821 and s.total_alloc == 3108498784
    assert s.other_runtime == 1494481 + 4382432 + 15600 + 538560 + 1456319
    assert s.extra["pause_quantiles"][0.5] == pytest.approx(6.1625e-05)
    assert s.extra["metrics"]["process_cpu_seconds_total"] == 61.52
    assert s.pause_total_ns == 12318792


def test_prometheus_concatenated_scrapes_and_timestamps():
    a = "go_goroutines 10 1700000000000\ngo_memstats_heap_alloc_bytes 100 1700000000000\n"
    b = "go_goroutines 12 1700000015000\ngo_memstats_heap_alloc_bytes 200 1700000015000\n"
    rd = parse_runtime(a + b)
    assert [s.goroutines for s in rd.samples] == [10, 12]
    assert [s.at for s in rd.samples] == [1700000000.0, 1700000015.0]
    rd = parse_runtime("go_goroutines 1\nprocess_resident_memory_bytes 5\ngo_goroutines 2\n")
    assert len(rd.samples) == 2


def test_prometheus_matches_prometheus_client_parser():
    # Cross-check the hand-written parser against the reference implementation.
    from prometheus_client.parser import text_string_to_metric_families
    ref = {}
    for fam in text_string_to_metric_families(PROM):
        for smp in fam.samples:
            if not smp.labels:
                ref[smp.name] = smp.value
    (s,) = parse_runtime(PROM).samples
    assert s.heap_alloc == ref["go_memstats_heap_alloc_bytes"]
    assert s.rss == ref["process_resident_memory_bytes"]
    assert s.num_gc == ref["go_gc_duration_seconds_count"]


# ------------------------------------------------------------------ cgroup
def test_cgroup_v2_grep_output():
    text = "\n".join([
        "/sys/fs/cgroup/memory.max:536870912",
        "/sys/fs/cgroup/memory.current:301989888",
        "/sys/fs/cgroup/memory.stat:anon 250000000",
        "/sys/fs/cgroup/memory.stat:inactive_file 20000000",
        "/sys/fs/cgroup/memory.stat:file 40000000",
        "/sys/fs/cgroup/cpu.max:150000 100000",
        "/sys/fs/cgroup/memory.events:oom_kill 2",
    ])
    rd = parse_runtime(text)
    lim = rd.limits
    assert rd.kind == "cgroup" and isinstance(lim, ContainerLimits)
    assert lim.memory_limit == 536870912 and lim.memory_current == 301989888
    assert lim.cpu_limit == 1.5 and lim.cgroup_version == 2 and lim.oom_kills == 2
    assert lim.working_set == 301989888 - 20000000
    assert lim.memory_stat["anon"] == 250000000


def test_cgroup_v2_no_limits_head_output():
    text = "==> /sys/fs/cgroup/memory.max <==\nmax\n\n==> /sys/fs/cgroup/cpu.max <==\nmax 100000\n"
    lim = parse_runtime(text).limits
    assert lim.memory_limit is None and lim.cpu_limit is None and lim.cpu_period_us == 100000


def test_cgroup_v1_files():
    lim = parse_runtime("9223372036854771712\n", name="memory.limit_in_bytes").limits
    assert lim.memory_limit is None and lim.cgroup_version == 1
    text = ("==> memory.limit_in_bytes <==\n268435456\n==> cpu.cfs_quota_us <==\n50000\n"
            "==> cpu.cfs_period_us <==\n100000\n==> memory.stat <==\ntotal_inactive_file 1000\n"
            "hierarchical_memory_limit 201326592\n")
    lim = parse_runtime(text).limits
    assert lim.memory_limit == 201326592  # the tighter hierarchical limit wins
    assert lim.cpu_limit == 0.5 and lim.inactive_file == 1000
    lim = parse_runtime("-1\n", name="cpu.cfs_quota_us").limits
    assert lim.cpu_limit is None


def test_cgroup_single_files_and_plain_numbers():
    assert parse_runtime("max\n", name="/sys/fs/cgroup/memory.max").limits.memory_limit is None
    assert parse_runtime("200000 100000\n", name="cpu.max").limits.cpu_limit == 2.0
    lim = parse_runtime("memory_limit: 512Mi\ncpu_limit: 500m\n").limits
    assert lim.memory_limit == 512 * MIB and lim.cpu_limit == 0.5
    lim = parse_runtime(json.dumps({"memory.max": "1073741824", "cpu.max": "max 100000"})).limits
    assert lim.memory_limit == 1 << 30 and lim.cpu_limit is None
    with pytest.raises(ParseError):
        parse_runtime("memory_limit: lots\n")


# ------------------------------------------------------------------ sizes
@pytest.mark.parametrize("text,want", [
    ("536870912", 536870912), ("512MiB", 512 * MIB), ("512Mi", 512 * MIB), ("1Gi", 1 << 30),
    ("1GiB", 1 << 30), ("512MB", 512 * 10**6), ("512M", 512 * 10**6), ("2G", 2 * 10**9),
    ("512m", 512 * MIB), ("1.5GiB", 3 << 29), ("64KiB", 64 << 10), (" 100 ", 100), ("100B", 100),
    ("1e9", 10**9), ("2Ti", 2 << 40),
])
def test_parse_size(text, want):
    assert parse_size(text) == want


@pytest.mark.parametrize("bad", ["", "abc", "-5", "12XB", "1.2.3", "MiB", "10 parsecs", "99999999999999999999Ti"])
def test_parse_size_rejects(bad):
    with pytest.raises(ParseError):
        parse_size(bad)


@pytest.mark.parametrize("n,want", [
    (512 * MIB, "512MiB"), (1 << 30, "1GiB"), (3 << 29, "1536MiB"), (1000, "1000"), (2048, "2KiB"),
    (0, "0"), (5 << 40, "5TiB"), (536870913, "536870913"),
])
def test_format_go_size(n, want):
    assert format_go_size(n) == want
    assert parse_go_size(want) == n


@pytest.mark.parametrize("s", ["512Mi", "512MB", "1.5GiB", "64 MiB", "512mib", "-1", ""])
def test_parse_go_size_mirrors_go_rejections(s):
    assert parse_go_size(s) is None


def test_cpu_quantity():
    assert parse_cpu_quantity("500m") == 0.5 and parse_cpu_quantity("2") == 2.0
    assert parse_cpu_quantity("max") is None
    with pytest.raises(ParseError):
        parse_cpu_quantity("two")


@pytest.mark.parametrize("bad", [b"", b"   ", b"hello world\n", b"{\"a\": 1}", b"\x1f\x8b\x00garbage",
                                 "[1, 2, 3]", "<html></html>"])
def test_bad_input_clear_error(bad):
    with pytest.raises(ParseError) as e:
        parse_runtime(bad)
    assert str(e.value)
