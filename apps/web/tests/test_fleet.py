from datetime import timedelta

import pytest
from django.utils import timezone

from apps.services.models import Service
from apps.web.tests import factories as F


@pytest.mark.django_db
def test_it_lists_only_the_users_services(member_client, service, other_service):
    body = member_client.get("/").content.decode()
    assert "checkout" in body
    assert "billing" not in body


@pytest.mark.django_db
def test_it_shows_goroutines_suspects_headroom_and_go_version(member_client, service, leaky):
    r = member_client.get("/")
    row = next(x for x in r.context["rows"] if x["service"] == service)
    assert row["suspects"] == 2
    assert row["goroutines"] == 2 * 124  # two instances, latest hour
    assert row["headroom"] is not None and 0 < row["headroom_frac"] < 1
    assert row["go_version"] == "go1.26.6"
    assert not row["stale"]
    assert '<svg class="spark' in r.content.decode()


@pytest.mark.django_db
def test_known_benign_suspects_are_not_counted(member_client, service, leaky):
    leaky["suspect"].triage_state = "known_benign"
    leaky["suspect"].save()
    row = member_client.get("/").context["rows"][0]
    assert row["suspects"] == 1


@pytest.mark.django_db
def test_stale_and_never_uploaded_services_are_marked(member_client, service, team):
    F.quiet_services(team)
    r = member_client.get("/")
    rows = {x["service"].slug: x for x in r.context["rows"]}
    assert rows["ledger"]["stale"] and not rows["ledger"]["never"]
    assert rows["edge-proxy"]["never"]
    body = r.content.decode()
    assert "stale" in body and "no uploads yet" in body


@pytest.mark.django_db
def test_empty_state_says_what_to_do(client, make_user):
    client.force_login(make_user("lonely"))
    body = client.get("/").content.decode()
    assert "No services yet" in body and "create_service" in body


@pytest.mark.django_db
def test_fleet_query_count_does_not_grow_with_services(member_client, team, django_assert_num_queries):
    def make(n):
        for i in range(n):
            svc = Service.objects.create(team=team, slug=f"svc-{Service.objects.count()}")
            F.snapshot(svc, F.instance(svc), timezone.now() - timedelta(days=2), [])

    make(2)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        member_client.get("/")
    make(8)
    with django_assert_num_queries(len(few.captured_queries)):
        member_client.get("/")
