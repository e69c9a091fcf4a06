#!/usr/bin/env python3
"""Record the README run command's demo data from the real example service.

Builds examples/leakyservice with the pinned Go (-trimpath, so paths in the
dumps are module paths, not this machine's), runs one process per demo
service with its leaks on, and every --every seconds collects what the
sidecar would upload (using the sidecar's own collectors): goroutine
debug=2, expvar, Prometheus /metrics, runtime/metrics; the gctrace log at
the end. Files are gzipped into examples/demo/ with a manifest.json that
apps/ingest/demo.py loads.

    .venv/bin/python examples/record_demo.py --duration 420 --every 60   # the shipped demo: 7 min
"""
from __future__ import annotations

import argparse
import gzip
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "agent"))
sys.path.insert(0, str(REPO / "agent" / "tests"))

from gotriage_agent.collectors import (ExpvarCollector, GctraceCollector, GoroutineCollector,  # noqa: E402
                                       PrometheusCollector, RuntimeMetricsCollector, Shared)
from gotriage_agent.config import load_config  # noqa: E402
import leakyharness as lh  # noqa: E402

# Demo services (slugs created by `manage.py bootstrap_demo`) and the leaks each runs.
SERVICES = {
    "checkout": {"instance": "checkout-7d9f-a", "flags": ["-leak", "chan_send,http_body", "-rps", "3"],
                 "version": "v1.4.2"},
    "ledger": {"instance": "ledger-0", "flags": ["-leak", "wg_missing_done,heap", "-rps", "3",
                                                 "-heap-chunk", "131072"], "version": "v2.0.1"},
    "edge-proxy": {"instance": "edge-proxy-5c4b-x", "flags": ["-rps", "5"], "version": "v0.9.0"},
}
EXT = {"goroutine_debug2": "txt", "expvar": "json", "prometheus": "prom", "runtime_metrics": "json",
       "gctrace": "log"}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(HERE / "demo"))
    ap.add_argument("--duration", type=float, default=75)
    ap.add_argument("--every", type=float, default=15)
    args = ap.parse_args()
    out = Path(args.out)
    tmp = Path(tempfile.mkdtemp(prefix="gotriage-demo-"))
    binary = tmp / "leakyservice"
    subprocess.run([lh.find_go(), "build", "-trimpath", "-o", str(binary), "."], cwd=lh.LEAKY_DIR,
                   env=lh.go_env(), check=True)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    running = {}
    try:
        for name, spec in SERVICES.items():
            svc = lh.LeakyService(binary, tmp, *spec["flags"])
            cfg = load_config(["--dry-run", "--pprof-url", svc.url + "/debug/pprof",
                               "--expvar-url", svc.url + "/debug/vars", "--metrics-url", svc.url + "/metrics",
                               "--runtime-metrics-url", svc.url + "/debug/metrics",
                               "--gctrace-file", str(svc.log_path), "--spool-dir", str(tmp / name)], {})
            shared = Shared()
            colls = [PrometheusCollector(cfg, shared), ExpvarCollector(cfg, shared),
                     GoroutineCollector(cfg, shared), RuntimeMetricsCollector(cfg, shared)]
            gct = GctraceCollector(cfg, shared, str(tmp / f"{name}-gctrace.json"))
            running[name] = (svc, colls, gct, spec)
            print(f"started {name} at {svc.url} with {' '.join(spec['flags'])}")
        entries = []

        def save(name, spec, art, n):
            fname = f"{name}/{n:02d}_{art.kind}.{EXT[art.kind]}.gz"
            (out / name).mkdir(exist_ok=True)
            (out / fname).write_bytes(gzip.compress(art.body, 9, mtime=0))
            entries.append({"file": fname, "service": name, "kind": art.kind, "instance": spec["instance"],
                            "captured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(art.captured_at)),
                            "go_version": art.go_version, "version": spec["version"],
                            "labels": {"app": "leakyservice", "leaks": ",".join(spec["flags"][1:2])
                                       if spec["flags"][0] == "-leak" else "none"}})

        start = time.time()
        n = 0
        while True:
            time.sleep(args.every)
            n += 1
            for name, (svc, colls, gct, spec) in running.items():
                for c in colls:
                    if c.name == "runtime_metrics" and n % 2:
                        continue  # every other round: it is the biggest runtime artefact
                    for art in c.collect():
                        save(name, spec, art, n)
            print(f"round {n} at {time.time() - start:.0f}s")
            if time.time() - start + args.every > args.duration + 1:
                break
        for name, (svc, colls, gct, spec) in running.items():
            for art in gct.collect():
                save(name, spec, art, n)
    finally:
        for svc, *_ in running.values():
            svc.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    manifest = {
        "description": "Captures of examples/leakyservice recorded by examples/record_demo.py "
                       "(go build -trimpath); loaded by the README run command as demo data.",
        "recorded_with": {"go": entries[0]["go_version"] if entries else "", "every_s": args.every},
        "captures": entries,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"wrote {len(entries)} files, {total // 1024} KiB, to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
