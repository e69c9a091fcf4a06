"""Leak scoring of a blocking site (series or one snapshot) and in-dump ranking.

Evidence items are combined as a noisy-OR (1 - prod(1 - w)): each is an
independent reason to believe the site leaks, and none alone reaches
certainty except a proof from the goroutineleak profile.

Series evidence: steady growth over intervals, growth beyond total load.
Snapshot evidence: goroutines accumulated over the process's life (goroutine
ids spread over the id range rather than allocated in one burst, wait minutes
spread out), hundreds parked at one operation for minutes, a large share of
all goroutines, operations that can never proceed (nil channel, empty select).
A flat count over several snapshots and a burst-created pool count against.
"""
from __future__ import annotations

import math

from . import normalize as _n
from .model import Dump, Group, SiteHistory, Verdict

SUSPECT_THRESHOLD = 0.5
BENIGN_CAP = 0.3

_REASON_WEIGHT = {  # how much a wait reason itself points at a leak
    "chan send (nil chan)": 1.0, "chan receive (nil chan)": 1.0, "select (no cases)": 1.0,
    "sync.Mutex.Lock": 1.0, "sync.RWMutex.Lock": 1.0, "sync.RWMutex.RLock": 1.0,
    "sync.WaitGroup.Wait": 1.0, "sync.Cond.Wait": 1.0, "semacquire": 0.9,
    "chan send": 1.0, "chan receive": 0.95, "select": 0.9, "unknown": 0.85,
    "IO wait": 0.75, "sleep": 0.7, "syscall": 0.5,
}


def reason_weight(reason: str) -> float:
    if reason in _REASON_WEIGHT:
        return _REASON_WEIGHT[reason]
    if reason in _n.ACTIVE:
        return 0.3
    return 0.6


def _noisy_or(ws) -> float:
    p = 1.0
    for w in ws:
        p *= 1.0 - max(0.0, min(0.99, w))
    return 1.0 - p


