"""Lyon's reference geography as GeoDataFrames with an explicit CRS.

Arrondissements come from the cached official file when one exists (``data/raw/reference/``), otherwise from
the approximate outlines shipped in the package. Zones (hypercentre, pools with their buffer, QPV, custom
perimeters), populations and quarters are loaded beside them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from observatory.config import Settings
from observatory.labels import fmt_number

WGS84 = "EPSG:4326"
LAMBERT93 = "EPSG:2154"

ZONE_KINDS = ("hypercentre", "piscine", "qpv", "gltd", "cellule_veille", "camera", "perimetre")
SEASON_MONTHS = {"summer": (6, 7, 8), "winter": (1, 2, 3, 4, 5, 9, 10, 11, 12), "both": tuple(range(1, 13))}

OFFICIAL_BOUNDARY_FILE = "arrondissements.geojson"
CUSTOM_ZONES_FILE = "perimetres.geojson"
QPV_FILE = "qpv.geojson"
IRIS_FILE = "iris.geojson"
APPROXIMATE_NOTE = "contours approximatifs"


class TerritoryError(ValueError):
    """Reference geography that cannot be used; the message (French, one line) says what is wrong and what to do."""


class TerritoryDownloadError(TerritoryError):
    """Every official source was out of reach (no network, DNS, timeout): nothing was wrong with a file."""


@dataclass(frozen=True)
class Territory:
    arrondissements: gpd.GeoDataFrame  # code, name, population, vintage, area_km2, geometry (EPSG:4326)
    zones: gpd.GeoDataFrame  # zone_id, kind, name, arrondissement, season, valid_from, valid_to, approximate, area_km2, geometry
    quarters: pd.DataFrame  # quarter, arrondissement, zone_id
    boundary_source: str  # where the arrondissements come from, in French, for method notes
    approximate: bool  # True when the shipped outlines are in use
    iris: gpd.GeoDataFrame | None = None  # code_iris, name, arrondissement, geometry (EPSG:4326); None until fetched

    @property
    def population_vintage(self) -> int:
        return int(self.arrondissements["vintage"].iloc[0])

    @property
    def city_population(self) -> int:
        return int(self.arrondissements["population"].sum())

    def arrondissements_l93(self) -> gpd.GeoDataFrame:
        return self.arrondissements.to_crs(LAMBERT93)

    def zones_l93(self) -> gpd.GeoDataFrame:
        return self.zones.to_crs(LAMBERT93)

    def city_l93(self) -> shapely.Geometry:
        return self.arrondissements_l93().union_all()


def _package_file(name: str) -> str:
    return resources.files("observatory.data").joinpath(name).read_text(encoding="utf-8")


def populations(settings: Settings | None = None) -> pd.DataFrame:
    """INSEE legal populations per arrondissement (code, name, population, vintage).

    A newer table at ``data/raw/reference/populations.csv`` with the same columns replaces the shipped one.
    """
    if settings is not None:
        override = settings.reference_dir / "populations.csv"
        if override.exists():
            df = pd.read_csv(override, dtype={"code": str})
            missing = {"code", "population", "vintage"} - set(df.columns)
            if missing:
                raise TerritoryError(f"{override} : colonne(s) absente(s) {', '.join(sorted(missing))} ; attendu code,name,population,vintage — corrigez l'en-tête ou supprimez le fichier pour revenir aux populations fournies")
            return df
    from io import StringIO

    return pd.read_csv(StringIO(_package_file("lyon_populations.csv")), dtype={"code": str})


def _normalise_official(gdf: gpd.GeoDataFrame, origin: str) -> gpd.GeoDataFrame:
    """Map the properties of a Grand Lyon or Etalab file to ``code``/``name`` and keep Lyon's nine."""
    if len(gdf) == 0:
        raise TerritoryError(f"{origin} : aucun objet géographique, alors qu'il faut les 9 arrondissements 69381–69389 ; vérifiez l'adresse ou le fichier")
    code_col = next((c for c in ("insee", "code", "code_insee", "INSEE_ARM", "insee_arm") if c in gdf.columns), None)
    if code_col is None:
        raise TerritoryError(f"{origin} : aucune propriété de code INSEE (« insee » ou « code ») ; est-ce bien un fichier d'arrondissements ?")
    gdf = gdf.assign(code=gdf[code_col].astype(str))
    gdf = gdf[gdf["code"].str.fullmatch(r"6938[1-9]")].copy()
    name_col = next((c for c in ("nom", "name", "nom_arm") if c in gdf.columns), None)
    gdf["name"] = gdf[name_col].astype(str) if name_col else gdf["code"]
    gdf = gdf.set_crs(WGS84, allow_override=True) if gdf.crs is None else gdf.to_crs(WGS84)
    return gdf[["code", "name", "geometry"]]


