"""Figure builders on tiny data: French separators, MapLibre traces only, hand-checkable content."""

from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import plotly.graph_objects as go
from shapely.geometry import Polygon

from observatory import figures, labels


def _squares() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"code": ["A", "B"]},
        geometry=[Polygon([(4.8, 45.7), (4.81, 45.7), (4.81, 45.71), (4.8, 45.71)]), Polygon([(4.81, 45.7), (4.82, 45.7), (4.82, 45.71), (4.81, 45.71)])],
        crs=4326,
    )


def test_to_geojson_rounds_coordinates_and_sets_ids():
    gdf = _squares()
    gdf.loc[0, "geometry"] = Polygon([(4.8000004, 45.7), (4.81, 45.7), (4.81, 45.7100006), (4.8000004, 45.7100006)])
    gj = figures.to_geojson(gdf, "code", decimals=5)
    assert [f["id"] for f in gj["features"]] == ["A", "B"]
    ring = gj["features"][0]["geometry"]["coordinates"][0]
    assert ring[0] == [4.8, 45.7]
    assert all(len(str(c).split(".")[-1]) <= 5 for pt in ring for c in pt)


def test_choropleth_uses_maplibre_french_separators_and_click_kind():
    gj = figures.to_geojson(_squares(), "code")
    df = pd.DataFrame({"code": ["A", "B"], "count": [1234, 5], "name": ["Alpha", "Bêta"]})
    fig = figures.choropleth_map(df, gj, "code", "count", "Faits", name_col="name", click_kind="zone")
    assert isinstance(fig.data[0], go.Choroplethmap)
    assert fig.layout.separators == labels.PLOTLY_SEPARATORS
    assert fig.layout.map.style == "white-bg"
    custom = fig.data[0].customdata
    assert list(custom[0]) == ["A", "Alpha", "zone"]
    assert list(fig.data[0].z) == [1234.0, 5.0]
    text = json.dumps(fig.to_plotly_json(), default=str)
    assert "mapbox" not in text.lower()


def test_map_style_is_a_parameter():
    gj = figures.to_geojson(_squares(), "code")
    fig = figures.choropleth_map(pd.DataFrame({"code": ["A"], "count": [3]}), gj, "code", "count", "Faits", style="carto-positron")
    assert fig.layout.map.style == "carto-positron"


def test_points_and_density_maps_are_maplibre_and_rounded():
    df = pd.DataFrame({"lon": [4.8312345678], "lat": [45.7612345678], "count": [12], "cell": ["E1_N2"]})
    pts = figures.points_map(df, "lon", "lat", "count", "cell")
    assert isinstance(pts.data[-1], go.Scattermap)
    assert pts.data[-1].lon[0] == 4.83123
    assert pts.data[-1].customdata[0][-1] == "cell"
    dens = figures.density_map(df, "lon", "lat", "count")
    assert isinstance(dens.data[0], go.Densitymap)


def test_monthly_overlay_one_line_per_year_latest_first_french_months():
    df = pd.DataFrame({"year": [2024, 2024, 2025, 2025], "month": [1, 2, 1, 2], "count": [10, 20, 30, 40]})
    fig = figures.monthly_overlay(df)
    assert [t.name for t in fig.data] == ["2025", "2024"]
    assert list(fig.data[0].x) == ["janv.", "févr."]
    assert list(fig.data[0].y) == [30, 40]
    assert fig.data[0].line.width > fig.data[1].line.width


def test_change_bars_colour_only_significant_changes():
    df = pd.DataFrame({"label": ["Vols", "Tags", "Rixes"], "diff": [50, -30, 5], "significant": [True, True, False], "pct_change": [0.5, -0.3, 0.05]})
    fig = figures.change_bars(df, "label", "diff", "significant", pct_col="pct_change")
    bar = fig.data[0]
    by_label = dict(zip(bar.y, bar.marker.color))
    assert by_label["Vols ★"] == figures.UP_COLOR
    assert by_label["Tags ★"] == figures.DOWN_COLOR
    assert by_label["Rixes"] == figures.NEUTRAL_COLOR
    assert "+50\u00a0%" in bar.text


def test_weekday_hour_heatmap_fills_missing_cells_with_zero():
    df = pd.DataFrame({"weekday": [0, 6], "hour": [8, 23], "count": [3, 4]})
    fig = figures.weekday_hour_heatmap(df)
    z = fig.data[0].z
    assert len(z) == 7 and len(z[0]) == 24
    assert z[0][8] == 3 and z[6][23] == 4 and z[3][12] == 0
    assert list(fig.data[0].y)[0] == "lundi"


