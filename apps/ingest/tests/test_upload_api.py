"""POST /api/v1/uploads/: the agent wire contract."""
from __future__ import annotations

import gzip
import io

import pytest

from apps.goroutines.models import Snapshot, SnapshotGroup
from apps.ingest.models import Kind, Status, Upload
from apps.services.models import AgentToken, Instance
from apps.telemetry.models import GCCycle, MemSample
from tests.fixtures import read_shared

RUN = "runs/go1.26.6/chan_recv_never_closed/leakprof"

KIND_FILES = [
    (f"{RUN}/s02_goroutine_debug2.txt", Kind.GOROUTINE_DEBUG2),
    (f"{RUN}/s02_goroutine_debug1.txt", Kind.GOROUTINE_DEBUG1),
    (f"{RUN}/s02_goroutine.pb.gz", Kind.GOROUTINE_PROTO),
    (f"{RUN}/s02_goroutineleak_debug1.txt", Kind.GOROUTINELEAK),
    (f"{RUN}/s02_goroutineleak.pb.gz", Kind.GOROUTINELEAK),
    (f"{RUN}/s02_expvar.json", Kind.EXPVAR),
    (f"{RUN}/s02_runtime_metrics.json.gz", Kind.RUNTIME_METRICS),
    (f"{RUN}/gctrace.txt", Kind.GCTRACE),
    ("test_timeouts/go1.26.6/TestProfileFetchDoesNotLeak.txt", Kind.GOROUTINE_DEBUG2),
]


@pytest.mark.parametrize("path,kind", KIND_FILES, ids=[p.rsplit("/", 1)[-1] for p, _ in KIND_FILES])
def test_each_fixture_kind_is_detected_and_processed(post_upload, path, kind):
    response = post_upload(read_shared(path), captured_at="2026-11-20T10:00:00Z")
    assert response.status_code == 202, response.content
    body = response.json()
    assert set(body) >= {"id", "status", "url"}
    upload = Upload.objects.get(pk=body["id"])
    assert upload.kind == kind
    assert upload.status == Status.PROCESSED, upload.error
    if kind in Kind.goroutine_kinds():
        snapshot = Snapshot.objects.get(upload=upload)
        assert snapshot.total > 0 and SnapshotGroup.objects.filter(snapshot=snapshot).exists()
    elif kind == Kind.GCTRACE:
        assert GCCycle.objects.filter(upload=upload).count() > 3
    else:
        assert MemSample.objects.filter(upload=upload).exists()


def test_the_same_bytes_again_answer_200_with_the_first_id(post_upload):
    data = read_shared(f"{RUN}/s00_goroutine_debug2.txt")
    first = post_upload(data)
    again = post_upload(gzip.compress(data), headers={"HTTP_CONTENT_ENCODING": "gzip"})
    assert first.status_code == 202
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert Upload.objects.count() == 1 and Snapshot.objects.count() == 1


def test_it_accepts_content_encoding_gzip(post_upload):
    response = post_upload(gzip.compress(read_shared(f"{RUN}/s01_goroutine_debug2.txt")), headers={"HTTP_CONTENT_ENCODING": "gzip"})
    assert response.status_code == 202
    assert Upload.objects.get().status == Status.PROCESSED


def test_multipart_with_several_files_answers_a_list(post_upload):
    files = {
        "file": [
            io.BytesIO(read_shared(f"{RUN}/s03_goroutine_debug2.txt")),
            io.BytesIO(read_shared(f"{RUN}/s03_expvar.json")),
        ],
        "instance": "pod-9",
        "version": "v2",
        "label.track": "canary",
    }
    files["file"][0].name, files["file"][1].name = "g.txt", "vars.json"
    response = post_upload(files, content_type="multipart")
    assert response.status_code == 202, response.content
    body = response.json()
    assert [r["kind"] for r in body] == [Kind.GOROUTINE_DEBUG2, Kind.EXPVAR]
    uploads = Upload.objects.filter(pk__in=[r["id"] for r in body])
    assert {u.instance.name for u in uploads} == {"pod-9"}
    assert all(u.labels == {"track": "canary"} and u.version == "v2" for u in uploads)


def test_instance_is_upserted_with_versions(post_upload):
    post_upload(read_shared(f"{RUN}/s00_expvar.json"), instance="pod-7", go_version="go1.26.6", version="v1.2.0",
                captured_at="2026-11-20T10:00:00Z")
    post_upload(read_shared(f"{RUN}/s01_expvar.json"), instance="pod-7", version="v1.3.0", captured_at="2026-11-20T10:05:00Z")
    instance = Instance.objects.get(name="pod-7")
    assert instance.version == "v1.3.0" and instance.go_version == "go1.26.6"
    assert instance.last_seen.isoformat().startswith("2026-11-20T10:05")


