"""Every page needs a login, and another team's service is a 404 — on every URL, GET and POST."""
import pytest
from django.test import Client

from apps.web.tests import factories as F


def urls(service, d):
    s = service.slug
    snap = d["snaps"][-1].pk
    site = d["suspect"].pk
    return [
        f"/services/{s}/", f"/services/{s}/snapshots/", f"/services/{s}/snapshots/{snap}/",
        f"/services/{s}/snapshots/{snap}/raw", f"/services/{s}/diff/", f"/services/{s}/sites/{site}/",
        f"/services/{s}/tuning/", f"/services/{s}/tuning/what-if?gogc=100", f"/services/{s}/settings/",
    ]


def post_urls(service, d):
    s = service.slug
    token = service.tokens.first()
    return [
        f"/services/{s}/sites/{d['suspect'].pk}/triage", f"/services/{s}/settings/",
        f"/services/{s}/settings/tokens", f"/services/{s}/settings/tokens/{token.prefix}/revoke",
    ]


@pytest.mark.django_db
def test_it_redirects_anonymous_users_to_login(client, service, leaky, agent_token):
    for url in ["/", "/adhoc/"] + urls(service, leaky):
        r = client.get(url)
        assert r.status_code == 302 and r["Location"].startswith("/login/"), url


@pytest.mark.django_db
def test_it_answers_404_for_another_teams_service(outsider_client, service, leaky, agent_token):
    for url in urls(service, leaky):
        assert outsider_client.get(url).status_code == 404, url
    for url in post_urls(service, leaky):
        assert outsider_client.post(url, {"triage_state": "known_benign", "name": "x"}).status_code == 404, url
    leaky["suspect"].refresh_from_db()
    assert leaky["suspect"].triage_state == "new"
    assert service.tokens.filter(revoked_at__isnull=True).count() == 1


@pytest.mark.django_db
def test_objects_of_one_service_are_not_reachable_through_another(member_client, service, make_service, team, leaky):
    """A snapshot or site id under a different (even visible) service slug is a 404."""
    sibling = make_service("payments", team=team)
    assert member_client.get(f"/services/{sibling.slug}/snapshots/{leaky['snaps'][0].pk}/").status_code == 404
    assert member_client.get(f"/services/{sibling.slug}/sites/{leaky['suspect'].pk}/").status_code == 404


@pytest.mark.django_db
def test_member_sees_every_page(member_client, service, leaky, agent_token):
    for url in ["/", "/adhoc/"] + [u for u in urls(service, leaky) if "raw" not in u and "what-if" not in u]:
        assert member_client.get(url).status_code == 200, url


@pytest.mark.django_db
def test_superuser_sees_every_service(client, django_user_model, other_service):
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pw-for-tests-1")
    client.force_login(admin)
    assert client.get(f"/services/{other_service.slug}/").status_code == 200


@pytest.mark.django_db
def test_forms_require_csrf(member, service, leaky):
    c = Client(enforce_csrf_checks=True)
    c.force_login(member)
    r = c.post(f"/services/{service.slug}/sites/{leaky['suspect'].pk}/triage", {"triage_state": "fixed"})
    assert r.status_code == 403
    page = c.get(f"/services/{service.slug}/sites/{leaky['suspect'].pk}/")
    assert b'name="csrfmiddlewaretoken"' in page.content


@pytest.mark.django_db
def test_the_script_frame_is_escaped_on_every_page(member_client, service, leaky):
    payload = b"<script>alert(1)</script>"
    F.recommendation(service, rationale=["<script>alert(1)</script> in rationale"])
    pages = [u for u in urls(service, leaky) if "raw" not in u and "what-if" not in u]
    pages += [f"/services/{service.slug}/sites/{leaky['xss_site'].pk}/",
              f"/services/{service.slug}/snapshots/{leaky['snaps'][-1].pk}/?key=stack",
              f"/services/{service.slug}/snapshots/{leaky['snaps'][-1].pk}/?key=creation",
              f"/services/{service.slug}/diff/?a={leaky['snaps'][0].pk}&b={leaky['snaps'][-1].pk}&status=same",
              "/"]
    seen_escaped = 0
    for url in pages:
        body = member_client.get(url).content
        assert payload not in body, url
        assert b"<img src=x" not in body, url
        seen_escaped += b"&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert seen_escaped >= 4
