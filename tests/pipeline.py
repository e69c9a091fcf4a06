"""Fixtures for pipeline tests: post uploads as an agent, with on-commit work executed.

Imported by the conftest.py of apps/ingest, goroutines, telemetry and tuning tests.
"""
from __future__ import annotations

from urllib.parse import urlencode

import pytest

RUN = "go1.26.6/chan_send_timeout/short"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture
def api():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def post_upload(api, agent_token, django_capture_on_commit_callbacks):
    """post_upload(body, token=None, content_type=..., **query) → response; tasks run in-process."""

    def post(body: bytes, token: str | None = None, content_type: str = "application/octet-stream", headers=None, **query):
        query.setdefault("instance", "pod-1")
        url = "/api/v1/uploads/?" + urlencode(query)
        extra = {"HTTP_AUTHORIZATION": f"Bearer {token or agent_token[1]}"}
        extra.update(headers or {})
        with django_capture_on_commit_callbacks(execute=True):
            if content_type.startswith("multipart"):
                return api.post(url, body, format="multipart", **extra)
            return api.post(url, body, content_type=content_type, **extra)

    return post


@pytest.fixture
def series_of_dumps():
    """The six debug=2 dumps of one leaking run, oldest first, as (bytes, captured_at ISO)."""
    from tests.fixtures import read_shared

    return [(read_shared(f"runs/{RUN}/s{i:02d}_goroutine_debug2.txt"), f"2026-11-20T10:{i * 5:02d}:00Z") for i in range(6)]


@pytest.fixture
def upload_series(post_upload, series_of_dumps):
    """Upload the six dumps of a leak (captured five minutes apart); returns the responses."""

    def run(instance="pod-1", **query):
        return [post_upload(body, instance=instance, captured_at=at, **query) for body, at in series_of_dumps]

    return run
