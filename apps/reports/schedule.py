"""Beat entries for reports and alerts, kept here so gotriage/celery.py only calls add_beat_entries()."""
from __future__ import annotations

from celery.schedules import crontab

ENTRIES = {
    # Weekly reports are due at a configured hour; a 15-minute tick finds them,
    # and claiming makes a doubled tick harmless.
    "reports-send-due": (crontab(minute="*/15"), "apps.reports.tasks.send_due_reports"),
    "reports-alert-sweep": (crontab(minute="*/5"), "apps.reports.tasks.sweep_alerts"),
}


def add_beat_entries(app) -> None:
    # add_periodic_task defers until the app is configured, so importing this
    # from gotriage/celery.py never reads Django settings too early.
    for name, (schedule, task) in ENTRIES.items():
        app.add_periodic_task(schedule, app.signature(task), name=name)