def validate_arrondissements(gdf: gpd.GeoDataFrame, origin: str) -> gpd.GeoDataFrame:
    """Check 9 features with the 9 codes, valid polygons and a plausible area; return them sorted by code."""
    codes = sorted(gdf["code"].unique())
    expected = [f"6938{i}" for i in range(1, 10)]
    if codes != expected or len(gdf) != 9:
        raise TerritoryError(f"{origin} : {len(gdf)} objet(s) de codes {', '.join(codes) or 'aucun'} au lieu des 9 arrondissements 69381–69389 ; vérifiez la couche téléchargée")
    if not gdf.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).all():
        raise TerritoryError(f"{origin} : certaines géométries ne sont pas des polygones ; ce fichier ne décrit pas des contours d'arrondissements")
    if not gdf.geometry.is_valid.all():
        gdf = gdf.assign(geometry=gdf.geometry.make_valid())
    area = gdf.to_crs(LAMBERT93).area.sum() / 1e6
    if not 40 <= area <= 60:
        raise TerritoryError(f"{origin} : surface totale de {fmt_number(area, 1)} km² invraisemblable pour Lyon (≈ 48 km²) ; système de coordonnées ou fichier erroné ?")
    return gdf.sort_values("code").reset_index(drop=True)


def read_boundary_file(path: Path, origin: str | None = None) -> gpd.GeoDataFrame:
    """Read and validate an arrondissements file (GeoJSON, possibly gzipped); ``origin`` names it in messages."""
    origin = origin or str(path)
    try:
        gdf = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several types for unreadable files; all mean the same to a user
        raise TerritoryError(f"{origin} : fichier de contours illisible ({exc.__class__.__name__}) ; supprimez-le et lancez « observatory territory fetch »") from None
    return validate_arrondissements(_normalise_official(gdf, origin), origin)


def _approximate_arrondissements() -> gpd.GeoDataFrame:
    data = json.loads(_package_file("lyon_arrondissements_approx.geojson"))
    return gpd.GeoDataFrame.from_features(data["features"], crs=WGS84)[["code", "name", "geometry"]]


def _with_populations(arr: gpd.GeoDataFrame, pops: pd.DataFrame) -> gpd.GeoDataFrame:
    out = arr.drop(columns=["name"]).merge(pops[["code", "name", "population", "vintage"]], on="code", how="left")
    out["area_km2"] = out.to_crs(LAMBERT93).area / 1e6
    return gpd.GeoDataFrame(out[["code", "name", "population", "vintage", "area_km2", "geometry"]], crs=WGS84)


def _pool_zones(buffer_m: float) -> gpd.GeoDataFrame:
    from io import StringIO

    pools = pd.read_csv(StringIO(_package_file("lyon_pools.csv")), dtype={"arrondissement": str})
    pts = gpd.GeoSeries(gpd.points_from_xy(pools["lon"], pools["lat"]), crs=WGS84).to_crs(LAMBERT93)
    geom = pts.buffer(buffer_m, quad_segs=8).to_crs(WGS84)
    return gpd.GeoDataFrame(
        {
            "zone_id": pools["zone_id"],
            "kind": "piscine",
            "name": pools["name"],
            "arrondissement": pools["arrondissement"],
            "season": pools["season"],
            "valid_from": "2000-01-01",
            "valid_to": None,
            "approximate": False,
            "site_lon": pools["lon"],
            "site_lat": pools["lat"],
        },
        geometry=geom.values,
        crs=WGS84,
    )


