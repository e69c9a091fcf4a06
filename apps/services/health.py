"""/healthz (the process answers) and /readyz (its dependencies answer)."""
from __future__ import annotations

import time

from django.conf import settings
from django.db import connection
from django.http import JsonResponse


def healthz(request):
    return JsonResponse({"status": "ok"})


def _check_database() -> dict:
    started = time.monotonic()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means not ready
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    return {"ok": True, "ms": round((time.monotonic() - started) * 1000, 1)}


def _check_redis_and_workers() -> tuple[dict, dict]:
    import redis

    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
        client.ping()
    except Exception as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}, {"ok": False, "error": "redis unreachable"}
    from gotriage.celery import app

    try:
        replies = app.control.ping(timeout=1.0) or []
    except Exception as exc:
        return {"ok": True}, {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    names = sorted(name for reply in replies for name in reply)
    if not names:
        return {"ok": True}, {"ok": False, "error": "no live Celery worker answered"}
    return {"ok": True}, {"ok": True, "workers": names}


def readyz(request):
    checks = {"database": _check_database()}
    if settings.REDIS_URL:
        checks["redis"], checks["workers"] = _check_redis_and_workers()
    else:
        checks["tasks"] = {"ok": True, "mode": "in-process"}
    ready = all(c["ok"] for c in checks.values())
    return JsonResponse({"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503)
