from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from .models import Service
from .serializers import InstanceSerializer, ServiceSerializer


class ServiceViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ServiceSerializer
    lookup_field = "slug"
    filterset_fields = ["team__slug"]

    def get_queryset(self):
        return Service.objects.visible_to(self.request.user).select_related("team")

    @action(detail=True)
    def instances(self, request, slug=None):
        service = self.get_object()
        page = self.paginate_queryset(service.instances.all())
        return self.get_paginated_response(InstanceSerializer(page, many=True).data)
