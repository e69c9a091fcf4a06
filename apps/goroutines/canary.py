"""Canary analysis: do the canary's blocking sites grow where the baseline's do not?

Each side is the set of snapshots in the window whose release label
(`version`) or a `key=value` label matches. Per site and instance the growth
is last count minus first count in the window; a side's growth is the mean
over its instances. A site regresses when the canary grows by at least
MIN_GROWTH goroutines per instance and more than twice the baseline's growth
(+1). Fewer than two snapshots of one instance on a side → inconclusive.
"""
from __future__ import annotations

import re
from collections import defaultdict
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from apps.services.models import Service

from .models import BlockingSite, SiteSample, Snapshot

MIN_GROWTH = 3.0
WINDOW_RE = re.compile(r"^(\d+)([smhd])$")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_WINDOW = 7 * 86400


def parse_window(value: str) -> int:
    match = WINDOW_RE.match((value or "").strip())
    if not match:
        raise ValueError("window must look like 15m, 1h, 900s")
    seconds = int(match.group(1)) * UNITS[match.group(2)]
    if not 60 <= seconds <= MAX_WINDOW:
        raise ValueError("window must be between 1m and 7d")
    return seconds


def label_filter(label: str) -> Q:
    """`v1.2.3` matches the release label; `track=canary` matches a label."""
    if "=" in label:
        key, value = label.split("=", 1)
        return Q(**{f"labels__{key}": value}) if re.match(r"^[\w.-]+$", key) else Q(pk__in=[])
    return Q(version=label)


def _side(service: Service, label: str, since) -> dict:
    snaps = list(
        Snapshot.objects.filter(service=service, captured_at__gte=since, leak_profile=False).filter(label_filter(label))
        .order_by("captured_at").values("id", "instance_id", "captured_at")
    )
    by_instance = defaultdict(list)
    for s in snaps:
        by_instance[s["instance_id"]].append(s["id"])
    usable = {inst: ids for inst, ids in by_instance.items() if len(ids) >= 2}
    ends = {sid for ids in usable.values() for sid in (ids[0], ids[-1])}
    counts = defaultdict(int)
    for row in SiteSample.objects.filter(snapshot_id__in=ends).values("site_id", "snapshot_id", "count"):
        counts[(row["site_id"], row["snapshot_id"])] = row["count"]
    sites = {site for site, _ in counts}
    growth = {}
    for site in sites:
        per_instance = [counts[(site, ids[-1])] - counts[(site, ids[0])] for ids in usable.values()]
        growth[site] = sum(per_instance) / len(per_instance)
    return {"label": label, "snapshots": len(snaps), "instances": len(by_instance), "usable_instances": len(usable), "growth": growth}


def compare(service: Service, baseline: str, canary: str, window_seconds: int, now=None) -> dict:
    now = now or timezone.now()
    since = now - timedelta(seconds=window_seconds)
    base, can = _side(service, baseline, since), _side(service, canary, since)
    regressions = []
    for site_id, grown in can["growth"].items():
        base_growth = max(0.0, base["growth"].get(site_id, 0.0))
        if grown >= MIN_GROWTH and grown > 2 * base_growth + 1:
            regressions.append((site_id, grown, base_growth))
    sites = BlockingSite.objects.in_bulk([r[0] for r in regressions])
    growing = [
        {
            "site": str(site_id), "function": sites[site_id].site_function, "file": sites[site_id].site_file,
            "line": sites[site_id].site_line, "wait_reason": sites[site_id].wait_reason,
            "canary_growth": round(grown, 2), "baseline_growth": round(base_growth, 2),
        }
        for site_id, grown, base_growth in sorted(regressions, key=lambda r: -(r[1] - r[2]))
        if site_id in sites
    ]
    if not can["usable_instances"] or not base["usable_instances"]:
        verdict = "inconclusive"
    else:
        verdict = "fail" if growing else "pass"
    excess = max((g["canary_growth"] - g["baseline_growth"] for g in growing), default=0.0)
    return {
        "service": service.slug,
        "window_seconds": window_seconds,
        "verdict": verdict,
        "healthy": verdict != "fail",
        "score": round(excess, 2),
        "baseline": {k: v for k, v in base.items() if k != "growth"},
        "canary": {k: v for k, v in can.items() if k != "growth"},
        "growing_sites": growing,
    }
