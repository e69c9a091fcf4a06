"""Re-run parsing over stored raw uploads, e.g. after a parser fix."""
from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.ingest.models import Status, Upload
from apps.ingest.tasks import process_upload


def parse_since(value: str):
    """`2026-11-01T00:00Z` or a duration like `6h`, `2d`, `30m`."""
    units = {"m": "minutes", "h": "hours", "d": "days"}
    if value and value[-1] in units and value[:-1].isdigit():
        return timezone.now() - timedelta(**{units[value[-1]]: int(value[:-1])})
    parsed = parse_datetime(value)
    if parsed is None:
        raise CommandError(f"--since {value!r}: expected an ISO time or a duration like 6h / 2d")
    return parsed


class Command(BaseCommand):
    help = "Re-parse stored raw uploads (idempotent: derived rows are replaced, never doubled)."

    def add_arguments(self, parser):
        parser.add_argument("--service", help="service slug")
        parser.add_argument("--failed", action="store_true", help="only uploads whose processing failed")
        parser.add_argument("--since", help="received at or after (ISO time or 6h / 2d)")
        parser.add_argument("--queue", action="store_true", help="enqueue for the workers instead of running here")

    def handle(self, service=None, failed=False, since=None, queue=False, **options):
        qs = Upload.objects.exclude(raw="").exclude(raw__isnull=True).order_by("captured_at")
        if service:
            qs = qs.filter(service__slug=service)
        if failed:
            qs = qs.filter(status=Status.FAILED)
        if since:
            qs = qs.filter(received_at__gte=parse_since(since))
        ids = list(qs.values_list("pk", flat=True))
        outcomes: dict[str, int] = {}
        for upload_id in ids:
            if queue:
                process_upload.apply_async(args=[str(upload_id)], kwargs={"force": True})
                outcome = "queued"
            else:
                outcome = process_upload.apply(args=[str(upload_id)], kwargs={"force": True}).get(propagate=False)
            outcomes[str(outcome)] = outcomes.get(str(outcome), 0) + 1
        summary = ", ".join(f"{k}: {v}" for k, v in sorted(outcomes.items())) or "nothing to do"
        self.stdout.write(f"reprocessed {len(ids)} uploads ({summary})")
