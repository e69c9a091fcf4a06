"""Tuning tasks (queue `findings`: cheap, per service, after runtime samples)."""
from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from apps.ingest import debounce

from . import recompute
from .signals import recommendation_updated


@shared_task(acks_late=True, autoretry_for=(OperationalError, InterfaceError), retry_backoff=2, max_retries=5)
def recompute_recommendation(service_id: str) -> bool:
    debounce.clear(recompute_recommendation.name, service_id)
    changed = recompute.recompute(service_id) is not None
    recommendation_updated.send(sender=recompute_recommendation, service_id=service_id)
    return changed


def schedule_recommendation(service_id) -> None:
    debounce.schedule(recompute_recommendation, service_id)
