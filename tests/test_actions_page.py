"""The "Plan d'actions" page: figures, layout, and the server-side refusal of edits by an élu."""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import pytest
import shapely

from observatory.actions import load_register, register_path, upsert_action

dash = pytest.importorskip("dash")

FORM = {
    "action_id": "A9", "title": "Médiation gare", "type": "mediation", "partner": "Médiateurs", "zone_id": "hypercentre",
    "lon": "", "lat": "", "radius_m": "", "start": "2025-01-15", "end": "", "categories": "incivilites",
    "objective": "", "target_change_pct": "", "objective_year": "", "status": "en_cours", "notes": "",
}


@pytest.fixture(scope="module")
def page_module():
    from observatory.dashboard.app import create_app

    create_app()  # Dash Pages needs an app before page modules register
    import observatory.dashboard.pages.actions as page

    return page


@pytest.fixture
def app_ctx(settings, page_module):
    import flask

    server = flask.Flask("actions-test")
    server.config["OBSERVATORY_SETTINGS"] = settings
    with server.test_request_context("/actions"):
        yield page_module


def _values(page, record):
    from observatory.actions import ACTION_COLUMNS

    return [record[c] for c in ACTION_COLUMNS]


def test_elu_edit_is_refused_on_the_server(app_ctx, settings, monkeypatch):
    page = app_ctx
    from observatory.dashboard import security

    monkeypatch.setattr(security, "is_analyst", lambda: False)
    message, version = page.save_action(1, 0, *_values(page, FORM))
    assert "refusée" in str(message.children) and version is dash.no_update
    assert not register_path(settings).exists()
    upsert_action(settings, FORM)
    before = register_path(settings).read_bytes()
    message, version = page.close_action_from_form(1, 0, "A9", "2025-06-30")
    assert "refusée" in str(message.children) and version is dash.no_update
    assert register_path(settings).read_bytes() == before


def test_analyst_creates_and_closes(app_ctx, settings, monkeypatch):
    page = app_ctx
    from observatory.dashboard import security

    monkeypatch.setattr(security, "is_analyst", lambda: True)
    message, version = page.save_action(1, 3, *_values(page, FORM))
    assert version == 4 and "enregistrée" in str(message.children)
    bad = {**FORM, "action_id": "A10", "start": "2025-02-31"}
    message, version = page.save_action(1, 4, *_values(page, bad))
    assert version is dash.no_update and "ligne 3" in str(message.children)
    message, version = page.close_action_from_form(1, 4, "A9", "2025-06-30")
    assert version == 5
    assert load_register(settings).set_index("action_id").loc["A9", "status"] == "terminee"


def test_layout_and_figures_without_data(app_ctx, settings, monkeypatch):
    page = app_ctx
    from observatory.actions import actions_layer
    from observatory.actions.service import load_plan
    from observatory.dashboard import security

    upsert_action(settings, FORM)
    upsert_action(settings, {**FORM, "action_id": "B1", "zone_id": "", "lon": "4.86", "lat": "45.76", "radius_m": "200", "start": "2024-03-01", "end": "2024-12-31", "status": "terminee"})
    monkeypatch.setattr(security, "is_analyst", lambda: False)
    tree = str(page.layout())
    assert "Plan d'actions" in tree and page.EDIT_SAVE not in tree  # no form for an élu
    monkeypatch.setattr(security, "is_analyst", lambda: True)
    assert page.EDIT_SAVE in str(page.layout())
    plan = load_plan(settings)
    timeline = page.timeline_figure(plan.register, "arrondissement", None, "A9")
    assert {t.type for t in timeline.data} == {"bar"} and len(timeline.data[0].y) + len(timeline.data[-1].y) >= 2
    fmap = page.map_figure(actions_layer(settings), "B1", settings.tile_source)
    assert {t.type for t in fmap.data} == {"choroplethmap"} and fmap.layout.map.style == settings.tile_source
    assert [list(t.locations) for t in fmap.data] == [["A9"], ["B1"]]  # others first, the selected one on top


