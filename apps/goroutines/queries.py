"""Read-side queries over snapshots and findings, shared by the API and the pages.

Every function takes already access-checked objects (a Service from
Service.objects.visible_to / service_for_user), so callers keep the one
access rule and these stay plain data helpers.
"""
from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Max, OuterRef, QuerySet, Subquery, Sum

from apps.services.models import Service

from .findings import build_series
from .models import BlockingSite, Lifecycle, SiteSample, Snapshot, StackSignature, TriageState

DIFF_STATUSES = ("new", "gone", "grown", "shrunk", "same")


# --- findings -----------------------------------------------------------------

def findings(services) -> QuerySet:
    """Suspect blocking sites (open or auto-resolved) of `services` (a Service queryset or list)."""
    return BlockingSite.objects.filter(service__in=services, suspect=True).select_related("service", "owner")


def open_findings(services) -> QuerySet:
    """What alerting and the fleet page count: open suspects not marked known benign."""
    return findings(services).filter(lifecycle=Lifecycle.OPEN).exclude(triage_state=TriageState.KNOWN_BENIGN)


def open_finding_counts(services) -> dict:
    """service id → number of open findings, in one query."""
    return dict(open_findings(services).values_list("service_id").annotate(n=Count("id")).values_list("service_id", "n"))


# --- snapshots ----------------------------------------------------------------

def latest_snapshot_per_instance(service: Service) -> QuerySet:
    newest = Snapshot.objects.filter(instance=OuterRef("instance"), leak_profile=False).order_by("-captured_at").values("pk")[:1]
    return Snapshot.objects.filter(service=service, leak_profile=False).filter(pk=Subquery(newest)).select_related("instance")


def goroutine_totals(services) -> dict:
    """service id → goroutines in each instance's latest snapshot, summed (fleet page, /metrics)."""
    newest = Snapshot.objects.filter(instance=OuterRef("instance"), leak_profile=False).order_by("-captured_at").values("pk")[:1]
    rows = (
        Snapshot.objects.filter(service__in=services, leak_profile=False, pk=Subquery(newest))
        .values("service_id").annotate(total=Sum("total"))
    )
    return {r["service_id"]: r["total"] for r in rows}


def snapshot_at(service: Service, when: datetime, instance_name: str | None = None) -> Snapshot | None:
    """The newest regular snapshot at or before `when` (a time point for diffs)."""
    qs = Snapshot.objects.filter(service=service, captured_at__lte=when, leak_profile=False)
    if instance_name:
        qs = qs.filter(instance__name=instance_name)
    return qs.order_by("-captured_at").first()


def snapshot_groups(snapshot: Snapshot, by: str = "signature") -> list[dict]:
    """Groups of one snapshot, biggest first: per exact stack, or summed per blocking site."""
    if by == "blocking_key":
        rows = list(
            snapshot.groups.values("blocking_key")
            .annotate(count=Sum("count"), leaked=Sum("leaked"), wait_minutes_max=Max("wait_minutes_max"), stacks=Count("id"))
            .order_by("-count")
        )
        sites = {s.blocking_key: s for s in BlockingSite.objects.filter(service_id=snapshot.service_id, blocking_key__in=[r["blocking_key"] for r in rows])}
        for r in rows:
            site = sites.get(r["blocking_key"])
            r["site"] = site
        return rows
    groups = list(snapshot.groups.order_by("-count").values(
        "signature_id", "blocking_key", "wait_reason", "count", "leaked", "wait_minutes_min", "wait_minutes_max",
        "labels", "pattern", "benign",
    ))
    sigs = StackSignature.objects.in_bulk([g["signature_id"] for g in groups])
    for g in groups:
        g["stack"] = sigs.get(g["signature_id"])
    return groups


def _counts(snapshot: Snapshot, key: str) -> dict[str, int]:
    field = "signature_id" if key == "signature" else "blocking_key"
    return {row[field]: row["n"] for row in snapshot.groups.values(field).annotate(n=Sum("count"))}


def diff_counts(before: dict[str, int], after: dict[str, int], key: str = "blocking_key") -> list[dict]:
    """goruntime.diff_groups over {key: count} maps (its statuses and order)."""
    from types import SimpleNamespace

    from apps.goruntime import goroutines as gr

    def shims(counts):
        return [SimpleNamespace(**{key: k}, count=n, wait_reason=None, site=None) for k, n in counts.items()]

    return gr.diff_groups(shims(before), shims(after), key=key)


def diff_snapshots(before: Snapshot, after: Snapshot, key: str = "blocking_key") -> list[dict]:
    """Per blocking site (or exact stack) the count before/after, with site details attached."""
    rows = diff_counts(_counts(before, key), _counts(after, key), key=key)
    if key == "blocking_key":
        services = {before.service_id, after.service_id}
        sites = {s.blocking_key: s for s in BlockingSite.objects.filter(service_id__in=services, blocking_key__in=[r["key"] for r in rows])}
        for r in rows:
            r["site"] = sites.get(r["key"])
    else:
        sigs = StackSignature.objects.in_bulk([r["key"] for r in rows])
        for r in rows:
            r["stack"] = sigs.get(r["key"])
    return rows


# --- blocking-site series -----------------------------------------------------

def site_series(site: BlockingSite, since: datetime | None = None, until: datetime | None = None, max_points: int = 500) -> dict:
    """A site's count over time: summed across instances and per instance.

    {"summed": [{"at", "count", "total"}], "instances": {name: [{"at", "count"}]}}
    """
    snaps_qs = Snapshot.objects.filter(service_id=site.service_id)
    if since:
        snaps_qs = snaps_qs.filter(captured_at__gte=since)
    if until:
        snaps_qs = snaps_qs.filter(captured_at__lt=until)
    snaps = list(snaps_qs.order_by("-captured_at").values("id", "instance_id", "captured_at", "total", "leak_profile", "format")[: max_points * 4])[::-1]
    samples = {
        row["snapshot_id"]: row
        for row in SiteSample.objects.filter(site=site, snapshot_id__in=[s["id"] for s in snaps]).values("snapshot_id", "count", "leaked", "max_wait_minutes")
    }
    summed, per_instance = build_series(snaps, samples)
    names = dict(site.service.instances.values_list("id", "name"))

    def points(series, with_total=True):
        # Thin evenly to at most max_points (counts are already per snapshot).
        step = -(-len(series.times) // max_points) if len(series.times) > max_points else 1
        out = []
        for i in range(0, len(series.times), step):
            p = {"at": _iso(series.times[i]), "count": series.counts[i]}
            if with_total:
                p["total"] = series.totals[i]
            out.append(p)
        return out

    return {
        "summed": points(summed),
        "instances": {str(names.get(inst, inst)): points(series, with_total=False) for inst, series in per_instance.items()},
    }


def _iso(ts: float) -> str:
    from datetime import timezone as dt_timezone

    return datetime.fromtimestamp(ts, tz=dt_timezone.utc).isoformat().replace("+00:00", "Z")


def sites_for(services, suspect: bool | None = None) -> QuerySet:
    qs = BlockingSite.objects.filter(service__in=services).select_related("service", "owner")
    if suspect is not None:
        qs = qs.filter(suspect=suspect)
    return qs


__all__ = [
    "findings", "open_findings", "open_finding_counts", "latest_snapshot_per_instance", "goroutine_totals",
    "snapshot_at", "snapshot_groups", "diff_counts", "diff_snapshots", "site_series", "sites_for",
]
