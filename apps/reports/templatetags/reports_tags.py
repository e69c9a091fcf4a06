"""Number formatting shared by the mail templates and the report pages."""
from django import template

from ..charts import human_bytes

register = template.Library()


@register.filter(name="bytes")
def bytes_(value):
    return "—" if value is None else human_bytes(value)


@register.filter
def pct(value, digits=0):
    return "—" if value is None else f"{value * 100:.{int(digits)}f}%"


@register.filter
def signed_pct(value):
    if value is None:
        return "—"
    return "±0%" if round(value) == 0 else f"{value:+.0f}%"
