"""Maps draw the arrondissements' names offline: MapLibre fetches its glyphs from the dashboard itself (answered
200), places the names as text symbols on the map, and no request leaves the machine."""

from __future__ import annotations

import pytest

from tests.browser.conftest import ARTIFACTS, open_page

# The names MapLibre actually placed (symbols drawn after their glyphs arrived), read from each map's MapLibre
# instance; and whether its rivers layer is drawn.
DRAWN = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).filter(g => g._fullLayout && g._fullLayout.map).map(g => {
    const m = g._fullLayout.map._subplot.map;
    const symbols = m.queryRenderedFeatures().filter(f => f.layer.type === 'symbol');
    const names = symbols.map(f => String(f.properties.text || (f.layer.layout && f.layer.layout['text-field']) || ''));
    const layers = m.getStyle().layers.map(l => l.id + ':' + l.type);
    return {names, layers, rivers: m.queryRenderedFeatures().filter(f => f.layer.type === 'line' && f.layer.id.startsWith('plotly-layout-layer')).length,
            glyphs: m.getStyle().glyphs};
})"""


@pytest.mark.parametrize("path", ["/carte", "/"])
def test_arrondissement_names_are_drawn_with_local_glyphs(page, dashboard_url, path):  # noqa: ANN001
    glyph_answers = []
    page.on("response", lambda r: glyph_answers.append((r.status, r.url)) if "/map-glyphs/" in r.url else None)
    open_page(page, dashboard_url + path)
    page.wait_for_function(DRAWN.replace("() =>", "() => (") + ").some(m => m.names.length >= 9)", timeout=30_000)
    maps = page.evaluate(DRAWN)
    assert maps, path
    drawn = maps[0]
    assert drawn["glyphs"].endswith("/map-glyphs/{fontstack}/{range}.pbf") and not drawn["glyphs"].startswith("http"), drawn["glyphs"]
    names = set(drawn["names"])
    assert {"1er", "2e", "3e", "4e", "5e", "6e", "7e", "8e", "9e"} <= names, names
    assert glyph_answers and all(status == 200 for status, _ in glyph_answers), glyph_answers
    assert any("0-255.pbf" in url for _, url in glyph_answers), glyph_answers
    assert drawn["rivers"] > 0, drawn["layers"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.locator(".js-plotly-plot").filter(has=page.locator(".maplibregl-canvas")).first.screenshot(path=str(ARTIFACTS / f"map-names-{path.strip('/') or 'accueil'}.png"))
    assert page.console_errors == [], page.console_errors
    assert page.foreign_requests == [], f"requests left the machine: {page.foreign_requests}"


def test_the_map_svg_button_downloads_a_vector_map(page, dashboard_url):  # noqa: ANN001
    open_page(page, dashboard_url + "/carte?couche=grid")
    card = page.locator(".card").filter(has=page.locator(".maplibregl-canvas")).first
    with page.expect_download(timeout=60_000) as info:
        card.get_by_role("button", name="SVG", exact=True).click()
    download = info.value
    assert download.suggested_filename.startswith("faits-par-maille") and download.suggested_filename.endswith(".svg")
    text = open(download.path(), encoding="utf-8").read()
    assert text.startswith("<svg") and "<image" not in text and text.count("<path") > 50
    assert "Faits par maille de 200 m" in text and "Nombre de faits" in text and "Exporté le" in text
    assert page.console_errors == [], page.console_errors
    assert page.foreign_requests == [], page.foreign_requests
