"""Location rules: zone validity dates, real official boundaries (when ../shared is present), DST."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from observatory import schema as S
from observatory import store
from observatory.etl import ingest
from tests.etl_helpers import L93_POINTS, excel_serial, pn_row, settings_for, to_l93, write_pm_xlsx, write_pn

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "reference"


def _df(s):
    return store.current_snapshot(s).read_incidents().to_pandas().set_index(S.SOURCE_ID)


def test_zone_membership_respects_validity_dates(tmp_path):
    s = settings_for(tmp_path)
    x, y = L93_POINTS["69387"]
    from pyproj import Transformer

    lon, lat = Transformer.from_crs(2154, 4326, always_xy=True).transform(x, y)
    d = 0.003
    ring = [[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d], [lon - d, lat + d], [lon - d, lat - d]]
    s.reference_dir.mkdir(parents=True)
    (s.reference_dir / "perimetres.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": {"zone_id": "gltd_test", "kind": "gltd", "name": "GLTD test", "valid_from": "2024-01-01", "valid_to": "2024-06-30"}}]}))
    rows = [pn_row("IN", "15/03/2024 10:00", xy=(x, y), arr="69387"), pn_row("AFTER", "15/08/2024 10:00", xy=(x, y), arr="69387"),
            pn_row("BEFORE", "15/12/2023 10:00", xy=(x, y), arr="69387")]
    ingest(s, [write_pn(tmp_path / "pn_20250101.csv", rows)], "police_nationale")
    df = _df(s)
    assert "gltd_test" in list(df.loc["IN", S.ZONES])
    assert "gltd_test" not in list(df.loc["AFTER", S.ZONES]) and "gltd_test" not in list(df.loc["BEFORE", S.ZONES])


@pytest.mark.skipif(not (SHARED / "lyon").exists(), reason="../shared/reference is absent (real public boundaries and pools)")
def test_real_boundaries_flag_the_elixia_pool_declared_in_the_7th(tmp_path):
    """Real quirk: the Elixia basin is declared 69387 by the census but its point lies in the 5e polygon."""
    s = settings_for(tmp_path)
    s.reference_dir.mkdir(parents=True)
    shutil.copy(SHARED / "lyon" / "arrondissements_grandlyon_wfs_2024-12-23.geojson", s.reference_dir / "arrondissements.geojson")
    pools = json.loads((SHARED / "lyon" / "piscines_grandlyon_recensement_2024-12-12.geojson").read_text(encoding="utf-8"))
    elixia = next(f for f in pools["features"] if "Elixia" in json.dumps(f["properties"], ensure_ascii=False))
    lon, lat = elixia["geometry"]["coordinates"]
    declared = elixia["properties"]["insee"]
    row = ["PM1", excel_serial(2024, 3, 2, 15, 0), lon, lat, declared, "Centre Odyssée", "Rixe", "Piscine"]
    r = ingest(s, [write_pm_xlsx(tmp_path / "pm_interventions_2024-04-03.xlsx", [row])], "police_municipale")
    assert r.exit_code == 0
    inc = _df(s).loc["PM1"]
    assert (inc[S.DECLARED_ARRONDISSEMENT], inc[S.ARRONDISSEMENT]) == ("69387", "69385")
    assert bool(inc[S.ARRONDISSEMENT_MISMATCH])


def test_dst_changes_do_not_lose_rows(tmp_path):
    s = settings_for(tmp_path)
    rows = [pn_row("AMBIG", "27/10/2024 02:30"), pn_row("GAP", "31/03/2024 02:30"), pn_row("NORMAL", "31/03/2024 04:30")]
    r = ingest(s, [write_pn(tmp_path / "pn_20241201.csv", rows)], "police_nationale")
    assert r.files[0].accepted == 3
    df = _df(s)
    assert df.loc["AMBIG", S.OCCURRED_AT].isoformat() == "2024-10-27T02:30:00+02:00"  # the first of the two 02:30
    assert df.loc["NORMAL", S.OCCURRED_AT].isoformat() == "2024-03-31T04:30:00+02:00"
    assert df.loc["GAP", S.OCCURRED_AT].year == 2024


def test_coordinates_without_decimal_part_and_zero_point(tmp_path):
    s = settings_for(tmp_path)
    x, y = to_l93(4.8357, 45.7640)
    rows = [pn_row("INT", xy=(round(x), round(y)), arr="69381"), pn_row("ZERO", xy=(0, 0), arr="69384")]
    ingest(s, [write_pn(tmp_path / "pn_20240201.csv", rows)], "police_nationale")
    df = _df(s)
    assert df.loc["INT", S.LOCATION_QUALITY] == "point"
    assert df.loc["ZERO", S.LOCATION_QUALITY] == "sector" and df.loc["ZERO", S.ARRONDISSEMENT] == "69384"
