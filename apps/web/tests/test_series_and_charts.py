from datetime import datetime, timedelta, timezone as dt_timezone

import pytest

from apps.web import charts, source
from apps.web.series import TimeRange, parse_range, runtime_series, step_for
from apps.web.tests import factories as F


def test_step_keeps_charts_under_400_points():
    assert step_for(3600) == 60
    assert step_for(86400) == 300
    assert step_for(30 * 86400) == 7200
    for span in (600, 3600 * 5, 86400 * 3, 86400 * 90):
        assert span / step_for(span) <= 400


def test_parse_range_accepts_presets_and_iso_times():
    now = datetime(2026, 11, 24, 12, 0, tzinfo=dt_timezone.utc)
    assert parse_range({"range": "7d"}, now).start == now - timedelta(days=7)
    tr = parse_range({"from": "2026-11-20T10:00", "to": "2026-11-21T10:00"}, now)
    assert tr.label == "custom" and tr.seconds == 86400
    assert parse_range({"from": "garbage"}, now).label == "24h"
    assert parse_range({"from": "2026-11-22T10:00", "to": "2026-11-21T10:00"}, now).label == "24h"


@pytest.mark.django_db
def test_runtime_series_buckets_in_sql_and_takes_the_worst_instance(service):
    start = datetime(2026, 11, 24, 0, 0, tzinfo=dt_timezone.utc)
    a, b = F.instance(service, "a"), F.instance(service, "b")
    F.mem_samples(service, a, start, n=60, heap0=10 * F.MIB, growth=0)
    F.mem_samples(service, b, start, n=60, heap0=30 * F.MIB, growth=0)
    out = runtime_series(service, TimeRange(start, start + timedelta(hours=1), "1h"))
    assert len(out["x"]) == 60
    tr = TimeRange(start, start + timedelta(hours=24), "24h")  # 300 s buckets
    out = runtime_series(service, tr)
    assert len(out["x"]) == 12
    assert out["heap"][0] == 32 * F.MIB  # max over instances
    assert out["gc_per_min"][1] == pytest.approx(3.0)  # num_gc += 3 per minute on each instance
    assert out["gomemlimit"] is None


def test_plot_safe_neutralises_markup():
    assert charts.plot_safe("<script>alert(1)</script>") == "‹script›alert(1)‹/script›"
    assert len(charts.plot_safe("x" * 500, 40)) == 40


@pytest.mark.parametrize("function,expected", [
    ("github.com/acme/shop/internal/orders.(*Fetcher).Fetch.func1", "orders.(*Fetcher).Fetch.func1"),
    ("net/http.(*persistConn).readLoop", "http.(*persistConn).readLoop"),
    ("main.main", "main.main"),
    ("<script>alert(1)</script>", "<script>alert(1)</script>"),
    ("example.com/m.Map[go.shape.string,go.shape.int].Get", "m.Map[go.shape.string,go.shape.int].Get"),
])
def test_short_function(function, expected):
    assert source.short_function(function) == expected


def test_source_links_only_own_code(service):
    service.repo_url_template = "https://git.example/shop/blob/main/{path}#L{line}"
    service.module_prefixes = "github.com/acme/shop"
    url = source.source_url(service, "github.com/acme/shop/internal/orders.(*F).Fetch", "/build/src/shop/internal/orders/fetch.go", 36)
    assert url == "https://git.example/shop/blob/main/internal/orders/fetch.go#L36"
    assert source.source_url(service, "github.com/acme/shop.Run", "/x/shop/run.go", 5) == "https://git.example/shop/blob/main/run.go#L5"
    assert source.source_url(service, "runtime.gopark", "/usr/local/go/src/runtime/proc.go", 435) is None
    assert source.source_url(service, "github.com/other/lib.F", "/go/pkg/mod/lib/f.go", 1) is None


