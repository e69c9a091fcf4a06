"""Celery tasks for reports and alerts (queue "reports", see CELERY_TASK_ROUTES)."""
from __future__ import annotations

import logging

from celery import shared_task

log = logging.getLogger(__name__)


@shared_task(name="apps.reports.tasks.send_due_reports")
def send_due_reports() -> list[str]:
    """Beat tick (every 15 min): send each due weekly report once."""
    from .models import ReportSubscription

    return [f"{log_row.team.slug} {log_row.week}" for log_row in ReportSubscription.send_due()]


@shared_task(name="apps.reports.tasks.evaluate_alerts")
def evaluate_alerts(service_id: str) -> dict:
    """Call after findings or recommendations of one service changed."""
    from apps.services.models import Service

    from .alerts import evaluate_service

    service = Service.objects.select_related("team").filter(pk=service_id).first()
    if service is None:
        return {}
    return evaluate_service(service)


def evaluate_alerts_later(sender, service_id, **kwargs) -> None:
    """Signal receiver: evaluate the service's alerts once the change is committed."""
    from django.db import transaction

    transaction.on_commit(lambda: evaluate_alerts.delay(str(service_id)))


@shared_task(name="apps.reports.tasks.deliver_alerts")
def deliver_alerts() -> int:
    from .alerts import deliver_pending

    return deliver_pending()


@shared_task(name="apps.reports.tasks.sweep_alerts")
def sweep_alerts() -> int:
    """Beat (every 5 min): RSS and GC alerts clear with time, not only on new findings."""
    from .alerts import sweep

    return sweep()
