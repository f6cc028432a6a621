"""Adapter between the register, the territory and the current snapshot: what the CLI, the page and the report call.

Incidents are read with DuckDB straight from the current snapshot's Parquet files
(``observatory.store.current_snapshot(settings).incident_files``): the analytics API aggregates by code
(arrondissement, zone, cell) but an evaluation needs points in arbitrary perimeters and rings, so this module
asks only for the targeted categories, inside a bounding box, over the two windows. Tests and notebooks can
pass an incidents DataFrame instead (canonical columns occurred_at, category, x, y, grid_cell, arrondissement).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from observatory import schema
from observatory.actions import evaluation as ev
from observatory.actions.perimeters import action_perimeters, perimeters_l93
from observatory.actions.register import RegisterError, check_register, load_perimeter_polygons, register_path
from observatory.config import Settings
from observatory.territory import LAMBERT93, city_grid, load_territory

INCIDENT_COLUMNS = [schema.OCCURRED_AT, schema.CATEGORY, schema.X, schema.Y, schema.GRID_CELL, schema.ARRONDISSEMENT, schema.N_FACTS]


# Incident sources -----------------------------------------------------------------------------------------------
class IncidentSource:
    """Where incidents come from: ``data_range()`` and ``fetch(categories, start, end, bbox)``."""

    key: str = ""

    def data_range(self) -> tuple[date, date] | None:  # pragma: no cover - interface
        raise NotImplementedError

    def fetch(self, categories: tuple[str, ...], start: pd.Timestamp, end: pd.Timestamp, bbox: tuple[float, float, float, float]) -> pd.DataFrame:  # pragma: no cover
        raise NotImplementedError


def _local(ts: pd.Timestamp) -> pd.Timestamp:
    return ts.tz_localize(schema.TIMEZONE) if ts.tzinfo is None else ts


class FrameSource(IncidentSource):
    """Incidents given as a DataFrame (tests, notebooks)."""

    def __init__(self, incidents: pd.DataFrame):
        self.incidents = incidents
        self.key = f"frame-{id(incidents)}"

    def data_range(self) -> tuple[date, date] | None:
        if self.incidents.empty:
            return None
        when = self.incidents[schema.OCCURRED_AT]
        return when.min().date(), when.max().date()

    def fetch(self, categories, start, end, bbox):  # noqa: ANN001 - see IncidentSource
        df = self.incidents
        when = df[schema.OCCURRED_AT]
        tz = getattr(when.dt, "tz", None)
        s, e = (t.tz_localize(tz) if tz is not None and t.tzinfo is None else t for t in (start, end))
        x, y = df[schema.X], df[schema.Y]
        keep = df[schema.CATEGORY].isin(categories) & (when >= s) & (when < e) & x.between(bbox[0], bbox[2]) & y.between(bbox[1], bbox[3])
        return df.loc[keep]


class SnapshotSource(IncidentSource):
    """Incidents of the current snapshot, read with DuckDB (only the columns, categories, box and dates asked)."""

    def __init__(self, settings: Settings):
        from observatory import store

        self.snapshot = store.current_snapshot(settings)
        self.key = self.snapshot.id if self.snapshot else "none"
        self._lock = threading.Lock()
        self._con = None

    def _query(self, sql: str, params: list) -> pd.DataFrame:
        import duckdb

        files = [str(p) for p in self.snapshot.incident_files]
        with self._lock:
            if self._con is None:
                self._con = duckdb.connect()
                self._con.execute("SET TimeZone = 'Europe/Paris'")
            return self._con.execute(sql.replace("{files}", "read_parquet($files, hive_partitioning = true)"), {"files": files, **dict(params)}).df()

    def data_range(self) -> tuple[date, date] | None:
        if self.snapshot is None or not self.snapshot.incident_files:
            return None
        out = self._query("SELECT min(occurred_at) AS lo, max(occurred_at) AS hi FROM {files}", [])
        if out.empty or pd.isna(out["lo"].iloc[0]):
            return None
        return pd.Timestamp(out["lo"].iloc[0]).date(), pd.Timestamp(out["hi"].iloc[0]).date()

    def fetch(self, categories, start, end, bbox):  # noqa: ANN001 - see IncidentSource
        if self.snapshot is None or not self.snapshot.incident_files:
            return pd.DataFrame(columns=INCIDENT_COLUMNS)
        sql = (
            f"SELECT {', '.join(INCIDENT_COLUMNS)} FROM {{files}} WHERE category IN (SELECT unnest($cats)) "
            "AND occurred_at >= $start AND occurred_at < $end AND x BETWEEN $x0 AND $x1 AND y BETWEEN $y0 AND $y1"
        )
        params = {"cats": list(categories), "start": _local(start).to_pydatetime(), "end": _local(end).to_pydatetime(), "x0": bbox[0], "y0": bbox[1], "x1": bbox[2], "y1": bbox[3]}
        df = self._query(sql, list(params.items()))
        df[schema.OCCURRED_AT] = pd.to_datetime(df[schema.OCCURRED_AT], utc=True).dt.tz_convert(schema.TIMEZONE)
        return df


# Register + geometry --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Plan:
    """The valid part of the register with its perimeters, and the problems of the rest."""

    register: pd.DataFrame
    perimeters: gpd.GeoDataFrame  # action_id, perimeter_kind, arrondissement, geometry (EPSG:4326)
    problems: list


def load_plan(settings: Settings) -> Plan:
    """Valid actions with their perimeters (invalid lines are reported in ``problems``, never silently dropped)."""
    register, problems = check_register(settings)
    try:
        polygons = load_perimeter_polygons(settings)
    except RegisterError as exc:
        polygons, problems = {}, problems + exc.problems
    perimeters = action_perimeters(register, load_territory(settings), polygons)
    if not register.empty:
        register = register.merge(perimeters[["action_id", "arrondissement"]], on="action_id", how="left")
    else:
        register = register.assign(arrondissement=pd.Series(dtype=object))
    return Plan(register, perimeters, problems)


@lru_cache(maxsize=4)
def _grid(settings: Settings, stamp: tuple) -> gpd.GeoDataFrame:
    return city_grid(load_territory(settings), settings.grid_size_m)


def _grid_for(settings: Settings) -> gpd.GeoDataFrame:
    from observatory.territory.geography import _cache_stamp

    return _grid(settings, _cache_stamp(settings))


def _overlaps(rec: dict, start: pd.Timestamp, end: pd.Timestamp) -> bool:
    a_start = pd.Timestamp(rec["start"])
    a_end = pd.Timestamp(rec["end"]) if rec.get("end") else pd.Timestamp.max
    return a_start < end and a_end >= start


def _bbox(*geoms: shapely.Geometry) -> tuple[float, float, float, float]:
    bounds = np.array([g.bounds for g in geoms if g is not None and not g.is_empty])
    return float(bounds[:, 0].min()), float(bounds[:, 1].min()), float(bounds[:, 2].max()), float(bounds[:, 3].max())


def evaluate_plan(
    settings: Settings,
    plan: Plan,
    source: IncidentSource,
    action_ids: list[str] | None = None,
    as_of: date | None = None,
    control_zone: str | None = None,
    buffer_m: float = ev.DEFAULT_BUFFER_M,
) -> pd.DataFrame:
    """One evaluation row per action (see :func:`evaluation.evaluate_counts` for the columns).

    ``as_of`` caps the data used (the yearly report evaluates as of 31 December); ``control_zone`` replaces the
    default control by a zone of the territory (its part outside the perimeter and the buffer).
    """
    register = plan.register
    if action_ids is not None:
        unknown = sorted(set(action_ids) - set(register["action_id"]))
        if unknown:
            raise RegisterError([ev_problem(settings, f"action(s) inconnue(s) ou invalide(s) : {', '.join(unknown)}")])
        register = register[register["action_id"].isin(action_ids)]
    territory = load_territory(settings)
    data = source.data_range()
    if data is not None and as_of is not None:
        data = (data[0], min(data[1], as_of)) if data[0] <= as_of else None
    geoms = perimeters_l93(plan.perimeters)
    arr_l93 = territory.arrondissements_l93().set_index("code").geometry
    zones_l93 = territory.zones_l93().set_index("zone_id").geometry
    grid = _grid_for(settings)
    rows = []
    for rec in register.to_dict("records"):
        windows = ev.evaluation_windows(rec["start"], settings.eval_window_months, *(data or (None, None)))
        perimeter = geoms[rec["action_id"]]
        ring = ev.displacement_ring(perimeter, buffer_m)
        arr = rec.get("arrondissement")
        boxes = [perimeter.buffer(buffer_m)]
        if arr in arr_l93.index:
            boxes.append(arr_l93[arr])
        control_geom = None
        if control_zone:
            if control_zone not in zones_l93.index:
                raise RegisterError([ev_problem(settings, f"zone témoin « {control_zone} » inconnue")])
            control_geom = zones_l93[control_zone].difference(perimeter.buffer(buffer_m))
            boxes.append(control_geom)
        incidents = source.fetch(tuple(rec["categories"]), windows.before_start, windows.after_end, _bbox(*boxes))
        cells = buffer_cells = None
        if control_geom is None:
            others = [geoms[o["action_id"]] for o in plan.register.to_dict("records") if _overlaps(o, windows.before_start, windows.after_end)]
            exclusion = shapely.union_all(others + [perimeter.buffer(buffer_m)])
            counts = ev.cell_counts(incidents, windows)
            treated_before = ev.area_counts(incidents, perimeter, windows)[0]
            cells = ev.select_control_cells(grid, counts, arr, exclusion, treated_before, perimeter.area)
            # The buffer gets its own control, disjoint from the perimeter's, matched to the buffer's level.
            chosen = grid[grid["cell_id"].isin(cells)].geometry.to_numpy()
            exclusion_b = shapely.union_all([exclusion, *chosen])
            buffer_before = ev.area_counts(incidents, ring, windows)[0]
            buffer_cells = ev.select_control_cells(grid, counts, arr, exclusion_b, buffer_before, ring.area) if cells else []
        row = ev.evaluate_incidents(
            incidents, perimeter, windows, control_l93=control_geom, control_cells=cells, buffer_control_cells=buffer_cells if control_geom is None else None, buffer_m=buffer_m
        )
        row.update(
            action_id=rec["action_id"],
            title=rec["title"],
            type=rec["type"],
            status=rec["status"],
            arrondissement=arr,
            zone_id=rec["zone_id"],
            start=rec["start"],
            end=rec["end"],
            categories="|".join(rec["categories"]),
            control=f"zone {control_zone}" if control_zone else f"{len(cells or [])} + {len(buffer_cells or [])} carreaux de {settings.grid_size_m} m",
            buffer_m=buffer_m,
        )
        rows.append(row)
    first = ["action_id", "title", "type", "status", "arrondissement", "zone_id", "start", "end", "categories", "control", "buffer_m"]
    if not rows:
        return pd.DataFrame(columns=first + ["verdict_code", "verdict", "significant", "unreliable"])
    out = pd.DataFrame(rows)
    return out[first + [c for c in out.columns if c not in first]]


def ev_problem(settings: Settings, message: str):  # noqa: ANN201 - Problem
    from observatory.actions.register import Problem

    return Problem(register_path(settings).name, None, None, message)


def objectives_table(settings: Settings, plan: Plan, source: IncidentSource, as_of: date | None = None) -> pd.DataFrame:
    """Target vs actual for every action with an objective (same months of the objective year and the year before)."""
    data = source.data_range()
    geoms = perimeters_l93(plan.perimeters)
    rows = []
    for rec in plan.register.to_dict("records"):
        year = rec.get("objective_year")
        # In a register where some actions have no objective, the column is float with NaN for them.
        if year is None or pd.isna(year) or pd.isna(rec.get("target_change_pct")):
            continue
        year = int(year)
        last = min(data[1], as_of) if data and as_of else (data[1] if data else None)
        months = 0
        if last is not None and last.year >= year:
            months = 12 if last.year > year else (last.month if (pd.Timestamp(last) + pd.Timedelta(days=1)).month != last.month else last.month - 1)
        perimeter = geoms[rec["action_id"]]
        prev, cur = 0.0, 0.0
        if months:
            incidents = source.fetch(tuple(rec["categories"]), pd.Timestamp(year - 1, 1, 1), pd.Timestamp(year, 1, 1) + pd.DateOffset(months=months), perimeter.bounds)
            w_prev = ev.Windows(pd.Timestamp(year - 1, 1, 1), pd.Timestamp(year - 1, 1, 1) + pd.DateOffset(months=months), pd.Timestamp(year - 1, 1, 1) + pd.DateOffset(months=months), months, months, True, None)
            w_cur = ev.Windows(pd.Timestamp(year, 1, 1), pd.Timestamp(year, 1, 1) + pd.DateOffset(months=months), pd.Timestamp(year, 1, 1) + pd.DateOffset(months=months), months, months, True, None)
            prev = ev.area_counts(incidents, perimeter, w_prev)[0]
            cur = ev.area_counts(incidents, perimeter, w_cur)[0]
        row = ev.objective_progress(prev, cur, float(rec["target_change_pct"]), months)
        row.update(action_id=rec["action_id"], title=rec["title"], objective=rec["objective"], objective_year=year)
        rows.append(row)
    cols = ["action_id", "title", "objective", "objective_year", "previous", "current", "actual_change", "target_change", "gap_p_value", "months", "objective_code", "objective_text"]
    return pd.DataFrame(rows, columns=cols)


def monthly_series(settings: Settings, plan: Plan, source: IncidentSource, action_id: str, buffer_m: float = ev.DEFAULT_BUFFER_M) -> pd.DataFrame:
    """Monthly counts of the targeted categories in the perimeter and its buffer, from the before window on.

    Columns: month (first day, Timestamp), area ('perimetre' | 'zone_tampon'), count; zeros filled.
    """
    rec = plan.register.set_index("action_id").loc[action_id]
    data = source.data_range()
    if data is None:
        return pd.DataFrame(columns=["month", "area", "count"])
    perimeter = perimeters_l93(plan.perimeters)[action_id]
    ring = ev.displacement_ring(perimeter, buffer_m)
    first = (pd.Timestamp(rec["start"]) - pd.DateOffset(months=settings.eval_window_months)).to_period("M").to_timestamp()
    first = max(first, pd.Timestamp(data[0]).to_period("M").to_timestamp())
    last = pd.Timestamp(data[1]).to_period("M").to_timestamp()
    incidents = source.fetch(tuple(rec["categories"]), first, last + pd.DateOffset(months=1), _bbox(perimeter.buffer(buffer_m)))
    return ev.monthly_area_counts(incidents, {"perimetre": perimeter, "zone_tampon": ring}, first, last)


def actions_at(settings: Settings) -> pd.DataFrame:
    return load_plan(settings).register
