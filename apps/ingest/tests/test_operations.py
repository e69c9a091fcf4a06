"""Sweeper, retention, reprocess, demo loader and /metrics."""
from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from apps.goroutines.models import BlockingSite, SiteSample, Snapshot
from apps.ingest import demo, retention
from apps.ingest.models import Status, Upload
from apps.ingest.tasks import sweep_stuck_uploads
from apps.telemetry.models import MemSample
from tests.fixtures import read_shared

RUN = "runs/go1.26.6/chan_recv_never_closed/leakprof"


def test_sweeper_processes_uploads_left_in_received(post_upload, monkeypatch):
    from apps.ingest import intake

    monkeypatch.setattr(intake, "enqueue", lambda upload_id: False)  # broker down at upload time
    response = post_upload(read_shared(f"{RUN}/s00_goroutine_debug2.txt"))
    assert response.status_code == 202
    upload = Upload.objects.get()
    assert upload.status == Status.RECEIVED
    monkeypatch.undo()
    assert sweep_stuck_uploads() == 0  # too young yet
    Upload.objects.update(received_at=timezone.now() - timedelta(minutes=10))
    assert sweep_stuck_uploads() == 1
    upload.refresh_from_db()
    assert upload.status == Status.PROCESSED


def test_sweeper_gives_up_on_a_poison_upload(post_upload, monkeypatch, settings):
    from apps.ingest import intake

    monkeypatch.setattr(intake, "enqueue", lambda upload_id: False)
    post_upload(read_shared(f"{RUN}/s00_goroutine_debug2.txt"))
    Upload.objects.update(received_at=timezone.now() - timedelta(minutes=10), attempts=settings.GOTRIAGE_MAX_ATTEMPTS)
    sweep_stuck_uploads()
    assert Upload.objects.get().status == Status.FAILED


def test_retention_prunes_raw_but_keeps_rows_and_derived_data(post_upload, settings):
    post_upload(read_shared(f"{RUN}/s00_goroutine_debug2.txt"))
    upload = Upload.objects.get()
    path = upload.raw.path
    Upload.objects.update(received_at=timezone.now() - timedelta(days=settings.GOTRIAGE_RAW_RETENTION_DAYS + 1))
    result = retention.apply()
    assert result["raw_pruned"] == 1
    upload.refresh_from_db()
    assert not upload.raw
    import os

    assert not os.path.exists(path)
    assert Snapshot.objects.filter(upload=upload).exists()
    call_command("reprocess", stdout=StringIO())  # nothing to reprocess without raw bytes


def test_retention_thins_old_samples(service, settings):
    now = timezone.now()
    old = now - timedelta(days=settings.GOTRIAGE_DOWNSAMPLE_AFTER_DAYS, hours=3)
    MemSample.objects.bulk_create([MemSample(service=service, at=old + timedelta(minutes=m), source="expvar") for m in range(120)])
    MemSample.objects.create(service=service, at=now - timedelta(days=settings.GOTRIAGE_SAMPLE_RETENTION_DAYS + 1), source="expvar")
    retention.downsample_samples(now)
    assert MemSample.objects.count() <= 3


def test_reprocess_is_idempotent(upload_series, service):
    upload_series()
    before = (Snapshot.objects.count(), SiteSample.objects.count(), BlockingSite.objects.count())
    out = StringIO()
    call_command("reprocess", "--service", "checkout", stdout=out)
    call_command("reprocess", "--since", "1h", stdout=out)
    assert "reprocessed 6 uploads (processed: 6)" in out.getvalue()
    assert (Snapshot.objects.count(), SiteSample.objects.count(), BlockingSite.objects.count()) == before


def test_reprocess_failed_only(post_upload):
    post_upload(read_shared(f"{RUN}/s00_goroutine_debug2.txt"))
    out = StringIO()
    call_command("reprocess", "--failed", stdout=out)
    assert "reprocessed 0 uploads" in out.getvalue()


def test_demo_loader_pushes_real_captures_through_the_pipeline(make_service, team, django_capture_on_commit_callbacks):
    for slug in ("checkout", "ledger", "edge-proxy"):
        make_service(slug, team=team)
    with django_capture_on_commit_callbacks(execute=True):
        accepted = demo.load_demo_captures(StringIO())
    assert accepted > 10
    assert not Upload.objects.exclude(status=Status.PROCESSED).exists()
    newest = Snapshot.objects.order_by("-captured_at").first().captured_at
    assert timezone.now() - newest < timedelta(minutes=5)
    assert BlockingSite.objects.filter(service__slug="checkout", suspect=True).exists()


def test_metrics_endpoint(upload_series, client, settings):
    upload_series()
    body = client.get("/metrics").content.decode()
    assert 'gotriage_service_goroutines{service="checkout",team="team-a"}' in body
    assert 'gotriage_service_open_suspects{service="checkout",team="team-a"} 1.0' in body
    assert "gotriage_ingest_lag_seconds 0.0" in body
    settings.GOTRIAGE_METRICS_TOKEN = "s3cret"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret").status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/schema/"])
def test_openapi_schema_renders(member_client, path):
    assert member_client.get(path).status_code == 200


def test_sweeper_recovers_an_upload_whose_worker_died_mid_processing(post_upload, monkeypatch, settings):
    from apps.ingest import intake

    monkeypatch.setattr(intake, "enqueue", lambda upload_id: False)
    post_upload(read_shared(f"{RUN}/s01_goroutine_debug2.txt"))
    monkeypatch.undo()
    lost = timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT * 3)
    Upload.objects.update(status=Status.PROCESSING, started_at=lost, attempts=1)
    assert sweep_stuck_uploads() == 1
    assert Upload.objects.get().status == Status.PROCESSED
