"""Formatting filters for the pages. Everything returned is escaped or built with format_html."""
from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe

register = template.Library()


@register.filter
def ibytes(value):
    """1536 -> '1.5 KiB' (binary units, as Go prints them)."""
    if value is None or value == "":
        return "—"
    try:
        n = float(value)
    except (TypeError, ValueError):
        return "—"
    sign = "-" if n < 0 else ""
    n = abs(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{sign}{n:.0f} {unit}" if unit == "B" or n >= 100 else f"{sign}{n:.1f} {unit}"
        n /= 1024
    return "—"


@register.filter
def pct(value, digits=1):
    if value is None:
        return "—"
    try:
        v = float(value) * 100
        if 0 < v < 10 ** -int(digits):
            return f"<{10 ** -int(digits):g}%"
        return f"{v:.{int(digits)}f}%"
    except (TypeError, ValueError):
        return "—"


@register.filter
def ms(ns):
    if ns is None:
        return "—"
    return f"{float(ns) / 1e6:.2f} ms"


@register.filter
def age(value):
    """A compact age: '42s', '7m', '3h', '5d'."""
    if not value:
        return "never"
    if not isinstance(value, datetime):
        return "—"
    secs = max(0, int((timezone.now() - value).total_seconds()))
    if secs < 60:
        return f"{secs}s ago"
    if secs < 3600:
        return f"{secs // 60}m ago"
    if secs < 86400:
        return f"{secs // 3600}h ago"
    return f"{secs // 86400}d ago"


@register.filter
def short_func(function):
    from apps.web.source import short_function

    return short_function(function)


@register.filter
def minutes_range(group):
    lo, hi = group.get("wait_minutes_min"), group.get("wait_minutes_max")
    if not hi:  # Go prints minutes only from 1 minute on
        return "—"
    if lo == hi or lo is None:
        return f"{hi} min"
    return f"{lo}–{hi} min"


@register.simple_tag
def sparkline(values, width=120, height=28):
    """An inline SVG polyline of numbers (no untrusted text inside)."""
    pts = [float(v) for v in (values or []) if v is not None]
    if len(pts) < 2:
        return mark_safe('<span class="muted">—</span>')
    lo, hi = min(pts), max(pts)
    span = (hi - lo) or 1.0
    step = (width - 2) / (len(pts) - 1)
    coords = " ".join(f"{1 + i * step:.1f},{height - 2 - (v - lo) / span * (height - 4):.1f}" for i, v in enumerate(pts))
    rising = pts[-1] > pts[0] * 1.2 and pts[-1] - pts[0] > 10
    return format_html(
        '<svg class="spark{}" width="{}" height="{}" viewBox="0 0 {} {}" aria-hidden="true"><polyline points="{}"/></svg>',
        " rising" if rising else "", width, height, width, height, coords,
    )


@register.simple_tag(takes_context=True)
def query_with(context, **kwargs):
    """The current query string with some parameters replaced (page links, sort links)."""
    params = context["request"].GET.copy()
    for k, v in kwargs.items():
        if v is None or v == "":
            params.pop(k, None)
        else:
            params[k] = v
    return "?" + params.urlencode() if params else "?"


@register.filter
def basename(path):
    return (path or "").rsplit("/", 1)[-1]


@register.filter
def get_item(mapping, key):
    try:
        return mapping.get(key)
    except AttributeError:
        return None


_TICKS = __import__("re").compile(r"`([^`]+)`")


@register.filter
def ticks(text):
    """Escape, then show `code` spans from catalogue text as <code>."""
    from django.utils.html import escape

    return mark_safe(_TICKS.sub(r"<code>\1</code>", escape(text or "")))
