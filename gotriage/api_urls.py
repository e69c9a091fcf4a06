"""The REST API under /api/v1/: one router, every app registers its viewsets here."""
from django.urls import include, path
from rest_framework.routers import DefaultRouter

from apps.goroutines.api import BlockingSiteViewSet, CanaryView, FindingViewSet, ServiceSummaryView, SnapshotViewSet
from apps.ingest.api import UploadViewSet
from apps.services.api import ServiceViewSet
from apps.services.api_instances import InstanceViewSet
from apps.telemetry.api import RuntimeSeriesView
from apps.tuning.api import RecommendationViewSet

router = DefaultRouter()
router.register("services", ServiceViewSet, basename="service")
router.register("instances", InstanceViewSet, basename="instance")
router.register("uploads", UploadViewSet, basename="upload")
router.register("snapshots", SnapshotViewSet, basename="snapshot")
router.register("sites", BlockingSiteViewSet, basename="site")
router.register("findings", FindingViewSet, basename="finding")
router.register("recommendations", RecommendationViewSet, basename="recommendation")

urlpatterns = [
    # per-service reads that are not collections (before the router's service routes)
    path("services/<slug:slug>/canary", CanaryView.as_view(), name="service-canary"),
    path("services/<slug:slug>/runtime-series", RuntimeSeriesView.as_view(), name="service-runtime-series"),
    path("services/<slug:slug>/summary", ServiceSummaryView.as_view(), name="service-summary"),
    path("", include(router.urls)),
]
