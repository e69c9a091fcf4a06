"""Time-bucketed series for the pages, downsampled in SQL.

Charts never need more than a few hundred points, so every series is grouped
into buckets of `step` seconds by the database and only the aggregates travel
to Python. Works on SQLite (default) and PostgreSQL.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone as dt_timezone

from django.db import models
from django.db.models import Avg, CharField, Count, Max
from django.db.models.functions import Cast
from django.utils import timezone

# Nice bucket sizes, seconds.
STEPS = (60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)
MAX_POINTS = 400

RANGES = {  # picker label -> seconds
    "1h": 3600,
    "6h": 6 * 3600,
    "24h": 24 * 3600,
    "7d": 7 * 86400,
    "30d": 30 * 86400,
}
DEFAULT_RANGE = "24h"


class Bucket(models.Func):
    """Integer bucket index: unix seconds of `expression` // step."""

    output_field = models.BigIntegerField()

    def __init__(self, expression, step: int, **extra):
        self.step = int(step)
        super().__init__(expression, **extra)

    def as_sqlite(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"(CAST(strftime('%%s', {sql}) AS INTEGER) / {self.step})", params

    def as_postgresql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"(FLOOR(EXTRACT(EPOCH FROM {sql}) / {self.step})::bigint)", params

    def as_sql(self, compiler, connection, **extra):  # other backends: best effort
        return self.as_postgresql(compiler, connection, **extra)


@dataclass
class TimeRange:
    start: datetime
    end: datetime
    label: str  # "24h", … or "custom"
    max_points: int = MAX_POINTS

    @property
    def seconds(self) -> float:
        return max(60.0, (self.end - self.start).total_seconds())

    @property
    def step(self) -> int:
        return step_for(self.seconds, self.max_points)


def step_for(span_seconds: float, max_points: int = MAX_POINTS) -> int:
    if span_seconds > 2 * 86400:
        # hour-aligned from a few days on: long ranges read hourly rollups instead of raw samples
        return next(s for s in STEPS if s >= 3600 and span_seconds / s <= max_points) if span_seconds / 86400 <= 400 else STEPS[-1]
    for step in STEPS:
        if span_seconds / step <= max_points:
            return step
    return STEPS[-1]


def parse_range(params, now: datetime | None = None) -> TimeRange:
    """?range=24h, or ?from=…&to=… (ISO / datetime-local, UTC)."""
    now = now or timezone.now()
    start = _parse_dt(params.get("from"))
    end = _parse_dt(params.get("to"))
    if start and end and start < end:
        return TimeRange(start, end, "custom")
    if start and not end and start < now:
        return TimeRange(start, now, "custom")
    label = params.get("range") or DEFAULT_RANGE
    if label not in RANGES:
        label = DEFAULT_RANGE
    return TimeRange(now - timedelta(seconds=RANGES[label]), now, label)


def first_data_at(service, since: datetime, instance=None) -> datetime | None:
    """The earliest snapshot or runtime sample at or after `since` (two index seeks)."""
    from apps.goroutines.models import Snapshot
    from apps.telemetry.models import MemSample

    found = []
    for model, field in ((Snapshot, "captured_at"), (MemSample, "at")):
        qs = model.objects.filter(service=service, **{f"{field}__gte": since})
        if instance is not None:
            qs = qs.filter(instance=instance)
        first = qs.order_by(field).values_list(field, flat=True).first()
        if first is not None:
            found.append(first)
    return min(found, default=None)


def fit_to_data(tr: TimeRange, first_seen: datetime | None) -> TimeRange:
    """Start a preset range where the data starts, so a young service gets fine buckets.

    A service with twenty minutes of data looked at over 24 h would otherwise
    fall into a handful of 5-minute buckets. Custom ranges are taken as given.
    """
    if tr.label == "custom" or first_seen is None or first_seen <= tr.start or first_seen >= tr.end:
        return tr
    margin = timedelta(seconds=step_for((tr.end - first_seen).total_seconds(), tr.max_points))
    return TimeRange(max(tr.start, first_seen - margin), tr.end, tr.label, tr.max_points)


def _parse_dt(value) -> datetime | None:
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if timezone.is_naive(dt):
        dt = dt.replace(tzinfo=dt_timezone.utc)
    return dt


def bucket_time(index: int, step: int) -> datetime:
    return datetime.fromtimestamp(index * step, tz=dt_timezone.utc)


def fmt_x(dt: datetime) -> str:
    """Plotly-friendly, compact, UTC."""
    return dt.astimezone(dt_timezone.utc).strftime("%Y-%m-%d %H:%M")


def bucketed(qs, field: str, step: int, group_by: tuple[str, ...] = (), **aggregates) -> list[dict]:
    """Rows {b, *group_by, *aggregates} ordered by bucket."""
    return list(
        qs.annotate(b=Bucket(field, step)).values("b", *group_by).annotate(**aggregates).order_by("b")
    )


# --- Service page series -------------------------------------------------------

ROLLUP_FROM = 3600  # buckets of an hour or more read the hourly rollups (apps.telemetry MemSampleHour)


def _rollup_rows(service, tr: TimeRange, step: int, instance=None) -> list[dict] | None:
    """The same rows as the raw GROUP BY, aggregated in SQL from the hourly rollups; None when there are none.

    MemSampleHour.stats maps metric -> [sum, min, max, n]; the database reads the
    JSON (json_extract / ->>), so Python sees one row per instance and bucket.
    """
    try:
        from apps.telemetry.models import MemSampleHour
    except ImportError:  # pragma: no cover - older schema
        return None
    from django.db.models import FloatField, Sum
    from django.db.models.fields.json import KT
    from django.db.models.functions import Cast

    start = tr.start.replace(minute=0, second=0, microsecond=0)
    qs = MemSampleHour.objects.filter(service=service, hour__gte=start, hour__lte=tr.end)
    if instance is not None:
        qs = qs.filter(instance=instance)

    def stat(metric, idx):
        return Cast(KT(f"stats__{metric}__{idx}"), FloatField())

    # only what the charts draw: each JSON read costs, 7,200 rows x metrics for 30 days x 10 instances
    rows = bucketed(
        qs, "hour", step, ("instance_id",),
        heap=Max(stat("heap_inuse", 2)), rss=Max(stat("rss", 2)), goal=Max(stat("next_gc", 2)),
        pause=Max(stat("pause_p99_ns", 2)), numgc=Max(stat("num_gc", 2)),
        gccpu_sum=Sum(stat("gc_cpu_fraction", 0)), gccpu_n=Sum(stat("gc_cpu_fraction", 3)),
    )
    if not rows:
        return None
    for r in rows:
        r["gccpu"] = r.pop("gccpu_sum") / r["gccpu_n"] if r["gccpu_n"] else None
        r.pop("gccpu_n")
        r["heap_alloc"] = r["goroutines"] = r["gomemlimit"] = None
    return rows


def runtime_series(service, tr: TimeRange, instance=None) -> dict:
    """Memory/GC series: one GROUP BY over MemSample rows, or the hourly rollups for long ranges."""
    from apps.telemetry.models import GCCycle, MemSample

    step = tr.step
    qs = MemSample.objects.filter(service=service, at__gte=tr.start, at__lte=tr.end)
    if instance is not None:
        qs = qs.filter(instance=instance)
    rows = _rollup_rows(service, tr, step, instance) if step >= ROLLUP_FROM else None
    if rows is None:
        rows = bucketed(
            qs, "at", step, ("instance_id",),
            heap=Max("heap_inuse"), heap_alloc=Max("heap_alloc"), rss=Max("rss"), goal=Max("next_gc"),
            pause=Max("pause_p99_ns"), gccpu=Avg("gc_cpu_fraction"), numgc=Max("num_gc"),
            goroutines=Avg("goroutines"), gomemlimit=Max("gomemlimit"),
        )
    by_b: dict[int, dict] = {}
    last_numgc: dict = {}
    for r in rows:
        agg = by_b.setdefault(r["b"], {"heap": None, "rss": None, "goal": None, "pause": None,
                                       "gccpu": [], "gcrate": [], "goroutines": 0, "has_g": False})
        for k in ("heap", "rss", "goal", "pause"):
            v = r[k] if k != "heap" else (r["heap"] if r["heap"] is not None else r["heap_alloc"])
            if v is not None and (agg[k] is None or v > agg[k]):
                agg[k] = v
        if r["gccpu"] is not None:
            agg["gccpu"].append(r["gccpu"])
        if r["goroutines"] is not None:
            agg["goroutines"] += r["goroutines"]
            agg["has_g"] = True
        inst = r["instance_id"]
        if r["numgc"] is not None:
            prev = last_numgc.get(inst)
            if prev is not None and r["numgc"] >= prev[1] and r["b"] > prev[0]:
                minutes = (r["b"] - prev[0]) * step / 60.0
                agg["gcrate"].append((r["numgc"] - prev[1]) / minutes)
            last_numgc[inst] = (r["b"], r["numgc"])
    out = {"x": [], "heap": [], "rss": [], "goal": [], "pause_ms": [], "gc_cpu_pct": [], "gc_per_min": [], "goroutines": []}
    for b in sorted(by_b):
        a = by_b[b]
        out["x"].append(fmt_x(bucket_time(b, step)))
        out["heap"].append(a["heap"])
        out["rss"].append(a["rss"])
        out["goal"].append(a["goal"])
        out["pause_ms"].append(round(a["pause"] / 1e6, 3) if a["pause"] is not None else None)
        out["gc_cpu_pct"].append(round(100 * sum(a["gccpu"]) / len(a["gccpu"]), 3) if a["gccpu"] else None)
        out["gc_per_min"].append(round(sum(a["gcrate"]) / len(a["gcrate"]), 3) if a["gcrate"] else None)
        out["goroutines"].append(round(a["goroutines"]) if a["has_g"] else None)
    if out["x"] and not any(v is not None for v in out["gc_per_min"]):
        # No NumGC counter in the samples: count gctrace cycles instead.
        gq = GCCycle.objects.filter(service=service, at__gte=tr.start, at__lte=tr.end)
        if instance is not None:
            gq = gq.filter(instance=instance)
        grows = bucketed(gq, "at", step, ("instance_id",), n=Count("id"))
        if grows:
            per: dict[int, list] = {}
            for r in grows:
                per.setdefault(r["b"], []).append(r["n"] / (step / 60.0))
            out["gc_x"] = [fmt_x(bucket_time(b, step)) for b in sorted(per)]
            out["gc_per_min"] = [round(sum(per[b]) / len(per[b]), 3) for b in sorted(per)]
    out.setdefault("gc_x", out["x"])
    limits = qs.exclude(gomemlimit__isnull=True).order_by("-at").values_list("gomemlimit", flat=True)[:1]
    out["gomemlimit"] = limits[0] if limits else None
    return out


SAMPLE_FACTOR = 3  # more than 3 snapshots per instance and chart point: read one per point instead of all


def _should_sample(service, tr: TimeRange, snapshots_in_range, instance=None) -> bool:
    instances = 1 if instance is not None else max(1, service.instances.count())
    points = tr.seconds / tr.step
    return snapshots_in_range.count() > SAMPLE_FACTOR * points * instances
UNION_TERMS = 400  # SQLite allows 500 terms in a compound SELECT


def sampled_snapshots(service, tr: TimeRange, instance=None) -> list[tuple]:
    """The last snapshot of each instance in each bucket: [(id, instance_id, bucket, total)].

    One index seek per (instance, bucket) on snapshot(instance, captured_at),
    so the cost follows the number of chart points, not the number of snapshots.
    """
    from django.db import connection

    from apps.goroutines.models import Snapshot

    step = tr.step
    table = connection.ops.quote_name(Snapshot._meta.db_table)
    instances = [instance.pk] if instance is not None else list(
        service.instances.values_list("pk", flat=True))
    first, last = int(tr.start.timestamp()) // step, int(tr.end.timestamp()) // step
    # instance_id alone (instances belong to one service) so the planner seeks snapshot(instance, captured_at)
    term = (f"SELECT * FROM (SELECT id, total, captured_at FROM {table} WHERE instance_id = %s "
            f"AND captured_at >= %s AND captured_at < %s ORDER BY captured_at DESC LIMIT 1) AS s{{}}")
    adapt = connection.ops.adapt_datetimefield_value
    out = []
    buckets = list(range(first, last + 1))
    edges = {b: adapt(max(tr.start, bucket_time(b, step))) for b in buckets}  # adapt each boundary once
    edges[last + 1] = adapt(tr.end + timedelta(microseconds=1))
    with connection.cursor() as cur:
        for inst in instances:
            for i in range(0, len(buckets), UNION_TERMS):
                chunk = buckets[i:i + UNION_TERMS]
                sql = " UNION ALL ".join(term.format(k) for k in range(len(chunk)))
                params = []
                for b in chunk:
                    params += [inst, edges[b], edges[b + 1]]
                cur.execute(sql, params)
                for snap_id, total, at in cur.fetchall():
                    if isinstance(at, str):
                        at = datetime.fromisoformat(at).replace(tzinfo=dt_timezone.utc)
                    out.append((snap_id, inst, int(at.timestamp()) // step, total))
    return out


def _hex(value) -> str:
    """A UUID as the same key whichever backend returned it (SQLite: hex text, PostgreSQL: uuid.UUID)."""
    return str(value).replace("-", "")


SAMPLED_POINTS = 200  # sampled charts: every point is index seeks (10 instances x 5 sites), so fewer, still smooth


def _sampled_goroutine_series(service, tr: TimeRange, instance, top: int) -> dict:
    from django.db import connection

    from apps.goroutines.models import BlockingSite, SiteSample

    tr = TimeRange(tr.start, tr.end, tr.label, max_points=SAMPLED_POINTS)
    step = tr.step
    snaps = sampled_snapshots(service, tr, instance)
    total: dict[int, float] = {}
    where: dict = {}
    for snap_id, _inst, b, t in snaps:
        total[b] = total.get(b, 0) + (t or 0)
        where[_hex(snap_id)] = (b, snap_id)
    sites = list(BlockingSite.objects.filter(service=service, last_seen__gte=tr.start, first_seen__lte=tr.end)
                 .order_by("-peak_count")[:top])
    per_site: dict = {_hex(s.pk): {} for s in sites}
    if sites and where:
        # raw SQL: tens of thousands of rows without two UUID conversions each
        table = connection.ops.quote_name(SiteSample._meta.db_table)
        site_field = SiteSample._meta.get_field("site")
        site_params = [site_field.get_db_prep_value(s.pk, connection) for s in sites]
        snap_ids = [v[1] for v in where.values()]
        with connection.cursor() as cur:
            for i in range(0, len(snap_ids), 900):
                chunk = snap_ids[i:i + 900]
                cur.execute(
                    f"SELECT site_id, snapshot_id, count FROM {table} WHERE site_id IN ({', '.join(['%s'] * len(site_params))}) "
                    f"AND snapshot_id IN ({', '.join(['%s'] * len(chunk))})", site_params + chunk)
                for site_id, snap_id, c in cur.fetchall():
                    b = where[_hex(snap_id)][0]
                    d = per_site[_hex(site_id)]
                    d[b] = d.get(b, 0) + c
    buckets = sorted(total)
    return {
        "x": [fmt_x(bucket_time(b, step)) for b in buckets],
        "total": [round(total[b]) for b in buckets],
        "sites": [{"site": s, "y": [round(per_site[_hex(s.pk)].get(b, 0)) for b in buckets]} for s in sites],
        "sampled": True,
    }


def goroutine_series(service, tr: TimeRange, instance=None, top: int = 5) -> dict:
    """Total goroutines (summed over instances) and the top blocking sites, bucketed."""
    from apps.goroutines.models import BlockingSite, SiteSample, Snapshot

    step = tr.step
    in_range = Snapshot.objects.filter(service=service, captured_at__gte=tr.start, captured_at__lte=tr.end)
    if instance is not None:
        in_range = in_range.filter(instance=instance)
    if _should_sample(service, tr, in_range, instance):
        return _sampled_goroutine_series(service, tr, instance, top)
    sq = Snapshot.objects.filter(service=service, captured_at__gte=tr.start, captured_at__lte=tr.end)
    if instance is not None:
        sq = sq.filter(instance=instance)
    total: dict[int, float] = {}
    for r in bucketed(sq, "captured_at", step, ("instance_id",), t=Avg("total")):
        total[r["b"]] = total.get(r["b"], 0) + (r["t"] or 0)

    ss = SiteSample.objects.filter(site__service=service, at__gte=tr.start, at__lte=tr.end)
    if instance is not None:
        ss = ss.filter(instance=instance)
    top_ids = list(
        ss.values("site_id").annotate(peak=Max("count")).order_by("-peak").values_list("site_id", flat=True)[:top]
    )
    sites = {s.pk: s for s in BlockingSite.objects.filter(pk__in=top_ids)}
    per_site: dict = {pk: {} for pk in top_ids}
    if top_ids:
        by_hex = {_hex(pk): pk for pk in top_ids}
        rows = (ss.filter(site_id__in=top_ids).annotate(b=Bucket("at", step), sid=Cast("site_id", CharField()))
                .values("b", "sid", "instance_id").annotate(c=Avg("count")).order_by("b"))
        for r in rows.values_list("b", "sid", "c"):  # the site id as text: no UUID object per row
            d = per_site[by_hex[_hex(r[1])]]
            d[r[0]] = d.get(r[0], 0) + (r[2] or 0)
    buckets = sorted(set(total) | {b for d in per_site.values() for b in d})
    return {
        "x": [fmt_x(bucket_time(b, step)) for b in buckets],
        "total": [round(total[b]) if b in total else None for b in buckets],
        "sites": [
            {"site": sites[pk], "y": [round(per_site[pk].get(b, 0)) for b in buckets]}
            for pk in top_ids if pk in sites
        ],
    }


def site_series(site, tr: TimeRange) -> dict:
    """One blocking site's count per instance over time."""
    from apps.goroutines.models import SiteSample, Snapshot
    from apps.services.models import Instance

    in_range = Snapshot.objects.filter(service_id=site.service_id, captured_at__gte=tr.start, captured_at__lte=tr.end)
    if _should_sample(site.service, tr, in_range):
        return _sampled_site_series(site, tr)
    step = tr.step
    qs = SiteSample.objects.filter(site=site, at__gte=tr.start, at__lte=tr.end)
    rows = bucketed(qs, "at", step, ("instance_id",), c=Max("count"))
    names = dict(Instance.objects.filter(service_id=site.service_id).values_list("pk", "name"))
    lines: dict = {}
    for r in rows:
        line = lines.setdefault(r["instance_id"], {"x": [], "y": []})
        line["x"].append(fmt_x(bucket_time(r["b"], step)))
        line["y"].append(r["c"])
    return {names.get(k, "(no instance)"): v for k, v in sorted(lines.items(), key=lambda kv: names.get(kv[0], ""))}


def _sampled_site_series(site, tr: TimeRange) -> dict:
    """site_series for long ranges: the site's count in the last snapshot of each instance and bucket."""
    from django.db import connection

    from apps.goroutines.models import SiteSample
    from apps.services.models import Instance

    tr = TimeRange(tr.start, tr.end, tr.label, max_points=SAMPLED_POINTS)
    step = tr.step
    snaps = sampled_snapshots(site.service, tr)
    where = {_hex(snap_id): (inst, b) for snap_id, inst, b, _ in snaps}
    ids = [snap_id for snap_id, *_ in snaps]
    table = connection.ops.quote_name(SiteSample._meta.db_table)
    site_param = SiteSample._meta.get_field("site").get_db_prep_value(site.pk, connection)
    points: dict = {}
    with connection.cursor() as cur:
        for i in range(0, len(ids), 900):
            chunk = ids[i:i + 900]
            cur.execute(f"SELECT snapshot_id, count FROM {table} WHERE site_id = %s AND snapshot_id IN ({', '.join(['%s'] * len(chunk))})",
                        [site_param] + chunk)
            for snap_id, count in cur.fetchall():
                inst, b = where[_hex(snap_id)]
                points.setdefault(inst, {})[b] = count
    names = dict(Instance.objects.filter(service_id=site.service_id).values_list("pk", "name"))
    out = {}
    for inst in sorted(points, key=lambda k: names.get(k, "")):
        bs = sorted(points[inst])
        out[names.get(inst, "(no instance)")] = {"x": [fmt_x(bucket_time(b, step)) for b in bs], "y": [points[inst][b] for b in bs]}
    return out
