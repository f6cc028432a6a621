"""French, local and unobtrusive controls in real Chromium: no « Share chart », Plotly's French locale served by
the app, dropdowns in French with tall lists, « Du » / « Au » as year + month, the mode bar outside the plot
area, « Chargement… » instead of « Loading... »."""

from __future__ import annotations

from tests.browser.conftest import open_page, wait_for_dash


def _clean(page) -> None:  # noqa: ANN001
    assert page.console_errors == [], f"console errors: {page.console_errors}"
    assert page.failed_callbacks == [], f"failed callbacks: {page.failed_callbacks}"
    assert page.foreign_requests == [], f"requests left the machine: {page.foreign_requests}"


GRAPH_STATE = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(g => ({
    send: g._context.showSendToCloud, studio: g._context.showEditInChartStudio, server: g._context.plotlyServerURL,
    locale: g._context.locale, modebar: g._context.displayModeBar,
    urls: JSON.stringify([g._context, g.layout]).match(/https?:\\/\\/[^"]+/g) || [],
}))"""


def test_no_chart_offers_to_share_or_names_a_remote_host(page, dashboard_url):  # noqa: ANN001
    for path in ("/", "/tendances?comparaison=28d&par=category", "/carte", "/zones", "/donnees"):
        open_page(page, dashboard_url + path)
        graphs = page.evaluate(GRAPH_STATE)
        assert graphs, path
        for g in graphs:
            assert g["send"] is False and g["studio"] in (False, None) and g["server"] == "", (path, g)
            assert g["locale"] == "fr" and g["modebar"] in ("hover", False), (path, g)
            # Plotly's own W3C namespaces in the layout are not requests; anything else would be.
            assert [u for u in g["urls"] if "www.w3.org" not in u] == [], (path, g["urls"])
        page.locator(".js-plotly-plot").first.hover()
        assert page.locator(".modebar-btn[data-attr='sendChartToCloud'], .modebar-btn[data-title*='Share']").count() == 0
        titles = page.evaluate("() => Array.from(document.querySelectorAll('.modebar-btn')).map(b => b.getAttribute('data-title'))")
        assert "Télécharger le graphique en fichier PNG" in titles, titles
        assert not [t for t in titles if t and ("Download" in t or "Share" in t or "Reset axes" == t)], titles
    _clean(page)


def test_the_french_locale_is_served_by_the_app(page, dashboard_url):  # noqa: ANN001
    response = page.request.get(dashboard_url + "/assets/vendor/plotly-locale-fr.js")
    assert response.status == 200 and 'name:"fr"' in response.text()
    open_page(page, dashboard_url + "/tendances")
    # Plotly's French number format is in use (decimal comma), not only the dictionary.
    assert page.evaluate("() => document.querySelector('.js-plotly-plot')._fullLayout.separators") in (",\u00a0", ", ")
    _clean(page)


def test_dropdowns_speak_french_and_show_many_rows(page, dashboard_url):  # noqa: ANN001
    open_page(page, dashboard_url + "/tendances")
    page.click("#filter-categories")
    content = page.locator(".dash-dropdown-content").first
    content.wait_for(state="visible")
    assert content.locator("input.dash-dropdown-search").get_attribute("placeholder") == "Rechercher"
    text = content.inner_text()
    assert "Tout sélectionner" in text and "Tout désélectionner" in text
    assert "Select All" not in text and "Search" not in text
    # At least 8 rows visible at once (Dash's default list height shows about three to five).
    rows = page.evaluate(
        """() => { const c = document.querySelector('.dash-dropdown-content .dash-dropdown-options');
                   const box = c.getBoundingClientRect();
                   return Array.from(c.querySelectorAll('[role=option]')).filter(o => { const r = o.getBoundingClientRect(); return r.top >= box.top - 1 && r.bottom <= box.bottom + 1; }).length; }"""
    )
    assert rows >= 8, rows
    page.keyboard.press("Escape")
    _clean(page)


def test_start_month_is_a_year_and_a_month_and_lives_in_the_url(page, dashboard_url):  # noqa: ANN001
    open_page(page, dashboard_url + "/tendances")
    page.click("#filter-start-year")
    year_list = page.locator(".dash-dropdown-content").first
    year_list.wait_for(state="visible")
    # The most recent year comes first: December of the last year is two clicks away, no scrolling.
    options = year_list.locator("[role=option]").all_inner_texts()
    assert options[0] == "2025" and len(options) <= 10, options
    year_list.locator("[role=option]", has_text="2025").click()
    page.click("#filter-start-month")
    months = page.locator(".dash-dropdown-content").first
    months.wait_for(state="visible")
    assert months.locator("[role=option]").count() == 12
    months.locator("[role=option]", has_text="décembre").click()
    page.wait_for_function("() => window.location.search.includes('2025-12-01')", timeout=15_000)
    wait_for_dash(page)
    # The address alone restores year and month.
    url = page.url
    page.goto("about:blank")
    open_page(page, url)
    assert page.locator("#filter-start-year").inner_text().strip() == "2025"
    assert page.locator("#filter-start-month").inner_text().strip() == "décembre"
    _clean(page)


def test_the_mode_bar_sits_outside_the_plot_area(page, dashboard_url):  # noqa: ANN001
    for path in ("/tendances?comparaison=28d&par=category", "/"):
        open_page(page, dashboard_url + path)
        n = page.locator(".js-plotly-plot").count()
        for i in range(n):
            graph = page.locator(".js-plotly-plot").nth(i)
            graph.scroll_into_view_if_needed()
            graph.hover()
            boxes = graph.evaluate(
                """g => { const m = g.querySelector('.modebar'); if (!m) { return null; }
                          const r = m.getBoundingClientRect();
                          const areas = Array.from(g.querySelectorAll('.nsewdrag, .legend, .colorbar')).map(e => e.getBoundingClientRect());
                          return {bar: [r.left, r.top, r.right, r.bottom], areas: areas.map(a => [a.left, a.top, a.right, a.bottom])}; }"""
            )
            if boxes is None:
                continue
            bl, bt, br, bb = boxes["bar"]
            for al, at, ar, ab in boxes["areas"]:
                overlap = min(br, ar) - max(bl, al) > 0.5 and min(bb, ab) - max(bt, at) > 0.5
                assert not overlap, f"{path} graph {i}: mode bar {boxes['bar']} over {[al, at, ar, ab]}"
    _clean(page)


def test_first_paint_says_chargement_not_loading(page, dashboard_url):  # noqa: ANN001
    open_page(page, dashboard_url + "/")
    shown = page.evaluate(
        """() => { const d = document.createElement('div'); d.className = '_dash-loading'; d.textContent = 'Loading...';
                   document.body.appendChild(d); const size = getComputedStyle(d).fontSize; const after = getComputedStyle(d, '::after').content;
                   d.remove(); return [size, after]; }"""
    )
    assert shown == ["0px", '"Chargement…"'], shown
