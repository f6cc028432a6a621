"""The CLS action plan: the register of dated actions, their perimeters, and their evaluation.

Public API (documented in docs/contracts.md, "Action plan", and docs/actions.md):

- ``load_register(settings) -> DataFrame`` (raises ``RegisterError`` listing every problem),
  ``check_register(settings, path=None) -> (DataFrame, problems)``, ``upsert_action``, ``close_action``,
  ``save_register`` — validated, atomic write-back of ``data/raw/actions/actions.csv``.
- ``actions_for_markers(settings) -> DataFrame`` (action_id, title, type, status, start, end, arrondissement,
  zone_id, categories) for the trend charts.
- ``actions_layer(settings) -> GeoDataFrame`` (the same columns + geometry in EPSG:4326) for the maps.
- ``evaluate_actions(settings, action_ids=None, as_of=None, control_zone=None, incidents=None) -> DataFrame``.
- ``evaluations_for_year(settings, year) -> DataFrame`` for the yearly report.
- ``objectives(settings, as_of=None, incidents=None) -> DataFrame`` target vs actual.
- pure functions in ``observatory.actions.evaluation`` (WDD, DiD, windows, control choice, verdicts).
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import geopandas as gpd
import pandas as pd

from observatory.actions.register import (
    ACTION_COLUMNS,
    ACTION_STATUSES,
    ACTION_TYPES,
    STATUS_LABELS,
    TYPE_LABELS,
    Problem,
    RegisterError,
    check_register,
    close_action,
    load_register,
    register_path,
    save_register,
    upsert_action,
    validate_register,
)
from observatory.config import Settings

MARKER_COLUMNS = ["action_id", "title", "type", "status", "start", "end", "arrondissement", "zone_id", "categories"]


def _source(settings: Settings, incidents: pd.DataFrame | None):  # noqa: ANN202 - IncidentSource
    from observatory.actions.service import FrameSource, SnapshotSource

    return FrameSource(incidents) if incidents is not None else SnapshotSource(settings)


def _plan_key(settings: Settings) -> tuple:
    """What the valid register and its perimeters depend on: the register and perimeter files, the territory."""
    from observatory.actions.register import perimeters_path
    from observatory.territory.geography import _cache_stamp

    return (_stamp(register_path(settings)), _stamp(perimeters_path(settings)), _cache_stamp(settings))


def actions_for_markers(settings: Settings) -> pd.DataFrame:
    """Valid actions for chart markers, sorted by start (invalid lines are listed by ``check_register``).

    Read and validated once per version of the register (pages call this on every filter change)."""
    return _actions_for_markers(settings, _plan_key(settings)).copy(deep=False)


@lru_cache(maxsize=8)
def _actions_for_markers(settings: Settings, _key: tuple) -> pd.DataFrame:
    from observatory.actions.service import load_plan

    reg = load_plan(settings).register
    if reg.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in MARKER_COLUMNS})
    out = reg[MARKER_COLUMNS].sort_values(["start", "action_id"]).reset_index(drop=True)
    out["start"] = pd.to_datetime(out["start"])
    out["end"] = pd.to_datetime(out["end"])
    return out


def actions_layer(settings: Settings) -> gpd.GeoDataFrame:
    """Perimeters of the valid actions, EPSG:4326, with the marker columns (a map layer for any page).

    Built once per version of the register, its perimeter file and the territory; each caller gets its own copy."""
    return _actions_layer(settings, _plan_key(settings)).copy()


@lru_cache(maxsize=8)
def _actions_layer(settings: Settings, key: tuple) -> gpd.GeoDataFrame:
    from observatory.actions.service import load_plan

    plan = load_plan(settings)
    markers = _actions_for_markers(settings, key)
    geo = plan.perimeters[["action_id", "perimeter_kind", "geometry"]]
    # An empty register gives empty frames whose action_id dtypes differ (object vs float): align them.
    merged = markers.astype({"action_id": "string"}).merge(geo.astype({"action_id": "string"}), on="action_id", how="inner")
    return gpd.GeoDataFrame(merged, geometry="geometry", crs="EPSG:4326")


def evaluate_actions(
    settings: Settings,
    action_ids: list[str] | None = None,
    as_of: date | None = None,
    control_zone: str | None = None,
    incidents: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Evaluate actions (all valid ones by default) on the current snapshot, or on ``incidents`` if given."""
    from observatory.actions.service import evaluate_plan, load_plan

    return evaluate_plan(settings, load_plan(settings), _source(settings, incidents), action_ids, as_of, control_zone)


