from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from apps.services.models import Service


@login_required
def fleet(request):
    services = Service.objects.visible_to(request.user).select_related("team")
    return render(request, "web/fleet.html", {"services": services})
