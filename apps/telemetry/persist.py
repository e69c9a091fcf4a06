"""Writing parsed runtime data: MemSamples, GCCycles and observed container limits."""
from __future__ import annotations

import json
from datetime import datetime, timezone as dt_timezone

from apps.services.models import Instance

from . import rollup
from .models import GCCycle, MemSample

BATCH = 2000
MAX_BIGINT = 2**63 - 1


def _json_safe(value):
    return json.loads(json.dumps(value, default=str))


def _dt(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=dt_timezone.utc)


def _int(value):
    if value is None:
        return None
    try:
        return max(-MAX_BIGINT, min(MAX_BIGINT, int(value)))
    except (TypeError, ValueError, OverflowError):
        return None


def _p99(pauses) -> int | None:
    if not pauses:
        return None
    ordered = sorted(pauses)
    return _int(ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))])


def save_runtime(upload, data) -> tuple[int, int]:
    """Persist one RuntimeData for `upload`; returns (samples, cycles) written."""
    captured = upload.captured_at.timestamp()
    samples = [_mem_sample(upload, s, captured, data.kind) for s in data.samples]
    MemSample.objects.bulk_create(samples, batch_size=BATCH)
    rollup.refresh_for_samples(samples)
    cycles = _gc_cycles(upload, data.gc_cycles, captured)
    GCCycle.objects.bulk_create(cycles, batch_size=BATCH, ignore_conflicts=True)
    _update_instance(upload.instance, data)
    return len(samples), len(cycles)


def _mem_sample(upload, s, captured: float, kind: str) -> MemSample:
    # Sources without their own clock (expvar) are placed at captured_at.
    at = s.at if s.at and s.at > 1e9 else captured
    return MemSample(
        service_id=upload.service_id, instance=upload.instance, upload=upload, at=_dt(at),
        source=(getattr(s, "source", None) or kind)[:32],
        heap_alloc=_int(s.heap_alloc), heap_inuse=_int(s.heap_inuse), heap_sys=_int(s.heap_sys),
        heap_released=_int(s.heap_released), next_gc=_int(s.next_gc), sys=_int(s.sys),
        stack_inuse=_int(s.stack_inuse), rss=_int(s.rss), num_gc=_int(s.num_gc),
        gc_cpu_fraction=s.gc_cpu_fraction, pause_p99_ns=_p99(s.pauses_ns), goroutines=_int(s.goroutines),
        gomaxprocs=_int(s.gomaxprocs), gogc=_int(s.gogc), gomemlimit=_int(s.gomemlimit),
        data=_json_safe(s.to_dict()),
    )


def _gc_cycles(upload, cycles, captured: float) -> list[GCCycle]:
    if not cycles:
        return []
    # gctrace times are seconds since process start: anchor the last line at captured_at.
    last_rel = max(c.at for c in cycles)
    out = []
    for c in cycles:
        at = c.at if getattr(c, "at_unix", False) or c.at > 1e9 else captured - (last_rel - c.at)
        out.append(GCCycle(
            service_id=upload.service_id, instance=upload.instance, upload=upload, at=_dt(at), num=c.num,
            cpu_pct=c.cpu_pct, pause_ns=_int(c.pause_ns), heap_start=_int(c.heap_start), heap_end=_int(c.heap_end),
            heap_live=_int(c.heap_live), heap_goal=_int(c.heap_goal), stacks=_int(c.stacks), globals=_int(c.globals),
            procs=_int(c.procs), forced=bool(c.forced), data=_json_safe(c.to_dict()),
        ))
    return out


def _update_instance(instance: Instance | None, data) -> None:
    if instance is None:
        return
    changes = {}
    limits = data.limits
    if limits is not None:
        if limits.memory_limit:
            changes["memory_limit_bytes"] = _int(limits.memory_limit)
        if limits.cpu_limit:
            changes["cpu_limit_cores"] = float(limits.cpu_limit)
    if data.go_version and not instance.go_version:
        changes["go_version"] = str(data.go_version)[:40]
    if changes:
        Instance.objects.filter(pk=instance.pk).update(**changes)
