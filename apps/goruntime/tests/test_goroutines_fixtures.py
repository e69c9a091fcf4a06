"""The engine on real captures from Go 1.21, 1.24 and 1.26 (../shared/fixtures/real-go)."""
from __future__ import annotations

import pytest

from apps.goruntime import goroutines as gr

from .fixtures import (REAL_GO, available, ground_truth_sites, manifest, read, run_file,
                       sample_path, site_matches)

pytestmark = pytest.mark.skipif(not available(), reason="shared real-go fixtures not found")

FORMAT_KINDS = ("goroutine_debug2", "goroutine_debug1", "goroutine_proto")
EXPECTED_FORMAT = {
    "goroutine_debug2": {"debug2"}, "goroutine_debug1": {"debug1"}, "goroutine_proto": {"proto"},
    "goroutineleak_debug1": {"leak_debug1"}, "goroutineleak_proto": {"leak_proto"},
    "goroutineleak_debug2": {"debug2"},
}


def _runs(leak: bool | None = None):
    if not available():
        return []
    out = []
    for r in manifest()["runs"]:
        if leak is None or (r["leak"] == "goroutines") == leak:
            out.append(r)
    return out


def _ids(runs):
    return [r["run_id"] for r in runs]


_cache: dict = {}


def _dump(path, name=None):
    key = str(path)
    if key not in _cache:
        _cache[key] = gr.parse_dump(read(path), name or path.name)
    return _cache[key]


def _series(run, kind):
    paths = [sample_path(run, i, kind) for i in range(len(run["samples"]))]
    if not all(paths):
        return None
    return [_dump(p) for p in paths]


def _is_gt(site: dict, run) -> bool:
    return any(site_matches(site, g) for g in ground_truth_sites(run))


# -- every fixture parses ------------------------------------------------------

def _all_goroutine_files():
    files = []
    for r in _runs():
        for s in r["samples"]:
            for kind, f in s["files"].items():
                if kind in EXPECTED_FORMAT:
                    files.append((r, s, kind, f["file"]))
        for kind, f in r.get("run_files", {}).items():
            if kind == "sigquit":
                files.append((r, None, kind, f["file"]))
    return files


def test_every_goroutine_fixture_parses():
    files = _all_goroutine_files()
    assert len(files) > 1500
    for run, sample, kind, fname in files:
        d = _dump(run_file(run, fname), fname)
        assert d.total > 0 or kind.startswith("goroutineleak"), (run["run_id"], fname)
        assert not d.truncated, (run["run_id"], fname)
        if kind in EXPECTED_FORMAT:
            assert d.format in EXPECTED_FORMAT[kind], (run["run_id"], fname, d.format)
            assert d.leak_profile == kind.startswith("goroutineleak")
        else:
            assert d.format == "traceback" and d.extra.get("signal") == "SIGQUIT"
        if kind == "goroutine_debug2" and sample.get("goroutines_in_debug2") is not None:
            assert d.total == sample["goroutines_in_debug2"], (run["run_id"], fname)
        assert gr.group_dump(d) or d.total == 0, (run["run_id"], fname)


def test_observed_leaked_counts_match_groups():
    """The debug=2 group at each ground-truth site holds exactly the observed count."""
    for run in _runs(leak=True):
        gts = {g["role"]: g for g in ground_truth_sites(run)}
        for s in run["samples"]:
            p = sample_path(run, s["index"], "goroutine_debug2")
            obs = s.get("observed_leaked") or {}
            if p is None or not obs:
                continue
            groups = gr.group_dump(_dump(p))
            for role, n in obs.items():
                gt = gts[role]
                got = sum(g.count for g in groups if site_matches(g.site.to_dict(), gt))
                # the harness counted by function; a connection caught mid-setup
                # sits at another line of the same function
                assert n - 1 <= got <= n, (run["run_id"], s["index"], role, got, n)


@pytest.mark.parametrize("tt", manifest()["test_timeouts"] if available() else [],
                         ids=lambda t: t["path"])
