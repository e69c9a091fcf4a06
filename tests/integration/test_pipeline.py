"""The pipeline with real PostgreSQL, Redis and Celery workers: nothing is lost."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from apps.goroutines.models import BlockingSite
from apps.ingest.models import Status, Upload
from apps.services.models import Instance
from tests.fixtures import REPO, read_shared

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
RUN = "runs/go1.26.6/chan_send_timeout/short"


@pytest.fixture
def queued():
    """Tasks go to Redis (not in-process) for the test's duration."""
    from gotriage.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = previous


def wait_for(predicate, timeout=60.0, every=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return False


def post(token, body, **query):
    query.setdefault("instance", "pod-1")
    qs = "&".join(f"{k}={v}" for k, v in query.items())
    return APIClient().post(f"/api/v1/uploads/?{qs}", body, content_type="application/octet-stream", HTTP_AUTHORIZATION=f"Bearer {token}")


def test_upload_is_processed_by_the_worker_into_a_finding(celery_worker, agent_token, service):
    ids = []
    for i in range(6):
        response = post(agent_token[1], read_shared(f"{RUN}/s{i:02d}_goroutine_debug2.txt"), captured_at=f"2026-11-20T10:{i * 5:02d}:00Z")
        assert response.status_code == 202
        ids.append(response.json()["id"])
    assert wait_for(lambda: Upload.objects.filter(pk__in=ids, status=Status.PROCESSED).count() == 6, 60)
    assert wait_for(lambda: BlockingSite.objects.filter(service=service, suspect=True).exists(), 30)


def _worker(env, name):
    cmd = [sys.executable, "-m", "celery", "-A", "tests.integration.worker_app", "worker", "-Q", "ingest,findings",
           "--pool", "solo", "--concurrency", "1", "--without-gossip", "--without-mingle", "--without-heartbeat",
           "-n", f"{name}@%h", "--loglevel", "INFO"]
    log = open(Path(env["GOTRIAGE_DATA_DIR"]) / f"{name}.log", "wb")
    return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT), log


def _worker_env():
    from django.conf import settings

    env = dict(os.environ)
    db = settings.DATABASES["default"]
    env["DATABASE_URL"] = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    Path(env["GOTRIAGE_DATA_DIR"]).mkdir(parents=True, exist_ok=True)
    return env


def test_a_worker_killed_mid_task_leaves_the_upload_to_the_next_worker(integration, queued, agent_token):
    import psycopg
    import redis
    from django.conf import settings

    response = post(agent_token[1], read_shared(f"{RUN}/s05_goroutine_debug2.txt"))
    assert response.status_code == 202
    upload_id = response.json()["id"]
    assert Upload.objects.get(pk=upload_id).status == Status.RECEIVED
    db = settings.DATABASES["default"]
    # Hold the upload's row lock so the first worker blocks inside process_upload.
    holder = psycopg.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=db["NAME"], autocommit=False)
    holder.execute("SELECT id FROM ingest_upload WHERE id = %s FOR UPDATE", (upload_id,))
    env = _worker_env()
    broker = redis.Redis.from_url(settings.REDIS_URL)
    first, log1 = _worker(env, "doomed")
    try:
        assert wait_for(lambda: broker.hlen("unacked") > 0, 30), "the worker never took the task"
        time.sleep(0.5)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        holder.rollback()
        holder.close()
        log1.close()
    assert Upload.objects.get(pk=upload_id).status in (Status.RECEIVED, Status.PROCESSING)
    second, log2 = _worker(env, "survivor")
    try:
        assert wait_for(lambda: Upload.objects.get(pk=upload_id).status == Status.PROCESSED, 60), (
            Path(env["GOTRIAGE_DATA_DIR"], "survivor.log").read_text()[-3000:]
        )
    finally:
        second.terminate()
        second.wait(15)
        log2.close()


def test_redis_down_at_upload_time_still_answers_202_and_the_sweeper_recovers(integration, queued, agent_token):
    from gotriage.celery import app

    def use_broker(url):
        # Drop cached connections and producers so the next publish dials `url`.
        from kombu import pools

        app.conf.broker_url = url
        app.conf.broker_write_url = url
        app._pool = None
        app.amqp._producer_pool = None
        pools.reset()

    original = app.conf.broker_url
    use_broker("redis://127.0.0.1:9/0")  # nothing listens there
    try:
        started = time.monotonic()
        response = post(agent_token[1], read_shared(f"{RUN}/s03_goroutine_debug2.txt"))
        elapsed = time.monotonic() - started
    finally:
        use_broker(original)
    assert response.status_code == 202
    assert elapsed < 10
    upload = Upload.objects.get(pk=response.json()["id"])
    assert upload.status == Status.RECEIVED
    from celery.contrib.testing.worker import start_worker

    from apps.ingest.tasks import sweep_stuck_uploads

    Upload.objects.filter(pk=upload.pk).update(received_at=timezone.now() - timedelta(minutes=30))
    with start_worker(app, pool="solo", perform_ping_check=False, queues=["ingest", "findings"], loglevel="WARNING"):
        assert sweep_stuck_uploads() == 1
        assert wait_for(lambda: Upload.objects.get(pk=upload.pk).status == Status.PROCESSED, 60)


def test_concurrent_duplicates_leave_one_upload_and_no_stray_files(integration, agent_token):
    body = read_shared(f"{RUN}/s02_goroutine_debug2.txt")
    codes = []

    def send():
        codes.append(post(agent_token[1], body).status_code)
        connection.close()

    threads = [threading.Thread(target=send) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes).count(202) == 1 and sorted(codes).count(200) == 5, codes
    upload = Upload.objects.get()
    stored = [p for p in Path(upload.raw.storage.location).rglob("*") if p.is_file() and str(upload.service_id) in str(p)]
    assert len(stored) == 1


def test_bad_requests_leave_no_rows(integration, agent_token):
    assert post(agent_token[1], b"not a dump at all").status_code == 400
    assert post(agent_token[1], b"goroutine 1 [running]:\nmain.main()\n!!garbage!!\n").status_code == 400
    assert post("gta_deadbeef_wrong", read_shared(f"{RUN}/s02_goroutine_debug2.txt")).status_code == 401
    assert not Upload.objects.exists() and not Instance.objects.exists()


def test_metrics_report_queue_depth_from_redis(integration, queued, agent_token, client):
    post(agent_token[1], read_shared(f"{RUN}/s01_goroutine_debug2.txt"))  # queued, no worker running
    body = client.get("/metrics").content.decode()
    depth = re.search(r'gotriage_queue_depth\{queue="ingest"\} (\d+)', body)
    assert depth and int(depth.group(1)) >= 1
    assert re.search(r"gotriage_ingest_lag_seconds \d", body)
    from gotriage.celery import app

    app.control.purge()  # leave no message for an upload that the test database will forget
