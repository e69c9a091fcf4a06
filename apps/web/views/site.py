"""A blocking site: its count over time, sample stack, pattern, and triage controls with history."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.goroutines.models import TriageEvent, TriageState
from apps.web import charts, engine, source
from apps.web.access import service_or_404, site_or_404
from apps.web.series import RANGES, parse_range, site_series
from apps.web.views.service import service_context
from apps.web.views.snapshot import frames_for_display

NOTES_MAX = 10_000


def default_range(site) -> str:
    """The shortest preset that shows the site's whole life (up to 30 days)."""
    from django.utils import timezone

    age = (timezone.now() - site.first_seen).total_seconds() * 1.1
    for label, seconds in RANGES.items():
        if seconds >= age:
            return label
    return "30d"


def team_members(service):
    return get_user_model().objects.filter(memberships__team=service.team).order_by("username").distinct()


@login_required
def site(request, slug, site_id):
    service = service_or_404(request, slug)
    s = site_or_404(service, site_id)
    tr = parse_range(request.GET if request.GET.get("range") or request.GET.get("from") else {"range": default_range(s)})
    lines = site_series(s, tr)
    sig = s.sample_signature
    ctx = service_context(request, service, "overview")
    ctx.update({
        "site": s,
        "range": tr,
        "ranges": list(RANGES),
        "fig": charts.site_chart(lines) if lines else None,
        "frames": frames_for_display(service, sig.frames, s.site_function) if sig else [],
        "creator": frames_for_display(service, [s.created_by or (sig.created_by if sig else None)])[0]
        if (s.created_by or (sig and sig.created_by)) else None,
        "site_url": source.source_url(service, s.site_function, s.site_file, s.site_line),
        "pattern": engine.pattern(s.pattern),
        "benign": engine.benign(s.benign),
        "states": TriageState.choices,
        "members": team_members(service),
        "events": list(s.events.select_related("user")[:100]),
        "recent_samples": list(s.samples.select_related("instance", "snapshot").order_by("-at")[:10]),
    })
    return render(request, "web/site.html", ctx)


@login_required
@require_POST
def site_triage(request, slug, site_id):
    """Change state / owner / notes; each change is one audit event."""
    service = service_or_404(request, slug)
    s = site_or_404(service, site_id)
    state = request.POST.get("triage_state", s.triage_state)
    if state not in TriageState.values:
        messages.error(request, "Unknown triage state.")
        return redirect("site", slug=service.slug, site_id=s.pk)
    owner = s.owner
    if "owner" in request.POST:
        username = request.POST.get("owner", "").strip()
        owner = team_members(service).filter(username=username).first() if username else None
        if username and owner is None:
            messages.error(request, "The owner must be a member of the service's team.")
            return redirect("site", slug=service.slug, site_id=s.pk)
    notes = request.POST.get("notes", s.notes)[:NOTES_MAX].replace("\r\n", "\n")

    changes = []
    if state != s.triage_state:
        changes.append(("triage_state", s.get_triage_state_display(), TriageState(state).label))
        s.triage_state = state
    if owner != s.owner:
        changes.append(("owner", s.owner.get_username() if s.owner else "", owner.get_username() if owner else ""))
        s.owner = owner
    if notes != s.notes:
        changes.append(("notes", s.notes, notes))
        s.notes = notes
    if changes:
        with transaction.atomic():
            s.save(update_fields=["triage_state", "owner", "notes", "updated_at"])
            TriageEvent.objects.bulk_create(
                [TriageEvent(site=s, user=request.user, field=f, old=o, new=n) for f, o, n in changes]
            )
        messages.success(request, "Saved: " + ", ".join(f.replace("triage_state", "state") for f, _, _ in changes) + ".")
    else:
        messages.info(request, "Nothing changed.")
    return redirect("site", slug=service.slug, site_id=s.pk)
