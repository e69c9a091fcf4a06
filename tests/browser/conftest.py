"""Real-browser fixtures: Debian's Chromium driven by Playwright against pytest-django's live_server.

Reusable: `browser_page` is a fresh Playwright page (1440×900, UTC) in its own
context, with `page.js_errors` collecting uncaught page errors;
`login(page, live_server, user)` signs in through the real form;
`screenshot(page, name)` saves docs/screenshots/<name>.png;
`wait_for_charts(page)` waits until plotly has drawn every chart.

Playwright's sync API runs an event loop in this thread, which makes Django
refuse ORM calls made from the test body; the live server runs in its own
thread, so allowing "async unsafe" calls here is safe.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = os.environ.get("GOTRIAGE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PASSWORD = "pw-for-tests-1"  # tests.fixtures.make_user's default


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def chromium_browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: apt-get install -y chromium (or set GOTRIAGE_CHROMIUM)")
    pw = sync_playwright().start()
    browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    yield browser
    browser.close()
    pw.stop()


@pytest.fixture
def browser_page(chromium_browser):
    """A fresh page. Needs no database: `page.set_content(html)` works (e.g. to screenshot an email);
    tests that use `live_server` get a transactional database from pytest-django automatically."""
    context = chromium_browser.new_context(viewport={"width": 1440, "height": 900}, timezone_id="UTC", locale="en-US")
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors  # tests may assert nothing blew up in the page
    yield page
    context.close()


def login(page, live_server, user, password: str = PASSWORD):
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", user.get_username())
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def screenshot(page, name: str, full_page: bool = True) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def wait_for_charts(page, count: int | None = None):
    """Wait until plotly has drawn every [data-fig] div (it adds .main-svg)."""
    page.wait_for_function(
        "() => { const d = document.querySelectorAll('[data-fig]');"
        " return d.length > 0 && Array.from(d).every(x => x.querySelector('.main-svg') && x.data && x.data.length > 0); }"
    )
    if count is not None:
        assert page.locator("[data-fig] .main-svg").count() >= count
