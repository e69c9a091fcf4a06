"""Shared pytest fixtures: tenancy factories, shared/ fixture files, integration services."""
from __future__ import annotations

import gzip
import json
import os
import socket
from pathlib import Path
from urllib.parse import urlparse

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("GOTRIAGE_SHARED", REPO.parent / "shared"))
REAL_GO = SHARED / "fixtures" / "real-go"
REQUIRE_INTEGRATION = os.environ.get("GOTRIAGE_REQUIRE_INTEGRATION") == "1"


# --- shared/ fixture files ----------------------------------------------------

def shared_path(relative: str) -> Path:
    """A file under ../shared/fixtures/real-go; fails loudly if shared/ is missing."""
    path = REAL_GO / relative
    if not path.exists():
        pytest.fail(f"fixture {path} not found (is ../shared beside the checkout? set GOTRIAGE_SHARED)")
    return path


def read_shared(relative: str) -> bytes:
    data = shared_path(relative).read_bytes()
    return data


def read_shared_text(relative: str) -> str:
    data = read_shared(relative)
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return data.decode("utf-8", "replace")


@pytest.fixture(scope="session")
def manifest() -> dict:
    return json.loads(shared_path("MANIFEST.json").read_text())


# --- tenancy factories --------------------------------------------------------

@pytest.fixture
def make_team(db):
    from apps.services.models import Team

    def make(slug="team-a", name=None):
        return Team.objects.get_or_create(slug=slug, defaults={"name": name or slug})[0]

    return make


@pytest.fixture
def make_user(db):
    from django.contrib.auth import get_user_model

    from apps.services.models import Membership

    def make(username="alice", team=None, password="pw-for-tests-1", **extra):
        user = get_user_model().objects.create_user(username=username, password=password, email=f"{username}@example.com", **extra)
        if team is not None:
            Membership.objects.create(team=team, user=user)
        return user

    return make


@pytest.fixture
def make_service(db, make_team):
    from apps.services.models import Service

    def make(slug="checkout", team=None, **fields):
        return Service.objects.create(slug=slug, team=team or make_team(), **fields)

    return make


@pytest.fixture
def team(make_team):
    return make_team("team-a")


@pytest.fixture
def other_team(make_team):
    return make_team("team-b")


@pytest.fixture
def service(make_service, team):
    return make_service("checkout", team=team)


@pytest.fixture
def other_service(make_service, other_team):
    return make_service("billing", team=other_team)


@pytest.fixture
def member(make_user, team):
    return make_user("alice", team=team)


@pytest.fixture
def outsider(make_user, other_team):
    return make_user("mallory", team=other_team)


@pytest.fixture
def member_client(client, member):
    client.force_login(member)
    return client


@pytest.fixture
def agent_token(service):
    """(token row, raw token) for `service`."""
    from apps.services.models import AgentToken

    return AgentToken.issue(service, name="test")


# --- integration tier ---------------------------------------------------------

def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "localhost", parsed.port or default_port), timeout=1):
            return True
    except OSError:
        return False


def require_service(name: str, url: str | None, default_port: int) -> None:
    """Skip locally when a service is absent; FAIL in CI (GOTRIAGE_REQUIRE_INTEGRATION=1)."""
    if url and _reachable(url, default_port):
        return
    message = f"{name} not reachable ({url or 'not configured'})"
    if REQUIRE_INTEGRATION:
        pytest.fail(message + " and GOTRIAGE_REQUIRE_INTEGRATION=1")
    pytest.skip(message)


@pytest.fixture
def integration():
    """Marks a test as needing PostgreSQL + Redis."""
    from django.conf import settings

    require_service("PostgreSQL", os.environ.get("DATABASE_URL"), 5432)
    require_service("Redis", settings.REDIS_URL, 6379)
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        pytest.fail("integration tests need DATABASE_URL to point at PostgreSQL")


@pytest.fixture
def celery_worker(integration, transactional_db):
    """A real Celery worker on Redis, in-process (solo pool), for the test's duration."""
    from celery.contrib.testing.worker import start_worker

    from gotriage.celery import app

    app.conf.task_always_eager = False
    queues = "ingest,findings,reports"
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10, queues=queues.split(","), loglevel="WARNING") as worker:
        yield worker


@pytest.fixture(autouse=True)
def _tasks_in_process_by_default():
    """Unit tests run tasks in-process; only `celery_worker` tests use Redis."""
    from gotriage.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous
