"""What the weekly report says about a service, computed from a seeded week."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.reports.tests.factories import MiB, seed_week
from apps.reports.weekly import build_report
from apps.telemetry.models import GCCycle


@pytest.fixture
def week(team, make_service):
    end = timezone.now()
    service = make_service("checkout", team=team, memory_limit_bytes=512 * MiB, name="Checkout API")
    sites = seed_week(service, end, step_hours=6, instances=2)
    return end, service, sites


def test_the_report_covers_the_seven_days_before_it(week):
    end, service, _ = week
    report = build_report(service.team, end)
    assert report.end == end and report.start == end - timedelta(days=7)
    assert report.week == f"{end.isocalendar()[0]}-W{end.isocalendar()[1]:02d}"


def test_goroutine_trend_sums_instances(week):
    end, service, _ = week
    (section,) = build_report(service.team, end, with_charts=False).services
    # seed: 400*wave + leak share, pod 1 has 20 more; the leak adds ~6/h over the week
    assert section.goroutines_start < section.goroutines_now
    assert section.trend_pct == pytest.approx((section.goroutines_now - section.goroutines_start) / section.goroutines_start * 100)


def test_new_resolved_and_growing_sites_leave_known_benign_out(week):
    end, service, sites = week
    (section,) = build_report(service.team, end, with_charts=False).services
    assert [s["function"] for s in section.new_suspects] == ["main.(*Worker).fanOut.func2"]
    assert [s["function"] for s in section.resolved] == ["main.pollUpstream"]
    assert [s["function"] for s in section.top_growth] == ["main.(*Worker).fanOut.func2", "net/http.(*persistConn).readLoop"]
    assert section.top_growth[0]["growth"] == section.top_growth[0]["end"] - section.top_growth[0]["start"] > 0
    assert section.top_growth[0]["url"].endswith(f"/services/checkout/sites/{sites['leak'].pk}/")
    assert section.open_suspects == 1  # the known-benign suspect is not counted


def test_memory_headroom_and_gc_cpu(week):
    end, service, _ = week
    (section,) = build_report(service.team, end, with_charts=False).services
    memory = section.memory
    assert memory["limit"] == 512 * MiB and memory["alert"] == 470 * MiB  # latest recommendation's alert line
    assert memory["headroom"] == 512 * MiB - memory["peak"]
    assert memory["headroom_pct"] == pytest.approx(1 - memory["peak"] / (512 * MiB))
    assert 0.02 < section.gc["avg"] < section.gc["max"] < 0.06


def test_gc_cpu_falls_back_to_gctrace(team, make_service):
    service = make_service("gc-only", team=team)
    now = timezone.now()
    GCCycle.objects.bulk_create([GCCycle(service=service, at=now - timedelta(hours=i), num=i, cpu_pct=pct) for i, pct in enumerate([4, 8])])
    (section,) = build_report(team, now, with_charts=False).services
    assert section.gc == {"avg": pytest.approx(0.06), "max": pytest.approx(0.08)}


def test_recommendation_changes_list_what_differs(week):
    end, service, _ = week
    (section,) = build_report(service.team, end, with_charts=False).services
    (change,) = section.rec_changes
    assert change["diffs"] == [{"name": "GOGC", "old": "100", "new": "150"},
                               {"name": "GOMEMLIMIT", "old": "400 MiB", "new": "440 MiB"}]


def test_a_service_without_data_still_has_a_section(team, make_service):
    make_service("quiet", team=team)
    report = build_report(team)
    (section,) = report.services
    assert section.goroutines_now is None and section.memory["peak"] is None and section.gc["avg"] is None
    assert len(report.images) == 2  # charts that say "no data" rather than a broken image
    assert report.fleet["services"] == 1 and report.fleet["goroutines"] == 0


def test_services_that_need_attention_come_first(team, make_service):
    end = timezone.now()
    make_service("aaa-calm", team=team)
    seed_week(make_service("zzz-leaking", team=team), end, step_hours=12, instances=1)
    assert [s.service.slug for s in build_report(team, end, with_charts=False).services] == ["zzz-leaking", "aaa-calm"]


def test_a_team_without_services_gets_no_mail(team, member, mailoutbox):
    from apps.reports.models import ReportSubscription, SentReport

    ReportSubscription.send_due(force=True, team=team)
    assert mailoutbox == [] and SentReport.objects.get(team=team).recipients == []
