"""Typed records every runtime parser produces."""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any

_MEMSAMPLE_NUMERIC = (
    "at", "heap_alloc", "heap_inuse", "heap_idle", "heap_released", "heap_sys",
    "heap_objects", "next_gc", "sys", "stack_inuse", "stack_sys", "other_runtime",
    "rss", "num_gc", "num_forced_gc", "pause_total_ns", "gc_cpu_fraction",
    "goroutines", "gomaxprocs", "gogc", "gomemlimit", "total_alloc", "mallocs",
    "frees", "live_heap",
)


@dataclass
class MemSample:
    """One point-in-time reading of a Go process's memory/GC state.

    Every field is optional: each source fills what it knows. `at` is unix
    seconds. gogc is -1 for GOGC=off; gomemlimit is None when unset.
    """

    at: float | None = None
    heap_alloc: int | None = None
    heap_inuse: int | None = None
    heap_idle: int | None = None
    heap_released: int | None = None
    heap_sys: int | None = None
    heap_objects: int | None = None
    next_gc: int | None = None
    sys: int | None = None
    stack_inuse: int | None = None
    stack_sys: int | None = None
    other_runtime: int | None = None
    rss: int | None = None
    num_gc: int | None = None
    num_forced_gc: int | None = None
    pause_total_ns: int | None = None
    pauses_ns: list[int] | None = None  # recent per-cycle STW pauses, oldest first, newest = cycle num_gc
    gc_cpu_fraction: float | None = None  # lifetime (since process start)
    goroutines: int | None = None
    gomaxprocs: int | None = None
    gogc: int | None = None
    gomemlimit: int | None = None
    total_alloc: int | None = None
    mallocs: int | None = None
    frees: int | None = None
    live_heap: int | None = None
    # Additions beyond the README contract (all optional):
    source: str | None = None  # "expvar" | "memstats" | "runtime_metrics" | "prometheus"
    at_source: str | None = None  # where `at` came from: "data" | "captured_at" | "last_gc" | None
    scan_stack: int | None = None  # roots the pacer counts (Go 1.18+): stacks ...
    scan_globals: int | None = None  # ... and globals
    gc_cpu_seconds: float | None = None  # cumulative GC CPU (/cpu/classes/gc/total)
    cpu_total_seconds: float | None = None  # cumulative available CPU (/cpu/classes/total)
    limiter_last_enabled: int | None = None  # /gc/limiter/last-enabled:gc-cycle
    last_gc: float | None = None  # unix seconds at end of the last GC
    memory_current: int | None = None  # cgroup charge if the source had it
    extra: dict = field(default_factory=dict)

    @property
    def go_memory(self) -> int | None:
        """What GOMEMLIMIT counts: Sys - HeapReleased."""
        if self.sys is None:
            return None
        return self.sys - (self.heap_released or 0)

    @property
    def non_heap(self) -> int | None:
        """Non-heap runtime memory the limit-based goal subtracts: Sys - HeapIdle - HeapAlloc."""
        if self.sys is None or self.heap_idle is None or self.heap_alloc is None:
            return None
        return max(0, self.sys - self.heap_idle - self.heap_alloc)

    @property
    def roots(self) -> int | None:
        if self.scan_stack is None and self.scan_globals is None:
            return None
        return (self.scan_stack or 0) + (self.scan_globals or 0)

    def to_dict(self) -> dict:
        out: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if v is None or (f.name == "extra" and not v):
                continue
            out[f.name] = _json_safe(v)
        return out

    @classmethod
    def from_dict(cls, d: dict) -> "MemSample":
        names = {f.name for f in fields(cls)}
        kw = {k: v for k, v in (d or {}).items() if k in names}
        extra = dict(kw.get("extra") or {})
        for k, v in (d or {}).items():
            if k not in names:
                extra[k] = v  # keep unknown keys rather than drop them
        kw["extra"] = extra
        if kw.get("pauses_ns") is not None:
            kw["pauses_ns"] = list(kw["pauses_ns"])
        return cls(**kw)


