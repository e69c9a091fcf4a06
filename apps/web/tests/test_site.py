import pytest

from apps.goroutines.models import TriageEvent


def site_url(service, site, suffix=""):
    return f"/services/{service.slug}/sites/{site.pk}/{suffix}"


@pytest.mark.django_db
def test_it_shows_series_per_instance_stack_and_pattern(member_client, service, leaky):
    r = member_client.get(site_url(service, leaky["suspect"]))
    names = [t["name"] for t in r.context["fig"]["data"]]
    assert names == ["pod-a", "pod-b"]
    assert r.context["pattern"]["id"] == "abandoned-send"
    assert any(f["is_site"] for f in r.context["frames"])
    assert "Sample stack" in r.content.decode()


@pytest.mark.django_db
def test_marking_known_benign_records_an_audit_event_and_leaves_the_suspects(member_client, member, service, leaky):
    s = leaky["suspect"]
    r = member_client.post(site_url(service, s, "triage"), {"triage_state": "known_benign", "owner": "alice", "notes": "bounded by timeout"})
    assert r.status_code == 302
    s.refresh_from_db()
    assert (s.triage_state, s.owner, s.notes) == ("known_benign", member, "bounded by timeout")
    events = {e.field: e for e in TriageEvent.objects.filter(site=s)}
    assert events["triage_state"].old == "New" and events["triage_state"].new == "Known benign"
    assert events["owner"].new == "alice" and events["owner"].user == member
    assert s not in member_client.get(f"/services/{service.slug}/").context["suspects"]
    page = member_client.get(site_url(service, s)).content.decode()
    assert "Known benign" in page and "edited notes" in page


@pytest.mark.django_db
def test_saving_unchanged_values_writes_no_event(member_client, service, leaky):
    s = leaky["suspect"]
    member_client.post(site_url(service, s, "triage"), {"triage_state": "new", "owner": "", "notes": ""})
    assert not TriageEvent.objects.exists()


@pytest.mark.django_db
def test_owner_must_be_in_the_team(member_client, service, leaky, outsider):
    s = leaky["suspect"]
    r = member_client.post(site_url(service, s, "triage"), {"triage_state": "investigating", "owner": "mallory"}, follow=True)
    assert "must be a member" in r.content.decode()
    s.refresh_from_db()
    assert s.owner is None and s.triage_state == "new"


@pytest.mark.django_db
def test_bad_state_is_refused(member_client, service, leaky):
    r = member_client.post(site_url(service, leaky["suspect"], "triage"), {"triage_state": "deleted"}, follow=True)
    assert "Unknown triage state" in r.content.decode()


@pytest.mark.django_db
def test_get_on_triage_is_not_allowed(member_client, service, leaky):
    assert member_client.get(site_url(service, leaky["suspect"], "triage")).status_code == 405


@pytest.mark.django_db
def test_notes_are_escaped(member_client, service, leaky):
    s = leaky["suspect"]
    member_client.post(site_url(service, s, "triage"), {"triage_state": "new", "notes": "<script>alert(1)</script>"})
    body = member_client.get(site_url(service, s)).content.decode()
    assert "<script>alert(1)</script>" not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body
