"""Hourly MemSample rollups (MemSampleHour): kept current as samples arrive.

Each refresh recomputes whole (instance, hour) rows from the raw samples, so
it is idempotent and safe to repeat after a reprocess or a late upload.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone as dt_timezone

from .models import MemSample, MemSampleHour

ROLLUP_METRICS = (
    "heap_alloc", "heap_inuse", "heap_sys", "heap_released", "next_gc", "sys", "stack_inuse", "rss",
    "num_gc", "gc_cpu_fraction", "pause_p99_ns", "goroutines", "gomaxprocs", "gogc", "gomemlimit",
)
HOUR = timedelta(hours=1)


def hour_of(at: datetime) -> datetime:
    return at.astimezone(dt_timezone.utc).replace(minute=0, second=0, microsecond=0)


def _stats(rows) -> tuple[int, dict]:
    stats: dict[str, list] = {}
    count = 0
    for row in rows:
        count += 1
        for metric, value in zip(ROLLUP_METRICS, row):
            if value is None:
                continue
            entry = stats.get(metric)
            if entry is None:
                stats[metric] = [value, value, value, 1]
            else:
                entry[0] += value
                entry[1] = min(entry[1], value)
                entry[2] = max(entry[2], value)
                entry[3] += 1
    return count, stats


def refresh(service_id, instance_id, hours) -> int:
    """Recompute the rollup rows of `instance_id` for the given hour starts."""
    if instance_id is None:
        return 0
    rows = []
    for hour in sorted(set(hours)):
        count, stats = _stats(
            MemSample.objects.filter(instance_id=instance_id, at__gte=hour, at__lt=hour + HOUR).values_list(*ROLLUP_METRICS).iterator()
        )
        if count:
            rows.append(MemSampleHour(service_id=service_id, instance_id=instance_id, hour=hour, samples=count, stats=stats))
        else:
            MemSampleHour.objects.filter(instance_id=instance_id, hour=hour).delete()
    MemSampleHour.objects.bulk_create(
        rows, update_conflicts=True, unique_fields=["instance", "hour"], update_fields=["samples", "stats", "service"], batch_size=500,
    )
    return len(rows)


def refresh_for_samples(samples) -> int:
    """After saving MemSamples: refresh every (instance, hour) they touch."""
    touched: dict = {}
    for s in samples:
        if s.instance_id is not None:
            touched.setdefault((s.service_id, s.instance_id), set()).add(hour_of(s.at))
    return sum(refresh(service_id, instance_id, hours) for (service_id, instance_id), hours in touched.items())


def rebuild(service, since: datetime, until: datetime) -> int:
    """Recompute a service's rollups over a range (bulk loads, repairs)."""
    written = 0
    for instance_id in MemSample.objects.filter(service=service, at__gte=since, at__lt=until).values_list("instance_id", flat=True).distinct():
        hours, hour = [], hour_of(since)
        while hour < until:
            hours.append(hour)
            hour += HOUR
        written += refresh(service.pk, instance_id, hours)
    return written
