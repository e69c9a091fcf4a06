from datetime import timedelta

import pytest
from django.utils import timezone

from apps.web.tests import factories as F


def url(service, snap, q=""):
    return f"/services/{service.slug}/snapshots/{snap.pk}/{q}"


@pytest.fixture
def busy(service):
    """One snapshot with groups spread over wait reasons, packages, counts and minutes."""
    service.repo_url_template = "https://github.com/acme/shop/blob/main/{path}#L{line}"
    service.module_prefixes = "github.com/acme/shop/"
    service.save()
    inst = F.instance(service, "pod-a")
    a = F.signature("github.com/acme/shop/internal/orders.(*Fetcher).Fetch.func1", "/build/shop/internal/orders/fetch.go", 36)
    a2 = F.signature("github.com/acme/shop/internal/orders.(*Fetcher).Fetch.func1", "/build/shop/internal/orders/fetch.go", 36,
                     extra_frames=[{"function": "github.com/acme/shop/internal/orders.retry", "file": "/build/shop/internal/orders/retry.go", "line": 9}],
                     blocking_key=a.blocking_key)
    b = F.signature("github.com/acme/shop/internal/cache.(*Store).refresh", "/build/shop/internal/cache/store.go", 80,
                    wait_reason="select", creator="github.com/acme/shop/internal/cache.New")
    c = F.signature("net/http.(*persistConn).readLoop", "/usr/local/go/src/net/http/transport.go", 2300,
                    wait_reason="IO wait", creator="net/http.(*Transport).dialConn")
    snap = F.snapshot(service, inst, timezone.now(), [
        (a, 300, "chan send", 45, "abandoned-send"), (a2, 20, "chan send", 50, "abandoned-send"),
        (b, 12, "select", 3), (c, 4, "IO wait", None, "", "http-client-idle-conn"),
    ])
    return {"snap": snap, "a": a, "a2": a2, "b": b, "c": c}


def keys(r):
    return [g["site_function"] for g in r.context["groups"]]


@pytest.mark.django_db
def test_groups_by_blocking_site_by_default_most_goroutines_first(member_client, service, busy):
    r = member_client.get(url(service, busy["snap"]))
    groups = r.context["groups"]
    assert [g["count"] for g in groups] == [320, 12, 4]
    assert groups[0]["stacks"] == 2 and groups[0]["wait_minutes_max"] == 50
    assert groups[0]["pattern"]["id"] == "abandoned-send"
    assert groups[2]["benign"]["id"] == "http-client-idle-conn"


@pytest.mark.django_db
def test_grouping_key_toggle(member_client, service, busy):
    assert len(member_client.get(url(service, busy["snap"], "?key=stack")).context["groups"]) == 4
    r = member_client.get(url(service, busy["snap"], "?key=creation"))
    assert [g["count"] for g in r.context["groups"]] == [320, 12, 4]
    assert member_client.get(url(service, busy["snap"], "?key=bogus")).context["f"]["key"] == "site"


@pytest.mark.django_db
@pytest.mark.parametrize("query,expected", [
    ("?wait=select", ["github.com/acme/shop/internal/cache.(*Store).refresh"]),
    ("?pkg=net/http", ["net/http.(*persistConn).readLoop"]),
    ("?min_count=10", ["github.com/acme/shop/internal/orders.(*Fetcher).Fetch.func1", "github.com/acme/shop/internal/cache.(*Store).refresh"]),
    ("?min_minutes=46", ["github.com/acme/shop/internal/orders.(*Fetcher).Fetch.func1"]),
    ("?q=retry.go", ["github.com/acme/shop/internal/orders.(*Fetcher).Fetch.func1"]),
    ("?q=cache.New", ["github.com/acme/shop/internal/cache.(*Store).refresh"]),
    ("?q=nothing-like-this", []),
    ("?min_count=abc", None),
])
def test_filters(member_client, service, busy, query, expected):
    r = member_client.get(url(service, busy["snap"], query))
    assert r.status_code == 200
    if expected is None:
        assert len(r.context["groups"]) == 3
    else:
        assert keys(r) == expected


