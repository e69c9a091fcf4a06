"""Service settings: limits, source links, own-code prefixes, agent tokens."""
from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.services.models import AgentToken
from apps.web import engine
from apps.web.access import service_or_404
from apps.web.templatetags.triage import ibytes
from apps.web.views.service import service_context

SESSION_NEW_TOKEN = "web.new_token"


class SizeField(forms.CharField):
    """Bytes, written as 536870912, 512MiB or 1Gi; blank = none."""

    def to_python(self, value):
        value = (super().to_python(value) or "").strip()
        if not value:
            return None
        try:
            n = engine.parse_size(value)
        except (ValueError, TypeError):
            raise forms.ValidationError("Write a size like 536870912, 512MiB or 1GiB.")
        if n <= 0:
            raise forms.ValidationError("Must be more than zero.")
        return n


class ServiceSettingsForm(forms.Form):
    name = forms.CharField(max_length=200, required=False)
    memory_limit = SizeField(required=False, label="Container memory limit",
                             help_text="e.g. 512MiB. Drawn on the memory chart and used by tuning.")
    cpu_limit_cores = forms.FloatField(required=False, min_value=0.01, max_value=1024, label="Container CPU limit (cores)")
    rss_alert = SizeField(required=False, label="RSS alert threshold")
    repo_url_template = forms.CharField(
        max_length=500, required=False, label="Repository URL template",
        help_text="{path} and {line} are filled in, e.g. https://github.com/acme/shop/blob/main/{path}#L{line}",
    )
    module_prefixes = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), label="Own module prefixes",
        help_text="One per line, e.g. github.com/acme/shop/. Frames under them count as your code.",
    )

    def clean_repo_url_template(self):
        value = self.cleaned_data["repo_url_template"].strip()
        if value and not value.startswith(("https://", "http://")):
            raise forms.ValidationError("Must start with https:// or http://.")
        if value and "{path}" not in value:
            raise forms.ValidationError("Must contain {path} (and usually {line}).")
        return value


def _size_text(n):
    """Bytes as Go writes sizes (512MiB) when exact, else the plain number."""
    if not n:
        return ""
    for unit, size in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n % size == 0:
            return f"{n // size}{unit}"
    return str(n)


def _initial(service):
    return {
        "name": service.name,
        "memory_limit": _size_text(service.memory_limit_bytes),
        "cpu_limit_cores": service.cpu_limit_cores,
        "rss_alert": _size_text(service.rss_alert_bytes),
        "repo_url_template": service.repo_url_template,
        "module_prefixes": service.module_prefixes,
    }


@login_required
def settings_page(request, slug):
    service = service_or_404(request, slug)
    if request.method == "POST":
        form = ServiceSettingsForm(request.POST)
        if form.is_valid():
            d = form.cleaned_data
            service.name = d["name"]
            service.memory_limit_bytes = d["memory_limit"]
            service.cpu_limit_cores = d["cpu_limit_cores"]
            service.rss_alert_bytes = d["rss_alert"]
            service.repo_url_template = d["repo_url_template"]
            service.module_prefixes = "\n".join(p.strip() for p in d["module_prefixes"].splitlines() if p.strip())
            service.save()
            messages.success(request, "Settings saved.")
            return redirect("service_settings", slug=service.slug)
    else:
        form = ServiceSettingsForm(initial=_initial(service))
    new_token = request.session.pop(SESSION_NEW_TOKEN, None)
    if new_token and new_token.get("service") != str(service.pk):
        new_token = None
    ctx = service_context(request, service, "settings")
    ctx.update({
        "form": form,
        "tokens": list(service.tokens.select_related("created_by").order_by("revoked_at", "-created_at")),
        "new_token": new_token,
        "memory_limit_h": ibytes(service.memory_limit_bytes) if service.memory_limit_bytes else "",
        "upload_url": request.build_absolute_uri("/api/v1/uploads/"),
    })
    return render(request, "web/settings.html", ctx)


@login_required
@require_POST
def token_create(request, slug):
    service = service_or_404(request, slug)
    name = (request.POST.get("name") or "").strip()[:100] or "agent"
    token, raw = AgentToken.issue(service, name=name, user=request.user)
    # Shown once, on the next page view, then gone: only the hash is stored.
    request.session[SESSION_NEW_TOKEN] = {"service": str(service.pk), "name": token.name, "raw": raw}
    return redirect("service_settings", slug=service.slug)


@login_required
@require_POST
def token_revoke(request, slug, prefix):
    service = service_or_404(request, slug)
    token = AgentToken.objects.filter(service=service, prefix=prefix, revoked_at__isnull=True).first()
    if token is None:
        raise Http404("No such active token.")
    token.revoke()
    messages.success(request, f"Token {token.prefix}… ({token.name}) revoked; agents using it now get 401.")
    return redirect("service_settings", slug=service.slug)
