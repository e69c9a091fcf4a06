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
