"""Lookups for the pages: every object is reached through a service the user may see (404 otherwise)."""
from __future__ import annotations

from django.shortcuts import get_object_or_404

from apps.goroutines.models import BlockingSite, Snapshot
from apps.services.access import service_for_user


def service_or_404(request, slug):
    return service_for_user(request.user, slug)


def snapshot_or_404(service, snapshot_id):
    return get_object_or_404(Snapshot.objects.select_related("instance", "upload"), service=service, pk=snapshot_id)


def site_or_404(service, site_id):
    return get_object_or_404(BlockingSite.objects.select_related("sample_signature", "owner"), service=service, pk=site_id)


def instance_from(service, params):
    """The ?instance=<name> filter, or None; an unknown name is ignored (and reported as such)."""
    name = (params.get("instance") or "").strip()
    if not name:
        return None
    return service.instances.filter(name=name).first()
