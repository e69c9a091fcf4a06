"""Aggregated text profiles: `goroutine?debug=1` and `goroutineleak?debug=1`.

    goroutine profile: total 14
    9 @ 0x43a6ee 0x44ba78 ...
    # labels: {"http.route":"/api/report"}
    #	0x4686e4	sync.runtime_Semacquire+0x24	/usr/local/go/src/runtime/sema.go:62
    (blank line)

Runtime frames at the top of a stack are in the `@` list but have no `#` line,
so the wait reason is inferred from the frames that are printed.
"""
from __future__ import annotations

import re

from ..common import ParseError
from . import normalize as _n
from .labels import parse_labels
from .model import Dump, Frame, Record

_HEAD_RE = re.compile(r"^(goroutine|goroutineleak) profile: total (\d+)\s*$")
_REC_RE = re.compile(r"^(\d+) @((?: 0x[0-9a-fA-F]+)*)\s*$")
_OFF_RE = re.compile(r"\+0x[0-9a-fA-F]+$")


def find_header(text: str) -> tuple[int, re.Match] | None:
    """Line index and match of the `... profile: total N` header (pastes allowed)."""
    for k, ln in enumerate(text.split("\n", 200)[:200]):
        m = _HEAD_RE.match(ln.strip())
        if m:
            return k, m
    return None


def parse_aggregated(text: str, name: str | None = None) -> Dump:
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    lines = text.split("\n")
    hdr = find_header(text)
    if hdr is None:
        raise ParseError("expected 'goroutine profile: total N' header", line=1)
    start, m = hdr
    leak = m.group(1) == "goroutineleak"
    total = int(m.group(2))
    frames_cache: dict[str, Frame] = {}
    stacks: dict[str, tuple] = {}
    records: list[Record] = []
    warnings: list[str] = []
    cur: Record | None = None
    parts: list[str] = []
    truncated = False

    def finish():
        nonlocal cur, parts
        if cur is None:
            return
        key = "\x01".join(parts)
        fr = stacks.get(key)
        if fr is None:
            fl = []
            for p in parts:
                f = frames_cache.get(p)
                if f is None:
                    fn, _, loc = p.partition("\x00")
                    file, _, ln = loc.rpartition(":")
                    if not ln.isdigit():
                        file, ln = loc, "0"
                    f = frames_cache[p] = Frame(fn, file, int(ln))
                fl.append(f)
            fr = stacks[key] = tuple(fl)
        cur.frames = fr
        cur.wait_reason = _n.infer_from_frames(fr)
        records.append(cur)
        cur = None
        parts = []

    for k in range(start + 1, len(lines)):
        ln = lines[k]
        if not ln.strip():
            finish()
            continue
        if ln[0] == "#":
            if cur is None:
                continue
            if ln.startswith("# labels:"):
                cur.labels = parse_labels(ln[9:].strip())
                continue
            cols = ln[1:].strip("\n").split("\t")
            cols = [c for c in cols if c.strip() != ""]
            if len(cols) < 2:
                continue
            # cols: pc, func+off, file:line (the file column may be missing)
            fn = _OFF_RE.sub("", cols[1].strip())
            loc = cols[2].strip() if len(cols) > 2 else ""
            parts.append(fn + "\x00" + loc)
            continue
        mr = _REC_RE.match(ln)
        if mr:
            finish()
            cur = Record(int(mr.group(1)), (), line=k + 1)
            continue
        if ln.startswith(("goroutine profile:", "goroutineleak profile:")):
            # a second profile pasted after the first: stop here
            warnings.append(f"line {k + 1}: second profile header ignored")
            break
        # junk (log line in a paste): ends the current record
        finish()
    else:
        if cur is not None:
            truncated = bool(lines and lines[-1].strip())
    finish()
    represented = sum(r.count for r in records)
    if represented < total and total:
        # a cut file: fewer goroutines than the header promised
        truncated = truncated or represented < total
    d = Dump(format="leak_debug1" if leak else "debug1", total=total,
             truncated=truncated, leak_profile=leak, records=records, name=name,
             warnings=warnings)
    if truncated:
        d.warnings.append(f"records cover {represented} of {total} goroutines (truncated)")
    return d
