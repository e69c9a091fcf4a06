"""Runtime series: bucketed in SQL to at most N points over a time range."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone as dt_timezone

import pytest

from apps.services.models import Instance
from apps.telemetry import rollup, series
from apps.telemetry.models import MemSample

START = datetime(2026, 11, 1, tzinfo=dt_timezone.utc)


@pytest.fixture
def minute_samples(service):
    """Two instances, one sample a minute for 10 hours; heap grows by 1 per minute."""
    rows = []
    for name in ("pod-a", "pod-b"):
        inst = Instance.objects.create(service=service, name=name)
        for minute in range(600):
            rows.append(MemSample(service=service, instance=inst, at=START + timedelta(minutes=minute), source="expvar",
                                  heap_alloc=minute, goroutines=10 if name == "pod-a" else 20))
    MemSample.objects.bulk_create(rows)
    rollup.rebuild(service, START, START + timedelta(hours=10))


def test_it_downsamples_to_at_most_n_points(minute_samples, service):
    data = series.runtime_series(service, ["heap_alloc", "goroutines"], START, START + timedelta(hours=10), points=50)
    points = data["series"][0]["points"]
    assert len(points) <= 50
    assert data["bucket_seconds"] == 720
    assert points[0]["goroutines"] == 15  # avg across the two instances
    assert points[0]["heap_alloc"] == pytest.approx(5.5)
    assert points[0]["at"] == "2026-11-01T00:00:00Z"


def test_max_per_instance(minute_samples, service):
    data = series.runtime_series(service, ["goroutines"], START, START + timedelta(hours=10), points=10, per_instance=True, agg="max")
    assert [s["instance"] for s in data["series"]] == ["pod-a", "pod-b"]
    assert {p["goroutines"] for p in data["series"][1]["points"]} == {20}
    assert len(data["series"][0]["points"]) == 10


def test_hourly_buckets_come_from_rollups_and_match_raw(minute_samples, service):
    from apps.telemetry.models import MemSampleHour

    assert MemSampleHour.objects.count() == 20
    wide = series.runtime_series(service, ["heap_alloc", "goroutines"], START, START + timedelta(hours=10), points=5)
    assert wide["bucket_seconds"] == 7200
    first = wide["series"][0]["points"][0]
    assert first["heap_alloc"] == pytest.approx(59.5)  # minutes 0..119
    assert first["goroutines"] == pytest.approx(15)
    per = series.runtime_series(service, ["heap_alloc"], START, START + timedelta(hours=10), points=5, per_instance=True, agg="max")
    assert per["series"][0]["points"][0]["heap_alloc"] == 119


def test_rollups_follow_uploads(post_upload, service):
    from apps.telemetry.models import MemSampleHour
    from tests.fixtures import read_shared

    run = "runs/go1.26.6/gc_churn/short"
    post_upload(read_shared(f"{run}/s00_expvar.json"), captured_at="2026-11-20T10:01:00Z")
    post_upload(read_shared(f"{run}/s01_expvar.json"), captured_at="2026-11-20T10:02:00Z")
    row = MemSampleHour.objects.get()
    assert row.samples == 2 and row.stats["heap_alloc"][3] == 2


def test_range_limits_rows(minute_samples, service):
    data = series.runtime_series(service, ["heap_alloc"], START + timedelta(hours=1), START + timedelta(hours=2), points=60)
    points = data["series"][0]["points"]
    assert len(points) == 60 and points[0]["heap_alloc"] == 60


def test_unknown_metric_is_an_error(service):
    with pytest.raises(ValueError):
        series.runtime_series(service, ["bogus"], START, START + timedelta(hours=1))


def test_api_answers_series(minute_samples, member_client):
    url = "/api/v1/services/checkout/runtime-series?metrics=heap_alloc&since=2026-11-01T00:00:00Z&until=2026-11-01T10:00:00Z&points=20"
    body = member_client.get(url).json()
    assert len(body["series"][0]["points"]) == 20
    assert member_client.get(url.replace("heap_alloc", "nope")).status_code == 400
    assert member_client.get(url + "&points=0").status_code == 400


def test_uploaded_runtime_samples_feed_the_series_and_a_recommendation(post_upload, member_client, service):
    from apps.tuning.models import Recommendation
    from tests.fixtures import read_shared

    run = "runs/go1.26.6/gc_churn/gogc50_gomaxprocs8"
    for i in range(3):
        post_upload(read_shared(f"{run}/s{i:02d}_expvar.json"), captured_at=f"2026-11-20T10:0{i}:00Z")
    post_upload(read_shared(f"{run}/gctrace.txt"), captured_at="2026-11-20T10:03:00Z")
    body = member_client.get("/api/v1/services/checkout/runtime-series?metrics=heap_alloc,pause_ns&since=2026-11-20T09:00:00Z&until=2026-11-20T11:00:00Z").json()
    points = body["series"][0]["points"]
    assert any(p.get("heap_alloc") for p in points)
    assert any(p.get("pause_ns") for p in points)
    rec = Recommendation.objects.filter(service=service).first()
    assert rec is not None and rec.payload
    assert member_client.get("/api/v1/recommendations/?service=checkout").json()["count"] >= 1
