"""Bounded on-disk spool of uploads waiting for the server.

Every artefact is written here first and removed once the server has it, so
a crash or a down server loses nothing up to the bounds. One file per
upload: a JSON header line, then the gzip-compressed body. Files are named
by a monotonic sequence number, so listing the directory sorted is the send
order (oldest first), across restarts too. Writes go to a temporary name,
are fsynced and renamed, so a reader never sees half an entry.

Bounds: max_files and max_bytes. When a new entry does not fit, the oldest
entries are dropped (and counted) — the newest data is the most useful
when the server comes back.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time

log = logging.getLogger("gotriage_agent")

SUFFIX = ".upl"
TMP_PREFIX = ".tmp-"


class Spool:
    def __init__(self, directory: str, max_bytes: int, max_files: int):
        self.dir = directory
        self.max_bytes = max_bytes
        self.max_files = max_files
        self.dropped = 0  # entries dropped because the spool was full
        self._lock = threading.Lock()
        self._last_seq = 0
        os.makedirs(directory, exist_ok=True)
        for name in os.listdir(directory):
            if name.startswith(TMP_PREFIX):
                # A write interrupted by a crash; the entry was never committed.
                try:
                    os.unlink(os.path.join(directory, name))
                except OSError:
                    pass
        names = self.entries()
        if names:
            self._last_seq = int(names[-1].split("-", 1)[0])

    def entries(self) -> list[str]:
        """Committed entry names, oldest first."""
        try:
            names = os.listdir(self.dir)
        except FileNotFoundError:
            return []
        return sorted(n for n in names if n.endswith(SUFFIX) and not n.startswith(TMP_PREFIX))

    def _sizes(self, names):
        total = 0
        sizes = {}
        for n in names:
            try:
                sizes[n] = os.path.getsize(os.path.join(self.dir, n))
            except OSError:
                sizes[n] = 0
            total += sizes[n]
        return sizes, total

    def total_bytes(self) -> int:
        return self._sizes(self.entries())[1]

    def _next_seq(self) -> int:
        # Wall-clock based so order survives restarts; +1 keeps it strictly
        # increasing when the clock repeats or steps back.
        self._last_seq = max(self._last_seq + 1, time.time_ns())
        return self._last_seq

    def put(self, meta: dict, body: bytes) -> str | None:
        """Store one upload; return its name, or None if it can never fit."""
        header = json.dumps(meta, separators=(",", ":"), sort_keys=True).encode() + b"\n"
        size = len(header) + len(body)
        with self._lock:
            if size > self.max_bytes:
                self.dropped += 1
                log.warning("spool: dropping a %s upload of %d bytes: larger than the whole spool (%d)",
                            meta.get("kind"), size, self.max_bytes)
                return None
            names = self.entries()
            sizes, total = self._sizes(names)
            while names and (len(names) + 1 > self.max_files or total + size > self.max_bytes):
                oldest = names.pop(0)
                total -= sizes[oldest]
                self._unlink(oldest)
                self.dropped += 1
                log.warning("spool full (%d files, %d bytes max): dropped oldest %s (%d dropped so far)",
                            self.max_files, self.max_bytes, oldest, self.dropped)
            kind = "".join(c for c in str(meta.get("kind", "x")) if c.isalnum() or c == "_")
            name = f"{self._next_seq():020d}-{kind}{SUFFIX}"
            tmp = os.path.join(self.dir, TMP_PREFIX + name)
            with open(tmp, "wb") as f:
                f.write(header)
                f.write(body)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, os.path.join(self.dir, name))
            return name

    def read(self, name: str) -> tuple[dict, bytes]:
        with open(os.path.join(self.dir, name), "rb") as f:
            data = f.read()
        nl = data.index(b"\n")
        return json.loads(data[:nl]), data[nl + 1:]

    def remove(self, name: str) -> None:
        with self._lock:
            self._unlink(name)

    def _unlink(self, name):
        try:
            os.unlink(os.path.join(self.dir, name))
        except FileNotFoundError:
            pass
