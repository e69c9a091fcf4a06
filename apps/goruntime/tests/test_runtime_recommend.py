"""Recommendations: inside the container limit with the GC guide's headroom and above the
measured live heap + overhead, or a plain "needs more memory"; version-aware edges."""
from __future__ import annotations

import io
import json
import math
import re

import pytest

from apps.goruntime.runtime import (ContainerLimits, MemSample, Signals, derive_signals, parse_go_size, recommend)
from apps.goruntime.runtime.cli import main as cli_main

from .runtime_fixtures import load_run, requires_fixtures, run_dir, runs

MIB = 1 << 20
LIMITS = [16 * MIB, 64 * MIB, 80 * MIB, 256 * MIB, 1 << 30, None]


def _signals(run, limit=None):
    expvar, metrics, cycles = load_run(run)
    return derive_signals(expvar + metrics, cycles, ContainerLimits(memory_limit=limit))


def check_memory_invariants(rec, sig, limit):
    gml = rec["GOMEMLIMIT"]
    live = sig.live_heap_peak
    overhead = sig.non_heap_overhead or 0
    text = " ".join(rec["rationale"])
    if limit is None:
        assert gml is None and rec["rss_alert_bytes"] is None
        return
    if gml is not None:
        # GC guide: leave 5-10% headroom for memory the runtime does not know about.
        assert gml <= 0.95 * limit
        assert gml > live + overhead, "limit must sit above live heap + runtime overhead"
        assert parse_go_size(rec["env"]["GOMEMLIMIT"]) == gml
    else:
        assert rec["needs_more_memory"] is True
        assert "needs more memory" in text
        assert rec["min_memory_limit_bytes"] > limit
    assert rec["rss_alert_bytes"] is not None and rec["rss_alert_bytes"] < limit


@requires_fixtures
@pytest.mark.parametrize("run", runs(), ids=lambda r: r["run_id"])
def test_fixture_recommendations_respect_limits(run):
    for limit in LIMITS:
        sig = _signals(run, limit)
        rec = recommend(sig, ContainerLimits(memory_limit=limit, cpu_limit=2), run["go_version"])
        check_memory_invariants(rec, sig, limit)
        assert rec["GOGC"] == "off" or 10 <= rec["GOGC"] <= 400
        json.dumps(rec)  # JSON-serialisable as the CLI prints it


@requires_fixtures
def test_thrashing_runs_say_needs_more_memory():
    for run in runs(("gc_churn", "heap_leak_only")):
        if "thrash" not in run["variant"] and "tight" not in run["variant"]:
            continue
        lim = run["container_sim"]["memory_limit"]
        from apps.goruntime.runtime import parse_size
        limit = parse_size(lim)
        sig = _signals(run, limit)
        assert sig.thrashing, run["run_id"]
        rec = recommend(sig, ContainerLimits(memory_limit=limit), run["go_version"])
        assert rec["needs_more_memory"] and rec["GOMEMLIMIT"] is None
        assert any("needs more memory" in s for s in rec["rationale"])


@requires_fixtures
def test_thrash_seen_from_memstats_alone():
    # No gctrace, no metrics: bytes allocated per GC cycle collapse to < 2% of the heap.
    for run in runs(("heap_leak_only",)):
        if "thrash" in run["variant"]:
            expvar, _m, _c = load_run(run)
            sig = derive_signals(expvar, [])
            assert sig.thrashing and sig.heap_growth_suspected, run["run_id"]


@requires_fixtures
def test_healthy_runs_do_not_thrash():
    for run in runs(("gc_churn", "heap_leak_only", "worker_pool", "http_keepalive")):
        if "thrash" in run["variant"] or "tight" in run["variant"]:
            continue
        assert not _signals(run).thrashing, run["run_id"]
        expvar, _m, _c = load_run(run)
        assert not derive_signals(expvar, []).thrashing, run["run_id"]


@requires_fixtures
def test_heap_leak_detected_with_flat_goroutines():
    run = next(r for r in runs(("heap_leak_only",)) if r["variant"] == "long")
    sig = _signals(run)
    assert sig.heap_growth_suspected and sig.heap_slope_bytes_per_hour > 0
    churn = next(r for r in runs(("gc_churn",)) if r["variant"] == "long")
    assert not _signals(churn).heap_growth_suspected


