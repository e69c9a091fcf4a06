"""Instances across the visible services (list only: instances have no public id)."""
from __future__ import annotations

import django_filters
from rest_framework import mixins, serializers, viewsets

from .filtering import UTCDateTimeFilter
from .models import Instance, Service
from .serializers import InstanceSerializer


class InstanceListSerializer(InstanceSerializer):
    service = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta(InstanceSerializer.Meta):
        fields = ["service"] + InstanceSerializer.Meta.fields


class InstanceFilter(django_filters.FilterSet):
    service = django_filters.CharFilter(field_name="service__slug")
    name = django_filters.CharFilter()
    seen_since = UTCDateTimeFilter(field_name="last_seen", lookup_expr="gte")
    go_version = django_filters.CharFilter()

    class Meta:
        model = Instance
        fields = ["service", "name", "go_version"]


class InstanceViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = InstanceListSerializer
    filterset_class = InstanceFilter

    def get_queryset(self):
        return Instance.objects.filter(service__in=Service.objects.visible_to(self.request.user)).select_related("service").order_by("service__slug", "name")
