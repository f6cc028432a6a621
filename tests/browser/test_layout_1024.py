"""The dashboard on a 1024 × 768 screen (a council laptop, a projector), in real Chromium: no page scrolls
sideways, no table runs past its card, and the figures' labels stay inside their plots."""

from __future__ import annotations

import pytest

from tests.browser.conftest import ARTIFACTS, open_page

WIDTH, HEIGHT = 1024, 768


@pytest.fixture(scope="module")
def means_data(dashboard_settings):  # noqa: ANN001, ANN201
    """Means per arrondissement in the served folder (the bilan's nine-column means table, the camera map); the
    same register as test_moyens_page writes (the page reads it at each request), without its MJD ingest."""
    from observatory.means.register import means_path

    lines = ["means_id,arrondissement,service,start,end,staff_hours,patrols,cameras_in_service,budget_running_eur"]
    for year in (2023, 2024):
        for i in range(1, 10):
            lines.append(f"M-{year}-{i},{i},pm,{year}-01-01,{year}-12-31,{20000 + 1000 * i},{3000 + 100 * i},{10 + i},{14000 * (10 + i)}")
    path = means_path(dashboard_settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return dashboard_settings

# Tables that must fit: the zone table and the hot-spot persistence (Zones), the evaluations and objectives
# (Plan d'actions), and every bilan table, the means table with its nine numeric columns included.
PAGES = ["/bilan?annee=2024", "/zones", "/actions?action=A2023-01"]

OVERFLOW_JS = """() => {
  const out = [];
  document.querySelectorAll('table').forEach(t => {
    const card = t.closest('.card-body') || t.closest('.bilan-page') || t.parentElement;
    const tr = t.getBoundingClientRect(), cr = card.getBoundingClientRect();
    const wrapper = t.parentElement;
    const hidden = wrapper.scrollWidth - wrapper.clientWidth;
    if (tr.width > 0 && (tr.right > cr.right + 1 || hidden > 1)) {
      out.push((t.id || t.className) + ': ' + Math.round(tr.width) + ' px in ' + Math.round(cr.width) + ' px');
    }
  });
  return out;
}"""


@pytest.mark.parametrize("path", PAGES)
def test_no_sideways_scroll_and_tables_fit_their_cards_at_1024(page, dashboard_url, means_data, path):  # noqa: ANN001
    page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
    open_page(page, dashboard_url + path, timeout_ms=120_000)  # a cold bilan builds the year's diagnostic
    assert page.locator("table").count() >= 1, f"no table on {path}"
    width = page.evaluate("() => document.documentElement.scrollWidth")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"layout-1024-{path.strip('/').split('?')[0]}.png"), full_page=True)
    assert width <= WIDTH, f"{path} is {width} px wide at a {WIDTH} px viewport"
    assert page.evaluate(OVERFLOW_JS) == [], f"tables wider than their card on {path}"
    assert page.console_errors == [], page.console_errors


# Boxes of a figure's drawn texts, in page pixels: the bar labels, the y tick labels, the axis title, annotations.
BOXES_JS = """(id) => {
  const root = document.getElementById(id);
  const svg = root.querySelector('.main-svg');
  const box = e => { const r = e.getBoundingClientRect(); return {x0: r.left, x1: r.right, y0: r.top, y1: r.bottom, t: e.textContent}; };
  return {
    figure: box(svg),
    bars: Array.from(root.querySelectorAll('.bartext')).map(box),
    ticks: Array.from(root.querySelectorAll('.ytick text')).map(box),
    title: Array.from(root.querySelectorAll('.g-xtitle text')).map(box),
    notes: Array.from(root.querySelectorAll('.annotation-text-g')).map(box),
  };
}"""


def _overlap(a: dict, b: dict) -> bool:
    return a["x0"] < b["x1"] - 1 and b["x0"] < a["x1"] - 1 and a["y0"] < b["y1"] - 1 and b["y0"] < a["y1"] - 1


def _inside(a: dict, outer: dict) -> bool:
    return a["x0"] >= outer["x0"] - 1 and a["x1"] <= outer["x1"] + 1 and a["y0"] >= outer["y0"] - 1 and a["y1"] <= outer["y1"] + 1


def _figure_boxes(page, url: str, target: str, shot: str) -> dict:  # noqa: ANN001
    """The drawn texts of figure ``target`` at 1024 × 768 (see BOXES_JS), and its screenshot ``shot``."""
    page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
    open_page(page, url)
    page.locator(f"#{target}").scroll_into_view_if_needed()
    boxes = page.evaluate(BOXES_JS, target)
    page.locator(f"#{target}").screenshot(path=str(ARTIFACTS / shot))
    return boxes


