"""Filter helpers shared by every app's FilterSets."""
from __future__ import annotations

from datetime import timezone as dt_timezone

import django_filters


def to_utc(value):
    """PostgreSQL refuses offsets beyond ±15:59 that Python accepts; compare in UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=dt_timezone.utc)
    return value.astimezone(dt_timezone.utc)


class UTCDateTimeFilter(django_filters.IsoDateTimeFilter):
    def filter(self, qs, value):
        try:
            return super().filter(qs, to_utc(value))
        except OverflowError:  # e.g. year 1 at -12:00 leaves the datetime range
            return qs.none()
