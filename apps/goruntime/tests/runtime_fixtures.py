"""Fixture helpers for the runtime-engine tests (real captures in ../shared)."""
from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path

import pytest

from apps.goruntime.runtime import parse_runtime
from apps.goruntime.runtime.timeutil import parse_time

REPO = Path(__file__).resolve().parents[3]
SHARED = Path(os.environ.get("GOTRIAGE_SHARED", REPO.parent / "shared"))
REAL_GO = SHARED / "fixtures" / "real-go"

requires_fixtures = pytest.mark.skipif(not (REAL_GO / "MANIFEST.json").exists(),
                                       reason=f"shared fixtures not found at {REAL_GO}")


@lru_cache(maxsize=1)
def manifest() -> dict:
    return json.loads((REAL_GO / "MANIFEST.json").read_text())


def runs(scenarios: tuple[str, ...] | None = None) -> list[dict]:
    if not (REAL_GO / "MANIFEST.json").exists():
        return []
    return [r for r in manifest()["runs"] if scenarios is None or r["scenario"] in scenarios]


def run_dir(run: dict) -> Path:
    return REAL_GO / run["dir"]


@lru_cache(maxsize=None)
def _load(run_id: str):
    run = next(r for r in manifest()["runs"] if r["run_id"] == run_id)
    d = run_dir(run)
    expvar, metrics = [], []
    for s in run["samples"]:
        for kind, f in s["files"].items():
            if kind not in ("expvar", "runtime_metrics"):
                continue
            p = d / f["file"]
            if not p.exists() and (d / (f["file"] + ".gz")).exists():
                p = d / (f["file"] + ".gz")
            rd = parse_runtime(p.read_bytes(), name=p.name, captured_at=parse_time(f["timestamp"]))
            for smp in rd.samples:
                if s.get("rss_kb") is not None:
                    smp.rss = s["rss_kb"] * 1024
            (expvar if kind == "expvar" else metrics).extend(rd.samples)
    cycles = []
    g = run.get("run_files", {}).get("gctrace")
    if g and (d / g["file"]).exists():
        cycles = parse_runtime((d / g["file"]).read_bytes(), name=g["file"]).gc_cycles
    return expvar, metrics, cycles


def load_run(run: dict):
    """(expvar samples, runtime_metrics samples, gctrace cycles) with capture timestamps and RSS."""
    return _load(run["run_id"])


def started_at(run: dict) -> float:
    return parse_time(run["started_at"])


def runtime_files(run: dict) -> list[Path]:
    """Every runtime-engine input of a run (expvar, runtime_metrics, gctrace)."""
    d = run_dir(run)
    out = []
    for s in run["samples"]:
        for kind, f in s["files"].items():
            if kind in ("expvar", "runtime_metrics"):
                out.append(d / f["file"])
    g = run.get("run_files", {}).get("gctrace")
    if g:
        out.append(d / g["file"])
    return out


def workload_key(run: dict) -> tuple:
    """Runs with equal keys ran the same program with the same arguments (only env/affinity differ)."""
    cmd = [x for x in run["cmd"]]
    if cmd and cmd[0] == "taskset":
        cmd = cmd[3:]
    out, skip = [], False
    for x in cmd[1:]:
        if skip:
            skip = False
            continue
        if x == "-addr":
            skip = True
            continue
        out.append(x)
    return (run["go_version"], tuple(out), bool(run.get("leakprofile_fetched")))
