"""When reports are due, how weeks are named, and the beat entries."""
from datetime import datetime, timezone as dt_timezone
from zoneinfo import ZoneInfo

import pytest

from apps.reports.models import ReportSubscription, next_report_time, week_label

UTC = dt_timezone.utc


def test_next_report_is_the_coming_monday_at_nine_utc_by_default():
    tuesday = datetime(2026, 11, 24, 0, 10, tzinfo=UTC)
    assert next_report_time(tuesday) == datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def test_a_slot_already_reached_moves_a_week_on():
    monday_nine = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    assert next_report_time(monday_nine) == datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    monday_early = datetime(2026, 11, 30, 8, 59, tzinfo=UTC)
    assert next_report_time(monday_early) == monday_nine


def test_weekday_hour_and_time_zone_come_from_settings(settings):
    settings.GOTRIAGE_REPORT_WEEKDAY, settings.GOTRIAGE_REPORT_HOUR = 4, 17  # Friday 17:00
    settings.GOTRIAGE_REPORT_TZ = "Europe/Berlin"
    slot = next_report_time(datetime(2026, 11, 24, 0, 0, tzinfo=UTC))
    assert slot.astimezone(ZoneInfo("Europe/Berlin")).replace(tzinfo=None) == datetime(2026, 11, 27, 17, 0)
    assert slot.astimezone(UTC) == datetime(2026, 11, 27, 16, 0, tzinfo=UTC)


def test_the_wall_clock_hour_survives_a_dst_change(settings):
    settings.GOTRIAGE_REPORT_TZ = "Europe/Berlin"
    # Berlin leaves summer time on Sunday 25 Oct 2026.
    slot = next_report_time(datetime(2026, 10, 20, 12, 0, tzinfo=UTC))
    assert slot.astimezone(UTC) == datetime(2026, 10, 26, 8, 0, tzinfo=UTC)  # 09:00 CET


def test_weeks_are_iso_weeks_in_the_report_time_zone(settings):
    assert week_label(datetime(2026, 11, 30, 9, 0, tzinfo=UTC)) == "2026-W49"
    settings.GOTRIAGE_REPORT_TZ = "Pacific/Auckland"
    # Sunday 23:30 UTC is already Monday in Auckland.
    assert week_label(datetime(2026, 11, 29, 23, 30, tzinfo=UTC)) == "2026-W49"


def test_every_team_gets_an_enabled_subscription(team, other_team):
    ReportSubscription.ensure_all(datetime(2026, 11, 24, tzinfo=UTC))
    subs = ReportSubscription.objects.order_by("team__slug")
    assert [(s.team.slug, s.enabled) for s in subs] == [("team-a", True), ("team-b", True)]
    assert all(s.next_report_at == datetime(2026, 11, 30, 9, 0, tzinfo=UTC) for s in subs)


def test_beat_runs_the_report_tick_every_15_minutes_and_the_alert_sweep_every_5():
    from gotriage.celery import app

    schedule = app.conf.beat_schedule
    assert schedule["reports-send-due"]["task"] == "apps.reports.tasks.send_due_reports"
    assert schedule["reports-alert-sweep"]["task"] == "apps.reports.tasks.sweep_alerts"
    assert schedule["reports-send-due"]["schedule"].minute == set(range(0, 60, 15))
    assert schedule["reports-alert-sweep"]["schedule"].minute == set(range(0, 60, 5))


@pytest.mark.parametrize("name", ["send_due_reports", "evaluate_alerts", "deliver_alerts", "sweep_alerts"])
def test_report_tasks_are_routed_to_the_reports_queue(name):
    from gotriage.celery import app

    route = app.amqp.router.route({}, f"apps.reports.tasks.{name}")
    assert route["queue"].name == "reports"


def test_only_the_first_of_two_stale_readers_claims_a_slot(team):
    now = datetime(2026, 11, 30, 9, 5, tzinfo=UTC)
    ReportSubscription.objects.create(team=team, next_report_at=datetime(2026, 11, 30, 9, 0, tzinfo=UTC))
    a, b = ReportSubscription.objects.get(team=team), ReportSubscription.objects.get(team=team)
    assert a.claim(now) == datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    assert b.claim(now) is None
    assert ReportSubscription.objects.get(team=team).next_report_at == datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
