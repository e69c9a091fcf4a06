"""Pages driven end to end from real Go captures sent through the upload API and the pipeline."""
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.goroutines.models import BlockingSite
from apps.web.tests.realdata import load_run

@pytest.fixture
def uploaded(client, service, agent_token, django_capture_on_commit_callbacks):
    _, raw = agent_token
    service.module_prefixes = "github.com/acme/leaklab/"
    service.repo_url_template = "https://github.com/acme/leaklab/blob/main/{path}#L{line}"
    service.memory_limit_bytes = 256 * 1024 * 1024
    service.save()
    load_run(client, raw, "go1.26.6/chan_send_timeout/long", "leaklab-0", timezone.now() - timedelta(minutes=30),
             on_commit=django_capture_on_commit_callbacks)  # the pipeline enqueues after commit
    return service


@pytest.mark.django_db
def test_service_snapshot_site_and_diff_pages_from_the_pipeline(member_client, uploaded):
    service = uploaded
    r = member_client.get(f"/services/{service.slug}/")
    suspects = r.context["suspects"]
    assert suspects, "the pipeline found no suspect in a real leak run"
    top = suspects[0]
    assert top.site_function.endswith("(*ProfileService).Fetch.func1")
    assert {"chart-goroutines", "chart-memory"} <= {k for k, _ in r.context["figs"]}
    assert len(r.context["snapshots"]) == 6

    latest = r.context["snapshots"][0]
    snap = member_client.get(f"/services/{service.slug}/snapshots/{latest.pk}/")
    first = snap.context["groups"][0]
    assert first["site_function"] == top.site_function and first["count"] == top.last_count
    site_frame = next(f for f in first["frames"] if f["is_site"])
    assert site_frame["url"].startswith("https://github.com/acme/leaklab/blob/main/internal/scenarios/chansend.go#L")
    assert member_client.get(f"/services/{service.slug}/snapshots/{latest.pk}/raw").content.startswith(b"goroutine ")

    site = member_client.get(f"/services/{service.slug}/sites/{top.pk}/")
    assert site.context["fig"]["data"][0]["name"] == "leaklab-0"
    assert site.context["pattern"] is not None

    diff = member_client.get(f"/services/{service.slug}/diff/")
    grown = [x for x in diff.context["page"].object_list if x["status"] == "grown"]
    assert grown and grown[0]["function"] == top.site_function

    member_client.post(f"/services/{service.slug}/sites/{top.pk}/triage", {"triage_state": "known_benign"})
    assert BlockingSite.objects.get(pk=top.pk).triage_state == "known_benign"
    assert top not in member_client.get(f"/services/{service.slug}/").context["suspects"]


@pytest.mark.django_db
def test_tuning_what_if_uses_the_runtime_engine(member_client, uploaded):
    service = uploaded
    r = member_client.get(f"/services/{service.slug}/tuning/")
    assert r.status_code == 200 and r.context["fig"] is not None
    a = member_client.get(f"/services/{service.slug}/tuning/what-if?gogc=50&memlimit=200MiB").json()
    b = member_client.get(f"/services/{service.slug}/tuning/what-if?gogc=400").json()
    assert "error" not in a, a
    assert a["gc_per_minute"] > b["gc_per_minute"]
    assert len(a["x"]) == len(a["goal"]) > 0
