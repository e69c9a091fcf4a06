"""The `triage` CLI contract (pure cli.main; manage.py only forwards argv)."""
from __future__ import annotations

import io
import json

import pytest

from apps.goruntime.goroutines import cli

from .fixtures import available, manifest, sample_path, site_matches

pytestmark = pytest.mark.skipif(not available(), reason="shared real-go fixtures not found")

GROUP_KEYS = {"key", "wait_reason", "count", "max_wait_minutes", "site", "created_by", "pattern",
              "benign", "leaked", "series"}


def _run(run_id):
    return next(r for r in manifest()["runs"] if r["run_id"] == run_id)


def _files(run, kind, n=None):
    paths = [str(sample_path(run, i, kind)) for i in range(len(run["samples"]))]
    return paths[:n] if n else paths


def _main(argv):
    out, err = io.StringIO(), io.StringIO()
    rc = cli.main(argv, out, err)
    return rc, out.getvalue(), err.getvalue()


def test_json_contract_leak_series():
    run = _run("go1.21.13/waitgroup_missed_done/short")
    files = _files(run, "goroutine_debug2")
    rc, out, err = _main(["--format", "json", *files])
    assert rc == 0, err
    r = json.loads(out)
    assert set(r) >= {"snapshots", "groups", "suspects"}
    assert [s["file"] for s in r["snapshots"]] == files
    for s in r["snapshots"]:
        assert set(s) >= {"file", "format", "go_version", "total"}
        assert s["format"] == "debug2" and s["total"] > 0
    for g in r["groups"]:
        assert GROUP_KEYS <= set(g)
        assert set(g["site"]) == {"function", "file", "line"}
        assert g["created_by"] is None or set(g["created_by"]) == {"function", "file", "line"}
        assert len(g["series"]) == len(files)
    # benign last
    flags = [g["benign"] is not None for g in r["groups"]]
    assert flags == sorted(flags)
    sus = r["suspects"]
    assert sus and GROUP_KEYS | {"score", "evidence"} <= set(sus[0])
    assert [s["score"] for s in sus] == sorted((s["score"] for s in sus), reverse=True)
    gt = manifest()["ground_truth"][run["ground_truth_id"]]["sites"][0]
    assert site_matches(sus[0]["site"], gt)
    assert r["groups"][0]["key"] == sus[0]["key"]
    assert all(isinstance(e, str) for e in sus[0]["evidence"])


def test_json_benign_has_empty_suspects():
    run = _run("go1.26.6/worker_pool/long")
    rc, out, _ = _main(["--format", "json", *_files(run, "goroutine_proto")])
    assert rc == 0 and json.loads(out)["suspects"] == []


def test_text_report():
    run = _run("go1.26.6/chan_send_timeout/long")
    rc, out, _ = _main(_files(run, "goroutine_debug2", 4))
    assert rc == 0
    assert "SUSPECTED LEAKS" in out and "Fetch.func1" in out and "usual fix" in out
    assert "GROUPS IN THE LAST SNAPSHOT" in out
    rc, out, _ = _main([_files(_run("go1.26.6/worker_pool/short"), "goroutine_debug2")[0]])
    assert rc == 0 and "No suspected leaks" in out


def test_errors(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("not a goroutine dump\n")
    rc, out, err = _main(["--format", "json", str(bad)])
    assert rc == 2 and "bad.txt" in err and out == ""
    rc, _, err = _main([str(tmp_path / "missing.txt")])
    assert rc == 2 and "missing.txt" in err
    rc, _, _ = _main(["--format", "xml", str(bad)])
    assert rc == 2
