"""The « Sentiment d'insécurité » page in real Chromium: estimates with their intervals, the map labels drawn
without any request off the machine, the dark-figure table, the CSV export, no console error."""

from __future__ import annotations

import pytest

from tests.browser.conftest import ARTIFACTS, open_page, wait_for_dash

pytestmark = pytest.mark.browser


def test_sentiment_page_reads_and_exports(page, dashboard_url):  # noqa: ANN001
    open_page(page, dashboard_url + "/sentiment")
    body = page.inner_text("body")
    assert "Sentiment d'insécurité : ce que disent les habitants" in body
    assert "Quartiers prioritaires (QPV)" in body and "IC 95 %" in body
    assert "chiffre noir" in body
    # The map's labels (estimate and interval per arrondissement) are SVG text, not glyphs fetched from a server.
    labels = page.locator("#sentiment-map .annotation-text-g")  # annotations (the 1er's and 2e's set aside)
    assert labels.count() == 9
    assert "(" in labels.first.text_content()
    # Changing the wave redraws everything.
    page.locator("#sentiment-wave").click()
    page.get_by_role("option", name="2021").click()
    wait_for_dash(page)
    assert "vague 2021" in page.inner_text("#sentiment-note")
    with page.expect_download() as download:
        page.locator("button:has-text('CSV')").first.click()
    path = download.value.path()
    text = path.read_bytes().decode("utf-8-sig")
    assert text.startswith("vague;indicateur;libelle;territoire") and "insecurite_soir" in text
    assert "2025-0" not in text  # respondent ids never leave the store
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "sentiment.png"), full_page=True)
    assert page.console_errors == [] and page.failed_callbacks == [] and page.foreign_requests == []
