"""The weekly mail through a real SMTP server on loopback: parts, images, links, headers, idempotency."""
from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from apps.reports.models import ReportOptOut, ReportSubscription, SentReport
from apps.reports.tests.factories import MiB, seed_week

SITE = "https://gotriage.example.com"


@pytest.fixture
def due_team(settings, team, make_service, make_user):
    """team-a with a seeded service, two members, and a report due a minute ago."""
    settings.SITE_URL = SITE
    end = timezone.now()
    service = make_service("checkout", team=team, memory_limit_bytes=512 * MiB)
    sites = seed_week(service, end)
    make_user("alice", team=team)
    make_user("bob", team=team)
    sub = ReportSubscription.for_team(team)
    sub.next_report_at = end - timedelta(minutes=1)
    sub.save()
    return {"team": team, "service": service, "sites": sites, "sub": sub}


def _parts(msg):
    return [p for p in msg.walk() if not p.is_multipart()]


def test_the_weekly_mail_arrives_with_text_html_and_inline_charts(smtp_server, due_team):
    sent = ReportSubscription.send_due()
    assert [(s.team.slug, len(s.recipients)) for s in sent] == [("team-a", 2)]

    messages = smtp_server.messages
    assert sorted(m["To"] for m in messages) == ["alice@example.com", "bob@example.com"]
    msg = messages[0]
    assert msg.get_content_type() == "multipart/related"
    assert "weekly report" in msg["Subject"] and "1 new suspect" in msg["Subject"]

    parts = _parts(msg)
    types = [p.get_content_type() for p in parts]
    assert types.count("text/plain") == 1 and types.count("text/html") == 1
    images = [p for p in parts if p.get_content_type() == "image/png"]
    assert len(images) == 2
    html = next(p for p in parts if p.get_content_type() == "text/html").get_content()
    text = next(p for p in parts if p.get_content_type() == "text/plain").get_content()
    for image in images:
        cid = image["Content-ID"].strip("<>")
        assert f'src="cid:{cid}"' in html
        assert image.get_content()[:8] == b"\x89PNG\r\n\x1a\n"
        assert image.get_content_disposition() == "inline"

    # Content: the suspect, the growing site and the tuning change are all in the mail.
    assert "main.(*Worker).fanOut.func2" in text and "GOGC 100 -> 150" in text
    assert "main.(*Cache).janitor" not in text  # known benign stays out of the report


def test_every_link_in_the_mail_is_absolute_and_points_at_the_dashboard(smtp_server, due_team):
    ReportSubscription.send_due()
    msg = smtp_server.messages[0]
    html = next(p for p in _parts(msg) if p.get_content_type() == "text/html").get_content()
    hrefs = re.findall(r'href="([^"]+)"', html)
    assert hrefs and all(h.startswith(SITE + "/") for h in hrefs), hrefs
    leak = due_team["sites"]["leak"]
    assert f"{SITE}/" in hrefs
    assert f"{SITE}/services/checkout/" in hrefs
    assert f"{SITE}/services/checkout/sites/{leak.pk}/" in hrefs
    assert f"{SITE}/reports/settings/team-a/" in hrefs
    unsubscribe = [h for h in hrefs if h.startswith(f"{SITE}/reports/unsubscribe/")]
    assert len(unsubscribe) == 1
    assert msg["List-Unsubscribe"].strip() == f"<{unsubscribe[0]}>"  # long headers fold
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_each_recipient_gets_their_own_unsubscribe_link(smtp_server, due_team):
    ReportSubscription.send_due()
    links = {m["To"]: m["List-Unsubscribe"] for m in smtp_server.messages}
    assert len(set(links.values())) == 2


def test_opted_out_members_and_members_without_an_address_get_nothing(smtp_server, due_team, make_user):
    from django.contrib.auth import get_user_model

    bob = get_user_model().objects.get(username="bob")
    ReportOptOut.objects.create(team=due_team["team"], user=bob)
    nomail = make_user("carol", team=due_team["team"])
    nomail.email = ""
    nomail.save()
    ReportSubscription.send_due()
    assert [m["To"] for m in smtp_server.messages] == ["alice@example.com"]


