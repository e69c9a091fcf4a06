"""Read API for snapshots, groups, diffs, blocking sites and findings (team-scoped)."""
from __future__ import annotations

import uuid

from django.http import Http404
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view, inline_serializer
from rest_framework import mixins, serializers, viewsets
from rest_framework.authentication import BasicAuthentication, SessionAuthentication
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.services.access import service_for_user
from apps.services.filtering import to_utc
from apps.services.auth import AgentTokenAuthentication, is_agent
from apps.services.models import Service

from . import canary, queries
from .filters import BlockingSiteFilter, SnapshotFilter
from .models import Snapshot
from .serializers import (
    BlockingSiteDetailSerializer,
    BlockingSiteSerializer,
    DiffSerializer,
    GroupSerializer,
    SiteGroupSerializer,
    SiteSeriesSerializer,
    SnapshotSerializer,
    TriageEventSerializer,
    TriageSerializer,
)
from .triage import apply_triage


def visible_services(request):
    return Service.objects.visible_to(request.user)


def parse_time_param(request, name: str, required: bool = False):
    value = request.query_params.get(name)
    if not value:
        if required:
            raise ValidationError({name: "required (RFC 3339 time)"})
        return None
    try:
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None:
        raise ValidationError({name: f"{value[:40]!r} is not an RFC 3339 time"})
    try:
        return to_utc(parsed)
    except OverflowError:
        raise ValidationError({name: "out of range"}) from None


def int_param(request, name: str, default: int, low: int, high: int) -> int:
    value = request.query_params.get(name)
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except ValueError:
        raise ValidationError({name: "must be an integer"}) from None
    if not low <= number <= high:
        raise ValidationError({name: f"must be between {low} and {high}"})
    return number


TIME_RANGE = [
    OpenApiParameter("since", OpenApiTypes.DATETIME),
    OpenApiParameter("until", OpenApiTypes.DATETIME),
    OpenApiParameter("points", int, description="at most this many points per series (1–2000, default 500)"),
]


class SnapshotViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = SnapshotSerializer
    filterset_class = SnapshotFilter

    def get_queryset(self):
        return Snapshot.objects.filter(service__in=visible_services(self.request)).select_related("service", "instance")

    @extend_schema(
        parameters=[OpenApiParameter("by", str, enum=["signature", "blocking_key"], description="exact stacks (default) or summed per blocking site")],
        responses=GroupSerializer(many=True),
        description="Groups of the snapshot, biggest first. With by=blocking_key the rows are SiteGroup objects.",
    )
    @action(detail=True)
    def groups(self, request, pk=None):
        snapshot = self.get_object()
        by = request.query_params.get("by", "signature")
        if by not in ("signature", "blocking_key"):
            raise ValidationError({"by": "signature or blocking_key"})
        rows = queries.snapshot_groups(snapshot, by=by)
        page = self.paginate_queryset(rows)
        serializer = SiteGroupSerializer if by == "blocking_key" else GroupSerializer
        return self.get_paginated_response(serializer(page, many=True).data)

    @extend_schema(
        parameters=[
            OpenApiParameter("before", OpenApiTypes.UUID, description="snapshot id (or use service + before_time)"),
            OpenApiParameter("after", OpenApiTypes.UUID, description="snapshot id (or use service + after_time)"),
            OpenApiParameter("service", str, description="service slug, with before_time/after_time"),
            OpenApiParameter("before_time", OpenApiTypes.DATETIME),
            OpenApiParameter("after_time", OpenApiTypes.DATETIME),
            OpenApiParameter("instance", str, description="with time points: pick that instance's snapshots"),
            OpenApiParameter("key", str, enum=["blocking_key", "signature"]),
        ],
        responses=DiffSerializer,
        description="Difference between two snapshots (goruntime diff_groups semantics): per key before, after, delta, status.",
    )
    @action(detail=False)
    def diff(self, request):
        key = request.query_params.get("key", "blocking_key")
        if key not in ("blocking_key", "signature"):
            raise ValidationError({"key": "blocking_key or signature"})
        before, after = self._pick("before", request), self._pick("after", request)
        rows = queries.diff_snapshots(before, after, key=key)
        return Response(DiffSerializer({"before": before, "after": after, "key": key, "rows": rows}).data)

    def _pick(self, side: str, request) -> Snapshot:
        snapshot_id = request.query_params.get(side)
        if snapshot_id:
            try:
                return self.get_queryset().get(pk=uuid.UUID(snapshot_id))
            except (ValueError, Snapshot.DoesNotExist):
                raise Http404(f"no such {side} snapshot") from None
        slug = request.query_params.get("service")
        if not slug:
            raise ValidationError({side: f"give {side}=<snapshot id>, or service=<slug> with {side}_time"})
        service = service_for_user(request.user, slug)
        when = parse_time_param(request, f"{side}_time", required=True)
        snapshot = queries.snapshot_at(service, when, request.query_params.get("instance"))
        if snapshot is None:
            raise Http404(f"no snapshot at or before {side}_time")
        return snapshot