def test_map_draws_arrondissements_and_fits_the_selected_action(app_ctx, settings):
    page = app_ctx
    from observatory.actions import actions_layer
    from observatory.figures import to_geojson
    from observatory.territory import load_territory

    upsert_action(settings, FORM)  # zone hypercentre
    upsert_action(settings, {**FORM, "action_id": "B1", "title": "Caméras <b>gare</b>", "zone_id": "", "lon": "4.86", "lat": "45.76", "radius_m": "200", "start": "2024-03-01", "end": "2024-12-31", "status": "terminee"})
    territory = load_territory(settings)
    arr = territory.arrondissements
    outlines = to_geojson(arr, "code", 0.0001)
    names = dict(zip(arr["code"], arr["name"]))
    city = tuple(arr.total_bounds)
    layer = actions_layer(settings)
    fmap = page.map_figure(layer, "B1", "white-bg", outlines, names, city)
    under, others, chosen = fmap.data
    assert under.name == "Arrondissements" and len(under.locations) == len(arr) == 9
    assert list(others.locations) == ["A9"] and others.name == "Autres actions"
    # The selected action is named in the legend, with its arrondissement, its partner-typed title inert.
    b1_arr = layer.set_index("action_id").loc["B1", "arrondissement"]
    assert chosen.name == f"B1 — Caméras &lt;b&gt;gare&lt;/b&gt; ({page.labels.arrondissement_label(b1_arr)})"
    # The view: centred on the 200 m circle, which with its 700 m margin spans 1.8 km each way. The height
    # decides: 1.8 km is 1800 / cos(45.76°) / 40 075 017 = 6.44e-5 of the Mercator world, so in 340 px the
    # zoom is log2(340 / (512 · 6.44e-5)) ≈ 13.33 (the 460 px width would allow 13.77) — hand-computed.
    center, zoom = fmap.layout.map.center, fmap.layout.map.zoom
    assert center.lon == pytest.approx(4.86, abs=1e-4) and center.lat == pytest.approx(45.76, abs=1e-4)
    assert zoom == pytest.approx(13.33, abs=0.05)
    # Nothing selected: the whole city fits (the arrondissements' bounds), at a smaller zoom.
    city_map = page.map_figure(layer, None, "white-bg", outlines, names, city)
    assert city_map.layout.map.zoom < 12.5
    assert [t.name for t in city_map.data] == ["Arrondissements", "Autres actions"]
    half_lon = 180 * page.FIT_WIDTH_PX / (512 * 2 ** city_map.layout.map.zoom)
    assert city_map.layout.map.center.lon - half_lon <= city[0] and city[2] <= city_map.layout.map.center.lon + half_lon


def test_fit_view_hand_computed(page_module):
    page = page_module

    # 1° of longitude in 512 px: 512 · 2^z · 1/360 = 512 → z = log2(360) = 8.49; the equator box is square
    # enough in Mercator that longitude decides.
    center, zoom = page.fit_view((0.0, -0.1, 1.0, 0.1), 512, 512)
    assert zoom == pytest.approx(math.log2(360), abs=0.01) and center == {"lon": 0.5, "lat": 0.0}
    # A tall box: latitude decides (Mercator y span of 2° at the equator = 2° in radians / 2π of the world).
    _c, zoom = page.fit_view((0.0, -1.0, 0.01, 1.0), 512, 256)
    assert zoom == pytest.approx(math.log2(256 / (512 * (2 * math.atanh(math.sin(math.radians(1.0)))) / (2 * math.pi))), abs=0.01)
    # A single point cannot zoom past the cap.
    assert page.fit_view((4.85, 45.76, 4.85, 45.76))[1] == page.MAX_ZOOM


def test_focus_bounds_margin_in_metres():
    import geopandas as gpd

    from observatory.actions.perimeters import focus_bounds
    from observatory.territory import LAMBERT93, WGS84

    centre = gpd.GeoSeries([shapely.Point(4.85, 45.76)], crs=WGS84).to_crs(LAMBERT93)
    small = centre.buffer(100).to_crs(WGS84).iloc[0]  # 200 m across: the 700 m floor applies → 1.6 km
    big = centre.buffer(2000).to_crs(WGS84).iloc[0]  # 4 km across: half of it, 2 km, on each side → 8 km
    for geom, width_m in ((small, 1600), (big, 8000)):
        w, s, e, n = focus_bounds(geom)
        # The padded Lambert-93 square lies in the view…
        x0, y0, x1, y1 = geom_l93 = gpd.GeoSeries([geom], crs=WGS84).to_crs(LAMBERT93).iloc[0].bounds
        pad = (width_m - (x1 - x0)) / 2
        square = gpd.GeoSeries([shapely.box(x0 - pad, y0 - pad, x1 + pad, y1 + pad)], crs=LAMBERT93).to_crs(WGS84).iloc[0]
        assert shapely.box(w, s, e, n).buffer(1e-9).contains(square), geom_l93
        # …and the view is that size (metres per degree at 45.76° N: 111 320 · cos φ east–west, 111 132 north–south),
        # give or take the few % of Lambert-93's grid rotation against the meridians at Lyon.
        assert (e - w) * 111_320 * math.cos(math.radians(45.76)) == pytest.approx(width_m, rel=0.05)
        assert (n - s) * 111_132 == pytest.approx(width_m, rel=0.05)


