"""Upload API: agents POST artefacts; people (and the agent) read upload status."""
from __future__ import annotations

import zlib
from datetime import datetime, timezone as dt_timezone

from django.conf import settings
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.authentication import BasicAuthentication, SessionAuthentication
from rest_framework.exceptions import APIException, PermissionDenied
from rest_framework.parsers import BaseParser
from rest_framework.response import Response

from apps.services.auth import AgentTokenAuthentication, is_agent
from apps.services.filtering import to_utc
from apps.services.models import Service

from . import intake
from .filters import UploadFilter
from .models import Kind, Upload
from .serializers import UploadAcceptedSerializer, UploadSerializer
from .throttling import AgentTokenRateThrottle

MAX_LABELS = 32
MAX_PARTS = 4  # multipart bodies may carry a few artefacts of the single-upload limit each


class _PlainDetail(APIException):
    """Keeps the detail dict as given (numbers stay numbers: {"error", "line"})."""

    def __init__(self, detail: dict):
        super().__init__()
        self.detail = {k: v for k, v in detail.items() if v is not None}


class PayloadTooLarge(_PlainDetail):
    status_code = 413
    default_detail = "upload too large"


class Invalid(_PlainDetail):
    status_code = 400
    default_detail = "invalid upload"


class RawBodyParser(BaseParser):
    """Documents the raw-body form for the schema; the view reads the stream itself."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        return {}


def _parse_time(value: str) -> datetime:
    value = value.strip()
    try:
        if value.replace(".", "", 1).isdigit():
            return datetime.fromtimestamp(float(value), tz=dt_timezone.utc)
        parsed = parse_datetime(value)
    except (ValueError, OverflowError, OSError):
        parsed = None
    if parsed is None:
        raise Invalid({"error": f"captured_at {value[:40]!r} is not an RFC 3339 time", "field": "captured_at"})
    try:
        return to_utc(parsed)
    except OverflowError:
        raise Invalid({"error": "captured_at is out of range", "field": "captured_at"}) from None


def meta_from(params) -> intake.Meta:
    """Upload metadata from query parameters and/or form fields."""
    instance = (params.get("instance") or "").strip()
    if not instance:
        raise Invalid({"error": "instance is required (the pod or host name)", "field": "instance"})
    if len(instance) > 253 or any(ord(c) < 32 for c in instance):
        raise Invalid({"error": "instance must be at most 253 printable characters", "field": "instance"})
    kind = (params.get("kind") or "").strip() or None
    if kind and kind not in Kind.values:
        raise Invalid({"error": f"unknown kind {kind[:40]!r}; expected one of {', '.join(Kind.values)}", "field": "kind"})
    labels = {}
    for key in params:
        if key.startswith("label."):
            name = key[len("label."):][:64]
            if name:
                labels[name] = str(params.get(key))[:200]
    if len(labels) > MAX_LABELS:
        raise Invalid({"error": f"at most {MAX_LABELS} labels", "field": "label"})
    captured = params.get("captured_at")
    go_version = (params.get("go_version") or "")[:40]
    version = (params.get("version") or "")[:100]
    # Metadata is stored as text: control characters (NUL above all, which
    # PostgreSQL refuses) are an error to name, not a 500.
    for field, value in [("go_version", go_version), ("version", version), *((f"label.{k}", k + v) for k, v in labels.items())]:
        if any(ord(c) < 32 for c in value):
            raise Invalid({"error": f"{field} must not contain control characters", "field": field})
    return intake.Meta(
        instance=instance,
        kind=kind,
        captured_at=_parse_time(captured) if captured else None,
        go_version=go_version,
        version=version,
        labels=labels,
    )


def _read_raw(request) -> bytes:
    django_request = request._request
    try:
        declared = int(django_request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    limit = settings.GOTRIAGE_MAX_UPLOAD_BYTES
    if declared > limit:
        raise PayloadTooLarge({"error": f"upload exceeds {limit} bytes"})
    # Read the stream directly: request.body would apply Django's 2.5 MB form cap.
    body = django_request.read(limit + 1)
    if len(body) > limit:
        raise PayloadTooLarge({"error": f"upload exceeds {limit} bytes"})
    encoding = django_request.META.get("HTTP_CONTENT_ENCODING", "").strip().lower()
    if encoding in {"gzip", "x-gzip"}:
        if not body.startswith(intake.GZIP_MAGIC):
            raise Invalid({"error": "Content-Encoding: gzip but the body is not gzip"})
        # A gzip body is stored as is (decode() reads it); only a gzip-format
        # artefact (a .pb.gz) sent with transport gzip loses the outer layer.
        try:
            inner_head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(body, 2)
        except zlib.error as exc:
            raise Invalid({"error": f"corrupt gzip body: {exc}"}) from None
        if inner_head == intake.GZIP_MAGIC:
            try:
                return intake.gunzip_bounded(body, settings.GOTRIAGE_MAX_DECOMPRESSED_BYTES)
            except intake.TooLarge as exc:
                raise PayloadTooLarge({"error": str(exc)}) from None
            except intake.Rejected as exc:
                raise Invalid({"error": exc.message}) from None
        return body
    if encoding not in {"", "identity"}:
        raise Invalid({"error": f"unsupported Content-Encoding {encoding[:30]!r}; expected gzip or none"})
    return body


def _artefacts(request) -> list[tuple[bytes, str]]:
    content_type = request.content_type or ""
    if content_type.startswith("multipart/form-data"):
        files = request.FILES.getlist("file")
        if not files:
            raise Invalid({"error": "multipart upload without a `file` part"})
        out = []
        for f in files:
            if f.size > settings.GOTRIAGE_MAX_UPLOAD_BYTES:
                raise PayloadTooLarge({"error": f"{f.name}: upload exceeds {settings.GOTRIAGE_MAX_UPLOAD_BYTES} bytes"})
            out.append((f.read(), f.name or ""))
        return out
    return [(_read_raw(request), request.query_params.get("filename", ""))]


class UploadViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Uploads. Agents create them (Bearer token); people read them."""

    serializer_class = UploadSerializer
    filterset_class = UploadFilter
    authentication_classes = [AgentTokenAuthentication, SessionAuthentication, BasicAuthentication]

    def get_queryset(self):
        user = self.request.user
        qs = Upload.objects.select_related("service", "instance", "snapshot")
        if is_agent(user):
            return qs.filter(service=user.service)
        return qs.filter(service__in=Service.objects.visible_to(user))

    def get_throttles(self):
        if self.action == "create":
            return [AgentTokenRateThrottle()]
        return super().get_throttles()

    def get_parsers(self):
        from rest_framework.parsers import FormParser, MultiPartParser

        return [MultiPartParser(), FormParser(), RawBodyParser()]

    @extend_schema(
        summary="Upload one or more artefacts (agent token)",
        description=(
            "Raw body (`--data-binary @file`, optional `Content-Encoding: gzip`) answers one object; "
            "`multipart/form-data` with one or more `file` parts answers a list, one entry per part, "
            "in order. 202 when at least one artefact is new, 200 when all were uploaded before."
        ),
        parameters=[
            OpenApiParameter("instance", str, required=True, description="pod or host name"),
            OpenApiParameter("kind", str, enum=Kind.values, description="skip auto-detection"),
            OpenApiParameter("captured_at", OpenApiTypes.DATETIME, description="RFC 3339; default: now"),
            OpenApiParameter("go_version", str),
            OpenApiParameter("version", str, description="release label of the service"),
            OpenApiParameter("label.<key>", str, description="any number of label.<key>=<value> pairs"),
        ],
        request={"application/octet-stream": OpenApiTypes.BINARY, "multipart/form-data": OpenApiTypes.OBJECT},
        responses={
            202: UploadAcceptedSerializer,
            200: UploadAcceptedSerializer,
            400: OpenApiResponse(description="unknown or malformed content"),
            401: OpenApiResponse(description="missing, unknown or revoked token"),
            413: OpenApiResponse(description="too large (compressed or decompressed)"),
            429: OpenApiResponse(description="rate limit; see Retry-After"),
        },
    )
    def create(self, request):
        if not is_agent(request.user):
            raise PermissionDenied({"error": "uploads need an agent token (Authorization: Bearer …)"})
        service = request.user.service
        params = request.query_params.copy()
        if (request.content_type or "").startswith("multipart/form-data"):
            # Refuse before Django spools a huge form to disk; parts are checked one by one after.
            declared = int(request.META.get("CONTENT_LENGTH") or 0) if str(request.META.get("CONTENT_LENGTH") or "0").isdigit() else 0
            if declared > settings.GOTRIAGE_MAX_UPLOAD_BYTES * MAX_PARTS:
                raise PayloadTooLarge({"error": f"multipart upload exceeds {settings.GOTRIAGE_MAX_UPLOAD_BYTES * MAX_PARTS} bytes"})
            for key, values in request.POST.lists():
                params.setlist(key, values)
        meta = meta_from(params)
        artefacts = _artefacts(request)
        # Validate every part before writing any, so a bad part leaves no rows.
        prepared = []
        for body, name in artefacts:
            try:
                prepared.append((intake.prepare(body, meta.kind), name))
            except intake.TooLarge as exc:
                raise PayloadTooLarge({"error": f"{name + ': ' if name else ''}{exc}"}) from None
            except intake.Rejected as exc:
                raise Invalid({"error": f"{name + ': ' if name else ''}{exc.message}", "line": exc.line}) from None
        results = []
        for item, name in prepared:
            upload, created = intake.accept(service, item, meta, filename=name)
            if created:
                intake.enqueue_on_commit(upload.pk)
            results.append(self._accepted(upload, created, name))
        any_new = any(r["created"] for r in results)
        code = status.HTTP_202_ACCEPTED if any_new else status.HTTP_200_OK
        if (request.content_type or "").startswith("multipart/form-data"):
            return Response(results, status=code)
        return Response(results[0], status=code)

    def _accepted(self, upload: Upload, created: bool, name: str) -> dict:
        from rest_framework.reverse import reverse

        out = {
            "id": str(upload.pk),
            "status": upload.status,
            "url": reverse("upload-detail", args=[upload.pk], request=self.request),
            "kind": upload.kind,
            "created": created,
        }
        if name:
            out["filename"] = name
        return out
