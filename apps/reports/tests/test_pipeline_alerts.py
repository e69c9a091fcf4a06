"""Alerts follow the pipeline: a leak uploaded by an agent reaches the team's webhook."""
from __future__ import annotations

from apps.reports.models import Alert, AlertChannel, ChannelKind
from tests.pipeline import _fresh_rate_limits, api, post_upload, series_of_dumps, upload_series  # noqa: F401


def test_a_new_suspect_from_uploads_reaches_the_teams_webhook(upload_series, service, webhook_receiver, django_capture_on_commit_callbacks):
    AlertChannel.objects.create(team=service.team, kind=ChannelKind.WEBHOOK, target=webhook_receiver.url + "/hook")
    with django_capture_on_commit_callbacks(execute=True):
        upload_series()
    bodies = webhook_receiver.bodies("/hook")
    assert bodies, "no alert arrived"
    text = str(bodies)
    assert "checkout" in text and "ProfileService" in text


def test_known_benign_sites_found_by_the_pipeline_do_not_alert(upload_series, service, webhook_receiver, django_capture_on_commit_callbacks):
    from apps.goroutines.models import BlockingSite, TriageState
    from apps.goroutines.tasks import update_findings

    upload_series()  # no channel yet: nothing can be sent
    assert BlockingSite.objects.filter(service=service, suspect=True).exists()
    BlockingSite.objects.filter(service=service).update(triage_state=TriageState.KNOWN_BENIGN)
    Alert.objects.all().delete()  # forget what was evaluated while no channel existed
    AlertChannel.objects.create(team=service.team, kind=ChannelKind.WEBHOOK, target=webhook_receiver.url + "/hook")
    with django_capture_on_commit_callbacks(execute=True):
        update_findings(str(service.pk))  # re-scored: still a leak, but people said benign
    assert webhook_receiver.bodies("/hook") == []