def _eval_row(**over):
    row = {
        "action_id": "A1", "title": "Caméras", "start": date(2024, 1, 1), "window_months": 12,
        "before_start": date(2023, 1, 1), "after_end": date(2024, 12, 31),
        "treated_before": 3.0, "treated_after": 2.0, "control_before": 40.0, "control_after": 41.0,
        "buffer_before": 12.0, "buffer_after": 11.0, "wdd": -1.5, "wdd_se": 4.2, "ci_low": -9.7, "ci_high": 6.7, "p_value": 0.72,
        "did_ratio": 0.65, "did_ci_low": 0.1, "did_ci_high": 3.9, "did_p_value": 0.64, "verdict_code": "no_conclusion",
        "verdict": "Pas de conclusion possible : effectifs trop faibles (3 faits avant, 2 après dans le périmètre) — même une baisse de moitié ne serait pas distinguable du hasard.",
        "displacement_note": "", "window_note": "",
    }
    return {**row, **over}


def _cells(table) -> list[list[str]]:
    """Text of each body row's cells (flattening the Dash components)."""

    def text(node) -> str:
        if node is None:
            return ""
        if isinstance(node, (str, int, float)):
            return str(node)
        if isinstance(node, (list, tuple)):
            return "".join(text(n) for n in node)
        return text(getattr(node, "children", None))

    tbl = table.children.children
    body = tbl[1] if isinstance(tbl, list) else tbl.children[1]
    return [[text(td) for td in tr.children] for tr in body.children]


def test_evaluation_table_puts_the_verdict_first_and_hides_small_counts_from_elus(page_module):
    page = page_module
    ev = pd.DataFrame([
        _eval_row(),
        # Not started in the data: zero-month windows, the figures read "–", never "0,0 ± 0,0".
        _eval_row(action_id="A2", title="Éclairage", start=date(2026, 3, 1), window_months=0, treated_before=0.0, treated_after=0.0, wdd=0.0, wdd_se=0.0,
                  did_ratio=float("nan"), verdict="Pas de conclusion possible : fenêtres trop courtes : l'action n'a pas encore commencé dans les données disponibles."),
    ])
    table = page.evaluation_table(ev, analyst=False, min_count=5)
    headers = [th.children for th in table.children.children[0].children.children]
    assert headers[:2] == ["Action", "Verdict"]
    first, second = _cells(table)
    assert first[0] == "A1Caméras"
    assert "(<\u00a05 faits avant, <\u00a05 après dans le périmètre)" in first[1] and "3 faits" not in first[1]
    assert first[3] == "<\u00a05 → <\u00a05" and first[4] == "40 → 41"
    # Élus read the verdict in plain French: the two tests' own columns are the analyst's.
    assert not any("différence de différences" in h or "WDD" in h for h in headers)
    analyst_table = page.evaluation_table(ev, analyst=True, min_count=5)
    analyst_headers = [th.children for th in analyst_table.children.children[0].children.children]
    assert analyst_headers[6].startswith("Périmètre vs témoin : différence de différences") and analyst_headers[7].startswith("Bilan net, zone tampon comprise : WDD")
    # "No conclusion" overrides both tests: no figure beside it to contradict it (or to give masked counts back).
    assert _cells(analyst_table)[0][6] == _cells(analyst_table)[0][7] == "–"
    tested = _cells(page.evaluation_table(pd.DataFrame([_eval_row(verdict_code="no_effect", verdict="Pas d'évolution significative : …")]), analyst=True, min_count=5))[0]
    assert tested[6] == "−35\u00a0%[−90\u00a0% ; +290\u00a0%]p = 0,640"
    assert tested[7] == "−1,5[−9,7 ; +6,7]p = 0,720"
    assert second[2] == "début 01/03/2026" and second[3:] == ["–"] * (len(headers) - 3)
    analyst_cells = _cells(page.evaluation_table(ev, analyst=True, min_count=5))
    assert "(3 faits avant, 2 après" in analyst_cells[0][1] and analyst_cells[0][3] == "3 → 2"
    # Long text wraps (the house table style keeps cells on one line): the verdict cell says so inline.
    verdict_td = table.children.children[1].children[0].children[1]
    assert verdict_td.style["whiteSpace"] == "normal"


