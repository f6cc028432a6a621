"""Territory: shipped outlines offline, official file through the real fetch on a loopback server, zones, grid."""

from __future__ import annotations

import gzip
import http.server
import json
import threading
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from observatory.territory import (
    TerritoryDownloadError,
    TerritoryError,
    cell_geometry,
    city_grid,
    fetch_arrondissements,
    grid_cell_ids,
    load_territory,
)
from observatory.territory.geography import OFFICIAL_BOUNDARY_FILE
from tests.conftest import reference_file


class _Handler(http.server.SimpleHTTPRequestHandler):
    routes: dict[str, bytes] = {}

    def do_GET(self):  # noqa: N802 - http.server's naming
        body = self.routes.get(self.path.split("?")[0])
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # keep test output quiet
        pass


@pytest.fixture
def loopback():
    """A loopback HTTP server; tests register the bytes served at each path."""
    _Handler.routes = {}
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Handler.routes
    server.shutdown()


def test_offline_uses_the_shipped_approximate_outlines(settings):
    t = load_territory(settings)
    assert t.approximate
    assert "contours approximatifs" in t.boundary_source
    assert list(t.arrondissements["code"]) == [f"6938{i}" for i in range(1, 10)]
    assert t.arrondissements.crs.to_epsg() == 4326
    assert t.arrondissements.geometry.is_valid.all()
    # The nine shapes tile the city: no overlaps.
    geoms = list(t.arrondissements.to_crs(2154).geometry)
    overlap = sum(a.intersection(b).area for i, a in enumerate(geoms) for b in geoms[i + 1 :])
    assert overlap < 1.0
    assert 40 < t.arrondissements.to_crs(2154).area.sum() / 1e6 < 65


def test_populations_are_the_2023_legal_populations(settings):
    t = load_territory(settings)
    pops = dict(zip(t.arrondissements["code"], t.arrondissements["population"]))
    assert pops["69383"] == 100_679 and pops["69381"] == 28_717
    assert t.city_population == 519_127
    assert t.population_vintage == 2023


def test_a_newer_population_table_replaces_the_shipped_one(settings):
    settings.reference_dir.mkdir(parents=True)
    rows = ["code,name,population,vintage"] + [f"6938{i},Lyon {i},{1000 * i},2024" for i in range(1, 10)]
    (settings.reference_dir / "populations.csv").write_text("\n".join(rows), encoding="utf-8")
    t = load_territory(settings)
    assert t.population_vintage == 2024
    assert t.city_population == 45_000


def test_pools_are_in_their_arrondissement_and_buffered(settings):
    t = load_territory(settings)
    pools = t.zones[t.zones["kind"] == "piscine"]
    assert len(pools) == 10
    # A 150 m buffer is a disc of about π·150² m².
    assert np.allclose(pools.to_crs(2154).area, np.pi * 150**2, rtol=0.02)
    arr = t.arrondissements.set_index("code")
    for pool in pools.itertuples():
        centre = pool.geometry.centroid
        assert arr.loc[pool.arrondissement, "geometry"].contains(centre), pool.name


def test_pool_buffer_is_a_setting(settings):
    t = load_territory(settings.replace(pool_buffer_m=300.0))
    pools = t.zones[t.zones["kind"] == "piscine"]
    assert np.allclose(pools.to_crs(2154).area, np.pi * 300**2, rtol=0.02)


def test_hypercentre_lies_between_the_rivers_and_qpv_are_marked_approximate(settings):
    t = load_territory(settings)
    zones = t.zones.set_index("zone_id")
    bellecour = shapely.Point(4.8320, 45.7578)
    terreaux = shapely.Point(4.8336, 45.7676)
    part_dieu = shapely.Point(4.8597, 45.7605)
    hyper = zones.loc["hypercentre", "geometry"]
    assert hyper.contains(bellecour) and hyper.contains(terreaux) and not hyper.contains(part_dieu)
    qpv = t.zones[t.zones["kind"] == "qpv"]
    assert len(qpv) >= 5 and qpv["approximate"].all()


