"""Alert evaluation: which conditions hold for a service now, and the outbox rows they cause.

evaluate_service() is safe to run from several workers at once: every state
change is an UPDATE that only matches the state it read, and only the worker
whose update won writes outbox rows.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from apps.goroutines.models import BlockingSite, Lifecycle, TriageState
from apps.services.models import Service
from apps.telemetry.models import GCCycle, MemSample
from apps.tuning.models import Recommendation

from . import charts, conf, links, webhooks
from .models import (
    MAX_ATTEMPTS, SENDING_STALE_AFTER, Alert, AlertChannel, AlertKind, AlertNotification, AlertState, OutboxStatus,
)

log = logging.getLogger(__name__)

# A recommendation older than this no longer speaks for the service's GC.
RECOMMENDATION_FRESH = timedelta(hours=6)
ALERTNAMES = {AlertKind.NEW_SUSPECT: "GoroutineLeakSuspect", AlertKind.RSS_HIGH: "RSSAboveThreshold", AlertKind.GC_THRASH: "GCThrashing"}
SEVERITY = {AlertKind.NEW_SUSPECT: "warning", AlertKind.RSS_HIGH: "critical", AlertKind.GC_THRASH: "warning"}


@dataclass
class Condition:
    kind: str
    key: str
    summary: str
    link: str
    details: dict = field(default_factory=dict)


# --- conditions --------------------------------------------------------------------


def suspect_conditions(service: Service) -> list[Condition]:
    sites = (
        BlockingSite.objects.filter(service=service, suspect=True, lifecycle=Lifecycle.OPEN,
                                    score__gte=conf.get("GOTRIAGE_ALERT_MIN_SCORE"))
        .exclude(triage_state=TriageState.KNOWN_BENIGN)  # a person said so: never page about it
        .select_related("service")
    )
    return [
        Condition(
            AlertKind.NEW_SUSPECT, str(site.pk),
            f"{service.slug}: goroutine leak suspect at {site.site_function} "
            f"({site.last_count:,} goroutines, score {site.score:.2f})",
            links.site_url(site),
            {"function": site.site_function, "file": site.site_file, "line": site.site_line,
             "wait_reason": site.wait_reason, "score": round(site.score, 3), "count": site.last_count,
             "suspect_since": site.suspect_since.isoformat() if site.suspect_since else None},
        )
        for site in sites
    ]


def rss_threshold(service: Service) -> int | None:
    if service.rss_alert_bytes:
        return service.rss_alert_bytes
    rec = Recommendation.objects.filter(service=service, rss_alert_bytes__isnull=False).first()
    return rec.rss_alert_bytes if rec else None


def rss_condition(service: Service, now: datetime) -> Condition | None:
    threshold = rss_threshold(service)
    if not threshold:
        return None
    window = now - timedelta(minutes=conf.get("GOTRIAGE_ALERT_WINDOW_MINUTES"))
    latest: dict = {}  # the newest sample per instance inside the window
    for sample in MemSample.objects.filter(service=service, at__gte=window, at__lte=now, rss__isnull=False).select_related("instance").order_by("-at"):
        latest.setdefault(sample.instance_id, sample)
    over = [s for s in latest.values() if s.rss > threshold]
    if not over:
        return None
    worst = max(s.rss for s in over)
    return Condition(
        AlertKind.RSS_HIGH, "rss",
        f"{service.slug}: RSS {charts.human_bytes(worst)} above the alert threshold "
        f"{charts.human_bytes(threshold)} on {len(over)} instance{'s' if len(over) != 1 else ''}",
        links.service_url(service),
        {"threshold_bytes": threshold, "max_rss_bytes": worst,
         "instances": sorted((s.instance.name if s.instance else "?", s.rss) for s in over)},
    )


def gc_condition(service: Service, now: datetime) -> Condition | None:
    minutes = conf.get("GOTRIAGE_ALERT_WINDOW_MINUTES")
    window = now - timedelta(minutes=minutes)
    per_instance = (
        GCCycle.objects.filter(service=service, at__gte=window, at__lte=now)
        .values("instance_id").annotate(n=Count("id")).order_by("-n")
    )
    densest = per_instance.first()
    rate = densest["n"] / minutes if densest else 0.0
    details: dict = {}
    if rate >= conf.get("GOTRIAGE_ALERT_GC_PER_MINUTE"):
        details = {"source": "gctrace", "gc_per_minute": round(rate, 1)}
    else:
        rec = Recommendation.objects.filter(service=service, created_at__gte=now - RECOMMENDATION_FRESH).first()
        signals = (rec.payload or {}).get("signals") or {} if rec else {}
        if signals.get("thrashing"):
            details = {"source": "recommendation", "recommendation_at": rec.created_at.isoformat(),
                       "gc_per_minute": signals.get("gc_per_minute"), "gc_cpu_fraction": signals.get("gc_cpu_fraction")}
    if not details:
        return None
    rate_text = f" ({details['gc_per_minute']} GCs/min)" if details.get("gc_per_minute") else ""
    return Condition(AlertKind.GC_THRASH, "gc", f"{service.slug}: GC is thrashing{rate_text}", links.service_url(service), details)


def conditions(service: Service, now: datetime) -> list[Condition]:
    found = suspect_conditions(service)
    found += [c for c in (rss_condition(service, now), gc_condition(service, now)) if c]
    return found


# --- state changes and the outbox ---------------------------------------------------


def snapshot(alert: Alert, event: str) -> dict:
    """What every channel is told, frozen at the moment of the event."""
    return {
        "id": str(alert.pk),
        "kind": alert.kind,
        "alertname": ALERTNAMES.get(alert.kind, alert.kind),
        "severity": SEVERITY.get(alert.kind, "warning"),
        "title": AlertKind(alert.kind).label,
        "state": event,
        "service": alert.service.slug,
        "service_name": alert.service.display_name,
        "team": alert.service.team.slug,
        "key": alert.key,
        "dedup_key": alert.dedup_key,
        "summary": alert.summary,
        "details": alert.details,
        "url": alert.link or links.service_url(alert.service),
        "started_at": alert.started_at.isoformat(),
        "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
    }


def _enqueue(alert: Alert, event: str, now: datetime) -> int:
    channels = AlertChannel.objects.filter(team_id=alert.service.team_id, enabled=True)
    if event == AlertState.RESOLVED:
        # Close only where the firing went (or is still going) out; a receiver
        # that was capped never saw it fire.
        told = AlertNotification.objects.filter(alert=alert, event=AlertState.FIRING, created_at__gte=alert.started_at).exclude(
            status__in=[OutboxStatus.SUPPRESSED, OutboxStatus.FAILED]
        )
        channels = channels.filter(pk__in=told.values("channel_id"))
    payload = snapshot(alert, event)
    rows = [AlertNotification(alert=alert, channel=c, event=event, payload=payload, created_at=now, next_attempt_at=now) for c in channels]
    AlertNotification.objects.bulk_create(rows)
    return len(rows)


def _announce_firing(alert: Alert, now: datetime) -> int:
    interval = timedelta(minutes=conf.get("GOTRIAGE_ALERT_MIN_INTERVAL_MINUTES"))
    if alert.last_notified_at and now - alert.last_notified_at < interval:
        # Flapping: the same key was announced moments ago. Count it, stay quiet.
        Alert.objects.filter(pk=alert.pk).update(suppressed=F("suppressed") + 1)
        return 0
    won = Alert.objects.filter(pk=alert.pk, notified=False).update(notified=True, last_notified_at=now)
    if not won:
        return 0
    alert.refresh_from_db()
    return _enqueue(alert, AlertState.FIRING, now)


def evaluate_service(service: Service, now: datetime | None = None) -> dict:
    """Open, keep or resolve this service's alerts; returns what changed."""
    now = now or timezone.now()
    current = {Alert.make_dedup_key(service, c.kind, c.key): c for c in conditions(service, now)}
    changed = {"fired": [], "resolved": [], "queued": 0}

    with transaction.atomic():
        for alert in Alert.objects.filter(service=service, state=AlertState.FIRING).exclude(dedup_key__in=list(current)):
            won = Alert.objects.filter(pk=alert.pk, state=AlertState.FIRING, started_at=alert.started_at).update(
                state=AlertState.RESOLVED, resolved_at=now
            )
            if not won:
                continue
            changed["resolved"].append(alert.dedup_key)
            alert.refresh_from_db()
            if alert.notified:  # only close what was announced
                changed["queued"] += _enqueue(alert, AlertState.RESOLVED, now)

        for dedup_key, cond in current.items():
            fields = {"summary": cond.summary[:300], "details": cond.details, "link": cond.link}
            alert = Alert.objects.filter(dedup_key=dedup_key).select_related("service__team").first()
            if alert is None:
                try:
                    with transaction.atomic():
                        alert = Alert.objects.create(service=service, kind=cond.kind, key=cond.key, dedup_key=dedup_key,
                                                     state=AlertState.FIRING, started_at=now, **fields)
                except IntegrityError:
                    continue  # another worker opened it and announces it
            elif alert.state == AlertState.RESOLVED:
                won = Alert.objects.filter(pk=alert.pk, state=AlertState.RESOLVED).update(
                    state=AlertState.FIRING, started_at=now, resolved_at=None, notified=False, **fields
                )
                if not won:
                    continue
                alert.refresh_from_db()
            else:
                Alert.objects.filter(pk=alert.pk).update(**fields)  # still firing: deduplicated
                continue
            changed["fired"].append(dedup_key)
            changed["queued"] += _announce_firing(alert, now)

    if changed["queued"]:
        from .tasks import deliver_alerts

        transaction.on_commit(deliver_alerts.delay)
    return changed


