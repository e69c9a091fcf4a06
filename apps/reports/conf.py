"""Report and alert settings: a Django setting if the project defines it, else the environment.

gotriage/settings.py is not this app's file; reading through here means the
settings work today from the environment and keep working once they are moved
into settings.py.
"""
from __future__ import annotations

import os
from zoneinfo import ZoneInfo

from django.conf import settings

DEFAULTS = {
    "GOTRIAGE_REPORT_WEEKDAY": 0,  # Monday (Python's weekday numbering)
    "GOTRIAGE_REPORT_HOUR": 9,
    "GOTRIAGE_REPORT_TZ": "UTC",
    "GOTRIAGE_ALERT_MIN_SCORE": 0.6,
    # The same alert key notifies at most once per this many minutes (flapping guard).
    "GOTRIAGE_ALERT_MIN_INTERVAL_MINUTES": 30,
    # At most this many notifications per channel per hour; the rest are suppressed.
    "GOTRIAGE_ALERT_MAX_PER_HOUR": 20,
    # GC thrash from gctrace density (or a fresh recommendation saying so).
    "GOTRIAGE_ALERT_GC_PER_MINUTE": 30.0,
    "GOTRIAGE_ALERT_WINDOW_MINUTES": 15,
    "GOTRIAGE_WEBHOOK_TIMEOUT": 5.0,
    # Webhooks to loopback/private/link-local addresses are refused unless allowed:
    # team members configure URLs, and the server must not become their proxy.
    "GOTRIAGE_WEBHOOK_ALLOW_PRIVATE": False,
}


def get(name: str):
    default = DEFAULTS[name]
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name)
    if value is None or value == "":
        return default
    if isinstance(default, bool) and isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return type(default)(value)


def report_tz() -> ZoneInfo:
    return ZoneInfo(get("GOTRIAGE_REPORT_TZ"))
