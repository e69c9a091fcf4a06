"""Alert conditions, deduplication, rate limits and the outbox."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.goroutines.models import Lifecycle, TriageState
from apps.reports import alerts
from apps.reports.models import Alert, AlertChannel, AlertNotification, AlertState, ChannelKind, OutboxStatus
from apps.reports.tests.factories import MiB, make_site
from apps.services.models import Instance
from apps.telemetry.models import GCCycle, MemSample
from apps.tuning.models import Recommendation


@pytest.fixture
def channel(team):
    return AlertChannel.objects.create(team=team, kind=ChannelKind.EMAIL, target="oncall@example.com")


@pytest.fixture
def now():
    return timezone.now()


def _rows(**filters):
    return list(AlertNotification.objects.filter(**filters).order_by("created_at"))


def suspect(service, key="leak", score=0.9, **fields):
    return make_site(service, key, f"main.{key}", suspect=True, score=score, suspect_since=timezone.now(), last_count=500, **fields)


# --- new suspects ----------------------------------------------------------------


def test_a_new_suspect_above_the_threshold_fires_once_per_channel(service, channel, now, mailoutbox):
    site = suspect(service)
    changed = alerts.evaluate_service(service, now)
    assert changed["fired"] == [f"{service.pk}:new_suspect:{site.pk}"]
    alert = Alert.objects.get()
    assert (alert.kind, alert.state, alert.key, alert.notified) == ("new_suspect", "firing", str(site.pk), True)
    assert "main.leak" in alert.summary and alert.link.endswith(f"/services/checkout/sites/{site.pk}/")
    assert [(r.event, r.status) for r in _rows()] == [("firing", "pending")]
    assert alerts.deliver_pending(now) == 1
    assert [m.subject for m in mailoutbox] == [f"[gotriage] FIRING: {alert.summary}"]
    assert mailoutbox[0].to == ["oncall@example.com"]


def test_a_suspect_below_the_threshold_does_not_fire(service, channel, now, settings):
    suspect(service, score=0.59)
    assert alerts.evaluate_service(service, now)["fired"] == []
    settings.GOTRIAGE_ALERT_MIN_SCORE = 0.5
    assert len(alerts.evaluate_service(service, now)["fired"]) == 1


def test_known_benign_sites_never_alert(service, channel, now):
    suspect(service, score=0.99, triage_state=TriageState.KNOWN_BENIGN)
    for _ in range(3):
        alerts.evaluate_service(service, now)
    assert not Alert.objects.exists() and not AlertNotification.objects.exists()


def test_marking_a_firing_site_known_benign_resolves_its_alert(service, channel, now):
    site = suspect(service)
    alerts.evaluate_service(service, now)
    site.triage_state = TriageState.KNOWN_BENIGN
    site.save()
    changed = alerts.evaluate_service(service, now + timedelta(minutes=1))
    assert len(changed["resolved"]) == 1
    assert [r.event for r in _rows()] == ["firing", "resolved"]


def test_resolved_and_non_suspect_sites_do_not_alert(service, channel, now):
    suspect(service, "gone", lifecycle=Lifecycle.RESOLVED)
    make_site(service, "fine", "main.fine", suspect=False, score=0.95)
    assert alerts.evaluate_service(service, now)["fired"] == []


def test_a_firing_alert_is_deduplicated(service, channel, now):
    suspect(service)
    for minute in range(5):
        alerts.evaluate_service(service, now + timedelta(minutes=minute))
    assert Alert.objects.count() == 1 and len(_rows()) == 1


def test_a_cleared_alert_sends_a_resolve_with_the_same_key(service, channel, now, mailoutbox):
    site = suspect(service)
    alerts.evaluate_service(service, now)
    site.suspect = False
    site.save()
    alerts.evaluate_service(service, now + timedelta(minutes=5))
    alert = Alert.objects.get()
    assert alert.state == AlertState.RESOLVED and alert.resolved_at == now + timedelta(minutes=5)
    rows = _rows()
    assert [r.event for r in rows] == ["firing", "resolved"]
    assert rows[1].payload["dedup_key"] == rows[0].payload["dedup_key"]
    alerts.deliver_pending(now + timedelta(minutes=5))
    assert [m.subject.split(":")[0] for m in mailoutbox] == ["[gotriage] FIRING", "[gotriage] RESOLVED"]


def test_disabled_channels_and_other_teams_channels_get_nothing(service, team, other_team, now):
    AlertChannel.objects.create(team=team, kind=ChannelKind.EMAIL, target="off@example.com", enabled=False)
    AlertChannel.objects.create(team=other_team, kind=ChannelKind.EMAIL, target="them@example.com")
    suspect(service)
    alerts.evaluate_service(service, now)
    assert Alert.objects.count() == 1 and _rows() == []


# --- rate limiting -----------------------------------------------------------------


def test_a_flapping_alert_is_announced_once_per_interval(service, channel, now, settings):
    settings.GOTRIAGE_ALERT_MIN_INTERVAL_MINUTES = 30
    site = suspect(service)
    alerts.evaluate_service(service, now)  # fires, announced
    for minute in (2, 4):  # clears and fires again: quiet
        site.suspect = False
        site.save()
        alerts.evaluate_service(service, now + timedelta(minutes=minute))
        site.suspect = True
        site.save()
        alerts.evaluate_service(service, now + timedelta(minutes=minute + 1))
    alert = Alert.objects.get()
    assert alert.suppressed == 2  # both re-fires stayed quiet, and so did their resolves
    assert [r.event for r in _rows()] == ["firing", "resolved"]

    site.suspect = False
    site.save()
    alerts.evaluate_service(service, now + timedelta(minutes=40))
    site.suspect = True
    site.save()
    alerts.evaluate_service(service, now + timedelta(minutes=41))  # past the interval: announced
    assert [r.event for r in _rows()] == ["firing", "resolved", "firing"]


def test_a_channel_gets_at_most_the_hourly_cap_and_resolves_still_go_out(service, channel, now, settings, mailoutbox):
    settings.GOTRIAGE_ALERT_MAX_PER_HOUR = 2
    sites = [suspect(service, f"leak{i}") for i in range(3)]
    alerts.evaluate_service(service, now)
    alerts.deliver_pending(now)
    statuses = sorted(r.status for r in _rows(event="firing"))
    assert statuses == ["sent", "sent", "suppressed"]
    assert len(mailoutbox) == 2
    for site in sites:
        site.suspect = False
        site.save()
    alerts.evaluate_service(service, now + timedelta(minutes=1))
    alerts.deliver_pending(now + timedelta(minutes=1))
    # Only the two alerts the channel saw fire are resolved there, and the cap does not hold them back.
    assert [r.status for r in _rows(event="resolved")] == ["sent", "sent"]


# --- RSS -----------------------------------------------------------------------------


def _rss(service, pod, rss, at):
    instance = Instance.objects.get_or_create(service=service, name=pod)[0]
    return MemSample.objects.create(service=service, instance=instance, at=at, source="expvar", rss=rss)


def test_rss_above_the_services_threshold_fires_and_clears(service, channel, now):
    service.rss_alert_bytes = 400 * MiB
    service.save()
    _rss(service, "pod-a", 300 * MiB, now - timedelta(minutes=2))
    _rss(service, "pod-b", 450 * MiB, now - timedelta(minutes=1))
    alerts.evaluate_service(service, now)
    alert = Alert.objects.get(kind="rss_high")
    assert "450 MiB above the alert threshold 400 MiB on 1 instance" in alert.summary
    assert alert.details["instances"] == [["pod-b", 450 * MiB]]
    _rss(service, "pod-b", 350 * MiB, now + timedelta(minutes=1))  # the newest sample counts
    alerts.evaluate_service(service, now + timedelta(minutes=2))
    assert Alert.objects.get(kind="rss_high").state == "resolved"


def test_rss_threshold_falls_back_to_the_latest_recommendation(service, channel, now):
    Recommendation.objects.create(service=service, gogc="100", rss_alert_bytes=200 * MiB, created_at=now - timedelta(days=1))
    _rss(service, "pod-a", 250 * MiB, now - timedelta(minutes=1))
    alerts.evaluate_service(service, now)
    assert Alert.objects.get().kind == "rss_high"


def test_old_samples_and_services_without_a_threshold_never_fire(service, make_service, channel, now):
    service.rss_alert_bytes = 100 * MiB
    service.save()
    _rss(service, "pod-a", 900 * MiB, now - timedelta(hours=2))
    bare = make_service("bare", team=service.team)
    _rss(bare, "pod-x", 900 * MiB, now)
    alerts.evaluate_service(service, now)
    alerts.evaluate_service(bare, now)
    assert not Alert.objects.exists()


# --- GC thrash -------------------------------------------------------------------------


def test_gc_thrash_from_the_latest_recommendation_signals(service, channel, now):
    Recommendation.objects.create(service=service, gogc="100", created_at=now - timedelta(minutes=3),
                                  payload={"signals": {"thrashing": True, "gc_per_minute": 95.0}})
    alerts.evaluate_service(service, now)
    alert = Alert.objects.get()
    assert alert.kind == "gc_thrash" and "95.0 GCs/min" in alert.summary
    assert alert.details["source"] == "recommendation"
    Recommendation.objects.create(service=service, gogc="200", created_at=now,
                                  payload={"signals": {"thrashing": False}})
    alerts.evaluate_service(service, now + timedelta(minutes=1))
    assert Alert.objects.get().state == "resolved"


def test_a_stale_thrashing_recommendation_does_not_fire(service, channel, now):
    Recommendation.objects.create(service=service, gogc="100", created_at=now - timedelta(days=2),
                                  payload={"signals": {"thrashing": True}})
    alerts.evaluate_service(service, now)
    assert not Alert.objects.exists()


def test_gc_thrash_from_gctrace_density(service, channel, now, settings):
    settings.GOTRIAGE_ALERT_GC_PER_MINUTE = 30
    pod = Instance.objects.create(service=service, name="pod-a")
    window = settings.GOTRIAGE_ALERT_WINDOW_MINUTES = 10
    GCCycle.objects.bulk_create([
        GCCycle(service=service, instance=pod, at=now - timedelta(seconds=i * 15), num=i) for i in range(window * 4)
    ])  # 4 GCs a minute: calm
    alerts.evaluate_service(service, now)
    assert not Alert.objects.exists()
    GCCycle.objects.bulk_create([
        GCCycle(service=service, instance=pod, at=now - timedelta(seconds=i * 1.5), num=1000 + i) for i in range(window * 40)
    ])
    alerts.evaluate_service(service, now)
    alert = Alert.objects.get()
    assert alert.kind == "gc_thrash" and alert.details["source"] == "gctrace"


# --- outbox ---------------------------------------------------------------------------


def test_an_outbox_row_is_claimed_by_one_sender_only(service, channel, now):
    suspect(service)
    alerts.evaluate_service(service, now)
    a, b = AlertNotification.objects.get(), AlertNotification.objects.get()
    assert a.claim(now) is True
    assert b.claim(now) is False
    assert AlertNotification.objects.get().attempts == 1


def test_a_row_left_sending_by_a_dead_worker_is_picked_up_again(service, channel, now, mailoutbox):
    suspect(service)
    alerts.evaluate_service(service, now)
    AlertNotification.objects.update(status=OutboxStatus.SENDING, claimed_at=now - timedelta(minutes=11), attempts=1)
    assert alerts.deliver_pending(now) == 1
    assert AlertNotification.objects.get().status == "sent" and len(mailoutbox) == 1


def test_evaluate_alerts_task_delivers_after_commit(service, channel, mailoutbox, django_capture_on_commit_callbacks):
    from apps.reports.tasks import evaluate_alerts

    suspect(service)
    with django_capture_on_commit_callbacks(execute=True):
        evaluate_alerts.delay(str(service.pk))
    assert len(mailoutbox) == 1
    assert evaluate_alerts.delay("00000000-0000-0000-0000-000000000000").get() == {}


def test_the_sweep_evaluates_every_service(service, make_service, channel, mailoutbox):
    from apps.reports.tasks import sweep_alerts

    other = make_service("ledger", team=service.team)
    suspect(service)
    suspect(other)
    assert sweep_alerts.delay().get() == 2
    assert {a.service.slug for a in Alert.objects.all()} == {"checkout", "ledger"}
    assert len(mailoutbox) == 2
