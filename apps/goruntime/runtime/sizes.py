"""Byte sizes: lenient parsing of what people type, strict output of what Go accepts.

Go's GOMEMLIMIT parser (runtime.parseByteCount) takes only a non-negative
integer with an optional B, KiB, MiB, GiB or TiB suffix; anything else
("512Mi", "512MB", "1.5GiB") kills the process at start. parse_size is the
opposite: it accepts the spellings found in Kubernetes manifests, Docker
flags and cgroup files, so users can paste whatever they have.
"""
from __future__ import annotations

import math
import re

from ..common import ParseError

MAX_INT64 = (1 << 63) - 1

_BIN = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50, "e": 1 << 60}
_DEC = {"k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12, "p": 10**15, "e": 10**18}

_SIZE_RE = re.compile(r"^\s*([+]?\d+(?:\.\d*)?|\.\d+)(?:[eE]([+-]?\d+))?\s*([A-Za-z]*)\s*$")


def parse_size(value: str | int | float) -> int:
    """Parse a byte size: 536870912, 512MiB, 512Mi, 1Gi, 512MB, 512M, 0.5GiB, 512m (Docker).

    Binary prefixes (Ki, KiB, Mi, MiB, ...) are powers of 1024; decimal ones
    (k, KB, M, MB, G, GB, ...) are powers of 1000 as in Kubernetes. A lone
    lower-case "m"/"g"/"t" is taken the Docker way (binary), because
    Kubernetes' milli-bytes make no sense for a memory size.
    """
    if isinstance(value, bool):
        raise ParseError(f"not a size: {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise ParseError(f"negative size: {value}")
        return value
    if isinstance(value, float):
        if not math.isfinite(value) or value < 0:
            raise ParseError(f"not a size: {value!r}")
        return int(value)
    if not isinstance(value, str):
        raise ParseError(f"not a size: {value!r}")
    m = _SIZE_RE.match(value)
    if not m:
        raise ParseError(f"not a size: {value.strip()[:40]!r} (expected e.g. 536870912, 512MiB, 1Gi)")
    num_s, exp_s, unit = m.groups()
    try:
        num = float(num_s) * (10 ** int(exp_s) if exp_s else 1)
    except (OverflowError, ValueError):
        raise ParseError(f"size out of range: {value.strip()[:40]!r}") from None
    mult = _unit_multiplier(unit, value)
    if "." not in num_s and not exp_s:
        n = int(num_s) * mult  # exact for integers: no float rounding on big values
    else:
        if not math.isfinite(num * mult):
            raise ParseError(f"size out of range: {value.strip()[:40]!r}")
        n = int(num * mult)
    if n > MAX_INT64:
        raise ParseError(f"size out of range: {value.strip()[:40]!r}")
    return n


def _unit_multiplier(unit: str, original: str) -> int:
    if unit in ("", "B", "b"):
        return 1
    u = unit
    if u.endswith("iB") or u.endswith("ib"):
        u = u[:-2] + "i"
    if len(u) == 2 and u[1] in "iI":
        p = u[0].lower()
        if p in _BIN:
            return _BIN[p]
    elif len(u) == 1:
        if u in "mgt":  # Docker-style 512m / 2g
            return _BIN[u]
        if u.lower() in _DEC:
            return _DEC[u.lower()]
    elif len(u) == 2 and u[1] in "bB":
        p = u[0].lower()
        if p in _DEC:
            return _DEC[p]
    raise ParseError(f"unknown size unit {unit!r} in {original.strip()[:40]!r}")


_GO_UNITS = (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10))


def format_go_size(n: int) -> str:
    """Format bytes exactly the way Go's GOMEMLIMIT parser accepts them.

    Uses the largest binary unit that divides n exactly, else a bare integer;
    never a decimal point, never "Mi" or "MB".
    """
    if isinstance(n, bool) or not isinstance(n, int):
        if isinstance(n, float) and n.is_integer():
            n = int(n)
        else:
            raise ValueError(f"GOMEMLIMIT needs an integer number of bytes, got {n!r}")
    if n < 0 or n > MAX_INT64:
        raise ValueError(f"GOMEMLIMIT out of range: {n}")
    if n == 0:
        return "0"
    for suffix, mult in _GO_UNITS:
        if n % mult == 0:
            return f"{n // mult}{suffix}"
    return str(n)


_GO_SIZE_RE = re.compile(r"^(\d+)(B|KiB|MiB|GiB|TiB)?$")


def parse_go_size(s: str) -> int | None:
    """Mirror of Go's parseByteCount: the value in bytes, or None when Go would reject it."""
    m = _GO_SIZE_RE.match(s)
    if not m:
        return None
    mult = {None: 1, "B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40}[m.group(2)]
    digits = int(m.group(1))
    if digits > MAX_INT64:
        return None
    n = digits * mult
    return n if n <= MAX_INT64 else None


def floor_mib(n: float) -> int:
    """Round down to whole MiB (at least 1 MiB) so the value prints as NMiB."""
    return max(1 << 20, int(n) // (1 << 20) * (1 << 20))


def human(n: float | int | None) -> str:
    """Readable size for rationale sentences (not for Go)."""
    if n is None:
        return "unknown"
    n = float(n)
    sign = "-" if n < 0 else ""
    n = abs(n)
    for unit, mult in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= mult:
            return f"{sign}{n / mult:.1f} {unit}"
    return f"{sign}{int(n)} B"
