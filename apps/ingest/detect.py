"""Kind detection: sniff an artefact's first bytes without parsing it fully.

The worker's parser is the authority; this only decides which pipeline branch
an upload takes and turns obvious garbage away at the door (400) with the line
that made no sense, so agents see their mistake at once.
"""
from __future__ import annotations

import json
import re

from .models import Kind

HEAD_BYTES = 64 * 1024
CHECK_LINES = 400  # structure of a text dump is checked this far, no further

EXPECTED = (
    "expected a goroutine dump (debug=2 or a panic/SIGQUIT/test-timeout traceback), "
    "a goroutine profile (debug=1, pprof protobuf, goroutineleak), or runtime data "
    "(expvar JSON, runtime/metrics JSON, Prometheus text, gctrace log, cgroup limits)"
)

_GOROUTINE_HEADER = re.compile(r"^goroutine \d+ (gp=\S+ m=\S+ (mp=\S+ )?)?\[[^\]]*\]:\s*$")
_GCTRACE = re.compile(r"^gc \d+ @[\d.]+s \d+%")
_PROM_LINE = re.compile(r"^(# (HELP|TYPE) \w+|[a-zA-Z_:][\w:]*(\{.*\})?\s+\S+)")
_CGROUP_KEYS = re.compile(r"^(==> )?\S*(memory|cpu|cpuset)\.[a-z_.]+|^\s*(limits?\.)?(memory[_ .-]?limit|cpu[_ .-]?limit|memory[_ .-]?current)\s*[:=]", re.I)
# Lines a text traceback may contain besides frames.
_DUMP_NOISE = re.compile(
    r"^(panic: |fatal error: |SIGQUIT|PC=|signal |\[signal |goroutine \d+ |created by |\.\.\.|"
    r"exit status|FAIL|ok |=== |--- |\s|rax |rbx |rcx |rdx |rdi |rsi |rbp |rsp |r\d+ |rip |rflags |cs |fs |gs |"
    r"runtime: |\[recovered\]|running tests:|\s*Test|unexpected |m=|.*\(\)$)"
)
_FRAME_FUNC = re.compile(r"^[\w./*()\[\]{}\-~%:,$ ]+\(.*\)(\s+\S+)?\s*$")


class DetectError(ValueError):
    def __init__(self, message: str, line: int | None = None, unrecognised: bool = False):
        self.message = message
        self.line = line
        # True when the content matched no known shape (as opposed to a known shape, broken)
        self.unrecognised = unrecognised
        super().__init__(message)


def _is_binary(head: bytes) -> bool:
    sample = head[:512]
    return any(b < 9 or (13 < b < 32) for b in sample)


def detect(data: bytes, declared: str | None = None) -> str:
    """Return a Kind value for decompressed `data`, or raise DetectError.

    With `declared`, only check it is a known kind and that the content is not
    plainly of the other family (a dump sent as runtime data or vice versa).
    """
    if declared:
        if declared not in Kind.values:
            raise DetectError(f"unknown kind {declared!r}; expected one of {', '.join(Kind.values)}")
    head = data[:HEAD_BYTES]
    if not head.strip():
        raise DetectError("empty upload; " + EXPECTED)
    if _is_binary(head):
        # pprof protobufs name their sample type in the string table.
        kind = Kind.GOROUTINELEAK if b"goroutineleak" in head else Kind.GOROUTINE_PROTO
        if b"goroutine" not in head and b"count" not in head:
            raise DetectError("binary content that is not a pprof goroutine profile; " + EXPECTED)
        return declared or kind
    text = head.decode("utf-8", "replace").lstrip("\ufeff")
    try:
        kind = _sniff_text(text, data)
    except DetectError as exc:
        if declared and exc.unrecognised:
            return declared  # a shape this sniffer does not know: the parser decides
        raise
    if declared and declared != kind and not _compatible(declared, kind):
        raise DetectError(f"kind={declared} was given but the content looks like {kind}; " + EXPECTED)
    return declared or kind


def _compatible(declared: str, sniffed: str) -> bool:
    goroutine = Kind.goroutine_kinds()
    return (declared in goroutine) == (sniffed in goroutine)


def _sniff_text(text: str, data: bytes) -> str:
    lines = text.splitlines()
    first_idx, first = next(((i, ln.strip()) for i, ln in enumerate(lines) if ln.strip()), (0, ""))
    if first.startswith("goroutine profile: total"):
        return Kind.GOROUTINE_DEBUG1
    if first.startswith("goroutineleak profile: total"):
        return Kind.GOROUTINELEAK
    if first.startswith("{") or first.startswith("["):
        return _sniff_json(data)
    if any(_GOROUTINE_HEADER.match(ln) for ln in lines[:5000]):
        _check_dump_structure(lines)
        return Kind.GOROUTINE_DEBUG2
    if _GCTRACE.match(first) or sum(1 for ln in lines[:200] if _GCTRACE.match(ln)) >= 1:
        return Kind.GCTRACE
    if _CGROUP_KEYS.match(first):
        return Kind.CGROUP
    if first.startswith("# HELP") or first.startswith("# TYPE"):
        return Kind.PROMETHEUS
    if all(_PROM_LINE.match(ln) for ln in lines[:50] if ln.strip()) and "go_" in text:
        return Kind.PROMETHEUS
    raise DetectError(f"unrecognised content starting {first[:60]!r}; " + EXPECTED, line=first_idx + 1, unrecognised=True)


def _sniff_json(data: bytes) -> str:
    text = data.decode("utf-8", "replace").strip()
    try:
        json.loads(text)
    except (ValueError, RecursionError) as exc:
        # JSON Lines (one snapshot per line) is accepted too; report the first bad line.
        for number, line in enumerate(text.splitlines(), start=1):
            line = line.strip().rstrip(",")
            if not line or line in ("[", "]"):
                continue
            try:
                json.loads(line)
            except (ValueError, RecursionError) as line_exc:
                raise DetectError(
                    f"invalid JSON ({getattr(line_exc, 'msg', line_exc)}); expected expvar, runtime/metrics or cgroup JSON",
                    line=getattr(exc, "lineno", None) or number,
                ) from None
    head = text[:HEAD_BYTES]
    if '"memstats"' in head or '"MemStats"' in head or '"HeapAlloc"' in head or '"mem_stats"' in head:
        return Kind.EXPVAR
    if re.search(r'"/(gc|memory|sched|cpu|godebug)/[^"]*:', head):
        return Kind.RUNTIME_METRICS
    if re.search(r'"(memory|cpu|cpuset)\.[a-z_]+"', head):
        return Kind.CGROUP
    raise DetectError("JSON without memstats, runtime/metrics or cgroup keys; expected expvar, runtime/metrics or cgroup JSON", line=1, unrecognised=True)


def _check_dump_structure(lines: list[str]) -> None:
    """After the first goroutine header every line must look like part of a traceback."""
    started = False
    for number, raw in enumerate(lines[:CHECK_LINES], start=1):
        line = raw.rstrip("\r")
        if not started:
            started = bool(_GOROUTINE_HEADER.match(line))
            continue
        if not line.strip() or _GOROUTINE_HEADER.match(line) or _DUMP_NOISE.match(line) or _FRAME_FUNC.match(line):
            continue
        raise DetectError(f"line does not belong in a goroutine dump: {line[:80]!r}", line=number)
