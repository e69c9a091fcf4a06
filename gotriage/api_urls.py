"""The REST API under /api/v1/: one router, every app registers its viewsets here."""
from django.urls import include, path
from rest_framework.routers import DefaultRouter

from apps.services.api import ServiceViewSet

router = DefaultRouter()
router.register("services", ServiceViewSet, basename="service")

urlpatterns = [
    path("", include(router.urls)),
]
