"""What a team's weekly report says: numbers per service for the last seven days, plus charts.

Everything is aggregated in the database (hourly buckets) so a week of
per-minute snapshots stays cheap.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Avg, F, Max, Q, Value
from django.db.models.functions import Coalesce, TruncHour
from django.utils import timezone

from apps.goroutines.models import BlockingSite, Lifecycle, Snapshot, TriageState
from apps.services.models import Service, Team
from apps.telemetry.models import GCCycle, MemSample
from apps.tuning.models import Recommendation

from . import charts, conf, links
from .models import Alert, AlertState, week_label

WEEK = timedelta(days=7)
DAY = timedelta(days=1)
MAX_CHARTED_SERVICES = 12  # keeps a big team's mail under a couple of MB
LOW_HEADROOM = 0.15
MIN_GROWTH = 5  # goroutines; smaller changes are noise, not news


@dataclass
class ServiceSection:
    service: Service
    url: str
    goroutines_now: int | None = None
    goroutines_start: int | None = None
    trend_pct: float | None = None
    open_suspects: int = 0
    new_suspects: list[dict] = field(default_factory=list)
    resolved: list[dict] = field(default_factory=list)
    top_growth: list[dict] = field(default_factory=list)
    memory: dict = field(default_factory=dict)
    gc: dict = field(default_factory=dict)
    rec_changes: list[dict] = field(default_factory=list)
    goroutine_cid: str = ""
    memory_cid: str = ""

    @property
    def attention(self) -> tuple:
        low = self.memory.get("headroom_pct") is not None and self.memory["headroom_pct"] < LOW_HEADROOM
        return (-len(self.new_suspects), -self.open_suspects, not low, self.service.slug)


@dataclass
class WeeklyReport:
    team: Team
    start: datetime
    end: datetime
    week: str
    fleet: dict
    services: list[ServiceSection]
    images: dict[str, bytes]  # Content-ID (without <>) -> PNG

    def context(self) -> dict:
        tz = conf.report_tz()
        return {
            "team": self.team,
            "week": self.week,
            "start": self.start.astimezone(tz),
            "end": self.end.astimezone(tz),
            "fleet": self.fleet,
            "services": self.services,
            "fleet_url": links.fleet_url(),
            "settings_url": links.settings_url(self.team),
        }


def _pct(new, old) -> float | None:
    if not old or new is None:
        return None
    return (new - old) / old * 100


def _site_row(site: BlockingSite, **extra) -> dict:
    where = f"{site.site_file.rsplit('/', 1)[-1]}:{site.site_line}" if site.site_file else ""
    return {
        "function": site.site_function, "where": where, "wait_reason": site.wait_reason,
        "score": site.score, "count": site.last_count, "url": links.site_url(site), **extra,
    }


def _goroutine_series(service, start, end, tz) -> list[tuple[datetime, float]]:
    rows = (
        Snapshot.objects.filter(service=service, captured_at__gte=start, captured_at__lte=end)
        .annotate(bucket=TruncHour("captured_at", tzinfo=tz))
        .values("bucket", "instance_id")
        .annotate(avg=Avg("total"))
    )
    # Average per instance within the hour, then add instances up: the fleet's goroutines.
    buckets: dict[datetime, float] = {}
    for row in rows:
        buckets[row["bucket"]] = buckets.get(row["bucket"], 0) + (row["avg"] or 0)
    return sorted(buckets.items())


def _memory(service, start, end, tz) -> tuple[dict, list[tuple[datetime, float]]]:
    rows = (
        MemSample.objects.filter(service=service, at__gte=start, at__lte=end, rss__isnull=False)
        .annotate(bucket=TruncHour("at", tzinfo=tz))
        .values("bucket")
        .annotate(peak=Max("rss"))
        .order_by("bucket")
    )
    series = [(r["bucket"], r["peak"]) for r in rows]
    limit = service.memory_limit_bytes or service.instances.aggregate(m=Max("memory_limit_bytes"))["m"]
    latest_rec = Recommendation.objects.filter(service=service, created_at__lte=end).first()
    alert = service.rss_alert_bytes or (latest_rec.rss_alert_bytes if latest_rec else None)
    peak = max((v for _, v in series), default=None)
    memory = {"limit": limit, "alert": alert, "peak": peak, "latest": series[-1][1] if series else None}
    if limit and peak is not None:
        memory["headroom"] = limit - peak
        memory["headroom_pct"] = (limit - peak) / limit
    else:
        memory["headroom_pct"] = None
    return memory, series


def _gc(service, start, end) -> dict:
    agg = MemSample.objects.filter(service=service, at__gte=start, at__lte=end).aggregate(
        avg=Avg("gc_cpu_fraction"), max=Max("gc_cpu_fraction")
    )
    if agg["avg"] is None:
        # No runtime samples: gctrace's per-cycle CPU percentage is the next best thing.
        agg = GCCycle.objects.filter(service=service, at__gte=start, at__lte=end).aggregate(
            avg=Avg("cpu_pct"), max=Max("cpu_pct")
        )
        agg = {k: (v / 100 if v is not None else None) for k, v in agg.items()}
    return agg


def _fmt_setting(name: str, value) -> str:
    if value is None:
        return "unset"
    if name == "GOMEMLIMIT":
        return charts.human_bytes(value)
    return str(value)


def _rec_changes(service, start, end) -> list[dict]:
    previous = Recommendation.objects.filter(service=service, created_at__lt=start).first()
    changes = []
    for rec in Recommendation.objects.filter(service=service, created_at__gte=start, created_at__lte=end).order_by("created_at"):
        if previous is not None and not rec.same_settings_as(previous):
            diffs = [
                {"name": name, "old": _fmt_setting(name, getattr(previous, attr)), "new": _fmt_setting(name, getattr(rec, attr))}
                for name, attr in (("GOMAXPROCS", "gomaxprocs"), ("GOGC", "gogc"), ("GOMEMLIMIT", "gomemlimit"))
                if getattr(previous, attr) != getattr(rec, attr)
            ]
            changes.append({"at": rec.created_at, "diffs": diffs})
        elif previous is None:
            changes.append({"at": rec.created_at, "diffs": [
                {"name": "GOMAXPROCS", "old": None, "new": _fmt_setting("GOMAXPROCS", rec.gomaxprocs)},
                {"name": "GOGC", "old": None, "new": _fmt_setting("GOGC", rec.gogc)},
                {"name": "GOMEMLIMIT", "old": None, "new": _fmt_setting("GOMEMLIMIT", rec.gomemlimit)},
            ], "first": True})
        previous = rec
    return changes


def _section(service: Service, start: datetime, end: datetime, tz) -> tuple[ServiceSection, list, list]:
    section = ServiceSection(service=service, url=links.service_url(service))
    series = _goroutine_series(service, start, end, tz)
    if series:
        section.goroutines_start, section.goroutines_now = round(series[0][1]), round(series[-1][1])
        section.trend_pct = _pct(section.goroutines_now, section.goroutines_start)

    sites = BlockingSite.objects.filter(service=service).exclude(triage_state=TriageState.KNOWN_BENIGN).select_related("service")
    section.open_suspects = sites.filter(suspect=True, lifecycle=Lifecycle.OPEN).count()
    section.new_suspects = [
        _site_row(s) for s in sites.filter(suspect=True, lifecycle=Lifecycle.OPEN, suspect_since__gte=start, suspect_since__lte=end).order_by("-score")[:10]
    ]
    section.resolved = [
        _site_row(s) for s in sites.filter(resolved_at__gte=start, resolved_at__lte=end).order_by("-resolved_at")[:10]
    ]
    first_day, last_day = Q(samples__at__gte=start, samples__at__lt=start + DAY), Q(samples__at__gt=end - DAY, samples__at__lte=end)
    growing = (
        sites.annotate(
            start_max=Coalesce(Max("samples__count", filter=first_day), Value(0)),
            end_max=Max("samples__count", filter=last_day),
        )
        .filter(end_max__isnull=False)
        .annotate(growth=F("end_max") - F("start_max"))
        .filter(growth__gte=MIN_GROWTH)
        .order_by("-growth")[:5]
    )
    section.top_growth = [_site_row(s, start=s.start_max, end=s.end_max, growth=s.growth) for s in growing]
    section.memory, mem_series = _memory(service, start, end, tz)
    section.gc = _gc(service, start, end)
    section.rec_changes = _rec_changes(service, start, end)
    return section, series, mem_series


def build_report(team: Team, end: datetime | None = None, *, with_charts: bool = True, week: str | None = None) -> WeeklyReport:
    """The report for the seven days up to `end` (default: now), named after `week` (default: end's week)."""
    end = end or timezone.now()
    start = end - WEEK
    tz = conf.report_tz()
    built = [_section(s, start, end, tz) for s in Service.objects.filter(team=team).order_by("slug")]
    built.sort(key=lambda b: b[0].attention)

    images: dict[str, bytes] = {}
    for index, (section, series, mem_series) in enumerate(built):
        if not with_charts or index >= MAX_CHARTED_SERVICES:
            continue
        slug = section.service.slug
        section.goroutine_cid = f"goroutines-{slug}@gotriage"
        section.memory_cid = f"memory-{slug}@gotriage"
        images[section.goroutine_cid] = charts.goroutines_png(series, tz, "Goroutines (hourly, all instances)", span=(start, end))
        images[section.memory_cid] = charts.memory_png(
            mem_series, tz, section.memory.get("limit"), section.memory.get("alert"), "Peak RSS (hourly)", span=(start, end)
        )

    sections = [b[0] for b in built]
    fleet = {
        "services": len(sections),
        "goroutines": sum(s.goroutines_now or 0 for s in sections),
        "open_suspects": sum(s.open_suspects for s in sections),
        "new_suspects": sum(len(s.new_suspects) for s in sections),
        "resolved": sum(len(s.resolved) for s in sections),
        "low_headroom": sum(1 for s in sections if s.memory.get("headroom_pct") is not None and s.memory["headroom_pct"] < LOW_HEADROOM),
        "firing_alerts": Alert.objects.filter(service__team=team, state=AlertState.FIRING).count(),
        "rec_changes": sum(len(s.rec_changes) for s in sections),
    }
    return WeeklyReport(team=team, start=start, end=end, week=week or week_label(end), fleet=fleet, services=sections, images=images)