@pytest.mark.parametrize("body,needle", [
    (b"hello world\nthis is not a dump\n", "expected a goroutine dump"),
    (b"\x00\x01\x02binary junk", "binary content"),
    (b'{"some": "json"}', "expvar"),
    (b"", "empty upload"),
])
def test_garbage_is_refused_naming_what_was_expected(post_upload, body, needle):
    response = post_upload(body)
    assert response.status_code == 400
    assert needle in response.json()["error"]
    assert not Upload.objects.exists()


def test_a_malformed_dump_is_refused_with_its_line(post_upload):
    body = b"goroutine 1 [running]:\nmain.main()\n\t/app/main.go:10 +0x1d\n%%% garbage here %%%\n"
    response = post_upload(body)
    assert response.status_code == 400
    assert response.json()["line"] == 4
    assert not Upload.objects.exists() and not Instance.objects.exists()


def test_malformed_json_is_refused_with_its_line(post_upload):
    response = post_upload(b'{"memstats": {\n  "HeapAlloc": 12,\n  oops\n}}')
    assert response.status_code == 400
    assert response.json()["line"] == 3


def test_a_dump_the_parser_rejects_fails_with_the_error_kept(post_upload):
    # Passes the door check (only the head is sniffed) but the parser finds nothing usable.
    body = b"goroutine 1 [running]:\n" + b"\n" * 10
    response = post_upload(body)
    assert response.status_code in (202, 400)
    if response.status_code == 202:
        upload = Upload.objects.get()
        assert upload.status in (Status.FAILED, Status.PROCESSED)
        if upload.status == Status.FAILED:
            assert upload.error


def test_an_unknown_kind_is_refused(post_upload):
    response = post_upload(read_shared(f"{RUN}/s00_expvar.json"), kind="heapdump")
    assert response.status_code == 400
    assert "unknown kind" in response.json()["error"]


def test_the_instance_is_required(api, agent_token):
    response = api.post("/api/v1/uploads/", b"x", content_type="text/plain", HTTP_AUTHORIZATION=f"Bearer {agent_token[1]}")
    assert response.status_code == 400
    assert "instance" in response.json()["error"]


@pytest.mark.parametrize("field", ["version", "go_version", "label.track"])
def test_control_characters_in_metadata_are_refused_and_nothing_is_stored(post_upload, field):
    # Found by the schema fuzzer: a NUL byte reached PostgreSQL and made a 500.
    # NUL in a query string stops at the middleware; other control characters
    # (and any in multipart form fields) stop here.
    from apps.ingest.models import Upload

    response = post_upload(read_shared(f"{RUN}/s00_expvar.json"), **{field: "v1\x01x"})
    assert response.status_code == 400
    assert response.json()["field"] == field and "control characters" in response.json()["error"]
    assert not Upload.objects.exists()


def test_a_bad_captured_at_is_refused(post_upload):
    response = post_upload(read_shared(f"{RUN}/s00_expvar.json"), captured_at="yesterday")
    assert response.status_code == 400
    assert "captured_at" in response.json()["error"]


def test_it_refuses_uploads_over_the_size_limit(post_upload, settings):
    settings.GOTRIAGE_MAX_UPLOAD_BYTES = 1000
    response = post_upload(read_shared(f"{RUN}/s05_goroutine_debug2.txt"))
    assert response.status_code == 413
    assert not Upload.objects.exists()


def test_it_cuts_off_a_gzip_bomb(post_upload, settings):
    settings.GOTRIAGE_MAX_DECOMPRESSED_BYTES = 1_000_000
    bomb = gzip.compress(b"goroutine 1 [running]:\n" + b"\n" * 50_000_000, compresslevel=9)
    assert len(bomb) < 100_000
    response = post_upload(bomb, headers={"HTTP_CONTENT_ENCODING": "gzip"})
    assert response.status_code == 413
    assert "decompressed" in response.json()["error"]
    assert not Upload.objects.exists()


def test_it_refuses_a_wrong_token(post_upload):
    response = post_upload(b"goroutine 1 [running]:\n", token="gta_deadbeef_notarealtoken")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


def test_it_refuses_a_revoked_token(post_upload, agent_token):
    agent_token[0].revoke()
    response = post_upload(read_shared(f"{RUN}/s00_expvar.json"))
    assert response.status_code == 401
    assert not Upload.objects.exists()


def test_it_refuses_a_missing_token(api):
    response = api.post("/api/v1/uploads/?instance=x", b"goroutine 1 [running]:\n", content_type="text/plain")
    assert response.status_code == 401


