"""Text tracebacks: `goroutine?debug=2`, panics, SIGQUIT/GOTRACEBACK dumps,
`go test -timeout` panics and pastes with log lines around them.

One pass over the lines. Speed comes from interning: each distinct frame
(function + file:line) becomes one Frame object and each distinct stack one
tuple, so 100k goroutines that share a handful of stacks cost a handful of
Frame objects. Anything that is not part of a goroutine block (log lines,
register dumps, `FAIL` lines) is skipped, and a goroutine block ends at the
first line that cannot belong to it.
"""
from __future__ import annotations

import re

from ..common import ParseError
from . import normalize as _n
from .labels import parse_labels
from .model import Dump, Frame, Goroutine

_HEADER_RE = re.compile(
    r"goroutine (\d+)((?: [a-z]+=\S*)*) \[(.*)\](?: (\{.*\}))?:[ \t]*$")
_GOVERSION_RE = re.compile(r"/go(1\.\d+(?:\.\d+)?(?:rc\d+)?)/src/|-go(1\.\d+(?:\.\d+)?)\.[a-z]")
# Go 1.26 moved the heap away from 0xc000000000: pointer arguments like
# 0x1abf76156248 (not 0xc0..., not the 0x7f... mmap range used by netpoll)
_HEAP_126_RE = re.compile(r"[({ ]0x(?!c0|7f)[1-9a-f][0-9a-f]{10,11}[?,)}]")
_TEST_LINE_RE = re.compile(r"^\s+(\S+) \(([^)]*)\)\s*$")
_ORIGIN_RE = re.compile(r"\[originating from goroutine (\d+)\]:")
_MINUTES_RE = re.compile(r"^(\d+) minutes?$")
_BUBBLE_RE = re.compile(r"^synctest bubble (\d+)$")

class _Interner:
    """Shared caches for one parse: frames and stacks are deduplicated."""

    __slots__ = ("frames", "stacks", "reasons")

    def __init__(self):
        self.frames: dict[str, Frame] = {}
        self.stacks: dict[str, tuple] = {}
        self.reasons: dict[tuple, str] = {}

    def frame(self, fn: str, fl: str) -> Frame:
        k = fn + "\x00" + fl
        f = self.frames.get(k)
        if f is None:
            file, _, ln = fl.rpartition(":")
            if not file or not ln.isdigit():
                file, ln = fl, "0"
            f = self.frames[k] = Frame(fn, file, int(ln))
        return f


def _file_part(s: str) -> str:
    """`/a/b.go:12 +0x1f fp=.. sp=.. pc=..` -> `/a/b.go:12` (paths may contain spaces)."""
    i = s.find(" +0x")
    if i < 0:
        i = s.find(" fp=")
    if i >= 0:
        s = s[:i]
    return s.strip()


def _func_part(s: str) -> str:
    """`pkg.(*T).M(0xc0, {0x1?, 0x2?}, ...)` -> `pkg.(*T).M`."""
    s = s.rstrip()
    if s.endswith(")"):
        i = s.rfind("(")
        if i > 0:
            return s[:i]
    return s


