"""Time-bucketed series for the pages, downsampled in SQL.

Charts never need more than a few hundred points, so every series is grouped
into buckets of `step` seconds by the database and only the aggregates travel
to Python. Works on SQLite (default) and PostgreSQL.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone as dt_timezone

from django.db import models
from django.db.models import Avg, Count, Max, Min
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

    @property
    def seconds(self) -> float:
        return max(60.0, (self.end - self.start).total_seconds())

    @property
    def step(self) -> int:
        return step_for(self.seconds)


def step_for(span_seconds: float, max_points: int = MAX_POINTS) -> int:
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

def runtime_series(service, tr: TimeRange, instance=None) -> dict:
    """Memory/GC series from MemSample rows, one aggregated query."""
    from apps.telemetry.models import GCCycle, MemSample

    step = tr.step
    qs = MemSample.objects.filter(service=service, at__gte=tr.start, at__lte=tr.end)
    if instance is not None:
        qs = qs.filter(instance=instance)
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


def goroutine_series(service, tr: TimeRange, instance=None, top: int = 5) -> dict:
    """Total goroutines (summed over instances) and the top blocking sites, bucketed."""
    from apps.goroutines.models import BlockingSite, SiteSample, Snapshot

    step = tr.step
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
        for r in bucketed(ss.filter(site_id__in=top_ids), "at", step, ("site_id", "instance_id"), c=Avg("count")):
            d = per_site[r["site_id"]]
            d[r["b"]] = d.get(r["b"], 0) + (r["c"] or 0)
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
    from apps.goroutines.models import SiteSample
    from apps.services.models import Instance

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
