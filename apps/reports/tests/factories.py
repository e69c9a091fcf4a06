"""A realistic week of data for one service: snapshots, a leaking site, memory and GC, tuning history."""
from __future__ import annotations

import math
from datetime import timedelta

from apps.goroutines.models import BlockingSite, Lifecycle, SiteSample, Snapshot, TriageState
from apps.services.models import Instance
from apps.telemetry.models import MemSample
from apps.tuning.models import Recommendation

MiB = 1024 * 1024


def make_site(service, key, function, **fields) -> BlockingSite:
    defaults = {"wait_reason": "chan receive", "site_function": function, "site_file": f"/src/{service.slug}/{key}.go", "site_line": 42}
    defaults.update(fields)
    return BlockingSite.objects.create(service=service, blocking_key=key, **defaults)


def seed_week(service, end, *, leak_per_hour=6, rss_start=180 * MiB, rss_slope=1.2 * MiB, step_hours=2, instances=2):
    """Fill the seven days before `end` with a slow leak and rising RSS; returns the sites made."""
    start = end - timedelta(days=7)
    pods = [Instance.objects.get_or_create(service=service, name=f"{service.slug}-{i}")[0] for i in range(instances)]
    leak = make_site(service, "leak", "main.(*Worker).fanOut.func2", suspect=leak_per_hour > 0, score=0.91 if leak_per_hour else 0.1,
                     suspect_since=start + timedelta(days=2), last_count=leak_per_hour * 168, peak_count=leak_per_hour * 168)
    grow = make_site(service, "grow", "net/http.(*persistConn).readLoop", wait_reason="IO wait", score=0.35,
                     last_count=300)
    fixed = make_site(service, "fixed", "main.pollUpstream", suspect=False, score=0.2, lifecycle=Lifecycle.RESOLVED,
                      resolved_at=start + timedelta(days=4), suspect_since=start - timedelta(days=3))
    benign = make_site(service, "benign", "main.(*Cache).janitor", suspect=True, score=0.95,
                       suspect_since=start + timedelta(days=1), triage_state=TriageState.KNOWN_BENIGN)

    snapshots, samples, mem = [], [], []
    hours = int(7 * 24 / step_hours)
    for n in range(hours + 1):
        at = start + timedelta(hours=n * step_hours)
        day_wave = 1 + 0.25 * math.sin(n * step_hours / 24 * 2 * math.pi)
        for i, pod in enumerate(pods):
            leaked = int(n * step_hours * leak_per_hour / len(pods))
            total = int(400 * day_wave) + leaked + i * 20
            snap = Snapshot(service=service, instance=pod, captured_at=at, format="debug2", total=total)
            snapshots.append(snap)
            samples.append((snap, leak, leaked, total, pod, at))
            samples.append((snap, grow, 100 + n * 2, total, pod, at))
            rss = int((rss_start + n * step_hours * rss_slope) * (1 + 0.04 * math.sin(n / 3)) + i * 8 * MiB)
            mem.append(MemSample(service=service, instance=pod, at=at, source="expvar", rss=rss, heap_alloc=rss // 2,
                                 gc_cpu_fraction=0.02 + 0.01 * i + 0.01 * day_wave, goroutines=total))
    Snapshot.objects.bulk_create(snapshots)
    SiteSample.objects.bulk_create([
        SiteSample(site=site, snapshot=snap, instance=pod, at=at, count=count, total=total)
        for snap, site, count, total, pod, at in samples
    ])
    MemSample.objects.bulk_create(mem)

    Recommendation.objects.create(service=service, created_at=start - timedelta(days=2), gomaxprocs=2, gogc="100",
                                  gomemlimit=400 * MiB, rss_alert_bytes=450 * MiB)
    Recommendation.objects.create(service=service, created_at=start + timedelta(days=3), gomaxprocs=2, gogc="150",
                                  gomemlimit=440 * MiB, rss_alert_bytes=470 * MiB,
                                  payload={"signals": {"thrashing": False, "gc_per_minute": 4.2}})
    return {"leak": leak, "grow": grow, "fixed": fixed, "benign": benign}
