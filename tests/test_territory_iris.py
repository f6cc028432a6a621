"""IRIS: fetched through the real download path from a loopback server, then used to place points."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest
import shapely

from observatory.territory import TerritoryError, iris_of_points, load_territory
from observatory.territory.fetch import fetch_iris
from tests.conftest import reference_file
from tests.test_territory import loopback  # noqa: F401 - fixture


def _tiny_iris() -> gpd.GeoDataFrame:
    """Two IRIS per arrondissement: the west and east halves of a 1 km square centred in it (hand-checkable)."""
    rows, geoms = [], []
    for i in range(1, 10):
        for half, (x0, x1) in enumerate(((0.0, 500.0), (500.0, 1000.0))):
            base_x, base_y = 840_000 + 1_000 * i, 6_510_000
            rows.append({"code_iris": f"6938{i}0{half + 1:03d}", "arrondissement": f"6938{i}", "name": f"I{i}-{half}"})
            geoms.append(shapely.box(base_x + x0, base_y, base_x + x1, base_y + 1_000))
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=2154)


def test_points_get_the_iris_of_their_arrondissement():
    iris = _tiny_iris()
    x = np.array([841_100.0, 841_700.0, 842_100.0, np.nan, 841_100.0, 900_000.0])
    y = np.array([6_510_500.0, 6_510_500.0, 6_510_500.0, 6_510_500.0, 6_510_500.0, 6_510_500.0])
    arr = np.array(["69381", "69381", "69382", "69381", "69382", "69381"], dtype=object)
    got = iris_of_points(x, y, arr, iris)
    # West half, east half, the 2e's west half, no coordinates, a point whose declared arrondissement has no IRIS
    # there, a point outside every IRIS.
    assert list(got) == ["693810001", "693810002", "693820001", None, None, None]


def test_no_iris_until_fetched(settings):
    assert load_territory(settings).iris is None


def test_fetch_iris_from_loopback_and_assign_real_points(settings, loopback):  # noqa: F811
    path = reference_file("lyon", "iris_ign_2024.geojson")
    base, routes = loopback
    routes["/wfs"] = path.read_bytes()
    assert fetch_iris(settings, f"{base}/wfs?TYPENAMES=x") == 185
    meta = json.loads((settings.reference_dir / "iris.json").read_text())
    assert meta["features"] == 185
    territory = load_territory(settings)
    assert len(territory.iris) == 185 and set(territory.iris["arrondissement"]) == {f"6938{i}" for i in range(1, 10)}
    # Place Bellecour lies in an IRIS of the 2e; the Cité Internationale point in the IRIS named after it (6e).
    pts = gpd.GeoSeries(shapely.points([4.8320, 4.8545], [45.7578, 45.7850]), crs=4326).to_crs(2154)
    got = iris_of_points(pts.x.to_numpy(), pts.y.to_numpy(), np.array(["69382", "69386"], dtype=object), territory.iris.to_crs(2154))
    assert got[0].startswith("69382")
    assert territory.iris.set_index("code_iris").loc[got[1], "name"] == "Cité Internationale"


def test_a_wrong_layer_is_refused_and_the_cache_kept(settings, loopback):  # noqa: F811
    base, routes = loopback
    settings.reference_dir.mkdir(parents=True)
    (settings.reference_dir / "iris.geojson").write_bytes(b"previous")
    wrong = gpd.GeoDataFrame({"code_iris": ["751010101"]}, geometry=[shapely.box(2.3, 48.8, 2.31, 48.81)], crs=4326)
    routes["/wfs"] = wrong.to_json().encode()
    with pytest.raises(TerritoryError, match="IRIS de Lyon trouvés au lieu d'environ 185"):
        fetch_iris(settings, f"{base}/wfs")
    assert (settings.reference_dir / "iris.geojson").read_bytes() == b"previous"
