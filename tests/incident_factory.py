"""Build canonical incident tables for tests, and write them laid out like a snapshot.

    from tests.incident_factory import incidents, write_snapshot
    table = incidents(occurred_at=["2025-01-03 10:00", "2025-02-04 22:30"], category="escroqueries",
                      arrondissement=["69381", "69382"])
    files = write_snapshot(table, tmp_path / "snap")        # snap/incidents/year=2025/part-0.parquet
    an = Analytics.from_files(files, settings)                # or, through the real store:
    snap = publish_snapshot(table, get_settings(data_dir=tmp_path / "data"))   # becomes the current snapshot

Each keyword is a column of ``observatory.schema.INCIDENT_SCHEMA``: a scalar is repeated, a list gives one
value per row (all lists must have the same length, which is the number of rows; ``n=`` when every value is a
scalar). Unspecified columns get plausible defaults derived from the others: ``family`` from ``category``,
``year`` from ``occurred_at``, ``grid_cell`` from ``x``/``y`` (200 m), ``lon``/``lat`` from ``x``/``y``,
``location_quality`` ``point`` when coordinates are given (else ``none``), ``incident_key`` = source:source_id.
Naive timestamps are Europe/Paris wall time. Default ``source_id`` values are T0000000, T0000001… in every
call: give distinct ones when two tables end in one snapshot. Defaults: source police_nationale, occurred_at
15/01/2025 10:00, time_precision hour, category vols_sans_violence_personnes, arrondissement 69381, zones [].

:func:`random_incidents` generates a large plausible table (Lyon hot spots, seasons, pools) for notebooks and
benchmarks; it is fast (vectorised) and deterministic for a seed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from observatory import schema

GRID_M = 200


def _column(value: Any, n: int) -> list:
    if isinstance(value, (list, tuple, np.ndarray, pd.Series, pd.Index)) and not isinstance(value, str):
        return list(value)
    return [value] * n


def _to_local(values: list) -> pd.Series:
    ts = pd.to_datetime(pd.Series(values))
    if ts.dt.tz is None:
        ts = ts.dt.tz_localize(schema.TIMEZONE, ambiguous="NaT", nonexistent="shift_forward")
    return ts.dt.tz_convert(schema.TIMEZONE).astype(f"datetime64[us, {schema.TIMEZONE}]")


def incidents(n: int | None = None, **columns: Any) -> pa.Table:
    """A table with the canonical schema; see the module docstring."""
    unknown = set(columns) - set(schema.INCIDENT_COLUMNS)
    if unknown:
        raise ValueError(f"unknown incident columns: {sorted(unknown)}")
    lengths = {len(v) for v in columns.values() if isinstance(v, (list, tuple, np.ndarray, pd.Series, pd.Index))}
    if len(lengths) > 1:
        raise ValueError(f"list columns have different lengths: {sorted(lengths)}")
    n = lengths.pop() if lengths else (1 if n is None else n)
    col = {k: _column(v, n) for k, v in columns.items()}
    from observatory.territory import grid_cell_ids

    source = col.get("source", ["police_nationale"] * n)
    source_id = col.get("source_id", [f"T{i:07d}" for i in range(n)])
    occurred = _to_local(col.get("occurred_at", ["2025-01-15 10:00"] * n))
    category = col.get("category", ["vols_sans_violence_personnes"] * n)
    x = np.asarray(col.get("x", [np.nan] * n), dtype="float64")
    y = np.asarray(col.get("y", [np.nan] * n), dtype="float64")
    has_xy = np.isfinite(x) & np.isfinite(y)
    if "lon" in col or "lat" in col:
        lon = np.asarray(col.get("lon", [np.nan] * n), dtype="float64")
        lat = np.asarray(col.get("lat", [np.nan] * n), dtype="float64")
    elif has_xy.any():
        from pyproj import Transformer

        t = Transformer.from_crs("EPSG:2154", "EPSG:4326", always_xy=True)
        lon, lat = t.transform(x, y)
        lon, lat = np.where(has_xy, lon, np.nan), np.where(has_xy, lat, np.nan)
    else:
        lon = lat = np.full(n, np.nan)
    grid = col.get("grid_cell", list(grid_cell_ids(x, y, GRID_M)))
    data = {
        schema.INCIDENT_KEY: col.get("incident_key", [f"{s}:{i}" for s, i in zip(source, source_id)]),
        schema.SOURCE: source,
        schema.SOURCE_ID: source_id,
        schema.OCCURRED_AT: occurred,
        schema.TIME_PRECISION: col.get("time_precision", ["hour"] * n),
        schema.CATEGORY: category,
        schema.FAMILY: col.get("family", [schema.category_family(c) for c in category]),
        schema.RAW_LABEL: col.get("raw_label", list(category)),
        schema.PLACE_TYPE: col.get("place_type", [None] * n),
        schema.PLACE_NAME: col.get("place_name", [None] * n),
        schema.LON: lon,
        schema.LAT: lat,
        schema.X: x,
        schema.Y: y,
        schema.LOCATION_QUALITY: col.get("location_quality", ["point" if h else "none" for h in has_xy]),
        schema.ARRONDISSEMENT: col.get("arrondissement", ["69381"] * n),
        schema.DECLARED_ARRONDISSEMENT: col.get("declared_arrondissement", [None] * n),
        schema.ARRONDISSEMENT_MISMATCH: col.get("arrondissement_mismatch", [False] * n),
        schema.IRIS: col.get("iris", [None] * n),
        schema.ZONES: [list(z) if z is not None else [] for z in col.get("zones", [[]] * n)],
        schema.GRID_CELL: grid,
        schema.N_FACTS: col.get("n_facts", [1] * n),
        schema.YEAR: col.get("year", occurred.dt.year.tolist()),
        schema.EXTRACTED_AT: _to_local(col.get("extracted_at", ["2026-01-10 09:00"] * n)),
        schema.BATCH_ID: col.get("batch_id", ["test-batch"] * n),
        schema.SOURCE_FILE: col.get("source_file", ["test.csv"] * n),
        schema.SOURCE_ROW: col.get("source_row", list(range(2, n + 2))),
    }
    arrays = [pa.array(list(data[f.name]) if not isinstance(data[f.name], (np.ndarray, pd.Series)) else data[f.name], type=f.type, from_pandas=True)
              for f in schema.INCIDENT_SCHEMA]
    return pa.Table.from_arrays(arrays, schema=schema.INCIDENT_SCHEMA)


def incidents_df(n: int | None = None, **columns: Any) -> pd.DataFrame:
    return incidents(n, **columns).to_pandas()


def write_snapshot(table: pa.Table | pd.DataFrame, folder: Path, row_group_size: int = 100_000, year_in_file: bool = True) -> list[Path]:
    """Write ``folder/incidents/year=YYYY/part-0.parquet`` (zstd, sorted by occurred_at) and return the paths.

    Like ``observatory.store.SnapshotWriter`` the files keep the ``year`` column; ``year_in_file=False`` writes
    it only in the path, as pyarrow's hive partitioning does (the analytics layer reads both)."""
    if isinstance(table, pd.DataFrame):
        table = pa.Table.from_pandas(table, schema=schema.INCIDENT_SCHEMA, preserve_index=False)
    folder = Path(folder)
    years = sorted(set(table.column(schema.YEAR).to_pylist()))
    files = []
    for y in years:
        part = table.filter(pc.equal(table.column(schema.YEAR), pa.scalar(y, pa.int16())))
        part = part.sort_by(schema.OCCURRED_AT)
        if not year_in_file:
            part = part.drop_columns([schema.YEAR])
        out = folder / "incidents" / f"year={y}" / "part-0.parquet"
        out.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(part, out, compression="zstd", row_group_size=row_group_size)
        files.append(out)
    return files


