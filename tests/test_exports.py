"""Exports read back: CSV with ';' and decimal comma, XLSX typed with metadata, GeoJSON, formula injection inert."""

from __future__ import annotations

import csv
import io
import json

import pandas as pd
from hypothesis import given, settings as hsettings, strategies as st

from observatory.reports.exports import ExportMeta, export_filename, neutralise, to_csv_bytes, to_geojson_bytes, to_xlsx_bytes
from observatory.reports.protection import protect_for_export

META = ExportMeta(title="Faits par arrondissement", source="test", filters="période 01/01/2025–31/12/2025", snapshot_id="snap-1", privacy="règle < 5")
TABLE = pd.DataFrame({"arrondissement": ["Lyon 1er", "=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(A1)", "\tx", "\ry"],
                      "faits": [12, 30, 7, 8, 9, 10, 11], "taux": [1.5, 2.25, 0.5, 0.1, 0.2, 0.3, 0.4]})


def test_csv_opens_with_semicolon_bom_and_decimal_comma():
    raw = to_csv_bytes(TABLE, META)
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["arrondissement", "faits", "taux"]
    assert rows[1] == ["Lyon 1er", "12", "1,5"]
    assert rows[2][2] == "2,25"
    assert ["Instantané", "snap-1"] in rows and ["Filtres", "période 01/01/2025–31/12/2025"] in rows


def test_formula_injection_is_inert_in_csv_and_xlsx():
    from openpyxl import load_workbook

    rows = list(csv.reader(io.StringIO(to_csv_bytes(TABLE, META).decode("utf-8-sig")), delimiter=";"))
    for cell in [r[0] for r in rows[2:8]]:
        assert cell.startswith("'"), cell
    wb = load_workbook(io.BytesIO(to_xlsx_bytes(TABLE, META)))
    ws = wb["Données"]
    for row in ws.iter_rows(min_row=2):
        assert row[0].data_type == "s"  # never 'f' (formula)
        assert not str(row[0].value).startswith(("=", "+", "-", "@", "\t", "\r"))


def test_xlsx_round_trip_typed_frozen_and_metadata():
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(to_xlsx_bytes(TABLE, META)))
    ws = wb["Données"]
    assert ws.freeze_panes == "A2"
    back = pd.DataFrame(list(ws.iter_rows(min_row=2, values_only=True)), columns=[c.value for c in ws[1]])
    assert list(back["faits"]) == list(TABLE["faits"]) and list(back["taux"]) == list(TABLE["taux"])
    assert isinstance(ws["B2"].value, int) and isinstance(ws["C2"].value, float)
    meta = dict(wb["Métadonnées"].iter_rows(values_only=True))
    assert meta["Instantané"] == "snap-1" and meta["Protection"] == "règle < 5" and meta["Source"] == "test"


def test_geojson_layer_carries_protected_values_and_metadata():
    import geopandas as gpd
    from shapely.geometry import box

    layer = gpd.GeoDataFrame({"code": ["69381", "69382"]}, geometry=[box(4.8, 45.7, 4.81, 45.71), box(4.81, 45.7, 4.82, 45.71)], crs="EPSG:4326")
    values = protect_for_export(pd.DataFrame({"code": ["69381", "69382"], "faits": [3, 40], "taux": [0.1, 1.3]}), ["faits"], 5, derived=("taux",))
    data = json.loads(to_geojson_bytes(layer, META, values))
    props = {f["properties"]["code"]: f["properties"] for f in data["features"]}
    assert props["69381"]["faits"] == "< 5" and props["69381"]["taux"] is None
    assert props["69382"]["faits"] == "s"  # complementary: the total of two would give the 3 back
    assert data["metadata"]["Instantané"] == "snap-1"


def test_file_name_keeps_filters_and_marks_internal():
    from observatory.analytics import Filters

    name = export_filename("Faits par arrondissement", Filters(start="2025-01-01", end="2025-12-31", categories=("escroqueries",)), "csv", protected=False)
    assert name == "faits-par-arrondissement_du-2025-01-01_au-2025-12-31_categories-escroqueries_interne-non-protege.csv"
    # However long the filters, the unprotected marker stays at the end of the name.
    many = Filters(categories=tuple(sorted(__import__("observatory.schema", fromlist=["categories"]).categories())))
    long_name = export_filename("Faits par catégorie", many, "xlsx", protected=False)
    assert long_name.endswith("_interne-non-protege.xlsx") and len(long_name) <= 155


@hsettings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 40), min_size=1, max_size=12), st.sampled_from([3, 5, 10]))
def test_public_export_never_shows_a_small_count(values, min_count):
    out = protect_for_export(pd.DataFrame({"k": range(len(values)), "faits": values}), ["faits"], min_count)
    shown = [v for v in out["faits"] if not isinstance(v, str)]
    assert all(v == 0 or v >= min_count for v in shown)
    hidden = [v for v, o in zip(values, out["faits"]) if isinstance(o, str)]
    # Never exactly one hidden cell: the total would give it back.
    assert len(hidden) != 1 or sum(1 for v in values if v > 0) == 1


@given(st.text(min_size=1, max_size=10))
def test_neutralise_any_text(text):
    out = neutralise(text)
    assert not out.startswith(("=", "+", "-", "@", "\t", "\r"))
