"""The dashboard's partial plotly.js in Chromium: pages use it (never Dash's full plotly.min.js), maps load
MapLibre's modules and its worker only where a map is drawn, and nothing breaks (no console error)."""

from __future__ import annotations

from observatory.dashboard import plotly_bundle
from tests.browser.conftest import open_page


def _requests(page) -> list[str]:  # noqa: ANN001
    urls: list[str] = []
    page.on("request", lambda r: urls.append(r.url))
    return urls


def test_a_page_with_a_map_draws_it_with_the_partial_bundle(page, dashboard_url):  # noqa: ANN001
    urls = _requests(page)
    open_page(page, dashboard_url + "/carte")
    page.wait_for_selector(".maplibregl-canvas", timeout=30_000)
    assert not [u for u in urls if "plotly.min.js" in u], "Dash's full plotly.js was downloaded"
    assert any("/assets/vendor/plotly-observatoire.min.js" in u for u in urls)
    for name in ("maplibre-gl.mjs", "maplibre-gl-shared.mjs", "maplibre-gl.css"):
        assert any(u.split("?")[0].endswith(plotly_bundle.MAPLIBRE_URL + name) for u in urls), name
    # The map's traces were drawn by MapLibre (a plotly map subplot exists and holds the figure's data).
    n = page.evaluate("() => Array.from(document.querySelectorAll('.js-plotly-plot')).filter(p => p._fullLayout && p._fullLayout.map && p.data.length).length")
    assert n >= 1
    # Its worker started from the served module (it imports the shared module the page already has).
    page.wait_for_function("() => performance.getEntriesByType('resource').some(e => e.name.includes('maplibre-gl-worker.mjs'))", timeout=30_000)
    assert page.console_errors == [], page.console_errors


def test_a_page_without_a_map_does_not_download_maplibre(page, dashboard_url):  # noqa: ANN001
    urls = _requests(page)
    open_page(page, dashboard_url + "/tendances")
    assert page.locator(".js-plotly-plot").count() >= 1
    assert page.evaluate("() => window.Plotly.version") == "4.1.1"
    assert not [u for u in urls if "maplibre" in u or "plotly.min.js" in u], urls
    assert page.console_errors == [], page.console_errors


def test_maplibre_files_are_served_with_javascript_types(page, dashboard_url):  # noqa: ANN001
    base = dashboard_url + plotly_bundle.MAPLIBRE_URL
    r = page.request.get(base + "maplibre-gl-shared.mjs")
    assert r.status == 200 and r.headers["content-type"].startswith("text/javascript")
    assert page.request.get(base + "maplibre-gl.css").headers["content-type"].startswith("text/css")
    assert page.request.get(base + "LICENSE.txt").status == 404  # only the four files the map needs