def test_a_disabled_subscription_sends_nothing(smtp_server, due_team):
    ReportSubscription.objects.filter(pk=due_team["sub"].pk).update(enabled=False)
    assert ReportSubscription.send_due() == []
    assert smtp_server.messages == []


def test_beat_firing_twice_sends_once(smtp_server, due_team):
    from apps.reports.tasks import send_due_reports

    first = send_due_reports.delay().get()
    second = send_due_reports.delay().get()
    assert len(first) == 1 and second == []
    assert len(smtp_server.messages) == 2  # alice and bob, once each
    sub = ReportSubscription.objects.get(pk=due_team["sub"].pk)
    assert sub.next_report_at > timezone.now() + timedelta(days=1)
    assert SentReport.objects.count() == 1


def test_the_week_log_stops_a_second_send_even_when_the_schedule_is_reset(smtp_server, due_team):
    ReportSubscription.send_due()
    # Someone re-enables the report, the slot lands in the same ISO week again.
    ReportSubscription.objects.filter(pk=due_team["sub"].pk).update(next_report_at=timezone.now() - timedelta(seconds=5))
    assert ReportSubscription.send_due() == []
    assert len(smtp_server.messages) == 2


def test_an_smtp_outage_frees_the_week_and_retries_an_hour_later(settings, due_team):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens on discard
    with pytest.raises(OSError):
        ReportSubscription.send_due()
    assert SentReport.objects.count() == 0
    sub = ReportSubscription.objects.get(pk=due_team["sub"].pk)
    assert timedelta(minutes=55) < sub.next_report_at - timezone.now() <= timedelta(hours=1)


@pytest.mark.django_db(transaction=True)
def test_two_workers_ticking_at_once_send_once(smtp_server, settings, make_team, make_user, make_service):
    settings.SITE_URL = SITE
    team = make_team("team-a")
    seed_week(make_service("checkout", team=team), timezone.now(), step_hours=12, instances=1)
    make_user("alice", team=team)
    sub = ReportSubscription.for_team(team)
    ReportSubscription.objects.filter(pk=sub.pk).update(next_report_at=timezone.now() - timedelta(minutes=1))

    barrier, results, errors = threading.Barrier(2), [], []

    def tick():
        from django.db import connection

        try:
            barrier.wait()
            results.append(len(ReportSubscription.send_due()))
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=tick) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert sorted(results) == [0, 1]
    assert [m["To"] for m in smtp_server.messages] == ["alice@example.com"]
    assert SentReport.objects.filter(team=team).count() == 1


def test_dry_run_prints_what_would_be_sent_and_sends_nothing(smtp_server, due_team, capsys):
    call_command("send_reports", "--dry-run")
    out = capsys.readouterr().out
    assert "team-a: DUE now" in out
    assert "2 recipient(s)" in out
    assert "alice@example.com, bob@example.com" in out
    assert "subject: [gotriage] team-a weekly report" in out
    assert smtp_server.messages == [] and SentReport.objects.count() == 0
    assert ReportSubscription.objects.get(pk=due_team["sub"].pk).next_report_at < timezone.now()


def test_dry_run_for_one_team(smtp_server, due_team, other_team, capsys):
    call_command("send_reports", "--dry-run", "--team", "team-b")
    out = capsys.readouterr().out
    assert "team-b:" in out and "team-a" not in out


def test_send_reports_sends_what_is_due(smtp_server, due_team, capsys):
    call_command("send_reports", "--team", "team-a")
    assert "sent team-a" in capsys.readouterr().out
    assert len(smtp_server.messages) == 2
    call_command("send_reports", "--team", "team-a")
    assert "nothing due" in capsys.readouterr().out


def test_send_reports_rejects_an_unknown_team(db):
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="no team with slug 'nope'"):
        call_command("send_reports", "--team", "nope")
