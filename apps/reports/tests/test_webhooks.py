"""Alert and resolve payloads, received by a real HTTP server (and SMTP server) on loopback."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.reports import alerts
from apps.reports.models import MAX_ATTEMPTS, AlertChannel, AlertNotification, ChannelKind, OutboxStatus
from apps.reports.tests.factories import make_site

SITE = "https://gotriage.example.com"


@pytest.fixture
def leak(service, settings):
    settings.SITE_URL = SITE
    return make_site(service, "leak", "main.(*Worker).fanOut.func2", suspect=True, score=0.93,
                     suspect_since=timezone.now(), last_count=1200)


def _fire_and_resolve(service, leak, capture):
    """Fire, then clear, delivering after each commit as the pipeline's task would."""
    with capture(execute=True):
        alerts.evaluate_service(service)
    leak.suspect = False
    leak.save()
    with capture(execute=True):
        alerts.evaluate_service(service)


def test_generic_json_webhook_gets_firing_and_resolved(service, leak, webhook_receiver, django_capture_on_commit_callbacks):
    AlertChannel.objects.create(team=service.team, kind=ChannelKind.WEBHOOK, target=webhook_receiver.url + "/generic")
    _fire_and_resolve(service, leak, django_capture_on_commit_callbacks)
    firing, resolved = webhook_receiver.bodies("/generic")
    assert firing["event"] == "firing" and resolved["event"] == "resolved"
    alert = firing["alert"]
    assert alert["kind"] == "new_suspect" and alert["service"] == "checkout" and alert["team"] == "team-a"
    assert alert["url"] == f"{SITE}/services/checkout/sites/{leak.pk}/"
    assert alert["details"]["function"] == "main.(*Worker).fanOut.func2" and alert["details"]["score"] == 0.93
    assert resolved["alert"]["dedup_key"] == alert["dedup_key"]
    assert resolved["alert"]["resolved_at"] and alert["resolved_at"] is None
    request = webhook_receiver.requests[0]
    assert request["headers"]["Content-Type"] == "application/json"


def test_slack_compatible_webhook_gets_text_and_blocks(service, leak, webhook_receiver, django_capture_on_commit_callbacks):
    AlertChannel.objects.create(team=service.team, kind=ChannelKind.SLACK, target=webhook_receiver.url + "/slack")
    _fire_and_resolve(service, leak, django_capture_on_commit_callbacks)
    firing, resolved = webhook_receiver.bodies("/slack")
    assert firing["text"].startswith("[FIRING] checkout: goroutine leak suspect at main.(*Worker).fanOut.func2")
    assert resolved["text"].startswith("[RESOLVED] checkout:")
    header, summary, context = firing["blocks"]
    assert header == {"type": "section", "text": {"type": "mrkdwn", "text": ":red_circle: *FIRING* · New leak suspect"}}
    # plain text, so the * in (*Worker) is not read as bold
    assert summary["text"]["type"] == "plain_text" and "main.(*Worker).fanOut.func2" in summary["text"]["text"]
    assert context["type"] == "context"
    assert f"<{SITE}/services/checkout/sites/{leak.pk}/|Open in gotriage>" in context["elements"][0]["text"]
    assert resolved["blocks"][0]["text"]["text"].startswith(":white_check_mark: *RESOLVED*")
    assert "resolved 20" in resolved["blocks"][2]["elements"][0]["text"]


def test_alertmanager_style_webhook_gets_a_list_of_alerts(service, leak, webhook_receiver, django_capture_on_commit_callbacks):
    AlertChannel.objects.create(team=service.team, kind=ChannelKind.ALERTMANAGER, target=webhook_receiver.url + "/api/v2/alerts")
    _fire_and_resolve(service, leak, django_capture_on_commit_callbacks)
    firing, resolved = webhook_receiver.bodies("/api/v2/alerts")
    assert isinstance(firing, list) and len(firing) == 1
    item = firing[0]
    assert set(item) == {"labels", "annotations", "startsAt", "endsAt", "generatorURL"}
    assert item["labels"] == {"alertname": "GoroutineLeakSuspect", "severity": "warning", "team": "team-a",
                              "service": "checkout", "kind": "new_suspect", "key": str(leak.pk)}
    assert item["endsAt"] == "0001-01-01T00:00:00Z"
    assert item["generatorURL"] == f"{SITE}/services/checkout/sites/{leak.pk}/"
    assert "score=0.93" in item["annotations"]["description"]
    done = resolved[0]
    assert done["labels"] == item["labels"] and done["startsAt"] == item["startsAt"]
    assert done["endsAt"] > done["startsAt"]


