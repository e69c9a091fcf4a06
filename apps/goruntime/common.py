"""Helpers shared by every goruntime parser: input decoding and the error type."""
from __future__ import annotations

import gzip
import zlib

GZIP_MAGIC = b"\x1f\x8b"
# A decompressed artefact larger than this is refused rather than parsed:
# real goroutine dumps of 300k goroutines are ~100 MiB.
MAX_DECOMPRESSED = 512 * 1024 * 1024


class ParseError(ValueError):
    """Input that cannot be parsed; `line` is 1-based when known."""

    def __init__(self, message: str, line: int | None = None):
        self.message = message
        self.line = line
        super().__init__(f"line {line}: {message}" if line else message)


def maybe_gunzip(data: bytes, limit: int = MAX_DECOMPRESSED) -> bytes:
    """Return `data` decompressed if it is gzip, else unchanged.

    Decompression is bounded so a gzip bomb cannot exhaust memory.
    """
    if not data.startswith(GZIP_MAGIC):
        return data
    # Concatenated gzip members (gzip -c a >> f; gzip -c b >> f) are one file
    # to gzip(1): read them all, not just the first.
    parts: list[bytes] = []
    size = 0
    rest = data
    while rest.startswith(GZIP_MAGIC):
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out = d.decompress(rest, limit + 1 - size)
        except zlib.error as exc:
            raise ParseError(f"corrupt gzip data: {exc}") from None
        size += len(out)
        if size > limit:
            raise ParseError(f"decompressed size exceeds {limit} bytes")
        parts.append(out)
        if not d.eof:
            break  # truncated member: keep what decompressed, the parser flags truncation
        rest = d.unused_data
    return b"".join(parts)


def as_bytes(data: bytes | str) -> bytes:
    return data.encode("utf-8", "replace") if isinstance(data, str) else maybe_gunzip(data)


def as_text(data: bytes | str) -> str:
    if isinstance(data, str):
        return data
    return maybe_gunzip(data).decode("utf-8", "replace")


__all__ = ["ParseError", "maybe_gunzip", "as_bytes", "as_text", "gzip"]