def test_home_movers_labels_and_axis_title_are_whole_at_1024(page, dashboard_url):  # noqa: ANN001
    boxes = _figure_boxes(page, dashboard_url + "/?annee=2025", "overview-movers", "layout-1024-movers.png")
    assert boxes["bars"] and boxes["title"]
    for text in boxes["bars"] + boxes["title"]:
        assert _inside(text, boxes["figure"]), f"« {text['t']} » is cut at the figure's edge"
    for bar in boxes["bars"]:
        assert not any(_overlap(bar, tick) for tick in boxes["ticks"]), f"« {bar['t']} » runs into a category name"


def test_sentiment_bars_axis_title_is_whole_at_1024(page, dashboard_url):  # noqa: ANN001
    boxes = _figure_boxes(page, dashboard_url + "/sentiment", "sentiment-bars", "layout-1024-sentiment-bars.png")
    assert "intervalle de confiance" in " ".join(t["t"] for t in boxes["title"])
    for text in boxes["title"]:
        assert _inside(text, boxes["figure"]), f"« {text['t']} » is cut at the figure's edge"


def test_sentiment_map_labels_do_not_overlap_at_1024(page, dashboard_url):  # noqa: ANN001
    notes = _figure_boxes(page, dashboard_url + "/sentiment", "sentiment-map", "layout-1024-sentiment-map.png")["notes"]
    assert {n["t"].split(" ")[0] for n in notes} >= {"1er", "2e"}
    clashes = [(a["t"], b["t"]) for i, a in enumerate(notes) for b in notes[i + 1:] if _overlap(a, b)]
    assert clashes == []


# The page box of the city's bounds on the camera map, and the boxes of its legend and colour bar.
COVER_JS = """([west, south, east, north]) => {
  const plot = document.querySelector('#moyens-map .js-plotly-plot');
  const map = plot._fullLayout.map._subplot.map;
  const canvas = map.getCanvas().getBoundingClientRect();
  const nw = map.project([west, north]), se = map.project([east, south]);
  const box = e => { const r = e.getBoundingClientRect(); return {x0: r.left, x1: r.right, y0: r.top, y1: r.bottom}; };
  return {
    city: {x0: canvas.left + nw.x, x1: canvas.left + se.x, y0: canvas.top + nw.y, y1: canvas.top + se.y},
    legend: Array.from(plot.querySelectorAll('.legend .bg')).map(box).filter(b => b.x1 > b.x0),
    colorbar: Array.from(plot.querySelectorAll('.colorbar')).map(box),
  };
}"""


def test_camera_map_shows_the_whole_city_at_1024(page, dashboard_url, dashboard_settings, means_data):  # noqa: ANN001
    from observatory.territory import load_territory

    page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
    open_page(page, dashboard_url + "/moyens")
    page.locator("#moyens-map").scroll_into_view_if_needed()
    page.wait_for_function("() => { const p = document.querySelector('#moyens-map .js-plotly-plot'); return p && p._fullLayout.map && p._fullLayout.map._subplot && p._fullLayout.map._subplot.map && p._fullLayout.map._subplot.map.loaded(); }", timeout=30_000)
    shown = page.evaluate("() => { const b = document.querySelector('#moyens-map .js-plotly-plot')._fullLayout.map._subplot.map.getBounds(); return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]; }")
    west, south, east, north = (float(v) for v in load_territory(dashboard_settings).arrondissements.total_bounds)
    page.locator("#moyens-map").screenshot(path=str(ARTIFACTS / "layout-1024-moyens-map.png"))
    assert shown[0] <= west and shown[1] <= south and shown[2] >= east and shown[3] >= north, (shown, (west, south, east, north))
    # …and zoomed to it, not to the region: the city fills at least a third of the map's width.
    assert (east - west) / (shown[2] - shown[0]) >= 1 / 3
    # Issue 19: nothing drawn over the city (the legend hid the 9e's northern tip): the legend and the colour bar
    # stay clear of the box the city's bounds project to on the page.
    boxes = page.evaluate(COVER_JS, [west, south, east, north])
    assert boxes["colorbar"], "no colour bar found"
    covering = [b for b in boxes["legend"] + boxes["colorbar"] if _overlap(b, boxes["city"])]
    assert covering == [], (covering, boxes["city"])
