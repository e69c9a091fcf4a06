"""Weekly report subscriptions and the alert outbox.

Both sides claim work with an UPDATE that only matches the value they read
(an optimistic lock), so two beat ticks or two workers never send the same
thing twice.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from apps.services.models import Service, Team

from . import conf

# --- choices -------------------------------------------------------------------


class ChannelKind(models.TextChoices):
    EMAIL = "email", "Email"
    WEBHOOK = "webhook", "Generic JSON webhook"
    SLACK = "slack", "Slack-compatible webhook"
    ALERTMANAGER = "alertmanager", "Alertmanager-style webhook"


class AlertKind(models.TextChoices):
    NEW_SUSPECT = "new_suspect", "New leak suspect"
    RSS_HIGH = "rss_high", "RSS above alert threshold"
    GC_THRASH = "gc_thrash", "GC thrashing"


class AlertState(models.TextChoices):
    FIRING = "firing", "Firing"
    RESOLVED = "resolved", "Resolved"


class OutboxStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"  # gave up after MAX_ATTEMPTS
    SUPPRESSED = "suppressed", "Suppressed by rate limit"


MAX_ATTEMPTS = 5
SENDING_STALE_AFTER = timedelta(minutes=10)  # a worker that died mid-send
RETRY_AFTER = timedelta(hours=1)


# --- weekly reports --------------------------------------------------------------


def next_report_time(after: datetime) -> datetime:
    """The first configured weekday/hour (in the report time zone) strictly after `after`."""
    tz = conf.report_tz()
    local = after.astimezone(tz)
    weekday, hour = conf.get("GOTRIAGE_REPORT_WEEKDAY"), conf.get("GOTRIAGE_REPORT_HOUR")
    candidate = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    candidate += timedelta(days=(weekday - local.weekday()) % 7)
    if candidate <= local:
        candidate += timedelta(days=7)
    # Arithmetic within one ZoneInfo is wall-clock, so a DST change keeps the hour.
    return candidate


def week_label(at: datetime) -> str:
    year, week, _ = at.astimezone(conf.report_tz()).isocalendar()
    return f"{year}-W{week:02d}"


class ReportSubscription(models.Model):
    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="report_subscription")
    enabled = models.BooleanField(default=True)
    next_report_at = models.DateTimeField(null=True, blank=True)
    last_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # the beat tick: enabled subscriptions that are due
            models.Index(fields=["enabled", "next_report_at"], name="report_sub_due"),
        ]

    def __str__(self) -> str:
        return f"weekly report for {self.team}"

    @classmethod
    def ensure_all(cls, now: datetime | None = None) -> None:
        """Every team gets a subscription, on by default, first report at the next slot."""
        first = next_report_time(now or timezone.now())
        missing = Team.objects.filter(report_subscription__isnull=True)
        cls.objects.bulk_create([cls(team=t, next_report_at=first) for t in missing], ignore_conflicts=True)

    @classmethod
    def for_team(cls, team: Team) -> "ReportSubscription":
        sub, _ = cls.objects.get_or_create(team=team, defaults={"next_report_at": next_report_time(timezone.now())})
        return sub

    def claim(self, now: datetime) -> datetime | None:
        """Move next_report_at forward only if nobody else has; returns the slot claimed."""
        old = self.next_report_at
        new = next_report_time(max(now, old) if old else now)
        won = ReportSubscription.objects.filter(pk=self.pk, next_report_at=old).update(next_report_at=new)
        if not won:
            return None
        self.next_report_at = new
        return old or now

    @classmethod
    def send_due(cls, now: datetime | None = None, team: Team | None = None, force: bool = False) -> list["SentReport"]:
        """The beat tick: send every due report once. `force` ignores the schedule, not the week log."""
        now = now or timezone.now()
        cls.ensure_all(now)
        due = cls.objects.filter(enabled=True).select_related("team")
        if team is not None:
            due = due.filter(team=team)
        if not force:
            due = due.filter(next_report_at__lte=now)
        sent = []
        for sub in due:
            slot = now if force else sub.claim(now)
            if slot is None:
                continue  # another worker claimed it between our read and our update
            log = sub.send_report(slot, now)
            if log is not None:
                sent.append(log)
        return sent

    def send_report(self, slot: datetime, now: datetime) -> "SentReport | None":
        """Build and mail the report for the week of `slot`; None if that week was already sent."""
        from django.core.mail import get_connection

        from .emails import report_message
        from .weekly import build_report

        week = week_label(slot)
        log = SentReport.reserve(self.team, week)
        if log is None:
            return None
        delivered = []
        try:
            # A team without services has nothing to report: no mail, but the week counts as done.
            recipients = self.recipients() if self.team.services.exists() else []
            if recipients:
                report = build_report(self.team, end=min(slot, now), week=week)
                with get_connection() as connection:
                    for user in recipients:
                        connection.send_messages([report_message(report, user)])
                        delivered.append(user.email)
        except Exception as exc:
            if not delivered:
                # Nothing went out (SMTP down?): free the week and retry in an hour,
                # not every tick, so a broken report can't hot-loop.
                log.delete()
                ReportSubscription.objects.filter(pk=self.pk).update(next_report_at=now + RETRY_AFTER)
                raise
            log.error = f"{type(exc).__name__}: {exc}"
        log.recipients = delivered
        log.save(update_fields=["recipients", "error"])
        ReportSubscription.objects.filter(pk=self.pk).update(last_sent_at=now)
        return log

    def recipients(self) -> list:
        """Team members with an address who have not opted out."""
        User = Team.members.field.related_model
        opted_out = ReportOptOut.objects.filter(team=self.team).values("user_id")
        return list(
            User.objects.filter(memberships__team=self.team, is_active=True)
            .exclude(email="")
            .exclude(pk__in=opted_out)
            .order_by("pk")
            .distinct()
        )


class ReportOptOut(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="uniq_report_optout")]


class SentReport(models.Model):
    """The log that makes sending idempotent: one row per team and ISO week."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    week = models.CharField(max_length=10)  # "2026-W48" in the report time zone
    sent_at = models.DateTimeField(default=timezone.now)
    recipients = models.JSONField(default=list)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-sent_at"]
        constraints = [models.UniqueConstraint(fields=["team", "week"], name="uniq_report_per_week")]

    @classmethod
    def reserve(cls, team: Team, week: str) -> "SentReport | None":
        """The row for (team, week), or None if another worker already has it."""
        try:
            with transaction.atomic():
                return cls.objects.create(team=team, week=week)
        except IntegrityError:
            return None


