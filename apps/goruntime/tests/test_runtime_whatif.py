"""What-if model validated on fixtures that ran the same workload under different settings."""
from __future__ import annotations

import pytest

from apps.goruntime.runtime import parse_size, what_if

from .runtime_fixtures import load_run, requires_fixtures, runs, workload_key

BOUND = 0.25  # issue: predicted GC count within +-25% of the measured one


def pairs():
    rs = runs()
    base = {workload_key(r): r for r in rs if r["variant"] == "short"}
    out = []
    for r in rs:
        b = base.get(workload_key(r))
        if b is not None and b is not r and r.get("run_files", {}).get("gctrace"):
            out.append((b, r))
    return out


def settings(run):
    env = run["env"]
    g = env.get("GOGC", "100")
    gogc = None if g == "off" else int(g)
    ml = parse_size(env["GOMEMLIMIT"]) if "GOMEMLIMIT" in env else None
    return gogc, ml


def predict(base, variant, basis="gctrace"):
    e, m, c = load_run(base)
    _e2, _m2, c2 = load_run(variant)
    gogc, ml = settings(variant)
    span = c2[-1].t_rel - c2[0].t_rel
    measured = c2[-1].num - c2[0].num
    if basis == "gctrace":
        p = what_if(e, c, gogc, ml, duration_s=span)
    else:  # the series alone, no trace
        p = what_if(e if basis == "expvar" else m, [], gogc, ml, duration_s=span)
    return p, measured


PAIRS = pairs()


@requires_fixtures
def test_there_are_validation_pairs():
    assert len(PAIRS) >= 6


@requires_fixtures
@pytest.mark.parametrize("basis", ["gctrace", "expvar", "runtime_metrics"])
@pytest.mark.parametrize("pair", PAIRS, ids=lambda p: p[1]["run_id"])
def test_predicted_gc_count(pair, basis):
    base, variant = pair
    p, measured = predict(base, variant, basis)
    err = (p["gc_count"] - measured) / measured
    if p["thrash"]:
        # Back-to-back GC: the model only bounds the rate (see docs/TUNING.md); it must say so.
        assert "tight" in variant["variant"] or "thrash" in variant["variant"]
        assert 1 / 3 < p["gc_count"] / measured < 3
    else:
        assert abs(err) <= BOUND, f"predicted {p['gc_count']:.0f} vs measured {measured}: {err:+.1%}"
    assert p["peak_heap_bytes"] > 0
    if basis != "expvar":  # MemStats has no windowed GC CPU to calibrate on
        assert 0 <= p["gc_cpu_fraction"] <= 0.5
    assert p["series"] and {"at", "heap_goal", "heap_peak"} <= set(p["series"][0])


@requires_fixtures
def test_gogc_off_without_limit_never_collects():
    base = next(r for r in runs(("gc_churn",)) if r["variant"] == "short")
    e, _m, c = load_run(base)
    p = what_if(e, c, None, None)
    assert p["gc_per_minute"] == 0 and p["limited_by"] == "none"
    assert p["peak_heap_bytes"] > 1 << 30  # ~2 GB allocated in 30 s stays on the heap


@requires_fixtures
def test_same_settings_reproduce_baseline():
    for base in runs(("gc_churn", "heap_leak_only")):
        if base["variant"] != "short":
            continue
        p, measured = predict(base, base)
        assert abs(p["gc_count"] - measured) / measured <= BOUND, base["run_id"]


def test_no_data():
    assert what_if([], [], 100, None)["gc_per_minute"] is None


@requires_fixtures
def test_cli_whatif():
    import io
    import json

    from apps.goruntime.runtime.cli import main

    base = next(r for r in runs(("gc_churn",)) if r["variant"] == "short" and r["go_version"] == "1.26.6")
    from .runtime_fixtures import run_dir
    out = io.StringIO()
    rc = main(["whatif", "--gogc", "off", "--memory-limit", "64MiB", str(run_dir(base) / "gctrace.txt")], out)
    assert rc == 0
    p = json.loads(out.getvalue())
    assert p["limited_by"] == "memory_limit" and 40 < p["gc_per_minute"] < 150
    assert p["assumptions"]  # gctrace alone: runtime overhead assumed, and said so
