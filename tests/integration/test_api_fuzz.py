"""Fuzz the read and upload API from its own OpenAPI schema: no request may cause a 5xx.

Bounded: a few examples per operation against a live server on the test
database, with a member's Basic auth and some real data behind the ids.
"""
from __future__ import annotations

import base64

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
EXAMPLES = 8


@pytest.fixture
def api_schema(db):
    from drf_spectacular.generators import SchemaGenerator

    raw = SchemaGenerator().get_schema(request=None, public=True)
    return schemathesis.openapi.from_dict(raw)


@pytest.fixture
def auth_header(make_user, service, agent_token):
    from apps.services.models import Membership

    user = make_user("fuzzer", password="fuzz-pass-123")
    Membership.objects.create(team=service.team, user=user)
    return {"Authorization": "Basic " + base64.b64encode(b"fuzzer:fuzz-pass-123").decode()}


def test_no_server_errors(api_schema, live_server, auth_header):
    # Operations are walked by hand: schemathesis' pytest plugin does not run under pytest 9 yet.
    failures, calls = [], []
    for result in api_schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case):
            response = case.call(base_url=live_server.url, headers=auth_header)
            calls.append(response.status_code)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: {case.as_curl_command()}")

        run()
    assert not failures, "\n".join(failures[:10])
    assert len(calls) > 50 and any(code == 200 for code in calls)
