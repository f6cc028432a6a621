"""Seasonality: monthly profile over years, same-month comparisons, hour × weekday matrix."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import pandas as pd

from observatory.analytics.compare import compare_counts
from observatory.analytics.filters import Filters
from observatory.analytics.indicators import counts

if TYPE_CHECKING:
    from observatory.analytics.engine import Analytics

HOUR_NOTE = "Seuls les faits datés à l'heure près sont comptés ; les faits connus au jour ou au mois près sont exclus."


def monthly_profile(an: "Analytics", filters: Filters) -> pd.DataFrame:
    """One row per (year, month of year) of the years present, zeros filled.

    Columns: ``year``, ``month_of_year`` (1–12), ``count``, ``seasonal_index`` (count / the year's mean monthly
    count; 1 = an average month; NaN for a year without incidents).
    """
    c = counts(an, filters, ("year", "month_of_year"))
    years = sorted(c["year"].unique().tolist())
    idx = pd.MultiIndex.from_product([years, range(1, 13)], names=["year", "month_of_year"])
    out = c.set_index(["year", "month_of_year"])["count"].reindex(idx, fill_value=0).reset_index()
    out["count"] = out["count"].astype("int64")
    mean = out.groupby("year")["count"].transform("mean")
    out["seasonal_index"] = out["count"] / mean.where(mean > 0)
    return out


def same_month(an: "Analytics", filters: Filters, month: int | None = None, reference: date | None = None) -> pd.DataFrame:
    """The same calendar month across years, each compared with the year before (Poisson test).

    ``month`` defaults to the month of ``reference`` (default: the last day in the data). Columns: ``year``,
    ``month_of_year``, ``current``, ``previous``, ``diff``, ``pct_change``, ``p_value``, ``z``, ``significant``,
    ``unreliable`` (the first year has no previous and is left out).
    """
    if month is None:
        reference = reference or an.date_range(filters)[1]
        if reference is None:
            return pd.DataFrame(columns=["year", "month_of_year", "current", "previous", "diff", "pct_change", "p_value", "z", "significant", "unreliable"])
        month = reference.month
    c = counts(an, filters, ("year", "month_of_year"))
    c = c[c["month_of_year"] == month]
    lo, hi = an.date_range(filters)
    if lo is None:
        return pd.DataFrame(columns=["year", "month_of_year", "current", "previous", "diff", "pct_change", "p_value", "z", "significant", "unreliable"])
    years = list(range(lo.year, hi.year + 1))
    series = c.set_index("year")["count"].reindex(years, fill_value=0)
    cur = series.iloc[1:]
    prev = pd.Series(series.iloc[:-1].to_numpy(), index=cur.index)
    stats = compare_counts(cur, prev)
    stats.insert(0, "month_of_year", month)
    return stats.rename_axis("year").reset_index()


def hour_weekday(an: "Analytics", filters: Filters) -> pd.DataFrame:
    """168 rows (weekday 0 = lundi … 6, hour 0–23), zeros filled, hours in Europe/Paris.

    Columns: ``weekday``, ``hour``, ``count``. Only incidents known to the hour (see ``attrs['note']`` and
    ``attrs['excluded_imprecise']``).
    """
    c = counts(an, filters, ("weekday", "hour"))
    idx = pd.MultiIndex.from_product([range(7), range(24)], names=["weekday", "hour"])
    out = c.set_index(["weekday", "hour"])["count"].reindex(idx, fill_value=0).reset_index()
    out["count"] = out["count"].astype("int64")
    out.attrs["excluded_imprecise"] = int(c.attrs.get("excluded_imprecise", 0))
    out.attrs["note"] = HOUR_NOTE
    return out