def _last(xs, default=None):
    return xs[-1] if xs else default


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def score_site(h: SiteHistory) -> Verdict:
    counts = [int(c or 0) for c in h.counts]
    totals = [int(t or 0) for t in h.totals]
    n = len(counts)
    ev: list[tuple[float, str]] = []
    neg: list[tuple[float, str]] = []
    rw = reason_weight(h.wait_reason or "unknown")
    last = counts[-1] if counts else 0
    leaked_last = _last(h.leaked, 0) or 0
    leaked_any = max(h.leaked or [0]) if h.leaked else 0

    # -- proof ------------------------------------------------------------
    if leaked_last or leaked_any:
        ev.append((0.97, f"proved leaked by the runtime's goroutineleak detector: "
                         f"{leaked_last or leaked_any} goroutine(s) marked (leaked)"))

    # -- series ------------------------------------------------------------
    if n >= 2:
        diffs = [b - a for a, b in zip(counts, counts[1:])]
        ups = sum(1 for d in diffs if d > 0)
        downs = sum(1 for d in diffs if d < 0)
        net = counts[-1] - counts[0]
        k = len(diffs)
        rel = net / max(1, counts[0])
        if net > 0:
            if downs == 0 and ups >= 2 and net >= 3:
                w = min(0.8, 0.6 + 0.05 * (ups - 2))
                # steady growth is a leak whatever the wait (IO, sleep loops leak
                # too); only goroutines caught running discount it
                ev.append((w * rw if rw < 0.6 else w,
                           f"grew in {ups} of {k} intervals without ever shrinking "
                           f"({counts[0]} → {counts[-1]})"))
            elif downs == 0 and ups == 1 and net >= 3 and rel >= 0.5:
                ev.append((0.3, f"grew {counts[0]} → {counts[-1]} between two snapshots"))
            elif ups >= 3 and downs <= ups / 4 and net >= 5:
                ev.append((0.45, f"mostly growing: up in {ups}, down in {downs} of {k} "
                                 f"intervals ({counts[0]} → {counts[-1]})"))
            # growth beyond load: this site's share of all goroutines rises
            if totals and len(totals) == n and totals[0] > 0 and totals[-1] > 0 and net >= 3:
                s0, s1 = counts[0] / totals[0], counts[-1] / totals[-1]
                others0, others1 = totals[0] - counts[0], totals[-1] - counts[-1]
                if s1 - s0 >= 0.05:
                    ev.append((0.25, f"grows beyond total load: share of all goroutines "
                                     f"{_pct(s0)} → {_pct(s1)}"))
                elif others1 <= others0 and net > 0:
                    ev.append((0.2, "grows while the rest of the process does not"))
        elif downs == 0 and ups == 0 and n >= 3 and last > 0:
            neg.append((0.5, f"count flat at {last} across {n} snapshots"))
        elif net < 0 and downs > ups:
            neg.append((0.6, f"shrinking ({counts[0]} → {counts[-1]})"))

    # -- the last snapshot on its own ---------------------------------------
    mins = _last(h.max_wait_minutes)
    total_last = _last(totals, 0) or 0
    spread = _last(h.id_spread)
    density = _last(h.id_density)
    parents = _last(h.distinct_parents)
    mdist = _last(h.minutes_distinct)
    size = min(1.0, last / 50.0)
    if h.wait_reason in _n.FOREVER and last:
        ev.append((0.6 if last >= 3 else 0.35,
                   f"{last} goroutine(s) in '{h.wait_reason}', which can never proceed"))
    if last >= 10 and spread is not None and density is not None \
            and spread >= 0.3 and density <= 0.75:
        ev.append((0.45 * size * rw, f"created over the process's life, not in one burst "
                                     f"(ids span {_pct(spread)} of the id range, density "
                                     f"{density:.2f})"))
    if last >= 10 and mdist is not None and mdist >= 3 and (mins or 0) >= 2:
        ev.append((0.3 * size * rw, f"wait times spread over {mdist} different minute values "
                                    f"(piling up for {mins}+ minutes)"))
    if mins is not None and mins >= 1 and last:
        w = 0.1 if mins < 3 else 0.15 if mins < 10 else 0.3 if mins < 60 else 0.4
        ev.append((w * rw, f"blocked for at least {mins} minute(s)"))
    if last >= 100 and (mins or 0) >= 1 and rw >= 0.9:
        ev.append((0.6, f"{last} goroutines parked at one {h.wait_reason} for minutes"))
    elif last >= 1000 and rw >= 0.85:
        ev.append((0.4, f"{last} goroutines parked at one site"))
    elif last >= 100 and rw >= 0.85:
        ev.append((0.2, f"{last} goroutines parked at one site"))
    if total_last and last >= 20 and last / total_last >= 0.5:
        ev.append((0.15 * rw, f"{_pct(last / total_last)} of all goroutines"))
    if parents is not None and density is not None and parents == 1 and density >= 0.8 \
            and last >= 8 and not leaked_last:
        neg.append((0.6, "created in one burst by a single parent (a fixed pool)"))

    if ev and h.wait_reason in _n.LEAK_PRONE and h.wait_reason not in _n.FOREVER:
        ev.append((0.05, f"waits in '{h.wait_reason}', which only another goroutine can end"))
    score = _noisy_or(w for w, _ in ev)
    for w, _ in neg:
        score *= 1.0 - w
    benign = h.benign
    strong = any(w >= 0.9 for w, _ in ev) or (
        n >= 2 and any("intervals" in t for _, t in ev)
        and any("beyond total load" in t or "rest of the process" in t for _, t in ev))
    if benign and not strong:
        score = min(score, BENIGN_CAP)
    elif benign and strong:
        ev.append((0.0, f"matches benign '{benign}', but the evidence overrides it"))
        benign = None
    if last == 0 and not leaked_last:
        score = min(score, 0.2)
    score = round(max(0.0, min(1.0, score)), 3)
    suspect = score >= SUSPECT_THRESHOLD and (benign is None)
    evidence = [t for _, t in ev] + [t for _, t in neg]
    if h.leak_profile_seen and not leaked_any and h.wait_reason in (
            "sync.Mutex.Lock", "sync.RWMutex.Lock", "sync.RWMutex.RLock", "IO wait", "sleep",
            "select", "chan receive", "chan send"):
        evidence.append("absent from the goroutineleak profile - which cannot see waits on "
                        "objects reachable from globals, IO, timers or sleeps, so this is not "
                        "an all-clear")
    return Verdict(score=score, suspect=suspect, evidence=evidence,
                   pattern=h.pattern if suspect or not benign else None, benign=benign)


# In one dump, who to look at first: goroutines stuck on a lock or a channel
# are causes; a goroutine in WaitGroup.Wait usually waits *for* them, and
# sleeping/IO goroutines are rarely the culprit of a hang.
_RANK_REASON = {
    "chan send (nil chan)": 5.0, "chan receive (nil chan)": 5.0, "select (no cases)": 5.0,
    "sync.Mutex.Lock": 4.4, "sync.RWMutex.Lock": 4.4, "sync.RWMutex.RLock": 4.4,
    "chan send": 4.2, "chan receive": 4.0, "sync.Cond.Wait": 4.0, "semacquire": 3.8,
    "select": 3.7, "sync.WaitGroup.Wait": 3.6, "unknown": 3.4, "IO wait": 3.0,
    "sleep": 2.4, "syscall": 2.0,
}


def rank_group(g: Group) -> float:
    """Culprit rank inside one dump: who to look at first (higher first)."""
    r = _RANK_REASON.get(g.wait_reason, 1.0 if g.wait_reason in _n.ACTIVE else 2.5)
    r += 0.6 * math.log2(1 + g.count)
    r += 0.3 * math.log2(1 + (g.wait_minutes_max or 0))
    if g.leaked:
        r += 8.0
    if g.site.file.endswith("_test.go") and g.wait_reason in (
            "sleep", "chan receive", "select", "unknown", "sync.WaitGroup.Wait"):
        r -= 2.0  # the test goroutine that merely waits for / polls the culprit
    if g.site_kind == "stdlib":
        r -= 0.5
    elif g.site_kind in ("runtime", "none"):
        r -= 2.0
    if g.benign:
        r -= 50.0
    return round(r, 3)


def rank_groups(groups: list[Group], dump: Dump | None = None) -> None:
    for g in groups:
        g.rank = rank_group(g)
