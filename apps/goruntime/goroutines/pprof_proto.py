"""pprof profile.proto (`goroutine` debug=0 and `goroutineleak`), gzip or raw.

Two decoders of the few fields a goroutine profile uses:

* the `protobuf` runtime (its C/upb backend) with profile.proto's messages
  built at import time from a descriptor (no generated code, no protoc). By
  measurement it decodes 10-30x faster than pure Python (docs/perf/goroutines.md),
  so it is used whenever the package is importable;
* a small pure-Python wire-format reader, used as the fallback and kept as a
  cross-check in the tests.

Malformed input raises ParseError, never IndexError/ValueError/DecodeError.
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


def _build_profile_class():
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
    F = descriptor_pb2.FieldDescriptorProto
    fd = descriptor_pb2.FileDescriptorProto(name="gotriage_pprof_profile.proto",
                                            package="gotriage_pprof", syntax="proto3")
    R, O = F.LABEL_REPEATED, F.LABEL_OPTIONAL

    def msg(name, fields):
        m = fd.message_type.add(name=name)
        for fname, no, typ, label, tname in fields:
            f = m.field.add(name=fname, number=no, type=typ, label=label)
            if tname:
                f.type_name = ".gotriage_pprof." + tname

    # field numbers and types as in github.com/google/pprof/proto/profile.proto
    msg("ValueType", [("type", 1, F.TYPE_INT64, O, None), ("unit", 2, F.TYPE_INT64, O, None)])
    msg("Label", [("key", 1, F.TYPE_INT64, O, None), ("str", 2, F.TYPE_INT64, O, None),
                  ("num", 3, F.TYPE_INT64, O, None), ("num_unit", 4, F.TYPE_INT64, O, None)])
    msg("Sample", [("location_id", 1, F.TYPE_UINT64, R, None),
                   ("value", 2, F.TYPE_INT64, R, None),
                   ("label", 3, F.TYPE_MESSAGE, R, "Label")])
    msg("Line", [("function_id", 1, F.TYPE_UINT64, O, None), ("line", 2, F.TYPE_INT64, O, None),
                 ("column", 3, F.TYPE_INT64, O, None)])
    msg("Location", [("id", 1, F.TYPE_UINT64, O, None), ("mapping_id", 2, F.TYPE_UINT64, O, None),
                     ("address", 3, F.TYPE_UINT64, O, None),
                     ("line", 4, F.TYPE_MESSAGE, R, "Line"), ("is_folded", 5, F.TYPE_BOOL, O, None)])
    msg("Function", [("id", 1, F.TYPE_UINT64, O, None), ("name", 2, F.TYPE_INT64, O, None),
                     ("system_name", 3, F.TYPE_INT64, O, None),
                     ("filename", 4, F.TYPE_INT64, O, None), ("start_line", 5, F.TYPE_INT64, O, None)])
    msg("Profile", [("sample_type", 1, F.TYPE_MESSAGE, R, "ValueType"),
                    ("sample", 2, F.TYPE_MESSAGE, R, "Sample"),
                    ("location", 4, F.TYPE_MESSAGE, R, "Location"),
                    ("function", 5, F.TYPE_MESSAGE, R, "Function"),
                    ("string_table", 6, F.TYPE_STRING, R, None)])
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fd)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("gotriage_pprof.Profile"))


try:  # optional fast path
    from google.protobuf.message import DecodeError as _DecodeError
    _Profile = _build_profile_class()
except Exception:  # pragma: no cover - protobuf missing or incompatible
    _Profile = None
    _DecodeError = ValueError


def parse_proto(data: bytes, name: str | None = None, use_protobuf: bool | None = None) -> Dump:
    buf = maybe_gunzip(data)
    if use_protobuf is None:
        use_protobuf = _Profile is not None
    if use_protobuf and _Profile is not None:
        return _parse_protobuf(buf, name)
    return _parse_wire(buf, name)


def _records(name, strings, kind, functions, locations, samples_iter) -> Dump:
    """Shared tail of both decoders: frames, stacks and records."""
    nstr = len(strings)

    def sget(i: int) -> str:
        return strings[i] if 0 <= i < nstr else ""

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
    reasons: dict[int, str] = {}
    records: list[Record] = []
    total = 0
    for locs, cnt, lab in samples_iter:
        fr = stacks.get(locs)
        if fr is None:
            acc: list[Frame] = []
            for lid in locs:
                acc.extend(loc_frames.get(lid, ()))
            fr = stacks[locs] = tuple(acc)
        wr = reasons.get(id(fr))
        if wr is None:
            wr = reasons[id(fr)] = _n.infer_from_frames(fr)
        labels = {sget(k): sget(v)[:200] for k, v in lab if v} if lab else {}
        total += cnt
        records.append(Record(cnt, fr, labels, wr))
    return Dump(format="leak_proto" if leak else "proto", total=total, leak_profile=leak,
                records=records, name=name, extra={"sample_type": kind})


def _parse_protobuf(buf: bytes, name: str | None) -> Dump:
    try:
        p = _Profile.FromString(buf)
    except (_DecodeError, ValueError, TypeError) as exc:
        raise ParseError(f"not a valid pprof profile: {exc}") from None
    strings = list(p.string_table)
    if not strings and not len(p.sample):
        raise ParseError("not a pprof profile: no string table or samples")
    kind = strings[p.sample_type[0].type] if len(p.sample_type) and \
        0 <= p.sample_type[0].type < len(strings) else ""
    functions = {f.id: (f.name, f.filename) for f in p.function}
    locations = {loc.id: [(ln.function_id, ln.line) for ln in loc.line] for loc in p.location}

    def samples():
        for s in p.sample:
            v = s.value
            yield (tuple(s.location_id), v[0] if len(v) else 1,
                   [(lb.key, lb.str) for lb in s.label] if len(s.label) else None)
    return _records(name, strings, kind, functions, locations, samples())


def _parse_wire(buf: bytes, name: str | None) -> Dump:
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
    kind = ""
    if sample_types and 0 <= sample_types[0][0] < len(strings):
        kind = strings[sample_types[0][0]]

    def sample_iter():
        for s, e in samples:
            locs: list[int] = []
            vals: list[int] = []
            labels: list[tuple[int, int]] = []
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
                    labels.append((k, sv))
            yield tuple(locs), (vals[0] if vals else 1), labels
    return _records(name, strings, kind, functions, locations, sample_iter())