def test_coverage_heatmap_marks_gaps():
    df = pd.DataFrame({"source": ["tcl", "tcl"], "month": pd.to_datetime(["2025-01-01", "2025-02-01"]), "count": [5, 0]})
    fig = figures.coverage_heatmap(df, "source", "month", "count")
    assert list(fig.data[0].text[0]) == ["", "∅"]
    assert list(fig.data[0].x) == ["janv. 2025", "févr. 2025"]
    assert list(fig.data[0].y) == ["TCL (transports en commun)"]


def test_waterfall_zooms_on_the_steps():
    df = pd.DataFrame({"label": ["a", "b"], "diff": [10, -4]})
    fig = figures.contributions_waterfall(df, "label", "diff", 1000, 1006, "avant", "après")
    lo, hi = fig.layout.yaxis.range
    assert 900 < lo < 1000 and hi > 1010


def test_empty_inputs_give_a_french_message_not_an_error():
    for fig in (figures.monthly_overlay(pd.DataFrame(columns=["year", "month", "count"])), figures.change_bars(pd.DataFrame(columns=["l", "d"]), "l", "d")):
        assert fig.layout.annotations[0].text == "Aucune donnée pour ces filtres"


def test_image_export_config_names_the_file():
    cfg = figures.image_export_config("carte-2025")
    assert cfg["toImageButtonOptions"]["filename"] == "carte-2025"
    assert cfg["displaylogo"] is False


# Partner-supplied strings are inert in hover text and labels -------------------------------------------------
EVIL = "<b>gras</b> <script>alert(1)</script>"


def _no_markup(fig) -> str:  # noqa: ANN001
    text = fig.to_json()  # Plotly's JSON writes "/" as \u002f: look for the opening tags only
    assert "<script>" not in text and "<b>gras" not in text, text[:400]
    assert "&lt;script&gt;" in text
    return text


def test_partner_labels_are_inert_in_every_figure():
    import pandas as pd

    from observatory import figures

    gj = {"type": "FeatureCollection", "features": [{"type": "Feature", "id": "a", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [[[4.8, 45.7], [4.81, 45.7], [4.81, 45.71], [4.8, 45.7]]]}}]}
    _no_markup(figures.choropleth_map(pd.DataFrame({"id": ["a"], "v": [3.0], "name": [EVIL]}), gj, "id", "v", "Faits", name_col="name"))
    _no_markup(figures.zones_map(gj, pd.DataFrame({"id": ["a"], "kind": ["gltd"], "name": [EVIL], "n": [3]}), "id", "kind", "name", "n"))
    _no_markup(figures.change_bars(pd.DataFrame({"label": [EVIL, "b"], "diff": [3, -2], "significant": [True, False]}), "label", "diff"))
    _no_markup(figures.time_series(pd.DataFrame({"m": pd.to_datetime(["2025-01-01"]), "n": [4], "g": ["x"]}), "m", "n", group_col="g", group_labeler=lambda _g: EVIL))
    _no_markup(figures.contributions_waterfall(pd.DataFrame({"label": [EVIL], "diff": [3.0]}), "label", "diff", 10, 13, "avant", "après"))
    _no_markup(figures.grouped_bars(pd.DataFrame({"x": [EVIL], "v": [1.0], "g": ["a"]}), "x", "v", "g"))
    _no_markup(figures.stacked_bars(pd.DataFrame({"f": [EVIL], "a": [1]}), "f", ["a"], ["Acceptées"]))
    _no_markup(figures.small_multiples(pd.DataFrame({"f": ["x"], "m": pd.to_datetime(["2025-01-01"]), "n": [1]}), "f", "m", "n", facet_labeler=lambda _f: EVIL))
    text = _no_markup(figures.points_map(pd.DataFrame({"lon": [4.8], "lat": [45.7], "n": [2], "id": [EVIL]}), "lon", "lat", "n", "id"))
    assert "&lt;b&gt;gras&lt;" in text  # shown as typed, not dropped


def test_hidden_values_are_grey_with_their_text_and_no_number():
    import pandas as pd

    from observatory import figures

    gj = {"type": "FeatureCollection", "features": [{"type": "Feature", "id": i, "properties": {}, "geometry": {"type": "Point", "coordinates": [4.8, 45.7]}} for i in "ab"]}
    df = pd.DataFrame({"id": ["a", "b"], "v": [float("nan"), 12.0], "t": ["< 5", "12"]})
    fig = figures.choropleth_map(df, gj, "id", "v", "Faits", text_col="t")
    shown, hidden = fig.data[0], fig.data[1]
    assert list(shown.locations) == ["b"] and list(hidden.locations) == ["a"]
    # Escaped like every text: Plotly shows "&lt; 5" as "< 5".
    assert hidden.customdata[0][2] == "&lt; 5" and hidden.name.startswith("Effectif trop faible")


