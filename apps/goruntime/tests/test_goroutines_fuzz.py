"""Fuzzing: random text, and mutations of real dumps. The only exception a
parser may raise is ParseError; whatever parses must group and analyse."""
from __future__ import annotations

import gzip
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.goruntime import goroutines as gr

from .fixtures import available, manifest, read, sample_path

FUZZ = settings(max_examples=200, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])

HEADERS = ["goroutine 1 [running]:", "goroutine 7 [chan send, 3 minutes]:",
           "goroutine 9 gp=0x1 m=nil [select (leaked)] {a: b}:",
           'goroutine 4 [select labels:{"k": "v"}]:', "goroutine profile: total 3",
           "goroutineleak profile: total 1", "3 @ 0x1 0x2", "#\t0x1\tmain.f+0x1\t/a.go:3",
           "# labels: {\"a\":\"b\"}", "main.f(0x1, {0x2?})", "\t/app/main.go:12 +0x1d",
           "created by main.main in goroutine 1", "...additional frames elided...",
           "[originating from goroutine 3]:", "\tgoroutine running on other thread; stack unavailable",
           "panic: test timed out after 5s", "\trunning tests:", "SIGQUIT: quit", "rax    0x0", ""]


def _check(data):
    try:
        d = gr.parse_dump(data)
    except gr.ParseError as exc:
        assert isinstance(exc.message, str)
        # parse_dump turns parser bugs into ParseError("unparseable input (Type...")
        # so callers never crash; the fuzzer must not hit that safety net
        assert not exc.message.startswith("unparseable input ("), exc.message
        return None
    groups = gr.group_dump(d)
    assert sum(g.count for g in groups) == (sum(r.count for r in d.records) if d.records
                                           else len(d.goroutines))
    gr.analyze([d])
    return d


@FUZZ
@given(st.lists(st.sampled_from(HEADERS) | st.text(max_size=40), max_size=40))
def test_fuzz_line_soup(lines):
    _check("\n".join(lines))


@FUZZ
@given(st.binary(max_size=300))
def test_fuzz_bytes(data):
    _check(data)
    _check(gzip.compress(data))


def _real_samples():
    if not available():
        return []
    out = []
    for run in manifest()["runs"][::9]:
        for kind in ("goroutine_debug2", "goroutine_debug1", "goroutine_proto",
                     "goroutineleak_debug1"):
            p = sample_path(run, len(run["samples"]) - 1, kind)
            if p is not None:
                out.append(read(p))
    return out


@pytest.mark.skipif(not available(), reason="shared real-go fixtures not found")
def test_mutations_of_real_dumps():
    rng = random.Random(1234)
    samples = _real_samples()
    assert samples
    n = 0
    for raw in samples:
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        for _ in range(12):
            b = bytearray(raw)
            op = rng.randrange(6)
            if op == 0:  # truncate anywhere
                b = b[: rng.randrange(len(b) + 1)]
            elif op == 1:  # flip bytes
                for _ in range(rng.randrange(1, 20)):
                    i = rng.randrange(len(b))
                    b[i] = rng.randrange(256)
            elif op == 2:  # delete a slice
                i = rng.randrange(len(b))
                del b[i: i + rng.randrange(1, 200)]
            elif op == 3:  # duplicate a slice
                i = rng.randrange(len(b))
                b[i:i] = b[i: i + rng.randrange(1, 400)]
            elif op == 4:  # insert log noise at a line start
                i = raw.find(b"\n", rng.randrange(len(raw))) + 1
                b[i:i] = b"2026/01/01 12:00:00 noise (with parens) +0x12\n"
            else:  # splice in a piece of another dump
                other = rng.choice(samples)
                i = rng.randrange(len(b))
                j = rng.randrange(len(other))
                b[i:i] = other[j: j + 300]
            _check(bytes(b))
            n += 1
    assert n >= 50


@pytest.mark.skipif(not available(), reason="shared real-go fixtures not found")
def test_fast_path_equals_line_parser():
    """The block cache (keyed by file lines) gives exactly what the line parser gives."""
    from apps.goruntime.goroutines.traceback import _Interner, _parse_lines
    checked = 0
    for run in manifest()["runs"][::4]:
        for kind in ("goroutine_debug2", "goroutineleak_debug2"):
            p = sample_path(run, len(run["samples"]) - 1, kind)
            if p is None:
                continue
            raw = read(p)
            if raw[:2] == b"\x1f\x8b":
                raw = gzip.decompress(raw)
            fast = gr.parse_dump(raw).goroutines
            slow, _, _, _ = _parse_lines(raw.decode().split("\n"), _Interner(), 0, True)

            def sig(g):
                return (g.id, g.state, g.minutes, g.leaked, g.parent_id,
                        tuple(f.to_dict()["function"] + f.location() for f in g.frames),
                        g.created_by.location() if g.created_by else None,
                        tuple(sorted((g.labels or {}).items())))
            assert [sig(g) for g in fast] == [sig(g) for g in slow]
            checked += 1
    assert checked >= 5


@pytest.mark.skipif(not available(), reason="shared real-go fixtures not found")
def test_protobuf_decoder_equals_wire_reader():
    from apps.goruntime.goroutines import pprof_proto
    if pprof_proto._Profile is None:
        pytest.skip("protobuf runtime not importable")
    n = 0
    for run in manifest()["runs"][::3]:
        for kind in ("goroutine_proto", "goroutineleak_proto"):
            p = sample_path(run, len(run["samples"]) - 1, kind)
            if p is None:
                continue
            raw = read(p)
            a = pprof_proto.parse_proto(raw, use_protobuf=True)
            b = pprof_proto.parse_proto(raw, use_protobuf=False)
            assert (a.format, a.total) == (b.format, b.total)
            assert [(r.count, r.labels, r.wait_reason, [f.key for f in r.frames]) for r in a.records] \
                == [(r.count, r.labels, r.wait_reason, [f.key for f in r.frames]) for r in b.records]
            n += 1
    assert n >= 10


@FUZZ
@given(st.binary(max_size=200))
def test_fuzz_both_proto_decoders(data):
    from apps.goruntime.goroutines import pprof_proto
    for use in (True, False):
        try:
            pprof_proto.parse_proto(b"\x0a" + data, use_protobuf=use)
        except gr.ParseError:
            pass
