import pytest


@pytest.mark.django_db
def test_healthz_answers(client):
    assert client.get("/healthz").json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_ok_with_database_and_in_process_tasks(client, settings):
    settings.REDIS_URL = ""
    body = client.get("/readyz").json()
    assert body["status"] == "ok" and body["checks"]["database"]["ok"]


@pytest.mark.django_db
def test_readyz_reports_a_down_redis(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["redis"]["ok"] is False
    assert body["checks"]["workers"]["ok"] is False


@pytest.mark.django_db
def test_readyz_reports_a_down_database(client, monkeypatch):
    from django.db import connection

    def broken_cursor(*args, **kwargs):
        raise connection.Database.OperationalError("connection refused (port 1)")

    monkeypatch.setattr(connection, "cursor", broken_cursor)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "connection refused" in response.json()["checks"]["database"]["error"]


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["service=%00x", "q=ok&%00k=v"])
def test_nul_bytes_in_query_strings_are_a_400_not_a_500(member_client, service, query):
    response = member_client.get(f"/api/v1/snapshots/diff/?{query}")
    assert response.status_code == 400
    assert "NUL byte" in response.json()["error"]
