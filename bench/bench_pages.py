"""Page benchmarks: the service page over 30 days x 10 instances x 1 sample/min, and a 5,000-group snapshot.

    GOTRIAGE_DEV=1 .venv/bin/python bench/bench_pages.py [--days 30] [--instances 10] [--runs 7] [--fresh]

Builds its own SQLite database under bench/out/ (or uses DATABASE_URL when set),
renders pages in-process with Django's test client (server time = full
request/response cycle: middleware, queries, template, figure JSON), and
writes docs/perf/pages.md. The data set is cached between runs; --fresh
rebuilds it.

Data per instance and minute: one MemSample (runtime series); every 5 minutes
one goroutine Snapshot with 5 blocking sites (SiteSample rows) — the shape the
pipeline writes for an agent that samples memory every minute and dumps
goroutines every 5 minutes.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone as dt_timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
OUT = REPO / "bench" / "out" / "pages"
os.environ.setdefault("GOTRIAGE_DEV", "1")
os.environ.setdefault("GOTRIAGE_DATA_DIR", str(OUT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gotriage.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import override_settings  # noqa: E402

from apps.goroutines.models import BlockingSite, SiteSample, Snapshot, SnapshotGroup, StackSignature  # noqa: E402
from apps.services.models import Instance, Membership, Service, Team  # noqa: E402
from apps.telemetry.models import MemSample  # noqa: E402

MIB = 1024 * 1024
SERVICE_TARGET_MS = 300
WEIGHT_TARGET = 1024 * 1024
SNAPSHOT_TARGET_MS = 500
BATCH = 5000


def build_service(days: int, instances: int, now: datetime) -> Service:
    team = Team.objects.create(slug="bench", name="bench")
    user = get_user_model().objects.create_user("bench", password="bench-pw-123")
    Membership.objects.create(team=team, user=user)
    service = Service.objects.create(team=team, slug="bench-svc", memory_limit_bytes=1024 * MIB, cpu_limit_cores=2)
    start = now - timedelta(days=days)
    minutes = days * 24 * 60
    sigs = []
    for k in range(5):
        fn = f"github.com/acme/bench/internal/w{k}.(*Worker).run"
        sigs.append(StackSignature.objects.create(
            signature=f"bench-sig-{k}", frames=[{"function": "runtime.gopark", "file": "proc.go", "line": 1},
                                                {"function": fn, "file": f"/src/w{k}.go", "line": 10 + k}],
            created_by={"function": f"github.com/acme/bench/internal/w{k}.Start", "file": f"/src/w{k}.go", "line": 5},
            blocking_key=f"bench-key-{k}", creation_key=f"bench-create-{k}", site_function=fn, site_file=f"/src/w{k}.go", site_line=10 + k,
        ))
    sites = [BlockingSite.objects.create(
        service=service, blocking_key=s.blocking_key, wait_reason="chan receive", site_function=s.site_function,
        site_file=s.site_file, site_line=s.site_line, sample_signature=s, suspect=k == 0, score=0.9 if k == 0 else 0.1,
        evidence=["grew steadily"] if k == 0 else [], first_seen=start, last_seen=now, peak_count=100 - k,
    ) for k, s in enumerate(sigs)]
    for i in range(instances):
        inst = Instance.objects.create(service=service, name=f"bench-pod-{i}", go_version="go1.26.6", memory_limit_bytes=1024 * MIB)
        rows = []
        for m in range(minutes):
            at = start + timedelta(minutes=m)
            heap = 200 * MIB + (m % 600) * 100_000 + i * MIB
            data = {"at": at.timestamp(), "heap_alloc": heap, "heap_inuse": heap + MIB, "heap_idle": 50 * MIB,
                    "heap_released": 20 * MIB, "heap_sys": heap + 60 * MIB, "next_gc": 2 * heap, "sys": heap + 120 * MIB,
                    "stack_inuse": 4 * MIB, "num_gc": m * 4, "gc_cpu_fraction": 0.03, "goroutines": 400 + m // 100,
                    "gomaxprocs": 2, "gogc": 100, "pauses_ns": [200_000, 250_000, 300_000], "source": "expvar"}
            rows.append(MemSample(
                service=service, instance=inst, at=at, source="expvar", heap_alloc=heap, heap_inuse=heap + MIB,
                heap_sys=heap + 60 * MIB, heap_released=20 * MIB, next_gc=2 * heap, sys=heap + 120 * MIB, stack_inuse=4 * MIB,
                rss=heap + 150 * MIB, num_gc=m * 4, gc_cpu_fraction=0.03, pause_p99_ns=300_000, goroutines=400 + m // 100,
                gomaxprocs=2, gogc=100, gomemlimit=900 * MIB, data=data,
            ))
            if len(rows) >= BATCH:
                MemSample.objects.bulk_create(rows)
                rows = []
        MemSample.objects.bulk_create(rows)
        for m in range(0, minutes, 5):
            at = start + timedelta(minutes=m)
            counts = [20 + m // 60, 50, 30, 10, 5]
            snap = Snapshot.objects.create(service=service, instance=inst, captured_at=at, format="debug2",
                                           total=sum(counts) + 40, group_count=5)
            SiteSample.objects.bulk_create([
                SiteSample(site=site, snapshot=snap, instance=inst, at=at, count=c, total=snap.total)
                for site, c in zip(sites, counts)
            ])
        print(f"  instance {i + 1}/{instances} loaded", flush=True)
    return service


def build_rollups(service: Service) -> None:
    """The hourly MemSample rollups the pipeline keeps as samples arrive (apps.telemetry.rollup)."""
    try:
        from apps.telemetry import rollup
        from apps.telemetry.models import MemSampleHour
    except ImportError:
        return
    if MemSampleHour.objects.filter(service=service).exists():
        return
    t0 = time.perf_counter()
    for inst in service.instances.all():
        first = MemSample.objects.filter(instance=inst).order_by("at").values_list("at", flat=True).first()
        last = MemSample.objects.filter(instance=inst).order_by("-at").values_list("at", flat=True).first()
        if first is None:
            continue
        hour, hours = rollup.hour_of(first), []
        while hour <= last:
            hours.append(hour)
            hour += timedelta(hours=1)
        rollup.refresh(service.pk, inst.pk, hours)
    print(f"  hourly rollups built in {time.perf_counter() - t0:.0f}s", flush=True)


def build_snapshot(service: Service, groups: int, now: datetime) -> Snapshot:
    inst = service.instances.first()
    snap = Snapshot.objects.create(service=service, instance=inst, captured_at=now, format="debug2", total=0, group_count=groups)
    sigs, rows = [], []
    for g in range(groups):
        fn = f"github.com/acme/bench/internal/p{g % 50}.(*T{g}).Method"
        sigs.append(StackSignature(
            signature=f"big-{g}", frames=[{"function": "runtime.gopark", "file": "/go/src/runtime/proc.go", "line": 435},
                                          {"function": "runtime.chanrecv1", "file": "/go/src/runtime/chan.go", "line": 489},
                                          {"function": fn, "file": f"/src/p{g % 50}/t.go", "line": g},
                                          {"function": "github.com/acme/bench/cmd.main", "file": "/src/main.go", "line": 20}],
            created_by={"function": f"github.com/acme/bench/internal/p{g % 50}.Start", "file": "/src/p.go", "line": 3},
            blocking_key=f"big-key-{g // 2}", creation_key=f"big-create-{g % 300}", site_function=fn, site_file=f"/src/p{g % 50}/t.go", site_line=g,
        ))
    StackSignature.objects.bulk_create(sigs, batch_size=1000)
    waits = ["chan receive", "select", "IO wait", "sync.Mutex.Lock", "chan send"]
    for g, sig in enumerate(sigs):
        rows.append(SnapshotGroup(snapshot=snap, signature=sig, blocking_key=sig.blocking_key, wait_reason=waits[g % 5],
                                  count=1 + (g * 7919) % 500, wait_minutes_min=g % 30, wait_minutes_max=g % 60))
    SnapshotGroup.objects.bulk_create(rows, batch_size=1000)
    snap.total = sum(r.count for r in rows)
    snap.save(update_fields=["total"])
    return snap


def measure(client: Client, url: str, runs: int) -> dict:
    client.get(url)  # warm caches (templates, plotly validators)
    times, queries = [], 0
    with override_settings(DEBUG=True):
        for _ in range(runs):
            reset_queries()
            t0 = time.perf_counter()
            r = client.get(url)
            times.append((time.perf_counter() - t0) * 1000)
            queries = len(connection.queries)
    assert r.status_code == 200, (url, r.status_code)
    return {"url": url, "median_ms": statistics.median(times), "p95_ms": sorted(times)[int(0.95 * (len(times) - 1))],
            "max_ms": max(times), "bytes": len(r.content), "queries": queries, "runs": runs}


def static_weight() -> int:
    from django.contrib.staticfiles import finders

    return sum(Path(finders.find(p)).stat().st_size for p in ("css/app.css", "js/app.js", "js/charts.js"))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--instances", type=int, default=10)
    ap.add_argument("--groups", type=int, default=5000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--fresh", action="store_true")
    ap.add_argument("--out", default=str(REPO / "docs" / "perf" / "pages.md"))
    args = ap.parse_args()

    OUT.mkdir(parents=True, exist_ok=True)
    stamp = OUT / "dataset.json"
    wanted = {"days": args.days, "instances": args.instances, "groups": args.groups}
    db_name = settings.DATABASES["default"]["NAME"]
    if args.fresh or not stamp.exists() or json.loads(stamp.read_text()).get("params") != wanted:
        if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3") and Path(db_name).exists():
            connection.close()
            for suffix in ("", "-wal", "-shm"):
                Path(str(db_name) + suffix).unlink(missing_ok=True)
        call_command("migrate", verbosity=0)
        Service.objects.filter(slug="bench-svc").delete()
        now = datetime.now(dt_timezone.utc).replace(second=0, microsecond=0)
        print(f"building {args.days} days x {args.instances} instances x 1 sample/min …", flush=True)
        t0 = time.perf_counter()
        service = build_service(args.days, args.instances, now)
        snap = build_snapshot(service, args.groups, now)
        stamp.write_text(json.dumps({"params": wanted, "now": now.isoformat(), "snapshot": str(snap.pk)}))
        print(f"  built in {time.perf_counter() - t0:.0f}s", flush=True)
    else:
        call_command("migrate", verbosity=0)
    info = json.loads(stamp.read_text())
    service = Service.objects.get(slug="bench-svc")
    build_rollups(service)
    snap_id = info["snapshot"]
    # Keep "now" at the end of the data so 30d covers it all, however old the cached data set is.
    from unittest import mock

    from django.utils import timezone

    data_now = datetime.fromisoformat(info["now"])
    client = Client()
    client.force_login(get_user_model().objects.get(username="bench"))
    counts = {
        "MemSample rows": MemSample.objects.filter(service=service).count(),
        "Snapshot rows": Snapshot.objects.filter(service=service).count(),
        "SiteSample rows": SiteSample.objects.filter(site__service=service).count(),
        "groups in the big snapshot": SnapshotGroup.objects.filter(snapshot_id=snap_id).count(),
    }
    results = []
    with mock.patch.object(timezone, "now", lambda: data_now + timedelta(minutes=1)):
        s = service.slug
        for label, url in [
            ("service page, 30 days, all 10 instances", f"/services/{s}/?range=30d"),
            ("service page, 30 days, one instance", f"/services/{s}/?range=30d&instance=bench-pod-3"),
            ("service page, 7 days", f"/services/{s}/?range=7d"),
            ("service page, 24 h", f"/services/{s}/?range=24h"),
            ("fleet", "/"),
            ("snapshot, 5,000 groups, by blocking site", f"/services/{s}/snapshots/{snap_id}/"),
            ("snapshot, 5,000 groups, exact stacks, page 40", f"/services/{s}/snapshots/{snap_id}/?key=stack&page=40"),
            ("snapshot, 5,000 groups, creation site", f"/services/{s}/snapshots/{snap_id}/?key=creation"),
            ("snapshot, 5,000 groups, free-text + min count", f"/services/{s}/snapshots/{snap_id}/?q=p17&min_count=100"),
            ("blocking site, 30 days", f"/services/{s}/sites/{BlockingSite.objects.filter(service=service, suspect=True).first().pk}/?range=30d"),
            ("diff, 5,000-group snapshot vs previous", f"/services/{s}/diff/?a={Snapshot.objects.filter(service=service).exclude(pk=snap_id).order_by('-captured_at').first().pk}&b={snap_id}"),
        ]:
            r = measure(client, url, args.runs)
            r["label"] = label
            results.append(r)
            print(f"  {label:<50} median {r['median_ms']:7.1f} ms  p95 {r['p95_ms']:7.1f} ms  {r['bytes'] / 1024:8.1f} KiB  {r['queries']} queries", flush=True)
    static = static_weight()
    write_report(args, results, counts, static)
    svc = results[0]
    snap = results[5]
    ok = (svc["median_ms"] < SERVICE_TARGET_MS and svc["bytes"] + static < WEIGHT_TARGET and snap["median_ms"] < SNAPSHOT_TARGET_MS)
    print("targets met" if ok else "TARGET MISSED")
    return 0 if ok else 1


def write_report(args, results, counts, static):
    import platform

    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    svc, snap = results[0], results[5]
    lines = [
        "# Page performance",
        "",
        f"Measured by `bench/bench_pages.py` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"database: {engine}. Server time is the whole request in-process (middleware, queries, template, "
        f"figure JSON) via Django's test client, median of {args.runs} warm runs.",
        "",
        "Data set: " + ", ".join(f"{v:,} {k}" for k, v in counts.items()) + f" ({args.days} days × {args.instances} instances; "
        "runtime sample every minute, goroutine snapshot every 5 minutes with 5 blocking sites).",
        "",
        "## Targets",
        "",
        "| target | measured | |",
        "|---|---|---|",
        f"| service page, 30 d × 10 instances: server time < {SERVICE_TARGET_MS} ms | {svc['median_ms']:.0f} ms (p95 {svc['p95_ms']:.0f} ms) | {'✅' if svc['median_ms'] < SERVICE_TARGET_MS else '❌'} |",
        f"| service page weight excl. plotly.js < 1 MB | {(svc['bytes'] + static) / 1024:.0f} KiB (HTML {svc['bytes'] / 1024:.0f} KiB + CSS/JS {static / 1024:.0f} KiB) | {'✅' if svc['bytes'] + static < WEIGHT_TARGET else '❌'} |",
        f"| snapshot page, 5,000 groups < {SNAPSHOT_TARGET_MS} ms | {snap['median_ms']:.0f} ms (p95 {snap['p95_ms']:.0f} ms) | {'✅' if snap['median_ms'] < SNAPSHOT_TARGET_MS else '❌'} |",
        "",
        "## All pages",
        "",
        "| page | median ms | p95 ms | HTML KiB | queries |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(f"| {r['label']} | {r['median_ms']:.1f} | {r['p95_ms']:.1f} | {r['bytes'] / 1024:.1f} | {r['queries']} |")
    lines += [
        "",
        "## How",
        "",
        "- Every chart is downsampled in the database to at most 400 points (`apps/web/series.py`).",
        "- Runtime charts: up to 2 days, one `GROUP BY bucket, instance` over the raw MemSample rows returns every",
        "  aggregate at once (max heap/RSS/goal/pause, mean GC CPU, max NumGC for the GC rate). From a few days",
        "  on, buckets are whole hours and the same aggregates are computed in SQL from the pipeline's hourly",
        "  rollups (`apps.telemetry` MemSampleHour, [sum, min, max, n] per metric, read with JSON operators),",
        "  so 30 days × 10 instances is 7,200 rollup rows instead of 432,000 samples.",
        "- Goroutine charts (total and top-5 blocking sites, and the blocking-site page): when a range holds more",
        "  than 3 snapshots per instance and chart point, the page reads the last snapshot of each instance in",
        "  each of ≤ 200 buckets by index seeks on snapshot(instance, captured_at) (one UNION ALL statement per",
        "  instance), then those snapshots' SiteSample rows by the (site, snapshot) unique index. Cost follows",
        "  the number of points, not of snapshots. Shorter ranges aggregate all rows with GROUP BY.",
        "- Figures are plotly.graph_objects traces whose x/y arrays are attached after validation (plotly",
        "  validates and copies every element otherwise — it was ~2/3 of the page time) and an empty template",
        "  (no 7 KB theme per chart). plotly.min.js (~4.8 MB) is served from the plotly wheel and cached.",
        "- The snapshot page aggregates groups in SQL (`GROUP BY blocking_key` / creation key / exact stack),",
        "  paginates 100 per page, and loads stacks only for the page shown; filters are SQL `WHERE`/`HAVING`.",
        "",
        "Before these changes the 30-day service page took ~7 s on this data set (GROUP BY over all raw rows,",
        "plotly validation of every point).",
        "",
        "Re-run: `GOTRIAGE_DEV=1 .venv/bin/python bench/bench_pages.py` (add `--fresh` to rebuild the data set).",
        "",
    ]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    sys.exit(main())
