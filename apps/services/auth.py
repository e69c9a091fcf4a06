"""Agent authentication: `Authorization: Bearer <agent token>`, scoped to one service."""
from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from rest_framework import authentication, exceptions

from .models import AgentToken


class AgentPrincipal(AnonymousUser):
    """request.user for an agent: not a person, bound to exactly one service."""

    def __init__(self, token: AgentToken):
        super().__init__()
        self.token = token
        self.service = token.service

    @property
    def is_authenticated(self) -> bool:  # type: ignore[override]
        return True

    def __str__(self) -> str:
        return f"agent:{self.token.prefix}"


class AgentTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Authorization header must be 'Bearer <token>'.")
        try:
            raw = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Token contains invalid characters.") from None
        token = AgentToken.objects.for_raw(raw)
        if token is None:
            raise exceptions.AuthenticationFailed("Unknown or revoked agent token.")
        token.touch()
        return AgentPrincipal(token), token

    def authenticate_header(self, request) -> str:
        # Without this DRF answers 403 where 401 is right.
        return self.keyword


def is_agent(user) -> bool:
    return isinstance(user, AgentPrincipal)
