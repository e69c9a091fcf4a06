from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.services.models import AgentToken, Service


@pytest.mark.django_db
def test_create_service_creates_team_and_service():
    out = StringIO()
    call_command("create_service", "checkout", "--team", "payments", stdout=out)
    svc = Service.objects.get(slug="checkout")
    assert svc.team.slug == "payments"
    assert out.getvalue().strip().splitlines()[-1] == "checkout"


@pytest.mark.django_db
def test_create_service_refuses_duplicates_and_bad_slugs():
    call_command("create_service", "checkout", "--team", "payments", stdout=StringIO())
    with pytest.raises(CommandError, match="already exists"):
        call_command("create_service", "checkout", "--team", "payments", stdout=StringIO())
    with pytest.raises(CommandError, match="not a valid slug"):
        call_command("create_service", "Bad Slug", "--team", "payments", stdout=StringIO())


@pytest.mark.django_db
def test_create_token_prints_the_raw_token_alone_on_the_last_line(service):
    out = StringIO()
    call_command("create_token", service.slug, stdout=out, stderr=StringIO())
    raw = out.getvalue().strip().splitlines()[-1]
    assert AgentToken.objects.for_raw(raw).service == service


@pytest.mark.django_db
def test_create_token_for_unknown_service_fails():
    with pytest.raises(CommandError, match="no service"):
        call_command("create_token", "nope", stdout=StringIO(), stderr=StringIO())


@pytest.mark.django_db
def test_bootstrap_demo_prints_login_and_loads_teams(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    out = StringIO()
    call_command("bootstrap_demo", stdout=out)
    text = out.getvalue()
    assert "log in as user 'admin' with password '" in text
    assert Service.objects.count() >= 3
    # A second run prints the same password and loads nothing twice.
    out2 = StringIO()
    call_command("bootstrap_demo", stdout=out2)
    assert text.split("password '")[1].split("'")[0] == out2.getvalue().split("password '")[1].split("'")[0]
    assert Service.objects.count() >= 3
