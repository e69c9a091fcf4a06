"""Retention: prune old raw bytes (rows and derived data stay) and thin old samples.

Deletes run in bounded batches so a large backlog never holds one long
transaction; on PostgreSQL with time partitions (docs/OPERATIONS.md) old
sample partitions are dropped instead and the sample delete finds nothing.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.db.models import Max, Min
from django.utils import timezone

from apps.telemetry.models import GCCycle, MemSample, MemSampleHour

from .models import Upload

log = logging.getLogger(__name__)
BATCH = 5000


def prune_raw(now=None) -> int:
    """Delete raw files older than GOTRIAGE_RAW_RETENTION_DAYS; the Upload rows stay."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.GOTRIAGE_RAW_RETENTION_DAYS)
    pruned = 0
    while True:
        batch = list(Upload.objects.filter(received_at__lt=cutoff).exclude(raw="").exclude(raw__isnull=True).values_list("pk", "raw")[:BATCH])
        if not batch:
            return pruned
        for _, name in batch:
            try:
                default_storage.delete(name)
            except OSError as exc:  # keep going; the row is cleared so we do not retry forever
                log.warning("could not delete raw file %s: %s", name, exc)
        Upload.objects.filter(pk__in=[pk for pk, _ in batch]).update(raw="")
        pruned += len(batch)


def downsample_samples(now=None) -> int:
    """Older than DOWNSAMPLE_AFTER_DAYS keep one MemSample per instance per hour; beyond retention, delete.

    Charts over thinned ranges read the hourly rollups (MemSampleHour), which
    were computed from the full-resolution samples before thinning.
    """
    now = now or timezone.now()
    removed = _delete_in_batches(MemSample.objects.filter(at__lt=now - timedelta(days=settings.GOTRIAGE_SAMPLE_RETENTION_DAYS)))
    removed += _delete_in_batches(MemSampleHour.objects.filter(hour__lt=now - timedelta(days=settings.GOTRIAGE_SAMPLE_RETENTION_DAYS)))
    removed += _delete_in_batches(GCCycle.objects.filter(at__lt=now - timedelta(days=settings.GOTRIAGE_SAMPLE_RETENTION_DAYS)))
    # Thin a bounded window each run (the day that just crossed the line), so work per run stays small.
    end = now - timedelta(days=settings.GOTRIAGE_DOWNSAMPLE_AFTER_DAYS)
    start = end - timedelta(days=1)
    keep = (
        MemSample.objects.filter(at__gte=start, at__lt=end)
        .values("instance_id", "at__date", "at__hour")
        .annotate(keep=Max("id"))
        .values_list("keep", flat=True)
    )
    removed += _delete_in_batches(MemSample.objects.filter(at__gte=start, at__lt=end).exclude(id__in=list(keep)))
    removed += _delete_in_batches(GCCycle.objects.filter(at__gte=start, at__lt=end, forced=False).exclude(
        id__in=list(GCCycle.objects.filter(at__gte=start, at__lt=end).values("instance_id", "at__date", "at__hour").annotate(keep=Min("id")).values_list("keep", flat=True))
    ))
    return removed


def _delete_in_batches(qs) -> int:
    total = 0
    while True:
        ids = list(qs.values_list("id", flat=True)[:BATCH])
        if not ids:
            return total
        total += qs.model.objects.filter(id__in=ids).delete()[0]


def apply(now=None) -> dict:
    result = {"raw_pruned": prune_raw(now), "samples_removed": downsample_samples(now)}
    log.info("retention: %s", result)
    return result
