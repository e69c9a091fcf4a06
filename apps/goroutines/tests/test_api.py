"""Read API for snapshots, groups, diffs, sites and findings: team-scoped, paginated."""
from __future__ import annotations

import pytest

from apps.goroutines.models import BlockingSite, Snapshot

from .test_findings import LEAK_FUNCTION


@pytest.fixture
def leak(upload_series, service):
    upload_series()
    return BlockingSite.objects.get(service=service, site_function=LEAK_FUNCTION)


def test_snapshots_list_is_paginated_and_filterable(leak, member_client):
    body = member_client.get("/api/v1/snapshots/?service=checkout&limit=2").json()
    assert body["count"] == 6 and len(body["results"]) == 2
    assert member_client.get("/api/v1/snapshots/?since=2026-11-20T10:20:00Z").json()["count"] == 2


def test_snapshot_groups_by_stack_and_by_site(leak, member_client):
    snapshot = Snapshot.objects.order_by("-captured_at").first()
    stacks = member_client.get(f"/api/v1/snapshots/{snapshot.pk}/groups/").json()["results"]
    assert stacks[0]["count"] >= stacks[-1]["count"]
    assert stacks[0]["stack"]["frames"]
    sites = member_client.get(f"/api/v1/snapshots/{snapshot.pk}/groups/?by=blocking_key").json()["results"]
    assert sites[0]["site"]["site_function"] == LEAK_FUNCTION


def test_diff_between_two_snapshots(leak, member_client):
    first, last = Snapshot.objects.order_by("captured_at")[0], Snapshot.objects.order_by("-captured_at")[0]
    body = member_client.get(f"/api/v1/snapshots/diff/?before={first.pk}&after={last.pk}").json()
    top = body["rows"][0]
    assert top["status"] in ("grown", "new") and top["delta"] > 0
    assert top["site"]["site_function"] == LEAK_FUNCTION


def test_diff_between_two_time_points(leak, member_client):
    url = "/api/v1/snapshots/diff/?service=checkout&before_time=2026-11-20T10:01:00Z&after_time=2026-11-20T10:30:00Z"
    body = member_client.get(url).json()
    assert body["rows"][0]["delta"] > 0


def test_diff_needs_both_sides(leak, member_client):
    assert member_client.get("/api/v1/snapshots/diff/").status_code == 400
    assert member_client.get("/api/v1/snapshots/diff/?before=not-a-uuid&after=x").status_code == 404


def test_findings_list_and_series(leak, member_client):
    body = member_client.get("/api/v1/findings/?service=checkout").json()
    assert str(leak.pk) in [f["id"] for f in body["results"]]
    series = member_client.get(f"/api/v1/sites/{leak.pk}/series/").json()
    counts = [p["count"] for p in series["summed"]]
    assert len(counts) == 6 and counts[-1] > counts[0]
    assert list(series["instances"]) == ["pod-1"]
    assert len(member_client.get(f"/api/v1/sites/{leak.pk}/series/?points=3").json()["summed"]) <= 3


def test_sites_filter_by_suspect(leak, member_client):
    body = member_client.get("/api/v1/sites/?suspect=false").json()
    assert all(not s["suspect"] for s in body["results"])
    assert body["count"] > 0


def test_patch_records_events_and_validates_owner(leak, member_client):
    bad = member_client.patch(f"/api/v1/findings/{leak.pk}/", {"owner": "mallory"}, content_type="application/json")
    assert bad.status_code == 400
    ok = member_client.patch(f"/api/v1/findings/{leak.pk}/", {"triage_state": "fixed"}, content_type="application/json")
    assert ok.status_code == 200
    events = member_client.get(f"/api/v1/findings/{leak.pk}/events/").json()["results"]
    assert events[0] == {**events[0], "field": "triage_state", "old": "new", "new": "fixed", "user": "alice"}


def test_another_teams_objects_are_404(leak, client, outsider):
    client.force_login(outsider)
    snapshot = Snapshot.objects.first()
    assert client.get(f"/api/v1/snapshots/{snapshot.pk}/").status_code == 404
    assert client.get(f"/api/v1/snapshots/{snapshot.pk}/groups/").status_code == 404
    assert client.get(f"/api/v1/findings/{leak.pk}/").status_code == 404
    assert client.get(f"/api/v1/sites/{leak.pk}/series/").status_code == 404
    assert client.patch(f"/api/v1/findings/{leak.pk}/", {"notes": "x"}, content_type="application/json").status_code == 404
    assert client.get(f"/api/v1/snapshots/diff/?before={snapshot.pk}&after={snapshot.pk}").status_code == 404
    assert client.get("/api/v1/snapshots/diff/?service=checkout&before_time=2026-11-20T10:00:00Z&after_time=2026-11-20T11:00:00Z").status_code == 404
    assert client.get("/api/v1/findings/").json()["count"] == 0
    assert client.get("/api/v1/services/checkout/runtime-series").status_code == 404
    assert client.get("/api/v1/services/checkout/canary?baseline=a&canary=b").status_code == 404


def test_anonymous_reads_are_refused(leak, client):
    assert client.get("/api/v1/findings/").status_code in (401, 403)


def test_list_query_counts_stay_flat(leak, member_client, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        member_client.get("/api/v1/findings/")
    with django_assert_max_num_queries(8):
        member_client.get("/api/v1/snapshots/")


def test_service_summary(leak, member_client, client, outsider):
    body = member_client.get("/api/v1/services/checkout/summary").json()
    assert body["goroutines"] > 0 and body["open_findings"] >= 1 and body["instances"] == 1
    client.force_login(outsider)
    assert client.get("/api/v1/services/checkout/summary").status_code == 404


def test_finding_series_route(leak, member_client):
    assert len(member_client.get(f"/api/v1/findings/{leak.pk}/series/").json()["summed"]) == 6
