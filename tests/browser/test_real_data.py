"""Browser walk over data that came from real Go captures through the upload API; makes the docs screenshots."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from apps.services.models import AgentToken, Service
from apps.web.tests import factories as F
from apps.web.tests.realdata import load_run
from tests.browser.conftest import login, screenshot, wait_for_charts
from tests.fixtures import shared_path

pytestmark = pytest.mark.browser
MIB = 1024 * 1024


@pytest.fixture
def fleet(team, service):
    """checkout (two pods leaking at different rates), ledger (WaitGroup leak, Go 1.24), edge-proxy (healthy keep-alive)."""
    client = Client()
    now = timezone.now()
    service.name = "Checkout API"
    service.memory_limit_bytes = 256 * MIB
    service.cpu_limit_cores = 1.0
    service.module_prefixes = "github.com/acme/leaklab/"
    service.repo_url_template = "https://github.com/acme/leaklab/blob/main/{path}#L{line}"
    service.save()
    ledger = Service.objects.create(team=team, slug="ledger", name="Ledger writer", memory_limit_bytes=512 * MIB,
                                    module_prefixes="github.com/acme/leaklab/")
    edge = Service.objects.create(team=team, slug="edge-proxy", name="Edge proxy", memory_limit_bytes=128 * MIB)
    Service.objects.create(team=team, slug="search", name="Search indexer")
    runs = [
        (service, "go1.26.6/chan_send_timeout/long", "checkout-7d9f-a"),
        (service, "go1.26.6/chan_send_timeout/short", "checkout-7d9f-b"),
        (ledger, "go1.24.11/waitgroup_missed_done/short", "ledger-0"),
        (edge, "go1.26.6/http_keepalive/short", "edge-proxy-5c4b-x"),
    ]
    for svc, run, inst in runs:
        _, raw = AgentToken.issue(svc, name="agent")
        load_run(client, raw, run, inst, now - timedelta(minutes=101), spacing=timedelta(minutes=20))
    F.upload(service, None, status="failed", error="expected a goroutine header like 'goroutine 1 [running]:' (got HTML: is the URL right?)",
             error_line=1, filename="goroutine.html")
    return service


def test_walk_and_screenshots_on_real_captures(browser_page, live_server, member, fleet):
    page = browser_page
    login(page, live_server, member)
    assert page.locator("#fleet-table tbody tr").count() == 4
    screenshot(page, "fleet")

    page.click("#fleet-table a:has-text('Checkout API')")
    wait_for_charts(page, count=4)
    first = page.locator("#suspects-table tbody tr").first
    name = first.locator("a.mono").inner_text()
    assert name.endswith("Fetch.func1")
    screenshot(page, "service")

    first.locator("a.mono").click()
    wait_for_charts(page, count=1)
    screenshot(page, "blocking-site")
    page.check("input[name=triage_state][value=known_benign]")
    page.click(".triage-form button[type=submit]")
    page.wait_for_selector(".messages")
    page.click(".tabs a:has-text('Overview')")
    wait_for_charts(page)
    assert page.locator("#suspects-table").get_by_text(name, exact=True).count() == 0

    page.click(".tabs a:has-text('Snapshots')")
    page.locator("table.data tbody tr a").first.click()
    page.locator("details.group").first.locator("summary").click()
    assert page.locator("details.group[open] ol.frames li.site a").first.get_attribute("href").startswith(
        "https://github.com/acme/leaklab/blob/main/internal/scenarios/")
    screenshot(page, "snapshot")

    page.click(".tabs a:has-text('Diff')")
    wait_for_charts(page, count=1)
    assert page.locator("#diff-table tbody tr").first.locator(".st").inner_text().lower() == "grown"
    screenshot(page, "diff")

    page.click(".tabs a:has-text('Tuning')")
    wait_for_charts(page, count=1)
    page.wait_for_function("() => document.getElementById('p-gcmin').textContent.trim() !== '—'")
    before = page.locator("#p-gcmin").inner_text()
    page.locator("#gogc").fill("400")
    page.wait_for_function(f"() => document.getElementById('p-gcmin').textContent.trim() !== '{before}'")
    assert float(page.locator("#p-gcmin").inner_text()) < float(before)
    assert page.locator("#whatif-error").inner_text() == ""
    screenshot(page, "tuning")

    page.click(".tabs a:has-text('Settings')")
    screenshot(page, "settings")
    assert page.js_errors == []


def test_adhoc_upload_of_a_fixture_dump_shows_its_groups(browser_page, live_server, member):
    page = browser_page
    login(page, live_server, member)
    page.click("nav a:has-text('Ad-hoc analysis')")
    screenshot(page, "adhoc-upload")
    dump = shared_path("runs/go1.26.6/chan_send_timeout/long/s05_goroutine_debug2.txt")
    page.set_input_files("#dumps", str(dump))
    assert "s05_goroutine_debug2.txt" in page.locator("#dz-files").inner_text()
    page.click("#adhoc-form button[type=submit]")
    page.wait_for_url("**/adhoc/*-*/")
    assert page.locator("details.group").count() >= 3
    assert "Fetch.func1" in page.locator("#adhoc-suspects").inner_text()
    page.locator("details.group").first.locator("summary").click()
    assert page.locator("details.group[open] ol.frames li").count() >= 2
    screenshot(page, "adhoc-result")


def test_adhoc_paste_error_is_shown(browser_page, live_server, member):
    page = browser_page
    login(page, live_server, member)
    page.goto(f"{live_server.url}/adhoc/")
    page.fill("textarea[name=paste]", "<script>alert(1)</script> not a dump")
    page.click("#adhoc-form button[type=submit]")
    assert page.locator("#adhoc-error").is_visible()
    assert page.locator("textarea[name=paste]").input_value().startswith("<script>")
