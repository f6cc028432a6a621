"""The Veille page in real Chromium: loads cleanly, shows this week's watch and the history, cellule selector."""

from __future__ import annotations

from tests.browser.conftest import ARTIFACTS, open_page


def test_veille_page_shows_the_week_and_the_history(page, dashboard_url):
    open_page(page, dashboard_url + "/veille")
    assert page.locator("h1").first.inner_text().startswith("Veille")
    text = page.locator("#veille-alerts").inner_text()
    assert "Semaine " in text and "alerte(s)" in text
    n_alerts = page.locator(".veille-alert").count()
    assert ("Aucun périmètre suivi" in text) == (n_alerts == 0)
    # Each alert has its chart (observed vs expected band).
    assert page.locator(".veille-alert .js-plotly-plot").count() == n_alerts
    assert "Historique des alertes" in page.content()
    assert "Bonferroni" in page.locator("#veille-note").inner_text()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "page-veille.png"), full_page=True)
    assert page.console_errors == [], page.console_errors
    assert page.failed_callbacks == [], page.failed_callbacks


def test_veille_page_week_selector_reads_the_url(page, dashboard_url):
    open_page(page, dashboard_url + "/veille?semaine=2025-W40")
    assert "Semaine 2025-W40 :" in page.locator("#veille-alerts").inner_text()
    assert page.console_errors == [], page.console_errors
    assert page.failed_callbacks == [], page.failed_callbacks