# --- alerts ----------------------------------------------------------------------


class AlertChannel(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="alert_channels")
    kind = models.CharField(max_length=16, choices=ChannelKind.choices)
    name = models.CharField(max_length=100, blank=True)
    # comma-separated addresses for email, a URL for the webhook kinds
    target = models.CharField(max_length=1000)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.name or f"{self.get_kind_display()} {self.target}"

    @property
    def addresses(self) -> list[str]:
        return [a.strip() for a in self.target.split(",") if a.strip()]


class Alert(models.Model):
    """One condition on one service; it flips between firing and resolved."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=16, choices=AlertKind.choices)
    key = models.CharField(max_length=100, help_text="blocking site id, or the kind for service-wide alerts")
    dedup_key = models.CharField(max_length=200, unique=True)
    state = models.CharField(max_length=10, choices=AlertState.choices, default=AlertState.FIRING)
    summary = models.CharField(max_length=300)
    details = models.JSONField(default=dict, blank=True)
    link = models.CharField(max_length=500, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    last_notified_at = models.DateTimeField(null=True, blank=True)
    # whether this firing episode was announced; a resolve is only sent if it was
    notified = models.BooleanField(default=False)
    suppressed = models.IntegerField(default=0, help_text="firings not announced because of the rate limit")

    class Meta:
        ordering = ["-started_at"]
        indexes = [
            # evaluate_service: the firing alerts of one service
            models.Index(fields=["service", "state"], name="alert_service_state"),
        ]

    def __str__(self) -> str:
        return f"{self.service.slug} {self.kind} {self.key} ({self.state})"

    @staticmethod
    def make_dedup_key(service: Service, kind: str, key: str) -> str:
        return f"{service.pk}:{kind}:{key}"


class AlertNotification(models.Model):
    """The outbox: one row per (alert event, channel), claimed atomically by a sender."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="notifications")
    channel = models.ForeignKey(AlertChannel, on_delete=models.CASCADE, related_name="notifications")
    event = models.CharField(max_length=10, choices=AlertState.choices)
    status = models.CharField(max_length=12, choices=OutboxStatus.choices, default=OutboxStatus.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.IntegerField(default=0)
    error = models.TextField(blank=True)
    # the alert as it was when the event happened, so a late send tells the truth
    payload = models.JSONField(default=dict)

    class Meta:
        ordering = ["created_at"]
        indexes = [
            # deliver_pending: due rows by status
            models.Index(fields=["status", "next_attempt_at"], name="alert_outbox_due"),
            # the per-channel hourly cap
            models.Index(fields=["channel", "status", "sent_at"], name="alert_outbox_channel_sent"),
        ]

    def claim(self, now: datetime) -> bool:
        """Take this row for sending; False if another worker took it first."""
        won = AlertNotification.objects.filter(
            pk=self.pk, status=self.status, attempts=self.attempts
        ).update(status=OutboxStatus.SENDING, claimed_at=now, attempts=models.F("attempts") + 1)
        if won:
            self.status, self.claimed_at, self.attempts = OutboxStatus.SENDING, now, self.attempts + 1
        return bool(won)