def test_test_timeout_culprit_first(tt):
    d = _dump(REAL_GO / tt["path"])
    assert d.format == "traceback"
    assert d.extra.get("kind") == "test_timeout" and d.extra.get("tests") == [tt["test"]]
    r = gr.analyze([d])
    gt = tt["ground_truth"]
    top = r["groups"][0]
    assert site_matches(top["site"], gt), top["site"]
    assert top["count"] == gt["blocked_goroutines"]
    # the alarm goroutine that panics is never the culprit
    for g in r["groups"]:
        if "startAlarm" in g["site"]["function"]:
            assert g["benign"] == "goroutine-dumper"


# -- leak series ---------------------------------------------------------------

@pytest.mark.parametrize("run", _runs(leak=True), ids=_ids(_runs(leak=True)))
def test_top_suspect_after_three_samples(run):
    for kind in FORMAT_KINDS:
        ds = _series(run, kind)
        if ds is None:
            continue
        r = gr.analyze(ds[:3])
        assert r["suspects"], (kind, [(g["site"], g["series"]) for g in r["groups"][:3]])
        assert _is_gt(r["suspects"][0]["site"], run), (kind, r["suspects"][0])
        rall = gr.analyze(ds)
        assert _is_gt(rall["suspects"][0]["site"], run), kind


@pytest.mark.parametrize("run", _runs(leak=True), ids=_ids(_runs(leak=True)))
def test_last_sample_alone_ranks_the_leak_first(run):
    for kind in FORMAT_KINDS:
        ds = _series(run, kind)
        if ds is None:
            continue
        r = gr.analyze(ds[-1:])
        assert _is_gt(r["groups"][0]["site"], run), (kind, r["groups"][0])


LONG = [r for r in _runs(leak=True) if r["schedule_s"][-1] >= 120]


@pytest.mark.parametrize("run", LONG, ids=_ids(LONG))
def test_last_sample_of_long_run_alone_names_the_leak(run):
    ds = _series(run, "goroutine_debug2")
    r = gr.analyze(ds[-1:])
    assert r["suspects"], [(g["site"]["function"], g["count"]) for g in r["groups"][:3]]
    top = r["suspects"][0]
    assert _is_gt(top["site"], run), top
    assert top["evidence"]


@pytest.mark.parametrize("run", _runs(leak=False), ids=_ids(_runs(leak=False)))
def test_benign_runs_give_no_suspects(run):
    for kind in FORMAT_KINDS:
        ds = _series(run, kind)
        if ds is None:
            continue
        assert gr.analyze(ds)["suspects"] == [], kind
        assert gr.analyze(ds[:3])["suspects"] == [], kind
        for i, d in enumerate(ds):
            r = gr.analyze([d])
            assert r["suspects"] == [], (kind, i, r["suspects"][:1])


def test_same_capture_same_top_key_across_formats():
    checked = 0
    for run in _runs(leak=True):
        for s in run["samples"][2:]:
            keys = {}
            for kind in FORMAT_KINDS:
                p = sample_path(run, s["index"], kind)
                if p is None:
                    continue
                keys[kind] = gr.analyze([_dump(p)])["groups"][0]["key"]
            if len(keys) == 3:
                assert len(set(keys.values())) == 1, (run["run_id"], s["index"], keys)
                checked += 1
    assert checked > 100


def test_same_leak_same_key_across_go_versions():
    """Own-code sites key the same in 1.21 (semacquire), 1.24 (-trimpath, internal/sync)
    and 1.26 (new closure names, non-0xc0 pointers)."""
    by_scenario: dict[str, set] = {}
    for run in _runs(leak=True):
        if run["variant"] != "short" or run["scenario"] == "http_body_not_closed":
            continue  # stdlib sites move lines between releases; own code does not
        ds = _series(run, "goroutine_debug2")
        by_scenario.setdefault(run["scenario"], set()).add(
            gr.analyze(ds[:3])["suspects"][0]["key"])
    assert len(by_scenario) >= 6
    for sc, keys in by_scenario.items():
        assert len(keys) == 1, (sc, keys)


def test_wait_reason_normalised_across_versions():
    for run in _runs(leak=True):
        if run["scenario"] != "waitgroup_missed_done":
            continue
        ds = _series(run, "goroutine_debug2")
        top = gr.analyze(ds)["suspects"][0]
        assert top["wait_reason"] == "sync.WaitGroup.Wait"  # 1.21 prints semacquire
        assert top["pattern"] == "waitgroup-missing-done"


