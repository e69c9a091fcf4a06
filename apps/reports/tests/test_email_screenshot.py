"""The weekly mail as Chromium renders it: docs/screenshots/email-weekly.png.

Written to docs/ only with GOTRIAGE_UPDATE_SCREENSHOTS=1, so ordinary runs
leave the work tree alone.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from django.utils import timezone

from apps.reports.emails import report_html
from apps.reports.tests.factories import MiB, seed_week
from apps.reports.weekly import build_report

REPO = Path(__file__).resolve().parents[3]
CHROMIUM = os.environ.get("GOTRIAGE_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def _chromium_or_skip():
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")


@pytest.mark.browser
def test_weekly_mail_renders_in_chromium(make_service, team, member, tmp_path):
    _chromium_or_skip()
    from playwright.sync_api import sync_playwright

    team.name = "Payments"
    team.save()
    end = timezone.now()
    checkout = make_service("checkout", team=team, name="Checkout API", memory_limit_bytes=512 * MiB)
    seed_week(checkout, end)
    ledger = make_service("ledger", team=team, name="Ledger writer", memory_limit_bytes=1024 * MiB)
    seed_week(ledger, end, leak_per_hour=0, rss_start=300 * MiB, rss_slope=0.1 * MiB)
    html = report_html(build_report(team, end), member)

    out = REPO / "docs" / "screenshots" if os.environ.get("GOTRIAGE_UPDATE_SCREENSHOTS") == "1" else tmp_path
    out.mkdir(parents=True, exist_ok=True)
    target = out / "email-weekly.png"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 760, "height": 900}, device_scale_factor=1)
        page.set_content(html, wait_until="load")
        # Every chart decoded: a broken data: URI would leave naturalWidth at 0.
        widths = page.eval_on_selector_all("img", "imgs => imgs.map(i => i.naturalWidth)")
        page.screenshot(path=str(target), full_page=True)
        browser.close()
    assert widths and all(w > 0 for w in widths), widths
    assert target.stat().st_size > 20_000