def test_objectives_table_puts_the_follow_up_second(page_module):
    obj = pd.DataFrame([{
        "action_id": "A1", "title": "Caméras", "objective": "−30 % des vols", "objective_year": 2024.0, "previous": 126, "current": 112,
        "actual_change": 112 / 126 - 1, "target_change": -0.3, "objective_code": "missed",
        "objective_text": "Objectif non atteint : −11 % constaté pour −30 % visé (écart non significatif, p = 0,075).",
    }])
    row = _cells(page_module.objectives_table(obj, analyst=True, min_count=5))[0]
    assert row == ["A1Caméras", "Objectif non atteint : −11 % constaté pour −30 % visé (écart non significatif, p = 0,075).", "−30 % des vols", "2024", "126 → 112", "−30\u00a0%", "−11\u00a0%"]


def test_series_labels_stay_clear_of_the_legend(page_module):
    months = pd.date_range("2023-01-01", "2025-12-01", freq="MS")
    series = pd.concat([pd.DataFrame({"month": months, "area": a, "count": 10.0}) for a in ("perimetre", "zone_tampon")], ignore_index=True)
    fig = page_module.series_figure(series, date(2024, 1, 1), date(2025, 11, 30))
    legend = fig.layout.legend
    assert legend.yanchor == "bottom" and legend.y >= 1  # the legend sits above the plot…
    start_label, end_label = fig.layout.annotations
    for a in (start_label, end_label):
        assert a.yref == "paper" and a.y == 1 and a.yanchor == "top"  # …the labels inside it, below the legend
    assert start_label.text == "début 01/01/2024" and start_label.xanchor == "right"  # left of its line
    assert end_label.xanchor == "right"  # the end is in the last 15 % of the axis: flipped inside
    mid = page_module.series_figure(series, date(2024, 1, 1), date(2024, 6, 30))
    assert [a.xanchor for a in mid.layout.annotations] == ["right", "left"]  # a short action's labels never meet


def test_small_counts_hidden_from_elus(page_module):
    assert page_module._count(3, analyst=False, min_count=5) == "<\u00a05"
    assert page_module._count(3, analyst=True, min_count=5) == "3"
    assert page_module._count(0, analyst=False, min_count=5) == "0"


def test_elu_view_of_the_page_withholds_small_counts(app_ctx, settings, monkeypatch):
    """The whole callback on a small published store, as an élu: no count of 1..4 in the series or the tables."""
    import re

    from observatory.dashboard import security
    from tests.dashboard_data import publish_random_store

    page = app_ctx
    publish_random_store(settings, n=3_000, seed=3)
    monkeypatch.setattr(security, "is_analyst", lambda: True)
    analyst_views = page.update_views("A2025-01", "arrondissement", 0)
    analyst_series, analyst_rows = analyst_views[2], _cells(analyst_views[4])
    small = re.compile(r"(?<![\d,])[1-4] (→|faits avant)|→ [1-4](?![\d,])")
    assert small.search(" ".join(" ".join(r[3:6]) for r in analyst_rows) + " ".join(r[1] for r in analyst_rows))
    # 3,000 incidents over Lyon: the hypercentre's targeted months hold 0, 1 or 2 facts (seeded, checked).
    assert [v for t in analyst_series.data for v in t.y if 0 < v < settings.min_count]
    monkeypatch.setattr(security, "is_analyst", lambda: False)
    timeline, fmap, series, note, evaluation, objectives_, options = page.update_views("A2025-01", "arrondissement", 0)
    assert [o["value"] for o in options][:1] == ["A2021-01"]
    # Issue 15: the action windows are not in the year's publication, so an élu gets no count of them at all.
    from observatory.dashboard.elu_views import WITHHELD

    assert not series.data and WITHHELD in note
    assert WITHHELD in str(evaluation) and WITHHELD in str(objectives_)
    assert not small.search(str(evaluation) + str(objectives_))
    assert fmap.data[0].name == "Arrondissements" and fmap.data[-1].name.startswith("A2025-01 — ")