def test_custom_perimeters_are_loaded_and_unknown_kinds_refused(settings):
    settings.reference_dir.mkdir(parents=True)
    feature = {
        "type": "Feature",
        "properties": {"zone_id": "gltd_guillotiere", "kind": "gltd", "name": "GLTD Guillotière"},
        "geometry": shapely.geometry.mapping(shapely.box(4.840, 45.750, 4.846, 45.756)),
    }
    path = settings.reference_dir / "perimetres.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}), encoding="utf-8")
    t = load_territory(settings)
    assert "gltd_guillotiere" in set(t.zones["zone_id"])
    feature["properties"]["kind"] = "secret_kind"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}), encoding="utf-8")
    with pytest.raises(TerritoryError, match="type\\(s\\) de zone inconnu\\(s\\) secret_kind ; types possibles"):
        load_territory(settings)


def test_grid_ids_are_stable_and_cells_contain_their_points():
    x = np.array([842_010.0, 842_199.9, 842_200.0, np.nan])
    y = np.array([6_519_000.0, 6_519_199.0, 6_519_000.0, 6_519_000.0])
    ids = grid_cell_ids(x, y, 200)
    assert list(ids[:3]) == ["E4210_N32595", "E4210_N32595", "E4211_N32595"]
    assert ids[3] is None
    import pandas as pd

    cells = cell_geometry(pd.Series(ids[:3]), 200)
    assert all(c.covers(shapely.Point(px, py)) for c, px, py in zip(cells, x[:3], y[:3]))


def test_city_grid_covers_the_city(settings):
    t = load_territory(settings)
    grid = city_grid(t, 200)
    assert grid["cell_id"].is_unique
    city_area = t.city_l93().area
    inside = (grid["share_in_city"] * 200 * 200).sum()
    assert abs(inside - city_area) / city_area < 1e-6
    assert set(grid["arrondissement"].dropna()) == {f"6938{i}" for i in range(1, 10)}


def test_fetch_from_loopback_caches_the_official_file_and_next_load_uses_it(settings, loopback, capsys):
    official = reference_file("lyon", "arrondissements_grandlyon_wfs_2024-12-23.geojson")
    base, routes = loopback
    routes["/wfs"] = official.read_bytes()
    result = fetch_arrondissements(settings, urls=[f"{base}/wfs?SERVICE=WFS"])
    assert result.features == 9
    assert result.area_km2 == pytest.approx(47.9, abs=0.1)
    cached = settings.reference_dir / OFFICIAL_BOUNDARY_FILE
    assert cached.exists() and json.loads(cached.with_suffix(".json").read_text())["sha256"] == result.sha256
    t = load_territory(settings)
    assert not t.approximate
    assert t.arrondissements.to_crs(2154).area.sum() / 1e6 == pytest.approx(47.89, abs=0.05)
    # The download day is told in French, as the day in Paris (the sidecar keeps UTC).
    meta_file = cached.with_suffix(".json")
    meta = json.loads(meta_file.read_text())
    meta_file.write_text(json.dumps({**meta, "downloaded_at": "2026-11-25T23:30:00+00:00"}))
    assert load_territory(settings).boundary_source == f"contours officiels ({base}/wfs, téléchargés le 26/11/2026)"
    # How close the shipped outlines are to the official ones (reported, not asserted beyond sanity).
    approx = load_territory(settings.replace(data_dir=settings.data_path.parent / "other")).arrondissements.to_crs(2154)
    off = t.arrondissements.to_crs(2154)
    city_iou = approx.union_all().intersection(off.union_all()).area / approx.union_all().union(off.union_all()).area
    per = {}
    for code in off["code"]:
        a = approx.loc[approx["code"] == code, "geometry"].iloc[0]
        b = off.loc[off["code"] == code, "geometry"].iloc[0]
        per[code] = round(a.intersection(b).area / a.union(b).area, 2)
    print(f"\nIoU of the shipped approximate outlines with the official ones: city {city_iou:.2f}; {per}")
    assert city_iou > 0.6


def test_fetch_reads_the_etalab_gzip_second_source(settings, loopback):
    official = reference_file("lyon", "arrondissements_grandlyon_wfs_2024-12-23.geojson")
    gdf = gpd.read_file(official)
    # Etalab's layout: 'code' and 'nom' properties, a France-wide file (here with one extra commune-level feature).
    etalab = gdf.rename(columns={"insee": "code"})[["code", "nom", "geometry"]]
    extra = gpd.GeoDataFrame({"code": ["13201"], "nom": ["Marseille 1er"]}, geometry=[shapely.box(5.37, 43.29, 5.39, 43.31)], crs=4326)
    body = gzip.compress(gpd.pd.concat([etalab, extra]).to_json().encode())
    base, routes = loopback
    routes["/etalab.geojson.gz"] = body
    result = fetch_arrondissements(settings, urls=[f"{base}/missing", f"{base}/etalab.geojson.gz"])
    assert result.features == 9


