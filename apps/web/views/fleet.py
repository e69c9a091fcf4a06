"""Fleet: every service the user may see, with the numbers that say where to look first."""
from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Avg, Count, Max, OuterRef, Q, Subquery
from django.shortcuts import render
from django.utils import timezone

from apps.goroutines.models import BlockingSite, Lifecycle, Snapshot, TriageState
from apps.ingest.models import Upload
from apps.services.models import Instance, Service
from apps.telemetry.models import MemSample
from apps.web.series import Bucket

SPARK_HOURS = 24
SPARK_STEP = 900  # 15-minute points


def open_suspects_q(prefix: str = "") -> Q:
    p = prefix
    return Q(**{f"{p}suspect": True, f"{p}lifecycle": Lifecycle.OPEN}) & ~Q(**{f"{p}triage_state": TriageState.KNOWN_BENIGN})


@login_required
def fleet(request):
    now = timezone.now()
    services = list(Service.objects.visible_to(request.user).select_related("team"))
    ids = [s.pk for s in services]
    stale_after = timedelta(minutes=settings.GOTRIAGE_STALE_AFTER_MINUTES)

    suspects = dict(
        BlockingSite.objects.filter(service_id__in=ids).filter(open_suspects_q())
        .values("service_id").annotate(n=Count("id")).values_list("service_id", "n")
    )
    last_upload = dict(
        Upload.objects.filter(service_id__in=ids).values("service_id").annotate(t=Max("received_at")).values_list("service_id", "t")
    )
    last_seen = dict(
        Instance.objects.filter(service_id__in=ids).values("service_id").annotate(t=Max("last_seen")).values_list("service_id", "t")
    )
    go_versions: dict = {}
    for sid, ver in (Instance.objects.filter(service_id__in=ids).exclude(go_version="")
                     .order_by("service_id", "-last_seen").values_list("service_id", "go_version")):
        go_versions.setdefault(sid, ver)

    # Goroutines over the last day: per (service, hour) the mean per instance, summed.
    spark: dict = {}
    rows = (Snapshot.objects.filter(service_id__in=ids, captured_at__gte=now - timedelta(hours=SPARK_HOURS))
            .annotate(b=Bucket("captured_at", SPARK_STEP)).values("service_id", "b", "instance_id")
            .annotate(t=Avg("total")).order_by("b"))
    for r in rows:
        per = spark.setdefault(r["service_id"], {})
        per[r["b"]] = per.get(r["b"], 0) + (r["t"] or 0)
    # Goroutines now: the latest snapshot of each instance seen in the last day, summed.
    latest = list(Snapshot.objects.filter(service_id__in=ids, captured_at__gte=now - timedelta(hours=SPARK_HOURS))
                  .values("service_id", "instance_id").annotate(last=Max("captured_at")))
    latest_total: dict = {}
    if latest:
        q = Q()
        for r in latest:
            q |= Q(service_id=r["service_id"], instance_id=r["instance_id"], captured_at=r["last"])
        for sid, total in Snapshot.objects.filter(q).values_list("service_id", "total"):
            latest_total[sid] = latest_total.get(sid, 0) + total
    missing = [sid for sid in ids if sid not in latest_total]
    if missing:  # quiet for a day: show the last known count (the row is marked stale anyway)
        last = Snapshot.objects.filter(service_id=OuterRef("pk")).order_by("-captured_at").values("total")[:1]
        latest_total.update(Service.objects.filter(pk__in=missing).annotate(t=Subquery(last)).values_list("pk", "t"))

    # Memory and GC now: the worst instance over the last 15 minutes of samples.
    recent = (MemSample.objects.filter(service_id__in=ids, at__gte=now - timedelta(minutes=15))
              .values("service_id").annotate(rss=Max("rss"), sys=Max("sys"), gccpu=Avg("gc_cpu_fraction")))
    mem = {r["service_id"]: r for r in recent}
    limits = dict(
        Instance.objects.filter(service_id__in=ids, memory_limit_bytes__isnull=False)
        .values("service_id").annotate(m=Max("memory_limit_bytes")).values_list("service_id", "m")
    )

    rows_out = []
    for s in services:
        series = [v for _, v in sorted(spark.get(s.pk, {}).items())]
        goroutines = latest_total.get(s.pk)
        seen = max([t for t in (last_upload.get(s.pk), last_seen.get(s.pk)) if t], default=None)
        m = mem.get(s.pk) or {}
        used = m.get("rss") or m.get("sys")
        limit = s.memory_limit_bytes or limits.get(s.pk)
        headroom = (limit - used) if (limit and used) else None
        rows_out.append({
            "service": s,
            "goroutines": goroutines,
            "spark": series,
            "suspects": suspects.get(s.pk, 0),
            "used": used,
            "limit": limit,
            "headroom": headroom,
            "headroom_frac": (headroom / limit) if headroom is not None else None,
            "gc_cpu": m.get("gccpu"),
            "go_version": go_versions.get(s.pk, ""),
            "last_upload": seen,
            "stale": seen is None or (now - seen) > stale_after,
            "never": seen is None,
        })
    rows_out.sort(key=lambda r: (-r["suspects"], r["service"].slug))
    return render(request, "web/fleet.html", {
        "rows": rows_out,
        "stale_minutes": settings.GOTRIAGE_STALE_AFTER_MINUTES,
        "is_superuser": request.user.is_superuser,
    })
