"""Raw uploads: stored durably before any parsing happens."""
from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

from apps.services.models import Instance, Service


class Kind(models.TextChoices):
    GOROUTINE_DEBUG2 = "goroutine_debug2", "goroutine dump (debug=2 / traceback)"
    GOROUTINE_DEBUG1 = "goroutine_debug1", "goroutine profile (debug=1)"
    GOROUTINE_PROTO = "goroutine_proto", "goroutine profile (protobuf)"
    GOROUTINELEAK = "goroutineleak", "goroutineleak profile"
    EXPVAR = "expvar", "expvar / MemStats JSON"
    RUNTIME_METRICS = "runtime_metrics", "runtime/metrics dump"
    PROMETHEUS = "prometheus", "Prometheus metrics"
    GCTRACE = "gctrace", "gctrace log"
    CGROUP = "cgroup", "cgroup limits"

    @classmethod
    def goroutine_kinds(cls) -> set[str]:
        return {cls.GOROUTINE_DEBUG2, cls.GOROUTINE_DEBUG1, cls.GOROUTINE_PROTO, cls.GOROUTINELEAK}


class Status(models.TextChoices):
    RECEIVED = "received"
    PROCESSING = "processing"
    PROCESSED = "processed"
    FAILED = "failed"


def upload_path(upload: "Upload", filename: str) -> str:
    return f"raw/{upload.service_id}/{upload.received_at:%Y/%m/%d}/{upload.sha256}"


class Upload(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="uploads")
    instance = models.ForeignKey(Instance, null=True, blank=True, on_delete=models.SET_NULL, related_name="uploads")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    sha256 = models.CharField(max_length=64)
    size = models.BigIntegerField(help_text="bytes after decompression")
    raw = models.FileField(upload_to=upload_path, max_length=300, null=True, blank=True)
    filename = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECEIVED)
    error = models.TextField(blank=True)
    error_line = models.IntegerField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # when the latest processing attempt started: the sweeper's clock for lost workers
    started_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    captured_at = models.DateTimeField(default=timezone.now)
    go_version = models.CharField(max_length=40, blank=True)
    version = models.CharField(max_length=100, blank=True, help_text="release label of the service")
    labels = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [models.UniqueConstraint(fields=["service", "sha256"], name="uniq_upload_content")]
        indexes = [
            # the service page's recent uploads, newest first
            models.Index(fields=["service", "-received_at"], name="upload_service_recent"),
            # the sweeper: uploads stuck in received
            models.Index(fields=["status", "received_at"], name="upload_status_age"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.id}"
