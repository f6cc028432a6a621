"""The Carte's « SVG » export is a vector map drawn by the server (paths of the arrondissements or cells, never a
bitmap), with its title, legend, names, source and date, and the élu's protection applied."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest

from observatory.config import get_settings
from tests.test_dashboard_app import _export, base64_bytes

NS = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def app_and_settings(tmp_path_factory):  # noqa: ANN001, ANN201
    from tests.dashboard_data import publish_random_store, shared_app

    settings = publish_random_store(get_settings(data_dir=tmp_path_factory.mktemp("svgmap") / "data"), n=3_000, seed=13)
    app = shared_app(settings)
    app.server.config["OBSERVATORY_SETTINGS"] = settings
    return app, settings


def _svg(app, query: dict, options: dict) -> tuple[str, ET.Element, str]:  # noqa: ANN001
    from observatory.dashboard import ids

    data = _export(app, ids.MAP_GRAPH, "svg", query, options)
    text = base64_bytes(data).decode("utf-8")
    return data["filename"], ET.fromstring(text), text


def _texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter(f"{NS}text")]


def test_arrondissement_map_is_vector_with_title_legend_names_source_and_date(app_and_settings):  # noqa: ANN001
    app, _settings = app_and_settings
    filename, root, text = _svg(app, {"families": "atteintes_biens"}, {"couche": "arr_rate"})
    assert filename.endswith(".svg")
    assert root.tag == f"{NS}svg" and root.find(f"{NS}title").text == "Faits par arrondissement"
    assert not list(root.iter(f"{NS}image")) and "base64" not in text  # no embedded bitmap
    paths = list(root.iter(f"{NS}path"))
    # Nine filled districts (plus the outlines, the rivers and the scale bar), each a real outline.
    filled = [p for p in paths if p.get("fill") not in (None, "none")]
    assert len(filled) == 9 and all(p.get("d").count("L") >= 4 for p in filled)
    texts = _texts(root)
    assert texts[0] == "Faits par arrondissement"
    # The period the layer shows (the last year of data, as on the screen), not the whole history.
    assert texts[1].startswith("période du 01/01/2025 au "), texts[1]
    assert "Faits pour 1 000 habitants" in texts
    # Legend: five classes with French bounds (« 12,3 – 15,0 »), and a swatch per class whose colour fills a district.
    classes = [t for t in texts if re.fullmatch(r"\d+,\d – \d+,\d", t)]
    assert len(classes) == 5, texts
    swatches = {r.get("fill") for r in root.iter(f"{NS}rect") if r.get("width") == "16"}
    assert len(swatches) == 5 and {p.get("fill") for p in filled} <= swatches
    assert {"1er", "2e", "3e", "4e", "5e", "6e", "7e", "8e", "9e"} <= set(texts)
    assert any(t.startswith("Source : Observatoire de la délinquance") for t in texts)
    assert any(re.fullmatch(r"Exporté le \d\d/\d\d/\d{4} à \d\d:\d\d \(heure de Paris\)", t) for t in texts)
    assert any("atteintes aux biens" in t.lower() or "Atteintes aux biens" in t for t in texts), texts  # the filters


def test_grid_and_hotspot_layers_draw_their_cells(app_and_settings):  # noqa: ANN001
    app, _settings = app_and_settings
    from observatory import figures

    _f, root, _t = _svg(app, {}, {"couche": "grid"})
    cells = [p for p in root.iter(f"{NS}path") if p.get("fill") not in (None, "none")]
    grid = json.loads(base64_bytes(_export(app, __import__("observatory.dashboard.ids", fromlist=["x"]).MAP_GRAPH, "geojson", {}, {"couche": "grid"})).decode("utf-8-sig"))
    assert len(cells) == len(grid["features"]) > 50
    # A 200 m cell is a square: four corners.
    assert all(p.get("d").count("L") == 4 and p.get("d").endswith("Z") for p in cells)
    assert "Nombre de faits" in _texts(root)
    _f, root, _t = _svg(app, {}, {"couche": "hotspots"})
    fills = {p.get("fill") for p in root.iter(f"{NS}path") if p.get("fill") not in (None, "none")}
    legend = [t for t in _texts(root) if t in figures.HOTSPOT_LABELS.values()]
    assert fills and fills <= set(figures.HOTSPOT_COLORS.values()) and legend


def test_a_non_analyst_gets_withheld_districts_in_grey_and_no_snapshot_id(app_and_settings, monkeypatch):  # noqa: ANN001
    from observatory import figures
    from observatory.dashboard import security

    app, _settings = app_and_settings
    # One rare category over the last months: most districts have fewer than 5 facts.
    query = {"categories": ["vols_avec_armes"], "start": "2025-10-01"}
    _f, analyst, analyst_text = _svg(app, query, {"couche": "arr_count"})
    assert any(t.startswith("NON PROTÉGÉ") for t in _texts(analyst))
    # The Carte is an analysts' page (its exports are refused to an élu by the server's gate); whoever reaches it
    # without the analyst role still gets the protected rows: the callbacks see a non-analyst here.
    monkeypatch.setattr(security, "is_analyst", lambda: False)
    _f, root, text = _svg(app, query, {"couche": "arr_count"})
    filled = [p for p in root.iter(f"{NS}path") if p.get("fill") not in (None, "none")]
    grey = [p for p in filled if p.get("fill") == figures.HIDDEN_COLOR]
    assert grey, "the filters must leave small counts, else this test proves nothing"
    assert "Effectif trop faible (non publié)" in _texts(root)
    assert "instantané" not in text and "NON PROTÉGÉ" not in text
    assert any("< 5" in t for t in _texts(root))  # the protection rule is written under the map


def test_the_overview_map_svg_draws_the_measure_shown_and_an_elu_may_download_it(app_and_settings, monkeypatch):  # noqa: ANN001
    from observatory.auth.store import User
    from observatory.dashboard import ids, security

    app, _settings = app_and_settings
    data = _export(app, ids.OV_MAP, "svg", {}, {"mesure": "count"})
    root = ET.fromstring(base64_bytes(data).decode("utf-8"))
    texts = _texts(root)
    assert "Nombre de faits" in texts and "Faits pour 1 000 habitants" not in texts
    assert len([p for p in root.iter(f"{NS}path") if p.get("fill") not in (None, "none")]) == 9
    default = _texts(ET.fromstring(base64_bytes(_export(app, ids.OV_MAP, "svg", {}, {})).decode("utf-8")))
    assert "Faits pour 1 000 habitants" in default
    # The home page is an élu's page: its map's SVG is theirs too, protected, without the snapshot id.
    monkeypatch.setattr(security, "LOCAL_USER", User(name="paul", role="elu"))
    text = base64_bytes(_export(app, ids.OV_MAP, "svg", {}, {"mesure": "count"})).decode("utf-8")
    assert "<path" in text and "<image" not in text and "instantané" not in text and "NON PROTÉGÉ" not in text
