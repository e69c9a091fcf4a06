"""The shared fixture works without a server or database (e.g. to render an email)."""
import pytest

pytestmark = pytest.mark.browser


def test_browser_page_renders_plain_html(browser_page):
    browser_page.set_content("<h1>Weekly report</h1><p>&lt;script&gt;alert(1)&lt;/script&gt;</p>")
    assert browser_page.locator("h1").inner_text() == "Weekly report"
    assert browser_page.locator("p").inner_text() == "<script>alert(1)</script>"
