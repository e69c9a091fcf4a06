import gzip
import random

from gotriage_agent.uploader import (DELIVERED, PERMANENT, RETRY, Uploader, backoff_delay,
                                     encode_body, upload_url)

META = {"kind": "goroutine_debug2", "instance": "pod-1", "captured_at": "2026-01-02T03:04:05Z",
        "go_version": "go1.27.3", "version": "v1.2", "labels": {"team": "core", "ns": "a b"},
        "content_type": "text/plain", "content_encoding": "gzip"}


def test_backoff_bounds():
    base, cap = 0.5, 30.0
    for attempt in range(40):
        window = min(cap, base * 2 ** attempt)
        assert backoff_delay(attempt, base, cap, rand=lambda: 0.0) == window / 2
        assert backoff_delay(attempt, base, cap, rand=lambda: 1.0) == window
        for _ in range(50):
            assert window / 2 <= backoff_delay(attempt, base, cap) <= window
    # jitter really spreads retries
    rng = random.Random(1)
    assert len({round(backoff_delay(3, base, cap, rand=rng.random), 6) for _ in range(20)}) > 15


def test_url_and_body_encoding():
    url = upload_url("https://g.example/", META)
    assert url.startswith("https://g.example/api/v1/uploads/?instance=pod-1&kind=goroutine_debug2&")
    assert "captured_at=2026-01-02T03%3A04%3A05Z" in url and "label.ns=a+b" in url
    assert "version=v1.2" in url and "go_version=go1.27.3" in url
    gz = encode_body(b"goroutine 1 [running]:\n")
    assert gzip.decompress(gz) == b"goroutine 1 [running]:\n"
    proto = gzip.compress(b"\x0a\x01proto")
    assert encode_body(proto) is proto  # already gzip: not compressed twice


def test_headers_and_delivery(receiver):
    up = Uploader(receiver.url, "tok")
    res = up.send(META, encode_body(b"goroutine 1 [running]:\n"))
    assert res.outcome == DELIVERED and res.status == 202
    r = receiver.requests[0]
    assert r["path"] == "/api/v1/uploads/"
    assert r["headers"]["Authorization"] == "Bearer tok"
    assert r["headers"]["Content-Encoding"] == "gzip"
    assert r["body"] == b"goroutine 1 [running]:\n"
    assert r["query"]["label.team"] == "core" and r["query"]["instance"] == "pod-1"


def test_5xx_then_success_with_backoff(receiver):
    receiver.statuses[:] = [503, 500, 202]
    slept = []
    res = Uploader(receiver.url, "tok").send_with_retries(META, b"x", retries=5, base=0.2, cap=5,
                                                          sleep=slept.append)
    assert res.outcome == DELIVERED and len(receiver.requests) == 3
    assert 0.1 <= slept[0] <= 0.2 and 0.2 <= slept[1] <= 0.4


def test_permanent_4xx_not_retried(receiver):
    for code in (400, 401, 413):
        receiver.requests.clear()
        receiver.statuses[:] = [code]
        res = Uploader(receiver.url, "tok").send_with_retries(META, b"x", 5, 0.01, 0.1, sleep=lambda s: None)
        assert res.outcome == PERMANENT and res.status == code and len(receiver.requests) == 1


def test_429_honours_retry_after(receiver):
    receiver.statuses[:] = [429, 202]
    receiver.retry_after = "3"
    slept = []
    res = Uploader(receiver.url, "tok").send_with_retries(META, b"x", 3, 0.01, 10, sleep=slept.append)
    assert res.outcome == DELIVERED and slept == [3.0]
    receiver.statuses[:] = [408]
    assert Uploader(receiver.url, "tok").send(META, b"x").outcome == RETRY


def test_network_error_is_retryable(receiver):
    receiver.stop()
    res = Uploader(receiver.url, "tok", timeout=2).send(META, b"x")
    assert res.outcome == RETRY and res.status is None
