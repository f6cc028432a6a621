"""The "Plan d'actions" page in real Chromium at 1400 px: loads cleanly, the verdicts are on screen without
scrolling sideways, the perimeter map shows the arrondissements and the whole selected perimeter, and the
series' start/end labels do not sit under the legend. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import pytest

from tests.browser.conftest import ARTIFACTS, open_page

WIDTH, HEIGHT = 1400, 1000
SELECTED = "A2023-01"  # the 150 m circle of the random store's register (tests/dashboard_data.ACTIONS_CSV)


def _clean(page) -> None:  # noqa: ANN001
    assert page.console_errors == [], f"console errors: {page.console_errors}"
    assert page.failed_callbacks == [], f"failed callbacks: {page.failed_callbacks}"
    assert page.foreign_requests == [], f"requests left the machine: {page.foreign_requests}"


@pytest.fixture()
def actions_page(page, dashboard_url):  # noqa: ANN001, ANN201
    page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
    open_page(page, f"{dashboard_url}/actions?action={SELECTED}")
    page.wait_for_selector("#actions-eval-table-table td.verdict", timeout=30_000)
    page.wait_for_function("() => { const p = document.querySelector('#actions-map .js-plotly-plot'); return p && p._fullLayout && p._fullLayout.map && p._fullLayout.map._subplot && p._fullLayout.map._subplot.map && p._fullLayout.map._subplot.map.loaded(); }", timeout=30_000)
    return page


def test_actions_page_verdicts_visible_at_1400px(actions_page, dashboard_settings):  # noqa: ANN001
    page = actions_page
    from observatory.actions import actions_layer

    assert page.locator("h1").first.inner_text() == "Plan d'actions"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "page-actions.png"), full_page=True)

    # Every evaluation and objective row's verdict lies wholly inside the 1400 px viewport once its table is
    # scrolled into view vertically (no sideways scrolling), and the tables do not overflow their card.
    n_actions = len(actions_layer(dashboard_settings))
    for table_id, expected_rows in (("actions-eval-table-table", n_actions), ("actions-objectives-table-table", None)):
        table = page.locator(f"#{table_id}")
        if expected_rows is None and table.count() == 0:
            continue  # the random store's register has no numeric objective: the card says so instead
        table.scroll_into_view_if_needed()
        boxes = [c.bounding_box() for c in page.locator(f"#{table_id} td.verdict").all()]
        if expected_rows is not None:
            assert len(boxes) == expected_rows
        for box in boxes:
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= WIDTH, box
        overflow = page.evaluate("(id) => { const w = document.getElementById(id).parentElement; return w.scrollWidth - w.clientWidth; }", table_id)
        assert overflow <= 1, f"{table_id} overflows its card by {overflow} px at {WIDTH} px"
    page.locator("#actions-eval-table-table").screenshot(path=str(ARTIFACTS / "page-actions-evaluation.png"))
    verdicts = page.locator("#actions-eval-table-table td.verdict").all_inner_texts()
    assert any(v.startswith("Pas de conclusion possible") for v in verdicts)  # A2021-01 starts before the data
    _clean(page)


def test_actions_map_and_series_read_cleanly(actions_page, dashboard_settings):  # noqa: ANN001
    page = actions_page
    from observatory.actions import actions_layer

    layer = actions_layer(dashboard_settings)
    west, south, east, north = layer.loc[layer["action_id"] == SELECTED].geometry.iloc[0].bounds
    info = page.evaluate(
        """() => {
            const p = document.querySelector('#actions-map .js-plotly-plot');
            const b = p._fullLayout.map._subplot.map.getBounds();
            return {names: p._fullData.map(t => t.name), west: b.getWest(), east: b.getEast(), south: b.getSouth(), north: b.getNorth(),
                    outlines: p._fullData[0].locations.length};
        }"""
    )
    # Arrondissement outlines under the perimeters, the selected action named in the legend.
    assert info["names"][0] == "Arrondissements" and info["outlines"] == 9
    assert info["names"][-1].startswith(f"{SELECTED} — ")
    # The whole selected perimeter is in view, with room around it (not cut at an edge as before).
    assert info["west"] < west and east < info["east"] and info["south"] < south and north < info["north"], (info, (west, south, east, north))
    assert (info["east"] - info["west"]) > 3 * (east - west)
    page.locator("#actions-map").screenshot(path=str(ARTIFACTS / "page-actions-map.png"))

    # The start line's label does not overlap the legend of the monthly series.
    page.locator("#actions-series").scroll_into_view_if_needed()
    overlap = page.evaluate(
        """() => {
            const root = document.getElementById('actions-series');
            const legend = root.querySelector('g.legend').getBoundingClientRect();
            const labels = Array.from(root.querySelectorAll('g.annotation')).map(a => a.getBoundingClientRect());
            const meet = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
            return {n: labels.length, overlapping: labels.filter(l => meet(l, legend)).length};
        }"""
    )
    assert overlap["n"] >= 1 and overlap["overlapping"] == 0, overlap
    page.locator("#actions-series").screenshot(path=str(ARTIFACTS / "page-actions-series.png"))
    _clean(page)


def test_actions_exports_and_date_picker(actions_page):  # noqa: ANN001
    """Issue 7 / review #23: the evaluation table downloads as CSV from the browser; the form's dates are calendar
    pickers shown JJ/MM/AAAA, the categories a multi-select of French labels."""
    page = actions_page
    with page.expect_download(timeout=30_000) as download:
        page.locator('button[id*="actions-export"][id*="actions-eval-table"][id*="csv"]').click()
    assert download.value.suggested_filename == "evaluation-des-actions.csv"
    header = open(download.value.path(), encoding="utf-8-sig").readline()
    assert header.startswith("Identifiant;Intitulé;Verdict;")
    picker = page.locator("#actions-edit-start")
    picker.scroll_into_view_if_needed()
    assert "JJ/MM/AAAA" in page.locator("#actions-edit-start").evaluate("e => e.closest('.mb-2').innerText + (e.querySelector('input') || e).getAttribute('placeholder')")
    page.locator("#actions-edit-categories").click()
    # Dash 4's dropdown renders its menu in a popover outside the component.
    page.wait_for_selector("[role=option]", timeout=5_000)
    options = page.locator("[role=option]").all_inner_texts()
    assert "Cambriolages de logement" in options
    page.keyboard.press("Escape")
    _clean(page)
