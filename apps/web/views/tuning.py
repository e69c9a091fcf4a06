"""Tuning: current runtime settings vs the recommendation, and a what-if model."""
from __future__ import annotations

import logging
from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import render

from apps.telemetry.models import GCCycle, MemSample
from apps.web import charts, engine
from apps.web.access import instance_from, service_or_404
from apps.web.series import TimeRange, runtime_series
from apps.web.views.service import service_context

log = logging.getLogger(__name__)
WHATIF_WINDOW = timedelta(hours=24)
MAX_SAMPLES = 3000
MAX_CYCLES = 5000


# PostgreSQL's JSONB does not keep key order: show snippets in deployment order.
SNIPPET_ORDER = ("kubernetes", "k8s", "dockerfile", "systemd", "go")


def _snippet_rank(name: str) -> tuple[int, str]:
    return (SNIPPET_ORDER.index(name) if name in SNIPPET_ORDER else len(SNIPPET_ORDER), name)


def _window(service, instance):
    """The instance the what-if model replays (the chosen one, else the most recently sampled) and its window."""
    if instance is None:
        latest = MemSample.objects.filter(service=service).order_by("-at").values("instance_id", "at").first()
        if latest is None:
            return None, None
        instance_id, end = latest["instance_id"], latest["at"]
    else:
        latest = MemSample.objects.filter(service=service, instance=instance).order_by("-at").values("at").first()
        if latest is None:
            return instance.pk, None
        instance_id, end = instance.pk, latest["at"]
    return instance_id, TimeRange(end - WHATIF_WINDOW, end, "24h")


