"""How long a count was observed, so that rates and densities are per year whatever the period.

A rate over half a year is half a yearly rate; a density over the seven years of a snapshot is seven times one.
Rates (per 1,000 inhabitants) and densities (per km²) are therefore divided by the exposure in years:
each calendar year counts the share of its days inside the period, so a whole calendar year is exactly 1 (a
yearly rate is count / population, checkable by hand, 2024's 366 days included) and 1 January–15 July 2025 is
196/365. The period is the filter's, cut to the days the snapshot has data for (a snapshot ending on 15 July
has no exposure after it).
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from observatory import labels
from observatory.analytics.filters import Filters

if TYPE_CHECKING:
    from observatory.analytics.engine import Analytics


def exposure_years(start: date, end: date) -> float:
    """Years of exposure of the inclusive days ``start``…``end``: per calendar year, its days inside divided by
    its length (365 or 366). 0 when end < start."""
    if end < start:
        return 0.0
    total = 0.0
    for y in range(start.year, end.year + 1):
        first, last = max(start, date(y, 1, 1)), min(end, date(y, 12, 31))
        total += ((last - first).days + 1) / ((date(y, 12, 31) - date(y, 1, 1)).days + 1)
    return total


def observed_period(an: "Analytics", filters: Filters) -> tuple[date | None, date | None]:
    """The filter's period cut to the snapshot's first and last day of data (whole snapshot, every partner:
    a category that happened to be quiet at the end of the period still had the days observed)."""
    first, last = an.date_range(Filters())
    if first is None or last is None:
        return None, None
    return max(filters.start or first, first), min(filters.end or last, last)


def rate_period_note(start: date | None, end: date | None, years: float) -> str:
    """How a rate was made yearly, in French: « année 2025 », « taux annualisé : faits du 01/01/2025 au
    15/07/2025 (196 jours) ramenés à un an », « moyenne annuelle du 01/01/2019 au 31/12/2025 (7,0 ans) »."""
    if start is None or end is None or years <= 0:
        return "aucune période observée"
    if start == date(start.year, 1, 1) and end == date(start.year, 12, 31):
        return f"année {start.year}"
    days = (end - start).days + 1
    if years < 1 - 1e-9:
        return f"taux annualisé : faits du {labels.fmt_date(start)} au {labels.fmt_date(end)} ({labels.fmt_int(days)} jours) ramenés à un an"
    return f"moyenne annuelle du {labels.fmt_date(start)} au {labels.fmt_date(end)} ({labels.fmt_number(years, 1)} ans)"


def year_exposure(first: date | None, last: date | None, year: int) -> tuple[date, date, float]:
    """The days of ``year`` inside the data's span [first, last] and their exposure in years (1 for a whole
    year; a bilan of a year still running annualises its rates with it). Without a known span: the whole year."""
    start = max(date(year, 1, 1), first) if first is not None else date(year, 1, 1)
    end = min(date(year, 12, 31), last) if last is not None else date(year, 12, 31)
    return start, end, exposure_years(start, end)
