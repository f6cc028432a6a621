"""Action perimeters as geometries, and the two views other pages use (map layer, chart markers)."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import shapely

from observatory.territory import LAMBERT93, WGS84, Territory


def action_perimeters(register: pd.DataFrame, territory: Territory, polygons: dict[str, object]) -> gpd.GeoDataFrame:
    """One perimeter per action (action_id, perimeter_kind, arrondissement, geometry EPSG:4326).

    A zone perimeter is the zone's polygon; a point + radius is a circle drawn in Lambert-93 (metres, not
    degrees); a polygon comes from the perimeters GeoJSON. The arrondissement is the zone's own, otherwise the
    one holding a point inside the perimeter (a perimeter astride two keeps the one of its interior point).
    """
    if register.empty:
        return gpd.GeoDataFrame({"action_id": [], "perimeter_kind": [], "arrondissement": []}, geometry=[], crs=WGS84)
    zones = territory.zones.set_index("zone_id")
    geoms, arrs = [], []
    for rec in register.to_dict("records"):
        kind = rec["perimeter_kind"]
        arr = None
        if kind == "zone":
            zone = zones.loc[rec["zone_id"]]
            geom = zone.geometry
            arr = zone["arrondissement"] if isinstance(zone["arrondissement"], str) and zone["arrondissement"] else None
        elif kind == "buffer":
            centre = gpd.GeoSeries([shapely.Point(rec["lon"], rec["lat"])], crs=WGS84).to_crs(LAMBERT93)
            geom = centre.buffer(float(rec["radius_m"]), quad_segs=16).to_crs(WGS84).iloc[0]
        else:
            geom = polygons[rec["action_id"]]
        geoms.append(geom)
        arrs.append(arr)
    out = gpd.GeoDataFrame(
        {"action_id": register["action_id"].to_numpy(), "perimeter_kind": register["perimeter_kind"].to_numpy(), "arrondissement": arrs},
        geometry=geoms,
        crs=WGS84,
    )
    missing = out["arrondissement"].isna()
    if missing.any():
        arr_gdf = territory.arrondissements[["code", "geometry"]]
        points = gpd.GeoDataFrame(geometry=out.loc[missing].geometry.representative_point(), crs=WGS84)
        joined = gpd.sjoin(points, arr_gdf, how="left", predicate="within")
        out.loc[missing, "arrondissement"] = joined.groupby(level=0)["code"].first().reindex(points.index).to_numpy()
    return out


def perimeters_l93(perimeters: gpd.GeoDataFrame) -> dict[str, shapely.Geometry]:
    return dict(zip(perimeters["action_id"], perimeters.to_crs(LAMBERT93).geometry))


def focus_bounds(perimeter: shapely.Geometry, margin_m: float = 700.0, margin_share: float = 0.5) -> tuple[float, float, float, float]:
    """(west, south, east, north) in degrees of a view around one perimeter (EPSG:4326 geometry).

    The margin is the larger of ``margin_m`` metres and ``margin_share`` of the perimeter's larger side, added
    on every side in Lambert-93 (metres, so a small circle still shows its street-block surroundings and the
    nearby arrondissement borders, and a large zone is not cut at the edge of the view).
    """
    l93 = gpd.GeoSeries([perimeter], crs=WGS84).to_crs(LAMBERT93).iloc[0]
    x0, y0, x1, y1 = l93.bounds
    pad = max(margin_m, margin_share * max(x1 - x0, y1 - y0))
    box = gpd.GeoSeries([shapely.box(x0 - pad, y0 - pad, x1 + pad, y1 + pad)], crs=LAMBERT93).to_crs(WGS84).iloc[0]
    w, s, e, n = box.bounds
    return (float(w), float(s), float(e), float(n))
