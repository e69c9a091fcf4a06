"""ORM factories for page tests: snapshots, groups, blocking sites and samples without the pipeline."""
from __future__ import annotations

import hashlib
from datetime import timedelta

from django.utils import timezone

from apps.goroutines.models import BlockingSite, SiteSample, Snapshot, SnapshotGroup, StackSignature
from apps.ingest.models import Upload
from apps.services.models import Instance
from apps.telemetry.models import GCCycle, MemSample
from apps.tuning.models import Recommendation

MIB = 1024 * 1024


def _h(*parts) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:64]


def instance(service, name="pod-1", **fields):
    fields.setdefault("go_version", "go1.26.6")
    return Instance.objects.get_or_create(service=service, name=name, defaults=fields)[0]


def signature(function="github.com/acme/shop/internal/orders.(*Fetcher).Fetch.func1", file="/src/shop/internal/orders/fetch.go",
              line=36, wait_reason="chan send", creator="github.com/acme/shop/internal/orders.(*Fetcher).Fetch",
              extra_frames=(), blocking_key=None):
    frames = [
        {"function": "runtime.gopark", "file": "/usr/local/go/src/runtime/proc.go", "line": 435},
        {"function": "runtime.chansend1", "file": "/usr/local/go/src/runtime/chan.go", "line": 161},
        {"function": function, "file": file, "line": line},
        *extra_frames,
    ]
    sig = _h(function, file, line, *[f["function"] for f in extra_frames])
    key = blocking_key or _h("site", wait_reason, function, file, line)
    created_by = {"function": creator, "file": file, "line": (line or 0) - 2} if creator else None
    return StackSignature.objects.get_or_create(signature=sig, defaults=dict(
        frames=frames, created_by=created_by, blocking_key=key, creation_key=_h("create", creator),
        site_function=function, site_file=file, site_line=line,
    ))[0]


def snapshot(service, inst=None, at=None, groups=(), fmt="debug2", upload=None):
    """groups: [(signature, count, wait_reason, minutes_max, pattern, benign)] (tail items optional)."""
    at = at or timezone.now()
    snap = Snapshot.objects.create(service=service, instance=inst, captured_at=at, format=fmt, go_version="go1.26.6", upload=upload)
    rows, total = [], 0
    for g in groups:
        sig, count, wait = g[0], g[1], g[2]
        minutes = g[3] if len(g) > 3 else None
        rows.append(SnapshotGroup(
            snapshot=snap, signature=sig, blocking_key=sig.blocking_key, wait_reason=wait, count=count,
            wait_minutes_min=minutes, wait_minutes_max=minutes,
            pattern=g[4] if len(g) > 4 else "", benign=g[5] if len(g) > 5 else "",
        ))
        total += count
    SnapshotGroup.objects.bulk_create(rows)
    snap.total, snap.group_count = total, len(rows)
    snap.save(update_fields=["total", "group_count"])
    return snap


def site(service, sig, wait_reason="chan send", suspect=True, score=0.9, counts=(), inst=None, **fields):
    """A blocking site; `counts` = [(snapshot, count)] become its SiteSamples."""
    s = BlockingSite.objects.create(
        service=service, blocking_key=sig.blocking_key, wait_reason=wait_reason, site_function=sig.site_function,
        site_file=sig.site_file, site_line=sig.site_line, created_by=sig.created_by, sample_signature=sig,
        suspect=suspect, score=score, suspect_since=timezone.now() if suspect else None,
        evidence=fields.pop("evidence", ["grew from 3 to 120 across 6 snapshots", "blocked for up to 14 minutes"]),
        last_count=counts[-1][1] if counts else 0, peak_count=max((c for _, c in counts), default=0), **fields,
    )
    SiteSample.objects.bulk_create([
        SiteSample(site=s, snapshot=snap, instance=inst or snap.instance, at=snap.captured_at, count=c, total=snap.total)
        for snap, c in counts
    ])
    return s