def test_leak_profile_proves_and_is_not_a_series_point():
    run = next(r for r in _runs(leak=True) if r["run_id"] == "go1.26.6/chan_send_timeout/leakprof")
    dumps = []
    for s in run["samples"]:
        dumps.append(_dump(sample_path(run, s["index"], "goroutine_debug1")))
        dumps.append(_dump(sample_path(run, s["index"], "goroutineleak_debug1")))
    r = gr.analyze(dumps[:6])
    top = r["suspects"][0]
    assert _is_gt(top["site"], run)
    assert top["leaked"] > 0 and top["score"] >= 0.9
    assert any("goroutineleak" in e for e in top["evidence"])
    assert len(top["series"]) == 6


def test_empty_leak_profile_is_not_an_all_clear():
    run = next(r for r in _runs(leak=True)
               if r["run_id"] == "go1.26.6/mutex_never_unlocked/leakprof")
    dumps = []
    for s in run["samples"][:3]:
        dumps.append(_dump(sample_path(run, s["index"], "goroutine_debug2")))
        leak = _dump(sample_path(run, s["index"], "goroutineleak_debug1"))
        assert leak.total == 0
        dumps.append(leak)
    r = gr.analyze(dumps)
    assert r["suspects"] and _is_gt(r["suspects"][0]["site"], run)
    assert any("not an all-clear" in e for e in r["suspects"][0]["evidence"])


def test_sigquit_dumps_name_the_leak():
    for run in _runs(leak=True):
        f = run.get("run_files", {}).get("sigquit")
        if not f:
            continue
        d = _dump(run_file(run, f["file"]))
        assert d.extra["signal"] == "SIGQUIT"
        r = gr.analyze([d])
        assert _is_gt(r["groups"][0]["site"], run), run["run_id"]
        # runtime background goroutines are catalogued benign, never suspects
        for g in r["groups"]:
            if g["site"]["function"].startswith("runtime."):
                assert g["benign"] == "runtime-background", g["site"]


def test_tracebacklabels_parsed():
    run = next(r for r in _runs() if r["run_id"] == "go1.26.6/select_no_ctx/leakprof_tracebacklabels")
    d = _dump(sample_path(run, 3, "goroutine_debug2"))
    labelled = [g for g in d.goroutines if g.labels]
    assert labelled and all(g.labels == {"http.route": "/api/session"} for g in labelled)
    assert all(g.state == "select" for g in labelled)
    assert any(g.leaked for g in labelled)


def test_pipeline_style_history_from_contract_fields_only():
    """The Django pipeline rebuilds SiteHistory from stored Group rows (contract
    fields only, no optional shape lists); growth alone must still name the leak."""
    for run in _runs(leak=True):
        if run["variant"] != "short":
            continue
        ds = _series(run, "goroutine_debug1")
        per = []
        for d in ds[:3]:
            by: dict = {}
            for g in gr.group_dump(d):
                by.setdefault(g.blocking_key, []).append(g)
            per.append((d, by))
        keys = {k for _, by in per for k in by}
        verdicts = []
        for k in keys:
            rep = next(by[k][0] for _, by in reversed(per) if k in by)
            h = gr.SiteHistory(blocking_key=k, wait_reason=rep.wait_reason, site=rep.site,
                               created_by=rep.created_by, frames=rep.frames, pattern=rep.pattern,
                               benign=rep.benign)
            for i, (d, by) in enumerate(per):
                gs = by.get(k, [])
                h.times.append(float(i * 5))
                h.counts.append(sum(g.count for g in gs))
                h.totals.append(d.total)
                h.max_wait_minutes.append(max((g.wait_minutes_max or 0 for g in gs), default=None))
                h.leaked.append(sum(g.leaked for g in gs))
            verdicts.append((gr.score_site(h), rep))
        sus = sorted((v for v in verdicts if v[0].suspect), key=lambda v: -v[0].score)
        assert sus, run["run_id"]
        assert _is_gt(sus[0][1].site.to_dict(), run), (run["run_id"], sus[0][1].site)
