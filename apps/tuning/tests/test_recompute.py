"""A recommendation row is stored only when the advice changes."""
from __future__ import annotations

from apps.tuning import recompute
from apps.tuning.models import Recommendation
from tests.fixtures import read_shared

RUN = "runs/go1.26.6/gc_churn/gomemlimit12mib_tight"


def test_recompute_stores_only_changes(post_upload, service):
    for i in range(3):
        post_upload(read_shared(f"{RUN}/s{i:02d}_runtime_metrics.json.gz"), captured_at=f"2026-11-20T10:0{i}:00Z")
    assert Recommendation.objects.filter(service=service).count() == 1
    assert recompute.recompute(service.pk) is None
    assert Recommendation.objects.filter(service=service).count() == 1
    rec = Recommendation.objects.get(service=service)
    assert rec.gogc
    assert "rationale" in rec.payload


def test_recompute_without_samples_does_nothing(service):
    assert recompute.recompute(service.pk) is None
