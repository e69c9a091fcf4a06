"""Accepting one artefact: bounded decompression, kind detection, raw-first storage.

Shared by the upload API and the demo loader so both walk the same path:
validate everything, then write the raw file and the row, then enqueue.
"""
from __future__ import annotations

import hashlib
import logging
import zlib
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.services.models import Instance, Service

from . import detect
from .models import Status, Upload

try:  # ISA-L inflates about twice as fast as zlib: most of an upload's CPU cost
    from isal import isal_zlib as _inflate
except ImportError:  # pragma: no cover - optional speed-up
    _inflate = zlib

log = logging.getLogger(__name__)
GZIP_MAGIC = b"\x1f\x8b"
INFLATE_ERRORS = tuple({zlib.error, getattr(_inflate, "error", zlib.error)})


class TooLarge(Exception):
    """The artefact exceeds a configured size limit (413)."""


class Rejected(Exception):
    """The request or artefact is invalid (400); `line` when known."""

    def __init__(self, message: str, line: int | None = None):
        self.message = message
        self.line = line
        super().__init__(message)


@dataclass
class Meta:
    instance: str
    kind: str | None = None
    captured_at: datetime | None = None
    go_version: str = ""
    version: str = ""
    labels: dict = field(default_factory=dict)


def gunzip_bounded(data: bytes, limit: int) -> bytes:
    """Decompress gzip (multi-member too), refusing output beyond `limit` bytes."""
    parts, total, rest = [], 0, data
    while rest[:2] == GZIP_MAGIC:
        d = _inflate.decompressobj(16 + zlib.MAX_WBITS)
        try:
            chunk = d.decompress(rest, limit + 1 - total)
        except INFLATE_ERRORS as exc:
            raise Rejected(f"corrupt gzip data: {exc}") from None
        total += len(chunk)
        parts.append(chunk)
        if total > limit or d.unconsumed_tail:
            raise TooLarge(f"decompressed size exceeds {limit} bytes")
        if not d.eof:
            raise Rejected("truncated gzip data")
        rest = d.unused_data
    if not parts:
        return data
    return parts[0] if len(parts) == 1 else b"".join(parts)


def decode(body: bytes) -> bytes:
    """The artefact's plain content: gzip (transport or format) removed, within limits."""
    if len(body) > settings.GOTRIAGE_MAX_UPLOAD_BYTES:
        raise TooLarge(f"upload exceeds {settings.GOTRIAGE_MAX_UPLOAD_BYTES} bytes")
    plain = gunzip_bounded(body, settings.GOTRIAGE_MAX_DECOMPRESSED_BYTES) if body.startswith(GZIP_MAGIC) else body
    if len(plain) > settings.GOTRIAGE_MAX_DECOMPRESSED_BYTES:
        raise TooLarge(f"decompressed size exceeds {settings.GOTRIAGE_MAX_DECOMPRESSED_BYTES} bytes")
    return plain


@dataclass
class Prepared:
    """One validated artefact, ready to store."""

    body: bytes  # what is stored: as sent, minus transport encoding
    kind: str
    sha256: str  # of the plain content, so gzip and plain copies dedupe
    size: int  # plain bytes


def prepare(body: bytes, declared: str | None = None) -> Prepared:
    """Decode, size-check and sniff an artefact; raises Rejected / TooLarge."""
    plain = decode(body)
    try:
        kind = detect.detect(plain, declared)
    except detect.DetectError as exc:
        raise Rejected(exc.message, exc.line) from None
    return Prepared(body=body, kind=kind, sha256=hashlib.sha256(plain).hexdigest(), size=len(plain))


def upsert_instance(service: Service, meta: Meta, now: datetime) -> Instance:
    changes = {"last_seen": now}
    if meta.go_version:
        changes["go_version"] = meta.go_version
    if meta.version:
        changes["version"] = meta.version
    instance, created = Instance.objects.get_or_create(service=service, name=meta.instance, defaults={"first_seen": now, **changes})
    if created:
        return instance
    # last_seen only moves forward, even when older captures are replayed
    Instance.objects.filter(pk=instance.pk, last_seen__lt=now).update(**changes)
    for key, value in changes.items():
        setattr(instance, key, value)
    return instance


def accept(service: Service, item: Prepared, meta: Meta, filename: str = "") -> tuple[Upload, bool]:
    """Store one prepared artefact durably: raw file, then row. Returns (upload, created)."""
    existing = Upload.objects.filter(service=service, sha256=item.sha256).first()
    if existing is not None:
        return existing, False
    now = timezone.now()
    upload = Upload(
        service=service, kind=item.kind, sha256=item.sha256, size=item.size, filename=filename[:255],
        status=Status.RECEIVED, received_at=now, captured_at=meta.captured_at or now,
        go_version=meta.go_version, version=meta.version, labels=meta.labels,
    )
    # gzip stays gzip on disk: parsers read it transparently and it costs less.
    upload.raw.save(item.sha256, ContentFile(item.body), save=False)
    try:
        with transaction.atomic():
            upload.instance = upsert_instance(service, meta, min(upload.captured_at, now))
            upload.save(force_insert=True)
    except IntegrityError:
        # Same bytes raced in from another request: keep theirs.
        default_storage.delete(upload.raw.name)
        existing = Upload.objects.filter(service=service, sha256=item.sha256).first()
        if existing is None:
            raise
        return existing, False
    except Exception:
        default_storage.delete(upload.raw.name)
        raise
    return upload, True


def enqueue(upload_id) -> bool:
    """Hand an upload to the workers; False when the broker is unreachable.

    The row is already committed, so a failure here loses nothing: the
    sweeper re-enqueues uploads left in `received`.
    """
    from .tasks import process_upload

    try:
        process_upload.apply_async(
            args=[str(upload_id)],
            retry=True,
            retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5},
        )
        return True
    except Exception as exc:  # broker down: the sweeper picks it up later
        log.warning("enqueue of upload %s failed, left for the sweeper: %s", upload_id, exc)
        return False


def enqueue_on_commit(upload_id) -> None:
    transaction.on_commit(lambda: enqueue(upload_id))
