"""pprof profile.proto (`goroutine` debug=0 and `goroutineleak`), gzip or raw.

A small wire-format reader of the few fields a goroutine profile uses. It was
chosen over the `protobuf` runtime because it needs no generated code and, on
these profiles (a few hundred samples), decodes in well under a millisecond;
see docs/perf/goroutines.md. Malformed input raises ParseError, never
IndexError/ValueError.
"""
from __future__ import annotations

from ..common import ParseError, maybe_gunzip
from . import normalize as _n
from .model import Dump, Frame, Record


def _varint(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    result = 0
    shift = 0
    while True:
        if pos >= end:
            raise ParseError(f"truncated varint at byte {pos}")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7
        if shift > 70:
            raise ParseError(f"varint too long at byte {pos}")


def _fields(buf: bytes, start: int, end: int):
    """Yield (field number, wire type, value or (start, end)) of one message."""
    pos = start
    while pos < end:
        key, pos = _varint(buf, pos, end)
        fno, wt = key >> 3, key & 7
        if wt == 0:
            v, pos = _varint(buf, pos, end)
            yield fno, 0, v
        elif wt == 2:
            ln, pos = _varint(buf, pos, end)
            if pos + ln > end:
                raise ParseError(f"field {fno} overruns message at byte {pos}")
            yield fno, 2, (pos, pos + ln)
            pos += ln
        elif wt == 1:
            if pos + 8 > end:
                raise ParseError(f"truncated fixed64 at byte {pos}")
            yield fno, 1, int.from_bytes(buf[pos:pos + 8], "little")
            pos += 8
        elif wt == 5:
            if pos + 4 > end:
                raise ParseError(f"truncated fixed32 at byte {pos}")
            yield fno, 5, int.from_bytes(buf[pos:pos + 4], "little")
            pos += 4
        else:
            raise ParseError(f"unsupported wire type {wt} at byte {pos}")


def _packed(buf: bytes, wt: int, v, out: list) -> None:
    if wt == 0:
        out.append(v)
        return
    s, e = v
    while s < e:
        x, s = _varint(buf, s, e)
        out.append(x)


def looks_like_profile(buf: bytes) -> bool:
    """Cheap check: the first field of a pprof Profile is a LEN field 1..14."""
    if not buf:
        return False
    b = buf[0]
    return (b & 7) == 2 and 1 <= (b >> 3) <= 14 or (b & 7) == 0 and 9 <= (b >> 3) <= 14


def parse_proto(data: bytes, name: str | None = None) -> Dump:
    buf = maybe_gunzip(data)
    end = len(buf)
    strings: list[str] = []
    sample_types: list[tuple[int, int]] = []
    samples: list[tuple[int, int]] = []
    locations: dict[int, list[tuple[int, int]]] = {}
    functions: dict[int, tuple[int, int]] = {}
    for fno, wt, v in _fields(buf, 0, end):
        if wt != 2:
            continue
        s, e = v
        if fno == 6:
            strings.append(buf[s:e].decode("utf-8", "replace"))
        elif fno == 2:
            samples.append(v)
        elif fno == 4:
            lid = 0
            lines: list[tuple[int, int]] = []
            for f2, w2, v2 in _fields(buf, s, e):
                if f2 == 1 and w2 == 0:
                    lid = v2
                elif f2 == 4 and w2 == 2:
                    fid = ln = 0
                    for f3, w3, v3 in _fields(buf, v2[0], v2[1]):
                        if f3 == 1 and w3 == 0:
                            fid = v3
                        elif f3 == 2 and w3 == 0:
                            ln = v3
                    lines.append((fid, ln))
            locations[lid] = lines
        elif fno == 5:
            fid = nm = fn = 0
            for f2, w2, v2 in _fields(buf, s, e):
                if w2 != 0:
                    continue
                if f2 == 1:
                    fid = v2
                elif f2 == 2:
                    nm = v2
                elif f2 == 4:
                    fn = v2
            functions[fid] = (nm, fn)
        elif fno == 1:
            t = u = 0
            for f2, w2, v2 in _fields(buf, s, e):
                if f2 == 1 and w2 == 0:
                    t = v2
                elif f2 == 2 and w2 == 0:
                    u = v2
            sample_types.append((t, u))

    if not strings and not samples:
        raise ParseError("not a pprof profile: no string table or samples")

    def sget(i: int) -> str:
        return strings[i] if 0 <= i < len(strings) else ""

    kind = sget(sample_types[0][0]) if sample_types else ""
    leak = kind == "goroutineleak" or bool(name and "goroutineleak" in name)
    frame_cache: dict[tuple[int, int], Frame] = {}
    loc_frames: dict[int, tuple] = {}
    for lid, lines in locations.items():
        fs = []
        for fid, ln in lines:  # inlined callee first, as in a traceback
            f = frame_cache.get((fid, ln))
            if f is None:
                nm, fn = functions.get(fid, (0, 0))
                f = frame_cache[(fid, ln)] = Frame(sget(nm) or "?", sget(fn), ln)
            fs.append(f)
        loc_frames[lid] = tuple(fs)
    stacks: dict[tuple, tuple] = {}
    records: list[Record] = []
    total = 0
    for s, e in samples:
        locs: list[int] = []
        vals: list[int] = []
        labels: dict[str, str] = {}
        for f2, w2, v2 in _fields(buf, s, e):
            if f2 == 1:
                _packed(buf, w2, v2, locs)
            elif f2 == 2:
                _packed(buf, w2, v2, vals)
            elif f2 == 3 and w2 == 2:
                k = sv = 0
                for f3, w3, v3 in _fields(buf, v2[0], v2[1]):
                    if f3 == 1 and w3 == 0:
                        k = v3
                    elif f3 == 2 and w3 == 0:
                        sv = v3
                if sv:
                    labels[sget(k)] = sget(sv)[:200]
        lk = tuple(locs)
        fr = stacks.get(lk)
        if fr is None:
            acc: list[Frame] = []
            for lid in locs:
                acc.extend(loc_frames.get(lid, ()))
            fr = stacks[lk] = tuple(acc)
        cnt = vals[0] if vals else 1
        total += cnt
        records.append(Record(cnt, fr, labels, _n.infer_from_frames(fr)))
    return Dump(format="leak_proto" if leak else "proto", total=total, leak_profile=leak,
                records=records, name=name, extra={"sample_type": kind})
