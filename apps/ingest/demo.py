"""Demo data for a fresh install: real captures pushed through the normal upload path.

Source, in order of preference:
1. examples/demo/manifest.json + captures recorded from examples/leakyservice;
2. a small set of ../shared/fixtures/real-go runs (when the checkout sits beside shared/).
Capture times are shifted so the newest lands a minute ago and charts look current.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone as dt_timezone
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from apps.services.models import Service

from . import intake

DEMO_DIR = Path(settings.BASE_DIR) / "examples" / "demo"
SHARED_REAL_GO = Path(os.environ.get("GOTRIAGE_SHARED", Path(settings.BASE_DIR).parent / "shared")) / "fixtures" / "real-go"

# service → (run directory under real-go/runs, instance name); one leak, one
# slow leak, one healthy service with benign background goroutines.
FALLBACK_RUNS = {
    "checkout": [("go1.26.6/chan_send_timeout/short", "checkout-7d9f-a"), ("go1.26.6/chan_send_timeout/long", "checkout-7d9f-b")],
    "ledger": [("go1.24.11/waitgroup_missed_done/short", "ledger-0")],
    "edge-proxy": [("go1.26.6/http_keepalive/short", "edge-proxy-5c4b-x")],
}
FALLBACK_KINDS = ("goroutine_debug2", "expvar", "runtime_metrics")
SAMPLE_SPACING = timedelta(minutes=5)


@dataclass
class Capture:
    service: str
    path: Path
    at: datetime
    instance: str
    kind: str | None = None
    go_version: str = ""
    version: str = ""
    labels: dict = field(default_factory=dict)


def _parse_time(value) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, tz=dt_timezone.utc)
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def from_demo_dir(directory: Path = DEMO_DIR) -> list[Capture]:
    manifest = directory / "manifest.json"
    if not manifest.exists():
        return []
    doc = json.loads(manifest.read_text())
    entries = doc if isinstance(doc, list) else doc.get("captures") or doc.get("files") or doc.get("uploads") or []
    base = datetime(2000, 1, 1, tzinfo=dt_timezone.utc)
    out = []
    for i, entry in enumerate(entries):
        name = entry.get("file") or entry.get("path")
        if not name or not (directory / name).exists():
            continue
        at = _parse_time(entry.get("captured_at") or entry.get("timestamp"))
        if at is None:
            offset = entry.get("offset_s", entry.get("t_s", i * SAMPLE_SPACING.total_seconds()))
            at = base + timedelta(seconds=float(offset))
        out.append(Capture(
            service=entry.get("service", "checkout"), path=directory / name, at=at,
            instance=entry.get("instance") or f"{entry.get('service', 'demo')}-0", kind=entry.get("kind"),
            go_version=entry.get("go_version", ""), version=entry.get("version", ""), labels=entry.get("labels") or {},
        ))
    return out


def from_shared(root: Path = SHARED_REAL_GO) -> list[Capture]:
    manifest = root / "MANIFEST.json"
    if not manifest.exists():
        return []
    runs = {run["dir"]: run for run in json.loads(manifest.read_text()).get("runs", [])}
    base = datetime(2000, 1, 1, tzinfo=dt_timezone.utc)
    out = []
    for service, picks in FALLBACK_RUNS.items():
        for run_dir, instance in picks:
            run = runs.get(f"runs/{run_dir}")
            if run is None:
                continue
            for sample in run.get("samples", []):
                # Real spacing is seconds; spread to minutes so the demo reads like a day at work.
                at = base + SAMPLE_SPACING * sample["index"]
                for kind in FALLBACK_KINDS:
                    info = sample.get("files", {}).get(kind)
                    if info:
                        out.append(Capture(service, root / run["dir"] / info["file"], at, instance,
                                           go_version=run.get("go_version", ""), version="v1.4.2"))
    return out


def shift_to_now(captures: list[Capture], now: datetime | None = None) -> None:
    """Move all captures so the newest lands one minute before `now`, spacing kept."""
    if not captures:
        return
    now = now or timezone.now()
    delta = (now - timedelta(minutes=1)) - max(c.at for c in captures)
    for c in captures:
        c.at = c.at + delta


def load_demo_captures(stdout=None) -> int:
    """Upload demo captures for the demo services; returns how many were accepted."""
    captures = from_demo_dir() or from_shared()
    if not captures:
        if stdout:
            stdout.write("  no demo captures found (examples/demo or ../shared/fixtures/real-go); skipping demo data")
        return 0
    shift_to_now(captures)
    services = {s.slug: s for s in Service.objects.filter(slug__in={c.service for c in captures})}
    accepted = 0
    for capture in sorted(captures, key=lambda c: c.at):
        service = services.get(capture.service)
        if service is None:
            continue
        meta = intake.Meta(instance=capture.instance, kind=capture.kind, captured_at=capture.at,
                           go_version=capture.go_version, version=capture.version, labels=capture.labels)
        try:
            item = intake.prepare(capture.path.read_bytes(), capture.kind)
        except (intake.Rejected, intake.TooLarge) as exc:
            if stdout:
                stdout.write(f"  skipped {capture.path.name}: {exc}")
            continue
        upload, created = intake.accept(service, item, meta, filename=capture.path.name)
        if created:
            intake.enqueue_on_commit(upload.pk)
            accepted += 1
    if stdout:
        stdout.write(f"  loaded {accepted} demo captures for {', '.join(sorted(services))}")
    return accepted
