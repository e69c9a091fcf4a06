"""Collectors against the real example service built with the pinned Go."""
import gzip
import json
import os
import subprocess
import sys
import time

import leakyharness as lh
import pytest
from gotriage_agent.collectors import (ExpvarCollector, GoroutineCollector, GoroutineLeakCollector,
                                       PrometheusCollector, RuntimeMetricsCollector, Shared)
from gotriage_agent.config import load_config
from gotriage_agent.runner import Agent

pytestmark = pytest.mark.e2e  # builds and runs the real Go example service

ALL = ("-leak", "all", "-rps", "20")


def cfg_for(svc, tmp_path, *extra):
    return load_config(["--dry-run", "--pprof-url", svc.url + "/debug/pprof", "--expvar-url",
                        svc.url + "/debug/vars", "--metrics-url", svc.url + "/metrics",
                        "--runtime-metrics-url", svc.url + "/debug/metrics",
                        "--spool-dir", str(tmp_path), *extra], {})


def wait_for(pred, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    return pred()


def test_goroutine_dump_shows_each_leak_at_its_marked_line(leaky_service, tmp_path):
    svc = leaky_service(*ALL)
    cfg = cfg_for(svc, tmp_path)
    coll = GoroutineCollector(cfg, Shared())

    def dump():
        (art,) = coll.collect()
        return art.body.decode() if art.body.count(b"[chan send") >= 10 else None

    text = wait_for(dump)
    assert text, "chan_send leak did not grow"
    for leak, reason in (("chan_send", "[chan send"), ("wg_missing_done", "[sync.WaitGroup.Wait")):
        path, line = lh.leak_site(leak)
        site = f"{path}:{line} "
        blocks = [b for b in text.split("\n\n") if site in b]
        assert len(blocks) >= 5, f"{leak}: no goroutines blocked at {site}"
        assert all(b.splitlines()[0].split(" ", 2)[2].startswith(reason) for b in blocks)
    # http_body: the leaked connections' goroutines sit in net/http's transport.
    assert text.count("net/http.(*persistConn).readLoop(") >= 5


def test_leaks_off_nothing_grows(leaky_service, tmp_path):
    svc = leaky_service("-rps", "20")
    coll = GoroutineCollector(cfg_for(svc, tmp_path), Shared())
    time.sleep(1.0)
    (art,) = coll.collect()
    text = art.body.decode()
    for leak in ("chan_send", "wg_missing_done"):
        path, line = lh.leak_site(leak)
        assert f"{path}:{line} " not in text
    assert text.count("\ngoroutine ") + 1 < 40  # a small, stable set


def test_heap_leak_grows_heap_not_goroutines(leaky_service, tmp_path):
    svc = leaky_service("-leak", "heap", "-rps", "50", "-heap-chunk", "65536")
    coll = ExpvarCollector(cfg_for(svc, tmp_path), Shared())

    def sample():
        d = json.loads(coll.collect()[0].body)
        return d["memstats"]["HeapAlloc"], d["goroutines"]

    h0, g0 = sample()
    h1, g1 = wait_for(lambda: (lambda h, g: (h, g) if h - h0 > 2 << 20 else None)(*sample()), 10) or sample()
    assert h1 - h0 > 2 << 20 and abs(g1 - g0) < 10


def test_size_cap_falls_back_to_protobuf(leaky_service, tmp_path):
    svc = leaky_service(*ALL)
    coll = GoroutineCollector(cfg_for(svc, tmp_path, "--goroutine-max-bytes", "2000"), Shared())
    (art,) = coll.collect()
    assert art.kind == "goroutine_proto" and art.body[:2] == b"\x1f\x8b"
    assert len(gzip.decompress(art.body)) > 100


def test_runtime_collectors(leaky_service, tmp_path):
    svc = leaky_service(*ALL)
    cfg = cfg_for(svc, tmp_path)
    shared = Shared()
    (prom,) = PrometheusCollector(cfg, shared).collect()
    assert b"go_goroutines " in prom.body and shared.go_version.startswith("go1.")
    (ev,) = ExpvarCollector(cfg, shared).collect()
    d = json.loads(ev.body)
    assert "memstats" in d and "cmdline" not in d and ev.go_version == shared.go_version
    (rm,) = RuntimeMetricsCollector(cfg, shared).collect()
    m = json.loads(rm.body)
    h = m["/gc/heap/allocs-by-size:bytes"]
    assert len(h["buckets"]) == len(h["counts"]) + 1 and m["/sched/goroutines:goroutines"] > 0
    # Go 1.27 serves the goroutineleak profile; it finds the chan_send leak.
    arts = GoroutineLeakCollector(cfg, shared).collect()
    if shared.go_version >= "go1.27":
        assert arts and arts[0].body.startswith(b"goroutineleak profile: total")


def test_goroutineleak_404_disables(receiver, tmp_path):
    # The receiver answers 501 to GET; a plain http.server 404 target is simpler:
    import http.server, threading  # noqa: E401
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        cfg = load_config(["--dry-run", "--pprof-url", f"http://127.0.0.1:{srv.server_address[1]}/nope",
                           "--spool-dir", str(tmp_path)], {})
        c = GoroutineLeakCollector(cfg, Shared())
        assert c.collect() == [] and "1.26" in c.disabled_reason
    finally:
        srv.shutdown()
        srv.server_close()


def test_once_uploads_every_kind_to_receiver(leaky_service, receiver, tmp_path):
    svc = leaky_service(*ALL)
    time.sleep(0.5)  # a GC or two in the gctrace log
    argv = ["--once", "--server", receiver.url, "--instance", "leaky-1", "--version-label", "v9",
            "--pprof-url", svc.url + "/debug/pprof", "--expvar-url", svc.url + "/debug/vars",
            "--metrics-url", svc.url + "/metrics", "--runtime-metrics-url", svc.url + "/debug/metrics",
            "--gctrace-file", str(svc.log_path), "--cgroup-root", "/sys/fs/cgroup",
            "--spool-dir", str(tmp_path / "spool")]
    cfg = load_config(argv, {"GOTRIAGE_TOKEN": "tok-1", "POD_NAMESPACE": "demo"})
    assert Agent(cfg).run_once() == 0
    kinds = {r["query"]["kind"]: r for r in receiver.delivered()}
    expected = {"goroutine_debug2", "goroutineleak", "expvar", "prometheus", "runtime_metrics", "gctrace"}
    assert expected <= set(kinds), set(kinds)
    for kind, r in kinds.items():
        assert r["headers"]["Authorization"] == "Bearer tok-1"
        assert r["headers"]["Content-Encoding"] == "gzip"
        q = r["query"]
        assert q["instance"] == "leaky-1" and q["version"] == "v9" and q["label.namespace"] == "demo"
        assert q["go_version"].startswith("go1.") and q["captured_at"].endswith("Z")
    assert kinds["gctrace"]["body"].startswith(b"gc ")
    assert not os.listdir(tmp_path / "spool" / "queue")


def test_entry_points(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(lh.AGENT_DIR))
    for cmd in ([sys.executable, str(lh.AGENT_DIR / "gotriage_agent"), "--help"],
                [sys.executable, "-m", "gotriage_agent", "--help"]):
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=30)
        assert out.returncode == 0 and "--dry-run" in out.stdout, out.stderr
    bad = subprocess.run([sys.executable, "-m", "gotriage_agent", "--once"], capture_output=True,
                         text=True, env=env, cwd=tmp_path, timeout=30)
    assert bad.returncode == 2 and "configuration error" in bad.stderr
