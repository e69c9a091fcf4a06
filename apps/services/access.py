"""One lookup-plus-access helper per object kind: another team's object is a 404."""
from __future__ import annotations

from django.http import Http404
from django.shortcuts import get_object_or_404

from .models import Service


def service_for_user(user, slug: str) -> Service:
    return get_object_or_404(Service.objects.visible_to(user).select_related("team"), slug=slug)


def check_service(user, service: Service) -> Service:
    if not Service.objects.visible_to(user).filter(pk=service.pk).exists():
        raise Http404("No such service.")
    return service
