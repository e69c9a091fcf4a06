import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.web.models import AdhocAnalysis
from tests.fixtures import read_shared

RESULT = {
    "snapshots": [{"file": "a.txt", "format": "debug2", "go_version": "go1.26.6", "total": 130}],
    "groups": [
        {"key": "k1", "wait_reason": "chan send", "count": 120, "max_wait_minutes": 14,
         "site": {"function": "<script>alert(1)</script>", "file": "/x.go", "line": 3},
         "created_by": {"function": "main.spawn", "file": "/x.go", "line": 1}, "pattern": "abandoned-send",
         "benign": None, "leaked": 0, "series": [120]},
        {"key": "k2", "wait_reason": "IO wait", "count": 10, "max_wait_minutes": None,
         "site": {"function": "net/http.(*persistConn).readLoop", "file": "/t.go", "line": 9},
         "created_by": None, "pattern": None, "benign": "http-client-idle-conn", "leaked": 0, "series": [10]},
    ],
    "suspects": [{"key": "k1", "wait_reason": "chan send", "count": 120, "max_wait_minutes": 14,
                  "site": {"function": "<script>alert(1)</script>", "file": "/x.go", "line": 3}, "created_by": None,
                  "pattern": "abandoned-send", "benign": None, "leaked": 0, "series": [120], "score": 0.8,
                  "evidence": ["120 goroutines blocked at one channel send for up to 14 minutes"]}],
    "stacks": {"k1": {"frames": [{"function": "<script>alert(1)</script>", "file": "/x.go", "line": 3}], "created_by": None, "labels": {}}},
}


@pytest.mark.django_db
def test_a_result_renders_suspects_and_groups_escaped(member_client, member):
    a = AdhocAnalysis.objects.create(user=member, title="a.txt", result=RESULT)
    r = member_client.get(f"/adhoc/{a.pk}/")
    body = r.content.decode()
    assert "<script>alert(1)</script>" not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "120 goroutines blocked at one channel send" in body
    assert len(r.context["groups"]) == 2 and len(r.context["suspects"]) == 1
    assert len(member_client.get(f"/adhoc/{a.pk}/?benign=hide").context["groups"]) == 1
    assert len(member_client.get(f"/adhoc/{a.pk}/?wait=IO+wait").context["groups"]) == 1
    assert len(member_client.get(f"/adhoc/{a.pk}/?q=persistConn").context["groups"]) == 1


@pytest.mark.django_db
def test_analyses_are_private_to_their_user(client, member, make_user, team):
    a = AdhocAnalysis.objects.create(user=member, title="mine", result=RESULT)
    teammate = make_user("bob", team=team)
    client.force_login(teammate)
    assert client.get(f"/adhoc/{a.pk}/").status_code == 404
    assert client.post(f"/adhoc/{a.pk}/delete").status_code == 404
    assert "mine" not in client.get("/adhoc/").content.decode()


@pytest.mark.django_db
def test_delete(member_client, member):
    a = AdhocAnalysis.objects.create(user=member, title="mine", result=RESULT)
    assert member_client.post(f"/adhoc/{a.pk}/delete").status_code == 302
    assert not AdhocAnalysis.objects.exists()


@pytest.mark.django_db
def test_nothing_submitted_says_what_to_do(member_client):
    r = member_client.post("/adhoc/", {"paste": "  "})
    assert "Drop or choose a dump file" in r.content.decode()


@pytest.mark.django_db
def test_a_pasted_dump_is_analysed(member_client, member):
    dump = read_shared("runs/go1.26.6/chan_send_timeout/long/s05_goroutine_debug2.txt").decode()
    r = member_client.post("/adhoc/", {"paste": "some log line\n" + dump + "\nmore logs\n"})
    assert r.status_code == 302, r.content.decode()[:2000]
    a = AdhocAnalysis.objects.get(user=member)
    page = member_client.get(r["Location"])
    assert page.context["groups"] and page.context["snapshots"][0]["file"] == "pasted text"
    top = page.context["suspects"][0]
    assert top["site"]["function"].endswith("(*ProfileService).Fetch.func1")
    assert a.result["stacks"]


@pytest.mark.django_db
def test_several_files_in_time_order_give_a_series(member_client, member):
    base = "runs/go1.26.6/chan_send_timeout/long/"
    files = [SimpleUploadedFile(f"s0{i}.txt", read_shared(f"{base}s0{i}_goroutine_debug2.txt")) for i in (4, 0, 2)]
    r = member_client.post("/adhoc/", {"dumps": files})
    assert r.status_code == 302
    page = member_client.get(r["Location"])
    assert [s["file"] for s in page.context["snapshots"]] == ["s00.txt", "s02.txt", "s04.txt"]
    assert page.context["multi"]
    assert len(page.context["suspects"][0]["series"]) == 3


@pytest.mark.django_db
def test_garbage_gets_a_helpful_error_not_a_500(member_client):
    r = member_client.post("/adhoc/", {"paste": "this is not a goroutine dump\n" * 5})
    assert r.status_code == 200
    assert r.context["error"].startswith("pasted text:")


@pytest.mark.django_db
def test_a_paste_over_the_form_limit_asks_for_a_file(member_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    r = member_client.post("/adhoc/", {"paste": "goroutine 1 [running]:\n" * 200})
    assert r.status_code == 200 and "drop the file instead" in r.context["error"]
