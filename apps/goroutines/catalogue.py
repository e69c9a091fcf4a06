"""Pattern and benign-catalogue descriptions from goruntime, as plain dicts for pages and API."""
from __future__ import annotations


def describe_pattern(pattern_id: str | None) -> dict | None:
    from apps.goruntime import goroutines as gr

    p = gr.PATTERNS.get(pattern_id) if pattern_id else None
    return {"id": p.id, "title": p.title, "why": p.why, "fix": p.fix} if p else None


def describe_benign(benign_id: str | None) -> dict | None:
    from apps.goruntime import goroutines as gr

    b = gr.BENIGN.get(benign_id) if benign_id else None
    return {"id": b.id, "title": b.title, "why": b.why} if b else None