class BlockingSiteViewSet(viewsets.ReadOnlyModelViewSet):
    """Every blocking site of the visible services, suspect or not."""

    filterset_class = BlockingSiteFilter

    def get_queryset(self):
        return queries.sites_for(visible_services(self.request)).select_related("sample_signature")

    def get_serializer_class(self):
        return BlockingSiteDetailSerializer if self.action == "retrieve" else BlockingSiteSerializer

    @extend_schema(parameters=TIME_RANGE, responses=SiteSeriesSerializer)
    @action(detail=True)
    def series(self, request, pk=None):
        site = self.get_object()
        data = queries.site_series(
            site, since=parse_time_param(request, "since"), until=parse_time_param(request, "until"),
            max_points=int_param(request, "points", 500, 1, 2000),
        )
        return Response(data)


@extend_schema_view(
    partial_update=extend_schema(request=TriageSerializer, responses=BlockingSiteDetailSerializer,
                                 description="Set triage_state, owner (username) and/or notes; each change is audited."),
)
class FindingViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, viewsets.GenericViewSet):
    """Findings: blocking sites judged leak suspects (open or auto-resolved)."""

    filterset_class = BlockingSiteFilter
    http_method_names = ["get", "patch", "head", "options"]

    def get_queryset(self):
        return queries.findings(visible_services(self.request)).select_related("sample_signature", "service__team")

    def get_serializer_class(self):
        return BlockingSiteDetailSerializer if self.action != "list" else BlockingSiteSerializer

    def partial_update(self, request, *args, **kwargs):
        site = self.get_object()
        body = TriageSerializer(data=request.data, context={"site": site, "request": request})
        body.is_valid(raise_exception=True)
        apply_triage(site, request.user, body.validated_data)
        site.refresh_from_db()
        return Response(BlockingSiteDetailSerializer(site, context={"request": request}).data)

    @extend_schema(responses=TriageEventSerializer(many=True))
    @action(detail=True)
    def events(self, request, pk=None):
        site = self.get_object()
        page = self.paginate_queryset(site.events.select_related("user"))
        return self.get_paginated_response(TriageEventSerializer(page, many=True).data)

    @extend_schema(parameters=TIME_RANGE, responses=SiteSeriesSerializer)
    @action(detail=True)
    def series(self, request, pk=None):
        return BlockingSiteViewSet.series(self, request, pk)


class CanaryView(APIView):
    """Canary gate for progressive delivery (Argo Rollouts web metric).

    Callable with the service's agent token (Bearer) or as a user.
    """

    authentication_classes = [AgentTokenAuthentication, SessionAuthentication, BasicAuthentication]

    @extend_schema(
        operation_id="services_canary",
        parameters=[
            OpenApiParameter("baseline", str, required=True, description="release label (version) or key=value label of the stable pods"),
            OpenApiParameter("canary", str, required=True, description="release label or key=value label of the canary pods"),
            OpenApiParameter("window", str, description="look-back such as 15m, 1h (default 15m)"),
        ],
        responses=inline_serializer("CanaryVerdict", {
            "service": serializers.CharField(),
            "window_seconds": serializers.IntegerField(),
            "verdict": serializers.ChoiceField(choices=["pass", "fail", "inconclusive"]),
            "healthy": serializers.BooleanField(),
            "score": serializers.FloatField(),
            "baseline": serializers.DictField(),
            "canary": serializers.DictField(),
            "growing_sites": serializers.ListField(child=serializers.DictField()),
        }),
    )
    def get(self, request, slug: str):
        if is_agent(request.user):
            if request.user.service.slug != slug:
                raise Http404("No such service.")
            service = request.user.service
        else:
            service = service_for_user(request.user, slug)
        baseline = request.query_params.get("baseline", "").strip()
        candidate = request.query_params.get("canary", "").strip()
        if not baseline or not candidate:
            raise ValidationError({"error": "baseline and canary labels are required"})
        try:
            window = canary.parse_window(request.query_params.get("window", "15m"))
        except ValueError as exc:
            raise ValidationError({"window": str(exc)}) from None
        return Response(canary.compare(service, baseline[:200], candidate[:200], window))


class ServiceSummaryView(APIView):
    """One service at a glance: goroutines now, open findings, instances, last upload, current advice."""

    @extend_schema(
        operation_id="services_summary",
        responses=inline_serializer("ServiceSummary", {
            "service": serializers.CharField(),
            "goroutines": serializers.IntegerField(),
            "open_findings": serializers.IntegerField(),
            "instances": serializers.IntegerField(),
            "last_upload_at": serializers.DateTimeField(allow_null=True),
            "recommendation": serializers.DictField(allow_null=True),
        }),
    )
    def get(self, request, slug: str):
        from apps.tuning.models import Recommendation

        service = service_for_user(request.user, slug)
        rec = Recommendation.objects.filter(service=service).order_by("-created_at").first()
        last = service.uploads.order_by("-received_at").values_list("received_at", flat=True).first()
        return Response({
            "service": service.slug,
            "goroutines": queries.goroutine_totals([service]).get(service.pk, 0) or 0,
            "open_findings": queries.open_finding_counts([service]).get(service.pk, 0),
            "instances": service.instances.count(),
            "last_upload_at": last,
            "recommendation": None if rec is None else {
                "created_at": rec.created_at, "gomaxprocs": rec.gomaxprocs, "gogc": rec.gogc,
                "gomemlimit": rec.gomemlimit, "rss_alert_bytes": rec.rss_alert_bytes,
            },
        })
