"""The integration tier: readiness as seen with real Redis and a real Celery worker."""
import pytest


@pytest.mark.integration
def test_readyz_sees_the_live_worker(celery_worker, client):
    body = client.get("/readyz").json()
    assert body["checks"]["database"]["ok"]
    assert body["checks"]["redis"]["ok"]
    assert body["checks"]["workers"]["ok"], body
    assert body["checks"]["workers"]["workers"]


@pytest.mark.integration
def test_readyz_without_a_worker_is_unavailable(integration, client, db):
    # No worker fixture here: Redis answers but nothing consumes the queues.
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["workers"]["ok"] is False


@pytest.mark.integration
def test_readyz_reports_a_database_on_a_closed_port(integration, client, transactional_db):
    from django.db import connection

    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update(HOST="127.0.0.1", PORT="1")  # nothing listens on port 1
    try:
        response = client.get("/readyz")
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["database"]["ok"] is False
    assert "OperationalError" in body["checks"]["database"]["error"]