def parse_header(line: str, lineno: int) -> Goroutine | None:
    """Parse one `goroutine N ...[...]...:` header; None if it is not one."""
    m = _HEADER_RE.match(line)
    if m is None:
        return None
    gid = int(m.group(1))
    content = m.group(3)
    labels = None
    li = content.find(" labels:{")
    if li < 0 and content.startswith("labels:{"):
        li = 0
    if li >= 0:  # Go 1.26 GODEBUG=tracebacklabels=1: inside the brackets
        labels = parse_labels(content[li:].strip()[len("labels:"):])
        content = content[:li]
    if m.group(4):  # Go 1.27: after the brackets
        labels = parse_labels(m.group(4))
    items = content.split(", ")
    status, flags = _n.parse_status(items[0])
    g = Goroutine(gid, status, line=lineno)
    g.leaked = bool(flags.get("leaked"))
    g.scan = bool(flags.get("scan"))
    g.durable = bool(flags.get("durable"))
    extra = None
    for it in items[1:]:
        it = it.strip()
        mm = _MINUTES_RE.match(it)
        if mm:
            g.minutes = int(mm.group(1))
            continue
        if it == "locked to thread":
            g.locked = True
            continue
        mb = _BUBBLE_RE.match(it)
        if mb:
            g.bubble = int(mb.group(1))
            continue
        it2, fl2 = _n.parse_status(it)
        if fl2.get("leaked"):
            g.leaked = True
        if it2:
            extra = extra or {}
            extra.setdefault("items", []).append(it2)
    if m.group(2):
        extra = extra or {}
        for kv in m.group(2).split():
            k, _, v = kv.partition("=")
            extra[k] = v
    g.header_extra = extra
    if labels:
        g.labels = labels
    return g


def _preamble(lines: list[str], upto: int, extra: dict) -> None:
    """What precedes the first goroutine: panic / test timeout / signal lines."""
    tests = []
    in_tests = False
    for i in range(upto):
        raw = lines[i]
        s = raw.strip()
        if not s:
            continue
        if s.startswith("panic: test timed out after "):
            extra["test_timeout"] = s[len("panic: test timed out after "):]
            extra["kind"] = "test_timeout"
            continue
        if s == "running tests:":
            in_tests = True
            continue
        if in_tests:
            m = _TEST_LINE_RE.match(raw)
            if m:
                tests.append(m.group(1))
                continue
            in_tests = False
        if s.startswith("panic: ") and "panic" not in extra:
            extra["panic"] = s[7:]
            extra.setdefault("kind", "panic")
        elif s.startswith("fatal error: "):
            extra["fatal_error"] = s[13:]
            extra.setdefault("kind", "fatal_error")
        elif s.startswith("SIG") and ": " in s and s.split(":", 1)[0].isupper():
            extra["signal"] = s.split(":", 1)[0]
            extra.setdefault("kind", "signal")
    if tests:
        extra["tests"] = tests


def guess_go_version(text: str) -> tuple[str | None, str | None]:
    """Exact version from toolchain paths if printed, else a lower-bound hint."""
    m = _GOVERSION_RE.search(text, 0, 1 << 20)
    exact = (m.group(1) or m.group(2)) if m else None
    head = text[: 1 << 20]
    hint = None
    if "(leaked)" in head or " labels:{" in head or "] {" in head \
            or _HEAP_126_RE.search(head, 0, 1 << 16):
        hint = ">=1.26"
    elif "internal/sync." in head or "sync.runtime_SemacquireWaitGroup" in head \
            or "[sync.WaitGroup.Wait" in head:
        hint = ">=1.24"
    elif " gp=" in head or "runtime.goexit({})" in head:
        hint = ">=1.22"
    elif " in goroutine " in head:
        hint = ">=1.21"
    return exact, hint


