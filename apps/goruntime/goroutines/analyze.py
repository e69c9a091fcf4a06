"""Series analysis: snapshots of one process -> groups by blocking site + suspects.

This is what `manage.py triage --format json` prints. goroutineleak profiles
in aggregated form (leak_debug1 / leak_proto) are proof attached to the
snapshot they were fetched with (the previous file), not points of the series.
"""
from __future__ import annotations

from collections import Counter

from .grouping import group_dump
from .model import Dump, Frame, Group, SiteHistory
from .patterns import classify_benign, classify_pattern
from .scoring import rank_group, score_site

MAX_FRAMES_OUT = 40
SHAPE_FIELDS = ("id_spread", "id_density", "distinct_parents", "minutes_distinct")


class _SiteAgg:
    __slots__ = ("count", "leaked", "max_minutes", "groups", "hist", "id_min", "id_max",
                 "parents", "has_ids")

    def __init__(self):
        self.count = 0
        self.leaked = 0
        self.max_minutes = None
        self.groups: list[Group] = []
        self.hist: Counter = Counter()
        self.id_min = None
        self.id_max = None
        self.parents = 0
        self.has_ids = False

    def add(self, g: Group):
        self.count += g.count
        self.leaked += g.leaked
        if g.wait_minutes_max is not None:
            self.max_minutes = max(self.max_minutes or 0, g.wait_minutes_max)
        self.groups.append(g)
        for k, v in g.minutes_hist.items():
            self.hist[k] += v
        if g.id_min is not None:
            self.has_ids = True
            self.id_min = g.id_min if self.id_min is None else min(self.id_min, g.id_min)
            self.id_max = g.id_max if self.id_max is None else max(self.id_max, g.id_max)
            self.parents += g.distinct_parents or 0


def _is_proof_only(d: Dump) -> bool:
    return d.leak_profile and d.format in ("leak_debug1", "leak_proto")


def dump_id_span(d: Dump) -> int:
    """Width of the goroutine-id range in a dump (0 when ids are unknown)."""
    if not d.goroutines:
        return 0
    ids = [g.id for g in d.goroutines]
    return max(ids) - min(ids)


def _shape(a: "_SiteAgg | None", id_span: int) -> dict:
    """A site's goroutines in one snapshot: created over the process's life or in one burst."""
    if a is not None and a.has_ids and id_span:
        width = a.id_max - a.id_min
        return {"id_spread": round(width / id_span, 4), "id_density": round(a.count / (width + 1), 4),
                "distinct_parents": a.parents, "minutes_distinct": len(a.hist)}
    return {"id_spread": None, "id_density": None, "distinct_parents": None,
            "minutes_distinct": len(a.hist) if a is not None and a.hist else None}


def site_shapes(groups: list[Group], id_span: int) -> dict[str, dict]:
    """Per blocking key, the shape fields SiteHistory takes, for one snapshot's groups.

    The pipeline stores these per snapshot so that scores computed from the
    database see the same evidence as `analyze` does from files.
    """
    aggs: dict[str, _SiteAgg] = {}
    for g in groups:
        aggs.setdefault(g.blocking_key, _SiteAgg()).add(g)
    return {k: _shape(a, id_span) for k, a in aggs.items()}


