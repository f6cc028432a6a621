"""Where and when an action is evaluated: equal before/after windows shrunk to the data, counts of incidents
in an area (Lambert-93) per window, the displacement ring and the default control cells."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from observatory import schema
from observatory.actions.significance import Pair

DEFAULT_BUFFER_M = 300.0
MIN_WINDOW_MONTHS = 3
MIN_CONTROL_CELLS = 3
MIN_CELL_SHARE_IN_CITY = 0.5


# Windows --------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Windows:
    before_start: pd.Timestamp  # naive dates, Europe/Paris local time
    start: pd.Timestamp
    after_end: pd.Timestamp  # exclusive
    months: int
    requested_months: int
    usable: bool
    reason: str | None  # French, why the windows do not allow a conclusion (or were shortened)


def evaluation_windows(start: date, months: int, data_start: date | None, data_end: date | None, min_months: int = MIN_WINDOW_MONTHS) -> Windows:
    """Equal before/after windows of ``months`` months around ``start``, shrunk to the data's coverage.

    ``data_end`` is the last day with data (inclusive). The after window needs ``start + L ≤ data_end + 1 day``
    and the before window ``start − L ≥ data_start``; the largest such ``L ≤ months`` is used. Below
    ``min_months`` the windows are marked unusable with the reason.
    """
    s = pd.Timestamp(start)
    if data_start is None or data_end is None:
        return Windows(s - pd.DateOffset(months=months), s, s + pd.DateOffset(months=months), 0, months, False, "aucune donnée disponible")
    first, last_excl = pd.Timestamp(data_start), pd.Timestamp(data_end) + pd.Timedelta(days=1)
    usable_months = 0
    for m in range(months, 0, -1):
        if s + pd.DateOffset(months=m) <= last_excl and s - pd.DateOffset(months=m) >= first:
            usable_months = m
            break
    before, after = s - pd.DateOffset(months=usable_months), s + pd.DateOffset(months=usable_months)
    if usable_months < min_months:
        if s >= last_excl:
            why = "l'action n'a pas encore commencé dans les données disponibles"
        elif s + pd.DateOffset(months=min_months) > last_excl:
            why = f"moins de {min_months} mois de recul après le début de l'action"
        else:
            why = f"moins de {min_months} mois de données avant le début de l'action"
        return Windows(before, s, after, usable_months, months, False, f"fenêtres trop courtes : {why}")
    reason = None if usable_months == months else f"fenêtres réduites à {usable_months} mois (données disponibles)"
    return Windows(before, s, after, usable_months, months, True, reason)


# Counting -------------------------------------------------------------------------------------------------------
def _weights(incidents: pd.DataFrame) -> np.ndarray:
    # n_facts counts the facts a row stands for; absent, each row is one fact.
    if schema.N_FACTS in incidents.columns:
        return incidents[schema.N_FACTS].fillna(1).to_numpy(dtype="float64")
    return np.ones(len(incidents))


def _period_masks(incidents: pd.DataFrame, windows: Windows) -> tuple[np.ndarray, np.ndarray]:
    if incidents.empty:
        return np.zeros(0, dtype=bool), np.zeros(0, dtype=bool)
    when = incidents[schema.OCCURRED_AT]
    tz = getattr(when.dt, "tz", None)
    b0, s, a1 = windows.before_start, windows.start, windows.after_end
    if tz is not None:
        b0, s, a1 = (t.tz_localize(tz) for t in (b0, s, a1))
    before = ((when >= b0) & (when < s)).to_numpy()
    after = ((when >= s) & (when < a1)).to_numpy()
    return before, after


def area_counts(incidents: pd.DataFrame, area_l93: shapely.Geometry | None, windows: Windows) -> Pair:
    """(before, after) counts of incidents whose Lambert-93 point lies in ``area_l93`` (boundary included).

    Incidents without coordinates cannot be placed in a perimeter and are not counted here (they still count
    in their arrondissement elsewhere).
    """
    if area_l93 is None or area_l93.is_empty or incidents.empty:
        return (0.0, 0.0)
    x = incidents[schema.X].to_numpy(dtype="float64", na_value=np.nan)
    y = incidents[schema.Y].to_numpy(dtype="float64", na_value=np.nan)
    ok = np.isfinite(x) & np.isfinite(y)
    inside = np.zeros(len(incidents), dtype=bool)
    inside[ok] = shapely.intersects_xy(area_l93, x[ok], y[ok])
    before, after = _period_masks(incidents, windows)
    w = _weights(incidents)
    return (float(w[inside & before].sum()), float(w[inside & after].sum()))


def cell_counts(incidents: pd.DataFrame, windows: Windows) -> pd.DataFrame:
    """Per grid cell: before and after counts (cell_id, before, after); incidents without a cell are left out."""
    before, after = _period_masks(incidents, windows)
    w = _weights(incidents)
    frame = pd.DataFrame({"cell_id": incidents[schema.GRID_CELL].to_numpy(dtype=object), "before": np.where(before, w, 0.0), "after": np.where(after, w, 0.0)})
    frame = frame[frame["cell_id"].notna()]
    return frame.groupby("cell_id", as_index=False)[["before", "after"]].sum()


def displacement_ring(perimeter_l93: shapely.Geometry, width_m: float = DEFAULT_BUFFER_M) -> shapely.Geometry:
    """The ring of ``width_m`` metres around a perimeter (the perimeter itself excluded)."""
    return perimeter_l93.buffer(width_m, quad_segs=16).difference(perimeter_l93)


def select_control_cells(
    grid: gpd.GeoDataFrame,
    counts: pd.DataFrame,
    arrondissement: str | None,
    exclusion_l93: shapely.Geometry | None,
    treated_before: float,
    treated_area_m2: float,
    min_cells: int = MIN_CONTROL_CELLS,
) -> list[str]:
    """Default control: comparable grid cells of the same arrondissement, under no action, outside the buffer.

    Candidates are the cells of ``grid`` (cell_id, arrondissement, share_in_city, geometry in Lambert-93) whose
    centre is in ``arrondissement``, mostly inside the city, and that do not touch ``exclusion_l93`` (every
    action perimeter plus this action's displacement buffer). They are ranked by how close their before-window
    count is to the treated area's count per cell-sized area — matching on the before level makes the control
    share the treated area's regression to the mean, since actions target places that were high — and taken
    in that order until their before-window total reaches the treated one (at least ``min_cells``). Ties break
    on the cell id, so the choice is reproducible. An empty list means no control is available.
    """
    cand = grid[grid["arrondissement"] == arrondissement] if arrondissement else grid.iloc[0:0]
    cand = cand[cand["share_in_city"] >= MIN_CELL_SHARE_IN_CITY]
    if exclusion_l93 is not None and not exclusion_l93.is_empty and len(cand):
        cand = cand[~shapely.intersects(cand.geometry.to_numpy(), exclusion_l93)]
    if cand.empty:
        return []
    cell_area = float(cand.geometry.iloc[0].area)
    per_cell_target = treated_before / max(1.0, treated_area_m2 / cell_area)
    table = cand[["cell_id"]].merge(counts, on="cell_id", how="left").fillna({"before": 0.0, "after": 0.0})
    table["distance"] = (table["before"] - per_cell_target).abs()
    table = table.sort_values(["distance", "cell_id"], kind="mergesort")
    chosen, total = [], 0.0
    for cell, before in zip(table["cell_id"], table["before"]):
        if len(chosen) >= min_cells and total >= treated_before:
            break
        chosen.append(cell)
        total += before
    return chosen


def monthly_area_counts(incidents: pd.DataFrame, areas: dict[str, shapely.Geometry], first: pd.Timestamp, last: pd.Timestamp) -> pd.DataFrame:
    """Monthly counts per named area (month, area, count), every month from ``first`` to ``last`` present."""
    months = pd.date_range(first, last, freq="MS")
    frames = []
    x = incidents[schema.X].to_numpy(dtype="float64", na_value=np.nan) if len(incidents) else np.array([])
    y = incidents[schema.Y].to_numpy(dtype="float64", na_value=np.nan) if len(incidents) else np.array([])
    ok = np.isfinite(x) & np.isfinite(y)
    month_of = incidents[schema.OCCURRED_AT].dt.tz_localize(None).dt.to_period("M").dt.to_timestamp() if len(incidents) else pd.Series(dtype="datetime64[ns]")
    w = _weights(incidents)
    for name, geom in areas.items():
        inside = np.zeros(len(incidents), dtype=bool)
        if len(incidents):
            inside[ok] = shapely.intersects_xy(geom, x[ok], y[ok])
        counts = pd.Series(w[inside], index=month_of[inside].to_numpy()).groupby(level=0).sum() if inside.any() else pd.Series(dtype="float64")
        frames.append(pd.DataFrame({"month": months, "area": name, "count": counts.reindex(months, fill_value=0.0).to_numpy()}))
    return pd.concat(frames, ignore_index=True)
