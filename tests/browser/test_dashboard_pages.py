"""The dashboard in real Chromium: every page loads cleanly, filters drive the figures and live in the URL,
a click on an arrondissement opens its panel, exports download French CSV, nothing leaves the machine."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import ARTIFACTS, open_page, wait_for_dash

PAGES = {"/": "Vue d'ensemble", "/carte": "Carte", "/tendances": "Tendances", "/zones": "Zones", "/donnees": "Données"}


def _clean(page) -> None:  # noqa: ANN001
    assert page.console_errors == [], f"console errors: {page.console_errors}"
    assert page.failed_callbacks == [], f"failed callbacks: {page.failed_callbacks}"
    assert page.foreign_requests == [], f"requests left the machine: {page.foreign_requests}"


def _trace_values(page, graph_id: str, key: str = "y") -> list:  # noqa: ANN001
    return page.evaluate(
        """([id, key]) => {
            const el = document.getElementById(id);
            const plot = el && (el.classList.contains('js-plotly-plot') ? el : el.querySelector('.js-plotly-plot'));
            if (!plot || !plot._fullData) { return null; }
            return plot._fullData.map(t => Array.from(t[key] || []));
        }""",
        [graph_id, key],
    )


@pytest.mark.parametrize("path", list(PAGES))
def test_every_page_loads_without_errors(page, dashboard_url, path):  # noqa: ANN001
    open_page(page, dashboard_url + path)
    assert page.locator("h1").first.inner_text().startswith(PAGES[path])
    # Every figure was drawn by its callback (none left as the empty placeholder).
    n_plots = page.locator(".js-plotly-plot").count()
    assert n_plots >= 1
    empty = page.evaluate("() => Array.from(document.querySelectorAll('.js-plotly-plot')).filter(p => !p.data || p.data.length === 0).length")
    assert empty == 0, f"{empty} figure(s) left empty on {path}"
    # Method notes are filled and French.
    notes = page.locator(".method-note").all_inner_texts()
    assert any(n.startswith("Source :") for n in notes)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    name = path.strip("/") or "vue-d-ensemble"
    page.screenshot(path=str(ARTIFACTS / f"page-{name}.png"), full_page=True)
    _clean(page)


def test_filter_change_changes_figures_and_url(page, dashboard_url):  # noqa: ANN001
    open_page(page, dashboard_url + "/tendances")
    before = _trace_values(page, "trends-monthly")
    assert before and sum(before[0]) > 0
    # Untick saturday and sunday in the shared filter bar.
    page.locator("#filter-weekdays label", has_text="sam").click()
    page.locator("#filter-weekdays label", has_text="dim").click()
    page.wait_for_function("() => window.location.search.includes('weekdays=')", timeout=15_000)
    wait_for_dash(page)
    after = _trace_values(page, "trends-monthly")
    assert after != before
    assert sum(after[0]) < sum(before[0])
    assert "weekdays=0%2C1%2C2%2C3%2C4" in page.url or "weekdays=0,1,2,3,4" in page.url
    _clean(page)


def test_url_reproduces_the_view(page, dashboard_url):  # noqa: ANN001
    url = dashboard_url + "/tendances?arrondissements=69381&families=atteintes_biens&comparaison=year&par=category"
    open_page(page, url)
    first = _trace_values(page, "trends-monthly")
    compare_first = _trace_values(page, "trends-compare", "x")
    assert page.locator("#filter-arrondissements").inner_text().find("Lyon 1er") >= 0
    open_page(page, dashboard_url + "/tendances")
    unfiltered = _trace_values(page, "trends-monthly")
    assert unfiltered != first
    open_page(page, url)
    assert _trace_values(page, "trends-monthly") == first
    assert _trace_values(page, "trends-compare", "x") == compare_first
    assert page.locator("#trends-compare-kind input[value='year']").is_checked()
    _clean(page)


def test_navigation_keeps_the_filters(page, dashboard_url):  # noqa: ANN001
    open_page(page, dashboard_url + "/?arrondissements=69383")
    page.locator("#nav a", has_text="Carte").click()
    page.wait_for_url(re.compile(r".*/carte\?.*arrondissements=69383.*"), timeout=15_000)
    wait_for_dash(page)
    assert "Lyon 3e" in page.locator("#filter-arrondissements").inner_text()
    _clean(page)


def test_click_on_an_arrondissement_opens_its_panel(page, dashboard_url):  # noqa: ANN001
    open_page(page, dashboard_url + "/carte")
    graph = page.locator(".js-plotly-plot").first
    page.wait_for_timeout(1500)  # MapLibre draws its layers after Plotly reports the figure
    box = graph.bounding_box()
    # The map is centred on Lyon; the centre lies inside an arrondissement.
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    panel = page.locator("#detail-panel")
    panel.wait_for(state="visible", timeout=15_000)
    wait_for_dash(page)
    title = page.locator("#detail-panel-title").inner_text()
    assert title.startswith("Lyon "), title
    assert "Principales catégories" in panel.inner_text()
    page.screenshot(path=str(ARTIFACTS / "panel-arrondissement.png"))
    _clean(page)


def test_csv_export_is_french_and_named_after_the_filters(page, dashboard_url):  # noqa: ANN001
    open_page(page, dashboard_url + "/tendances?arrondissements=69382")
    with page.expect_download(timeout=20_000) as info:
        page.locator("button", has_text="CSV").first.click()
    download = info.value
    assert download.suggested_filename.endswith(".csv")
    assert "69382" in download.suggested_filename
    raw = open(download.path(), "rb").read()
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    assert ";" in text.splitlines()[0]
    assert "Lyon 2e" in text  # the filters travel in the file's metadata rows
    _clean(page)


def test_the_four_questions_are_answered_in_the_browser(page, dashboard_url):  # noqa: ANN001
    # 1. Where did thefts rise most this year, and is it significant? Property crime compared by arrondissement.
    open_page(page, dashboard_url + "/tendances?families=atteintes_biens&comparaison=year&par=arrondissement")
    labels_shown = _trace_values(page, "trends-compare", "y")[0]
    assert any("Test quasi-Poisson" in n for n in page.locator(".method-note").all_inner_texts())  # the test the comparison states (docs/methods.md)
    page.screenshot(path=str(ARTIFACTS / "question-vols-par-arrondissement.png"), full_page=True)
    # 2. Which grid cells are persistent hot spots? The persistence layer of the map.
    open_page(page, dashboard_url + "/carte?couche=persistence")
    page.wait_for_timeout(1500)
    types = page.evaluate("() => document.querySelector('.js-plotly-plot')._fullData.map(t => t.type)")
    assert "choroplethmap" in types
    assert page.locator("#map-layer input[value='persistence']").is_checked()
    page.screenshot(path=str(ARTIFACTS / "question-points-chauds-persistants.png"), full_page=True)
    # 3. How did the pools' summer compare to last year?
    open_page(page, dashboard_url + "/zones?type=piscine")
    summer = page.locator("#zones-inout").inner_text()
    assert "Toutes les piscines" in summer and "Été 2025" in summer and "Été 2024" in summer
    page.screenshot(path=str(ARTIFACTS / "question-piscines-ete.png"), full_page=True)
    # 4. Which partner's data is missing for which month? (the fixture removed TCL in March 2025)
    open_page(page, dashboard_url + "/donnees")
    assert "mars 2025" in page.locator("#data-gaps").inner_text()
    assert "TCL" in page.locator("#data-gaps").inner_text()
    _clean(page)


def test_donnees_tables_fit_their_cards_at_1400_px(page, dashboard_url):  # noqa: ANN001
    """Review #13: the quarantine examples (2 641 px) and the hidden 20-file table (3 986 px) overflowed their
    1 358 px card; at 1 400 px nothing sticks out of its card nor makes the page scroll sideways."""
    page.set_viewport_size({"width": 1400, "height": 900})
    open_page(page, dashboard_url + "/donnees")
    page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")
    over = page.evaluate("""() => Array.from(document.querySelectorAll('.card table')).map(t => {
        const card = t.closest('.card').getBoundingClientRect();
        return Math.round(t.getBoundingClientRect().right - card.right);
    }).filter(d => d > 1)""")
    assert over == [], over
    assert page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0
    _clean(page)
