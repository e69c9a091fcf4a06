"""`manage.py recommend` is a thin wrapper: same flags and output as apps.goruntime.runtime.cli."""
from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

SHARED = Path(os.environ.get("GOTRIAGE_SHARED", Path(__file__).resolve().parents[3].parent / "shared"))
RUN = SHARED / "fixtures" / "real-go" / "runs" / "go1.26.6" / "gc_churn" / "short"


@pytest.mark.skipif(not RUN.exists(), reason="shared fixtures not found")
def test_recommend_command_json():
    out = io.StringIO()
    call_command("recommend", "--format", "json", "--memory-limit", "512Mi", "--cpu-limit", "2",
                 "--go-version", "1.26", str(RUN / "s05_expvar.json"), str(RUN / "gctrace.txt"), stdout=out)
    rec = json.loads(out.getvalue())
    assert rec["GOMEMLIMIT"] == 460 * (1 << 20) and rec["GOMAXPROCS"] is None
    assert set(rec["snippets"]) == {"k8s", "dockerfile", "systemd", "go"}


def test_recommend_command_bad_file(tmp_path):
    bad = tmp_path / "x.txt"
    bad.write_text("nothing to see\n")
    with pytest.raises(CommandError):
        call_command("recommend", str(bad), stdout=io.StringIO(), stderr=io.StringIO())
