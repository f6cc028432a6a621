"""Map geometry prepared once per territory (simplified, coordinates rounded) and reused by every callback.

Caches are keyed by the settings and the territory's file stamp, so a newly downloaded boundary file or a new
perimeter file is picked up without a restart, and nothing is recomputed per request.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache

import numpy as np
import pandas as pd
from pyproj import Transformer

from observatory.config import Settings
from observatory.figures import to_geojson
from observatory.territory import LAMBERT93, WGS84, city_grid, load_territory
from observatory.territory.geography import _cache_stamp

# ~10 m at Lyon's latitude: invisible at city zoom, divides the official outlines' vertex count by ~5.
SIMPLIFY_DEG = 0.0001


def _stamp(settings: Settings) -> tuple:
    return _cache_stamp(settings)


@lru_cache(maxsize=8)
def _arrondissements(settings: Settings, _stamp_value: tuple) -> dict:
    t = load_territory(settings)
    return to_geojson(t.arrondissements, "code", SIMPLIFY_DEG, 5, properties=("name",))


def arrondissements_geojson(settings: Settings) -> dict:
    return _arrondissements(settings, _stamp(settings))


@lru_cache(maxsize=8)
def _arrondissement_places(settings: Settings, _stamp_value: tuple) -> pd.DataFrame:
    from shapely.ops import polylabel

    from observatory import labels

    arr = load_territory(settings).arrondissements_l93()
    # The pole of inaccessibility (the inside point farthest from the outline): a centroid can sit near an edge
    # of a long district (the 2e, from the Terreaux to the Confluence), where its name would spill over.
    points = [polylabel(max(getattr(g, "geoms", [g]), key=lambda part: part.area), tolerance=10.0) for g in arr.geometry]
    lon, lat = _TO_WGS84.transform([pt.x for pt in points], [pt.y for pt in points])
    # « 1er », « 3e »: the district's name without « Lyon », short enough for the smallest districts at city zoom.
    text = [labels.arrondissement_label(code).removeprefix("Lyon ") for code in arr["code"]]
    return pd.DataFrame({"id": arr["code"].astype(str).to_numpy(), "lon": np.round(lon, 5), "lat": np.round(lat, 5), "text": text,
                         "x": [pt.x for pt in points], "y": [pt.y for pt in points]})


def arrondissement_places(settings: Settings) -> pd.DataFrame:
    """Where to write each arrondissement's name on a map: columns id (INSEE code), lon, lat, text (« 3e »), and
    x, y in Lambert-93 (for the vector export)."""
    return _arrondissement_places(settings, _stamp(settings)).copy()


def map_style(settings: Settings):  # noqa: ANN201 - str | dict
    """``layout.map.style`` of the dashboard's maps (see :mod:`observatory.dashboard.glyphs`)."""
    from observatory.dashboard import glyphs

    return glyphs.map_style(settings)


@lru_cache(maxsize=8)
def _zones(settings: Settings, _stamp_value: tuple) -> dict:
    t = load_territory(settings)
    return to_geojson(t.zones, "zone_id", SIMPLIFY_DEG / 2, 5, properties=("name", "kind"))


def zones_geojson(settings: Settings) -> dict:
    return _zones(settings, _stamp(settings))


@lru_cache(maxsize=4)
def _grid(settings: Settings, _stamp_value: tuple) -> dict:
    grid = city_grid(load_territory(settings), settings.grid_size_m)
    return to_geojson(grid.to_crs(WGS84), "cell_id", 0.0, 5)


def grid_geojson(settings: Settings, cell_ids: pd.Series | None = None) -> dict:
    """Squares of the city grid; only ``cell_ids`` when given (keeps the payload to the cells that matter)."""
    full = _grid(settings, _stamp(settings))
    if cell_ids is None:
        return full
    keep = set(cell_ids.astype(str))
    return {"type": "FeatureCollection", "features": [f for f in full["features"] if f["id"] in keep]}


_TO_WGS84 = Transformer.from_crs(LAMBERT93, WGS84, always_xy=True)


