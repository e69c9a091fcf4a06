"""One goroutine snapshot: grouped, filtered, paginated; each group expands to its stack."""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Max, Min, Q, Sum, TextField
from django.db.models.functions import Cast
from django.http import Http404, HttpResponse
from django.shortcuts import render

from apps.goroutines.models import BlockingSite, SnapshotGroup
from apps.web import engine, source
from apps.web.access import service_or_404, snapshot_or_404
from apps.web.views.service import service_context

PAGE_SIZE = 100
KEYS = {
    "site": ("blocking_key", "Blocking site"),
    "creation": ("signature__creation_key", "Creation site"),
    "stack": (None, "Exact stack"),
}


def _int(value, default=None):
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return default


def read_filters(params) -> dict:
    key = params.get("key") if params.get("key") in KEYS else "site"
    return {
        "key": key,
        "wait": (params.get("wait") or "").strip(),
        "pkg": (params.get("pkg") or "").strip(),
        "min_count": _int(params.get("min_count")),
        "min_minutes": _int(params.get("min_minutes")),
        "q": (params.get("q") or "").strip()[:200],
    }


def filtered_groups(snapshot, f: dict):
    qs = SnapshotGroup.objects.filter(snapshot=snapshot)
    if f["wait"]:
        qs = qs.filter(wait_reason=f["wait"])
    if f["pkg"]:
        # a package path or prefix: matches the blocking frame's function
        qs = qs.filter(signature__site_function__startswith=f["pkg"])
    if f["min_minutes"]:
        qs = qs.filter(wait_minutes_max__gte=f["min_minutes"])
    if f["q"]:
        qs = qs.annotate(frames_text=Cast("signature__frames", TextField()),
                         creator_text=Cast("signature__created_by", TextField())).filter(
            Q(frames_text__icontains=f["q"]) | Q(creator_text__icontains=f["q"]) | Q(wait_reason__icontains=f["q"])
            | Q(pattern__icontains=f["q"]) | Q(benign__icontains=f["q"])
        )
    return qs


def grouped(snapshot, f: dict):
    """A queryset of rows {key, count, leaked, stacks, mmin, mmax, sample} most goroutines first."""
    qs = filtered_groups(snapshot, f)
    field = KEYS[f["key"]][0]
    if field is None:
        rows = qs.values("id").annotate(
            key=Min("signature_id"), total=Sum("count"), leaked_sum=Sum("leaked"), stacks=Count("id"),
            mmin=Min("wait_minutes_min"), mmax=Max("wait_minutes_max"), sample=Min("id"),
        )
    else:
        rows = qs.values(field).annotate(
            key=Min(field), total=Sum("count"), leaked_sum=Sum("leaked"), stacks=Count("id"),
            mmin=Min("wait_minutes_min"), mmax=Max("wait_minutes_max"), sample=Min("id"),
        )
    if f["min_count"]:
        rows = rows.filter(total__gte=f["min_count"])
    return rows.order_by("-total", "key")


def frames_for_display(service, frames, site_function: str | None = None):
    """Frames as the templates show them: source link, the blocking frame marked, runtime frames dimmed."""
    out = []
    for fr in frames or []:
        fr = fr or {}
        fn = fr.get("function", "")
        out.append({
            "function": fn,
            "file": fr.get("file", ""),
            "line": fr.get("line"),
            "url": source.source_url(service, fn, fr.get("file", ""), fr.get("line")),
            "is_site": bool(site_function) and fn == site_function,
            "is_std": source.is_stdlib(fn),
        })
    return out


