"""Once Lyon's IRIS are cached, ingested points get their IRIS; rows without a point keep none."""

from __future__ import annotations

import geopandas as gpd
import pyarrow.parquet as pq
import shapely

from observatory.etl import ingest
from observatory.store import current_snapshot
from tests.etl_helpers import L93_POINTS, pn_row, settings_for, write_pn


def _write_iris(settings) -> None:
    """Two hand-made IRIS per arrondissement: west and east halves of a 2 km × 800 m box around a known point."""
    rows, geoms = [], []
    for code, (x, y) in L93_POINTS.items():
        for k, (x0, x1) in enumerate(((x - 1000, x), (x, x + 1000))):
            rows.append({"code_iris": f"{code}{k + 1:04d}", "nom_iris": f"{code}-{k}"})
            geoms.append(shapely.box(x0, y - 400, x1, y + 400))
    gdf = gpd.GeoDataFrame(rows, geometry=geoms, crs=2154).to_crs(4326)
    # Pad the layer to a plausible count and area of Lyon's IRIS so that it passes validation (185 in reality).
    extra = [{"code_iris": f"69389{9000 + i:04d}", "nom_iris": "pad"} for i in range(100)]
    pad = gpd.GeoDataFrame(extra, geometry=[shapely.box(835000 + 700 * (i % 10), 6525000 + 500 * (i // 10), 835700 + 700 * (i % 10), 6525500 + 500 * (i // 10)) for i in range(100)], crs=2154).to_crs(4326)
    settings.reference_dir.mkdir(parents=True, exist_ok=True)
    (settings.reference_dir / "iris.geojson").write_text(gpd.pd.concat([gdf, pad]).to_json(), encoding="utf-8")


def test_points_get_their_iris(tmp_path):
    settings = settings_for(tmp_path)
    _write_iris(settings)
    x, y = L93_POINTS["69382"]
    rows = [
        pn_row("A1", xy=(x - 10, y), arr="69382"),  # west half
        pn_row("A2", xy=(x + 10, y), arr="69382"),  # east half
        pn_row("A3", xy=("", ""), arr="69383"),  # no point: sector only, no IRIS
    ]
    path = write_pn(tmp_path / "pn_20240105.csv", rows)
    result = ingest(settings, [path], "police_nationale")
    assert result.snapshot_id is not None
    table = current_snapshot(settings).read_incidents().to_pandas().set_index("source_id")
    assert table.loc["A1", "iris"] == "693820001"
    assert table.loc["A2", "iris"] == "693820002"
    assert table.loc["A3", "iris"] is None or table.loc["A3", "iris"] != table.loc["A3", "iris"]
