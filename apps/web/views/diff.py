"""Diff two snapshots (picked directly, or the ones at two times): new, grown, shrunk, gone."""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Min, Sum
from django.shortcuts import render

from apps.goroutines.models import BlockingSite, SnapshotGroup
from apps.web import charts
from apps.web.access import instance_from, service_or_404
from apps.web.series import _parse_dt
from apps.web.views.service import service_context
from apps.web.views.snapshot import KEYS

STATUSES = ("new", "grown", "shrunk", "gone", "same")


def _snapshot(service, value):
    if not value:
        return None
    try:
        return service.snapshots.select_related("instance").filter(pk=value).first()
    except Exception:  # not a UUID
        return None


def _at(service, when, instance=None):
    qs = service.snapshots.select_related("instance").filter(captured_at__lte=when)
    if instance is not None:
        qs = qs.filter(instance=instance)
    return qs.order_by("-captured_at").first()


def counts(snapshot, key: str) -> dict:
    """key -> (count, sample group id)."""
    field = KEYS[key][0]
    qs = SnapshotGroup.objects.filter(snapshot=snapshot)
    if field is None:
        rows = qs.values("signature_id", "wait_reason").annotate(n=Sum("count"), sample=Min("id"))
        return {f"{r['signature_id']}|{r['wait_reason']}": (r["n"], r["sample"]) for r in rows}
    rows = qs.values(field).annotate(n=Sum("count"), sample=Min("id"))
    return {r[field]: (r["n"], r["sample"]) for r in rows}


def diff_rows(before: dict, after: dict) -> list[dict]:
    rows = []
    for k in set(before) | set(after):
        b, a = before.get(k, (0, None)), after.get(k, (0, None))
        delta = a[0] - b[0]
        if k not in before:
            status = "new"
        elif k not in after:
            status = "gone"
        else:
            status = "grown" if delta > 0 else "shrunk" if delta < 0 else "same"
        rows.append({"key": k, "before": b[0], "after": a[0], "delta": delta, "status": status,
                     "sample": a[1] or b[1]})
    rows.sort(key=lambda r: (-abs(r["delta"]), -r["after"], str(r["key"])))
    return rows


def decorate(service, rows: list[dict]) -> None:
    groups = {g.pk: g for g in SnapshotGroup.objects.filter(pk__in=[r["sample"] for r in rows]).select_related("signature")}
    keys = {g.blocking_key for g in groups.values()}
    sites = dict(BlockingSite.objects.filter(service=service, blocking_key__in=keys).values_list("blocking_key", "pk"))
    for r in rows:
        g = groups.get(r["sample"])
        r["function"] = g.signature.site_function if g else ""
        r["file"] = g.signature.site_file if g else ""
        r["line"] = g.signature.site_line if g else None
        r["wait_reason"] = g.wait_reason if g else ""
        r["created_by"] = (g.signature.created_by or {}).get("function", "") if g else ""
        r["site_id"] = sites.get(g.blocking_key) if g else None


@login_required
def diff(request, slug):
    service = service_or_404(request, slug)
    instance = instance_from(service, request.GET)
    key = request.GET.get("key") if request.GET.get("key") in KEYS else "site"
    mode = "times" if (request.GET.get("at_a") or request.GET.get("at_b")) else "snapshots"
    error = ""
    a = b = None
    if mode == "times":
        ta, tb = _parse_dt(request.GET.get("at_a")), _parse_dt(request.GET.get("at_b"))
        if not ta or not tb:
            error = "Give both times (UTC), e.g. 2026-11-24T09:00."
        else:
            if ta > tb:
                ta, tb = tb, ta
            a = _at(service, ta, instance)
            b = _at(service, tb, instance or (a.instance if a else None))
            if not a or not b:
                error = "No snapshot at or before one of those times; pick a later time."
    else:
        a, b = _snapshot(service, request.GET.get("a")), _snapshot(service, request.GET.get("b"))
        if (request.GET.get("a") and not a) or (request.GET.get("b") and not b):
            error = "One of the chosen snapshots does not exist in this service."
        if not request.GET.get("a") and not request.GET.get("b"):
            latest = service.snapshots.select_related("instance")
            if instance is not None:
                latest = latest.filter(instance=instance)
            b = latest.order_by("-captured_at").first()
            if b:
                prev = service.snapshots.select_related("instance").filter(captured_at__lt=b.captured_at, instance=b.instance)
                a = prev.order_by("-captured_at").first()
    if a and b and a.captured_at > b.captured_at:
        a, b = b, a

    rows, summary, fig, page = [], {}, None, None
    status = request.GET.get("status") if request.GET.get("status") in STATUSES else ""
    if a and b and not error:
        rows = diff_rows(counts(a, key), counts(b, key))
        summary = {s: sum(1 for r in rows if r["status"] == s) for s in STATUSES}
        summary["delta"] = sum(r["delta"] for r in rows)
        top = [r for r in rows if r["delta"]][:20]
        shown = [r for r in rows if r["status"] == status] if status else [r for r in rows if r["status"] != "same"]
        page = Paginator(shown, 100).get_page(request.GET.get("page"))
        decorate(service, list({id(r): r for r in list(page.object_list) + top}.values()))
        if top:
            fig = charts.diff_chart(top)

    choices = list(service.snapshots.select_related("instance").order_by("-captured_at")[:200])
    ctx = service_context(request, service, "diff")
    ctx.update({
        "a": a, "b": b, "key": key, "keys": [(k, v[1]) for k, v in KEYS.items()], "mode": mode,
        "instance": instance, "error": error, "summary": summary, "page": page, "status": status,
        "statuses": STATUSES, "fig": fig, "choices": choices,
        "at_a": request.GET.get("at_a", ""), "at_b": request.GET.get("at_b", ""),
    })
    return render(request, "web/diff.html", ctx)
