"""The law of crime concentration: share of incidents in the top x % of places, cumulative curve, Gini.

Cells are every cell of the city grid (``territory.city_grid``), or of the filtered arrondissements, zero cells
included: leaving out empty cells would understate concentration, counting cells outside the filter overstates it. Only incidents with a grid cell (located to a point or an address)
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


def gini(values: np.ndarray) -> float:
    """Gini coefficient of non-negative counts (0 = even, (n−1)/n = all in one place); NaN when all are 0."""
    x = np.sort(np.asarray(values, dtype="float64"))
    n, total = len(x), x.sum()
    if n == 0 or total == 0:
        return float("nan")
    i = np.arange(1, n + 1)
    return float(2 * (i * x).sum() / (n * total) - (n + 1) / n)


def top_share(values: np.ndarray, fraction: float) -> float:
    """Share of the total held by the ceil(fraction × n) largest values."""
    x = np.sort(np.asarray(values, dtype="float64"))[::-1]
    total = x.sum()
    if len(x) == 0 or total == 0:
        return float("nan")
    k = max(1, int(np.ceil(fraction * len(x) - 1e-9)))
    return float(x[:k].sum() / total)


def curve(values: np.ndarray) -> pd.DataFrame:
    """Cumulative share of incidents against share of places, places sorted from the busiest (starts at 0, 0)."""
    x = np.sort(np.asarray(values, dtype="float64"))[::-1]
    total = x.sum()
    n = len(x)
    cum = np.concatenate([[0.0], np.cumsum(x) / total if total else np.zeros(n)])
    return pd.DataFrame({"place_share": np.arange(n + 1) / max(n, 1), "incident_share": cum})


def _cell_counts_by_year(an: "Analytics", filters: Filters, unit: str) -> tuple[dict[int, np.ndarray], dict[str, int]]:
    key = "grid_cell" if unit == "grid" else "place_name"
    c = counts(an, filters, ("year", key))
    unlocated = int(c.loc[c[key].isna(), "count"].sum())
    c = c[c[key].notna()]
    per_year: dict[int, np.ndarray] = {}
    outside = 0
    if unit == "grid":
        grid = an.grid()
        # The study area is the filtered territory: under an arrondissement filter, the empty cells of the rest
        # of the city are not "places without incidents" (they would push the Gini towards 1).
        if filters.arrondissements:
            grid = grid[grid["arrondissement"].isin(filters.arrondissements)]
        cells = grid["cell_id"].tolist()
        for y, part in c.groupby("year"):
            s = part.set_index(key)["count"]
            outside += int(s[~s.index.isin(cells)].sum())
            per_year[int(y)] = s.reindex(cells, fill_value=0).to_numpy()
    else:
        for y, part in c.groupby("year"):
            per_year[int(y)] = part["count"].to_numpy()
    return per_year, {"unlocated": unlocated, "outside_grid": outside}


def concentration(an: "Analytics", filters: Filters, unit: str = "grid", tops: tuple[float, ...] = TOPS) -> pd.DataFrame:
    """Per year: ``year``, ``incidents``, ``places`` (cells of the city grid, or distinct place names),
    ``places_with_incidents``, ``gini``, and ``top_1pct``, ``top_5pct``… (share of incidents in the top x %).

    ``unit="place"`` uses the ``place_name`` column (street-level places where partners give them; only places
    with at least one incident exist there, so shares are among named places).
    """
    if unit not in ("grid", "place"):
        raise ValueError(f"unité inconnue {unit!r} ; possibles : grid, place")
    per_year, info = _cell_counts_by_year(an, filters, unit)
    rows = []
    for y, v in sorted(per_year.items()):
        row = {"year": y, "incidents": int(v.sum()), "places": len(v), "places_with_incidents": int((v > 0).sum()), "gini": gini(v)}
        for t in tops:
            row[f"top_{round(t * 100):d}pct"] = top_share(v, t)
        rows.append(row)
    out = pd.DataFrame(rows, columns=["year", "incidents", "places", "places_with_incidents", "gini"] + [f"top_{round(t * 100):d}pct" for t in tops])
    out.attrs.update(info)
    return out


def concentration_curve(an: "Analytics", filters: Filters, unit: str = "grid") -> pd.DataFrame:
    """Per year, the cumulative curve: ``year``, ``place_share``, ``incident_share``."""
    per_year, info = _cell_counts_by_year(an, filters, unit)
    parts = [curve(v).assign(year=y) for y, v in sorted(per_year.items())]
    out = pd.concat(parts, ignore_index=True)[["year", "place_share", "incident_share"]] if parts else pd.DataFrame(columns=["year", "place_share", "incident_share"])
    out.attrs.update(info)
    return out
