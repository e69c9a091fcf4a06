"""Runtime time series for charts and the API, downsampled in SQL.

The time range is cut into at most `points` equal buckets; the database
aggregates each bucket (avg/max/min), so a 30-day range costs one indexed
scan and a small result, never hundreds of thousands of rows in Python.
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone as dt_timezone

from django.db.models import Avg, F, Func, IntegerField, Max, Min

from apps.services.models import Service

from .models import GCCycle, MemSample, MemSampleHour
from .rollup import hour_of

SAMPLE_METRICS = (
    "heap_alloc", "heap_inuse", "heap_sys", "heap_released", "next_gc", "sys", "stack_inuse", "rss",
    "num_gc", "gc_cpu_fraction", "pause_p99_ns", "goroutines", "gomaxprocs", "gogc", "gomemlimit",
)
GC_METRICS = ("pause_ns", "heap_live", "heap_goal", "heap_start", "cpu_pct")
AGGREGATES = {"avg": Avg, "max": Max, "min": Min}
MAX_POINTS = 2000
ROLLUP_FROM_SECONDS = 3600
FLOAT_METRICS = {"gc_cpu_fraction"}
DEFAULT_POINTS = 500


class EpochBucket(Func):
    """floor(unix seconds of `expression` / size): the bucket number of a timestamp."""

    output_field = IntegerField()

    def __init__(self, expression, size: int):
        self.size = int(size)
        super().__init__(expression)

    def as_postgresql(self, compiler, connection):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"FLOOR(EXTRACT(EPOCH FROM {sql}) / {self.size})::bigint", params

    def as_sqlite(self, compiler, connection):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"(CAST(strftime('%%s', {sql}) AS INTEGER) / {self.size})", params

    def as_sql(self, compiler, connection, **extra):  # other backends: not supported
        raise NotImplementedError("EpochBucket supports PostgreSQL and SQLite")


def bucket_seconds(since: datetime, until: datetime, points: int) -> int:
    span = max(1.0, (until - since).total_seconds())
    return max(1, math.ceil(span / max(1, min(points, MAX_POINTS))))


def _iso(bucket: int, size: int) -> str:
    return datetime.fromtimestamp(bucket * size, tz=dt_timezone.utc).isoformat().replace("+00:00", "Z")


def runtime_series(
    service: Service,
    metrics: list[str],
    since: datetime,
    until: datetime,
    points: int = DEFAULT_POINTS,
    instance: str | None = None,
    per_instance: bool = False,
    agg: str = "avg",
) -> dict:
    """{"bucket_seconds", "series": [{"instance"?, "points": [{"at", metric…}]}]} with ≤ points per series."""
    unknown = [m for m in metrics if m not in SAMPLE_METRICS and m not in GC_METRICS]
    if unknown:
        raise ValueError(f"unknown metric(s) {', '.join(unknown)}; choose from {', '.join(SAMPLE_METRICS + GC_METRICS)}")
    if agg not in AGGREGATES:
        raise ValueError(f"agg must be one of {', '.join(AGGREGATES)}")
    size = bucket_seconds(since, until, points)
    series: dict = {}
    sample_names = [m for m in metrics if m in SAMPLE_METRICS]
    if sample_names and size >= ROLLUP_FROM_SECONDS:
        # Hour-or-wider buckets come from the hourly rollups (a few thousand rows
        # for 30 days × 10 instances instead of 432,000). Whole hours keep merges exact.
        size = math.ceil(size / 3600) * 3600
        _from_rollups(series, service, sample_names, since, until, size, instance, per_instance, agg)
        sample_names = []
    for model, names in ((MemSample, sample_names), (GCCycle, [m for m in metrics if m in GC_METRICS])):
        if not names:
            continue
        qs = model.objects.filter(service=service, at__gte=since, at__lt=until)
        if instance:
            qs = qs.filter(instance__name=instance)
        keys = ["bucket", "instance_name"] if per_instance else ["bucket"]
        qs = qs.annotate(bucket=EpochBucket("at", size))
        if per_instance:
            qs = qs.annotate(instance_name=F("instance__name"))
        rows = qs.values(*keys).annotate(**{f"v_{m}": AGGREGATES[agg](m) for m in names}).order_by(*keys)
        for row in rows:
            name = row.get("instance_name") if per_instance else None
            points_by_bucket = series.setdefault(name, {})
            point = points_by_bucket.setdefault(row["bucket"], {"at": _iso(row["bucket"], size)})
            for m in names:
                value = row[f"v_{m}"]
                point[m] = float(value) if isinstance(value, float) else (int(value) if value is not None else None)
    out = []
    for name, buckets in series.items():
        entry = {"points": [buckets[b] for b in sorted(buckets)]}
        if per_instance:
            entry["instance"] = name
        out.append(entry)
    out.sort(key=lambda e: e.get("instance") or "")
    return {"bucket_seconds": size, "since": since, "until": until, "agg": agg, "series": out}


def _from_rollups(series: dict, service, names, since, until, size, instance, per_instance, agg) -> None:
    qs = MemSampleHour.objects.filter(service=service, hour__gte=hour_of(since), hour__lt=until)
    if instance:
        qs = qs.filter(instance__name=instance)
    merged: dict = {}
    # Only the requested metrics leave the database (JSON key transforms), not whole stats objects.
    columns = [f"stats__{m}" for m in names]
    for row in qs.values_list("hour", "instance__name", *columns).iterator():
        hour, inst_name, values = row[0], row[1], row[2:]
        bucket = int(hour.timestamp()) // size
        key = (inst_name if per_instance else None, bucket)
        acc = merged.setdefault(key, {})
        for m, entry in zip(names, values):
            if not entry:
                continue
            total, low, high, n = entry
            cur = acc.get(m)
            acc[m] = [total, low, high, n] if cur is None else [cur[0] + total, min(cur[1], low), max(cur[2], high), cur[3] + n]
    for (name, bucket), acc in merged.items():
        point = series.setdefault(name, {}).setdefault(bucket, {"at": _iso(bucket, size)})
        for m in names:
            entry = acc.get(m)
            if entry is None:
                point[m] = None
            elif agg == "avg":
                point[m] = entry[0] / entry[3]
            else:
                point[m] = entry[1] if agg == "min" else entry[2]
            if isinstance(point[m], float) and m not in FLOAT_METRICS and agg != "avg":
                point[m] = int(point[m])


def default_range(hours: int = 24, now: datetime | None = None) -> tuple[datetime, datetime]:
    from django.utils import timezone

    now = now or timezone.now()
    return now - timedelta(hours=hours), now
