"""Coalesce follow-up tasks per service: many uploads in a burst → one recompute.

A marker key is set when a task is queued and cleared when it starts, before
it reads anything, so an upload committed after the clear queues a new run
and none is ever missed.
"""
from __future__ import annotations

import logging

from django.core.cache import cache

log = logging.getLogger(__name__)
DELAY_SECONDS = 1


def _key(name: str, service_id) -> str:
    return f"pending:{name}:{service_id}"


def schedule(task, service_id) -> None:
    from celery import current_app

    eager = current_app.conf.task_always_eager
    try:
        if not eager and not cache.add(_key(task.name, service_id), 1, timeout=300):
            return  # one is already queued and has not started yet
    except Exception:  # cache down: run it anyway
        pass
    try:
        task.apply_async(args=[str(service_id)], countdown=0 if eager else DELAY_SECONDS)
    except Exception as exc:
        log.warning("could not enqueue %s for %s: %s", task.name, service_id, exc)
        clear(task.name, service_id)


def clear(name: str, service_id) -> None:
    try:
        cache.delete(_key(name, service_id))
    except Exception:
        pass
