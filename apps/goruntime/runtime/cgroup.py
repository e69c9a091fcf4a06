"""Container facts: cgroup v2 / v1 files, or plain numbers.

Accepted shapes: the content of one file (with its name given), `grep .
/sys/fs/cgroup/memory.* cpu.max` output (`path:value`), `head` output
(`==> path <==` blocks), JSON {"memory.max": "...", ...}, or plain
`memory_limit: 512Mi` / `cpu_limit: 500m` lines (Kubernetes quantities).
"""
from __future__ import annotations

import json
import re

from ..common import ParseError
from .model import ContainerLimits
from .sizes import parse_size

# Values at or above this mean "no limit" (v1 prints MaxInt64 rounded down to a page).
NO_LIMIT = 1 << 62

_FILES = ("memory.max", "memory.high", "memory.current", "memory.stat", "memory.events", "memory.peak",
          "memory.swap.max", "memory.limit_in_bytes", "memory.usage_in_bytes", "memory.max_usage_in_bytes",
          "memory.soft_limit_in_bytes", "cpu.max", "cpu.stat", "cpu.cfs_quota_us", "cpu.cfs_period_us",
          "cpu.weight", "cpu.shares", "cpuset.cpus.effective", "cpuset.cpus", "memory.oom_control")
_FILE_RE = re.compile(r"((?:memory|cpu|cpuset)\.[a-z_.]+?)(?=$|[:\s<=])")
_HEAD_RE = re.compile(r"^==> (.+?) <==$")
_GREP_RE = re.compile(r"^(\S*?(?:memory|cpu|cpuset)\.[a-z_.]+):(.*)$")
_PLAIN_RE = re.compile(
    r"^\s*(?:limits?\.)?(memory[_ .-]?limit(?:_bytes)?|mem(?:ory)?|memory_request|cpu[_ .-]?limit|cpus?|"
    r"memory[_ .-]?current|memory[_ .-]?usage|cpu[_ .-]?count)\s*[:=]\s*\"?([^\"#]+?)\"?\s*(?:#.*)?$",
    re.I,
)
_CPU_RE = re.compile(r"^\s*(max|-?\d+)\s+(\d+)\s*$")


def looks_like_cgroup(text: str, name: str | None = None) -> bool:
    if name and any(name.endswith(f) for f in _FILES):
        return True
    head = text[:20000]
    if any(f in head for f in ("memory.max", "memory.limit_in_bytes", "cpu.max", "cpu.cfs_quota_us",
                               "memory.current", "memory.stat")):
        return True
    lines = [ln for ln in head.splitlines() if ln.strip()]
    if lines and all(_PLAIN_RE.match(ln) for ln in lines[:20]):
        return True
    if len(lines) == 1 and (_CPU_RE.match(lines[0]) or lines[0].strip() == "max"):
        return True
    return False


def _basename(p: str) -> str:
    m = _FILE_RE.search(p.rsplit("/", 1)[-1])
    return m.group(1) if m else p.rsplit("/", 1)[-1]


def _collect(text: str, name: str | None) -> tuple[dict, dict]:
    files: dict[str, list[str]] = {}
    plain: dict[str, str] = {}
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            d = json.loads(stripped)
        except ValueError:
            d = None
        if isinstance(d, dict):
            for k, v in d.items():
                k2 = _basename(str(k))
                if k2 in _FILES:
                    files[k2] = str(v).splitlines() if not isinstance(v, dict) else [f"{a} {b}" for a, b in v.items()]
                else:
                    plain[str(k)] = str(v)
            return files, plain
    cur = _basename(name) if name and _basename(name) in _FILES else None
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line.strip():
            continue
        m = _HEAD_RE.match(line.strip())
        if m:
            cur = _basename(m.group(1))
            continue
        m = _GREP_RE.match(line.strip())
        if m and _basename(m.group(1)) in _FILES:
            files.setdefault(_basename(m.group(1)), []).append(m.group(2).strip())
            continue
        m = _PLAIN_RE.match(line)
        if m and cur is None:
            plain[m.group(1)] = m.group(2).strip()
            continue
        if cur is not None:
            files.setdefault(cur, []).append(line.strip())
        else:
            files.setdefault("?", []).append(line.strip())
    return files, plain


def _kv(lines: list[str]) -> dict[str, int]:
    out = {}
    for ln in lines:
        parts = ln.split()
        if len(parts) == 2:
            try:
                out[parts[0]] = int(parts[1])
            except ValueError:
                pass
    return out


def _mem_value(lines: list[str]) -> tuple[bool, int | None]:
    """(present, bytes or None for no limit)."""
    if not lines:
        return False, None
    v = lines[0].strip()
    if v in ("max", "-1", ""):
        return True, None
    try:
        n = parse_size(v)
    except ParseError:
        return False, None
    return True, (None if n >= NO_LIMIT else n)


def parse_cpu_quantity(v: str) -> float | None:
    """Kubernetes CPU quantity: "2", "1.5", "500m"; "max"/"none" -> None."""
    s = str(v).strip().strip('"')
    if s.lower() in ("max", "none", "", "-1", "unlimited"):
        return None
    try:
        if s.endswith("m"):
            x = float(s[:-1]) / 1000.0
        else:
            x = float(s)
    except ValueError:
        raise ParseError(f"not a CPU quantity: {s[:40]!r} (expected e.g. 2, 1.5, 500m)") from None
    if not (x > 0) or x != x or x > 1e6:
        raise ParseError(f"CPU limit out of range: {s[:40]!r}")
    return x


