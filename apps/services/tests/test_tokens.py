import pytest

from apps.services import tokens
from apps.services.models import AgentToken


def test_raw_token_is_never_stored(service):
    token, raw = AgentToken.issue(service)
    token.refresh_from_db()
    assert raw not in (token.hashed, token.prefix)
    assert token.hashed == tokens.digest(raw)
    assert raw.startswith("gta_") and tokens.prefix_of(raw) == token.prefix


def test_lookup_finds_only_the_matching_token(service):
    _, raw = AgentToken.issue(service)
    assert AgentToken.objects.for_raw(raw).service == service
    tampered = raw[:-1] + ("A" if raw[-1] != "A" else "B")
    assert AgentToken.objects.for_raw(tampered) is None
    assert AgentToken.objects.for_raw("") is None
    assert AgentToken.objects.for_raw("gta_short_x") is None


def test_revoked_token_no_longer_authenticates(service):
    token, raw = AgentToken.issue(service)
    token.revoke()
    assert AgentToken.objects.for_raw(raw) is None


def test_token_is_scoped_to_its_service(service, other_service):
    _, raw_a = AgentToken.issue(service)
    _, raw_b = AgentToken.issue(other_service)
    assert AgentToken.objects.for_raw(raw_a).service == service
    assert AgentToken.objects.for_raw(raw_b).service == other_service


def test_last_used_is_written_at_most_once_a_minute(service):
    token, raw = AgentToken.issue(service)
    token.touch()
    first = AgentToken.objects.get(pk=token.pk).last_used_at
    assert first is not None
    token.touch()
    assert AgentToken.objects.get(pk=token.pk).last_used_at == first


@pytest.mark.django_db
def test_bearer_auth_answers_401_with_challenge(client, service):
    # An endpoint that accepts agent tokens must answer 401 (not 403) to a bad one.
    from rest_framework.test import APIRequestFactory

    from apps.services.auth import AgentTokenAuthentication

    auth = AgentTokenAuthentication()
    request = APIRequestFactory().get("/", HTTP_AUTHORIZATION="Bearer gta_deadbeef_nope")
    from rest_framework.exceptions import AuthenticationFailed
    from rest_framework.request import Request

    with pytest.raises(AuthenticationFailed):
        auth.authenticate(Request(request))
    assert auth.authenticate_header(request) == "Bearer"
