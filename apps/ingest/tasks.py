"""Ingest tasks (queue `ingest`): process uploads, sweep stuck ones, apply retention."""
from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError
from django.utils import timezone

from . import pipeline, retention
from .models import Status, Upload

log = logging.getLogger(__name__)

# Worth retrying: the database or the storage blinked. Parse errors are final.
TRANSIENT = (OperationalError, InterfaceError, ConnectionError, TimeoutError)


@shared_task(
    acks_late=True, reject_on_worker_lost=True, autoretry_for=TRANSIENT,
    retry_backoff=2, retry_backoff_max=300, retry_jitter=True, max_retries=8,
)
def process_upload(upload_id: str, force: bool = False) -> str:
    try:
        return pipeline.process(upload_id, force=force)
    except TRANSIENT:
        raise
    except SoftTimeLimitExceeded:
        pipeline.mark_failed(upload_id, "processing took longer than the task time limit")
        return pipeline.Outcome.FAILED
    except DatabaseError:
        raise
    except Exception as exc:  # a parser bug must not leave the upload in limbo
        log.exception("upload %s: unexpected error", upload_id)
        pipeline.mark_failed(upload_id, f"internal error while processing: {type(exc).__name__}: {exc}")
        return pipeline.Outcome.FAILED


@shared_task
def sweep_stuck_uploads() -> int:
    """Re-enqueue uploads left in `received` (broker down) or `processing` (worker lost).

    An upload that keeps coming back is failed after GOTRIAGE_MAX_ATTEMPTS:
    a poison message must not loop forever.
    """
    from .intake import enqueue

    now = timezone.now()
    received_cutoff = now - timedelta(minutes=settings.GOTRIAGE_SWEEP_AFTER_MINUTES)
    processing_cutoff = now - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT * 2)
    stuck = Upload.objects.filter(status=Status.RECEIVED, received_at__lt=received_cutoff) | Upload.objects.filter(
        status=Status.PROCESSING, started_at__lt=processing_cutoff
    )
    count = 0
    for upload_id, attempts in stuck.values_list("pk", "attempts")[:1000]:
        if attempts >= settings.GOTRIAGE_MAX_ATTEMPTS:
            pipeline.mark_failed(upload_id, f"gave up after {attempts} attempts")
            continue
        if enqueue(upload_id):
            count += 1
    if count:
        log.info("sweeper re-enqueued %d uploads", count)
    return count


@shared_task
def apply_retention() -> dict:
    return retention.apply()
