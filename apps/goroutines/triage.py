"""People's triage changes on a finding, each recorded as a TriageEvent (pages and API share this)."""
from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from .models import BlockingSite, TriageEvent


def _text(value) -> str:
    if value is None:
        return ""
    return getattr(value, "username", None) or str(value)


@transaction.atomic
def apply_triage(site: BlockingSite, user, changes: dict) -> list[TriageEvent]:
    """Set triage_state / owner / notes from `changes`; returns the audit rows written.

    Scoring never writes these fields, so they survive every re-score.
    """
    site = BlockingSite.objects.select_for_update().get(pk=site.pk)
    events = []
    now = timezone.now()
    for field in ("triage_state", "owner", "notes"):
        if field not in changes:
            continue
        old, new = getattr(site, field), changes[field]
        if (old.pk if field == "owner" and old else old) == (new.pk if field == "owner" and new else new):
            continue
        setattr(site, field, new)
        events.append(TriageEvent(site=site, user=user if getattr(user, "pk", None) else None, at=now, field=field,
                                  old=_text(old)[:10000], new=_text(new)[:10000]))
    if events:
        site.save(update_fields=[e.field for e in events] + ["updated_at"])
        TriageEvent.objects.bulk_create(events)
    return events