def objectives(settings: Settings, as_of: date | None = None, incidents: pd.DataFrame | None = None) -> pd.DataFrame:
    from observatory.actions.service import load_plan, objectives_table

    return objectives_table(settings, load_plan(settings), _source(settings, incidents), as_of)


def _stamp(path) -> tuple:  # noqa: ANN001 - Path
    # Size and inode join the mtime: an atomic rewrite within the filesystem's timestamp granularity is seen.
    try:
        st = path.stat()
    except OSError:
        return ()
    return st.st_mtime_ns, st.st_size, st.st_ino


def _views_key(settings: Settings) -> tuple:
    """(snapshot id, register, perimeters and territory stamps): what an evaluation of the current snapshot depends on."""
    from observatory import store

    return (store.current_snapshot_id(settings), *_plan_key(settings))


def dashboard_views(settings: Settings) -> dict:
    """Everything the "Plan d'actions" page shows, cached per (snapshot, register version).

    Returns {"key": the cache key, "layer": ``actions_layer``, "plan": Plan, "source": IncidentSource, "evaluations":
    DataFrame, "objectives": DataFrame, "data_range": (date, date) | None}.
    The cache key changes when a new snapshot is published or the register / perimeter file is rewritten.
    """
    return _dashboard_views(settings, _views_key(settings))


@lru_cache(maxsize=4)
def _dashboard_views(settings: Settings, _key: tuple) -> dict:
    from observatory.actions.service import SnapshotSource, evaluate_plan, load_plan, objectives_table

    plan = load_plan(settings)
    source = SnapshotSource(settings)
    return {
        "key": _key,
        "layer": actions_layer(settings),
        "plan": plan,
        "source": source,
        "evaluations": evaluate_plan(settings, plan, source),
        "objectives": objectives_table(settings, plan, source),
        "data_range": source.data_range(),
    }


def evaluations_for_year(settings: Settings, year: int, incidents: pd.DataFrame | None = None) -> pd.DataFrame:
    """Actions active during ``year``, evaluated with the data up to 31 December of that year (reproducible),
    with their objective tracking when they have one (columns of ``evaluate_actions`` + ``objective_text``).

    On the current snapshot (no ``incidents`` given) the result is computed once per (snapshot, register version,
    year): the yearly diagnostic of the city and of each arrondissement asks for the same evaluations.
    """
    if incidents is None:
        return _evaluations_for_year(settings, int(year), _views_key(settings)).copy(deep=False)
    return _evaluate_year(settings, year, incidents)


@lru_cache(maxsize=16)
def _evaluations_for_year(settings: Settings, year: int, _key: tuple) -> pd.DataFrame:
    return _evaluate_year(settings, year, None)


def _evaluate_year(settings: Settings, year: int, incidents: pd.DataFrame | None) -> pd.DataFrame:
    from observatory.actions.service import evaluate_plan, load_plan, objectives_table

    plan = load_plan(settings)
    reg = plan.register
    if reg.empty:
        return evaluate_plan(settings, plan, _source(settings, incidents)).assign(objective_text=pd.Series(dtype=object))
    year_start, year_end = date(year, 1, 1), date(year, 12, 31)
    active = reg[(reg["start"] <= year_end) & reg["end"].map(lambda e: e is None or e >= year_start)]
    source = _source(settings, incidents)
    if active.empty:
        return evaluate_plan(settings, plan, source, []).assign(objective_text=pd.Series(dtype=object))
    evaluated = evaluate_plan(settings, plan, source, list(active["action_id"]), as_of=year_end)
    obj = objectives_table(settings, plan, source, as_of=year_end)
    obj = obj[obj["objective_year"] == year][["action_id", "objective_text"]]
    return evaluated.merge(obj, on="action_id", how="left")


__all__ = [
    "ACTION_COLUMNS",
    "ACTION_STATUSES",
    "ACTION_TYPES",
    "STATUS_LABELS",
    "TYPE_LABELS",
    "Problem",
    "RegisterError",
    "actions_for_markers",
    "actions_layer",
    "check_register",
    "close_action",
    "dashboard_views",
    "evaluate_actions",
    "evaluations_for_year",
    "load_register",
    "objectives",
    "register_path",
    "save_register",
    "upsert_action",
    "validate_register",
]