def analyze(dumps: list[Dump], own_prefixes: tuple[str, ...] = (), names: list[str] | None = None,
            times: list[float] | None = None) -> dict:
    dumps = list(dumps)
    own_prefixes = tuple(own_prefixes or ())
    per: list[dict[str, _SiteAgg]] = []
    for d in dumps:
        aggs: dict[str, _SiteAgg] = {}
        for g in group_dump(d, own_prefixes):
            a = aggs.get(g.blocking_key)
            if a is None:
                a = aggs[g.blocking_key] = _SiteAgg()
            a.add(g)
        per.append(aggs)

    regular = [i for i, d in enumerate(dumps) if not _is_proof_only(d)] or list(range(len(dumps)))
    # proof snapshots -> index of the regular snapshot they belong to
    proof_for: dict[int, list[int]] = {}
    for i, d in enumerate(dumps):
        if i in regular:
            continue
        prev = [j for j in regular if j < i]
        target = prev[-1] if prev else (regular[0] if regular else i)
        proof_for.setdefault(target, []).append(i)
    leak_seen = any(d.leak_profile for d in dumps)
    spans = [dump_id_span(d) for d in dumps]

    keys: list[str] = []
    seen = set()
    for aggs in per:
        for k in aggs:
            if k not in seen:
                seen.add(k)
                keys.append(k)

    last_reg = regular[-1] if regular else len(dumps) - 1
    sites: list[dict] = []
    for k in keys:
        rep = _representative(k, per, last_reg)
        hist = SiteHistory(blocking_key=k, wait_reason=rep["wait_reason"], site=rep["site"],
                           created_by=rep["created_by"], frames=rep["frames"],
                           pattern=rep["pattern"], benign=rep["benign"],
                           leak_profile_seen=leak_seen)
        for idx, i in enumerate(regular):
            a = per[i].get(k)
            d = dumps[i]
            hist.times.append(float(times[i]) if times and i < len(times) and times[i] is not None
                              else float(d.extra.get("captured_at", idx)))
            hist.counts.append(a.count if a else 0)
            hist.totals.append(d.total)
            hist.max_wait_minutes.append(a.max_minutes if a else None)
            leaked = a.leaked if a else 0
            for j in proof_for.get(i, ()):
                pa = per[j].get(k)
                if pa:
                    leaked = max(leaked, pa.count)
            hist.leaked.append(leaked)
            shape = _shape(a, spans[i])
            for name in SHAPE_FIELDS:
                getattr(hist, name).append(shape[name])
        v = score_site(hist)
        la = per[last_reg].get(k)
        g = Group(signature="", frames=rep["frames"], created_by=rep["created_by"],
                  wait_reason=rep["wait_reason"], blocking_key=k, site=rep["site"],
                  creation_key=None, count=la.count if la else 0,
                  leaked=hist.leaked[-1] if hist.leaked else 0,
                  wait_minutes_max=la.max_minutes if la else None,
                  benign=v.benign, site_kind=rep["kind"])
        rank = rank_group(g)
        sites.append({
            "key": k, "wait_reason": rep["wait_reason"],
            "count": la.count if la else 0,
            "max_wait_minutes": la.max_minutes if la else None,
            "site": rep["site"].to_dict(),
            "created_by": rep["created_by"].to_dict() if rep["created_by"] else None,
            "pattern": v.pattern or rep["pattern"], "benign": v.benign,
            "leaked": hist.leaked[-1] if hist.leaked else 0,
            "series": [per[i][k].count if k in per[i] else 0 for i in range(len(dumps))],
            "labels": rep["labels"],
            "frames": [f.to_dict() for f in rep["frames"][:MAX_FRAMES_OUT]],
            "rank": rank, "score": v.score, "suspect": v.suspect, "evidence": v.evidence,
            "in_last": la is not None,
        })

    last_groups = [s for s in sites if s["in_last"]]
    last_groups.sort(key=lambda s: (s["benign"] is not None, not s["suspect"], -s["score"],
                                    -s["rank"], -s["count"], s["key"]))
    suspects = [s for s in sites if s["suspect"]]
    suspects.sort(key=lambda s: (-s["score"], -s["rank"], -s["count"], s["key"]))

    def clean(s: dict, with_score: bool) -> dict:
        out = {k: v for k, v in s.items() if k not in ("in_last", "suspect")}
        if not with_score:
            out.pop("evidence", None)
        return out

    snaps = []
    for i, d in enumerate(dumps):
        nm = names[i] if names and i < len(names) else (d.name or f"snapshot-{i}")
        snaps.append({"file": nm, "format": d.format, "go_version": d.go_version,
                      "total": d.total, "truncated": d.truncated,
                      "leak_profile": d.leak_profile,
                      "go_version_hint": d.extra.get("go_version_hint"),
                      "extra": {k: d.extra[k] for k in ("kind", "tests", "test_timeout", "signal",
                                                         "panic", "fatal_error") if k in d.extra}})
    return {
        "snapshots": snaps,
        "groups": [clean(s, False) for s in last_groups],
        "suspects": [clean(s, True) for s in suspects],
    }


def _representative(k: str, per: list[dict], last_reg: int) -> dict:
    """Site description from the newest snapshot that has it; the wait reason
    from any snapshot that knows it (debug=1 often cannot tell)."""
    best: Group | None = None
    for aggs in reversed(per):
        a = aggs.get(k)
        if a:
            best = max(a.groups, key=lambda g: g.count)
            break
    assert best is not None
    reasons: Counter = Counter()
    creators: Counter = Counter()
    cframes: dict[str, Frame] = {}
    labels: dict = {}
    for aggs in per:
        a = aggs.get(k)
        if not a:
            continue
        for g in a.groups:
            if g.wait_reason != "unknown":
                reasons[g.wait_reason] += g.count
            if g.created_by is not None:
                creators[g.created_by.key] += g.count
                cframes[g.created_by.key] = g.created_by
            for lk, lv in g.labels.items():
                labels.setdefault(lk, lv)
    reason = reasons.most_common(1)[0][0] if reasons else best.wait_reason
    created_by = cframes[creators.most_common(1)[0][0]] if creators else None
    benign = best.benign
    pattern = best.pattern
    if reason != best.wait_reason or created_by is not best.created_by:
        pattern = classify_pattern(best.frames, reason, best.site, best.site_kind, created_by)
        if benign != "worker-pool":
            benign = classify_benign(best.frames, reason, best.site, best.site_kind)
    return {"wait_reason": reason, "site": best.site, "created_by": created_by,
            "frames": best.frames, "pattern": pattern, "benign": benign, "labels": labels,
            "kind": best.site_kind}