def _read_zone_file(path: Path, default_kind: str | None, approximate: bool) -> gpd.GeoDataFrame:
    try:
        gdf = gpd.read_file(path)
    except Exception as exc:  # unreadable user file: say which and how to fix, never a traceback
        raise TerritoryError(f"{path} : fichier de zones illisible ({exc.__class__.__name__}) ; il doit être au format GeoJSON") from None
    if gdf.crs is None:
        gdf = gdf.set_crs(WGS84)
    gdf = gdf.to_crs(WGS84)
    if "zone_id" not in gdf.columns:
        raise TerritoryError(f"{path} : chaque objet doit avoir une propriété « zone_id » ; ajoutez-la puis relancez")
    if "kind" not in gdf.columns:
        if default_kind is None:
            raise TerritoryError(f"{path} : chaque objet doit avoir une propriété « kind » ({', '.join(ZONE_KINDS)}) ; ajoutez-la puis relancez")
        gdf["kind"] = default_kind
    unknown = sorted(set(gdf["kind"].astype(str)) - set(ZONE_KINDS))
    if unknown:
        raise TerritoryError(f"{path} : type(s) de zone inconnu(s) {', '.join(unknown)} ; types possibles : {', '.join(ZONE_KINDS)}")
    for col, default in (("name", None), ("arrondissement", None), ("valid_from", "2000-01-01"), ("valid_to", None), ("season", None)):
        if col not in gdf.columns:
            gdf[col] = default
    gdf["name"] = gdf["name"].fillna(gdf["zone_id"])
    gdf["approximate"] = approximate
    return gdf


def load_zones(settings: Settings) -> gpd.GeoDataFrame:
    """All zones: hypercentre and QPV (official QPV file when cached), pools with buffer, custom perimeters."""
    shipped = gpd.GeoDataFrame.from_features(json.loads(_package_file("lyon_zones.geojson"))["features"], crs=WGS84)
    parts = [shipped]
    qpv_file = settings.reference_dir / QPV_FILE
    if qpv_file.exists():
        parts = [shipped[shipped["kind"] != "qpv"], _read_zone_file(qpv_file, "qpv", approximate=False)]
    parts.append(_pool_zones(settings.pool_buffer_m))
    custom = settings.reference_dir / CUSTOM_ZONES_FILE
    if custom.exists():
        parts.append(_read_zone_file(custom, None, approximate=False))
    zones = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=WGS84)
    dupes = zones["zone_id"][zones["zone_id"].duplicated()].tolist()
    if dupes:
        raise TerritoryError(f"identifiants de zone en double : {', '.join(sorted(set(dupes)))} ; chaque zone_id doit être unique (corrigez {custom})")
    zones["season"] = zones["season"].where(zones["season"].notna(), None)
    zones["area_km2"] = zones.to_crs(LAMBERT93).area / 1e6
    cols = ["zone_id", "kind", "name", "arrondissement", "season", "valid_from", "valid_to", "approximate", "area_km2", "geometry"]
    return gpd.GeoDataFrame(zones[cols], crs=WGS84)


def load_quarters() -> pd.DataFrame:
    from io import StringIO

    return pd.read_csv(StringIO(_package_file("lyon_quarters.csv")), dtype=str, keep_default_na=False)


def load_territory(settings: Settings) -> Territory:
    """The territory: official arrondissements when cached, otherwise the shipped approximate outlines."""
    return _load_territory_cached(settings, _cache_stamp(settings))