def _json_safe(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {str(k): _json_safe(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_json_safe(x) for x in v]
    return v


@dataclass
class GCCycle:
    """One `gc N @Ts P%: ...` gctrace line.

    Heap numbers are bytes (gctrace prints MiB truncated, so they are
    multiples of 1 MiB): heap_start = heap at GC start, heap_end = heap at
    mark termination, heap_live = live heap marked. `at` is seconds since
    process start unless `at_unix` is set (then `at` is unix seconds).
    """

    num: int
    at: float
    cpu_pct: int
    clock_ms: tuple[float, float, float]  # STW sweep termination, concurrent mark, STW mark termination
    cpu_ms: tuple  # (stw1, assist, background, idle, stw2)
    heap_start: int
    heap_end: int
    heap_live: int
    heap_goal: int
    stacks: int | None
    globals: int | None
    procs: int
    forced: bool = False
    line: int | None = None
    leak_check: bool = False  # Go 1.26+ "(checking for goroutine leaks)"
    t_rel: float | None = None  # seconds since process start, always
    at_unix: bool = False

    @property
    def pause_ns(self) -> int:
        """STW pause of this cycle (both STW phases), like MemStats.PauseNs."""
        return int(round((self.clock_ms[0] + self.clock_ms[2]) * 1e6))

    @property
    def duration_s(self) -> float:
        return sum(self.clock_ms) / 1000.0

    @property
    def gc_cpu_ms(self) -> float:
        """GC CPU of the cycle excluding idle-priority marking (free CPU)."""
        c = self.cpu_ms
        return c[0] + c[1] + c[2] + c[4]

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["clock_ms"] = list(self.clock_ms)
        d["cpu_ms"] = list(self.cpu_ms)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "GCCycle":
        names = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        kw["clock_ms"] = tuple(kw.get("clock_ms") or (0.0, 0.0, 0.0))
        kw["cpu_ms"] = tuple(kw.get("cpu_ms") or (0.0, 0.0, 0.0, 0.0, 0.0))
        return cls(**kw)


@dataclass
class ContainerLimits:
    memory_limit: int | None = None  # bytes; None = no limit ("max")
    memory_current: int | None = None
    cpu_limit: float | None = None  # cores; None = no quota
    source: str = "unknown"
    # Additions:
    cgroup_version: int | None = None
    memory_high: int | None = None
    inactive_file: int | None = None  # for working set = current - inactive_file
    memory_stat: dict = field(default_factory=dict)
    cpu_period_us: int | None = None
    cpu_quota_us: int | None = None
    nr_throttled: int | None = None
    oom_kills: int | None = None
    cpus: int | None = None  # CPUs the process may run on, if known
    extra: dict = field(default_factory=dict)

    @property
    def working_set(self) -> int | None:
        if self.memory_current is None:
            return None
        return max(0, self.memory_current - (self.inactive_file or 0))

    def merge(self, other: "ContainerLimits | None") -> "ContainerLimits":
        """Fill unknown values from `other` (first reading wins; tightest memory limit wins)."""
        if other is None:
            return self
        out = ContainerLimits(**{f.name: getattr(self, f.name) for f in fields(self)})
        for f in fields(self):
            a, b = getattr(out, f.name), getattr(other, f.name)
            if f.name == "memory_limit" and a is not None and b is not None:
                out.memory_limit = min(a, b)
            elif f.name == "cpu_limit" and a is not None and b is not None:
                out.cpu_limit = min(a, b)
            elif f.name in ("memory_stat", "extra"):
                merged = dict(b)
                merged.update(a)
                setattr(out, f.name, merged)
            elif f.name == "source":
                if a in (None, "unknown"):
                    out.source = b
                elif b not in (None, "unknown") and b not in a:
                    out.source = f"{a}+{b}"
            elif a is None:
                setattr(out, f.name, b)
        return out

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        return {k: v for k, v in d.items() if v not in (None, {}, [])}

    @classmethod
    def from_dict(cls, d: dict) -> "ContainerLimits":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (d or {}).items() if k in names})


@dataclass
class RuntimeData:
    kind: str
    samples: list[MemSample] = field(default_factory=list)
    gc_cycles: list[GCCycle] = field(default_factory=list)
    limits: ContainerLimits | None = None
    go_version: str | None = None
    extra: dict = field(default_factory=dict)
