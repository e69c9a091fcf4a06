"""Canary gate: canary sites that grow where the baseline's do not fail the rollout."""
from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from apps.goroutines import canary
from apps.services.models import AgentToken


def _upload(post_upload, series, instance, version, minutes_ago):
    now = timezone.now()
    for (body, _), ago in zip(series, minutes_ago):
        at = (now - timedelta(minutes=ago)).isoformat()
        post_upload(body + f"\n{instance}".encode() * 0, instance=instance, version=version, captured_at=at)


def test_canary_that_leaks_fails_and_a_steady_baseline_passes(post_upload, series_of_dumps, api, agent_token, member_client):
    now = timezone.now()
    # baseline: the same early dump twice (no growth); canary: the leak growing
    base = series_of_dumps[0][0]
    post_upload(base, instance="stable-1", version="v1", captured_at=(now - timedelta(minutes=10)).isoformat())
    post_upload(base + b"\n", instance="stable-1", version="v1", captured_at=(now - timedelta(minutes=2)).isoformat())
    for i, ago in ((0, 12), (3, 6), (5, 1)):
        post_upload(series_of_dumps[i][0] + b"\n\n", instance="canary-1", version="v2", captured_at=(now - timedelta(minutes=ago)).isoformat())
    response = api.get("/api/v1/services/checkout/canary?baseline=v1&canary=v2&window=15m", HTTP_AUTHORIZATION=f"Bearer {agent_token[1]}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["verdict"] == "fail" and body["healthy"] is False
    assert body["growing_sites"][0]["function"].endswith("Fetch.func1")
    same = member_client.get("/api/v1/services/checkout/canary?baseline=v1&canary=v1&window=15m").json()
    assert same["verdict"] == "pass"


def test_without_data_the_verdict_is_inconclusive(member_client, service):
    body = member_client.get("/api/v1/services/checkout/canary?baseline=v1&canary=v2").json()
    assert body["verdict"] == "inconclusive" and body["healthy"] is True


def test_another_services_token_gets_404(api, other_service, service):
    _, raw = AgentToken.issue(other_service)
    response = api.get("/api/v1/services/checkout/canary?baseline=a&canary=b", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 404


def test_bad_window_is_400(member_client, service):
    assert member_client.get("/api/v1/services/checkout/canary?baseline=a&canary=b&window=forever").status_code == 400
    assert member_client.get("/api/v1/services/checkout/canary?canary=b").status_code == 400


def test_parse_window():
    assert canary.parse_window("15m") == 900
    assert canary.parse_window("2h") == 7200