def publish_snapshot(table: pa.Table | pd.DataFrame, settings, snapshot_id: str | None = None):
    """Publish ``table`` as the current snapshot of ``settings`` through the store's own writer; returns it."""
    from observatory import store

    if isinstance(table, pd.DataFrame):
        table = pa.Table.from_pandas(table, schema=schema.INCIDENT_SCHEMA, preserve_index=False)
    sid = snapshot_id or store.new_snapshot_id()
    writer = store.SnapshotWriter(settings, sid, store.current_snapshot(settings))
    for y in sorted(set(table.column(schema.YEAR).to_pylist())):
        writer.write_year(y, table.filter(pc.equal(table.column(schema.YEAR), pa.scalar(y, pa.int16()))))
    return writer.publish({"created_at": "2026-01-15T09:00:00+00:00", "note": "tests.incident_factory"})


# Large plausible data ------------------------------------------------------------------------------------------
# Lambert-93 centres of a few Lyon places, with relative weights (hot spots) and the arrondissement they are in.
_HOTSPOTS = [
    (842_300, 6_519_700, 6.0, "69381"),  # Terreaux / Hôtel de Ville
    (842_100, 6_518_300, 5.0, "69382"),  # Bellecour
    (841_700, 6_517_000, 3.0, "69382"),  # Perrache
    (843_900, 6_518_300, 4.0, "69383"),  # Part-Dieu / Moncey
    (841_400, 6_519_000, 2.0, "69385"),  # Vieux Lyon
    (846_300, 6_516_000, 2.0, "69388"),  # Mermoz / États-Unis
    (840_200, 6_523_000, 1.5, "69389"),  # La Duchère
    (843_400, 6_521_200, 1.5, "69384"),  # Croix-Rousse
    (843_700, 6_515_500, 1.5, "69387"),  # Guillotière / Jean Macé
    (845_000, 6_520_200, 1.5, "69386"),  # Brotteaux
]
_SOURCES = ["police_nationale", "police_municipale", "tcl", "bailleurs", "piscines", "mediateurs"]
_SOURCE_P = [0.45, 0.25, 0.12, 0.08, 0.04, 0.06]


