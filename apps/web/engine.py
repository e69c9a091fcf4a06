"""Thin, failure-tolerant access to the goruntime engines for the pages.

Pages must keep rendering even when an engine is missing a name (for
instance while it is being upgraded): every helper degrades to None.
"""
from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def gr():
    try:
        from apps.goruntime import goroutines
    except Exception:  # pragma: no cover - engine absent or broken
        log.exception("goroutine engine unavailable")
        return None
    return goroutines


def rt():
    try:
        from apps.goruntime import runtime
    except Exception:  # pragma: no cover
        log.exception("runtime engine unavailable")
        return None
    return runtime


def pattern(pattern_id: str | None) -> dict | None:
    """{id, title, why, fix} for a pattern id from the catalogue."""
    if not pattern_id:
        return None
    mod = gr()
    p = getattr(mod, "PATTERNS", {}).get(pattern_id) if mod else None
    if p is None:
        return {"id": pattern_id, "title": pattern_id.replace("_", " ").replace("-", " "), "why": "", "fix": ""}
    return {"id": pattern_id, "title": getattr(p, "title", pattern_id), "why": getattr(p, "why", ""), "fix": getattr(p, "fix", "")}


def benign(benign_id: str | None) -> dict | None:
    if not benign_id:
        return None
    mod = gr()
    b = getattr(mod, "BENIGN", {}).get(benign_id) if mod else None
    if b is None:
        return {"id": benign_id, "title": benign_id.replace("_", " ").replace("-", " "), "why": ""}
    return {"id": benign_id, "title": getattr(b, "title", benign_id), "why": getattr(b, "why", "")}


def parse_size(text: str) -> int:
    """'512MiB', '1Gi', '536870912' -> bytes; ValueError on nonsense."""
    text = (text or "").strip()
    if not text:
        raise ValueError("empty")
    if text.isdigit():
        return int(text)
    mod = rt()
    if mod is not None and hasattr(mod, "parse_size"):
        return int(mod.parse_size(text))
    units = {"k": 1000, "ki": 1024, "kib": 1024, "m": 1000**2, "mi": 1024**2, "mib": 1024**2, "mb": 1000**2,
             "g": 1000**3, "gi": 1024**3, "gib": 1024**3, "gb": 1000**3, "b": 1}
    num = text.rstrip("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    unit = text[len(num):].strip().lower()
    if unit not in units:
        raise ValueError(f"unknown unit {unit!r}")
    return int(float(num) * units[unit])
