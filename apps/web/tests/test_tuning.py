import pytest

from apps.web.tests import factories as F


@pytest.mark.django_db
def test_it_compares_current_and_recommended_with_snippets(member_client, service, leaky):
    r = member_client.get(f"/services/{service.slug}/tuning/")
    body = r.content.decode()
    assert r.context["current"]["gogc"] == 100 and r.context["current"]["gomemlimit"] == 400 * F.MIB
    assert [n for n, _ in r.context["snippets"]] == ["kubernetes", "dockerfile", "systemd", "go"]
    assert "ENV GOMEMLIMIT=400MiB" in body and 'data-copy="snip-1"' in body
    assert "keeping ~20% headroom" in body
    assert r.context["fig"]["data"][0]["name"] == "recorded heap in use"


@pytest.mark.django_db
def test_gogc_off_is_shown_as_off(member_client, service, leaky):
    F.MemSample.objects.filter(service=service).update(gogc=-1)
    assert member_client.get(f"/services/{service.slug}/tuning/").context["current"]["gogc"] == "off"


@pytest.mark.django_db
def test_empty_state(member_client, service):
    body = member_client.get(f"/services/{service.slug}/tuning/").content.decode()
    assert "No recommendation yet" in body and "none recorded yet" in body


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["gogc=abc", "gogc=0", "gogc=100&memlimit=lots"])
def test_what_if_rejects_bad_parameters(member_client, service, leaky, query):
    r = member_client.get(f"/services/{service.slug}/tuning/what-if?{query}")
    assert r.status_code == 400 and "error" in r.json()


@pytest.mark.django_db
def test_what_if_without_samples_is_404_json(member_client, service):
    r = member_client.get(f"/services/{service.slug}/tuning/what-if?gogc=100")
    assert r.status_code == 404 and "No runtime samples" in r.json()["error"]


@pytest.mark.django_db
@pytest.mark.parametrize("gogc", ["off", None, "weird", 50])
def test_odd_recommended_gogc_values_still_render(member_client, service, leaky, gogc):
    F.recommendation(service, GOGC=gogc)
    r = member_client.get(f"/services/{service.slug}/tuning/")
    assert r.status_code == 200
    assert r.context["gogc_off"] == (gogc == "off")
