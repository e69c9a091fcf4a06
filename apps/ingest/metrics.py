"""/metrics for Prometheus: read from the database at scrape time (a custom collector).

Values are computed per scrape, so every web process answers the same thing
and nothing has to be kept in memory between requests.
"""
from __future__ import annotations

import hmac
import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Min
from django.http import HttpResponse
from django.utils import timezone
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily

from apps.goroutines import queries
from apps.services.models import Service

from .models import Status, Upload

log = logging.getLogger(__name__)
QUEUES = ("ingest", "findings", "reports")


class GotriageCollector:
    def collect(self):
        services = {s.pk: s for s in Service.objects.select_related("team")}
        goroutines = GaugeMetricFamily("gotriage_service_goroutines", "Goroutines in each instance's latest snapshot, summed per service", labels=["service", "team"])
        for service_id, total in queries.goroutine_totals(list(services)).items():
            s = services[service_id]
            goroutines.add_metric([s.slug, s.team.slug], total or 0)
        yield goroutines
        suspects = GaugeMetricFamily("gotriage_service_open_suspects", "Open leak suspects not marked known benign", labels=["service", "team"])
        counts = queries.open_finding_counts(list(services))
        for service_id, s in services.items():
            suspects.add_metric([s.slug, s.team.slug], counts.get(service_id, 0))
        yield suspects
        now = timezone.now()
        failed = GaugeMetricFamily("gotriage_uploads_failed_24h", "Uploads that failed processing in the last 24 hours", labels=["service"])
        rows = Upload.objects.filter(status=Status.FAILED, received_at__gte=now - timedelta(hours=24)).values("service_id").annotate(n=Count("pk"))
        for row in rows:
            if row["service_id"] in services:
                failed.add_metric([services[row["service_id"]].slug], row["n"])
        yield failed
        oldest = Upload.objects.filter(status__in=[Status.RECEIVED, Status.PROCESSING]).aggregate(oldest=Min("received_at"))["oldest"]
        yield GaugeMetricFamily("gotriage_ingest_lag_seconds", "Age of the oldest upload not yet processed", value=(now - oldest).total_seconds() if oldest else 0.0)
        pending = GaugeMetricFamily("gotriage_uploads_pending", "Uploads received or processing", labels=["status"])
        for status in (Status.RECEIVED, Status.PROCESSING):
            pending.add_metric([status], Upload.objects.filter(status=status).count())
        yield pending
        depth = queue_depths()
        if depth is not None:
            queue = GaugeMetricFamily("gotriage_queue_depth", "Messages waiting in each Celery queue (Redis LLEN)", labels=["queue"])
            for name, n in depth.items():
                queue.add_metric([name], n)
            yield queue


def queue_depths() -> dict | None:
    if not settings.REDIS_URL:
        return None
    import redis

    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
        # kombu's Redis transport keeps priority sub-queues as "<queue>\x06\x16<n>"; the plain key is priority 0.
        return {name: sum(client.llen(key) for key in [name] + [f"{name}\x06\x16{p}" for p in (3, 6, 9)]) for name in QUEUES}
    except Exception as exc:
        log.warning("queue depth unavailable: %s", exc)
        return None


def _authorised(request) -> bool:
    token = settings.GOTRIAGE_METRICS_TOKEN
    if not token:
        return True
    header = request.headers.get("Authorization", "")
    return hmac.compare_digest(header.encode(), f"Bearer {token}".encode())


def metrics_view(request):
    if not _authorised(request):
        return HttpResponse("metrics token required\n", status=401, content_type="text/plain", headers={"WWW-Authenticate": "Bearer"})
    registry = CollectorRegistry(auto_describe=False)
    registry.register(GotriageCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
