"""Runtime series API: downsampled MemSample/GCCycle metrics for a service and time range."""
from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.goroutines.api import int_param, parse_time_param
from apps.services.access import service_for_user

from . import series


class RuntimeSeriesView(APIView):
    @extend_schema(
        operation_id="services_runtime_series",
        parameters=[
            OpenApiParameter("metrics", str, description=f"comma-separated; any of {', '.join(series.SAMPLE_METRICS + series.GC_METRICS)}"),
            OpenApiParameter("since", OpenApiTypes.DATETIME, description="default: 24 hours before until"),
            OpenApiParameter("until", OpenApiTypes.DATETIME, description="default: now"),
            OpenApiParameter("points", int, description="at most this many points per series (1–2000, default 500)"),
            OpenApiParameter("instance", str),
            OpenApiParameter("per_instance", bool),
            OpenApiParameter("agg", str, enum=list(series.AGGREGATES)),
        ],
        responses=inline_serializer("RuntimeSeries", {
            "bucket_seconds": serializers.IntegerField(),
            "since": serializers.DateTimeField(),
            "until": serializers.DateTimeField(),
            "agg": serializers.CharField(),
            "series": serializers.ListField(child=serializers.DictField()),
        }),
    )
    def get(self, request, slug: str):
        service = service_for_user(request.user, slug)
        metrics = [m.strip() for m in request.query_params.get("metrics", "heap_alloc,goroutines").split(",") if m.strip()]
        until = parse_time_param(request, "until")
        since = parse_time_param(request, "since")
        default_since, default_until = series.default_range()
        until = until or default_until
        since = since or (until - (default_until - default_since))
        if since >= until:
            raise ValidationError({"since": "must be before until"})
        try:
            data = series.runtime_series(
                service, metrics, since, until, points=int_param(request, "points", series.DEFAULT_POINTS, 1, series.MAX_POINTS),
                instance=request.query_params.get("instance") or None,
                per_instance=request.query_params.get("per_instance", "").lower() in {"1", "true", "yes"},
                agg=request.query_params.get("agg", "avg"),
            )
        except ValueError as exc:
            raise ValidationError({"metrics": str(exc)}) from None
        return Response(data)
