"""Service overview: charts over a time range, suspects, recommendation, recent snapshots and uploads."""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from apps.goroutines.models import BlockingSite, Lifecycle, TriageState
from apps.web import charts
from apps.web.access import instance_from, service_or_404
from apps.web.series import RANGES, first_data_at, fit_to_data, goroutine_series, parse_range, runtime_series
from apps.web.views.fleet import open_suspects_q


def service_context(request, service, tab: str) -> dict:
    """What every service page's header and tabs need."""
    return {"service": service, "tab": tab, "instances": list(service.instances.all())}


@login_required
def service(request, slug):
    service = service_or_404(request, slug)
    instance = instance_from(service, request.GET)
    tr = parse_range(request.GET)
    tr = fit_to_data(tr, first_data_at(service, tr.start, instance))
    ctx = service_context(request, service, "overview")

    gseries = goroutine_series(service, tr, instance)
    rseries = runtime_series(service, tr, instance)
    container_limit = (instance.memory_limit_bytes if instance and instance.memory_limit_bytes else None) or service.memory_limit_bytes
    if not container_limit:
        container_limit = max((i.memory_limit_bytes or 0 for i in ctx["instances"]), default=0) or None
    multi = instance is None and len(ctx["instances"]) > 1
    figs = []
    if gseries["x"]:
        figs.append(("chart-goroutines", charts.goroutines_chart(gseries)))
    if rseries["x"]:
        figs.append(("chart-memory", charts.memory_chart(rseries, rseries["gomemlimit"], container_limit,
                                                         "worst instance per interval" if multi else "")))
        figs.append(("chart-gc", charts.gc_chart(rseries)))
        figs.append(("chart-gcrate", charts.gc_rate_chart(rseries)))

    sites = BlockingSite.objects.filter(service=service).select_related("owner")
    suspects = list(sites.filter(open_suspects_q()).order_by("-score")[:50])
    triaged = list(
        sites.filter(suspect=True).exclude(pk__in=[s.pk for s in suspects]).order_by("-updated_at")[:20]
    )
    recommendation = service.recommendations.order_by("-created_at").first()
    snapshots = list(service.snapshots.select_related("instance").order_by("-captured_at")[:12])
    # failed uploads first: they are what someone has to act on
    uploads = list(service.uploads.select_related("instance").filter(status="failed").order_by("-received_at")[:5])
    uploads += list(service.uploads.select_related("instance").exclude(status="failed").order_by("-received_at")[:12 - len(uploads)])
    failed_count = service.uploads.filter(status="failed").count()

    ctx.update({
        "range": tr,
        "ranges": list(RANGES),
        "instance": instance,
        "unknown_instance": bool(request.GET.get("instance")) and instance is None,
        "figs": figs,
        "step_minutes": tr.step // 60,
        "suspects": suspects,
        "triaged": triaged,
        "recommendation": recommendation,
        "rec": (recommendation.payload or {}) if recommendation else {},
        "snapshots": snapshots,
        "uploads": uploads,
        "failed_count": failed_count,
        "has_any_data": bool(snapshots or uploads or figs),
        "KNOWN_BENIGN": TriageState.KNOWN_BENIGN,
        "RESOLVED": Lifecycle.RESOLVED,
    })
    return render(request, "web/service.html", ctx)