@pytest.mark.parametrize(
    "body, message",
    [
        (b"not json at all", "fichier de contours illisible"),
        (json.dumps({"type": "FeatureCollection", "features": []}).encode(), "aucun objet géographique, alors qu'il faut les 9 arrondissements"),
    ],
)
def test_a_bad_download_leaves_the_previous_cache_untouched(settings, loopback, body, message):
    base, routes = loopback
    settings.reference_dir.mkdir(parents=True)
    cached = settings.reference_dir / OFFICIAL_BOUNDARY_FILE
    cached.write_bytes(b"previous cache")
    routes["/bad"] = body
    with pytest.raises(TerritoryError, match=message) as err:
        fetch_arrondissements(settings, urls=[f"{base}/bad"])
    assert "le cache précédent est inchangé" in str(err.value)
    assert not isinstance(err.value, TerritoryDownloadError)  # the source answered: not an offline failure
    assert cached.read_bytes() == b"previous cache"


def test_offline_download_fails_with_one_line(settings):
    with pytest.raises(TerritoryDownloadError, match="téléchargement impossible depuis http://127.0.0.1:9/nothing") as err:
        fetch_arrondissements(settings.replace(download_timeout_s=1.0), urls=["http://127.0.0.1:9/nothing"])
    assert "\n" not in str(err.value) and "vérifiez la connexion" in str(err.value)


def test_corrupt_cached_file_gives_a_clear_message(settings):
    settings.reference_dir.mkdir(parents=True)
    (settings.reference_dir / OFFICIAL_BOUNDARY_FILE).write_text("{broken", encoding="utf-8")
    with pytest.raises(TerritoryError, match="fichier de contours illisible .* ; supprimez-le et lancez « observatory territory fetch »"):
        load_territory(settings)


def test_cli_territory_fetch_against_loopback(settings, loopback, tmp_path):
    import os
    import subprocess
    import sys

    official = reference_file("lyon", "arrondissements_grandlyon_wfs_2024-12-23.geojson")
    base, routes = loopback
    routes["/wfs"] = official.read_bytes()
    env = {**os.environ, "OBSERVATORY_DATA_DIR": str(settings.data_path)}
    run = subprocess.run([sys.executable, "-m", "observatory.cli", "territory", "fetch", "--url", f"{base}/wfs"],
                         env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    # Rich wraps at 80 columns outside a terminal: where the line breaks depends on the temporary path's length.
    assert "9 arrondissements" in " ".join(run.stdout.split())
    bad = subprocess.run([sys.executable, "-m", "observatory.cli", "territory", "fetch", "--url", f"{base}/nope"],
                         env=env, capture_output=True, text=True)
    assert bad.returncode == 1
    assert "Traceback" not in bad.stderr and "Erreur" in bad.stderr


def test_fetch_qpv_keeps_the_lyon_perimeters_and_replaces_the_approximate_ones(settings, loopback):
    from observatory.territory.fetch import fetch_qpv

    base, routes = loopback
    qpv = gpd.GeoDataFrame(
        {"code_qp": ["QN06901M", "QN01301M"], "lib_qp": ["Mermoz (officiel)", "Ailleurs"]},
        geometry=[shapely.box(4.880, 45.730, 4.889, 45.736), shapely.box(5.37, 43.29, 5.39, 43.31)],
        crs=4326,
    )
    routes["/qpv.geojson"] = qpv.to_json().encode()
    routes["/dataset"] = json.dumps({"resources": [{"format": "csv", "url": f"{base}/x.csv"},
                                                   {"format": "geojson", "url": f"{base}/qpv.geojson"}]}).encode()
    assert fetch_qpv(settings, f"{base}/dataset") == 1
    zones = load_territory(settings).zones
    qpv_zones = zones[zones["kind"] == "qpv"]
    assert list(qpv_zones["name"]) == ["Mermoz (officiel)"]
    assert not qpv_zones["approximate"].any()