def cell_centres(cell_ids: pd.Series, size_m: int) -> pd.DataFrame:
    """Longitude/latitude (rounded to 5 decimals) of the centre of each grid cell id ('E4215_N32597').

    This is how analysts' points are generalised: an incident is only ever drawn at its cell's centre.
    """
    parts = cell_ids.astype(str).str.extract(r"E(-?\d+)_N(-?\d+)")
    ok = parts[0].notna()
    x = (parts[0].where(ok, "0").astype("int64").to_numpy() + 0.5) * size_m
    y = (parts[1].where(ok, "0").astype("int64").to_numpy() + 0.5) * size_m
    lon, lat = _TO_WGS84.transform(x, y)
    lon = np.where(ok, np.round(lon, 5), np.nan)
    lat = np.where(ok, np.round(lat, 5), np.nan)
    return pd.DataFrame({"lon": lon, "lat": lat}, index=cell_ids.index)


# Action plan (observatory.actions), cached by the register's file stamp ----------------------------------------------
def _actions_stamp(settings: Settings) -> tuple:
    from observatory.actions.register import actions_dir, register_path

    out = []
    for path in (register_path(settings), actions_dir(settings) / "perimetres_actions.geojson"):
        try:
            st = path.stat()
            out.append((str(path), st.st_mtime_ns, st.st_size))
        except OSError:
            out.append((str(path), 0, 0))
    return tuple(out) + (_stamp(settings),)


@lru_cache(maxsize=8)
def _actions(settings: Settings, _stamp_value: tuple) -> pd.DataFrame:
    from observatory.actions import actions_for_markers

    return actions_for_markers(settings)


def actions(settings: Settings) -> pd.DataFrame:
    """``actions_for_markers`` (valid actions; invalid lines are listed on the Plan d'actions page). Read-only."""
    return _actions(settings, _actions_stamp(settings))


@lru_cache(maxsize=8)
def _actions_geojson(settings: Settings, _stamp_value: tuple) -> dict:
    from observatory.actions import actions_layer

    if _actions(settings, _stamp_value).empty:
        # actions_layer() cannot merge an empty register (object vs float ids): nothing to draw anyway.
        return {"type": "FeatureCollection", "features": []}
    layer = actions_layer(settings)
    return to_geojson(layer, "action_id", SIMPLIFY_DEG / 2, 5, properties=("title", "type", "status", "perimeter_kind"))


def actions_geojson(settings: Settings) -> dict:
    """Perimeters of the valid actions (simplified, rounded), feature id = action_id."""
    return _actions_geojson(settings, _actions_stamp(settings))


# Geometry served as files ----------------------------------------------------------------------------------------
# The grid (≈ 1,200 squares) and the district outlines would otherwise travel inside every map figure (and be
# deep-copied by Plotly's validators on the server each time): the browser fetches them once from these URLs,
# which carry a hash of the territory stamp so a new boundary file is a new URL. They hold geometry only.
GEO_ROUTE = "/geo/"
_LAYERS = {"arrondissements": arrondissements_geojson, "grille": grid_geojson}


@lru_cache(maxsize=16)
def _layer_bytes(settings: Settings, name: str, _stamp_value: tuple) -> bytes:
    return json.dumps(_LAYERS[name](settings), separators=(",", ":")).encode()


def _version(settings: Settings) -> str:
    return hashlib.sha1(repr(_stamp(settings)).encode()).hexdigest()[:12]


def geo_ref(settings: Settings, name: str):  # noqa: ANN201 - figures.GeoRef
    """A GeoRef (URL + feature ids) of a served layer ("arrondissements" or "grille")."""
    import dash

    from observatory.figures import GeoRef

    return _geo_ref(settings, name, _stamp(settings), dash.get_relative_path(f"{GEO_ROUTE}{name}-{_version(settings)}.geojson"))


@lru_cache(maxsize=16)
def _geo_ref(settings: Settings, name: str, _stamp_value: tuple, url: str):  # noqa: ANN202
    from observatory.figures import GeoRef

    return GeoRef(url, tuple(f["id"] for f in _LAYERS[name](settings)["features"]))


def install(app) -> None:  # noqa: ANN001 - dash.Dash
    """Serve the layers at ``/geo/<name>-<version>.geojson`` (public: geometry only, no incident data)."""
    import flask

    from observatory.dashboard import glyphs, security

    security.allow_public_route(GEO_ROUTE)
    glyphs.install(app)

    @app.server.route(app.config.routes_pathname_prefix.rstrip("/") + GEO_ROUTE + "<name>.geojson")
    def _geo_layer(name: str):  # noqa: ANN202
        settings = flask.current_app.config["OBSERVATORY_SETTINGS"]
        layer = name.rsplit("-", 1)[0]
        if layer not in _LAYERS:
            flask.abort(404)
        body = _layer_bytes(settings, layer, _stamp(settings))
        response = flask.Response(body, mimetype="application/geo+json")
        response.headers["Cache-Control"] = "public, max-age=86400"
        return response


