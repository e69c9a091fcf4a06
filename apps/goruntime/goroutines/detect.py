"""Format detection and the `parse_dump` entry point."""
from __future__ import annotations

from ..common import ParseError, maybe_gunzip
from .aggregated import find_header, parse_aggregated
from .model import Dump
from .pprof_proto import looks_like_profile, parse_proto
from .traceback import parse_traceback

FORMATS = ("debug2", "traceback", "debug1", "leak_debug1", "proto", "leak_proto")


_TEXT_CONTROLS = frozenset(b"\t\n\r\x0c\x1b")  # tab, newlines, form feed, ANSI escape


def _is_binary(buf: bytes) -> bool:
    """Protobuf bytes are full of small control bytes (field keys, lengths);
    text dumps have none besides whitespace and terminal colour escapes."""
    head = buf[:512]
    if any(b < 0x20 and b not in _TEXT_CONTROLS for b in head):
        return True
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # a multi-byte character cut by the 512-byte window is still text
        return exc.start < len(head) - 4
    return False


def detect_format(data: bytes | str) -> str:
    """One of FORMATS, or raise ParseError."""
    if isinstance(data, bytes):
        buf = maybe_gunzip(data)
        if _is_binary(buf):
            if looks_like_profile(buf):
                return "proto"
            raise ParseError("binary data that is not a pprof profile", line=None)
        text = buf.decode("utf-8", "replace")
    else:
        text = data
    hdr = find_header(text[:65536])
    if hdr is not None:
        return "leak_debug1" if hdr[1].group(1) == "goroutineleak" else "debug1"
    # a dump that starts with a goroutine header is a debug=2 profile; anything
    # with a preamble (panic, signal, test timeout, log lines) a traceback
    return "debug2" if text.startswith("goroutine ") else "traceback"


def parse_dump(data: bytes | str, name: str | None = None) -> Dump:
    """Parse any supported goroutine format (see README); raises ParseError only."""
    try:
        if isinstance(data, (bytearray, memoryview)):
            data = bytes(data)
        if isinstance(data, bytes):
            buf = maybe_gunzip(data)
            if _is_binary(buf):
                if not looks_like_profile(buf):
                    raise ParseError("binary data that is not a pprof profile")
                return parse_proto(buf, name)
            if not buf or buf.isspace():
                raise ParseError("empty input", line=1)
            # the aggregated header is near the top; a traceback is parsed as bytes
            if find_header(buf[:65536].decode("utf-8", "replace")) is not None:
                return parse_aggregated(buf.decode("utf-8", "replace"), name)
            return parse_traceback(buf, name)
        if not isinstance(data, str):
            raise ParseError(f"unsupported input type {type(data).__name__}")
        if not data or data.isspace():
            raise ParseError("empty input", line=1)
        if find_header(data[:65536]) is not None:
            return parse_aggregated(data, name)
        return parse_traceback(data, name)
    except ParseError:
        raise
    except RecursionError as exc:  # pragma: no cover - defensive
        raise ParseError(f"input too deeply nested: {exc}") from None
    except Exception as exc:  # never let a parser bug escape as a crash
        raise ParseError(f"unparseable input ({type(exc).__name__}: {exc})") from None
