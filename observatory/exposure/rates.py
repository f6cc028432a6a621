"""Exposure rates and their comparison: pure functions, numbers in, numbers out.

- :func:`rate_interval`: a count over an exposure, with the exact Poisson (Garwood) interval, i.e. the Gamma
  quantiles ``Γ(α/2; k, 1)`` and ``Γ(1−α/2; k+1, 1)`` divided by the exposure.
- :func:`compare_rates`: two units, or two periods of one unit, each a count over its exposure. Given the total
  ``n = c1 + c2``, ``c1`` is binomial with ``p = e1 / (e1 + e2)`` when the rates are equal (exposure as the
  offset): exact two-sided p-value (``scipy.stats.binomtest``) and the Clopper–Pearson interval of ``p``
  turned into an interval for the rate ratio ``(p / (1 − p)) · (e2 / e1)``; when monthly counts are overdispersed
  (:func:`pearson_dispersion` φ > 1), a quasi-Poisson Wald test on the log ratio instead.
- :func:`window_exposure`: the exposure of one unit over a window, from the stored series (flows summed, stocks
  integrated over time), or the reason it is not known (a month missing: no rate rather than a wrong one).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
from scipy import stats

from observatory.exposure.format import ALL_DAY, DAYS_PER_YEAR, FLOW, band_length


@dataclass(frozen=True)
class Rate:
    count: int
    exposure: float
    per: float
    rate: float  # per ``per`` units of exposure; NaN without exposure
    low: float
    high: float


@dataclass(frozen=True)
class RateComparison:
    count1: int
    exposure1: float
    count2: int
    exposure2: float
    ratio: float  # (c1/e1) / (c2/e2); NaN when undefined
    low: float
    high: float
    p_value: float

    @property
    def change(self) -> float:
        """Relative change of the first rate against the second (−0.35 = 35 % lower)."""
        return self.ratio - 1.0


def rate_interval(count: int, exposure: float, per: float = 1.0, level: float = 0.95) -> Rate:
    """Rate per ``per`` units of exposure with its exact Poisson interval (lower bound 0 when the count is 0)."""
    k = int(count)
    if k < 0:
        raise ValueError("count must be non-negative")
    if not exposure or exposure <= 0 or not math.isfinite(exposure):
        return Rate(k, float(exposure or 0.0), per, math.nan, math.nan, math.nan)
    alpha = 1.0 - level
    low = stats.gamma.ppf(alpha / 2, k) if k > 0 else 0.0
    high = stats.gamma.ppf(1 - alpha / 2, k + 1)
    scale = per / exposure
    return Rate(k, float(exposure), per, k * scale, float(low) * scale, float(high) * scale)


def compare_rates(count1: int, exposure1: float, count2: int, exposure2: float, level: float = 0.95,
                  dispersion: float = 1.0, dispersion_df: int | None = None) -> RateComparison:
    """Exact conditional comparison of two Poisson rates with their exposures as the offset.

    With ``dispersion`` φ > 1 (counts more variable than Poisson, see :func:`pearson_dispersion`), the quasi-Poisson
    test instead: Wald on the log rate ratio with variance φ·(1/k₁ + 1/k₂) — the exact test would be too eager —
    referred to Student's t with ``dispersion_df`` degrees of freedom when φ was estimated (normal otherwise).
    """
    c1, c2 = int(count1), int(count2)
    e1, e2 = float(exposure1), float(exposure2)
    nan = math.nan
    if e1 <= 0 or e2 <= 0 or not (math.isfinite(e1) and math.isfinite(e2)):
        return RateComparison(c1, e1, c2, e2, nan, nan, nan, nan)
    n = c1 + c2
    if n == 0:
        return RateComparison(c1, e1, c2, e2, nan, nan, nan, 1.0)
    if dispersion > 1.0 and c1 > 0 and c2 > 0:
        log_ratio = math.log((c1 / e1) / (c2 / e2))
        se = math.sqrt(dispersion * (1.0 / c1 + 1.0 / c2))
        ref = stats.t(dispersion_df) if dispersion_df else stats.norm
        z = ref.ppf(1 - (1.0 - level) / 2)
        p_value = float(2 * ref.sf(abs(log_ratio) / se))
        return RateComparison(c1, e1, c2, e2, math.exp(log_ratio), math.exp(log_ratio - z * se), math.exp(log_ratio + z * se), p_value)
    p0 = e1 / (e1 + e2)
    p_value = float(stats.binomtest(c1, n, p0).pvalue)
    # Clopper–Pearson bounds of p (what binomtest's proportion_ci(method="exact") gives, at a tenth of its cost).
    alpha = 1.0 - level
    p_low = float(stats.beta.ppf(alpha / 2, c1, n - c1 + 1)) if c1 > 0 else 0.0
    p_high = float(stats.beta.ppf(1 - alpha / 2, c1 + 1, n - c1)) if c1 < n else 1.0
    odds = e2 / e1

    def to_ratio(p: float) -> float:
        return math.inf if p >= 1.0 else p / (1.0 - p) * odds

    ratio = (c1 / e1) / (c2 / e2) if c2 else math.inf
    return RateComparison(c1, e1, c2, e2, ratio, to_ratio(p_low), to_ratio(p_high), p_value)


def pearson_dispersion(counts, expected, parameters: int = 2) -> float:  # noqa: ANN001 - array-likes
    """Quasi-Poisson dispersion φ = Pearson χ² / (m − parameters) over the cells with a positive expectation
    (months of the two periods, each period's rate fitted: 2 parameters); 1 when there are too few cells."""
    c = np.asarray(counts, dtype=float)
    mu = np.asarray(expected, dtype=float)
    keep = mu > 0
    df = int(keep.sum()) - parameters
    if df < 3:
        return 1.0
    return float(((c[keep] - mu[keep]) ** 2 / mu[keep]).sum() / df)


# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Exposure:
    value: float  # flow: units counted; stock: unit-years
    known: bool
    reason: str = ""  # French, why it is not known


def _days(start: date, end: date) -> pd.DatetimeIndex:
    return pd.date_range(pd.Timestamp(start), pd.Timestamp(end), freq="D")


def _daily(rows: pd.DataFrame, days: pd.DatetimeIndex, flow: bool) -> np.ndarray:
    """One detail's values spread over the window's days: a flow's value shared evenly over its period's days,
    a stock's level on each day of its period; NaN on days no period covers."""
    out = np.full(len(days), np.nan)
    first = days[0]
    for start, end, value in rows[["period_start", "period_end", "value"]].itertuples(index=False, name=None):
        a, b = pd.Timestamp(start), pd.Timestamp(end)
        length = (b - a).days + 1
        lo, hi = max((a - first).days, 0), min((b - first).days, len(days) - 1)
        if lo > hi:
            continue
        out[lo:hi + 1] = value / length if flow else value
    return out


def _band_levels(rows: pd.DataFrame, hour_band: str | None) -> tuple[pd.DataFrame, str]:
    """Stock rows reduced to one level per period: the chosen band's, or the day's time-weighted mean of the bands
    (people present over 24 hours). A period whose bands do not cover the day has no all-day level."""
    if hour_band:
        chosen = rows[rows["hour_band"] == hour_band]
        return chosen.assign(value=chosen["value"] * band_length(hour_band) / 24), ""
    if (rows["hour_band"] == ALL_DAY).all():
        return rows, ""
    weighted = rows.assign(hours=rows["hour_band"].map(band_length), value=rows["value"] * rows["hour_band"].map(band_length) / 24)
    per_period = weighted.groupby(["period_start", "period_end"], as_index=False).agg(value=("value", "sum"), hours=("hours", "sum"))
    short = per_period[per_period["hours"] < 24]
    if len(short):
        return per_period[per_period["hours"] >= 24], f"tranches horaires incomplètes (moins de 24 heures) pour {len(short)} période(s)"
    return per_period, ""


def _stock_levels(rows: pd.DataFrame, days: pd.DatetimeIndex) -> np.ndarray:
    """Each day's level: the latest period started on or before it (a vintage holds until the next one), the first
    period's before any."""
    ordered = rows.sort_values("period_start")
    starts = pd.to_datetime(ordered["period_start"]).to_numpy()
    index = np.searchsorted(starts, days.to_numpy(), side="right") - 1
    return ordered["value"].to_numpy(dtype=float)[np.clip(index, 0, None)]


def window_exposure(rows: pd.DataFrame, start: date, end: date, measure: str, absent: str = "missing",
                    covered_years: set[int] | None = None, hour_band: str | None = None) -> Exposure:
    """Exposure of one unit (all its details: stations of a zone, pools of an arrondissement) over ``start``–``end``.

    Flows must cover every day of the window (with ``absent = "zero"``, a day of a year in ``covered_years`` that
    no row covers counts as closed: zero). A stock's level holds until the next one and, before its first
    vintage, the first one applies (as the legal populations do); an empty stock has no exposure.
    """
    if end < start:
        return Exposure(0.0, False, "période vide")
    if rows.empty:
        return Exposure(0.0, False, "aucune donnée d'exposition pour cette unité")
    days = _days(start, end)
    flow = measure == FLOW
    total = np.zeros(len(days))
    for detail, group in rows.groupby("detail", sort=True):
        if not flow:
            group, problem = _band_levels(group, hour_band)
            if problem or group.empty:
                return Exposure(0.0, False, problem or f"pas de valeur pour la tranche {hour_band}")
        if flow:
            daily = _daily(group, days, flow)
            gaps = np.isnan(daily)
            if gaps.any() and absent == "zero" and covered_years:
                daily[gaps & np.isin(days.year, sorted(covered_years))] = 0.0
                gaps = np.isnan(daily)
            if gaps.any():
                missing = days[gaps]
                return Exposure(0.0, False, f"exposition manquante pour « {detail} » du {missing[0]:%d/%m/%Y} au {missing[-1]:%d/%m/%Y}")
        else:
            daily = _stock_levels(group, days)
        total += daily
    value = float(total.sum()) if flow else float(total.sum() / DAYS_PER_YEAR)
    return Exposure(value, True)


def shifted_year(day: date, years: int = -1) -> date:
    """The same day ``years`` years away (29 February → 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return (day - timedelta(days=1)).replace(year=day.year + years)
