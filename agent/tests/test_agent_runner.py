"""The agent loop against a recording receiver: spool when down, flush in
order when back, retry 5xx, drop permanent 4xx; dry-run prints only; the
gctrace tail and cgroup reader."""
import io
import os
import threading
import time

from gotriage_agent.cli import main
from gotriage_agent.collectors import GctraceCollector, Shared, cgroup_snapshot
from gotriage_agent.config import load_config
from gotriage_agent.runner import Agent


def make_cfg(tmp_path, server, *extra):
    log = tmp_path / "app.log"
    log.touch()
    return load_config(["--server", server, "--token", "tok", "--instance", "i-1",
                        "--gctrace-file", str(log), "--spool-dir", str(tmp_path / "spool"),
                        "--interval", "goroutineleak=0", *extra], {}), log


def gc_line(n):
    return f"gc {n} @{n}.0s 0%: 0.1+1+0.01 ms clock, 0.2+0/0.1/0.3+0.02 ms cpu, 4->4->2 MB, 5 MB goal, 0 MB stacks, 0 MB globals, 2 P\n"


def test_server_down_then_spool_flushes_in_order(tmp_path, receiver):
    receiver.stop()  # the server is down
    cfg, log = make_cfg(tmp_path, receiver.url, "--timeout", "2")
    agent = Agent(cfg)
    (coll,) = agent.collectors
    for n in range(1, 6):
        with open(log, "a") as f:
            f.write(gc_line(n))
        agent.collect(coll)
        assert agent.flush() is False  # connection refused: stays spooled
    assert len(agent.spool.entries()) == 5
    assert agent.next_flush > time.monotonic()  # backing off, not hammering
    receiver.restart()  # the server is back on the same port
    assert agent.flush() is True
    got = [r["body"] for r in receiver.delivered()]
    assert got == [gc_line(n).encode() for n in range(1, 6)]  # in order, nothing lost
    assert agent.spool.entries() == []


def test_5xx_then_success_in_daemon_loop(tmp_path, receiver):
    receiver.statuses[:] = [500, 503]
    cfg, log = make_cfg(tmp_path, receiver.url, "--interval", "gctrace=0.1")
    cfg.backoff_base, cfg.backoff_max = 0.05, 0.2
    agent = Agent(cfg)
    t = threading.Thread(target=agent.run_forever, daemon=True)
    t.start()
    try:
        for n in range(1, 4):
            with open(log, "a") as f:
                f.write(gc_line(n))
            time.sleep(0.15)
        deadline = time.time() + 5
        while time.time() < deadline and b"".join(r["body"] for r in receiver.delivered()).count(b"\ngc") < 2:
            time.sleep(0.05)
    finally:
        agent.stop_event.set()
        t.join(5)
    assert [r["status"] for r in receiver.requests[:2]] == [500, 503]
    delivered = b"".join(r["body"] for r in receiver.delivered())
    assert delivered == b"".join(gc_line(n).encode() for n in range(1, 4))  # each line once, in order


def test_permanent_rejection_is_dropped_not_retried(tmp_path, receiver, caplog):
    receiver.statuses[:] = [401]
    cfg, log = make_cfg(tmp_path, receiver.url, "--once")
    log.write_text(gc_line(1))
    assert Agent(cfg).run_once(sleep=lambda s: None) == 1
    assert len(receiver.requests) == 1
    assert not os.listdir(tmp_path / "spool" / "queue")
    assert "rejected" in caplog.text and "401" in caplog.text


def test_once_leaves_undelivered_in_spool(tmp_path, receiver):
    receiver.statuses[:] = [503, 503, 503]
    cfg, log = make_cfg(tmp_path, receiver.url, "--once", "--retries", "3")
    log.write_text(gc_line(1))
    slept = []
    assert Agent(cfg).run_once(sleep=slept.append) == 1
    assert len(receiver.requests) == 3 and len(slept) == 2
    assert len(os.listdir(tmp_path / "spool" / "queue")) == 1  # kept for the next run


def test_spool_bound_while_down(tmp_path, receiver):
    receiver.stop()
    cfg, log = make_cfg(tmp_path, receiver.url, "--spool-max-files", "3", "--timeout", "1")
    agent = Agent(cfg)
    (coll,) = agent.collectors
    for n in range(1, 9):
        with open(log, "a") as f:
            f.write(gc_line(n))
        agent.collect(coll)
    assert len(agent.spool.entries()) == 3 and agent.spool.dropped == 5
    receiver.restart()
    agent.flush()
    assert [r["body"] for r in receiver.delivered()] == [gc_line(n).encode() for n in (6, 7, 8)]


def test_dry_run_prints_and_sends_nothing(tmp_path):
    log = tmp_path / "app.log"
    log.write_text("starting\n" + gc_line(1) + gc_line(2))
    out = io.StringIO()
    rc = main(["--dry-run", "--once", "--gctrace-file", str(log), "--spool-dir", str(tmp_path / "sp"),
               "--token", "super-secret", "--label", "team=core"], {}, out=out)
    text = out.getvalue()
    assert rc == 0
    assert "POST https://<server>/api/v1/uploads/?instance=" in text and "kind=gctrace" in text
    assert "label.team=core" in text and "Content-Encoding: gzip" in text
    assert "| gc 1 @1.0s" in text and "starting" not in text  # app log lines filtered out
    assert "super-secret" not in text and "Bearer ***" in text
    assert not (tmp_path / "sp" / "queue").exists()  # nothing spooled
    assert not (tmp_path / "sp" / "gctrace-state.json").exists()  # offsets not advanced