def _parse_lines(lines: list[str], it: _Interner, base: int, at_eof: bool):
    """Line-by-line parser for any chunk of text (pastes, crash dumps, odd
    blocks). Returns (goroutines, truncated, index of first header or -1,
    junk) where junk counts non-blank lines that belonged to no goroutine."""
    n = len(lines)
    goroutines: list[Goroutine] = []
    junk = 0
    frames_get = it.frames.get
    stacks = it.stacks
    first_header = -1
    truncated = False
    header_match = _HEADER_RE.match

    i = 0
    while i < n:
        line = lines[i]
        # fast reject: goroutine headers start with "goroutine " (maybe indented)
        if not line.startswith("goroutine "):
            st = line.lstrip(" \t>")
            if not st.startswith("goroutine ") or header_match(st) is None:
                if st:
                    junk += 1
                i += 1
                continue
            indent = line[: len(line) - len(st)]
            line = st
        else:
            indent = ""
            if not line.endswith(":") and header_match(line) is None:
                junk += 1
                i += 1
                continue
        g = parse_header(line, base + i + 1)
        if g is None:
            junk += 1
            i += 1
            continue
        if first_header < 0:
            first_header = i
        i += 1
        keyparts: list[str] = []
        fnpending = None
        target = keyparts          # frames of the goroutine, or of an ancestor
        ancestors = None
        anc_id = 0
        ended_cleanly = False
        while i < n:
            ln = lines[i]
            if indent:
                if ln.startswith(indent):
                    ln = ln[len(indent):]
                elif ln.strip():
                    break
            if not ln:
                ended_cleanly = True
                i += 1
                break
            c = ln[0]
            if c == "\t" or (c == " " and fnpending is not None and ln.lstrip().startswith("/")):
                if fnpending is None:
                    if ln.lstrip().startswith("goroutine running on other thread"):
                        g.unavailable = True
                    # else: a file line without a function: tolerate, skip
                    i += 1
                    continue
                fl = _file_part(ln)
                target.append(fnpending + "\x00" + fl)
                fnpending = None
                i += 1
                continue
            if fnpending is not None:
                # previous function line had no file line (e.g. cut paste)
                target.append(fnpending + "\x00")
                fnpending = None
            if ln.startswith("created by "):
                rest = ln[11:].rstrip()
                k = rest.rfind(" in goroutine ")
                if k >= 0:
                    tail = rest[k + 14:]
                    if tail.isdigit():
                        g.parent_id = int(tail)
                    rest = rest[:k]
                fl = ""
                if i + 1 < n:
                    nxt = lines[i + 1]
                    if indent and nxt.startswith(indent):
                        nxt = nxt[len(indent):]
                    if nxt.startswith("\t"):
                        fl = _file_part(nxt)
                        i += 1
                ck = rest + "\x00" + fl
                cf = frames_get(ck)
                if cf is None:
                    cf = it.frame(rest, fl)
                if ancestors is not None and target is not keyparts:
                    pass  # ancestor's creator: informative only
                else:
                    g.created_by = cf
                i += 1
                continue
            if c == ".":
                if ln.startswith("...") and ln.rstrip().endswith("elided..."):
                    g.elided = True
                    i += 1
                    continue
            if c == "[":
                m = _ORIGIN_RE.match(ln)
                if m:
                    if ancestors is None:
                        ancestors = []
                    if target is not keyparts:
                        ancestors.append((anc_id, target))
                    anc_id = int(m.group(1))
                    target = []
                    i += 1
                    continue
            if ln.startswith("goroutine running on other thread"):
                g.unavailable = True
                i += 1
                continue
            if ln.startswith("goroutine ") and header_match(ln) is not None:
                break  # next goroutine without a blank line in between
            s = ln.rstrip()
            if s.endswith(")") and "(" in s and " " not in s[: s.find("(")]:
                fnpending = _func_part(s)
                i += 1
                continue
            # anything else ends the block (log line pasted in, register dump...)
            junk += 1
            break
        if fnpending is not None:
            target.append(fnpending + "\x00")
            if i >= n and at_eof:
                truncated = True
        if ancestors is not None and target is not keyparts:
            ancestors.append((anc_id, target))
        skey = "\x01".join(keyparts)
        fr = stacks.get(skey)
        if fr is None:
            fl_list = []
            for kp in keyparts:
                f = frames_get(kp)
                if f is None:
                    fn, _, fl = kp.partition("\x00")
                    f = it.frame(fn, fl)
                fl_list.append(f)
            fr = stacks[skey] = tuple(fl_list)
        g.frames = fr
        if ancestors:
            anc = []
            for aid, parts in ancestors:
                fs = []
                for kp in parts:
                    fn, _, fl = kp.partition("\x00")
                    fs.append(it.frame(fn, fl))
                anc.append((aid, tuple(fs)))
            g.ancestors = anc
        if not fr and not g.unavailable and i >= n and not ended_cleanly and at_eof:
            truncated = True
        rk = (g.state, fr)
        wr = it.reasons.get(rk) if len(fr) < 64 else None
        if wr is None:
            wr = _n.normalise_reason(g.state, fr)
            it.reasons[rk] = wr
        g.wait_reason = wr
        goroutines.append(g)

    return goroutines, truncated, first_header, junk


