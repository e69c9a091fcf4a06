"""Data types of the goroutine engine (plain classes, no behaviour beyond derivation).

Frames are interned by the parsers, so two goroutines with the same stack share
Frame objects and even the same frames tuple; grouping relies on that for speed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import normalize as _n


class Frame:
    """One stack frame: function, file, line (no args, no offsets).

    `function`/`file` are kept as printed (minus arguments); `key_function`,
    `key_file` are the version/build-independent forms used for hashing.
    """

    __slots__ = ("function", "file", "line", "package", "is_stdlib", "is_runtime",
                 "key_function", "key_file", "is_wrapper", "_key")

    def __init__(self, function: str, file: str = "", line: int = 0, **_ignored: Any):
        info = _n.function_info(function)
        self.function = function
        self.file = file or ""
        self.line = int(line or 0)
        self.package = info.package
        self.is_stdlib = info.is_stdlib
        self.is_runtime = info.is_runtime
        self.is_wrapper = info.is_wrapper
        self.key_function = info.key_function
        self.key_file = _n.key_file(info.package, self.file)
        self._key = None

    @property
    def key(self) -> str:
        """Stable text identity: normalised function, package-relative file, line."""
        k = self._key
        if k is None:
            k = self._key = f"{self.key_function}\x00{self.key_file}:{self.line}"
        return k

    def to_dict(self) -> dict:
        return {"function": self.function, "file": self.file, "line": self.line}

    @classmethod
    def from_dict(cls, d: dict | None) -> "Frame | None":
        if not d:
            return None
        return cls(d.get("function", ""), d.get("file", ""), d.get("line", 0))

    def __repr__(self) -> str:
        return f"Frame({self.function!r}, {self.file!r}, {self.line})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Frame) and self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)

    def location(self) -> str:
        return f"{self.file}:{self.line}" if self.file else "?"


class Goroutine:
    """One goroutine of a text traceback."""

    __slots__ = ("id", "state", "wait_reason", "minutes", "locked", "leaked", "scan",
                 "durable", "bubble", "labels", "frames", "created_by", "parent_id",
                 "ancestors", "elided", "unavailable", "header_extra", "line")

    def __init__(self, id: int, state: str, wait_reason: str = "", minutes: int | None = None,
                 frames: tuple = (), created_by: Frame | None = None,
                 parent_id: int | None = None, line: int = 0):
        self.id = id
        self.state = state              # bracket status as printed, without modifiers
        self.wait_reason = wait_reason  # normalised
        self.minutes = minutes
        self.locked = False
        self.leaked = False
        self.scan = False
        self.durable = False
        self.bubble: int | None = None
        self.labels: dict[str, str] | None = None
        self.frames = frames            # tuple[Frame, ...], innermost first
        self.created_by = created_by
        self.parent_id = parent_id
        self.ancestors: list[tuple[int, tuple]] | None = None
        self.elided = False
        self.unavailable = False
        self.header_extra: dict[str, str] | None = None  # gp=, m=, mp=, unknown items
        self.line = line

    def __repr__(self) -> str:
        return f"Goroutine({self.id}, {self.state!r}, frames={len(self.frames)})"


class Record:
    """One aggregated record (debug=1 line group or pprof sample)."""

    __slots__ = ("count", "frames", "labels", "wait_reason", "line")

    def __init__(self, count: int, frames: tuple, labels: dict | None = None,
                 wait_reason: str = "", line: int = 0):
        self.count = count
        self.frames = frames
        self.labels = labels or {}
        self.wait_reason = wait_reason
        self.line = line

    def __repr__(self) -> str:
        return f"Record({self.count}, frames={len(self.frames)}, {self.wait_reason!r})"


@dataclass
class Dump:
    format: str
    go_version: str | None = None
    total: int = 0
    truncated: bool = False
    leak_profile: bool = False
    goroutines: list = field(default_factory=list)
    records: list = field(default_factory=list)
    extra: dict = field(default_factory=dict)
    name: str | None = None
    warnings: list = field(default_factory=list)


@dataclass
class Group:
    signature: str
    frames: list
    created_by: Frame | None
    wait_reason: str
    blocking_key: str
    site: Frame
    creation_key: str | None
    count: int = 0
    leaked: int = 0
    wait_minutes_min: int | None = None
    wait_minutes_max: int | None = None
    labels: dict = field(default_factory=dict)
    pattern: str | None = None
    benign: str | None = None
    # additions (not in the original contract) -------------------------------
    stack_hash: str = ""                 # hash of frames only (same across formats)
    states: dict = field(default_factory=dict)        # raw status -> count
    minutes_hist: dict = field(default_factory=dict)  # minutes -> count
    goroutine_ids: list = field(default_factory=list)  # up to 20 example ids
    id_min: int | None = None
    id_max: int | None = None
    id_spread: float | None = None       # (max-min)/(span of all ids in dump)
    id_density: float | None = None      # count/(max-min+1); ~1 = created in one burst
    distinct_parents: int | None = None
    parent_groups: dict = field(default_factory=dict)  # parent group signature -> n
    rank: float = 0.0                    # in-dump culprit rank (higher = look first)
    site_kind: str = "own"               # "own" | "library" | "stdlib" | "runtime" | "none"

    def to_dict(self) -> dict:
        return {
            "signature": self.signature, "blocking_key": self.blocking_key,
            "creation_key": self.creation_key, "wait_reason": self.wait_reason,
            "count": self.count, "leaked": self.leaked,
            "wait_minutes_min": self.wait_minutes_min,
            "wait_minutes_max": self.wait_minutes_max,
            "site": self.site.to_dict(),
            "created_by": self.created_by.to_dict() if self.created_by else None,
            "frames": [f.to_dict() for f in self.frames],
            "labels": self.labels, "pattern": self.pattern, "benign": self.benign,
            "stack_hash": self.stack_hash, "states": self.states,
            "minutes_hist": {str(k): v for k, v in self.minutes_hist.items()},
            "id_spread": self.id_spread, "id_density": self.id_density,
            "distinct_parents": self.distinct_parents, "rank": self.rank,
        }


@dataclass
class Pattern:
    id: str
    title: str
    why: str
    fix: str


@dataclass
class Benign:
    id: str
    title: str
    why: str


@dataclass
class SiteHistory:
    blocking_key: str
    wait_reason: str
    site: Frame
    created_by: Frame | None = None
    frames: list = field(default_factory=list)
    pattern: str | None = None
    benign: str | None = None
    times: list = field(default_factory=list)
    counts: list = field(default_factory=list)
    totals: list = field(default_factory=list)
    max_wait_minutes: list = field(default_factory=list)
    leaked: list = field(default_factory=list)
    leak_profile_seen: bool = False
    # optional additions: per-snapshot shape of the group (None/absent = unknown)
    id_spread: list = field(default_factory=list)
    id_density: list = field(default_factory=list)
    distinct_parents: list = field(default_factory=list)
    minutes_distinct: list = field(default_factory=list)


@dataclass
class Verdict:
    score: float
    suspect: bool
    evidence: list
    pattern: str | None = None
    benign: str | None = None
