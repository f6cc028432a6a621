"""Seasonality: monthly profile over years, same-month comparisons, hour × weekday matrix."""

from __future__ import annotations

import calendar
from datetime import date
from typing import TYPE_CHECKING

import pandas as pd

from observatory.analytics.compare import compare_counts
from observatory.analytics.filters import Filters
from observatory.analytics.indicators import counts

if TYPE_CHECKING:
    from observatory.analytics.engine import Analytics

HOUR_NOTE = "Seuls les faits datés à l'heure près sont comptés ; les faits connus au jour ou au mois près sont exclus."


def _observed_days(year: int, month: int, lo: date | None, hi: date | None) -> int:
    """Days of ``month`` of ``year`` inside [lo, hi] (the span of the data): a month not yet observed has 0."""
    first, last = date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
    a, b = max(first, lo) if lo else first, min(last, hi) if hi else last
    return max((b - a).days + 1, 0)


def monthly_profile(an: "Analytics", filters: Filters) -> pd.DataFrame:
    """One row per (year, month of year) of the years present, zeros filled.

    Columns: ``year``, ``month_of_year`` (1–12), ``count``, ``days`` (days of the month inside the span of the
    data), ``seasonal_index`` (facts per observed day of the month / facts per observed day of the year;
    1 = an average month; NaN for a month not observed, or a year without incidents).
    """
    c = counts(an, filters, ("year", "month_of_year"))
    years = sorted(c["year"].unique().tolist())
    idx = pd.MultiIndex.from_product([years, range(1, 13)], names=["year", "month_of_year"])
    out = c.set_index(["year", "month_of_year"])["count"].reindex(idx, fill_value=0).reset_index()
    out["count"] = out["count"].astype("int64")
    lo, hi = an.date_range(filters)
    if filters.start and lo:
        lo = max(lo, filters.start)
    out["days"] = [_observed_days(int(y), int(m), lo, hi) for y, m in zip(out["year"], out["month_of_year"])]
    per_day = out["count"] / out["days"].where(out["days"] > 0)
    year_rate = out.groupby("year")["count"].transform("sum") / out.groupby("year")["days"].transform("sum").where(lambda d: d > 0)
    out["seasonal_index"] = per_day / year_rate.where(year_rate > 0)
    out.attrs["note"] = "Indice saisonnier par jour observé : les mois pas encore (ou plus) couverts par les données n'ont pas d'indice."
    return out


def same_month(an: "Analytics", filters: Filters, month: int | None = None, reference: date | None = None) -> pd.DataFrame:
    """The same calendar month across years, each compared with the year before, per observed day.

    ``month`` defaults to the month of ``reference`` (default: the last day in the data). Columns: ``year``,
    ``month_of_year``, ``current``, ``previous``, ``days_current``, ``days_previous``, ``diff``, ``pct_change``,
    ``p_value``, ``z``, ``significant``, ``unreliable`` (the first year has no previous and is left out; a month
    observed for 15 days is compared per day with the whole month before it).
    """
    empty = pd.DataFrame(columns=["year", "month_of_year", "current", "previous", "days_current", "days_previous", "diff",
                                  "pct_change", "p_value", "z", "significant", "unreliable"])
    if month is None:
        reference = reference or an.date_range(filters)[1]
        if reference is None:
            return empty
        month = reference.month
    c = counts(an, filters, ("year", "month_of_year"))
    c = c[c["month_of_year"] == month]
    lo, hi = an.date_range(filters)
    if lo is None:
        return empty
    years = [y for y in range(lo.year, hi.year + 1) if _observed_days(y, month, lo, hi) > 0]
    if len(years) < 2:
        return empty
    series = c.set_index("year")["count"].reindex(years, fill_value=0)
    days = pd.Series([_observed_days(y, month, lo, hi) for y in years], index=years)
    cur = series.iloc[1:]
    prev = pd.Series(series.iloc[:-1].to_numpy(), index=cur.index)
    d_cur = days.iloc[1:]
    d_prev = pd.Series(days.iloc[:-1].to_numpy(), index=cur.index)
    stats = compare_counts(cur, prev, (d_cur / d_prev).to_numpy())
    stats.insert(0, "month_of_year", month)
    stats.insert(3, "days_current", d_cur.to_numpy())
    stats.insert(4, "days_previous", d_prev.to_numpy())
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
