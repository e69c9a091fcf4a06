"""Difference of two snapshots' groups, by any group attribute (default blocking_key)."""
from __future__ import annotations


def diff_groups(before, after, key: str = "blocking_key") -> list[dict]:
    """Per key: key, before, after, delta, status (new|gone|grown|shrunk|same).

    Sorted by largest growth first, then new, then the rest; gone groups last.
    """
    b: dict = {}
    a: dict = {}
    sample: dict = {}
    for g in before or ():
        k = getattr(g, key)
        b[k] = b.get(k, 0) + g.count
        sample.setdefault(k, g)
    for g in after or ():
        k = getattr(g, key)
        if k not in a:
            sample[k] = g  # describe a key by its newest group
        a[k] = a.get(k, 0) + g.count
    out = []
    for k in set(b) | set(a):
        nb, na = b.get(k, 0), a.get(k, 0)
        if k not in b:
            status = "new"
        elif k not in a:
            status = "gone"
        elif na > nb:
            status = "grown"
        elif na < nb:
            status = "shrunk"
        else:
            status = "same"
        g = sample.get(k)
        out.append({"key": k, "before": nb, "after": na, "delta": na - nb, "status": status,
                    "wait_reason": getattr(g, "wait_reason", None),
                    "site": g.site.to_dict() if g is not None and getattr(g, "site", None) else None})
    order = {"grown": 0, "new": 0, "same": 2, "shrunk": 3, "gone": 4}
    out.sort(key=lambda d: (order[d["status"]], -d["delta"], str(d["key"])))
    return out