def test_house_theme_is_compact_and_french():
    import plotly.graph_objects as go

    fig = figures.theme(go.Figure(go.Bar(x=["a"], y=[1])), height=300)
    assert fig.layout.separators == labels.PLOTLY_SEPARATORS and fig.layout.height == 300
    tpl = fig.layout.template
    assert tpl.layout.font.family == figures.FONT and tuple(tpl.layout.colorway) == figures.COLORWAY
    assert tpl.layout.plot_bgcolor == "white"  # plotly_white's background kept
    # Only the 2-D parts we draw: no 3-D scene, polar or ternary defaults, no templates of unused trace types.
    assert tpl.layout.scene.to_plotly_json() == {} and tpl.layout.polar.to_plotly_json() == {}
    assert set(tpl.data.to_plotly_json()) <= set(figures.style._TEMPLATE_TRACE_TYPES)
    assert len(fig.to_json()) < 4000
    # Built once: later figures reuse the same template object.
    assert figures.house_template() is figures.house_template()


def test_change_bars_flag_percentages_on_small_counts():
    """Review #6: « inconnu +100 % » for +1 fact was printed with no flag; now the bar label and the hover say it."""
    df = pd.DataFrame({"label": ["Arrondissement inconnu", "Vols"], "diff": [1, 40], "pct_change": [1.0, 0.1], "significant": [False, True], "unreliable": [True, False]})
    fig = figures.change_bars(df, "label", "diff", "significant", pct_col="pct_change")
    bar = fig.data[0]
    texts = dict(zip([y.replace(" ★", "") for y in bar.y], bar.text))
    assert texts["Arrondissement inconnu"] == f"+100{labels.NBSP}% ⚠"
    assert "⚠" not in texts["Vols"]
    caveats = dict(zip([y.replace(" ★", "") for y in bar.y], [c[1] for c in bar.customdata]))
    assert "effectifs trop faibles" in caveats["Arrondissement inconnu"] and caveats["Vols"] == ""
    # No previous count: the change is said in facts, not as a percentage.
    fig0 = figures.change_bars(pd.DataFrame({"label": ["a"], "diff": [1], "pct_change": [float("nan")], "significant": [False], "unreliable": [True]}), "label", "diff", pct_col="pct_change")
    assert fig0.data[0].text[0] == "+1 fait"


def test_contribution_bars_start_at_zero_and_write_full_numbers():
    """Review #7a: the waterfall's axis started at ~54,5k so +2 % looked like a doubling, ticks read « 55,5k »."""
    df = pd.DataFrame({"label": ["Vols", "Cambriolages", "Dégradations"], "diff": [800.0, -300.0, 518.0]})
    fig = figures.contribution_bars(df, "label", "diff", 54_512, 55_530)
    lo, hi = fig.layout.xaxis.range
    assert lo < 0 < hi  # bars drawn from zero, both directions visible
    assert fig.layout.xaxis.tickformat == ",~r" and fig.layout.template.layout.yaxis.tickformat == ",~r"  # no SI « k »
    assert fig.layout.title.text == f"Total : 54{labels.NBSP}512 → 55{labels.NBSP}530 faits, soit +1{labels.NBSP}018 (+1,9{labels.NBSP}%)"
    assert list(fig.data[0].y)[-1] == "Vols"  # largest contribution at the top


def test_empty_figures_say_so_instead_of_drawing_nonsense_axes():
    """Review #17: a map of zeros had a −0,4…0,4 colour bar, an all-zero bar chart a −1…1 axis, a one-month
    series repeated its month tick."""
    gj = {"type": "FeatureCollection", "features": [{"type": "Feature", "id": i, "properties": {}, "geometry": {"type": "Point", "coordinates": [4.8, 45.7]}} for i in "ab"]}
    zeros = figures.choropleth_map(pd.DataFrame({"id": ["a", "b"], "v": [0.0, 0.0]}), gj, "id", "v", "Faits")
    assert zeros.data[0].showscale is False and (zeros.data[0].zmin, zeros.data[0].zmax) == (0, 1)
    assert [a.text for a in zeros.layout.annotations] == ["Aucun fait pour ces filtres"]
    some = figures.choropleth_map(pd.DataFrame({"id": ["a", "b"], "v": [0.0, 3.0]}), gj, "id", "v", "Faits")
    assert some.data[0].showscale is not False and not some.layout.annotations
    bars = figures.grouped_bars(pd.DataFrame({"year": [2024, 2025], "v": [0.0, float("nan")], "g": ["saison", "saison"]}), "year", "v", "g")
    assert [a.text for a in bars.layout.annotations] == ["Aucun fait pour ces filtres"] and bars.layout.xaxis.visible is False
    one = figures.time_series(pd.DataFrame({"month": [pd.Timestamp("2025-03-01")] * 2, "count": [3, 4], "w": ["a", "b"]}), "month", "count", group_col="w")
    assert one.layout.xaxis.dtick == "M1" and one.data[0].mode == "lines+markers"


