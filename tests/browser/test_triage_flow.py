"""The triage walk in a real browser: fleet → service → suspect → known benign; diff; escaping; charts."""
from __future__ import annotations

import pytest

from apps.web.tests import factories as F
from tests.browser.conftest import login, screenshot, wait_for_charts

pytestmark = pytest.mark.browser


@pytest.fixture
def leaky(service, team):
    data = F.leaky_service(service, with_xss=True)
    F.quiet_services(team)
    return data


def test_mark_suspect_known_benign_removes_it_from_suspects(browser_page, live_server, member, service, leaky):
    page = browser_page
    login(page, live_server, member)
    assert page.locator("#fleet-table").get_by_text("checkout").is_visible()

    page.click("#fleet-table a:has-text('checkout')")
    page.wait_for_url(f"{live_server.url}/services/checkout/")
    wait_for_charts(page, count=4)
    suspects = page.locator("#suspects-table")
    assert suspects.get_by_text("(*Fetcher).Fetch.func1").count() == 1

    suspects.get_by_text("(*Fetcher).Fetch.func1").click()
    page.wait_for_url(f"**/sites/{leaky['suspect'].pk}/")
    wait_for_charts(page)
    assert page.get_by_text("Sample stack").is_visible()

    page.check("input[name=triage_state][value=known_benign]")
    page.select_option("select[name=owner]", "alice")
    page.fill("textarea[name=notes]", "Bounded by the request timeout; <b>not</b> a leak.")
    page.click(".triage-form button[type=submit]")
    page.wait_for_selector(".messages")
    assert page.locator("ol.history").get_by_text("Known benign").count() == 1
    assert page.locator("textarea[name=notes]").input_value() == "Bounded by the request timeout; <b>not</b> a leak."

    page.goto(f"{live_server.url}/services/checkout/")
    assert page.locator("#suspects-table").get_by_text("(*Fetcher).Fetch.func1").count() == 0
    page.locator("details.triaged summary").click()
    assert page.locator("details.triaged").get_by_text("Known benign").is_visible()
    assert page.js_errors == []


def test_script_frame_renders_as_text(browser_page, live_server, member, service, leaky):
    page = browser_page
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    login(page, live_server, member)
    snap = leaky["snaps"][-1]
    page.goto(f"{live_server.url}/services/checkout/snapshots/{snap.pk}/?q=alert")
    group = page.locator("details.group").first
    group.locator("summary").click()
    assert group.locator("summary .site").inner_text().startswith("<script>alert(1)</script>")
    assert page.locator("ol.frames .fn", has_text="<script>alert(1)</script>").count() == 1
    assert page.locator("script:text('alert(1)')").count() == 0
    screenshot(page, "snapshot-escaped")

    page.goto(f"{live_server.url}/services/checkout/sites/{leaky['xss_site'].pk}/")
    wait_for_charts(page)
    assert page.locator("h2.site-title").inner_text() == "<script>alert(1)</script>"
    page.goto(f"{live_server.url}/services/checkout/")
    wait_for_charts(page)
    assert dialogs == [], "an injected script ran"


def test_snapshot_groups_filter_and_expand(browser_page, live_server, member, service, leaky):
    page = browser_page
    login(page, live_server, member)
    snap = leaky["snaps"][-1]
    page.goto(f"{live_server.url}/services/checkout/snapshots/{snap.pk}/")
    assert page.locator("details.group").count() == 3
    page.locator("details.group").first.locator("summary").click()
    link = page.locator("details.group").first.locator("ol.frames a").first
    assert link.get_attribute("href").startswith("https://github.com/acme/shop/blob/main/")
    page.select_option("select[name=wait]", "chan receive")
    page.click(".filters button[type=submit]")
    page.wait_for_url("**wait=chan+receive**")
    assert page.locator("details.group").count() == 1
    assert "benign" in page.locator("details.group .badges").inner_text()


def test_diff_shows_grown_group_with_chart(browser_page, live_server, member, service, leaky):
    page = browser_page
    login(page, live_server, member)
    snaps = [s for s in leaky["snaps"] if s.instance.name == "pod-a"]
    page.goto(f"{live_server.url}/services/checkout/diff/?a={snaps[0].pk}&b={snaps[-1].pk}")
    wait_for_charts(page, count=1)
    row = page.locator("#diff-table tbody tr").first
    assert row.locator(".st").inner_text().lower() == "grown"
    assert row.locator("td").nth(5).inner_text() == "+100"


def test_tuning_what_if_redraws(browser_page, live_server, member, service, leaky):
    page = browser_page
    login(page, live_server, member)
    page.goto(f"{live_server.url}/services/checkout/tuning/")
    wait_for_charts(page, count=1)
    assert page.locator(".snippet pre").first.inner_text().startswith("env:")


def test_settings_token_shown_once(browser_page, live_server, member, service, leaky):
    page = browser_page
    login(page, live_server, member)
    page.goto(f"{live_server.url}/services/checkout/settings/")
    page.fill(".inline-form input[name=name]", "prod-sidecar")
    page.click(".inline-form button[type=submit]")
    raw = page.locator("#token-raw").inner_text()
    assert raw.startswith("gta_")
    screenshot(page, "settings-token")
    page.reload()
    assert page.locator("#token-raw").count() == 0
    assert page.locator("#tokens").get_by_text("prod-sidecar").is_visible()


def test_fleet_sorts_and_filters_in_the_browser(browser_page, live_server, member, service, leaky):
    page = browser_page
    login(page, live_server, member)
    names = lambda: page.locator("#fleet-table tbody tr:not([hidden]) td:first-child a").all_inner_texts()  # noqa: E731
    assert names()[0] == "checkout"  # most open suspects first
    page.click("#fleet-table th:has-text('Service')")
    assert names() == sorted(names(), key=str.lower)
    page.click("#fleet-table th:has-text('Service')")
    assert names() == sorted(names(), key=str.lower, reverse=True)
    page.fill("input[data-filter-table]", "ledg")
    assert names() == ["Ledger writer"]
    assert page.locator("#fleet-table tbody tr.stale").count() >= 1
