"""The sign-in page as a signed-out visitor sees it (review #10): no filter bar, no callback the server would
refuse, no console error; once signed in, the filter bar is there again."""

from __future__ import annotations

from tests.browser.conftest import ARTIFACTS, open_page
from tests.browser.test_login import PASSWORD, secured_url  # noqa: F401 - fixture: gunicorn with an élu and an analyst


def _watch(page):  # noqa: ANN001, ANN202
    """Every callback request and its status (the page fixture records only failures)."""
    calls = []
    page.on("response", lambda r: calls.append((r.status, r.url)) if "_dash-update-component" in r.url else None)
    return calls


def test_sign_in_page_renders_no_filter_bar_and_no_refused_callback(page, secured_url):  # noqa: ANN001, F811
    calls = _watch(page)
    open_page(page, secured_url + "/connexion")
    assert page.locator("h1").first.inner_text().startswith("Connexion")
    assert page.locator(".filter-bar").count() == 0
    assert page.locator("#filter-start").count() == 0
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "page-connexion.png"), full_page=True)
    assert [c for c in calls if c[0] >= 400] == []
    assert page.console_errors == [], page.console_errors

    # A first visit of a protected page is redirected to the sign-in page: same clean result.
    page.console_errors.clear()
    open_page(page, secured_url + "/zones")
    assert "/connexion" in page.url
    assert page.locator(".filter-bar").count() == 0
    assert [c for c in calls if c[0] >= 400] == [] and page.console_errors == []

    # Signed in as an élu, the shell has its filter bar again, and its callbacks are answered.
    page.fill("#connexion-utilisateur", "paul")
    page.fill("#connexion-mot-de-passe", PASSWORD)
    page.locator("form button[type=submit], form input[type=submit]").first.click()
    page.wait_for_selector(".filter-bar", timeout=30_000)
    open_page(page, secured_url + "/zones")
    assert page.locator(".filter-bar").is_visible()
    assert [c for c in calls if c[0] >= 400] == [] and page.console_errors == [], (calls, page.console_errors)