def test_gctrace_tail_offsets_partial_lines_rotation_truncation(tmp_path):
    log = tmp_path / "app.log"
    cfg = load_config(["--dry-run", "--gctrace-file", str(log), "--spool-dir", str(tmp_path)], {})
    state = str(tmp_path / "state.json")

    def collect(c):
        arts = c.collect()
        for a in arts:
            a.commit()
        return b"".join(a.body for a in arts)

    c = GctraceCollector(cfg, Shared(), state)
    assert collect(c) == b""  # file not there yet
    log.write_text(gc_line(1) + "app says hi\n" + gc_line(2)[:20])  # last line half-written
    assert collect(c) == gc_line(1).encode()
    with open(log, "a") as f:
        f.write(gc_line(2)[20:] + gc_line(3))
    assert collect(c) == (gc_line(2) + gc_line(3)).encode()
    # A restarted agent resumes at the saved offset.
    c = GctraceCollector(cfg, Shared(), state)
    assert collect(c) == b""
    # Rename rotation: the rest of the old file is read, then the new one.
    with open(log, "a") as f:
        f.write(gc_line(4))
    os.rename(log, str(log) + ".1")
    log.write_text(gc_line(5))
    assert collect(c) == (gc_line(4) + gc_line(5)).encode()
    # copytruncate: size shrinks below the offset -> start over.
    log.write_text(gc_line(6))
    assert collect(c) == gc_line(6).encode()


def test_gctrace_commit_only_after_spooling(tmp_path):
    log = tmp_path / "app.log"
    log.write_text(gc_line(1))
    cfg = load_config(["--dry-run", "--gctrace-file", str(log), "--spool-dir", str(tmp_path)], {})
    c = GctraceCollector(cfg, Shared(), str(tmp_path / "state.json"))
    assert c.collect()[0].body == gc_line(1).encode()
    # Not committed (e.g. the spool write failed): the same lines come again.
    assert c.collect()[0].body == gc_line(1).encode()


def test_cgroup_v2_and_v1(tmp_path):
    v2 = tmp_path / "v2"
    (v2 / "system.slice" / "svc.service").mkdir(parents=True)
    (v2 / "cgroup.controllers").write_text("cpu memory\n")
    own = v2 / "system.slice" / "svc.service"
    (own / "memory.max").write_text("268435456\n")
    (own / "cpu.max").write_text("150000 100000")
    proc = tmp_path / "cgroup"
    proc.write_text("0::/system.slice/svc.service\n")
    body = cgroup_snapshot(str(v2), str(proc)).decode()
    assert f"==> {own}/memory.max <==\n268435456\n" in body
    assert f"==> {own}/cpu.max <==\n150000 100000\n" in body  # newline added

    v1 = tmp_path / "v1"
    (v1 / "memory").mkdir(parents=True)
    (v1 / "cpu").mkdir()
    (v1 / "memory" / "memory.limit_in_bytes").write_text("536870912\n")
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("50000\n")
    (v1 / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    body = cgroup_snapshot(str(v1), str(tmp_path / "missing")).decode()
    assert "memory.limit_in_bytes <==\n536870912" in body and "cpu.cfs_quota_us <==\n50000" in body
    assert cgroup_snapshot(str(tmp_path / "nothing"), str(proc)) == b""


def test_declared_limits_from_downward_api(tmp_path):
    # resourceFieldRef env of the app container: bytes and millicores.
    cfg = load_config(["--dry-run", "--spool-dir", str(tmp_path)],
                      {"GOTRIAGE_MEMORY_LIMIT": "536870912", "GOTRIAGE_CPU_LIMIT_MILLICORES": "500"})
    agent = Agent(cfg, out=io.StringIO())
    (coll,) = agent.collectors
    (art,) = coll.collect()
    assert art.kind == "cgroup" and art.body == b"memory_limit: 536870912\ncpu_limit: 0.5\n"
    cfg = load_config(["--dry-run", "--spool-dir", str(tmp_path), "--memory-limit", "512Mi",
                       "--cpu-limit", "1500m"], {})
    assert (cfg.memory_limit, cfg.cpu_limit) == (512 << 20, 1.5)


def test_duplicate_200_counts_as_delivered(tmp_path, receiver):
    # At-least-once: an entry re-sent after a crash between 2xx and removal
    # gets 200 "duplicate" from the server and must leave the spool.
    receiver.statuses[:] = [200]
    cfg, log = make_cfg(tmp_path, receiver.url, "--once")
    log.write_text(gc_line(1))
    assert Agent(cfg).run_once(sleep=lambda s: None) == 0
    assert not os.listdir(tmp_path / "spool" / "queue")


def test_daemon_uploads_and_stops_cleanly_on_sigterm(tmp_path, receiver):
    import signal
    import subprocess
    import sys

    import leakyharness as lh

    log = tmp_path / "app.log"
    log.write_text(gc_line(1))
    env = dict(os.environ, PYTHONPATH=str(lh.AGENT_DIR), GOTRIAGE_TOKEN="tok")
    p = subprocess.Popen([sys.executable, "-m", "gotriage_agent", "--server", receiver.url,
                          "--gctrace-file", str(log), "--spool-dir", str(tmp_path / "spool"),
                          "--interval", "gctrace=0.2"], env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 10
        while not receiver.delivered() and time.time() < deadline:
            time.sleep(0.05)
        with open(log, "a") as f:
            f.write(gc_line(2))
        while len(receiver.delivered()) < 2 and time.time() < deadline:
            time.sleep(0.05)
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 0, err
    assert [r["body"] for r in receiver.delivered()] == [gc_line(1).encode(), gc_line(2).encode()]
    assert "uploaded gctrace" in err and "stopping" in err
