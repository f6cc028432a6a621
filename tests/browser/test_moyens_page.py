"""The « Moyens engagés » page in real Chromium: tables, series, camera map, response rates, CSV export; no console error."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.browser.conftest import ARTIFACTS, open_page, wait_for_dash

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def means_data(dashboard_settings):  # noqa: ANN001, ANN201
    """Means per arrondissement (no action lines: the shared folder's action register belongs to other tests) and a
    full year of MJD activity, written into the served data folder (the page reads them at each request)."""
    from observatory.means.register import means_path
    from observatory.means.store import ingest_aggregates

    lines = ["means_id,arrondissement,service,start,end,staff_hours,patrols,cameras_in_service,budget_running_eur"]
    for year in (2023, 2024):
        for i in range(1, 10):
            lines.append(f"M-{year}-{i},{i},pm,{year}-01-01,{year}-12-31,{20000 + 1000 * i},{3000 + 100 * i},{10 + i},{14000 * (10 + i)}")
    path = means_path(dashboard_settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rows = ["Mois;Arrondissement;Activité;Nombre"]
    for month in range(1, 13):
        for i in range(1, 10):
            rows += [f"{month:02d}/2024;{i};Rappel à l'ordre;{2 + i % 3}", f"{month:02d}/2024;{i};TIG;{1 + i % 2}"]
    extract = dashboard_settings.raw_dir / "mjd_test" / "mjd_20250115.csv"
    extract.parent.mkdir(parents=True, exist_ok=True)
    extract.write_bytes(("\n".join(rows) + "\n").encode("cp1252"))
    assert ingest_aggregates(dashboard_settings, [extract], "mjd", now=datetime(2025, 1, 20)).published
    return dashboard_settings


def test_moyens_page_reads(page, dashboard_url, means_data):  # noqa: ANN001
    open_page(page, dashboard_url + "/moyens")
    body = page.inner_text("body")
    assert "Moyens engagés et réponse à la délinquance" in body
    assert "Heures pour 1 000 hab." in body and "Lyon 9e" in body
    assert "Rappels à l'ordre" in body and "Pour 100 faits (IC 95 %)" in body
    assert page.locator("#moyens-map .js-plotly-plot, #moyens-map.js-plotly-plot").count() >= 1
    page.locator("#moyens-year").click()
    page.get_by_role("option", name="2023").click()
    wait_for_dash(page)
    assert "Année 2023" in page.inner_text("#moyens-note")
    with page.expect_download() as download:
        page.locator("button:has-text('Moyens CSV')").click()
    text = download.value.path().read_bytes().decode("utf-8-sig")
    assert "heures_pour_1000_hab" in text and "69389" in text
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "moyens.png"), full_page=True)
    assert page.console_errors == [] and page.failed_callbacks == [] and page.foreign_requests == []