@pytest.mark.django_db
def test_min_minutes_counts_only_matching_stacks(member_client, service, busy):
    r = member_client.get(url(service, busy["snap"], "?min_minutes=46"))
    assert r.context["groups"][0]["count"] == 20


@pytest.mark.django_db
def test_frames_link_own_code_to_the_repository_only(member_client, service, busy):
    r = member_client.get(url(service, busy["snap"]))
    frames = r.context["groups"][0]["frames"]
    own = next(f for f in frames if f["function"].startswith("github.com/acme/shop/"))
    assert own["url"] == "https://github.com/acme/shop/blob/main/internal/orders/fetch.go#L36"
    assert own["is_site"]
    runtime = next(f for f in frames if f["function"] == "runtime.gopark")
    assert runtime["url"] is None and runtime["is_std"]
    assert 'href="https://github.com/acme/shop/blob/main/internal/orders/fetch.go#L36"' in r.content.decode()


@pytest.mark.django_db
def test_pagination(member_client, service):
    inst = F.instance(service, "pod-a")
    sigs = [F.signature(f"github.com/acme/shop/w.f{i}", "/b/w.go", i) for i in range(230)]
    snap = F.snapshot(service, inst, timezone.now(), [(s, 1000 - i, "chan receive") for i, s in enumerate(sigs)])
    r = member_client.get(url(service, snap, "?page=3"))
    assert r.context["page"].paginator.num_pages == 3
    assert len(r.context["groups"]) == 30 and r.context["groups"][0]["count"] == 800
    assert "page 3 of 3" in r.content.decode()
    assert member_client.get(url(service, snap, "?page=99")).status_code == 200


@pytest.mark.django_db
def test_raw_download(member_client, service, busy):
    up = F.upload(service, raw=b"goroutine 1 [running]:\nmain.main()\n", filename="dump <1>.txt")
    busy["snap"].upload = up
    busy["snap"].save()
    r = member_client.get(url(service, busy["snap"], "raw"))
    assert r.status_code == 200 and r.content.startswith(b"goroutine 1 [running]")
    assert r["Content-Disposition"] == 'attachment; filename="dump1.txt"'
    assert r["Content-Type"].startswith("text/plain")


@pytest.mark.django_db
def test_raw_download_of_a_pruned_upload_is_404(member_client, service, busy):
    assert member_client.get(url(service, busy["snap"], "raw")).status_code == 404
    assert "raw not kept" in member_client.get(url(service, busy["snap"])).content.decode()


@pytest.mark.django_db
def test_diff_with_previous_link(member_client, service, busy):
    older = F.snapshot(service, busy["snap"].instance, timezone.now() - timedelta(minutes=5), [(busy["a"], 10, "chan send")])
    body = member_client.get(url(service, busy["snap"])).content.decode()
    assert f"?a={older.pk}&amp;b={busy['snap'].pk}" in body


@pytest.mark.django_db
def test_snapshot_list(member_client, service, busy):
    r = member_client.get(f"/services/{service.slug}/snapshots/")
    assert list(r.context["page"].object_list) == [busy["snap"]]


@pytest.mark.django_db
def test_snapshot_page_query_count_is_flat(member_client, service, busy, django_assert_max_num_queries):
    with django_assert_max_num_queries(14):
        member_client.get(url(service, busy["snap"], "?q=shop"))


@pytest.mark.django_db
def test_raw_file_pruned_from_storage_is_404_not_500(member_client, service, busy):
    up = F.upload(service, raw=b"goroutine 1 [running]:\n", filename="d.txt")
    busy["snap"].upload = up
    busy["snap"].save()
    up.raw.storage.delete(up.raw.name)
    assert member_client.get(url(service, busy["snap"], "raw")).status_code == 404
    assert "raw not kept" in member_client.get(url(service, busy["snap"])).content.decode()
