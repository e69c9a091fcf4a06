"""Agent token format and hashing.

A token reads `gta_<prefix>_<secret>`. The prefix finds the row; only an
HMAC-SHA256 of the whole token (keyed with a server pepper) is stored.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

from django.conf import settings

SCHEME = "gta"


def _pepper() -> bytes:
    return (getattr(settings, "GOTRIAGE_TOKEN_PEPPER", "") or settings.SECRET_KEY).encode()


def generate() -> str:
    return f"{SCHEME}_{secrets.token_hex(4)}_{secrets.token_urlsafe(32)}"


def prefix_of(raw: str) -> str | None:
    parts = (raw or "").split("_", 2)
    if len(parts) != 3 or parts[0] != SCHEME or len(parts[1]) != 8:
        return None
    return parts[1]


def digest(raw: str) -> str:
    return hmac.new(_pepper(), raw.encode(), hashlib.sha256).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