def test_an_email_channel_gets_the_alert_through_real_smtp(service, leak, smtp_server, django_capture_on_commit_callbacks):
    AlertChannel.objects.create(team=service.team, kind=ChannelKind.EMAIL, target="oncall@example.com, sre@example.com")
    _fire_and_resolve(service, leak, django_capture_on_commit_callbacks)
    subjects = [m["Subject"] for m in smtp_server.messages]
    assert subjects[0].startswith("[gotriage] FIRING: checkout: goroutine leak suspect")
    assert subjects[1].startswith("[gotriage] RESOLVED:")
    assert smtp_server.envelopes[0].rcpt_tos == ["oncall@example.com", "sre@example.com"]
    html = smtp_server.messages[0].get_body(("html",)).get_content()
    assert f'href="{SITE}/services/checkout/sites/{leak.pk}/"' in html


def test_every_channel_kind_is_told_once(service, leak, webhook_receiver, django_capture_on_commit_callbacks):
    for kind in (ChannelKind.WEBHOOK, ChannelKind.SLACK, ChannelKind.ALERTMANAGER):
        AlertChannel.objects.create(team=service.team, kind=kind, target=f"{webhook_receiver.url}/{kind}")
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            alerts.evaluate_service(service)
    assert sorted(r["path"] for r in webhook_receiver.requests) == ["/alertmanager", "/slack", "/webhook"]


def test_a_failing_receiver_is_retried_with_backoff_then_given_up(service, leak, webhook_receiver):
    webhook_receiver.status = 500
    AlertChannel.objects.create(team=service.team, kind=ChannelKind.WEBHOOK, target=webhook_receiver.url + "/down")
    now = timezone.now()
    alerts.evaluate_service(service, now)
    alerts.deliver_pending(now)
    row = AlertNotification.objects.get()
    assert row.status == OutboxStatus.PENDING and row.attempts == 1
    assert row.error.startswith("DeliveryError: HTTP 500")
    assert row.next_attempt_at == now + timedelta(minutes=2)
    assert alerts.deliver_pending(now + timedelta(minutes=1)) == 0  # not due yet

    at = now
    for _ in range(MAX_ATTEMPTS - 1):
        at = AlertNotification.objects.get().next_attempt_at
        alerts.deliver_pending(at)
    row.refresh_from_db()
    assert row.status == OutboxStatus.FAILED and row.attempts == MAX_ATTEMPTS
    assert len(webhook_receiver.requests) == MAX_ATTEMPTS
    assert alerts.deliver_pending(at + timedelta(days=1)) == 0  # poison row stays parked


def test_a_recovered_receiver_gets_the_retry(service, leak, webhook_receiver):
    webhook_receiver.status = 503
    AlertChannel.objects.create(team=service.team, kind=ChannelKind.WEBHOOK, target=webhook_receiver.url + "/flaky")
    now = timezone.now()
    alerts.evaluate_service(service, now)
    alerts.deliver_pending(now)
    webhook_receiver.status = 204
    alerts.deliver_pending(now + timedelta(minutes=3))
    assert AlertNotification.objects.get().status == OutboxStatus.SENT
    assert [b["event"] for b in webhook_receiver.bodies("/flaky")] == ["firing", "firing"]


def test_an_unreachable_receiver_is_an_error_not_a_crash(service, leak):
    AlertChannel.objects.create(team=service.team, kind=ChannelKind.WEBHOOK, target="http://127.0.0.1:9/nothing")
    alerts.evaluate_service(service)
    alerts.deliver_pending()
    row = AlertNotification.objects.get()
    assert row.status == OutboxStatus.PENDING and "127.0.0.1:9" in row.error


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/hook", "http://10.1.2.3/hook", "http://[::1]/x", "http://169.254.169.254/latest/meta-data", "http://localhost/x"])
def test_webhooks_to_private_addresses_are_refused(settings, url):
    from apps.reports.webhooks import DeliveryError, post_json, private_destination

    settings.GOTRIAGE_WEBHOOK_ALLOW_PRIVATE = False
    assert private_destination(url)
    with pytest.raises(DeliveryError, match="private address"):
        post_json(url, {"x": 1})


def test_public_webhook_addresses_pass_the_guard(settings):
    from apps.reports.webhooks import private_destination

    settings.GOTRIAGE_WEBHOOK_ALLOW_PRIVATE = False
    assert private_destination("https://93.184.216.34/hook") is None  # a literal public IP: no DNS needed


def test_the_channel_form_refuses_a_private_webhook(client, settings, make_user, team):
    from apps.reports.models import AlertChannel

    settings.GOTRIAGE_WEBHOOK_ALLOW_PRIVATE = False
    client.force_login(make_user("carol", team=team))
    response = client.post(f"/reports/channels/{team.slug}/", {"action": "add", "kind": "webhook", "target": "http://127.0.0.1:8080/x"}, follow=True)
    assert not AlertChannel.objects.filter(team=team).exists()
    assert "private address" in response.content.decode()