def random_incidents(n: int, seed: int = 0, start_year: int = 2019, end_year: int = 2025, settings=None) -> pa.Table:
    """``n`` plausible incidents over whole years: hot spots, summer peak, night hours, 10 % without point.

    Points go to their arrondissement and zones by exact point-in-polygon tests on the territory of
    ``settings`` (default settings when None), so zone and arrondissement filters behave as on real data.
    """
    import shapely

    from observatory.config import get_settings
    from observatory.territory import LAMBERT93, grid_cell_ids, load_territory

    rng = np.random.default_rng(seed)
    terr = load_territory(settings or get_settings())
    cats = [c for c in schema.categories() if c != schema.NON_CLASSE]
    cat_p = rng.dirichlet(np.ones(len(cats)) * 2)
    # Positions: 70 % around hot spots (σ 250 m), 30 % uniform over the city's bounding box then kept inside.
    arr = terr.arrondissements_l93()
    xmin, ymin, xmax, ymax = arr.total_bounds
    w = np.array([h[2] for h in _HOTSPOTS])
    k = rng.choice(len(_HOTSPOTS), size=n, p=w / w.sum())
    hot = rng.random(n) < 0.7
    x = np.where(hot, np.array([h[0] for h in _HOTSPOTS])[k] + rng.normal(0, 250, n), rng.uniform(xmin, xmax, n))
    y = np.where(hot, np.array([h[1] for h in _HOTSPOTS])[k] + rng.normal(0, 250, n), rng.uniform(ymin, ymax, n))
    city = arr.union_all()
    shapely.prepare(city)
    inside = shapely.contains_xy(city, x, y)
    # Points outside the city are pulled to their hot spot's centre, which is inside.
    x = np.where(inside, x, np.array([h[0] for h in _HOTSPOTS])[k])
    y = np.where(inside, y, np.array([h[1] for h in _HOTSPOTS])[k])
    source = np.asarray(_SOURCES, dtype=object)[rng.choice(len(_SOURCES), size=n, p=_SOURCE_P)]
    # Pool staff report around their pools: those incidents sit in a pool buffer (50 m spread).
    pools = terr.zones[terr.zones["kind"] == "piscine"].to_crs(LAMBERT93)
    at_pool = source == "piscines"
    if len(pools) and at_pool.any():
        centres = pools.geometry.centroid
        pick = rng.integers(0, len(pools), at_pool.sum())
        x[at_pool] = centres.x.to_numpy()[pick] + rng.normal(0, 50, at_pool.sum())
        y[at_pool] = centres.y.to_numpy()[pick] + rng.normal(0, 50, at_pool.sum())
    arrond = np.full(n, None, dtype=object)
    for code, geom in zip(arr["code"], arr.geometry):
        shapely.prepare(geom)
        m = shapely.contains_xy(geom, x, y) & (arrond == None)  # noqa: E711  (object array comparison)
        arrond[m] = code
    fallback = np.array([h[3] for h in _HOTSPOTS], dtype=object)[k]
    arrond = np.where(arrond == None, fallback, arrond)  # noqa: E711
    # Dates: uniform days with a summer bump; hours weighted towards evening and night.
    days = pd.date_range(f"{start_year}-01-01", f"{end_year}-12-31", freq="D")
    day_w = 1 + 0.35 * np.isin(days.month, (6, 7, 8))
    d = rng.choice(len(days), size=n, p=day_w / day_w.sum())
    # Pools are busiest when open: 80 % of their incidents fall in June–August.
    summer = np.flatnonzero(np.isin(days.month, (6, 7, 8)))
    in_summer = at_pool & (rng.random(n) < 0.8)
    d[in_summer] = rng.choice(summer, size=in_summer.sum())
    hour_w = np.array([4, 3, 2, 1, 1, 1, 1, 2, 3, 4, 4, 5, 5, 5, 5, 5, 6, 7, 8, 8, 8, 7, 6, 5], dtype=float)
    hours = rng.choice(24, size=n, p=hour_w / hour_w.sum())
    minutes = rng.integers(0, 60, n)
    local = pd.DatetimeIndex(days[d]) + pd.to_timedelta(hours, unit="h") + pd.to_timedelta(minutes, unit="min")
    occurred = pd.Series(local).dt.tz_localize(schema.TIMEZONE, ambiguous="NaT", nonexistent="shift_forward")
    occurred = occurred.fillna(pd.Series(local).dt.tz_localize("UTC").dt.tz_convert(schema.TIMEZONE))
    precision = rng.choice(np.array(["hour", "day", "month"]), size=n, p=[0.85, 0.12, 0.03])
    no_point = rng.random(n) < 0.10
    quality = np.where(no_point, rng.choice(np.array(["sector", "none"]), size=n), rng.choice(np.array(["point", "address"]), size=n, p=[0.7, 0.3]))
    xs, ys = np.where(no_point, np.nan, x), np.where(no_point, np.nan, y)
    # Zones by exact containment; an incident may sit in several (a pool buffer inside a QPV).
    zones_l93 = terr.zones.to_crs(LAMBERT93)
    zone_lists: list[list[str]] = [[] for _ in range(n)]
    for zid, geom in zip(zones_l93["zone_id"], zones_l93.geometry):
        shapely.prepare(geom)
        for i in np.flatnonzero(shapely.contains_xy(geom, xs, ys)):
            zone_lists[i].append(zid)
    category = np.asarray(cats, dtype=object)[rng.choice(len(cats), size=n, p=cat_p)]
    unmapped = rng.random(n) < 0.01
    category = np.where(unmapped, schema.NON_CLASSE, category)
    family_of = {c: schema.category_family(c) for c in schema.categories()}
    return incidents(
        source=source,
        source_id=np.char.add("R", np.arange(n).astype(str)).astype(object),
        occurred_at=occurred,
        time_precision=precision,
        category=category,
        family=np.array([family_of[c] for c in category], dtype=object),
        raw_label=np.where(unmapped, "libellé inconnu " + pd.Series(rng.integers(0, 5, n)).astype(str).to_numpy(), category),
        x=xs,
        y=ys,
        lon=np.full(n, np.nan),
        lat=np.full(n, np.nan),
        location_quality=quality,
        arrondissement=arrond,
        zones=zone_lists,
        grid_cell=grid_cell_ids(xs, ys, GRID_M),
        n_facts=np.ones(n, dtype="int32"),
    )
