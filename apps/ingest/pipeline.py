"""Processing one stored upload: claim → parse → persist → hand on to findings/tuning.

Idempotent: a re-run deletes what an earlier run wrote for the same upload
inside the same transaction that writes it again, and a processed upload is
skipped unless `force` (reprocess after a parser fix).
"""
from __future__ import annotations

import logging
import time

from django.db import transaction
from django.utils import timezone

from apps.goroutines.models import Snapshot
from apps.services.models import Instance
from apps.telemetry import rollup
from apps.telemetry.models import GCCycle, MemSample

from .models import Kind, Status, Upload

log = logging.getLogger(__name__)


def parse_errors() -> tuple:
    from apps.goruntime import goroutines as gr
    from apps.goruntime import runtime as rt

    return tuple({gr.ParseError, rt.ParseError})


class Outcome:
    GONE = "gone"
    SKIPPED = "skipped"
    PROCESSED = "processed"
    FAILED = "failed"


def claim(upload_id, force: bool = False) -> Upload | None:
    """Mark the upload processing (committed, so pages show it); None if nothing to do."""
    with transaction.atomic():
        upload = Upload.objects.select_for_update().filter(pk=upload_id).first()
        if upload is None or (upload.status == Status.PROCESSED and not force):
            return None
        upload.status = Status.PROCESSING
        upload.attempts += 1
        upload.started_at = timezone.now()
        upload.save(update_fields=["status", "attempts", "started_at"])
    return Upload.objects.select_related("service", "instance").get(pk=upload_id)


def mark_failed(upload_id, message: str, line: int | None = None) -> None:
    Upload.objects.filter(pk=upload_id).update(
        status=Status.FAILED, error=message[:4000], error_line=line, processed_at=timezone.now(),
    )


def read_raw(upload: Upload) -> bytes:
    with upload.raw.open("rb") as fh:
        return fh.read()


def parse(upload: Upload, data: bytes):
    # Imported here so workers start (and autodiscovery works) independently of the engines.
    from apps.goruntime import goroutines as gr
    from apps.goruntime import runtime as rt

    name = upload.filename or None
    if upload.kind in Kind.goroutine_kinds():
        dump = gr.parse_dump(data, name=name)
        return dump, gr.group_dump(dump, own_prefixes=upload.service.own_prefixes)
    return rt.parse_runtime(data, name=name, captured_at=upload.captured_at.timestamp()), None


def process(upload_id, force: bool = False) -> str:
    upload = claim(upload_id, force=force)
    if upload is None:
        return Outcome.SKIPPED
    started = time.monotonic()
    if not upload.raw:
        mark_failed(upload.pk, "raw bytes are no longer stored (pruned by retention)")
        return Outcome.FAILED
    try:
        data = read_raw(upload)
    except FileNotFoundError:
        mark_failed(upload.pk, "raw bytes are no longer stored (pruned by retention)")
        return Outcome.FAILED
    try:
        parsed, groups = parse(upload, data)
    except parse_errors() as exc:
        mark_failed(upload.pk, getattr(exc, "message", str(exc)), getattr(exc, "line", None))
        log.info("upload %s failed to parse: %s", upload.pk, exc)
        return Outcome.FAILED
    with transaction.atomic():
        locked = Upload.objects.select_for_update().filter(pk=upload.pk).first()
        if locked is None:
            return Outcome.GONE
        # Whatever an earlier (crashed or forced) run wrote goes first.
        Snapshot.objects.filter(upload=upload).delete()
        previous_samples = list(MemSample.objects.filter(upload=upload).only("service_id", "instance_id", "at"))
        MemSample.objects.filter(upload=upload).delete()
        GCCycle.objects.filter(upload=upload).delete()
        follow_up = _persist(upload, parsed, groups)
        if previous_samples:  # hours the earlier run touched get recomputed too
            rollup.refresh_for_samples(previous_samples)
        Upload.objects.filter(pk=upload.pk).update(
            status=Status.PROCESSED, error="", error_line=None, processed_at=timezone.now(),
        )
        transaction.on_commit(lambda: follow_up(upload.service_id))
    log.info("upload %s kind=%s size=%d processed in %.1f ms", upload.pk, upload.kind, upload.size,
             (time.monotonic() - started) * 1000)
    return Outcome.PROCESSED


def _persist(upload: Upload, parsed, groups):
    from apps.goroutines.persist import save_snapshot
    from apps.goroutines.tasks import schedule_findings
    from apps.telemetry.persist import save_runtime
    from apps.tuning.tasks import schedule_recommendation

    if groups is not None:
        save_snapshot(upload, parsed, groups)
        if parsed.go_version and upload.instance_id and not upload.go_version:
            Instance.objects.filter(pk=upload.instance_id).update(go_version=str(parsed.go_version)[:40])
        return schedule_findings
    save_runtime(upload, parsed)
    return schedule_recommendation