def test_a_non_web_repo_template_never_becomes_a_link(service):
    service.repo_url_template = "javascript:alert(1)//{path}"
    assert source.source_url(service, "main.main", "/x/main.go", 1) is None


@pytest.mark.django_db
def test_sampled_series_read_the_last_snapshot_per_instance_and_bucket(service, monkeypatch):
    from apps.web import series

    start = datetime(2026, 11, 20, 0, 0, tzinfo=dt_timezone.utc)
    a, b = F.instance(service, "a"), F.instance(service, "b")
    sig = F.signature()
    snaps = []
    for i in range(48):  # every 30 minutes for a day, counts growing
        for inst, extra in ((a, 0), (b, 100)):
            snaps.append(F.snapshot(service, inst, start + timedelta(minutes=30 * i), [(sig, i + extra, "chan send")]))
    site = F.site(service, sig, counts=[(s, s.total) for s in snaps], first_seen=start, last_seen=start + timedelta(days=1))
    tr = TimeRange(start, start + timedelta(days=1), "custom")
    monkeypatch.setattr(series, "SAMPLE_FACTOR", 0)
    g = series.goroutine_series(service, tr)
    assert g.get("sampled")
    step = TimeRange(start, start + timedelta(days=1), "custom", max_points=series.SAMPLED_POINTS).step
    assert step == 600
    # the last snapshot of each 10-minute bucket: one per 30 minutes here, both instances summed
    assert g["total"][:3] == [0 + 100, 1 + 101, 2 + 102]
    assert g["sites"][0]["site"] == site and g["sites"][0]["y"] == g["total"]
    lines = series.site_series(site, tr)
    assert list(lines) == ["a", "b"] and lines["b"]["y"][:2] == [100, 101]


@pytest.mark.django_db
def test_long_ranges_read_the_hourly_rollups_and_agree_with_raw_samples(service):
    from apps.telemetry import rollup
    from apps.web import series

    start = datetime(2026, 11, 20, 0, 0, tzinfo=dt_timezone.utc)
    inst = F.instance(service, "a")
    F.mem_samples(service, inst, start, n=180, heap0=10 * F.MIB, growth=F.MIB // 8)
    tr = TimeRange(start, start + timedelta(days=3), "custom")
    assert tr.step == 3600
    raw = series.runtime_series(service, tr)  # no rollup rows yet: GROUP BY over the samples
    rollup.refresh(service.pk, inst.pk, [start + timedelta(hours=h) for h in range(3)])
    rolled = series.runtime_series(service, tr)
    assert rolled["x"] == raw["x"] and rolled["heap"] == raw["heap"] and rolled["gc_per_min"] == raw["gc_per_min"]
    assert rolled["gc_cpu_pct"] == pytest.approx(raw["gc_cpu_pct"])


def test_a_young_service_gets_fine_buckets_over_a_preset_range():
    from datetime import timedelta

    from django.utils import timezone

    from apps.web.series import fit_to_data, parse_range

    now = timezone.now()
    tr = parse_range({"range": "24h"}, now=now)
    assert tr.step == 300
    fitted = fit_to_data(tr, now - timedelta(minutes=20))
    assert fitted.step == 60 and fitted.start >= now - timedelta(minutes=25) and fitted.label == "24h"
    # old data or a custom range: unchanged
    assert fit_to_data(tr, now - timedelta(days=3)) is tr
    custom = parse_range({"from": (now - timedelta(hours=2)).isoformat(), "to": now.isoformat()}, now=now)
    assert fit_to_data(custom, now - timedelta(minutes=20)) is custom


def test_few_points_are_drawn_with_markers():
    import plotly.graph_objects as go

    from apps.web.charts import _trace

    assert _trace(go.Scatter, x=["a", "b"], y=[1, 2], mode="lines")["mode"] == "lines+markers"
    assert _trace(go.Scatter, x=list(range(50)), y=list(range(50)), mode="lines")["mode"] == "lines"
