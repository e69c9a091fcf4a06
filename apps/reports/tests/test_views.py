"""Report preview, subscription settings and alert channel pages: access, CSRF, actions."""
from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from apps.reports.models import AlertChannel, ChannelKind, ReportOptOut, ReportSubscription
from apps.reports.tests.factories import seed_week

PAGES = ["/reports/preview/team-a/", "/reports/settings/team-a/", "/reports/channels/team-a/"]


@pytest.mark.parametrize("url", PAGES)
def test_pages_need_a_login(client, team, url):
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


@pytest.mark.parametrize("url", PAGES)
def test_another_teams_pages_are_404(client, outsider, team, url):
    client.force_login(outsider)
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("url", PAGES)
def test_an_unknown_team_is_404(member_client, url):
    assert member_client.get(url.replace("team-a", "nope")).status_code == 404


def test_a_superuser_sees_any_team(client, team, make_user):
    client.force_login(make_user("root", is_superuser=True))
    assert client.get("/reports/settings/team-a/").status_code == 200


def test_preview_shows_next_weeks_report_with_inline_charts(member_client, service):
    seed_week(service, timezone.now(), step_hours=6, instances=1)
    response = member_client.get("/reports/preview/team-a/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Weekly report preview" in body and "<iframe" in body
    assert "data:image/png;base64," in body and "cid:" not in body
    assert "main.(*Worker).fanOut.func2" in body


def test_members_can_opt_out_and_back_in(member_client, member, team):
    member_client.post("/reports/settings/team-a/", {"action": "opt_out"})
    assert ReportOptOut.objects.filter(team=team, user=member).exists()
    assert "Subscribe me again" in member_client.get("/reports/settings/team-a/").content.decode()
    member_client.post("/reports/settings/team-a/", {"action": "opt_in"})
    assert not ReportOptOut.objects.exists()


def test_turning_the_team_report_back_on_schedules_the_next_slot(member_client, team):
    member_client.post("/reports/settings/team-a/", {"action": "disable"})
    assert ReportSubscription.objects.get(team=team).enabled is False
    ReportSubscription.objects.filter(team=team).update(next_report_at=timezone.now() - timezone.timedelta(days=30))
    member_client.post("/reports/settings/team-a/", {"action": "enable"})
    sub = ReportSubscription.objects.get(team=team)
    assert sub.enabled and sub.next_report_at > timezone.now()


def test_forms_need_the_csrf_token(member, team):
    client = Client(enforce_csrf_checks=True)
    client.force_login(member)
    assert client.post("/reports/settings/team-a/", {"action": "opt_out"}).status_code == 403
    assert client.post("/reports/channels/team-a/", {"action": "add", "kind": "webhook", "target": "https://x.example/"}).status_code == 403
    assert not ReportOptOut.objects.exists() and not AlertChannel.objects.exists()
    page = client.get("/reports/channels/team-a/").content.decode()
    assert 'name="csrfmiddlewaretoken"' in page


@pytest.mark.parametrize("kind,target", [
    ("webhook", "https://hooks.example.com/gotriage"),
    ("slack", "https://hooks.slack.example/services/T0/B0/x"),
    ("alertmanager", "http://alertmanager:9093/api/v2/alerts"),
    ("email", "oncall@example.com, sre@example.com"),
])
def test_members_add_channels(member_client, team, kind, target):
    response = member_client.post("/reports/channels/team-a/", {"action": "add", "kind": kind, "target": target, "name": "ops"})
    assert response.status_code == 302
    channel = AlertChannel.objects.get()
    assert (channel.team, channel.kind, channel.target, channel.name) == (team, kind, target, "ops")
    assert target in member_client.get("/reports/channels/team-a/").content.decode()


@pytest.mark.parametrize("kind,target,error", [
    ("webhook", "ftp://example.com/x", "Enter an http:// or https:// URL."),
    ("slack", "not a url", "Enter an http:// or https:// URL."),
    ("alertmanager", "", "Enter a target."),
    ("email", "oncall@", "Not an email address: oncall@"),
    ("email", " , ", "Enter at least one email address."),
    ("pager", "https://x.example/", "Choose a channel kind."),
])
def test_bad_channels_are_refused_with_a_reason(member_client, kind, target, error):
    response = member_client.post("/reports/channels/team-a/", {"action": "add", "kind": kind, "target": target}, follow=True)
    assert error in response.content.decode()
    assert not AlertChannel.objects.exists()


def test_members_delete_channels_but_not_another_teams(member_client, team, other_team):
    mine = AlertChannel.objects.create(team=team, kind=ChannelKind.WEBHOOK, target="https://a.example/")
    theirs = AlertChannel.objects.create(team=other_team, kind=ChannelKind.WEBHOOK, target="https://b.example/")
    assert member_client.post("/reports/channels/team-a/", {"action": "delete", "channel": theirs.pk}).status_code == 404
    member_client.post("/reports/channels/team-a/", {"action": "delete", "channel": mine.pk})
    assert list(AlertChannel.objects.all()) == [theirs]


def test_test_send_reaches_the_receiver(member_client, team, webhook_receiver):
    channel = AlertChannel.objects.create(team=team, kind=ChannelKind.SLACK, target=webhook_receiver.url + "/hook")
    response = member_client.post("/reports/channels/team-a/", {"action": "test", "channel": channel.pk}, follow=True)
    assert "Test notification sent" in response.content.decode()
    (body,) = webhook_receiver.bodies("/hook")
    assert body["text"] == "[FIRING] Test notification for team team-a from gotriage"


def test_a_failing_test_send_says_why(member_client, team, webhook_receiver):
    webhook_receiver.status = 404
    channel = AlertChannel.objects.create(team=team, kind=ChannelKind.WEBHOOK, target=webhook_receiver.url + "/gone")
    response = member_client.post("/reports/channels/team-a/", {"action": "test", "channel": channel.pk}, follow=True)
    assert "failed: HTTP 404" in response.content.decode()


def test_reports_index_lists_only_my_teams(client, make_user, team, other_team):
    from apps.services.models import Membership

    user = make_user("bob", team=team)
    Membership.objects.create(team=other_team, user=make_user("eve"))
    client.force_login(user)
    # one team: straight to its preview
    response = client.get("/reports/")
    assert response.status_code == 302 and response["Location"].endswith(f"/reports/preview/{team.slug}/")
    # two teams: a list, without teams the user is not in
    from apps.services.models import Team

    third = Team.objects.create(slug="team-c", name="Team C")
    Membership.objects.create(team=third, user=user)
    body = client.get("/reports/").content.decode()
    assert "/reports/preview/team-c/" in body and f"/reports/preview/{team.slug}/" in body
    assert f"/reports/preview/{other_team.slug}/" not in body
