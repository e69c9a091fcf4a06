"""Recompute a service's runtime-setting recommendation from its recent samples.

A new Recommendation row is stored only when the recommended settings change,
so the table is a readable history of advice, not a copy of every sample.
"""
from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta

from apps.goruntime import runtime as rt
from apps.services.models import Service
from apps.telemetry.models import GCCycle, MemSample

from .models import Recommendation

WINDOW = timedelta(hours=6)
MAX_SAMPLES = 2000
MAX_CYCLES = 5000


def _value(entry):
    """recommend() entries may be plain values or {"value": …, …} dicts."""
    if isinstance(entry, dict):
        for key in ("value", "recommended", "set"):
            if key in entry:
                return entry[key]
        return None
    return entry


def _size(value) -> int | None:
    value = _value(value)
    if value is None or value == "" or value == "off":
        return None
    if isinstance(value, (int, float)):
        return int(value)
    try:
        return int(rt.parse_size(str(value)))
    except Exception:
        return None


def _int(value) -> int | None:
    value = _value(value)
    try:
        return int(value) if value not in (None, "", "unset") else None
    except (TypeError, ValueError):
        return None


def limits_for(service: Service):
    """Observed limits from the service's instances, falling back to configured ones."""
    inst = service.instances.exclude(memory_limit_bytes__isnull=True, cpu_limit_cores__isnull=True).order_by("-last_seen").first()
    memory = (inst.memory_limit_bytes if inst else None) or service.memory_limit_bytes
    cpu = (inst.cpu_limit_cores if inst else None) or service.cpu_limit_cores
    if memory is None and cpu is None:
        return None
    return rt.ContainerLimits(memory_limit=memory, cpu_limit=cpu, source="instance" if inst else "service")


def go_version_for(service: Service) -> str | None:
    versions = Counter(v for v in service.instances.exclude(go_version="").values_list("go_version", flat=True))
    return versions.most_common(1)[0][0] if versions else None


def recompute(service_id) -> Recommendation | None:
    """Store and return a new Recommendation when the advice changed, else None."""
    service = Service.objects.filter(pk=service_id).first()
    if service is None:
        return None
    newest = MemSample.objects.filter(service=service).order_by("-at").values_list("at", flat=True).first()
    if newest is None:
        return None
    since = newest - WINDOW
    samples = []
    for at, data in MemSample.objects.filter(service=service, at__gte=since).order_by("-at").values_list("at", "data")[:MAX_SAMPLES]:
        sample = rt.MemSample.from_dict(data)
        sample.at = at.timestamp()
        samples.append(sample)
    samples.reverse()
    cycles = [
        rt.GCCycle.from_dict(data)
        for data in GCCycle.objects.filter(service=service, at__gte=since).exclude(data={}).order_by("-at").values_list("data", flat=True)[:MAX_CYCLES]
    ][::-1]
    limits = limits_for(service)
    go_version = go_version_for(service)
    latest = samples[-1] if samples else None
    current = {"GOGC": latest.gogc, "GOMEMLIMIT": latest.gomemlimit, "GOMAXPROCS": latest.gomaxprocs} if latest else None
    signals = rt.derive_signals(samples, cycles, limits)
    result = rt.recommend(signals, limits, go_version, current=current)
    gogc = _value(result.get("GOGC"))
    candidate = Recommendation(
        service=service,
        gomaxprocs=_int(result.get("GOMAXPROCS")),
        gogc="" if gogc is None else str(gogc)[:16],
        gomemlimit=_size(result.get("GOMEMLIMIT")),
        rss_alert_bytes=_size(result.get("rss_alert_bytes")),
        go_version=(go_version or "")[:40],
        payload=json.loads(json.dumps(result, default=str)),
    )
    previous = Recommendation.objects.filter(service=service).order_by("-created_at").first()
    if candidate.same_settings_as(previous):
        return None
    candidate.save()
    return candidate