def _cpuset_count(s: str) -> int | None:
    n = 0
    try:
        for part in s.split(","):
            part = part.strip()
            if not part:
                continue
            if "-" in part:
                a, b = part.split("-", 1)
                n += int(b) - int(a) + 1
            else:
                int(part)
                n += 1
    except ValueError:
        return None
    return n or None


def parse_cgroup(text: str, name: str | None = None) -> ContainerLimits:
    files, plain = _collect(text, name)
    lim = ContainerLimits(source="cgroup")
    unknown = files.pop("?", None)
    if unknown and not files and not plain:
        # A bare value without a file name: "max 100000" is cpu.max, one number is memory.max.
        if len(unknown) == 1 and _CPU_RE.match(unknown[0]):
            files["cpu.max"] = unknown
        elif len(unknown) == 1:
            files["memory.max"] = unknown
        elif len(_kv(unknown)) >= 3:
            files["memory.stat"] = unknown
    got = False
    if "memory.max" in files:
        present, v = _mem_value(files["memory.max"])
        if present:
            lim.memory_limit, lim.cgroup_version, got = v, 2, True
    if "memory.limit_in_bytes" in files:
        present, v = _mem_value(files["memory.limit_in_bytes"])
        if present:
            lim.cgroup_version = lim.cgroup_version or 1
            got = True
            if v is not None:
                lim.memory_limit = v if lim.memory_limit is None else min(lim.memory_limit, v)
    if "memory.high" in files:
        lim.memory_high = _mem_value(files["memory.high"])[1]
    for f in ("memory.current", "memory.usage_in_bytes"):
        if f in files:
            present, v = _mem_value(files[f])
            if present and v is not None:
                lim.memory_current, got = v, True
                break
    if "memory.peak" in files or "memory.max_usage_in_bytes" in files:
        lim.extra["memory_peak"] = _mem_value(files.get("memory.peak") or files.get("memory.max_usage_in_bytes"))[1]
    if "memory.stat" in files:
        st = _kv(files["memory.stat"])
        lim.memory_stat = st
        got = got or bool(st)
        lim.inactive_file = st.get("inactive_file", st.get("total_inactive_file"))
        h = st.get("hierarchical_memory_limit")
        if h is not None and h < NO_LIMIT:
            lim.memory_limit = h if lim.memory_limit is None else min(lim.memory_limit, h)
    if "memory.events" in files:
        ev = _kv(files["memory.events"])
        lim.oom_kills = ev.get("oom_kill")
        lim.extra["memory_events"] = ev
    if "cpu.max" in files and files["cpu.max"]:
        m = _CPU_RE.match(files["cpu.max"][0])
        if m:
            got = True
            lim.cgroup_version = lim.cgroup_version or 2
            period = int(m.group(2))
            lim.cpu_period_us = period
            if m.group(1) != "max" and int(m.group(1)) > 0 and period > 0:
                lim.cpu_quota_us = int(m.group(1))
                lim.cpu_limit = lim.cpu_quota_us / period
    if "cpu.cfs_quota_us" in files and files["cpu.cfs_quota_us"]:
        try:
            q = int(files["cpu.cfs_quota_us"][0])
            p = int((files.get("cpu.cfs_period_us") or ["100000"])[0])
        except ValueError:
            q, p = -1, 100000
        got = True
        lim.cgroup_version = lim.cgroup_version or 1
        lim.cpu_period_us = p
        if q > 0 and p > 0:
            lim.cpu_quota_us = q
            lim.cpu_limit = q / p
    if "cpu.stat" in files:
        st = _kv(files["cpu.stat"])
        lim.nr_throttled = st.get("nr_throttled")
        lim.extra["cpu_stat"] = st
    for f in ("cpuset.cpus.effective", "cpuset.cpus"):
        if f in files and files[f]:
            lim.cpus = _cpuset_count(files[f][0])
            got = got or lim.cpus is not None
            break
    for k, v in plain.items():
        key = re.sub(r"[^a-z]", "", k.lower())
        try:
            if key in ("memorylimit", "memorylimitbytes", "mem", "memory"):
                lim.memory_limit = None if v.strip().lower() in ("max", "none", "unlimited", "-1") else parse_size(v)
                got = True
            elif key in ("cpulimit", "cpu", "cpus"):
                lim.cpu_limit = parse_cpu_quantity(v)
                got = True
            elif key in ("memorycurrent", "memoryusage"):
                lim.memory_current = parse_size(v)
                got = True
            elif key == "cpucount":
                lim.cpus = int(float(v))
                got = True
        except (ParseError, ValueError) as exc:
            raise ParseError(f"container facts: bad value for {k}: {exc}") from None
    if plain and not files:
        lim.source = "plain"
    if not got:
        raise ParseError("no cgroup memory/cpu values recognised (expected memory.max, cpu.max, "
                         "memory.limit_in_bytes, cpu.cfs_quota_us or memory_limit/cpu_limit lines)")
    lim.extra["files"] = sorted(files)
    return lim
