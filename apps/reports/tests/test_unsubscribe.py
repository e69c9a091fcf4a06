"""The signed unsubscribe link works without a login, asks before acting, and rejects forgeries."""
import pytest
from django.test import Client

from apps.reports.emails import read_unsubscribe_token, unsubscribe_token
from apps.reports.models import ReportOptOut, ReportSubscription


@pytest.fixture
def anon():
    # CSRF checks on, as for a real browser or a mail provider's one-click POST.
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def link(member, team):
    return f"/reports/unsubscribe/{unsubscribe_token(member, team)}/"


def test_get_only_asks_so_mail_scanners_unsubscribe_nobody(anon, link, member, team):
    response = anon.get(link)
    assert response.status_code == 200
    assert b"Unsubscribe?" in response.content and b"alice@example.com" in response.content
    assert b'<form method="post">' in response.content
    assert not ReportOptOut.objects.exists()


def test_post_unsubscribes_without_a_login(anon, link, member, team):
    response = anon.post(link)
    assert response.status_code == 200
    assert b"Unsubscribed" in response.content
    assert ReportOptOut.objects.filter(team=team, user=member).exists()
    assert member not in ReportSubscription.for_team(team).recipients()


def test_rfc8058_one_click_post_unsubscribes(anon, link, member, team):
    response = anon.post(link, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert ReportOptOut.objects.filter(team=team, user=member).count() == 1


def test_unsubscribing_twice_is_harmless(anon, link, member, team):
    anon.post(link)
    anon.post(link)
    assert ReportOptOut.objects.filter(team=team, user=member).count() == 1


def test_unsubscribing_from_one_team_keeps_the_other(anon, member, team, other_team):
    from apps.services.models import Membership

    Membership.objects.create(team=other_team, user=member)
    anon.post(f"/reports/unsubscribe/{unsubscribe_token(member, team)}/")
    assert member in ReportSubscription.for_team(other_team).recipients()


@pytest.mark.parametrize("mangle", [
    lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # signature changed
    lambda t: "eyJ1IjoyLCJ0IjoxfQ" + t[t.index(":"):],  # payload swapped for another user id
    lambda t: "garbage",
])
def test_a_tampered_link_is_rejected(anon, member, team, make_user, mangle):
    make_user("bob", team=team)
    token = mangle(unsubscribe_token(member, team))
    assert read_unsubscribe_token(token) is None
    for method in (anon.get, anon.post):
        response = method(f"/reports/unsubscribe/{token}/")
        assert response.status_code == 400
        assert b"not valid" in response.content
    assert not ReportOptOut.objects.exists()


def test_a_link_signed_for_another_purpose_is_rejected(anon, member, team):
    from django.core import signing

    token = signing.dumps({"u": member.pk, "t": team.pk}, salt="something.else", compress=True)
    assert anon.post(f"/reports/unsubscribe/{token}/").status_code == 400


def test_a_link_for_a_deleted_user_is_rejected(anon, link, member):
    member.delete()
    assert anon.post(link).status_code == 400
