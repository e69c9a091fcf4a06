import json
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.web.tests import factories as F


def figs(response):
    return dict(response.context["figs"])


@pytest.mark.django_db
def test_it_draws_four_charts_with_units(member_client, service, leaky):
    r = member_client.get(f"/services/{service.slug}/")
    f = figs(r)
    assert set(f) == {"chart-goroutines", "chart-memory", "chart-gc", "chart-gcrate"}
    names = [t["name"] for t in f["chart-memory"]["data"]]
    assert {"heap in use", "RSS", "GOMEMLIMIT", "container limit"} <= set(names)
    assert f["chart-memory"]["layout"]["yaxis"]["title"]["text"] == "MiB"
    gor = f["chart-goroutines"]["data"]
    assert gor[-1]["name"] == "all goroutines" and max(v for v in gor[-1]["y"] if v) == 248
    assert any(t.get("stackgroup") == "sites" for t in gor)
    limit = next(t for t in f["chart-memory"]["data"] if t["name"] == "container limit")
    assert limit["y"] == [512.0, 512.0]
    body = r.content.decode()
    assert 'id="chart-memory"' in body and "vendor/plotly.min.js" in body and "js/charts.js" in body


@pytest.mark.django_db
def test_untrusted_names_stay_out_of_plotly_text(member_client, service, leaky):
    f = figs(member_client.get(f"/services/{service.slug}/"))
    dumped = json.dumps(f)
    assert "<script>" not in dumped
    assert all("text" not in t for t in f["chart-goroutines"]["data"])


@pytest.mark.django_db
def test_suspects_table_shows_score_evidence_and_state(member_client, service, leaky):
    r = member_client.get(f"/services/{service.slug}/")
    assert [s.pk for s in r.context["suspects"]] == [leaky["suspect"].pk, leaky["xss_site"].pk]
    body = r.content.decode()
    assert "0.90" in body and "grew from 3 to 120" in body and "abandoned-send" in body


@pytest.mark.django_db
def test_known_benign_moves_a_suspect_to_the_triaged_list(member_client, service, leaky):
    leaky["suspect"].triage_state = "known_benign"
    leaky["suspect"].save()
    r = member_client.get(f"/services/{service.slug}/")
    assert leaky["suspect"] not in r.context["suspects"]
    assert leaky["suspect"] in r.context["triaged"]


@pytest.mark.django_db
def test_failed_uploads_show_their_error(member_client, service, leaky):
    body = member_client.get(f"/services/{service.slug}/").content.decode()
    assert "1 failed" in body
    assert "expected &#x27;goroutine N [state]:&#x27; header" in body and "(line 3)" in body


@pytest.mark.django_db
def test_recommendation_card(member_client, service, leaky):
    body = member_client.get(f"/services/{service.slug}/").content.decode()
    assert "400.0 MiB" in body or "400 MiB" in body
    assert "Rationale, snippets and what-if" in body


@pytest.mark.django_db
def test_instance_filter_narrows_the_series(member_client, service, leaky):
    r = member_client.get(f"/services/{service.slug}/?instance=pod-a")
    assert r.context["instance"].name == "pod-a"
    gor = figs(r)["chart-goroutines"]["data"][-1]
    assert max(v for v in gor["y"] if v) == 124
    r = member_client.get(f"/services/{service.slug}/?instance=nope")
    assert r.context["instance"] is None and r.context["unknown_instance"]


@pytest.mark.django_db
def test_time_range_picker_and_custom_range(member_client, service, leaky):
    r = member_client.get(f"/services/{service.slug}/?range=1h")
    assert r.context["range"].label == "1h" and r.context["range"].step == 60
    r = member_client.get(f"/services/{service.slug}/?range=30d")
    # the fixture holds about an hour of data: the 30-day view starts where it starts
    assert r.context["range"].label == "30d" and r.context["range"].step == 60
    from apps.web.series import parse_range

    assert parse_range({"range": "30d"}).step == 7200
    old = (timezone.now() - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    older = (timezone.now() - timedelta(days=4)).strftime("%Y-%m-%dT%H:%M")
    r = member_client.get(f"/services/{service.slug}/?from={older}&to={old}")
    assert r.context["range"].label == "custom"
    assert r.context["figs"] == []
    assert "No snapshots or runtime samples in this time range" in r.content.decode()
    assert member_client.get(f"/services/{service.slug}/?range=bogus").context["range"].label == "24h"


@pytest.mark.django_db
def test_empty_service_says_how_to_send_data(member_client, service):
    body = member_client.get(f"/services/{service.slug}/").content.decode()
    assert "Nothing uploaded yet" in body and "/api/v1/uploads/" in body
    assert "No open leak suspects" in body


@pytest.mark.django_db
def test_gc_rate_falls_back_to_gctrace_cycles(member_client, service):
    inst = F.instance(service, "pod-x")
    start = timezone.now() - timedelta(minutes=30)
    F.GCCycle.objects.bulk_create([
        F.GCCycle(service=service, instance=inst, at=start + timedelta(seconds=20 * i), num=i + 1) for i in range(60)
    ])
    F.MemSample.objects.create(service=service, instance=inst, at=start, source="expvar", heap_inuse=10)
    f = figs(member_client.get(f"/services/{service.slug}/?range=1h"))
    assert any(v and v >= 2.9 for v in f["chart-gcrate"]["data"][0]["y"])


@pytest.mark.django_db
def test_custom_range_form_round_trips(member_client, service, leaky):
    start = (timezone.now() - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    end = timezone.now().strftime("%Y-%m-%dT%H:%M")
    r = member_client.get(f"/services/{service.slug}/?from={start}&to={end}")
    body = r.content.decode()
    assert r.context["range"].label == "custom"
    assert f'name="from" value="{start}"' in body and '<details class="custom-range" open>' in body