def mem_samples(service, inst, start, n=60, every=timedelta(minutes=1), heap0=40 * MIB, growth=MIB // 4, gomemlimit=None):
    rows = []
    for i in range(n):
        heap = heap0 + i * growth
        rows.append(MemSample(
            service=service, instance=inst, at=start + i * every, source="expvar",
            heap_alloc=heap, heap_inuse=heap + 2 * MIB, heap_sys=heap * 2, heap_released=MIB, next_gc=heap * 2,
            sys=heap * 2 + 10 * MIB, stack_inuse=MIB, rss=heap * 2 + 20 * MIB, num_gc=i * 3,
            gc_cpu_fraction=0.02, pause_p99_ns=400_000, goroutines=100 + i, gomaxprocs=2, gogc=100, gomemlimit=gomemlimit,
            data={"at": (start + i * every).timestamp(), "heap_alloc": heap, "heap_inuse": heap + 2 * MIB, "next_gc": heap * 2,
                  "sys": heap * 2 + 10 * MIB, "num_gc": i * 3, "gogc": 100, "gomaxprocs": 2},
        ))
    MemSample.objects.bulk_create(rows)
    return rows


def gc_cycles(service, inst, start, n=30, every=timedelta(seconds=20)):
    GCCycle.objects.bulk_create([
        GCCycle(service=service, instance=inst, at=start + i * every, num=i + 1, cpu_pct=1.0, pause_ns=300_000,
                heap_start=50 * MIB, heap_end=52 * MIB, heap_live=25 * MIB, heap_goal=50 * MIB, procs=2)
        for i in range(n)
    ])


def upload(service, inst=None, status="processed", error="", error_line=None, kind="goroutine_debug2", raw=None, filename="goroutines.txt"):
    from django.core.files.base import ContentFile

    data = raw if raw is not None else b""
    u = Upload.objects.create(service=service, instance=inst, kind=kind, sha256=_h(service.pk, timezone.now().timestamp(), error, filename),
                              size=len(data), status=status, error=error, error_line=error_line, filename=filename)
    if raw is not None:
        u.raw.save(filename, ContentFile(raw), save=True)
    return u


def recommendation(service, **payload):
    base = {
        "GOMAXPROCS": None, "GOGC": 100, "GOMEMLIMIT": 400 * MIB, "rss_alert_bytes": 460 * MIB,
        "rationale": ["The container allows 512 MiB; keeping ~20% headroom for non-Go memory gives 400MiB.",
                      "GOGC stays at 100: GC uses 2% CPU."],
        "snippets": {"kubernetes": "env:\n- name: GOMEMLIMIT\n  value: \"400MiB\"", "dockerfile": "ENV GOMEMLIMIT=400MiB",
                     "systemd": "Environment=GOMEMLIMIT=400MiB", "go": "debug.SetMemoryLimit(400 << 20)"},
        "inputs": {"memory_limit": 512 * MIB}, "signals": {"live_heap": 60 * MIB},
    }
    base.update(payload)
    return Recommendation.objects.create(service=service, gomaxprocs=base["GOMAXPROCS"], gogc=str(base["GOGC"]),
                                         gomemlimit=base["GOMEMLIMIT"], rss_alert_bytes=base["rss_alert_bytes"], payload=base)


def leaky_service(service, now=None, steps=6, with_xss=False):
    """A service with two instances, a growing suspect site, a benign pool, runtime samples and a recommendation."""
    now = now or timezone.now()
    service.memory_limit_bytes = 512 * MIB
    service.repo_url_template = "https://github.com/acme/shop/blob/main/{path}#L{line}"
    service.module_prefixes = "github.com/acme/shop/"
    service.save()
    i1, i2 = instance(service, "pod-a", memory_limit_bytes=512 * MIB), instance(service, "pod-b")
    leak = signature()
    pool = signature(function="github.com/acme/shop/internal/work.(*Pool).worker", file="/src/shop/internal/work/pool.go",
                     line=51, wait_reason="chan receive", creator="github.com/acme/shop/internal/work.NewPool")
    xss = None
    if with_xss:
        xss = signature(function="<script>alert(1)</script>", file="/src/<b>evil</b>.go", line=7, wait_reason="select",
                        creator="<img src=x onerror=alert(2)>")
    snaps = []
    for k in range(steps):
        at = now - timedelta(minutes=10 * (steps - 1 - k))
        for inst in (i1, i2):
            groups = [(leak, 5 + 20 * k, "chan send", 2 * k, "abandoned-send"), (pool, 16, "chan receive", None, "", "worker-pool")]
            if xss:
                groups.append((xss, 3, "select", 1))
            snaps.append(snapshot(service, inst, at, groups))
    suspect = site(service, leak, counts=[(s, 5 + 20 * (i // 2)) for i, s in enumerate(snaps)], pattern="abandoned-send")
    benign = site(service, pool, wait_reason="chan receive", suspect=False, score=0.05, counts=[(s, 16) for s in snaps], benign="worker-pool")
    xsite = site(service, xss, wait_reason="select", suspect=True, score=0.5, counts=[(s, 3) for s in snaps]) if xss else None
    for inst in (i1, i2):
        mem_samples(service, inst, now - timedelta(minutes=59), n=60, gomemlimit=400 * MIB)
    gc_cycles(service, i1, now - timedelta(minutes=10))
    recommendation(service)
    upload(service, i1, status="failed", error="expected 'goroutine N [state]:' header", error_line=3, filename="bad.txt")
    return {"instances": (i1, i2), "leak": leak, "pool": pool, "snaps": snaps, "suspect": suspect, "benign": benign, "xss_site": xsite}


def quiet_services(team, now=None):
    """Two more services for a realistic fleet: one stale with history, one that never uploaded."""
    from apps.services.models import Service

    now = now or timezone.now()
    ledger = Service.objects.create(team=team, slug="ledger", name="Ledger writer", memory_limit_bytes=1024 * MIB)
    inst = instance(ledger, "ledger-0", go_version="go1.24.11")
    pool = signature(function="github.com/acme/ledger/internal/db.(*Pool).wait", file="/src/ledger/internal/db/pool.go", line=88,
                     wait_reason="sync.Cond.Wait", creator="github.com/acme/ledger/internal/db.Open")
    for k in range(8):
        snapshot(ledger, inst, now - timedelta(hours=9 - k), [(pool, 40 + (k % 3), "sync.Cond.Wait")])
    mem_samples(ledger, inst, now - timedelta(hours=3), n=30, heap0=300 * MIB, growth=0)
    u = upload(ledger, inst, filename="vars.json", kind="expvar")
    Upload.objects.filter(pk=u.pk).update(received_at=now - timedelta(hours=2))
    Instance.objects.filter(pk=inst.pk).update(last_seen=now - timedelta(hours=2))
    edge = Service.objects.create(team=team, slug="edge-proxy", name="Edge proxy")
    return ledger, edge