def _paris_day(iso: str) -> str:
    """``2026-11-25T23:30:00+00:00`` → ``26/11/2026``: the day in Paris, French format ('' when unreadable)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    try:
        moment = datetime.fromisoformat(str(iso))
    except ValueError:
        return ""
    if moment.tzinfo is not None:
        moment = moment.astimezone(ZoneInfo("Europe/Paris"))
    return moment.strftime("%d/%m/%Y")


def _cache_stamp(settings: Settings) -> tuple:
    # A new download, a new perimeter file or an edited sidecar (download date, origin) changes the stamp, so a
    # cached Territory is never stale. Size and inode join the mtime: an atomic replace within the filesystem's
    # timestamp granularity keeps the mtime but not the inode.
    stamps = []
    for name in (OFFICIAL_BOUNDARY_FILE, QPV_FILE, CUSTOM_ZONES_FILE, IRIS_FILE, "populations.csv"):
        for p in (settings.reference_dir / name, (settings.reference_dir / name).with_suffix(".json")):
            if p.exists():
                st = p.stat()
                stamps.append((st.st_mtime_ns, st.st_size, st.st_ino))
            else:
                stamps.append(None)
    return tuple(stamps)


@lru_cache(maxsize=8)
def _load_territory_cached(settings: Settings, _stamp: tuple) -> Territory:
    official = settings.reference_dir / OFFICIAL_BOUNDARY_FILE
    if official.exists():
        arr = read_boundary_file(official)
        meta_file = official.with_suffix(".json")
        meta = json.loads(meta_file.read_text(encoding="utf-8")) if meta_file.exists() else {}
        fetched = _paris_day(meta.get("downloaded_at", ""))
        source = f"contours officiels ({meta.get('origin', 'fichier en cache')}" + (f", téléchargés le {fetched})" if fetched else ")")
        approximate = False
    else:
        arr = _approximate_arrondissements()
        source = f"{APPROXIMATE_NOTE} (fournis par le projet ; lancer « observatory territory fetch » pour les contours officiels)"
        approximate = True
    arr = _with_populations(arr, populations(settings))
    return Territory(
        arrondissements=arr,
        zones=load_zones(settings),
        quarters=load_quarters(),
        boundary_source=source,
        approximate=approximate,
        iris=load_iris(settings),
    )


# IRIS -----------------------------------------------------------------------------------------------------------
def normalise_iris(gdf: gpd.GeoDataFrame, origin: str) -> gpd.GeoDataFrame:
    """Keep Lyon's IRIS from an IGN CONTOURS-IRIS layer and check them (code, name, arrondissement, geometry)."""
    code_col = next((c for c in ("code_iris", "CODE_IRIS", "iris_code") if c in gdf.columns), None)
    if code_col is None:
        raise TerritoryError(f"{origin} : aucune propriété « code_iris » ; est-ce bien la couche CONTOURS-IRIS de l'IGN ?")
    name_col = next((c for c in ("nom_iris", "NOM_IRIS", "name") if c in gdf.columns), None)
    gdf = gdf.set_crs(WGS84, allow_override=True) if gdf.crs is None else gdf.to_crs(WGS84)
    codes = gdf[code_col].astype(str)
    gdf = gdf[codes.str.fullmatch(r"6938[1-9]\d{4}")]
    if not 100 <= len(gdf) <= 400:
        raise TerritoryError(f"{origin} : {len(gdf)} IRIS de Lyon trouvés au lieu d'environ 185 ; mauvaise couche ou mauvais filtre ?")
    out = gpd.GeoDataFrame(
        {
            "code_iris": gdf[code_col].astype(str).to_numpy(),
            "name": (gdf[name_col].astype(str) if name_col else gdf[code_col].astype(str)).to_numpy(),
            "arrondissement": gdf[code_col].astype(str).str[:5].to_numpy(),
        },
        geometry=gdf.geometry.make_valid().to_numpy(),
        crs=WGS84,
    )
    if out["code_iris"].duplicated().any():
        raise TerritoryError(f"{origin} : codes IRIS en double ; téléchargez à nouveau la couche (« observatory territory fetch-iris »)")
    area = out.to_crs(LAMBERT93).area.sum() / 1e6
    if not 40 <= area <= 60:
        raise TerritoryError(f"{origin} : les IRIS couvrent {fmt_number(area, 1)} km² et non les ≈ 48 km² de Lyon ; système de coordonnées ou fichier erroné ?")
    return out.sort_values("code_iris").reset_index(drop=True)


def load_iris(settings: Settings) -> gpd.GeoDataFrame | None:
    """The cached IRIS (``observatory territory fetch-iris``), or None: IRIS are official data only, never approximated."""
    path = settings.reference_dir / IRIS_FILE
    if not path.exists():
        return None
    try:
        gdf = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several types for unreadable files; all mean the same to a user
        raise TerritoryError(f"{path} : fichier IRIS illisible ({exc.__class__.__name__}) ; supprimez-le et lancez « observatory territory fetch-iris »") from None
    return normalise_iris(gdf, str(path))