def decorate(service, rows: list[dict]) -> list[dict]:
    """Attach the sample group (stack, creator, badges) and the blocking-site link to each row."""
    samples = {g.pk: g for g in SnapshotGroup.objects.filter(pk__in=[r["sample"] for r in rows]).select_related("signature")}
    keys = {samples[r["sample"]].blocking_key for r in rows if r["sample"] in samples}
    sites = dict(BlockingSite.objects.filter(service=service, blocking_key__in=keys).values_list("blocking_key", "pk"))
    patterns: dict = {}
    out = []
    for r in rows:
        g = samples.get(r["sample"])
        if g is None:
            continue
        sig = g.signature
        if g.pattern and g.pattern not in patterns:
            patterns[g.pattern] = engine.pattern(g.pattern)
        out.append({
            "key": r["key"],
            "count": r["total"],
            "leaked": r["leaked_sum"] or 0,
            "stacks": r["stacks"],
            "wait_minutes_min": r["mmin"],
            "wait_minutes_max": r["mmax"],
            "wait_reason": g.wait_reason,
            "site_function": sig.site_function,
            "site_file": sig.site_file,
            "site_line": sig.site_line,
            "created_by": sig.created_by,
            "frames": frames_for_display(service, sig.frames, sig.site_function),
            "creator_frame": frames_for_display(service, [sig.created_by])[0] if sig.created_by else None,
            "labels": g.labels or {},
            "pattern": patterns.get(g.pattern) if g.pattern else None,
            "benign": engine.benign(g.benign) if g.benign else None,
            "site_id": sites.get(g.blocking_key),
        })
    return out


@login_required
def snapshot(request, slug, snapshot_id):
    service = service_or_404(request, slug)
    snap = snapshot_or_404(service, snapshot_id)
    f = read_filters(request.GET)
    rows = grouped(snap, f)
    paginator = Paginator(rows, PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    groups = decorate(service, list(page.object_list))
    wait_reasons = list(
        SnapshotGroup.objects.filter(snapshot=snap).values_list("wait_reason", flat=True).distinct().order_by("wait_reason")
    )
    previous = service.snapshots.filter(captured_at__lt=snap.captured_at)
    if snap.instance_id:
        previous = previous.filter(instance_id=snap.instance_id)
    ctx = service_context(request, service, "snapshots")
    ctx.update({
        "snap": snap,
        "f": f,
        "keys": [(k, v[1]) for k, v in KEYS.items()],
        "key_label": KEYS[f["key"]][1],
        "page": page,
        "groups": groups,
        "wait_reasons": wait_reasons,
        "filtered": any([f["wait"], f["pkg"], f["min_count"], f["min_minutes"], f["q"]]),
        "previous": previous.order_by("-captured_at").first(),
        "has_raw": _raw_kept(snap),
    })
    return render(request, "web/snapshot.html", ctx)


def _raw_kept(snap) -> bool:
    upload = snap.upload if snap.upload_id else None
    if upload is None or not upload.raw:
        return False
    try:
        return upload.raw.storage.exists(upload.raw.name)
    except Exception:  # a remote storage hiccup must not break the page
        return True


@login_required
def snapshot_raw(request, slug, snapshot_id):
    """The uploaded bytes as they arrived (decompressed), as a download."""
    service = service_or_404(request, slug)
    snap = snapshot_or_404(service, snapshot_id)
    upload = snap.upload
    if upload is None or not upload.raw:
        raise Http404("The raw upload is no longer kept (retention) or was never stored.")
    try:
        with upload.raw.open("rb") as fh:
            data = fh.read()
    except (FileNotFoundError, OSError):
        raise Http404("The raw upload is no longer kept (retention).")
    if data[:2] == b"\x1f\x8b":
        import gzip

        try:
            data = gzip.decompress(data)
        except OSError:
            pass
    name = upload.filename or f"{service.slug}-{snap.captured_at:%Y%m%dT%H%M%SZ}.txt"
    binary = upload.kind in ("goroutine_proto",) or b"\x00" in data[:1024]
    resp = HttpResponse(data, content_type="application/octet-stream" if binary else "text/plain; charset=utf-8")
    safe = "".join(c for c in name if c.isalnum() or c in "._-") or "snapshot.txt"
    resp["Content-Disposition"] = f'attachment; filename="{safe}"'
    resp["X-Content-Type-Options"] = "nosniff"
    return resp


@login_required
def snapshots(request, slug):
    """All snapshots of a service, newest first, paginated."""
    service = service_or_404(request, slug)
    qs = service.snapshots.select_related("instance").order_by("-captured_at")
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    ctx = service_context(request, service, "snapshots")
    ctx.update({"page": page})
    return render(request, "web/snapshots.html", ctx)
