from django.urls import path

from .views import adhoc, diff, fleet, service, settings, site, snapshot, tuning

urlpatterns = [
    path("", fleet.fleet, name="fleet"),
    path("adhoc/", adhoc.adhoc, name="adhoc"),
    path("adhoc/<uuid:analysis_id>/", adhoc.adhoc_detail, name="adhoc_detail"),
    path("adhoc/<uuid:analysis_id>/delete", adhoc.adhoc_delete, name="adhoc_delete"),
    path("services/<slug:slug>/", service.service, name="service"),
    path("services/<slug:slug>/snapshots/", snapshot.snapshots, name="snapshots"),
    path("services/<slug:slug>/snapshots/<uuid:snapshot_id>/", snapshot.snapshot, name="snapshot"),
    path("services/<slug:slug>/snapshots/<uuid:snapshot_id>/raw", snapshot.snapshot_raw, name="snapshot_raw"),
    path("services/<slug:slug>/diff/", diff.diff, name="diff"),
    path("services/<slug:slug>/sites/<uuid:site_id>/", site.site, name="site"),
    path("services/<slug:slug>/sites/<uuid:site_id>/triage", site.site_triage, name="site_triage"),
    path("services/<slug:slug>/tuning/", tuning.tuning, name="tuning"),
    path("services/<slug:slug>/tuning/what-if", tuning.what_if, name="what_if"),
    path("services/<slug:slug>/settings/", settings.settings_page, name="service_settings"),
    path("services/<slug:slug>/settings/tokens", settings.token_create, name="token_create"),
    path("services/<slug:slug>/settings/tokens/<str:prefix>/revoke", settings.token_revoke, name="token_revoke"),
]