def recorded_inputs(service, instance_id, tr):
    """DB rows -> goruntime MemSample / GCCycle objects for rt.what_if."""
    rt = engine.rt()
    samples_qs = MemSample.objects.filter(service=service, instance_id=instance_id, at__gte=tr.start, at__lte=tr.end).order_by("at")
    n = samples_qs.count()
    stride = max(1, n // MAX_SAMPLES)
    samples = []
    for i, row in enumerate(samples_qs.iterator()):
        if i % stride:
            continue
        d = dict(row.data or {})
        for k in ("heap_alloc", "heap_inuse", "heap_sys", "heap_released", "next_gc", "sys", "stack_inuse",
                  "rss", "num_gc", "gc_cpu_fraction", "goroutines", "gomaxprocs", "gogc", "gomemlimit"):
            if d.get(k) is None and getattr(row, k) is not None:
                d[k] = getattr(row, k)
        d["at"] = row.at.timestamp()
        samples.append(rt.MemSample.from_dict(d))
    cycles = []
    for c in (GCCycle.objects.filter(service=service, instance_id=instance_id, at__gte=tr.start, at__lte=tr.end)
              .order_by("at")[:MAX_CYCLES]):
        pause_ms = (c.pause_ns or 0) / 1e6
        cycles.append(rt.GCCycle.from_dict({
            "num": c.num, "at": c.at.timestamp(), "at_unix": True, "cpu_pct": c.cpu_pct or 0,
            "clock_ms": (pause_ms, 0.0, 0.0), "cpu_ms": (0.0, 0.0, 0.0, 0.0, 0.0),
            "heap_start": c.heap_start or 0, "heap_end": c.heap_end or 0, "heap_live": c.heap_live or 0,
            "heap_goal": c.heap_goal or 0, "stacks": c.stacks, "globals": c.globals, "procs": c.procs or 1,
            "forced": c.forced,
        }))
    return samples, cycles


def run_what_if(service, instance_id, tr, gogc, memlimit) -> dict:
    rt = engine.rt()
    if rt is None or not hasattr(rt, "what_if"):
        return {"error": "The what-if model is not available on this server yet."}
    samples, cycles = recorded_inputs(service, instance_id, tr)
    if not samples and not cycles:
        return {"error": "No runtime samples recorded for this service in the last day."}
    try:
        pred = rt.what_if(samples, cycles, gogc=gogc, memlimit=memlimit)
    except Exception as exc:  # the model refuses some inputs; say so instead of a 500
        log.warning("what_if failed for %s: %s", service.slug, exc)
        return {"error": f"The model could not predict these settings: {exc}"}
    if pred.get("error"):
        return {"error": f"The model needs more data: {pred['error']}."}
    x, goal, peak = charts.whatif_xy(pred.get("series"))
    baseline = pred.get("baseline") or {}
    return {
        "recorded_gc_per_minute": baseline.get("gc_per_minute"),
        "limited_by": pred.get("limited_by"),
        "thrash": bool(pred.get("thrash")),
        "cpu_limiter": bool(pred.get("cpu_limiter_engaged")),
        "assumptions": [str(a) for a in pred.get("assumptions") or []],
        "gogc": "off" if gogc is None else gogc,
        "memlimit": memlimit,
        "gc_per_minute": pred.get("gc_per_minute"),
        "peak_heap_bytes": pred.get("peak_heap_bytes"),
        "gc_cpu_fraction": pred.get("gc_cpu_fraction"),
        "x": x, "goal": goal, "peak": peak,
    }


def _parse_gogc(value):
    value = (value or "").strip().lower()
    if value in ("off", "-1"):
        return None, True
    try:
        v = int(value)
    except ValueError:
        return None, False
    return (v, True) if 1 <= v <= 10000 else (None, False)


def _current(service, instance):
    qs = MemSample.objects.filter(service=service)
    if instance is not None:
        qs = qs.filter(instance=instance)
    row = qs.order_by("-at").first()
    inst = instance or (row.instance if row and row.instance_id else None) or service.instances.order_by("-last_seen").first()
    return {
        "gogc": None if row is None or row.gogc is None else ("off" if row.gogc < 0 else row.gogc),
        "gomemlimit": row.gomemlimit if row else None,
        "gomaxprocs": row.gomaxprocs if row else None,
        "at": row.at if row else None,
        "go_version": (inst.go_version if inst else "") or "",
        "memory_limit": (inst.memory_limit_bytes if inst and inst.memory_limit_bytes else None) or service.memory_limit_bytes,
        "cpu_limit": (inst.cpu_limit_cores if inst and inst.cpu_limit_cores else None) or service.cpu_limit_cores,
    }


@login_required
def tuning(request, slug):
    service = service_or_404(request, slug)
    instance = instance_from(service, request.GET)
    rec = service.recommendations.order_by("-created_at").first()
    payload = (rec.payload or {}) if rec else {}
    current = _current(service, instance)
    instance_id, tr = _window(service, instance)
    fig, gc_fig, initial = None, None, None
    start_gogc = payload.get("GOGC", current["gogc"] if current["gogc"] is not None else 100)
    start_limit = payload.get("GOMEMLIMIT") or current["gomemlimit"]
    if tr is not None:
        recorded = runtime_series(service, tr, service.instances.filter(pk=instance_id).first())
        gogc_val, ok = _parse_gogc(str(start_gogc))
        if not ok:
            gogc_val, start_gogc = 100, 100
        initial = run_what_if(service, instance_id, tr, gogc_val, start_limit)
        fig = charts.whatif_chart(recorded, None, start_limit, current["memory_limit"])
        gc_fig = charts.whatif_gc_chart((initial or {}).get("recorded_gc_per_minute"), (initial or {}).get("gc_per_minute"))
    limit_max = current["memory_limit"] or max(4 * 1024**3, int((start_limit or 0) * 2))
    snippets = payload.get("snippets") or {}
    if isinstance(snippets, dict):
        snippets = [(k, v if isinstance(v, str) else "\n".join(map(str, v)) if isinstance(v, list) else str(v))
                    for k, v in sorted(snippets.items(), key=lambda kv: _snippet_rank(kv[0]))]
    ctx = service_context(request, service, "tuning")
    ctx.update({
        "instance": instance, "rec": rec, "payload": payload, "current": current, "fig": fig, "gc_fig": gc_fig,
        "initial": initial, "snippets": snippets,
        "rationale": payload.get("rationale") or [],
        "inputs": payload.get("inputs") or {},
        "signals": payload.get("signals") or {},
        "start_gogc": start_gogc, "start_limit": start_limit, "limit_max": limit_max,
        "limit_max_mib": limit_max // (1024 * 1024),
        "start_limit_mib": (start_limit or 0) // (1024 * 1024),
        "start_gogc_num": start_gogc if isinstance(start_gogc, int) else 100,
        "gogc_off": str(start_gogc).lower() == "off",
    })
    return render(request, "web/tuning.html", ctx)


@login_required
def what_if(request, slug):
    """JSON: the what-if prediction for ?gogc=N|off&memlimit=<bytes or size>."""
    service = service_or_404(request, slug)
    instance = instance_from(service, request.GET)
    gogc, ok = _parse_gogc(request.GET.get("gogc", "100"))
    if not ok:
        return JsonResponse({"error": "gogc must be an integer 1..10000 or off"}, status=400)
    memlimit = None
    raw = (request.GET.get("memlimit") or "").strip()
    if raw and raw not in ("0", "off", "none"):
        try:
            memlimit = engine.parse_size(raw)
        except (ValueError, TypeError):
            return JsonResponse({"error": "memlimit must be bytes or a size like 512MiB"}, status=400)
    instance_id, tr = _window(service, instance)
    if tr is None:
        return JsonResponse({"error": "No runtime samples recorded for this service yet."}, status=404)
    result = run_what_if(service, instance_id, tr, gogc, memlimit)
    return JsonResponse(result, status=200 if "error" not in result else 422)
