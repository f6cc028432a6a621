"""Period comparisons with a significance test for two Poisson counts.

Test: conditional on the total n = a + b, the current count a is Binomial(n, p) under "same rate", with
p = r / (1 + r) and r the exposure ratio current/previous (1 for periods of equal length). The two-sided exact
binomial p-value (``scipy.stats.binomtest``) is the ``p_value``. ``z = 2(√a − √b)`` is the simpler
variance-stabilised statistic (≈ N(0, 1) under equal rates and exposures), given for reference.

A change is ``significant`` when p < 0.05. ``unreliable`` flags percent changes on small counts: previous < 20
or current < 10 (below that, one or two incidents move the percentage by tens of points).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from observatory.analytics.filters import Filters

if TYPE_CHECKING:
    from observatory.analytics.engine import Analytics

ALPHA = 0.05
UNRELIABLE_PREVIOUS = 20
UNRELIABLE_ANY = 10
PERIOD_KINDS = ("year", "ytd", "28d")


def poisson_test(current: int, previous: int, exposure_ratio: float = 1.0) -> float:
    """Two-sided exact conditional p-value that two Poisson counts share one rate (exposure ratio current/previous)."""
    a, b = int(current), int(previous)
    n = a + b
    if n == 0:
        return 1.0
    return float(stats.binomtest(a, n, exposure_ratio / (1.0 + exposure_ratio)).pvalue)


def sqrt_z(current: float, previous: float) -> float:
    return 2.0 * (np.sqrt(current) - np.sqrt(previous))


def _same_day_last_year(d: date) -> date:
    try:
        return d.replace(year=d.year - 1)
    except ValueError:  # 29 February
        return d.replace(year=d.year - 1, day=28)


def periods(kind: str, reference: date) -> tuple[tuple[date, date], tuple[date, date]]:
    """((current start, end), (previous start, end)), inclusive days.

    ``year``: the calendar year of ``reference`` vs the year before (whole years; pass 31/12 for a closed year);
    ``ytd``: 1 January → reference vs the same days a year earlier; ``28d``: the 28 days ending on reference vs
    the 28 before.
    """
    if kind == "year":
        y = reference.year
        return (date(y, 1, 1), date(y, 12, 31)), (date(y - 1, 1, 1), date(y - 1, 12, 31))
    if kind == "ytd":
        prev_end = _same_day_last_year(reference)
        return (date(reference.year, 1, 1), reference), (date(reference.year - 1, 1, 1), prev_end)
    if kind == "28d":
        start = reference - timedelta(days=27)
        return (start, reference), (start - timedelta(days=28), start - timedelta(days=1))
    raise ValueError(f"type de comparaison inconnu {kind!r} ; possibles : {', '.join(PERIOD_KINDS)}")


def compare_counts(current: pd.Series, previous: pd.Series, exposure_ratio: float = 1.0) -> pd.DataFrame:
    """The statistics columns for aligned current/previous counts (pure function, used by zones too)."""
    cur = current.astype("int64")
    prev = previous.astype("int64")
    diff = cur - prev
    pct = (diff / prev.where(prev > 0)).astype("float64")
    p = [poisson_test(a, b, exposure_ratio) for a, b in zip(cur, prev)]
    return pd.DataFrame(
        {
            "current": cur,
            "previous": prev,
            "diff": diff,
            "pct_change": pct,
            "p_value": p,
            "z": sqrt_z(cur.to_numpy("float64"), prev.to_numpy("float64") * exposure_ratio),
            "significant": np.asarray(p) < ALPHA,
            "unreliable": (prev < UNRELIABLE_PREVIOUS) | (cur < UNRELIABLE_ANY),
        },
        index=current.index,
    )


def _period_counts(an: "Analytics", filters: Filters, start: date, end: date, by: tuple[str, ...]) -> pd.DataFrame:
    from observatory.analytics.indicators import counts

    # The comparison periods replace the filter's own period; every other restriction is kept.
    return counts(an, filters.replace(start=start, end=end), by)


def compare_periods(an: "Analytics", filters: Filters, kind: str = "year", reference: date | None = None,
                    by: tuple[str, ...] = (), exposure_ratio: float = 1.0) -> pd.DataFrame:
    """Current vs previous period, overall or per group.

    Columns: the ``by`` keys (if any), ``group`` (the keys joined by " × ", or "total"), ``current``,
    ``previous``, ``diff``, ``pct_change`` (NaN when previous is 0), ``p_value``, ``z``, ``significant``,
    ``unreliable``, ``current_start``, ``current_end``, ``previous_start``, ``previous_end``.
    Groups present in either period appear (zeros filled). ``reference`` defaults to the last day in the data
    under ``filters`` (not today).
    """
    if reference is None:
        reference = an.date_range(filters.replace(start=None, end=None))[1] or filters.end or date.today()
    (cs, ce), (ps, pe) = periods(kind, reference)
    cur = _period_counts(an, filters, cs, ce, by)
    prev = _period_counts(an, filters, ps, pe, by)
    if by:
        keys = list(by)
        merged = cur[keys + ["count"]].merge(prev[keys + ["count"]], on=keys, how="outer", suffixes=("_cur", "_prev"))
        merged = merged.sort_values(keys, na_position="last").reset_index(drop=True)
        group = merged[keys].astype("string").fillna("inconnu").agg(" × ".join, axis=1)
    else:
        keys = []
        merged = pd.DataFrame({"count_cur": [cur["count"].sum()], "count_prev": [prev["count"].sum()]})
        group = pd.Series(["total"])
    stats_df = compare_counts(merged["count_cur"].fillna(0), merged["count_prev"].fillna(0), exposure_ratio)
    out = pd.concat([merged[keys].reset_index(drop=True), pd.DataFrame({"group": group.to_numpy()}), stats_df.reset_index(drop=True)], axis=1)
    out["current_start"], out["current_end"] = cs, ce
    out["previous_start"], out["previous_end"] = ps, pe
    out.attrs["reference"] = reference
    out.attrs["note"] = (
        "Test exact conditionnel de deux comptages de Poisson (binomial) ; « significatif » si p < 0,05. "
        f"Variation en % peu fiable si la période précédente compte moins de {UNRELIABLE_PREVIOUS} faits "
        f"ou la période courante moins de {UNRELIABLE_ANY}."
    )
    return out


def contributions(an: "Analytics", filters: Filters, kind: str = "year", reference: date | None = None,
                  by: str = "category") -> pd.DataFrame:
    """Each group's share of the total change: columns ``by``, ``current``, ``previous``, ``diff``,
    ``share_of_change`` (diff / total diff; NaN when the total did not change), sorted by |diff| descending."""
    cmp = compare_periods(an, filters, kind, reference, (by,))
    total = cmp["diff"].sum()
    out = cmp[[by, "current", "previous", "diff"]].copy()
    out["share_of_change"] = out["diff"] / total if total != 0 else np.nan
    out = out.reindex(out["diff"].abs().sort_values(ascending=False, kind="stable").index).reset_index(drop=True)
    out.attrs["total_diff"] = int(total)
    out.attrs["reference"] = cmp.attrs.get("reference")
    return out