def _first_nonblank(lines: list[str]) -> int | None:
    for k, ln in enumerate(lines[:1000]):
        if ln.strip():
            return k + 1
    return None


_FP_RE = re.compile(rb" fp=0x[0-9a-f]+ sp=0x[0-9a-f]+ pc=0x[0-9a-f]+")


class _HeaderInfo:
    """Everything a header says except the goroutine id (cached per text)."""

    __slots__ = ("state", "minutes", "locked", "leaked", "scan", "durable", "bubble",
                 "labels", "extra")


def _header_info(g: Goroutine) -> _HeaderInfo:
    h = _HeaderInfo()
    h.state, h.minutes, h.locked, h.leaked = g.state, g.minutes, g.locked, g.leaked
    h.scan, h.durable, h.bubble, h.labels, h.extra = g.scan, g.durable, g.bubble, g.labels, \
        g.header_extra
    return h


class _StackInfo:
    __slots__ = ("frames", "created_by", "cb_index", "elided", "unavailable", "nlines")


def parse_traceback(data: bytes | str, name: str | None = None) -> Dump:
    """Fast driver: blank-line separated blocks; a block whose file lines were
    seen before reuses the parsed stack (file lines carry file:line and the
    PC offset, so they identify the frames; function lines carry arguments,
    which differ per goroutine and are not looked at). Anything unusual goes
    through the line parser."""
    if isinstance(data, str):
        data = data.encode("utf-8", "replace")
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    if b" fp=0x" in data:  # crash dumps: frame/stack pointers differ per goroutine
        data = _FP_RE.sub(b"", data)
    it = _Interner()
    goroutines: list[Goroutine] = []
    append = goroutines.append
    stack_cache: dict[tuple, _StackInfo] = {}
    hcache: dict[bytes, _HeaderInfo] = {}
    reasons = it.reasons
    n = len(data)
    pos = 0
    lineno = 1
    truncated = False
    preamble_lines: list[str] | None = None
    junk = 0
    find = data.find
    while pos < n:
        e = find(b"\n\n", pos)
        if e < 0:
            e = n
        block = data[pos:e]
        blk_line = lineno
        lineno += block.count(b"\n") + 2
        pos = e + 2
        if not block:
            continue
        if not block.startswith(b"goroutine "):
            # preamble, log lines, register dumps, or a paste with indentation
            gs, tr, first, jk = _parse_lines(block.decode("utf-8", "replace").split("\n"), it,
                                             blk_line - 1, e >= n)
            if not goroutines:  # everything before the first goroutine
                preamble_lines = (preamble_lines or []) + block.decode(
                    "utf-8", "replace").split("\n")[: first if first >= 0 else None]
            junk += jk
            truncated = truncated or tr
            goroutines.extend(gs)
            continue
        lines = block.split(b"\n")
        nl = len(lines)
        key = (nl, b"\x00".join(lines[2::2]))
        si = stack_cache.get(key)
        if si is not None and si.cb_index >= 0 and not lines[si.cb_index].startswith(b"created by "):
            si = None
        hdr = lines[0]
        sp = hdr.find(b" ", 10)
        if si is None or sp < 0:
            g = _slow_block(block, blk_line, it, stack_cache, key, e >= n, hcache)
            if g is None:
                gs, tr, first, jk = _parse_lines(block.decode("utf-8", "replace").split("\n"),
                                                 it, blk_line - 1, e >= n)
                truncated = truncated or tr
                junk += jk
                goroutines.extend(gs)
            else:
                if g is True:
                    truncated = True
                    continue
                append(g)
            continue
        rest = hdr[sp:]
        hi = hcache.get(rest)
        try:
            gid = int(hdr[10:sp])
        except ValueError:
            gid = -1
        if hi is None or gid < 0:
            g = parse_header(hdr.decode("utf-8", "replace"), blk_line)
            if g is None:
                gs, tr, first, jk = _parse_lines(block.decode("utf-8", "replace").split("\n"),
                                                 it, blk_line - 1, e >= n)
                goroutines.extend(gs)
                junk += jk
                continue
            if b" gp=" not in rest and len(hcache) < 100_000:
                hcache[rest] = _header_info(g)
        else:
            g = Goroutine(gid, hi.state, "", hi.minutes, (), None, None, blk_line)
            g.locked, g.leaked, g.scan, g.durable = hi.locked, hi.leaked, hi.scan, hi.durable
            g.bubble, g.labels, g.header_extra = hi.bubble, hi.labels, hi.extra
        fr = si.frames
        g.frames = fr
        g.created_by = si.created_by
        if si.elided:
            g.elided = True
        if si.unavailable:
            g.unavailable = True
        if si.cb_index >= 0:
            cbl = lines[si.cb_index]
            k = cbl.rfind(b" in goroutine ")
            if k >= 0:
                try:
                    g.parent_id = int(cbl[k + 14:])
                except ValueError:
                    pass
        rk = (g.state, id(fr))
        wr = reasons.get(rk)
        if wr is None:
            wr = reasons[rk] = _n.normalise_reason(g.state, fr)
        g.wait_reason = wr
        append(g)

    if not goroutines:
        text_head = data[:4096].decode("utf-8", "replace").split("\n")
        raise ParseError("no goroutine found: expected a header like "
                         "'goroutine 1 [running]:'", line=_first_nonblank(text_head))
    extra: dict = {}
    if preamble_lines:
        _preamble(preamble_lines, len(preamble_lines), extra)
    exact, hint = guess_go_version(data[: 1 << 20].decode("utf-8", "replace"))
    if hint:
        extra["go_version_hint"] = hint
    fmt = "debug2"
    if extra.get("kind") or preamble_lines and any(x.strip() for x in preamble_lines) or junk:
        fmt = "traceback"
    if not data.endswith(b"\n") and not truncated:
        # the last line was cut mid-write unless it is a complete file line
        last = data[data.rfind(b"\n") + 1:]
        if not (last.startswith(b"\t") and b".go:" in last or last.startswith((b"FAIL", b"ok"))):
            truncated = True
    leak = bool(name and "goroutineleak" in name) or False
    d = Dump(format=fmt, go_version=exact, total=len(goroutines), truncated=truncated,
             leak_profile=leak, goroutines=goroutines, extra=extra, name=name)
    if truncated:
        d.warnings.append("input ends inside a goroutine block (truncated dump)")
    if junk:
        d.warnings.append(f"{junk} line(s) outside goroutine blocks were skipped")
    return d


def _slow_block(block: bytes, blk_line: int, it: _Interner, cache: dict, key: tuple,
                at_eof: bool, hcache: dict):
    """Parse one block with the line parser; cache its stack if the block is a
    single clean goroutine. Returns the Goroutine, None (block is not a single
    goroutine: caller re-parses it), or True (truncated header-only block)."""
    lines = block.decode("utf-8", "replace").split("\n")
    gs, tr, first, jk = _parse_lines(lines, it, blk_line - 1, at_eof)
    if len(gs) != 1 or jk or first != 0 or tr:
        if not gs and tr:
            return True
        return None
    g = gs[0]
    if g.ancestors:
        return g
    si = _StackInfo()
    si.frames, si.created_by = g.frames, g.created_by
    si.elided, si.unavailable, si.nlines = g.elided, g.unavailable, len(lines)
    si.cb_index = -1
    for k in range(len(lines) - 1, 0, -1):
        if lines[k].startswith("created by "):
            si.cb_index = k
            break
    if len(cache) < 50_000:
        cache[key] = si
    return g
