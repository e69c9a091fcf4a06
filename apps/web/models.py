"""Ad-hoc analyses: dumps a user dropped into the page, analysed without a service. Private to that user."""
from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class AdhocAnalysis(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="adhoc_analyses")
    created_at = models.DateTimeField(default=timezone.now)
    title = models.CharField(max_length=200, blank=True)
    own_prefixes = models.TextField(blank=True)
    # gr.analyze() output, plus "stacks": {blocking_key: {frames, created_by}} for expanding groups
    result = models.JSONField(default=dict)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "-created_at"], name="adhoc_user_recent")]

    def __str__(self) -> str:
        return self.title or str(self.id)
