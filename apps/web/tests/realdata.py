"""Push real Go captures from ../shared/fixtures/real-go through the upload API (and so the pipeline)."""
from __future__ import annotations

from datetime import datetime, timedelta

from tests.fixtures import REAL_GO, read_shared

KINDS = {"goroutine_debug2": "goroutine_debug2.txt", "expvar": "expvar.json"}


def upload(client, raw_token: str, body: bytes, instance: str, at: datetime, kind: str):
    return client.post(
        f"/api/v1/uploads/?instance={instance}&kind={kind}&captured_at={at.strftime('%Y-%m-%dT%H:%M:%SZ')}",
        data=body, content_type="application/octet-stream", HTTP_AUTHORIZATION=f"Bearer {raw_token}",
    )


def load_run(client, raw_token: str, run: str, instance: str, start: datetime, spacing=timedelta(minutes=5),
             kinds=("goroutine_debug2", "expvar"), on_commit=None) -> int:
    """Upload every sample sNN of `run` (e.g. "go1.26.6/chan_send_timeout/long"), spaced in time."""
    base = REAL_GO / "runs" / run
    n = 0
    i = 0

    def find(kind):  # large captures are stored gzipped (name + ".gz"); the API takes either
        for suffix in ("", ".gz"):
            name = f"runs/{run}/s{i:02d}_{KINDS[kind]}{suffix}"
            if (REAL_GO / name).exists():
                return name
        return None

    while find("goroutine_debug2"):
        at = start + spacing * i
        for kind in kinds:
            name = find(kind)
            if name is None:
                continue
            if on_commit is not None:
                with on_commit(execute=True):
                    r = upload(client, raw_token, read_shared(name), instance, at, kind)
            else:
                r = upload(client, raw_token, read_shared(name), instance, at, kind)
            assert r.status_code in (200, 202), r.content
            n += 1
        i += 1
    return n