def iris_of_points(x: np.ndarray, y: np.ndarray, arrondissements: np.ndarray, iris_l93: gpd.GeoDataFrame) -> np.ndarray:
    """IRIS code of each Lambert-93 point (None outside every IRIS or without coordinates).

    Points are tested only against the IRIS of their arrondissement (about 20 each), with a bounding-box
    pre-filter, so a million points take a fraction of a second.
    """
    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    arrondissements = np.asarray(arrondissements, dtype=object)
    out = np.full(len(x), None, dtype=object)
    finite = np.isfinite(x) & np.isfinite(y)
    for code, group in iris_l93.groupby("arrondissement"):
        in_arr = np.flatnonzero(finite & (arrondissements == code))
        if not len(in_arr):
            continue
        for iris_code, geom in zip(group["code_iris"], group.geometry):
            shapely.prepare(geom)
            xmin, ymin, xmax, ymax = geom.bounds
            px, py = x[in_arr], y[in_arr]
            cand = in_arr[(px >= xmin) & (px <= xmax) & (py >= ymin) & (py <= ymax)]
            cand = cand[out[cand] == None]  # noqa: E711 - element-wise test on an object array
            if len(cand):
                inside = shapely.contains_xy(geom, x[cand], y[cand])
                out[cand[inside]] = iris_code
    return out


# Grid -----------------------------------------------------------------------------------------------------------
def grid_cell_ids(x: np.ndarray, y: np.ndarray, size_m: int) -> np.ndarray:
    """Stable ids of the regular Lambert-93 grid cell holding each point ('E4215_N32597' for 200 m cells).

    The id depends only on the coordinates and the cell size, so it never changes when boundaries do.
    NaN coordinates give None.
    """
    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    ok = np.isfinite(x) & np.isfinite(y)
    ix = np.floor(np.where(ok, x, 0) / size_m).astype("int64")
    iy = np.floor(np.where(ok, y, 0) / size_m).astype("int64")
    ids = np.char.add(np.char.add("E", ix.astype(str)), np.char.add("_N", iy.astype(str))).astype(object)
    ids[~ok] = None
    return ids


def cell_geometry(cell_ids: pd.Series, size_m: int) -> gpd.GeoSeries:
    """Squares (Lambert-93) of grid cells given their ids."""
    parts = cell_ids.str.extract(r"E(-?\d+)_N(-?\d+)").astype("int64")
    x0 = parts[0].to_numpy() * size_m
    y0 = parts[1].to_numpy() * size_m
    return gpd.GeoSeries(shapely.box(x0, y0, x0 + size_m, y0 + size_m), index=cell_ids.index, crs=LAMBERT93)


def city_grid(territory: Territory, size_m: int) -> gpd.GeoDataFrame:
    """Every grid cell that touches the city (cell_id, arrondissement of its centre, share inside, geometry L93)."""
    arr = territory.arrondissements_l93()
    xmin, ymin, xmax, ymax = arr.total_bounds
    xs = np.arange(np.floor(xmin / size_m), np.ceil(xmax / size_m)) * size_m
    ys = np.arange(np.floor(ymin / size_m), np.ceil(ymax / size_m)) * size_m
    gx, gy = np.meshgrid(xs, ys)
    boxes = shapely.box(gx.ravel(), gy.ravel(), gx.ravel() + size_m, gy.ravel() + size_m)
    city = arr.union_all()
    shapely.prepare(city)
    keep = shapely.intersects(city, boxes)
    boxes = boxes[keep]
    cx, cy = gx.ravel()[keep] + size_m / 2, gy.ravel()[keep] + size_m / 2
    ids = grid_cell_ids(cx, cy, size_m)
    share = shapely.area(shapely.intersection(boxes, city)) / (size_m * size_m)
    grid = gpd.GeoDataFrame({"cell_id": ids, "share_in_city": share}, geometry=boxes, crs=LAMBERT93)
    centres = gpd.GeoDataFrame(geometry=gpd.points_from_xy(cx, cy), crs=LAMBERT93)
    joined = gpd.sjoin(centres, arr[["code", "geometry"]], how="left", predicate="within")
    grid["arrondissement"] = joined.groupby(level=0)["code"].first().reindex(range(len(grid))).to_numpy()
    return grid
