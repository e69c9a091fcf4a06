"""Per-token upload rate limit: one misbehaving agent cannot flood ingest."""
from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from apps.services.auth import is_agent


class AgentTokenRateThrottle(SimpleRateThrottle):
    scope = "upload"

    def get_rate(self):
        # Read at request time so settings overrides (and tests) take effect.
        return settings.GOTRIAGE_UPLOAD_RATE

    def get_cache_key(self, request, view):
        if not is_agent(request.user):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.token.prefix}

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except Exception:  # cache (Redis) down: accept; losing an upload is worse than a burst
            return True
