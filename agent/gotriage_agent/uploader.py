"""HTTP upload to POST /api/v1/uploads/ with gzip, and the retry policy.

2xx is delivered; 408/429/5xx and network errors are retryable; any other
4xx is permanent (bad token, too large, unparseable): retrying would never
succeed, so the caller logs and drops it.
"""
from __future__ import annotations

import gzip
import logging
import random
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from . import __version__

log = logging.getLogger("gotriage_agent")

GZIP_MAGIC = b"\x1f\x8b"

DELIVERED, RETRY, PERMANENT = "delivered", "retry", "permanent"


def backoff_delay(attempt: int, base: float, cap: float, rand=random.random) -> float:
    """Delay before retry `attempt` (0-based): the window doubles per attempt
    up to cap; the delay is uniform in [window/2, window] ("equal jitter") so
    a fleet of agents does not retry in lockstep yet never retries at once."""
    window = min(cap, base * (2 ** min(attempt, 30)))
    return window / 2 + rand() * window / 2


def format_time(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def build_meta(artefact, cfg) -> dict:
    """What is sent as query parameters (and stored in the spool header)."""
    return {
        "kind": artefact.kind,
        "instance": cfg.instance,
        "captured_at": format_time(artefact.captured_at),
        "go_version": artefact.go_version or cfg.go_version,
        "version": cfg.version,
        "labels": dict(sorted(cfg.labels.items())),
        "content_type": artefact.content_type,
        "source": artefact.source,
    }


def upload_url(server: str, meta: dict) -> str:
    q = [("instance", meta["instance"]), ("kind", meta["kind"]), ("captured_at", meta["captured_at"])]
    if meta.get("go_version"):
        q.append(("go_version", meta["go_version"]))
    if meta.get("version"):
        q.append(("version", meta["version"]))
    for k, v in sorted(meta.get("labels", {}).items()):
        q.append((f"label.{k}", v))
    return f"{server.rstrip('/')}/api/v1/uploads/?{urllib.parse.urlencode(q)}"


def encode_body(raw: bytes) -> bytes:
    """gzip unless the artefact is gzip already (pprof protobuf)."""
    if raw.startswith(GZIP_MAGIC):
        return raw
    return gzip.compress(raw, compresslevel=6, mtime=0)


@dataclass
class Result:
    outcome: str
    status: int | None = None
    retry_after: float | None = None
    detail: str = ""


def _retry_after(value) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # HTTP-date form: fall back to our own backoff


class Uploader:
    def __init__(self, server: str, token: str, timeout: float = 10.0, tls_verify: bool = True,
                 ca_file: str = "", opener=None):
        self.server = server
        self.token = token
        self.timeout = timeout
        ctx = ssl.create_default_context(cafile=ca_file or None)
        if not tls_verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        self.ssl_context = ctx
        self._urlopen = opener or urllib.request.urlopen

    def headers(self, meta: dict, body: bytes) -> dict:
        h = {
            "Authorization": f"Bearer {self.token}",
            "Content-Type": meta.get("content_type") or "application/octet-stream",
            "User-Agent": f"gotriage-agent/{__version__}",
        }
        # A gzip body that is itself the artefact format (pprof protobuf) is
        # sent as-is; everything else is gzip transfer-encoded by us.
        if meta.get("content_encoding") == "gzip":
            h["Content-Encoding"] = "gzip"
        return h

    def send(self, meta: dict, body: bytes) -> Result:
        url = upload_url(self.server, meta)
        req = urllib.request.Request(url, data=body, method="POST", headers=self.headers(meta, body))
        try:
            with self._urlopen(req, timeout=self.timeout, context=self.ssl_context) as resp:
                resp.read(64 << 10)
                return Result(DELIVERED, resp.status)
        except urllib.error.HTTPError as exc:
            code = exc.code
            try:
                detail = exc.read(2000).decode("utf-8", "replace")
            except Exception:  # noqa: BLE001 - body is only for the log line
                detail = ""
            if code in (408, 429) or code >= 500:
                return Result(RETRY, code, _retry_after(exc.headers.get("Retry-After")), detail)
            if 200 <= code < 300:
                return Result(DELIVERED, code)
            return Result(PERMANENT, code, None, detail)
        except (urllib.error.URLError, OSError) as exc:
            return Result(RETRY, None, None, str(getattr(exc, "reason", exc)))

    def send_with_retries(self, meta, body, retries: int, base: float, cap: float,
                          sleep=time.sleep) -> Result:
        """Used by --once: a few attempts with backoff, then give up (the
        entry stays in the spool for the next run)."""
        result = Result(RETRY)
        for attempt in range(max(1, retries)):
            result = self.send(meta, body)
            if result.outcome != RETRY:
                return result
            if attempt + 1 < max(1, retries):
                delay = backoff_delay(attempt, base, cap)
                if result.retry_after is not None:
                    delay = min(cap, max(delay, result.retry_after))
                log.info("upload of %s failed (%s); retrying in %.1fs", meta.get("kind"),
                         result.status or result.detail, delay)
                sleep(delay)
        return result
