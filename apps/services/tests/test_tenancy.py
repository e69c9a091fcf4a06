"""A user sees only their teams' services; anything else is a 404."""
import pytest

from apps.services.models import Service


def test_visible_to_limits_services_to_the_users_teams(member, service, other_service):
    assert list(Service.objects.visible_to(member)) == [service]


def test_superuser_sees_everything(make_user, service, other_service):
    root = make_user("root", is_superuser=True, is_staff=True)
    assert set(Service.objects.visible_to(root)) == {service, other_service}


def test_api_lists_only_own_services(member_client, service, other_service):
    body = member_client.get("/api/v1/services/").json()
    assert [s["slug"] for s in body["results"]] == ["checkout"]


def test_api_answers_404_for_another_teams_service(member_client, other_service):
    assert member_client.get(f"/api/v1/services/{other_service.slug}/").status_code == 404
    assert member_client.get(f"/api/v1/services/{other_service.slug}/instances/").status_code == 404


def test_api_requires_login(client, service):
    assert client.get("/api/v1/services/").status_code in (401, 403)


def test_pages_require_login(client, db):
    response = client.get("/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_login_page_answers(client, db):
    response = client.get("/login/")
    assert response.status_code == 200 and b"Log in" in response.content


@pytest.mark.django_db
def test_source_url_uses_template_and_prefix(make_service):
    svc = make_service(
        "shop", repo_url_template="https://git.example/acme/shop/blob/main/{path}#L{line}",
        module_prefixes="github.com/acme/shop/",
    )
    assert svc.source_url("/build/src/github.com/acme/shop/internal/x.go", 12) == (
        "https://git.example/acme/shop/blob/main/internal/x.go#L12"
    )


@pytest.mark.parametrize("query", ["limit=22258327899495086633779200", "offset=99999999999999999999999", "limit=5000&offset=10"])
def test_huge_pagination_numbers_are_bounded(member_client, service, query):
    # Found by the schema fuzzer: an unbounded limit overflowed bigint in SQL (500).
    response = member_client.get(f"/api/v1/services/?{query}")
    assert response.status_code == 200
    assert response.json()["count"] == 1
