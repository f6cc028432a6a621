"""Map glyphs served by the dashboard: the shipped PBF ranges hold real SDF glyphs for French names, the server
answers MapLibre's glyph URLs without a session, and the maps' offline style points there (never off the machine)."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd
import pytest

from observatory import figures
from observatory.config import get_settings
from tools.build_map_glyphs import BUFFER, decode, encode, sdf

FACES = {"open-sans-regular": "Open Sans Regular", "open-sans-semibold": "Open Sans Semibold", "open-sans-bold": "Open Sans Bold"}
FRENCH = "Lyon 1er 2e 3e 9e Croix-Rousse Duchère Gerland Mermoz Ménival Saint-Exupéry Fourvière Vaise à â ç é è ê ë î ï ô ù û ü ÿ Œ œ É À Ç"


def _shipped(folder: str, rng: str) -> dict:
    return decode(resources.files("observatory.data").joinpath("glyphs", folder, f"{rng}.pbf").read_bytes())


@pytest.mark.parametrize("folder", list(FACES))
def test_shipped_ranges_hold_every_letter_of_french_place_names(folder):  # noqa: ANN001
    ranges = {rng: _shipped(folder, rng) for rng in ("0-255", "256-511")}
    for rng, data in ranges.items():
        assert data["name"] == FACES[folder] and data["range"] == rng
    for ch in FRENCH:
        code = ord(ch)
        g = ranges["0-255" if code < 256 else "256-511"]["glyphs"].get(code)
        assert g is not None, f"{ch!r} missing from {folder}"
        if ch == " ":
            assert g["advance"] > 0 and not g["bitmap"]
            continue
        assert g["width"] > 0 and g["height"] > 0 and g["advance"] > 0
        # fontnik's layout: the bitmap is the glyph plus a 3 px buffer on every side.
        assert len(g["bitmap"]) == (g["width"] + 2 * BUFFER) * (g["height"] + 2 * BUFFER)
        bitmap = np.frombuffer(g["bitmap"], dtype=np.uint8)
        assert bitmap.max() >= 192 and bitmap.min() < 64, f"{ch!r} is not a distance field"
    # Capitals stand ~17 px above the baseline at 24 px, lower case x-height ~13 px: real metrics, not a stub.
    big_a, small_x = ranges["0-255"]["glyphs"][ord("A")], ranges["0-255"]["glyphs"][ord("x")]
    assert 16 <= big_a["height"] <= 19 and 11 <= small_x["height"] <= 14
    assert resources.files("observatory.data").joinpath("glyphs", "OFL.txt").read_text(encoding="utf-8").count("SIL Open Font License") >= 1


def test_sdf_puts_the_outline_at_192_and_encode_decode_round_trip():
    # A 10 × 10 px square: inside is bright, the outline sits at 191–192 (fontnik's cutoff), each pixel of
    # distance outside costs 32 (8 px of range).
    square = [np.array([[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]], dtype=float)]
    bitmap = np.frombuffer(sdf(square, 0, 10, 10, 10), dtype=np.uint8).reshape(16, 16)
    assert bitmap[8, 8] == 255  # the centre, 5 px from every side
    assert bitmap[0, 0] == 255 - int(2.5 * 2**0.5 * 32 + 64)  # the buffer's corner, 2.5 px out on both axes
    assert (bitmap[8, 2], bitmap[8, 3]) == (255 - 80, 255 - 48)  # centres 0.5 px outside and inside the left edge
    assert bitmap[8, 2] < bitmap[8, 3] < bitmap[8, 4]
    # A hole (second ring, opposite direction) is outside under the non-zero rule.
    hole = [square[0], np.array([[3, 3], [3, 7], [7, 7], [7, 3], [3, 3]], dtype=float)]
    holed = np.frombuffer(sdf(hole, 0, 10, 10, 10), dtype=np.uint8).reshape(16, 16)
    assert holed[8, 8] == 255 - (64 + 48) < 191 < holed[8, 4]  # 1.5 px inside the hole: outside the glyph
    glyph = {"id": 233, "bitmap": bytes(range(16)), "width": 1, "height": 10, "left": -2, "top": -9, "advance": 13}
    back = decode(encode("Open Sans Regular", 0, 255, [glyph]))
    assert back["name"] == "Open Sans Regular" and back["range"] == "0-255" and back["glyphs"][233] == glyph


@pytest.fixture(scope="module")
def app_and_settings(tmp_path_factory):  # noqa: ANN001, ANN201
    from tests.dashboard_data import publish_random_store, shared_app

    settings = publish_random_store(get_settings(data_dir=tmp_path_factory.mktemp("glyphs") / "data"), n=1_000, seed=11)
    app = shared_app(settings)
    app.server.config["OBSERVATORY_SETTINGS"] = settings
    return app, settings


def test_the_server_answers_maplibre_glyph_urls_without_a_session(app_and_settings):  # noqa: ANN001
    app, _settings = app_and_settings
    client = app.server.test_client()
    # MapLibre asks for the whole font stack Plotly names, comma-joined and URL-encoded.
    r = client.get("/map-glyphs/Open%20Sans%20Semibold,Arial%20Unicode%20MS%20Regular/0-255.pbf")
    assert r.status_code == 200 and r.mimetype == "application/x-protobuf"
    assert "public" in r.headers["Cache-Control"]
    data = decode(r.data)
    assert data["name"] == "Open Sans Semibold" and ord("é") in data["glyphs"]
    assert decode(client.get("/map-glyphs/Open%20Sans%20Regular/256-511.pbf").data)["glyphs"][ord("œ")]["width"] > 0
    # A range no name of ours uses is a valid empty answer (no failed request for MapLibre to log)...
    empty = client.get("/map-glyphs/Open%20Sans%20Regular/19968-20223.pbf")
    assert empty.status_code == 200 and decode(empty.data) == {"name": "Open Sans Regular", "range": "19968-20223", "glyphs": {}}
    # ...and what is not a glyph range is not found.
    for bad in ("0-300", "1-256", "256-511x", "abc"):
        assert client.get(f"/map-glyphs/Open%20Sans%20Regular/{bad}.pbf").status_code == 404, bad
    # With accounts configured, the glyphs (a font, no data) are served to a browser not yet signed in, like the
    # sign-in page's own assets (security checks GET paths against its public prefixes).
    from observatory.dashboard import security

    assert "/map-glyphs/" in security._public_routes


def test_dashboard_maps_use_the_local_glyphs_and_name_the_arrondissements(app_and_settings):  # noqa: ANN001
    from observatory.dashboard import geo

    app, settings = app_and_settings
    with app.server.test_request_context("/"):
        style = geo.map_style(settings)
    assert figures.is_offline(style)
    assert style["glyphs"] == "/map-glyphs/{fontstack}/{range}.pbf"
    places = geo.arrondissement_places(settings)
    assert sorted(places["text"]) == sorted(["1er", "2e", "3e", "4e", "5e", "6e", "7e", "8e", "9e"])
    # Each name lies inside its own district.
    import geopandas as gpd

    from observatory.territory import load_territory

    arr = load_territory(settings).arrondissements.to_crs(4326).set_index("code")
    for row in places.itertuples():
        assert arr.loc[row.id].geometry.contains(gpd.points_from_xy([row.lon], [row.lat])[0]), row.text
    # An online basemap keeps its own style (and its own glyphs).
    online = get_settings(data_dir=settings.data_path, tile_source="carto-positron")
    assert geo.map_style(online) == "carto-positron"


def test_choropleth_names_read_dark_on_light_fills_and_white_on_dark_ones():
    df = pd.DataFrame({"code": ["a", "b", "c"], "n": [1.0, 50.0, 100.0], "label": ["A", "B", "C"]})
    gj = {"type": "FeatureCollection", "features": [{"type": "Feature", "id": k, "properties": {}, "geometry": {"type": "Point", "coordinates": [4.8, 45.7]}} for k in "abc"]}
    places = pd.DataFrame({"id": ["a", "b", "c"], "lon": [4.80, 4.85, 4.90], "lat": [45.75, 45.76, 45.77], "text": ["1er", "2e", "<b>3e</b>"]})
    fig = figures.choropleth_map(df, gj, "code", "n", "Faits", name_col="label", style=figures.offline_style("/g/{fontstack}/{range}.pbf"), places=places)
    texts = [t for t in fig.data if t.type == "scattermap" and t.mode == "text"]
    by_color = {t.textfont.color: list(t.text) for t in texts}
    # YlOrRd: pale yellow at 1, orange at 50 (dark text reads on both), deep red at 100; names are made inert.
    assert by_color == {figures.LABEL_DARK: ["1er", "2e"], figures.LABEL_LIGHT: ["&lt;b&gt;3e&lt;/b&gt;"]}
    assert all(t.hoverinfo == "skip" and t.showlegend is False and t.textfont.family == "Open Sans Semibold" for t in texts)
    layout = fig.to_plotly_json()["layout"]["map"]
    assert layout["style"]["glyphs"] == "/g/{fontstack}/{range}.pbf"
    # The rivers still draw under the data with the glyph-serving style.
    assert [layer["name"] for layer in layout["layers"]] == ["fleuves"]
