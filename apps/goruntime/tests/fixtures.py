"""Locate the shared real-Go fixtures (../shared beside the checkout, or $GOTRIAGE_SHARED)."""
from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
SHARED = Path(os.environ.get("GOTRIAGE_SHARED", REPO.parent / "shared"))
REAL_GO = SHARED / "fixtures" / "real-go"

GOROUTINE_KINDS = ("goroutine_debug2", "goroutine_debug1", "goroutine_proto",
                   "goroutineleak_debug1", "goroutineleak_debug2", "goroutineleak_proto")


@lru_cache(maxsize=1)
def manifest() -> dict:
    with open(REAL_GO / "MANIFEST.json") as fh:
        return json.load(fh)


def available() -> bool:
    return (REAL_GO / "MANIFEST.json").is_file()


def run_file(run: dict, name: str) -> Path:
    return REAL_GO / run["dir"] / name


def sample_path(run: dict, index: int, kind: str) -> Path | None:
    f = run["samples"][index]["files"].get(kind)
    return run_file(run, f["file"]) if f else None


def read(path: Path) -> bytes:
    return path.read_bytes()


def ground_truth_sites(run_or_gt_id) -> list[dict]:
    gid = run_or_gt_id["ground_truth_id"] if isinstance(run_or_gt_id, dict) else run_or_gt_id
    return manifest()["ground_truth"][gid]["sites"]


def site_matches(site: dict, gt: dict) -> bool:
    """Function and file:line as printed by that build."""
    return site["function"] == gt["block_func"] and \
        f"{site['file']}:{site['line']}" == gt["block_at"]
