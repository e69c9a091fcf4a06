import gzip

import pytest

from apps.goruntime.common import ParseError, maybe_gunzip


def test_plain_bytes_pass_through():
    assert maybe_gunzip(b"goroutine 1 [running]:") == b"goroutine 1 [running]:"


def test_concatenated_gzip_members_are_all_read():
    data = gzip.compress(b"first\n") + gzip.compress(b"second\n")
    assert maybe_gunzip(data) == b"first\nsecond\n"


def test_a_gzip_bomb_is_refused():
    with pytest.raises(ParseError, match="exceeds"):
        maybe_gunzip(gzip.compress(b"\0" * 100_000), limit=1000)


def test_corrupt_gzip_names_the_problem():
    with pytest.raises(ParseError, match="corrupt gzip"):
        maybe_gunzip(b"\x1f\x8b" + b"garbage" * 10)


def test_a_truncated_member_keeps_what_decompressed():
    text = "".join(f"goroutine {i} [chan send]:\n" for i in range(5000)).encode()
    data = gzip.compress(text)
    out = maybe_gunzip(data[: len(data) // 2])
    assert 0 < len(out) < len(text) and text.startswith(out)