# --- delivery ----------------------------------------------------------------------


def _over_hourly_cap(row: AlertNotification, now: datetime) -> bool:
    sent = AlertNotification.objects.filter(
        channel_id=row.channel_id, status=OutboxStatus.SENT, sent_at__gte=now - timedelta(hours=1)
    ).count()
    return sent >= conf.get("GOTRIAGE_ALERT_MAX_PER_HOUR")


def deliver_one(row: AlertNotification, now: datetime) -> None:
    """Send a claimed row; failures back off, and give up after MAX_ATTEMPTS (poison guard)."""
    # Resolves are never capped: they only ever reduce what a receiver shows.
    if row.event == AlertState.FIRING and _over_hourly_cap(row, now):
        row.status, row.error = OutboxStatus.SUPPRESSED, "hourly cap for this channel reached"
        row.save(update_fields=["status", "error"])
        return
    try:
        webhooks.deliver(row.channel, row.payload)
    except Exception as exc:  # any failure of a receiver is the receiver's, not ours
        log.warning("alert notification %s to %s failed: %s", row.pk, row.channel, exc)
        row.error = f"{type(exc).__name__}: {exc}"[:2000]
        if row.attempts >= MAX_ATTEMPTS:
            row.status = OutboxStatus.FAILED
        else:
            row.status = OutboxStatus.PENDING
            row.next_attempt_at = now + timedelta(minutes=2 ** row.attempts)
        row.save(update_fields=["status", "error", "next_attempt_at"])
        return
    row.status, row.sent_at, row.error = OutboxStatus.SENT, timezone.now(), ""
    row.save(update_fields=["status", "sent_at", "error"])


def deliver_pending(now: datetime | None = None, limit: int = 200) -> int:
    """Claim and send due outbox rows; returns how many were claimed."""
    now = now or timezone.now()
    due = AlertNotification.objects.filter(
        Q(status=OutboxStatus.PENDING, next_attempt_at__lte=now)
        | Q(status=OutboxStatus.SENDING, claimed_at__lt=now - SENDING_STALE_AFTER)
    ).select_related("channel").order_by("next_attempt_at")[:limit]
    claimed = 0
    for row in due:
        if row.claim(now):
            claimed += 1
            deliver_one(row, now)
    return claimed


def sweep(now: datetime | None = None) -> int:
    """The periodic pass: re-evaluate every service (RSS and GC clear without new findings)."""
    now = now or timezone.now()
    for service in Service.objects.select_related("team"):
        try:
            evaluate_service(service, now)
        except Exception:
            log.exception("evaluating alerts for %s failed", service.slug)
    return deliver_pending(now)