def test_evaluation_table_and_verdict_quote_the_same_figures(page_module):
    """Review #7b: the verdict and the two test columns never contradict each other — the verdict quotes the
    perimeter's DiD interval and the net WDD exactly as the table prints them."""
    from observatory.actions import evaluation as ev

    windows = ev.evaluation_windows(date(2024, 3, 1), 12, date(2022, 1, 1), date(2025, 6, 30))
    # Perimeter down significantly (DiD −30 % [−48 % ; −6 %]), buffer up: WDD +10, p = 0.80.
    counts = ev.AreaCounts((200, 140), (200, 200), (200, 270), 1.0, 1.0, (200, 200))
    row = {**ev.evaluate_counts(counts, windows), "action_id": "A9", "title": "Caméras", "start": date(2024, 3, 1)}
    cells = _cells(page_module.evaluation_table(pd.DataFrame([row]), analyst=True, min_count=5))[0]
    assert cells[1].startswith("Effet net non démontré : baisse significative dans le périmètre")
    assert "[−48\u00a0% ; −6\u00a0%]" in cells[6] and "[−48\u00a0% ; −6\u00a0%]" in cells[1]
    assert cells[7].startswith("+10,0[") and "WDD +10,0 faits, p = 0,803" in cells[1]
    assert "Zone tampon : hausse significative (+70,0 faits" in cells[1]  # the buffer note under the verdict
    table = page_module.evaluation_table(pd.DataFrame([row]), analyst=True, min_count=5)
    verdict_td = table.children.children[1].children[0].children[1]
    assert verdict_td.style["borderLeft"].endswith(page_module.VERDICT_COLORS["local_decrease"])


def _find(tree, component_id):
    """The component with ``component_id`` in a Dash layout tree (None when absent)."""
    if getattr(tree, "id", None) == component_id:
        return tree
    children = getattr(tree, "children", None)
    for child in children if isinstance(children, (list, tuple)) else [children]:
        if child is not None and not isinstance(child, (str, int, float)):
            found = _find(child, component_id)
            if found is not None:
                return found
    return None


def test_form_uses_date_pickers_and_french_lists(app_ctx, settings, monkeypatch):
    """Review #23: dates from a calendar shown JJ/MM/AAAA, categories by their French labels, zones by name."""
    page = app_ctx
    from observatory import schema
    from observatory.dashboard import security

    monkeypatch.setattr(security, "is_analyst", lambda: True)
    tree = page.layout()
    for col in ("start", "end"):
        picker = _find(tree, page.EDIT_FIELD[col])
        assert isinstance(picker, dash.dcc.DatePickerSingle) and picker.display_format == "DD/MM/YYYY"
    close = _find(tree, page.EDIT_CLOSE_DATE)
    assert isinstance(close, dash.dcc.DatePickerSingle) and close.display_format == "DD/MM/YYYY"
    cats = _find(tree, page.EDIT_FIELD["categories"])
    assert isinstance(cats, dash.dcc.Dropdown) and cats.multi
    by_code = {o["value"]: o["label"] for o in cats.options}
    assert by_code == {c.code: c.label for c in schema.categories().values()}
    assert by_code["cambriolages_logement"] != "cambriolages_logement"  # a French label, not the code
    zones = _find(tree, page.EDIT_FIELD["zone_id"])
    assert isinstance(zones, dash.dcc.Dropdown) and not getattr(zones, "multi", False)
    from observatory.territory import load_territory

    names = load_territory(settings).zones.set_index("zone_id")["name"]
    by_zone = {o["value"]: o["label"] for o in zones.options}
    assert set(by_zone) == set(names.index.astype(str))
    assert by_zone["hypercentre"] == f"{names['hypercentre']} (Hypercentre)"
    assert "AAAA-MM-JJ" not in str(tree) and "codes séparés" not in str(tree)


