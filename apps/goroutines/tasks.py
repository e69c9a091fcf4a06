"""Findings tasks (queue `findings`)."""
from __future__ import annotations

import logging
import time

from celery import shared_task
from django.db import InterfaceError, OperationalError

from apps.ingest import debounce

from . import findings
from .signals import findings_updated

log = logging.getLogger(__name__)


@shared_task(acks_late=True, autoretry_for=(OperationalError, InterfaceError), retry_backoff=2, max_retries=5)
def update_findings(service_id: str) -> int:
    # Clear the marker before reading: uploads committed from now on queue a new run.
    debounce.clear(update_findings.name, service_id)
    started = time.monotonic()
    updated = findings.update_service(service_id)
    log.info("findings for %s: %d sites re-scored in %.1f ms", service_id, updated, (time.monotonic() - started) * 1000)
    findings_updated.send(sender=update_findings, service_id=service_id)
    return updated


def schedule_findings(service_id) -> None:
    debounce.schedule(update_findings, service_id)
