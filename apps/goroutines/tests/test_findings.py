"""Findings stay current: scoring over the site history, lifecycle, triage that survives."""
from __future__ import annotations

import pytest

from apps.goroutines import findings
from apps.goroutines.models import BlockingSite, Lifecycle, SiteSample, Snapshot, StackSignature, TriageEvent, TriageState
from apps.ingest.models import Status, Upload

LEAK_FUNCTION = "github.com/acme/leaklab/internal/scenarios.(*ProfileService).Fetch.func1"


def leak_site(service):
    return BlockingSite.objects.get(service=service, site_function=LEAK_FUNCTION)


def test_a_growing_site_becomes_a_finding(upload_series, service):
    responses = upload_series()
    assert all(r.status_code == 202 for r in responses)
    assert set(Upload.objects.values_list("status", flat=True)) == {Status.PROCESSED}
    site = leak_site(service)
    assert site.suspect and site.lifecycle == Lifecycle.OPEN
    assert site.score > 0.5
    assert site.evidence
    assert site.last_count > site.baseline_count
    assert site.suspect_since is not None
    assert SiteSample.objects.filter(site=site).count() == 6
    assert site.first_seen < site.last_seen


def test_benign_background_sites_are_not_suspects(upload_series, service):
    upload_series()
    accept = BlockingSite.objects.filter(service=service, benign="accept-loop")
    assert accept.exists()
    assert not accept.filter(suspect=True).exists()


def test_stack_signatures_are_shared_across_services(upload_series, post_upload, service, other_service, series_of_dumps):
    from apps.services.models import AgentToken

    upload_series()
    before = StackSignature.objects.count()
    _, raw = AgentToken.issue(other_service)
    post_upload(series_of_dumps[0][0], token=raw)
    assert StackSignature.objects.count() == before
    assert Snapshot.objects.filter(service=other_service).count() == 1


def test_triage_set_by_people_survives_rescoring(upload_series, service, member_client, post_upload, series_of_dumps):
    upload_series()
    site = leak_site(service)
    response = member_client.patch(
        f"/api/v1/findings/{site.pk}/", {"triage_state": "investigating", "owner": "alice", "notes": "looking"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["triage_state"] == "investigating"
    assert TriageEvent.objects.filter(site=site).count() == 3
    findings.update_service(service.pk)
    findings.update_service(service.pk)
    site.refresh_from_db()
    assert (site.triage_state, site.owner.username, site.notes) == ("investigating", "alice", "looking")
    assert site.suspect


def test_known_benign_suppresses_alerts(upload_series, service):
    from apps.goroutines import queries
    from apps.goroutines.triage import apply_triage

    upload_series()
    site = leak_site(service)
    assert queries.open_findings([service]).filter(pk=site.pk).exists()
    apply_triage(site, None, {"triage_state": TriageState.KNOWN_BENIGN})
    findings.update_service(service.pk)
    site.refresh_from_db()
    assert site.suspect and not site.is_open_suspect
    assert not queries.open_findings([service]).filter(pk=site.pk).exists()


def test_a_site_back_at_its_baseline_auto_resolves(upload_series, post_upload, service, series_of_dumps):
    upload_series()
    # The service restarts: its next dumps look like the first one again.
    post_upload(series_of_dumps[0][0] + b"\n", captured_at="2026-11-20T10:35:00Z")
    post_upload(series_of_dumps[0][0] + b"\n\n", captured_at="2026-11-20T10:40:00Z")
    site = leak_site(service)
    assert site.lifecycle == Lifecycle.RESOLVED, (site.score, site.evidence, site.last_count, site.baseline_count)
    assert site.resolved_at is not None


def test_a_failed_parse_keeps_the_error(post_upload):
    body = b"goroutine 1 [running]:\nmain.main()\n"
    response = post_upload(body)
    upload = Upload.objects.get(pk=response.json()["id"]) if response.status_code == 202 else None
    if upload is not None and upload.status == Status.FAILED:
        assert upload.error


@pytest.mark.parametrize("runs", [2])
def test_process_upload_rerun_never_duplicates_rows(upload_series, service, runs):
    from apps.ingest.tasks import process_upload

    upload_series()
    counts = (Snapshot.objects.count(), SiteSample.objects.count(), StackSignature.objects.count(), BlockingSite.objects.count())
    for _ in range(runs):
        for upload in Upload.objects.all():
            assert process_upload.apply(args=[str(upload.pk)], kwargs={"force": True}).get() == "processed"
            assert process_upload.apply(args=[str(upload.pk)]).get() == "skipped"
    assert (Snapshot.objects.count(), SiteSample.objects.count(), StackSignature.objects.count(), BlockingSite.objects.count()) == counts


def test_one_leaking_instance_among_steady_ones_is_found(upload_series, post_upload, service, series_of_dumps):
    upload_series(instance="pod-leaky")
    steady = series_of_dumps[0][0]
    for i in range(6):
        post_upload(steady + b"\n" * (i + 1), instance=f"pod-steady-{i % 2}", captured_at=f"2026-11-20T10:{i * 5 + 1:02d}:00Z")
    site = leak_site(service)
    assert site.suspect
    assert SiteSample.objects.filter(site=site).values("instance").distinct().count() == 3


def test_pipeline_scores_one_snapshot_like_the_engine_does(post_upload, service):
    # The shape of a site (ids spread over the process's life, many parents)
    # is stored per snapshot, so a score from the database equals the one the
    # engine gives the file itself.
    from apps.goruntime import goroutines as gr
    from tests.fixtures import read_shared

    body = read_shared("runs/go1.26.6/chan_send_timeout/long/s05_goroutine_debug2.txt")
    assert post_upload(body, captured_at="2026-11-20T10:00:00Z").status_code == 202
    expected = gr.analyze([gr.parse_dump(body)])["suspects"][0]
    site = BlockingSite.objects.get(service=service, blocking_key=expected["key"])
    assert site.suspect
    assert site.score == pytest.approx(expected["score"], abs=1e-3)
    assert SiteSample.objects.get(site=site).shape["id_spread"] is not None
    assert any("created over the process's life" in e for e in site.evidence) == any(
        "created over the process's life" in e for e in expected["evidence"]
    )