# Names of grid cells ---------------------------------------------------------------------------------------------
COMPASS = ("est", "nord-est", "nord", "nord-ouest", "ouest", "sud-ouest", "sud", "sud-est")
NEAR_ZONE_M = 300.0


def cell_places(cell_ids: pd.Series, territory, size_m: int) -> list[str]:  # noqa: ANN001 - territory.Territory
    """A name a reader can place for each grid cell (« Moncey — Lyon 3e », « Lyon 7e, secteur sud »), never the
    raw Lambert-93 id: the IRIS holding its centre when the IRIS are installed, else the priority perimeter
    (hypercentre, pool, QPV) within 300 m, else its arrondissement and where in it (compass from its centre)."""
    import geopandas as gpd
    import shapely

    from observatory import labels
    from observatory.territory.geography import cell_geometry

    if len(cell_ids) == 0:
        return []
    centres = cell_geometry(cell_ids.astype(str).reset_index(drop=True), size_m).centroid
    arr = territory.arrondissements_l93()
    points = gpd.GeoDataFrame(geometry=centres.to_numpy(), crs=centres.crs)
    in_arr = gpd.sjoin(points, arr[["code", "geometry"]], how="left", predicate="within").groupby(level=0)["code"].first()
    iris_names = pd.Series(index=points.index, dtype=object)
    if getattr(territory, "iris", None) is not None and len(territory.iris):
        iris = territory.iris.to_crs(centres.crs)
        iris_names = gpd.sjoin(points, iris[["name", "geometry"]], how="left", predicate="within").groupby(level=0)["name"].first()
    zones = territory.zones_l93()
    zones = zones[zones["kind"].isin(["hypercentre", "piscine", "qpv"])]
    out = []
    for i, point in enumerate(points.geometry):
        code = in_arr.get(i)
        arr_name = labels.arrondissement_label(code) if isinstance(code, str) else "hors des arrondissements"
        iris_name = iris_names.get(i)
        if isinstance(iris_name, str) and iris_name:
            out.append(f"{iris_name} — {arr_name}")
            continue
        if len(zones):
            dist = shapely.distance(zones.geometry.to_numpy(), point)
            j = int(np.argmin(dist))
            if dist[j] <= NEAR_ZONE_M:
                zone_name = zones.iloc[j]["name"]
                out.append(f"{zone_name if dist[j] == 0 else labels.near(zone_name)} — {arr_name}")
                continue
        if isinstance(code, str):
            c = arr.loc[arr["code"] == code].geometry.iloc[0].centroid
            dx, dy = point.x - c.x, point.y - c.y
            if (dx * dx + dy * dy) ** 0.5 < 500:
                out.append(f"{arr_name}, secteur central")
            else:
                angle = (np.degrees(np.arctan2(dy, dx)) + 360 + 22.5) % 360
                out.append(f"{arr_name}, secteur {COMPASS[int(angle // 45)]}")
        else:
            out.append(arr_name)
    # Neighbouring cells can share a name: number the repeats (« Mermoz — Lyon 8e, maille 3 ») so that each row
    # stays distinct; a word rather than « (3) », which read as a count beside the counts that follow names.
    seen: dict[str, int] = {}
    for i, name in enumerate(out):
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            out[i] = f"{name}, maille {seen[name]}"
    return out


@lru_cache(maxsize=4)
def _cell_names(settings: Settings, _stamp_value: tuple) -> dict[str, str]:
    grid = city_grid(load_territory(settings), settings.grid_size_m)
    ids = grid["cell_id"].astype(str).reset_index(drop=True)
    return dict(zip(ids, cell_places(ids, load_territory(settings), settings.grid_size_m)))


def cell_names(settings: Settings, cell_ids: pd.Series) -> pd.Series:
    """The place name of each grid cell (see :func:`cell_places`), computed once for the whole city grid so that
    a cell keeps the same name, repeats numbered the same way, on every map, table and panel. A cell outside the
    grid (a partner's point outside the city) keeps its Lambert-93 id."""
    names = _cell_names(settings, _stamp(settings))
    return pd.Series([names.get(str(c), str(c)) for c in cell_ids], index=cell_ids.index, dtype=object)
