import pytest

from apps.services.models import AgentToken


def settings_url(service, suffix=""):
    return f"/services/{service.slug}/settings/{suffix}"


@pytest.mark.django_db
def test_it_saves_limits_repo_template_and_prefixes(member_client, service):
    r = member_client.post(settings_url(service), {
        "name": "Checkout API", "memory_limit": "512MiB", "cpu_limit_cores": "1.5", "rss_alert": "",
        "repo_url_template": "https://github.com/acme/shop/blob/main/{path}#L{line}",
        "module_prefixes": " github.com/acme/shop/ \n\n github.com/acme/lib/ ",
    })
    assert r.status_code == 302
    service.refresh_from_db()
    assert service.memory_limit_bytes == 512 * 1024 * 1024 and service.cpu_limit_cores == 1.5
    assert service.rss_alert_bytes is None
    assert service.own_prefixes == ("github.com/acme/shop/", "github.com/acme/lib/")


@pytest.mark.django_db
@pytest.mark.parametrize("field,value,message", [
    ("memory_limit", "lots", "Write a size like"),
    ("memory_limit", "0", "more than zero"),
    ("repo_url_template", "javascript:alert(1)//{path}", "Must start with https://"),
    ("repo_url_template", "https://github.com/acme/shop", "Must contain {path}"),
    ("cpu_limit_cores", "-1", "greater than or equal"),
])
def test_it_explains_bad_values(member_client, service, field, value, message):
    r = member_client.post(settings_url(service), {field: value})
    assert r.status_code == 200
    assert message in r.content.decode()


@pytest.mark.django_db
def test_a_new_token_is_shown_once_and_only_its_hash_is_stored(member_client, member, service):
    r = member_client.post(settings_url(service, "tokens"), {"name": "prod-sidecar"}, follow=True)
    raw = r.context["new_token"]["raw"]
    assert raw.startswith("gta_") and raw in r.content.decode()
    token = AgentToken.objects.get(service=service)
    assert token.name == "prod-sidecar" and token.created_by == member
    assert raw not in (token.hashed, token.prefix)
    assert AgentToken.objects.for_raw(raw) == token
    again = member_client.get(settings_url(service))
    assert raw not in again.content.decode() and again.context["new_token"] is None


@pytest.mark.django_db
def test_revoke(member_client, service, agent_token):
    token, raw = agent_token
    r = member_client.post(settings_url(service, f"tokens/{token.prefix}/revoke"), follow=True)
    assert "revoked" in r.content.decode()
    token.refresh_from_db()
    assert not token.is_active and AgentToken.objects.for_raw(raw) is None
    assert member_client.post(settings_url(service, f"tokens/{token.prefix}/revoke")).status_code == 404


@pytest.mark.django_db
def test_another_teams_token_cannot_be_revoked_through_my_service(member_client, service, other_service):
    token, _ = AgentToken.issue(other_service, name="theirs")
    assert member_client.post(settings_url(service, f"tokens/{token.prefix}/revoke")).status_code == 404
    token.refresh_from_db()
    assert token.is_active
