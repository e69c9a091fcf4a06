"""Runtime-setting recommendations per service, kept as a history."""
from __future__ import annotations

from django.db import models
from django.utils import timezone

from apps.services.models import Service


class Recommendation(models.Model):
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="recommendations")
    created_at = models.DateTimeField(default=timezone.now)
    gomaxprocs = models.IntegerField(null=True, blank=True, help_text="null = leave unset")
    gogc = models.CharField(max_length=16, help_text='an integer or "off"')
    gomemlimit = models.BigIntegerField(null=True, blank=True)
    rss_alert_bytes = models.BigIntegerField(null=True, blank=True)
    go_version = models.CharField(max_length=40, blank=True)
    # the whole goruntime.runtime.recommend() result: inputs, signals, rationale, snippets
    payload = models.JSONField(default=dict)

    class Meta:
        ordering = ["-created_at"]
        get_latest_by = "created_at"
        indexes = [models.Index(fields=["service", "-created_at"], name="rec_service_latest")]

    def same_settings_as(self, other: "Recommendation | None") -> bool:
        return other is not None and (self.gomaxprocs, self.gogc, self.gomemlimit) == (
            other.gomaxprocs, other.gogc, other.gomemlimit,
        )
