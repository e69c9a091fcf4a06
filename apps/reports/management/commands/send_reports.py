"""Send the weekly reports that are due, or show what would be sent."""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from apps.reports.emails import report_message
from apps.reports.models import ReportSubscription, SentReport, next_report_time, week_label
from apps.reports.weekly import MAX_CHARTED_SERVICES, build_report
from apps.services.models import Team


class Command(BaseCommand):
    help = "Send due weekly reports (the beat tick does this every 15 minutes)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="print what would be sent; send nothing")
        parser.add_argument("--team", help="only this team (slug)")
        parser.add_argument("--force", action="store_true", help="send now even if not due (still once per week)")

    def handle(self, dry_run=False, team=None, force=False, **options):
        now = timezone.now()
        team_obj = None
        if team:
            team_obj = Team.objects.filter(slug=team).first()
            if team_obj is None:
                raise CommandError(f"no team with slug {team!r}")
        if dry_run:
            self._dry_run(now, team_obj, force)
            return
        sent = ReportSubscription.send_due(now, team=team_obj, force=force)
        for log in sent:
            self.stdout.write(f"sent {log.team.slug} {log.week} to {len(log.recipients)} recipient(s)"
                              + (f" (error: {log.error})" if log.error else ""))
        if not sent:
            self.stdout.write("nothing due")

    def _dry_run(self, now, team, force):
        if team is None:
            # Only read: a dry run must not create subscriptions either.
            subs = ReportSubscription.objects.select_related("team").order_by("team__slug")
            missing = Team.objects.filter(report_subscription__isnull=True)
        else:
            subs = ReportSubscription.objects.filter(team=team).select_related("team")
            missing = Team.objects.filter(pk=team.pk, report_subscription__isnull=True)
        rows = [(s.team, s) for s in subs] + [(t, None) for t in missing]
        if not rows:
            self.stdout.write("no teams")
        for team_obj, sub in rows:
            enabled = sub.enabled if sub else True
            # A team without a subscription yet gets one at the next slot on the first tick.
            next_at = sub.next_report_at if sub and sub.next_report_at else next_report_time(now)
            due = force or next_at <= now
            slot = now if force else next_at
            week = week_label(slot)
            if not enabled:
                self.stdout.write(f"{team_obj.slug}: disabled")
                continue
            if SentReport.objects.filter(team=team_obj, week=week).exists():
                self.stdout.write(f"{team_obj.slug}: {week} already sent")
                continue
            state = "DUE now" if due else f"not due, next at {next_at.isoformat()}"
            recipients = (sub or ReportSubscription(team=team_obj)).recipients()
            self.stdout.write(f"{team_obj.slug}: {state}, week {week}, {len(recipients)} recipient(s)")
            if not recipients:
                continue
            report = build_report(team_obj, end=min(slot, now), with_charts=False, week=week)
            msg = report_message(report, recipients[0])
            self.stdout.write(f"  subject: {msg.subject}")
            self.stdout.write(f"  to: {', '.join(u.email for u in recipients)}")
            self.stdout.write(f"  services: {report.fleet['services']}, open suspects: {report.fleet['open_suspects']}, "
                              f"new: {report.fleet['new_suspects']}, resolved: {report.fleet['resolved']}, "
                              f"charts: {2 * min(report.fleet['services'], MAX_CHARTED_SERVICES)}")
