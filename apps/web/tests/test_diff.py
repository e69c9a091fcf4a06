from datetime import timedelta

import pytest
from django.utils import timezone

from apps.web.tests import factories as F


@pytest.fixture
def pair(service):
    inst = F.instance(service, "pod-a")
    grow, shrink, gone, new, same = (F.signature(f"github.com/acme/shop/x.f{i}", "/b/x.go", i) for i in range(5))
    now = timezone.now()
    a = F.snapshot(service, inst, now - timedelta(hours=1), [(grow, 10, "chan send"), (shrink, 50, "select"), (gone, 7, "select"), (same, 3, "select")])
    b = F.snapshot(service, inst, now, [(grow, 110, "chan send"), (shrink, 20, "select"), (new, 4, "IO wait"), (same, 3, "select")])
    return {"a": a, "b": b, "now": now}


@pytest.mark.django_db
def test_it_classifies_new_grown_shrunk_gone_with_deltas(member_client, service, pair):
    r = member_client.get(f"/services/{service.slug}/diff/?a={pair['a'].pk}&b={pair['b'].pk}")
    rows = {x["function"].rsplit(".", 1)[-1]: x for x in r.context["page"].object_list}
    assert rows["f0"]["status"] == "grown" and rows["f0"]["delta"] == 100
    assert rows["f1"]["status"] == "shrunk" and rows["f1"]["delta"] == -30
    assert rows["f2"]["status"] == "gone" and rows["f2"]["after"] == 0
    assert rows["f3"]["status"] == "new" and rows["f3"]["before"] == 0
    assert "f4" not in rows  # unchanged groups are hidden unless asked for
    assert r.context["summary"] == {"new": 1, "grown": 1, "shrunk": 1, "gone": 1, "same": 1, "delta": 67}
    assert list(r.context["page"].object_list)[0]["delta"] == 100  # biggest change first
    fig = r.context["fig"]
    assert fig["data"][0]["orientation"] == "h" and 100 in fig["data"][0]["x"]


@pytest.mark.django_db
def test_status_filter(member_client, service, pair):
    r = member_client.get(f"/services/{service.slug}/diff/?a={pair['a'].pk}&b={pair['b'].pk}&status=gone")
    assert [x["status"] for x in r.context["page"].object_list] == ["gone"]


@pytest.mark.django_db
def test_defaults_to_the_latest_snapshot_and_its_predecessor(member_client, service, pair):
    r = member_client.get(f"/services/{service.slug}/diff/")
    assert (r.context["a"], r.context["b"]) == (pair["a"], pair["b"])


@pytest.mark.django_db
def test_swapped_snapshots_are_put_in_time_order(member_client, service, pair):
    r = member_client.get(f"/services/{service.slug}/diff/?a={pair['b'].pk}&b={pair['a'].pk}")
    assert r.context["a"] == pair["a"]


@pytest.mark.django_db
def test_two_times_pick_the_snapshot_at_or_before_each(member_client, service, pair):
    t1 = (pair["now"] - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M")
    t2 = (pair["now"] + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M")
    r = member_client.get(f"/services/{service.slug}/diff/?at_a={t1}&at_b={t2}")
    assert (r.context["a"], r.context["b"]) == (pair["a"], pair["b"])
    early = (pair["now"] - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    r = member_client.get(f"/services/{service.slug}/diff/?at_a={early}&at_b={t2}")
    assert "No snapshot at or before" in r.context["error"]


@pytest.mark.django_db
def test_another_services_snapshot_is_not_diffed(member_client, service, other_service, pair):
    foreign = F.snapshot(other_service, None, timezone.now(), [])
    r = member_client.get(f"/services/{service.slug}/diff/?a={foreign.pk}&b={pair['b'].pk}")
    assert r.context["error"] and r.context["page"] is None
    r = member_client.get(f"/services/{service.slug}/diff/?a=not-a-uuid&b={pair['b'].pk}")
    assert r.status_code == 200 and r.context["error"]


@pytest.mark.django_db
def test_exact_stack_key(member_client, service, pair):
    r = member_client.get(f"/services/{service.slug}/diff/?a={pair['a'].pk}&b={pair['b'].pk}&key=stack")
    assert r.context["summary"]["grown"] == 1


@pytest.mark.django_db
def test_empty_state(member_client, service):
    assert "none uploaded yet" in member_client.get(f"/services/{service.slug}/diff/").content.decode()