def synth(live=100 * MIB, nonheap=20 * MIB, goroutines=50, gc_cpu=0.02, gogc=None, gmp=4):
    s = MemSample(at=1000.0, heap_alloc=int(live * 1.6), heap_idle=10 * MIB, heap_released=5 * MIB,
                  sys=int(live * 1.6) + 10 * MIB + nonheap, stack_inuse=goroutines * 8192, live_heap=live,
                  next_gc=int(live * 2), goroutines=goroutines, gomaxprocs=gmp, gogc=gogc, num_gc=10)
    sig = derive_signals([s], [])
    sig.gc_cpu_fraction = gc_cpu
    return sig


def test_no_memory_limit():
    rec = recommend(synth(), None, "go1.22.3")
    assert rec["GOMEMLIMIT"] is None and rec["rss_alert_bytes"] is None and rec["GOGC"] == 100
    assert any("No container memory limit" in s for s in rec["rationale"])


def test_comfortable_limit():
    rec = recommend(synth(), ContainerLimits(memory_limit=1 << 30), "go1.22.3")
    assert rec["GOMEMLIMIT"] == math.floor(0.9 * (1 << 30) / MIB) * MIB
    assert rec["env"]["GOMEMLIMIT"] == "921MiB" and not rec["needs_more_memory"]


def test_live_heap_above_limit_needs_more_memory():
    rec = recommend(synth(live=300 * MIB), ContainerLimits(memory_limit=256 * MIB), "go1.24.0")
    assert rec["GOMEMLIMIT"] is None and rec["needs_more_memory"]
    assert rec["min_memory_limit_bytes"] >= (300 * 2 + 20) * MIB / 0.9 - MIB


def test_tight_limit_warns():
    rec = recommend(synth(live=150 * MIB), ContainerLimits(memory_limit=256 * MIB), "go1.24.0")
    assert rec["GOMEMLIMIT"] is not None
    assert any("tight" in s for s in rec["rationale"]) and rec["min_memory_limit_bytes"]


def test_tiny_limit():
    rec = recommend(synth(live=6 * MIB, nonheap=4 * MIB), ContainerLimits(memory_limit=32 * MIB), "go1.21.0")
    assert rec["GOMEMLIMIT"] is not None and rec["GOMEMLIMIT"] <= 0.9 * 32 * MIB
    assert any("small" in s for s in rec["rationale"])


def test_go_118_has_no_gomemlimit_uses_gogc():
    rec = recommend(synth(live=150 * MIB), ContainerLimits(memory_limit=300 * MIB), "go1.18.10")
    assert rec["GOMEMLIMIT"] is None and "GOMEMLIMIT" not in rec["env"]
    assert isinstance(rec["GOGC"], int) and 25 <= rec["GOGC"] < 100
    assert any("no GOMEMLIMIT" in s for s in rec["rationale"])
    # GOGC heap must fit: live + (live+roots)*GOGC/100 + overhead under 90% of the limit
    sig = synth(live=150 * MIB)
    peak = 150 * MIB * (1 + rec["GOGC"] / 100) + sig.non_heap_overhead
    assert peak <= 0.9 * 300 * MIB


def test_high_gc_cpu_raises_gogc():
    rec = recommend(synth(gc_cpu=0.25), ContainerLimits(memory_limit=2 << 30), "go1.22.0")
    assert rec["GOGC"] > 100 and rec["GOMEMLIMIT"] is not None


def test_gogc_off_without_limit_is_refused():
    rec = recommend(synth(gogc=-1), None, "go1.22.0")
    assert rec["GOGC"] == 100


@pytest.mark.parametrize("ver,cpu,cur,want", [
    ("go1.21.5", 2.0, {}, 2), ("go1.21.5", 2.5, {}, 2), ("go1.24.1", 4.0, {}, 4),
    ("go1.26.0", 2.0, {}, None), ("go1.25.0", 2.0, {"go_mod": "1.24"}, 2),
    ("go1.26.0", 3.0, {"automaxprocs": True}, 3), ("go1.26.0", 0.5, {}, 1), ("go1.21.0", 0.5, {}, 1),
    ("go1.26.0", None, {}, None), ("go1.21.0", None, {}, None),
])
def test_gomaxprocs(ver, cpu, cur, want):
    rec = recommend(synth(), ContainerLimits(memory_limit=1 << 30, cpu_limit=cpu), ver, cur)
    assert rec["GOMAXPROCS"] == want
    text = " ".join(rec["rationale"])
    if ver >= "go1.25" and cpu and cpu >= 1 and not cur:
        assert "go.mod" in text and "automaxprocs" in text  # the caveat is spelled out


