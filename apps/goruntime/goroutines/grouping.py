"""Group a dump's goroutines/records by exact stack signature, in linear time.

Goroutines are bucketed by the identity of their interned frames tuple, their
creator frame (never the parent id) and wait reason: one dict lookup each.
Per-stack work (signature, site, pattern) is done once per distinct stack.
"""
from __future__ import annotations

from collections import Counter

from .model import Dump, Group
from .patterns import classify_benign, classify_pattern
from .signature import (blocking_key, choose_site, creation_key, group_signature, stack_hash,
                        visible_frames)

MAX_IDS = 20
MAX_LABEL_VALUES = 3


def _merge_labels(label_dicts) -> dict:
    vals: dict[str, Counter] = {}
    for d in label_dicts:
        if not d:
            continue
        for k, v in d.items():
            vals.setdefault(k, Counter())[v] += 1
    out = {}
    for k, c in vals.items():
        common = [v for v, _ in c.most_common(MAX_LABEL_VALUES)]
        s = ", ".join(common)
        if len(c) > MAX_LABEL_VALUES:
            s += f", … (+{len(c) - MAX_LABEL_VALUES})"
        out[k] = s[:200]
    return out


class _StackInfo:
    __slots__ = ("visible", "shash", "site", "kind")

    def __init__(self, frames, own_prefixes):
        self.visible = visible_frames(frames)
        self.shash = stack_hash(self.visible)
        self.site, self.kind = choose_site(frames, own_prefixes)


def group_dump(dump: Dump, own_prefixes: tuple[str, ...] = ()) -> list[Group]:
    own_prefixes = tuple(own_prefixes or ())
    infos: dict[int, _StackInfo] = {}

    def info(frames) -> _StackInfo:
        si = infos.get(id(frames))
        if si is None:
            si = infos[id(frames)] = _StackInfo(frames, own_prefixes)
        return si

    groups: dict[tuple, Group] = {}
    members: dict[tuple, list] = {}
    if dump.goroutines:
        # pass 1: bucket by interned identities (cheap), merge by signature after
        buckets: dict[tuple, list] = {}
        for g in dump.goroutines:
            k = (id(g.frames), id(g.created_by), g.wait_reason)
            b = buckets.get(k)
            if b is None:
                buckets[k] = [g]
            else:
                b.append(g)
        for gs in buckets.values():
            g0 = gs[0]
            si = info(g0.frames)
            ck = creation_key(g0.created_by)
            sig = group_signature(si.shash, g0.wait_reason, ck)
            grp = groups.get(sig)
            if grp is None:
                grp = groups[sig] = _new_group(sig, si, g0.frames, g0.created_by, g0.wait_reason, ck)
                members[sig] = []
            members[sig].extend(gs)
        _fill_goroutine_stats(dump, groups, members)
    else:
        for r in dump.records:
            si = info(r.frames)
            sig = group_signature(si.shash, r.wait_reason, None)
            grp = groups.get(sig)
            if grp is None:
                grp = groups[sig] = _new_group(sig, si, r.frames, None, r.wait_reason, None)
                members[sig] = []
            members[sig].append(r)
        for sig, grp in groups.items():
            rs = members[sig]
            grp.count = sum(r.count for r in rs)
            if dump.leak_profile:
                grp.leaked = grp.count
            grp.labels = _merge_labels(r.labels for r in rs)
            grp.states = {grp.wait_reason: grp.count}
    out = list(groups.values())
    from .scoring import rank_groups  # local import: scoring depends on model only
    rank_groups(out, dump)
    out.sort(key=lambda g: (-g.rank, -g.count, g.signature))
    return out


def _new_group(sig, si: _StackInfo, frames, created_by, wait_reason, ck) -> Group:
    site, kind = si.site, si.kind
    pattern = classify_pattern(si.visible or frames, wait_reason, site, kind, created_by)
    benign = classify_benign(frames, wait_reason, site, kind)
    return Group(signature=sig, frames=list(si.visible or frames), created_by=created_by,
                 wait_reason=wait_reason, blocking_key=blocking_key(site, kind, wait_reason),
                 site=site, creation_key=ck, pattern=pattern, benign=benign,
                 stack_hash=si.shash, site_kind=kind)


def _fill_goroutine_stats(dump: Dump, groups: dict, members: dict) -> None:
    all_min = None
    all_max = None
    gid_to_sig: dict[int, str] = {}
    for sig, gs in members.items():
        ids = [g.id for g in gs]
        lo, hi = min(ids), max(ids)
        all_min = lo if all_min is None or lo < all_min else all_min
        all_max = hi if all_max is None or hi > all_max else all_max
        for i in ids:
            gid_to_sig[i] = sig
    span = (all_max - all_min) if all_max is not None else 0
    for sig, gs in members.items():
        grp = groups[sig]
        grp.count = len(gs)
        mins = []
        leaked = 0
        states: Counter = Counter()
        parents = set()
        labels = []
        pgroups: Counter = Counter()
        for g in gs:
            if g.minutes is not None:
                mins.append(g.minutes)
            if g.leaked:
                leaked += 1
            states[g.state] += 1
            p = g.parent_id
            if p is not None:
                parents.add(p)
                ps = gid_to_sig.get(p)
                if ps is not None:
                    pgroups[ps] += 1
            if g.labels:
                labels.append(g.labels)
        grp.leaked = leaked
        n = len(gs)
        # goroutines without "N minutes" have waited < 1 minute
        grp.wait_minutes_min = min(mins) if len(mins) == n and mins else (0 if n else None)
        grp.wait_minutes_max = max(mins) if mins else 0
        hist = Counter(mins)
        if len(mins) < n:
            hist[0] += n - len(mins)
        grp.minutes_hist = dict(sorted(hist.items()))
        grp.states = dict(states)
        ids = sorted(g.id for g in gs)
        grp.goroutine_ids = ids[:MAX_IDS]
        grp.id_min, grp.id_max = ids[0], ids[-1]
        width = ids[-1] - ids[0]
        grp.id_spread = round(width / span, 4) if span else 0.0
        grp.id_density = round(n / (width + 1), 4)
        grp.distinct_parents = len(parents) if parents else (0 if n else None)
        grp.parent_groups = dict(pgroups)
        grp.labels = _merge_labels(labels)
        if grp.benign is None and _pool_like(grp):
            grp.benign = "worker-pool"


def _pool_like(grp: Group) -> bool:
    """Many goroutines made in one burst by one parent, idle on a shared wait."""
    return (grp.count >= 8 and grp.distinct_parents == 1 and (grp.id_density or 0) >= 0.8
            and grp.leaked == 0
            and grp.wait_reason in ("chan receive", "select", "sync.Cond.Wait", "unknown"))


def spawn_tree(groups: list[Group]) -> list[dict]:
    """Edges parent-group -> child-group with goroutine counts (from parent ids)."""
    by_sig = {g.signature: g for g in groups}
    edges = []
    for g in groups:
        for psig, n in sorted(g.parent_groups.items(), key=lambda kv: -kv[1]):
            p = by_sig.get(psig)
            edges.append({"parent": psig, "child": g.signature, "count": n,
                          "parent_site": p.site.to_dict() if p else None,
                          "child_site": g.site.to_dict()})
    return edges

