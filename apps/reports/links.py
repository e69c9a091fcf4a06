"""Absolute dashboard links for mails and webhooks.

The paths are literal on purpose: they are the UI's public addresses, and
mails must not depend on apps/web URL names existing.
"""
from __future__ import annotations

from django.conf import settings


def absolute(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def fleet_url() -> str:
    return absolute("/")


def service_url(service) -> str:
    return absolute(f"/services/{service.slug}/")


def site_url(site) -> str:
    return absolute(f"/services/{site.service.slug}/sites/{site.pk}/")


def settings_url(team) -> str:
    return absolute(f"/reports/settings/{team.slug}/")


def unsubscribe_url(token: str) -> str:
    return absolute(f"/reports/unsubscribe/{token}/")