def test_gomaxprocs_ignores_goroutines():
    a = recommend(synth(goroutines=10), ContainerLimits(cpu_limit=4), "go1.21.0")
    b = recommend(synth(goroutines=100000), ContainerLimits(cpu_limit=4), "go1.21.0")
    assert a["GOMAXPROCS"] == b["GOMAXPROCS"] == 4


def test_signals_dict_shape():
    d = synth().to_dict()
    for k in ("live_heap", "heap_goal", "non_heap_overhead", "gc_per_minute", "gc_cpu_fraction", "pause_p50_ns",
              "pause_p99_ns", "pause_max_ns", "heap_slope_bytes_per_hour", "goroutines", "stack_bytes",
              "rss_peak", "headroom_bytes", "thrashing", "window"):
        assert k in d
    assert isinstance(Signals(), Signals)


# ------------------------------------------------------------------ CLI
@requires_fixtures
def test_cli_json_contract():
    run = next(r for r in runs(("gc_churn",)) if r["variant"] == "short" and r["go_version"] == "1.26.6")
    d = run_dir(run)
    files = [str(p) for p in sorted(d.glob("s0*_expvar.json"))] + [str(d / "gctrace.txt")]
    out = io.StringIO()
    rc = cli_main(["recommend", "--format", "json", "--memory-limit", "256Mi", "--cpu-limit", "1500m",
                   "--go-version", "1.26", *files], out)
    assert rc == 0
    rec = json.loads(out.getvalue())
    assert set(rec) >= {"GOMAXPROCS", "GOGC", "GOMEMLIMIT", "rss_alert_bytes", "inputs", "signals", "rationale",
                        "snippets"}
    assert rec["GOMAXPROCS"] is None  # Go 1.26 follows the 1.5-CPU limit (with the go.mod caveat)
    assert isinstance(rec["GOMEMLIMIT"], int) and rec["GOMEMLIMIT"] <= 0.9 * 256 * MIB
    assert rec["GOGC"] == "off" or isinstance(rec["GOGC"], int)
    assert set(rec["snippets"]) == {"k8s", "dockerfile", "systemd", "go"}
    assert all(isinstance(s, str) and s for s in rec["rationale"])
    assert rec["inputs"]["memory_limit"] == 256 * MIB
    assert len(rec["inputs"]["files"]) == len(files)
    assert rec["signals"]["gc_per_minute"] > 100


@requires_fixtures
def test_cli_text_and_errors(tmp_path):
    run = next(r for r in runs(("gc_churn",)) if r["variant"] == "short")
    out = io.StringIO()
    assert cli_main([str(run_dir(run) / "s00_expvar.json")], out) == 0
    assert "GOMEMLIMIT" in out.getvalue() and "--- k8s ---" in out.getvalue()
    bad = tmp_path / "bad.txt"
    bad.write_text("not a go artefact\n")
    err = io.StringIO()
    assert cli_main(["recommend", str(bad)], io.StringIO(), err) == 2
    assert "bad.txt" in err.getvalue()
    err = io.StringIO()
    assert cli_main(["recommend", "--memory-limit", "lots", str(run_dir(run) / "s00_expvar.json")],
                    io.StringIO(), err) == 2
    assert cli_main(["recommend", str(tmp_path / "missing.json")], io.StringIO(), io.StringIO()) == 2


def test_snippet_forms():
    rec = recommend(synth(), ContainerLimits(memory_limit=512 * MIB, cpu_limit=2), "go1.22.1")
    sn = rec["snippets"]
    gml = rec["env"]["GOMEMLIMIT"]
    assert re.fullmatch(r"\d+(B|KiB|MiB|GiB|TiB)?", gml)
    assert f'value: "{gml}"' in sn["k8s"] and f"GOMEMLIMIT={gml}" in sn["dockerfile"]
    assert f'"GOMEMLIMIT={gml}"' in sn["systemd"] and f"debug.SetMemoryLimit({rec['GOMEMLIMIT']})" in sn["go"]
    assert "runtime.GOMAXPROCS(2)" in sn["go"]