def test_a_token_uploads_only_to_its_own_service(post_upload, other_service):
    token, raw = AgentToken.issue(other_service)
    response = post_upload(read_shared(f"{RUN}/s00_expvar.json"), token=raw, service="checkout")
    assert response.status_code == 202
    assert Upload.objects.get().service == other_service


def test_a_user_session_cannot_upload(member_client):
    response = member_client.post("/api/v1/uploads/?instance=x", b"goroutine 1 [running]:\n", content_type="text/plain")
    assert response.status_code == 403


def test_it_rate_limits_per_token(post_upload, settings, service):
    settings.GOTRIAGE_UPLOAD_RATE = "2/min"
    data = read_shared(f"{RUN}/s00_expvar.json")
    codes = [post_upload(data + b" " * i).status_code for i in range(3)]
    assert codes[:2] == [202, 202]
    assert codes[2] == 429
    # another token of the same service has its own budget
    _, other = AgentToken.issue(service)
    assert post_upload(data + b"  \n", token=other).status_code == 202


def test_retry_after_is_sent_when_rate_limited(post_upload, settings):
    settings.GOTRIAGE_UPLOAD_RATE = "1/min"
    post_upload(read_shared(f"{RUN}/s00_expvar.json"))
    response = post_upload(read_shared(f"{RUN}/s01_expvar.json"))
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0


def test_the_agent_can_read_its_upload_status(post_upload, api, agent_token):
    body = post_upload(read_shared(f"{RUN}/s00_goroutine_debug2.txt")).json()
    response = api.get(body["url"], HTTP_AUTHORIZATION=f"Bearer {agent_token[1]}")
    assert response.status_code == 200
    assert response.json()["status"] == Status.PROCESSED
    assert response.json()["snapshot"]


def test_another_teams_upload_is_404(post_upload, client, outsider):
    body = post_upload(read_shared(f"{RUN}/s00_goroutine_debug2.txt")).json()
    client.force_login(outsider)
    assert client.get(f"/api/v1/uploads/{body['id']}/").status_code == 404
    assert client.get("/api/v1/uploads/").json()["count"] == 0


def test_a_gzipped_protobuf_sent_with_transport_gzip_is_unwrapped_once(post_upload):
    response = post_upload(gzip.compress(read_shared(f"{RUN}/s01_goroutine.pb.gz")), headers={"HTTP_CONTENT_ENCODING": "gzip"})
    assert response.status_code == 202
    upload = Upload.objects.get()
    assert upload.kind == Kind.GOROUTINE_PROTO and upload.status == Status.PROCESSED


def test_corrupt_gzip_is_400(post_upload):
    response = post_upload(b"\x1f\x8b\x08\x00garbage-garbage", headers={"HTTP_CONTENT_ENCODING": "gzip"})
    assert response.status_code == 400


def test_rate_limit_fails_open_when_the_cache_is_down(post_upload, monkeypatch):
    from django.core.cache import cache

    def broken(*args, **kwargs):
        raise ConnectionError("redis down")

    monkeypatch.setattr(cache, "get", broken)
    monkeypatch.setattr(cache, "set", broken)
    assert post_upload(read_shared(f"{RUN}/s00_expvar.json")).status_code == 202


def test_curl_data_binary_default_content_type_works(post_upload):
    # `curl --data-binary @file` sends application/x-www-form-urlencoded.
    response = post_upload(read_shared(f"{RUN}/s04_goroutine_debug2.txt"), content_type="application/x-www-form-urlencoded")
    assert response.status_code == 202, response.content
    assert Upload.objects.get().kind == Kind.GOROUTINE_DEBUG2


def test_a_large_raw_body_is_not_capped_by_djangos_form_limit(post_upload, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = post_upload(read_shared(f"{RUN}/s05_goroutine_debug2.txt"))
    assert response.status_code == 202


def test_a_declared_kind_the_sniffer_does_not_know_is_left_to_the_parser(post_upload):
    response = post_upload(b"memory_limit: 512Mi\ncpu_limit: 500m\n", kind="cgroup")
    assert response.status_code == 202
    upload = Upload.objects.get()
    assert upload.kind == Kind.CGROUP and upload.status == Status.PROCESSED, upload.error


def test_a_declared_kind_does_not_excuse_a_broken_dump(post_upload):
    body = b"goroutine 1 [running]:\nmain.main()\n\t/app/main.go:10 +0x1d\n%%% garbage here %%%\n"
    response = post_upload(body, kind="goroutine_debug2")
    assert response.status_code == 400 and response.json()["line"] == 4
