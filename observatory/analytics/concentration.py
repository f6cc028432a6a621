"""The law of crime concentration: share of incidents in the top x % of places, cumulative curve, Gini.

Cells are every cell of the city grid (``territory.city_grid``), or of the filtered arrondissements, zero cells
included: leaving out empty cells would understate concentration, counting cells outside the filter overstates it.
Each cell weighs its share inside the city (edge cells less than one): shares of places are shares of area. Only incidents with a grid cell (located to a point or an address)
count; ``attrs['unlocated']`` says how many were left out, ``attrs['outside_grid']`` how many fell in cells
beyond the city grid (tolerance band at the border).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from observatory.analytics.filters import Filters
from observatory.analytics.indicators import counts

if TYPE_CHECKING:
    from observatory.analytics.engine import Analytics

TOPS = (0.01, 0.05, 0.10, 0.20)


def _by_density(values: np.ndarray, area: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Counts and areas sorted by density, densest first (area 1 each when not given)."""
    x = np.asarray(values, dtype="float64")
    a = np.ones(len(x)) if area is None else np.clip(np.asarray(area, dtype="float64"), 1e-9, None)
    # Stable sort on density, ties by count: with equal areas, the order of the counts themselves.
    order = np.lexsort((-x, -(x / a)))
    return x[order], a[order]


def gini(values: np.ndarray, area: np.ndarray | None = None) -> float:
    """Gini coefficient of non-negative counts (0 = even, (n−1)/n = all in one place); NaN when all are 0.

    ``area``: each place's size (edge cells: their share inside the study area): the Lorenz curve then runs over
    shares of area, places sorted by density, so an edge cell 10 % inside with a tenth of a cell's incidents is
    even with the rest, not a near-empty place. With equal areas: the usual discrete Gini.
    """
    x, a = _by_density(values, area)
    total = x.sum()
    if len(x) == 0 or total == 0:
        return float("nan")
    # Ascending Lorenz curve by the trapezoid rule: G = 1 − Σ width_k (L_{k−1} + L_k).
    x, a = x[::-1], a[::-1]
    lorenz = np.cumsum(x) / total
    prev = np.concatenate([[0.0], lorenz[:-1]])
    return float(1 - ((a / a.sum()) * (prev + lorenz)).sum())


def top_share(values: np.ndarray, fraction: float, area: np.ndarray | None = None) -> float:
    """Share of the total held by the densest places covering ``fraction`` of the area (the ceil(fraction × n)
    largest values when every place has the same size)."""
    x, a = _by_density(values, area)
    total = x.sum()
    if len(x) == 0 or total == 0:
        return float("nan")
    cum = np.cumsum(a) / a.sum()
    k = max(1, int(np.searchsorted(cum, fraction - 1e-9) + 1))
    return float(x[:k].sum() / total)


def curve(values: np.ndarray, area: np.ndarray | None = None) -> pd.DataFrame:
    """Cumulative share of incidents against share of places (of their area when ``area`` is given), places
    sorted from the busiest (starts at 0, 0)."""
    x, a = _by_density(values, area)
    total = x.sum()
    n = len(x)
    cum = np.concatenate([[0.0], np.cumsum(x) / total if total else np.zeros(n)])
    places = np.concatenate([[0.0], np.cumsum(a) / a.sum()]) if n else np.array([0.0])
    return pd.DataFrame({"place_share": places, "incident_share": cum})


def _cell_counts_by_year(an: "Analytics", filters: Filters, unit: str) -> tuple[dict[int, np.ndarray], dict[str, int], np.ndarray | None]:
    key = "grid_cell" if unit == "grid" else "place_name"
    c = counts(an, filters, ("year", key))
    unlocated = int(c.loc[c[key].isna(), "count"].sum())
    c = c[c[key].notna()]
    per_year: dict[int, np.ndarray] = {}
    outside = 0
    if unit == "grid":
        from observatory.analytics.hotspots import study_area

        grid = an.grid()
        # The study area is the filtered territory (arrondissements, zones): the empty cells of the rest of the
        # city are not "places without incidents" (they would push the Gini towards 1).
        share = study_area(an, filters)
        grid = grid[share > 0]
        cells = grid["cell_id"].tolist()
        area = share[share > 0]
        for y, part in c.groupby("year"):
            s = part.set_index(key)["count"]
            outside += int(s[~s.index.isin(cells)].sum())
            per_year[int(y)] = s.reindex(cells, fill_value=0).to_numpy()
    else:
        area = None
        for y, part in c.groupby("year"):
            per_year[int(y)] = part["count"].to_numpy()
    return per_year, {"unlocated": unlocated, "outside_grid": outside}, area


def concentration(an: "Analytics", filters: Filters, unit: str = "grid", tops: tuple[float, ...] = TOPS) -> pd.DataFrame:
    """Per year: ``year``, ``incidents``, ``places`` (cells of the city grid, or distinct place names),
    ``places_with_incidents``, ``gini``, and ``top_1pct``, ``top_5pct``… (share of incidents in the top x %).

    ``unit="place"`` uses the ``place_name`` column (street-level places where partners give them; only places
    with at least one incident exist there, so shares are among named places).
    """
    if unit not in ("grid", "place"):
        raise ValueError(f"unité inconnue {unit!r} ; possibles : grid, place")
    per_year, info, area = _cell_counts_by_year(an, filters, unit)
    rows = []
    for y, v in sorted(per_year.items()):
        row = {"year": y, "incidents": int(v.sum()), "places": len(v), "places_with_incidents": int((v > 0).sum()), "gini": gini(v, area)}
        for t in tops:
            row[f"top_{round(t * 100):d}pct"] = top_share(v, t, area)
        rows.append(row)
    out = pd.DataFrame(rows, columns=["year", "incidents", "places", "places_with_incidents", "gini"] + [f"top_{round(t * 100):d}pct" for t in tops])
    out.attrs.update(info)
    return out


def concentration_curve(an: "Analytics", filters: Filters, unit: str = "grid") -> pd.DataFrame:
    """Per year, the cumulative curve: ``year``, ``place_share``, ``incident_share``."""
    per_year, info, area = _cell_counts_by_year(an, filters, unit)
    parts = [curve(v, area).assign(year=y) for y, v in sorted(per_year.items())]
    out = pd.concat(parts, ignore_index=True)[["year", "place_share", "incident_share"]] if parts else pd.DataFrame(columns=["year", "place_share", "incident_share"])
    out.attrs.update(info)
    return out