def test_form_round_trip_through_the_widgets(app_ctx, settings, monkeypatch):
    page = app_ctx
    from observatory.actions import ACTION_COLUMNS
    from observatory.dashboard import security

    monkeypatch.setattr(security, "is_analyst", lambda: True)
    widgets = {**FORM, "zone_id": "hypercentre", "start": "2025-01-15", "end": None, "categories": ["incivilites", "nuisances_sonores"]}
    message, version = page.save_action(1, 0, *[widgets[c] for c in ACTION_COLUMNS])
    assert version == 1, message
    saved = load_register(settings).set_index("action_id").loc["A9"]
    assert tuple(saved["categories"]) == ("incivilites", "nuisances_sonores") and saved["start"] == date(2025, 1, 15) and saved["end"] is None
    loaded = dict(zip(ACTION_COLUMNS, page.load_form("A9")))
    assert loaded["categories"] == ["incivilites", "nuisances_sonores"] and loaded["start"] == "2025-01-15" and loaded["end"] is None
    assert loaded["zone_id"] == "hypercentre"
    # A picker can send a datetime string; an empty category list still fails the server-side validation.
    assert page.form_cell("start", "2025-01-15T00:00:00") == "2025-01-15"
    message, version = page.save_action(1, 1, *[{**widgets, "categories": []}[c] for c in ACTION_COLUMNS])
    assert version is dash.no_update and "categories" in str(message.children)
    # Closing takes the picker's ISO date; no date chosen gets a French message, not a traceback.
    message, version = page.close_action_from_form(1, 1, "A9", None)
    assert version is dash.no_update and "calendrier" in str(message.children)
    message, version = page.close_action_from_form(1, 1, "A9", "2025-06-30")
    assert version == 2 and "30/06/2025" in str(message.children)


def _csv_payload(payload) -> tuple[list[list[str]], dict[str, str]]:
    import base64
    import csv
    import io

    text = base64.b64decode(payload["content"]).decode("utf-8-sig")
    body, meta = text.split("\r\n\r\n", 1)
    return list(csv.reader(io.StringIO(body), delimiter=";")), {r[0]: r[1] for r in csv.reader(io.StringIO(meta), delimiter=";") if r}


def test_exports_of_every_card(app_ctx, settings, monkeypatch):
    """Issue 7: calendar, map, series, objectives and evaluation export as CSV and XLSX, French headers, the
    élu's files with counts 1..4 as "< 5" like the screen, the analyst's marked unprotected."""
    import base64
    import io

    from openpyxl import load_workbook

    from observatory.dashboard import security
    from tests.dashboard_data import publish_random_store

    page = app_ctx
    publish_random_store(settings, n=3_000, seed=3)
    layout = str(page.layout())
    for target in (page.TIMELINE, page.MAP, page.SERIES, page.OBJ_TABLE, page.EVAL_TABLE):
        for fmt in ("csv", "xlsx"):
            assert str({"type": page.EXPORT_BUTTON, "target": target, "fmt": fmt}) in layout
    analyst = {t: _csv_payload(page.export_payload(t, "csv", "A2025-01", analyst=True)) for t in (page.TIMELINE, page.SERIES, page.OBJ_TABLE, page.EVAL_TABLE)}
    elu = {t: _csv_payload(page.export_payload(t, "csv", "A2025-01", analyst=False)) for t in (page.TIMELINE, page.SERIES, page.OBJ_TABLE, page.EVAL_TABLE)}

    rows, meta = analyst[page.TIMELINE]
    assert rows[0][:4] == ["Identifiant", "Intitulé", "Type", "Statut"] and "Catégories visées" in rows[0]
    assert [r[0] for r in rows[1:]][:1] == ["A2021-01"] and "NON PROTÉGÉ" in meta["Protection"]
    # Issue 15: evaluations, objectives and series are not in the élus' publication: their files say so, no count.
    from observatory.dashboard.elu_views import WITHHELD

    for target in (page.EVAL_TABLE, page.OBJ_TABLE, page.SERIES):
        rows, meta = elu[target]
        assert rows == [["note"], [WITHHELD]], (target, rows)
    rows, _meta = analyst[page.EVAL_TABLE]
    header = rows[0]
    assert header[:3] == ["Identifiant", "Intitulé", "Verdict"]
    assert "Périmètre vs témoin : différence de différences (%)" in header and "Bilan net zone tampon comprise : WDD (faits)" in header
    analyst_values = [c for r in analyst[page.SERIES][0][1:] for c in r[1:]]
    assert {"1", "2"} & set(analyst_values)  # the analyst's series has the small months in clear
    xlsx = page.export_payload(page.OBJ_TABLE, "xlsx", None, analyst=True)
    sheet = list(load_workbook(io.BytesIO(base64.b64decode(xlsx["content"]))).active.values)
    assert sheet[0][:3] == ("Identifiant", "Intitulé", "Suivi") and len(sheet) == len(analyst[page.OBJ_TABLE][0])
    assert page.export_payload(page.SERIES, "csv", None, analyst=True) is None  # no action chosen: nothing to export
