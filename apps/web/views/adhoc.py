"""Ad-hoc analysis: drop or paste one or several dumps, get the triage view; no service, private to the user."""
from __future__ import annotations

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import RequestDataTooBig
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from apps.web import engine, source
from apps.web.models import AdhocAnalysis

log = logging.getLogger(__name__)
MAX_TOTAL_BYTES = 64 * 1024 * 1024
MAX_FILES = 20
MAX_GROUPS_KEPT = 2000
KEEP_PER_USER = 50


def _stacks(gr, dump, prefixes, keys: set) -> dict:
    """blocking_key -> the largest exact stack under it, for expanding a group on the page."""
    out: dict = {}
    try:
        groups = gr.group_dump(dump, own_prefixes=prefixes)
    except Exception:  # the page still shows the analysis without stacks
        log.exception("group_dump failed in ad-hoc analysis")
        return out
    for g in sorted(groups, key=lambda g: -g.count):
        if g.blocking_key in keys and g.blocking_key not in out:
            out[g.blocking_key] = {
                "frames": [f.to_dict() for f in g.frames],
                "created_by": g.created_by.to_dict() if g.created_by else None,
                "labels": dict(g.labels or {}),
            }
    return out


def analyse(inputs: list[tuple[str, bytes]], prefixes: tuple[str, ...]) -> tuple[dict | None, str]:
    """(result, "") or (None, error message)."""
    gr = engine.gr()
    if gr is None or not hasattr(gr, "analyze"):
        return None, "The goroutine engine is not available on this server yet."
    dumps = []
    for name, data in inputs:
        try:
            dumps.append(gr.parse_dump(data, name=name))
        except getattr(gr, "ParseError", ValueError) as exc:
            line = getattr(exc, "line", None)
            return None, f"{name}: {exc}" + (f" (line {line})" if line and f"line {line}" not in str(exc) else "")
        except Exception as exc:  # never a 500 for a bad paste
            log.exception("parse_dump crashed on %s", name)
            return None, f"{name}: could not be read as a goroutine dump ({exc.__class__.__name__})."
    try:
        result = gr.analyze(dumps, own_prefixes=prefixes)
    except Exception as exc:
        log.exception("analyze crashed")
        return None, f"Analysis failed: {exc.__class__.__name__}: {exc}"
    groups = list(result.get("groups") or [])
    result["groups_total"] = len(groups)
    result["groups"] = groups[:MAX_GROUPS_KEPT]
    keys = {g.get("key") for g in result["groups"][:500]} | {s.get("key") for s in result.get("suspects") or []}
    result["stacks"] = _stacks(gr, dumps[-1], prefixes, keys)
    for snap, (name, _) in zip(result.get("snapshots") or [], inputs):
        snap.setdefault("file", name)
    return result, ""


@login_required
def adhoc(request):
    error = ""
    if request.method == "POST":
        try:
            files = request.FILES.getlist("dumps")
            paste = request.POST.get("paste", "")
            prefixes_text = request.POST.get("prefixes", "")
        except RequestDataTooBig:
            files, paste, prefixes_text = [], "", ""
            error = "That paste is too large to submit as text; save it to a file and drop the file instead."
        inputs: list[tuple[str, bytes]] = []
        total = 0
        for f in sorted(files, key=lambda f: f.name)[:MAX_FILES]:
            total += f.size
            if total > MAX_TOTAL_BYTES:
                error = f"Too much data: at most {MAX_TOTAL_BYTES // (1024 * 1024)} MiB per analysis."
                break
            inputs.append((f.name, f.read()))
        if paste.strip():
            inputs.append(("pasted text", paste.encode()))
        if not error and not inputs:
            error = "Drop or choose a dump file, or paste a goroutine dump, then press Analyse."
        if not error:
            prefixes = tuple(p.strip() for p in prefixes_text.splitlines() if p.strip())
            result, error = analyse(inputs, prefixes)
            if result is not None:
                names = [n for n, _ in inputs]
                title = names[0] if len(names) == 1 else f"{names[0]} … {names[-1]} ({len(names)} dumps)"
                a = AdhocAnalysis.objects.create(user=request.user, title=title[:200], own_prefixes="\n".join(prefixes), result=result)
                stale = AdhocAnalysis.objects.filter(user=request.user).values_list("pk", flat=True)[KEEP_PER_USER:]
                AdhocAnalysis.objects.filter(pk__in=list(stale)).delete()
                return redirect("adhoc_detail", analysis_id=a.pk)
    recent = AdhocAnalysis.objects.filter(user=request.user).only("id", "title", "created_at")[:20]
    return render(request, "web/adhoc.html", {"error": error, "recent": recent, "paste": request.POST.get("paste", "")[:200000] if error else ""})


@login_required
def adhoc_detail(request, analysis_id):
    a = get_object_or_404(AdhocAnalysis, pk=analysis_id, user=request.user)
    r = a.result or {}
    stacks = r.get("stacks") or {}
    groups = r.get("groups") or []
    q = (request.GET.get("q") or "").strip().lower()
    wait = request.GET.get("wait") or ""
    hide_benign = request.GET.get("benign") == "hide"
    shown = []
    for g in groups:
        if wait and g.get("wait_reason") != wait:
            continue
        if hide_benign and g.get("benign"):
            continue
        if q:
            st = stacks.get(g.get("key")) or {}
            hay = " ".join([str(g.get("wait_reason", "")), str((g.get("site") or {}).get("function", "")),
                            str((g.get("created_by") or {}).get("function", "")),
                            " ".join(str(f.get("function", "")) for f in st.get("frames") or [])]).lower()
            if q not in hay:
                continue
        shown.append(_view_group(g, stacks))
    return render(request, "web/adhoc_detail.html", {
        "a": a,
        "snapshots": r.get("snapshots") or [],
        "suspects": [_view_group(s, stacks) for s in r.get("suspects") or []],
        "groups": shown[:500],
        "groups_shown": len(shown),
        "groups_total": r.get("groups_total", len(groups)),
        "wait_reasons": sorted({g.get("wait_reason", "") for g in groups}),
        "f": {"q": request.GET.get("q", ""), "wait": wait, "benign": "hide" if hide_benign else ""},
        "multi": len(r.get("snapshots") or []) > 1,
    })


def _view_group(g: dict, stacks: dict) -> dict:
    st = stacks.get(g.get("key")) or {}
    site_fn = (g.get("site") or {}).get("function")
    frames = [{**f, "is_site": f.get("function") == site_fn, "is_std": source.is_stdlib(f.get("function", ""))}
              for f in st.get("frames") or []]
    return {
        **g,
        "site": g.get("site") or {},
        "created_by": g.get("created_by") or st.get("created_by"),
        "frames": frames,
        "labels": st.get("labels") or {},
        "pattern_info": engine.pattern(g.get("pattern")),
        "benign_info": engine.benign(g.get("benign")),
    }


@login_required
@require_POST
def adhoc_delete(request, analysis_id):
    a = get_object_or_404(AdhocAnalysis, pk=analysis_id, user=request.user)
    a.delete()
    messages.success(request, "Analysis deleted.")
    return redirect("adhoc")
