"""Keeping a service's findings current: re-score every active blocking site.

Per site the count series comes from SiteSamples over the scoring window:
summed across instances (each instance's latest count carried forward to
every snapshot time) and per instance; goruntime's score_site judges both and
the stronger verdict wins. People's triage fields are never touched here.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta, timezone as dt_timezone

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.goruntime import goroutines as gr
from apps.services.models import Instance, Service

from .models import BlockingSite, Lifecycle, SiteSample, Snapshot, StackSignature

log = logging.getLogger(__name__)
MAX_SNAPSHOTS = 400  # newest snapshots scored per service; bounds the work per run


def frame_from(d: dict | None):
    if not d:
        return None
    return gr.Frame(function=d.get("function", ""), file=d.get("file", ""), line=int(d.get("line") or 0))


class Series:
    """One count series (summed or one instance's) for a site."""

    def __init__(self):
        self.times: list[float] = []
        self.counts: list[int] = []
        self.totals: list[int] = []
        self.waits: list[int | None] = []
        self.leaked: list[int] = []
        self.shapes: list[dict] = []

    def add(self, at: float, count: int, total: int, wait, leaked: int, shape: dict | None = None) -> None:
        self.times.append(at)
        self.counts.append(count)
        self.totals.append(total)
        self.waits.append(wait)
        self.leaked.append(leaked)
        self.shapes.append(shape or {})

    def shape_lists(self) -> dict[str, list]:
        """SiteHistory's per-snapshot shape lists (None where unknown)."""
        return {name: [s.get(name) for s in self.shapes] for name in gr.SHAPE_FIELDS}


def build_series(snaps: list[dict], samples: dict) -> tuple[Series, dict[int | None, Series]]:
    """(summed, per-instance) series of one site; `samples` maps snapshot id → sample dict."""
    summed, per_instance = Series(), defaultdict(Series)
    latest: dict = {}  # instance → (count, total, wait, leaked)
    leak_latest: dict = {}  # instance → leaked count from the latest goroutineleak profile
    for snap in snaps:
        sample = samples.get(snap["id"])
        inst = snap["instance_id"]
        if snap["leak_profile"] and snap["format"].startswith("leak"):
            # A goroutineleak profile lists only leaked goroutines: proof, not a count.
            leak_latest[inst] = sample["count"] if sample else 0
            continue
        at = snap["captured_at"].timestamp()
        point = (sample["count"], snap["total"], sample["max_wait_minutes"], sample["leaked"]) if sample else (0, snap["total"], None, 0)
        latest[inst] = point
        leaked = max(point[3], leak_latest.get(inst, 0))
        shape = sample.get("shape") if sample else None
        per_instance[inst].add(at, point[0], point[1], point[2], leaked, shape)
        waits = [p[2] for p in latest.values() if p[2] is not None]
        summed.add(
            at, sum(p[0] for p in latest.values()), sum(p[1] for p in latest.values()),
            max(waits) if waits else None,
            sum(max(p[3], leak_latest.get(i, 0)) for i, p in latest.items()),
            # goroutine ids belong to one process: a shape describes a sum of one instance only
            shape if len(latest) == 1 else None,
        )
    return summed, dict(per_instance)


def history_for(site: BlockingSite, signature: StackSignature | None, series: Series, leak_profile_seen: bool):
    frames = [frame_from(f) for f in (signature.frames if signature else [])]
    return gr.SiteHistory(
        blocking_key=site.blocking_key, wait_reason=site.wait_reason,
        site=gr.Frame(function=site.site_function, file=site.site_file, line=site.site_line or 0),
        created_by=frame_from(site.created_by), frames=[f for f in frames if f is not None],
        pattern=site.pattern or None, benign=site.benign or None,
        times=series.times, counts=series.counts, totals=series.totals,
        max_wait_minutes=series.waits, leaked=series.leaked, leak_profile_seen=leak_profile_seen,
        **series.shape_lists(),
    )


def update_service(service_id) -> int:
    """Re-score the service's active sites; returns how many were updated."""
    service = Service.objects.filter(pk=service_id).first()
    if service is None:
        return 0
    now = timezone.now()
    newest = Snapshot.objects.filter(service=service).order_by("-captured_at").values_list("captured_at", flat=True).first()
    if newest is None:
        return 0
    since = newest - timedelta(hours=settings.GOTRIAGE_FINDINGS_WINDOW_HOURS)
    snaps = list(
        Snapshot.objects.filter(service=service, captured_at__gte=since)
        .order_by("-captured_at")
        .values("id", "instance_id", "captured_at", "total", "leak_profile", "format")[:MAX_SNAPSHOTS]
    )[::-1]
    snap_ids = [s["id"] for s in snaps]
    by_site: dict = defaultdict(dict)
    for row in SiteSample.objects.filter(snapshot_id__in=snap_ids).values("site_id", "snapshot_id", "count", "leaked", "max_wait_minutes", "shape"):
        by_site[row["site_id"]][row["snapshot_id"]] = row
    leak_profile_seen = any(s["leak_profile"] for s in snaps)
    instance_names = dict(Instance.objects.filter(service=service).values_list("id", "name"))
    sites = list(BlockingSite.objects.filter(service=service).filter(Q(pk__in=list(by_site)) | Q(suspect=True, lifecycle=Lifecycle.OPEN)))
    signatures = StackSignature.objects.in_bulk([s.sample_signature_id for s in sites if s.sample_signature_id])
    changed = []
    for site in sites:
        summed, per_instance = build_series(snaps, by_site.get(site.pk, {}))
        _apply(site, summed, per_instance, signatures.get(site.sample_signature_id), leak_profile_seen, instance_names, now)
        changed.append(site)
    with transaction.atomic():
        BlockingSite.objects.bulk_update(changed, FIELDS, batch_size=500)
    return len(changed)


FIELDS = [
    "score", "suspect", "evidence", "pattern", "benign", "first_seen", "last_seen", "last_count", "peak_count",
    "baseline_count", "leaked", "lifecycle", "suspect_since", "resolved_at", "updated_at",
]


def _apply(site, summed: Series, per_instance: dict, signature, leak_profile_seen: bool, names: dict, now) -> None:
    verdict = gr.score_site(history_for(site, signature, summed, leak_profile_seen)) if summed.times else None
    # With several instances, one instance leaking can hide in the sum: score each too.
    for inst, series in (per_instance.items() if len(per_instance) > 1 else ()):
        if len(series.times) < 2:
            continue
        candidate = gr.score_site(history_for(site, signature, series, leak_profile_seen))
        if verdict is None or (candidate.suspect and candidate.score > verdict.score):
            candidate.evidence = [f"on instance {names.get(inst, inst)}: {e}" for e in candidate.evidence]
            verdict = candidate
    counts = summed.counts
    last = counts[-1] if counts else 0
    seen = [t for t, c in zip(summed.times, counts) if c > 0]
    if seen:
        first_at = datetime.fromtimestamp(seen[0], tz=dt_timezone.utc)
        site.first_seen = min(site.first_seen, first_at)
        site.last_seen = max(site.last_seen, datetime.fromtimestamp(seen[-1], tz=dt_timezone.utc))
    site.last_count = last
    site.peak_count = max(site.peak_count, max(counts, default=0))
    head = counts[: max(1, len(counts) // 4)]
    site.baseline_count = min(head) if head else 0
    site.leaked = summed.leaked[-1] if summed.leaked else 0
    if verdict is not None:
        site.score = round(float(verdict.score), 4)
        site.evidence = list(verdict.evidence)
        site.pattern = verdict.pattern or site.pattern
        site.benign = verdict.benign or ""
    else:
        site.score = 0.0
        site.evidence = []
    was_open_suspect = site.suspect and site.lifecycle == Lifecycle.OPEN
    now_suspect = bool(verdict and verdict.suspect)
    if now_suspect:
        if not was_open_suspect:
            site.suspect_since = now
        site.suspect, site.lifecycle, site.resolved_at = True, Lifecycle.OPEN, None
    elif was_open_suspect and last <= site.baseline_count:
        # Back at its baseline: the finding resolves itself; triage fields stay.
        site.lifecycle, site.resolved_at = Lifecycle.RESOLVED, now
    site.updated_at = now
