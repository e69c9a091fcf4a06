"""Goroutine snapshots, content-addressed stacks, and per-blocking-site findings."""
from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from apps.services.models import Instance, Service


class StackSignature(models.Model):
    """A normalised stack, stored once and shared by every snapshot and service."""

    signature = models.CharField(max_length=64, primary_key=True)
    frames = models.JSONField(help_text="[{function, file, line}, …] innermost first")
    created_by = models.JSONField(null=True, blank=True)
    blocking_key = models.CharField(max_length=64, db_index=True)
    creation_key = models.CharField(max_length=64, blank=True)
    site_function = models.TextField()
    site_file = models.TextField(blank=True)
    site_line = models.IntegerField(null=True, blank=True)
    first_seen = models.DateTimeField(default=timezone.now)


class Snapshot(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="snapshots")
    instance = models.ForeignKey(Instance, null=True, blank=True, on_delete=models.SET_NULL, related_name="snapshots")
    upload = models.OneToOneField("ingest.Upload", null=True, blank=True, on_delete=models.SET_NULL, related_name="snapshot")
    captured_at = models.DateTimeField(default=timezone.now)
    format = models.CharField(max_length=32)
    go_version = models.CharField(max_length=40, blank=True)
    version = models.CharField(max_length=100, blank=True, help_text="release label")
    total = models.IntegerField(default=0)
    group_count = models.IntegerField(default=0)
    truncated = models.BooleanField(default=False)
    leak_profile = models.BooleanField(default=False)
    extra = models.JSONField(default=dict, blank=True)
    # copied from the upload so canary comparisons can select by label
    labels = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-captured_at"]
        indexes = [
            # service page charts and "recent snapshots": by time per service
            models.Index(fields=["service", "captured_at"], name="snapshot_service_time"),
            models.Index(fields=["instance", "captured_at"], name="snapshot_instance_time"),
        ]


class SnapshotGroup(models.Model):
    """One exact stack in one snapshot: (signature, wait reason) with its count."""

    snapshot = models.ForeignKey(Snapshot, on_delete=models.CASCADE, related_name="groups")
    signature = models.ForeignKey(StackSignature, on_delete=models.PROTECT, related_name="+")
    blocking_key = models.CharField(max_length=64)  # copied for aggregation without a join
    wait_reason = models.CharField(max_length=100)
    count = models.IntegerField()
    leaked = models.IntegerField(default=0)
    wait_minutes_min = models.IntegerField(null=True, blank=True)
    wait_minutes_max = models.IntegerField(null=True, blank=True)
    labels = models.JSONField(default=dict, blank=True)
    pattern = models.CharField(max_length=64, blank=True)
    benign = models.CharField(max_length=64, blank=True)

    class Meta:
        indexes = [models.Index(fields=["snapshot", "blocking_key"], name="group_snapshot_key")]


class TriageState(models.TextChoices):
    NEW = "new", "New"
    INVESTIGATING = "investigating", "Investigating"
    KNOWN_BENIGN = "known_benign", "Known benign"
    FIXED = "fixed", "Fixed"


class Lifecycle(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Auto-resolved"


class BlockingSite(models.Model):
    """A place where a service's goroutines block, with its leak verdict and triage state.

    A finding is a blocking site whose verdict says `suspect`.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="blocking_sites")
    blocking_key = models.CharField(max_length=64)
    wait_reason = models.CharField(max_length=100)
    site_function = models.TextField()
    site_file = models.TextField(blank=True)
    site_line = models.IntegerField(null=True, blank=True)
    created_by = models.JSONField(null=True, blank=True)
    sample_signature = models.ForeignKey(StackSignature, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    pattern = models.CharField(max_length=64, blank=True)
    benign = models.CharField(max_length=64, blank=True)
    first_seen = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)
    last_count = models.IntegerField(default=0)
    peak_count = models.IntegerField(default=0)
    # the count the site started from in the scoring window; back at or below
    # it after being a suspect means auto-resolved
    baseline_count = models.IntegerField(default=0)
    # verdict from goruntime.score_site, recomputed after every snapshot
    score = models.FloatField(default=0)
    suspect = models.BooleanField(default=False)
    evidence = models.JSONField(default=list, blank=True)
    leaked = models.IntegerField(default=0, help_text="proved by Go's goroutineleak profile")
    lifecycle = models.CharField(max_length=16, choices=Lifecycle.choices, default=Lifecycle.OPEN)
    suspect_since = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    # set by people; survives re-scoring
    triage_state = models.CharField(max_length=20, choices=TriageState.choices, default=TriageState.NEW)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    notes = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-score"]
        constraints = [models.UniqueConstraint(fields=["service", "blocking_key"], name="uniq_site_per_service")]
        indexes = [
            # suspects table on the service page and fleet counts
            models.Index(fields=["service", "suspect", "-score"], name="site_suspects"),
        ]

    @property
    def is_open_suspect(self) -> bool:
        return self.suspect and self.lifecycle == Lifecycle.OPEN and self.triage_state != TriageState.KNOWN_BENIGN


class SiteSample(models.Model):
    """A blocking site's count in one snapshot: the series behind scores and charts."""

    site = models.ForeignKey(BlockingSite, on_delete=models.CASCADE, related_name="samples")
    snapshot = models.ForeignKey(Snapshot, on_delete=models.CASCADE, related_name="site_samples")
    instance = models.ForeignKey(Instance, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField()
    count = models.IntegerField()
    total = models.IntegerField(help_text="all goroutines in the snapshot")
    leaked = models.IntegerField(default=0)
    max_wait_minutes = models.IntegerField(null=True, blank=True)
    # goruntime.site_shapes(): how the site's goroutines were created (ids, parents, minutes)
    shape = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["site", "snapshot"], name="uniq_site_sample")]
        indexes = [models.Index(fields=["site", "at"], name="site_sample_time")]


class TriageEvent(models.Model):
    """Audit history of what people changed on a blocking site."""

    site = models.ForeignKey(BlockingSite, on_delete=models.CASCADE, related_name="events")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    field = models.CharField(max_length=32)
    old = models.TextField(blank=True)
    new = models.TextField(blank=True)

    class Meta:
        ordering = ["-at"]
