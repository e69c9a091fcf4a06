import pytest

from apps.web.tests import factories as F


@pytest.fixture
def leaky(service):
    """checkout with a growing suspect, a benign pool, a `<script>` frame, samples and a recommendation."""
    return F.leaky_service(service, with_xss=True)


@pytest.fixture
def outsider_client(client, outsider):
    client.force_login(outsider)
    return client
