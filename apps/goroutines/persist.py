"""Writing one parsed goroutine dump: a Snapshot, its groups, its per-site samples.

Called inside the pipeline's transaction; the caller has already removed any
snapshot an earlier run wrote for the same upload, so a re-run never doubles.
"""
from __future__ import annotations

import json
from collections import defaultdict

from apps.goruntime import goroutines as gr
from apps.services.models import Service

from .models import BlockingSite, SiteSample, Snapshot, SnapshotGroup, StackSignature

BATCH = 1000


def _json_safe(value):
    return json.loads(json.dumps(value, default=str))


def _frame_dict(frame) -> dict | None:
    if frame is None:
        return None
    if hasattr(frame, "to_dict"):
        return frame.to_dict()
    return {"function": frame.function, "file": frame.file, "line": frame.line}


def save_snapshot(upload, dump, groups) -> Snapshot:
    service: Service = upload.service
    snapshot = Snapshot.objects.create(
        service=service, instance=upload.instance, upload=upload, captured_at=upload.captured_at,
        format=dump.format or "", go_version=(dump.go_version or upload.go_version or "")[:40],
        version=upload.version, total=dump.total or sum(g.count for g in groups), group_count=len(groups),
        truncated=bool(dump.truncated), leak_profile=bool(dump.leak_profile),
        extra=_json_safe(dump.extra or {}), labels=upload.labels or {},
    )
    _save_signatures(groups, upload.captured_at)
    SnapshotGroup.objects.bulk_create(
        [
            SnapshotGroup(
                snapshot=snapshot, signature_id=g.signature, blocking_key=g.blocking_key,
                wait_reason=(g.wait_reason or "")[:100], count=g.count, leaked=g.leaked or 0,
                wait_minutes_min=g.wait_minutes_min, wait_minutes_max=g.wait_minutes_max,
                labels=_json_safe(g.labels or {}), pattern=g.pattern or "", benign=g.benign or "",
            )
            for g in groups
        ],
        batch_size=BATCH,
    )
    _save_site_samples(snapshot, groups, dump)
    return snapshot


def _save_signatures(groups, seen_at) -> None:
    # Content-addressed: the same stack from any snapshot or service is one row.
    rows, seen = [], set()
    for g in groups:
        if g.signature in seen:
            continue
        seen.add(g.signature)
        site = g.site
        rows.append(StackSignature(
            signature=g.signature, frames=[_frame_dict(f) for f in g.frames], created_by=_frame_dict(g.created_by),
            blocking_key=g.blocking_key, creation_key=g.creation_key or "",
            site_function=getattr(site, "function", "") or "", site_file=getattr(site, "file", "") or "",
            site_line=getattr(site, "line", None), first_seen=seen_at,
        ))
    known = set(StackSignature.objects.filter(signature__in=seen).values_list("signature", flat=True))
    StackSignature.objects.bulk_create([r for r in rows if r.signature not in known], batch_size=BATCH, ignore_conflicts=True)


def _save_site_samples(snapshot: Snapshot, groups, dump) -> None:
    shapes = gr.site_shapes(groups, gr.dump_id_span(dump))
    by_key: dict[str, list] = defaultdict(list)
    for g in groups:
        by_key[g.blocking_key].append(g)
    sites = ensure_sites(snapshot.service, by_key, snapshot.captured_at)
    samples = []
    for key, members in by_key.items():
        waits = [g.wait_minutes_max for g in members if g.wait_minutes_max is not None]
        samples.append(SiteSample(
            site=sites[key], snapshot=snapshot, instance=snapshot.instance, at=snapshot.captured_at,
            count=sum(g.count for g in members), total=snapshot.total,
            leaked=sum(g.leaked or 0 for g in members), max_wait_minutes=max(waits) if waits else None,
            shape=shapes.get(key, {}),
        ))
    SiteSample.objects.bulk_create(samples, batch_size=BATCH)


def ensure_sites(service: Service, by_key: dict[str, list], seen_at) -> dict[str, BlockingSite]:
    """The service's BlockingSite per key, creating the missing ones (race-safe)."""
    existing = {s.blocking_key: s for s in BlockingSite.objects.filter(service=service, blocking_key__in=list(by_key))}
    missing = []
    for key, members in by_key.items():
        if key in existing:
            continue
        top = max(members, key=lambda g: g.count)
        site = top.site
        missing.append(BlockingSite(
            service=service, blocking_key=key, wait_reason=(top.wait_reason or "")[:100],
            site_function=getattr(site, "function", "") or "", site_file=getattr(site, "file", "") or "",
            site_line=getattr(site, "line", None), created_by=_frame_dict(top.created_by),
            sample_signature_id=top.signature, pattern=next((g.pattern for g in members if g.pattern), "") or "",
            benign=next((g.benign for g in members if g.benign), "") or "",
            first_seen=seen_at, last_seen=seen_at,
        ))
    if missing:
        BlockingSite.objects.bulk_create(missing, batch_size=BATCH, ignore_conflicts=True)
        existing.update({s.blocking_key: s for s in BlockingSite.objects.filter(service=service, blocking_key__in=[m.blocking_key for m in missing])})
    return existing
