"""Report preview, subscription settings, alert channels, and the login-free unsubscribe link."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from apps.services.models import Team

from . import emails, webhooks
from .models import AlertChannel, AlertNotification, ChannelKind, ReportOptOut, ReportSubscription, next_report_time
from .weekly import build_report


def teams_of(user):
    return Team.objects.all() if user.is_superuser else Team.objects.filter(memberships__user=user)


def team_for_user(user, slug: str) -> Team:
    """The team if `user` is in it (or a superuser); another team's slug is a 404."""
    return get_object_or_404(teams_of(user), slug=slug)


@login_required
def index(request):
    """Entry point from the navigation: the user's teams with their report and alert pages."""
    teams = list(teams_of(request.user).order_by("slug"))
    if len(teams) == 1:
        return redirect("reports:preview", teams[0].slug)
    return render(request, "reports/index.html", {"teams": teams})


@login_required
def preview(request, team_slug):
    team = team_for_user(request.user, team_slug)
    report = build_report(team)
    # Links open outside the sandboxed frame, as they would from a mail client.
    html = emails.report_html(report, request.user).replace("<head>", '<head><base target="_blank">', 1)
    return render(request, "reports/preview.html", {"team": team, "report": report, "email_html": html})


@login_required
@require_http_methods(["GET", "POST"])
def subscription_settings(request, team_slug):
    team = team_for_user(request.user, team_slug)
    sub = ReportSubscription.for_team(team)
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "opt_out":
            ReportOptOut.objects.get_or_create(team=team, user=request.user)
            messages.info(request, f"You no longer get {team.name}'s weekly report.")
        elif action == "opt_in":
            ReportOptOut.objects.filter(team=team, user=request.user).delete()
            messages.info(request, f"You get {team.name}'s weekly report again.")
        elif action in {"enable", "disable"}:
            sub.enabled = action == "enable"
            # Re-enabling must not fire at once for a slot that passed while it was off.
            sub.next_report_at = next_report_time(timezone.now())
            sub.save(update_fields=["enabled", "next_report_at"])
            messages.info(request, f"Weekly report {'enabled' if sub.enabled else 'disabled'} for {team.name}.")
        return redirect(request.path)
    context = {
        "team": team,
        "sub": sub,
        "opted_out": ReportOptOut.objects.filter(team=team, user=request.user).exists(),
        "recipients": sub.recipients(),
    }
    return render(request, "reports/settings.html", context)


def _validate_channel(kind: str, target: str) -> str | None:
    if kind not in ChannelKind.values:
        return "Choose a channel kind."
    if not target:
        return "Enter a target."
    if kind == ChannelKind.EMAIL:
        addresses = [a.strip() for a in target.split(",") if a.strip()]
        for address in addresses:
            try:
                validate_email(address)
            except ValidationError:
                return f"Not an email address: {address}"
        return None if addresses else "Enter at least one email address."
    if not webhooks.valid_url(target):
        return "Enter an http:// or https:// URL."
    private = webhooks.private_destination(target)
    if private:
        return f"That URL points at a private address ({private}); webhooks go to public endpoints."
    return None


@login_required
@require_http_methods(["GET", "POST"])
def channels(request, team_slug):
    team = team_for_user(request.user, team_slug)
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "add":
            kind, target = request.POST.get("kind", ""), request.POST.get("target", "").strip()
            error = _validate_channel(kind, target)
            if error:
                messages.error(request, error)
            else:
                AlertChannel.objects.create(team=team, kind=kind, target=target, name=request.POST.get("name", "").strip()[:100])
                messages.info(request, "Channel added.")
        elif action in {"delete", "test"}:
            channel = get_object_or_404(AlertChannel, team=team, pk=request.POST.get("channel"))
            if action == "delete":
                channel.delete()
                messages.info(request, "Channel deleted.")
            else:
                try:
                    webhooks.deliver(channel, webhooks.sample_payload(channel))
                    messages.info(request, f"Test notification sent to {channel}.")
                except Exception as exc:  # show the receiver's failure to the person testing it
                    messages.error(request, f"Test to {channel} failed: {exc}")
        return redirect(request.path)
    rows = AlertChannel.objects.filter(team=team)
    recent = AlertNotification.objects.filter(channel__team=team).select_related("alert", "channel").order_by("-created_at")[:20]
    return render(request, "reports/channels.html", {"team": team, "channels": rows, "kinds": ChannelKind.choices, "recent": recent})


# The link is its own credential (signed), so it needs neither login nor CSRF
# token; RFC 8058 one-click POSTs come from mail providers without either.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token):
    ids = emails.read_unsubscribe_token(token)
    user = team = None
    if ids:
        user = get_user_model().objects.filter(pk=ids[0]).first()
        team = Team.objects.filter(pk=ids[1]).first()
    if user is None or team is None:
        return render(request, "reports/unsubscribe.html", {"invalid": True}, status=400)
    if request.method == "POST":
        ReportOptOut.objects.get_or_create(team=team, user=user)
        return render(request, "reports/unsubscribe.html", {"done": True, "team": team, "email": user.email})
    # GET only asks: mail scanners follow links, and must not unsubscribe anyone.
    return render(request, "reports/unsubscribe.html", {"team": team, "email": user.email})
