"""The « Zones » page in real Chromium: the rate column follows « Taux par km² / Par habitant / Par exposition »,
the note says which one is shown, and nothing fails in the console."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS, open_page, wait_for_dash

pytestmark = pytest.mark.browser


def _note(page) -> str:  # noqa: ANN001
    """The method note under the zone table (pattern id {"type": "method-note", "target": "zones-table"})."""
    return page.locator("[id*='method-note'][id*='zones-table']").inner_text()


def test_zone_table_switches_between_surface_residents_and_exposure(page, dashboard_url):  # noqa: ANN001
    open_page(page, dashboard_url + "/zones?type=piscine")
    assert "Faits / km²" in page.inner_text("#zones-table")
    page.locator("#zones-rate label:has-text('Par exposition')").click()
    wait_for_dash(page)
    # The table is redrawn by a callback: wait for its new header rather than for an idle network (racy under load).
    expect(page.locator("#zones-table")).to_contain_text("Taux par exposition (IC 95 %)", timeout=30_000)
    table = page.inner_text("#zones-table")
    assert "Taux par exposition (IC 95 %)" in table and "Faits / km²" not in table
    assert "IC 95 % :" in table
    note = _note(page)
    assert "taux affiché : par exposition" in note and "pour 100 000 entrées" in note
    # The hypercentre has residents and people present: both rates exist, one shown at a time, named.
    page.locator("#zones-kind label:has-text('Hypercentre')").click()
    wait_for_dash(page)
    expect(page.locator("[id*='method-note'][id*='zones-table']")).to_contain_text("pour 1 000 personnes présentes par an", timeout=30_000)
    page.locator("#zones-rate label:has-text('Par habitant')").click()
    wait_for_dash(page)
    expect(page.locator("#zones-table")).to_contain_text("Taux pour 1 000 habitants par an (IC 95 %)", timeout=30_000)
    assert "Taux par exposition" not in page.inner_text("#zones-table")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "zones_exposure.png"), full_page=True)
    assert page.console_errors == [] and page.failed_callbacks == [] and page.foreign_requests == []
