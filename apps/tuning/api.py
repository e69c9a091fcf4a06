"""Recommendations API: the history of advice per service, newest first."""
from __future__ import annotations

import django_filters
from rest_framework import mixins, serializers, viewsets

from apps.services.filtering import UTCDateTimeFilter
from apps.services.models import Service

from .models import Recommendation


class RecommendationSerializer(serializers.ModelSerializer):
    service = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = Recommendation
        fields = ["service", "created_at", "gomaxprocs", "gogc", "gomemlimit", "rss_alert_bytes", "go_version", "payload"]


class RecommendationFilter(django_filters.FilterSet):
    service = django_filters.CharFilter(field_name="service__slug")
    since = UTCDateTimeFilter(field_name="created_at", lookup_expr="gte")

    class Meta:
        model = Recommendation
        fields = ["service"]


class RecommendationViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """List only (rows have no public id); `?service=<slug>&limit=1` is the current advice."""

    serializer_class = RecommendationSerializer
    filterset_class = RecommendationFilter

    def get_queryset(self):
        return Recommendation.objects.filter(service__in=Service.objects.visible_to(self.request.user)).select_related("service")
