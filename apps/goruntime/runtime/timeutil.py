"""Timestamps in the shapes captures carry them: unix s/ms/ns or ISO 8601."""
from __future__ import annotations

import math
from datetime import datetime, timezone

TIME_KEYS = ("timestamp", "captured_at", "time", "at", "ts", "scraped_at")


def parse_time(v) -> float | None:
    """Unix seconds from a number (s, ms, µs or ns, guessed by magnitude) or an ISO string."""
    if v is None or isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        x = float(v)
        if not math.isfinite(x) or x <= 0:
            return None
        # Seconds since 1970 are ~1.8e9 now; larger values are finer units.
        while x > 1e11:
            x /= 1000.0
        return x
    if isinstance(v, str):
        s = v.strip()
        if not s:
            return None
        try:
            return parse_time(float(s))
        except ValueError:
            pass
        if s.endswith("Z") or s.endswith("z"):
            s = s[:-1] + "+00:00"
        try:
            dt = datetime.fromisoformat(s)
        except ValueError:
            return None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=timezone.utc)
        return dt.timestamp()
    return None


def find_time(d: dict) -> float | None:
    for k in TIME_KEYS:
        if k in d:
            t = parse_time(d[k])
            if t is not None:
                return t
    return None