def test_a_map_whose_only_counts_are_withheld_does_not_say_there_is_nothing():
    import pandas as pd

    from observatory import figures

    gj = {"type": "FeatureCollection", "features": [{"type": "Feature", "id": i, "properties": {}, "geometry": {"type": "Point", "coordinates": [4.8, 45.7]}} for i in "ab"]}
    hidden_only = figures.choropleth_map(pd.DataFrame({"id": ["a", "b"], "v": [float("nan"), 0.0], "t": ["< 5", "0"]}), gj, "id", "v", "Faits", text_col="t")
    assert [a.text for a in hidden_only.layout.annotations] == ["Effectifs trop faibles : valeurs non publiées"]
    empty = figures.choropleth_map(pd.DataFrame({"id": ["a", "b"], "v": [0.0, 0.0]}), gj, "id", "v", "Faits")
    assert [a.text for a in empty.layout.annotations] == ["Aucun fait pour ces filtres"]


def test_change_bar_labels_have_room_inside_the_axis_range():
    # The largest bar's label (« +400 % ⚠ », 9 characters) needs about a fifth of a 320 px plot on its side.
    df = pd.DataFrame({"l": ["a", "b", "c"], "d": [10, -9, 2], "p": [4.0, -0.5, 0.1], "significant": [False] * 3, "unreliable": [True, True, False]})
    fig = figures.change_bars(df, "l", "d", pct_col="p")
    lo, hi = fig.layout.xaxis.range
    span = hi - lo
    need = max(len(t) for t in fig.data[0].text) * 7 / figures.PLOT_PX  # the plot of a half card at 1024 px
    assert "+400\u00a0% ⚠" in fig.data[0].text
    assert (hi - 10) / span >= need - 1e-9 and (-9 - lo) / span >= need - 1e-9


def test_maps_without_tiles_draw_the_rivers_from_shipped_data():
    layers = figures.base_layers("white-bg")
    assert [f["properties"]["name"] for f in layers[0]["source"]["features"]] == ["Saône", "Rhône"]
    assert layers[0]["type"] == "line" and layers[0]["below"] == "traces"
    assert figures.base_layers("https://tiles.example/style.json") == []  # a tiled basemap already shows them
    # Every point lies in Lyon's bounding box (a typo in a coordinate would draw a line across the map).
    for feature in layers[0]["source"]["features"]:
        for lon, lat in feature["geometry"]["coordinates"]:
            assert 4.77 < lon < 4.90 and 45.70 < lat < 45.81


def test_outline_legend_entries_have_a_colour_swatch():
    gj = {"type": "FeatureCollection", "features": [{"type": "Feature", "id": "69381", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [[[4.83, 45.76], [4.84, 45.76], [4.84, 45.77], [4.83, 45.76]]]}}]}
    df = pd.DataFrame({"arrondissement": ["69381"], "rate": [12.0], "name": ["Lyon 1er"]})
    fig = figures.choropleth_map(df, gj, "arrondissement", "rate", "Taux", name_col="name", outlines=[(gj, "Hypercentre", "#7b3294")])
    legend = [t for t in fig.data if t.showlegend and t.name == "Hypercentre"]
    assert len(legend) == 1 and legend[0].type == "scattermap" and legend[0].line.color == "#7b3294"
    outline = [t for t in fig.data if t.type == "choroplethmap" and t.legendgroup == "Hypercentre"]
    assert outline and outline[0].showlegend is False


def test_a_single_value_map_scale_starts_at_zero():
    gj = {"type": "FeatureCollection", "features": [{"type": "Feature", "id": "69381", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [[[4.83, 45.76], [4.84, 45.76], [4.84, 45.77], [4.83, 45.76]]]}}]}
    fig = figures.choropleth_map(pd.DataFrame({"a": ["69381"], "v": [45.4]}), gj, "a", "v", "Taux")
    assert (fig.data[0].zmin, fig.data[0].zmax) == (0, 45.4)


def test_change_bars_wrap_long_category_names():
    """Long category names are broken over lines (spaces only), so the y axis does not eat a 1024 px card."""
    import pandas as pd

    from observatory import figures

    long = "Violences physiques non crapuleuses hors cadre familial"
    df = pd.DataFrame({"label": [long, "Vols"], "diff": [5, -3], "significant": [True, False]})
    ys = list(figures.change_bars(df, "label", "diff").data[0].y)
    wrapped = next(y for y in ys if y.startswith("Violences"))
    assert "<br>" in wrapped and all(len(line) <= 26 for line in wrapped.split("<br>"))
    assert wrapped.replace("<br>", " ") == long + " ★"
    assert "Vols" in ys
    starred = figures.change_bars(pd.DataFrame({"label": ["Vols dans les véhicules"], "diff": [-5], "significant": [True]}), "label", "diff").data[0].y[0]
    assert all(line.strip() != "★" for line in starred.split("<br>")), starred
