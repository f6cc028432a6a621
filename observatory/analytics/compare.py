"""Period comparisons with a significance test for two Poisson counts.

Test: conditional on the total n = a + b, the current count a is Binomial(n, p) under "same rate", with
p = r / (1 + r) and r the exposure ratio current/previous (1 for periods of equal length). The two-sided exact
binomial p-value (``scipy.stats.binomtest``) is the ``p_value``. ``z`` is the standardised difference of that
test, (a − n·p)/√(n·p·(1 − p)) (:func:`binomial_z`, variance 1), given for reference; the decision uses the exact
test (or, in ``compare_periods``, the quasi-Poisson test of :mod:`observatory.analytics.inference`).

Several groups compared at once (``by`` categories, arrondissements…) are tested together: ``p_adjusted`` is
the Benjamini–Hochberg correction across the groups (:func:`benjamini_hochberg`), and a change is
``significant`` when p_adjusted < 0.05 (a single comparison keeps its p-value). ``unreliable`` flags percent changes on small counts: previous < 20
or current < 10 (below that, one or two incidents move the percentage by tens of points).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import gammaln

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


def poisson_tests(current: np.ndarray, previous: np.ndarray, exposure_ratio: float = 1.0) -> np.ndarray:
    """:func:`poisson_test` for many pairs at once, vectorised.

    The algorithm of ``scipy.stats.binomtest`` (two-sided: the probabilities of every outcome no more likely
    than the observed one, relative tolerance 1e-7): the observed tail is a CDF, the far tail starts where a
    bisection on the log-pmf crosses the observed probability. One scipy call costs ≈ 0.5 ms; a 9 × 26 table
    of pairs done here costs about as much as a single call.
    """
    a = np.asarray(current, dtype="int64")
    b = np.asarray(previous, dtype="int64")
    # One exposure ratio for all pairs, or one per pair (periods of different lengths per row).
    p = np.broadcast_to(np.asarray(exposure_ratio, dtype="float64"), a.shape)
    p = p / (1.0 + p)
    n = a + b
    out = np.ones(len(a))
    np_ = n * p
    lp, lq = np.log(p), np.log1p(-p)

    def logpmf(k: np.ndarray, nn: np.ndarray, sel: np.ndarray) -> np.ndarray:
        return gammaln(nn + 1) - gammaln(k + 1) - gammaln(nn - k + 1) + k * lp[sel] + (nn - k) * lq[sel]

    logt = logpmf(a, n, slice(None)) + np.log1p(1e-7)
    # Observed count below expectation: the far tail is on the right, where the pmf decreases.
    lo_side = (n > 0) & (a < np_)
    if lo_side.any():
        nn, kk, tt, pp = n[lo_side], a[lo_side], logt[lo_side], p[lo_side]
        lo, hi = np.ceil(np_[lo_side]).astype("int64"), nn + 1  # smallest ix in [lo, n] with pmf <= t (n+1: none)
        while (lo < hi).any():
            mid = (lo + hi) // 2
            ok = logpmf(np.minimum(mid, nn), nn, lo_side) <= tt
            active = lo < hi
            hi = np.where(active & ok, mid, hi)
            lo = np.where(active & ~ok, mid + 1, lo)
        out[lo_side] = stats.binom.cdf(kk, nn, pp) + stats.binom.sf(lo - 1, nn, pp)
    # Above expectation: the far tail is on the left, where the pmf increases.
    hi_side = (n > 0) & (a > np_)
    if hi_side.any():
        nn, kk, tt, pp = n[hi_side], a[hi_side], logt[hi_side], p[hi_side]
        lo, hi = np.full(len(nn), -1, dtype="int64"), np.floor(np_[hi_side]).astype("int64")  # largest ix with pmf <= t
        while (lo < hi).any():
            mid = (lo + hi + 1) // 2
            ok = logpmf(np.maximum(mid, 0), nn, hi_side) <= tt
            active = lo < hi
            lo = np.where(active & ok, mid, lo)
            hi = np.where(active & ~ok, mid - 1, hi)
        out[hi_side] = stats.binom.cdf(lo, nn, pp) + stats.binom.sf(kk - 1, nn, pp)
    return np.minimum(out, 1.0)


def binomial_z(current, previous, exposure_ratio=1.0, phi=1.0) -> np.ndarray:
    """The standardised difference of the conditional test: (a − n·p) / √(φ·n·p·(1 − p)), p = r / (1 + r).

    Variance 1 under "same rate" (φ = 1: Poisson), so |z| > 1.96 matches the 5 % level of the p-value beside it
    (the exported z used to be 2(√a − √b), whose variance is 2). NaN when both counts are 0.
    """
    a = np.asarray(current, dtype="float64")
    n = a + np.asarray(previous, dtype="float64")
    r = np.asarray(exposure_ratio, dtype="float64")
    p = r / (1 + r)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(n > 0, (a - n * p) / np.sqrt(np.asarray(phi, dtype="float64") * n * p * (1 - p)), np.nan)


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
    p = poisson_tests(cur.to_numpy(), prev.to_numpy(), exposure_ratio)
    return pd.DataFrame(
        {
            "current": cur,
            "previous": prev,
            "diff": diff,
            "pct_change": pct,
            "p_value": p,
            "z": binomial_z(cur.to_numpy(), prev.to_numpy(), exposure_ratio),
            "significant": np.asarray(p) < ALPHA,
            "unreliable": (prev < UNRELIABLE_PREVIOUS) | (cur < UNRELIABLE_ANY),
        },
        index=current.index,
    )


def benjamini_hochberg(p_values: pd.Series, tested: pd.Series | None = None) -> pd.Series:
    """Benjamini–Hochberg adjusted p-values over the rows of one comparison (pure).

    Why: a table compares twenty-odd categories at once; at 5 % about one unchanged category in twenty would be
    called "significant" by chance. BH keeps the expected share of false alarms among the changes called
    significant at 5 %, at a modest cost in power (Bonferroni would hide most real changes of a 25-row table).
    ``tested``: rows that count as tests (a group with no fact in either period is not one); the others keep
    their p-value.
    """
    p = pd.to_numeric(p_values, errors="coerce").astype("float64")
    mask = p.notna() if tested is None else (p.notna() & tested.astype(bool))
    out = p.copy()
    if mask.any():
        out[mask] = stats.false_discovery_control(p[mask].to_numpy(), method="bh")
    return out


def _two_period_counts(an: "Analytics", filters: Filters, current: tuple[date, date], previous: tuple[date, date],
                       by: tuple[str, ...]) -> pd.DataFrame:
    """``count_cur`` and ``count_prev`` per group in one scan; groups absent from both periods do not appear.

    The comparison periods replace the filter's own period; every other restriction is kept.
    """
    from observatory.analytics.sql import group_sql, precision_clause
    from observatory.analytics.filters import PARIS

    def bounds(d0: date, d1: date) -> list:
        return [datetime.combine(d0, time(0), tzinfo=PARIS), datetime.combine(d1 + timedelta(days=1), time(0), tzinfo=PARIS)]

    where, params = filters.replace(start=min(current[0], previous[0]), end=max(current[1], previous[1])).to_sql()
    groups = group_sql(by)
    select = "".join(f"{expr} AS {name}, " for name, expr in groups)
    source = "(SELECT *, unnest(zones) AS zone FROM incidents)" if "zone" in by else "incidents"
    sql = (f"SELECT {select}count(*) FILTER (WHERE occurred_at >= ? AND occurred_at < ?) AS count_cur, "
           f"count(*) FILTER (WHERE occurred_at >= ? AND occurred_at < ?) AS count_prev "
           f"FROM {source} WHERE {where} AND {precision_clause(by)}")
    if groups:
        order = ", ".join(str(i + 1) for i in range(len(groups)))
        sql += f" GROUP BY {order} HAVING count_cur + count_prev > 0 ORDER BY {order}"
    df = an.query(sql, bounds(*current) + bounds(*previous) + params)
    return df


def aligned_periods(kind: str, reference: date, data_end: date | None) -> tuple[tuple[date, date], tuple[date, date]]:
    """:func:`periods`, with the current period cut at the last day of data and the previous one cut alike.

    A snapshot ending on 15 July compares 1 January–15 July with the same days a year earlier, not half a year
    with a whole one.
    """
    (cs, ce), (ps, pe) = periods(kind, reference)
    if data_end is not None and cs <= data_end < ce:
        ce = data_end
        pe = _same_day_last_year(data_end) if kind != "28d" else cs - timedelta(days=1)
    return (cs, ce), (ps, pe)


def _months(d0: date, d1: date) -> list[tuple[int, int]]:
    out, y, m = [], d0.year, d0.month
    while (y, m) <= (d1.year, d1.month):
        out.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _missing_coverage(an: "Analytics", filters: Filters, months: list[tuple[int, int]]) -> dict[str, list[tuple[int, int]]]:
    """Per partner with data under ``filters`` (whole snapshot), the months of ``months`` it has no data for."""
    from observatory.analytics import quality

    cov = quality.coverage(an, filters.replace(start=None, end=None))
    out: dict[str, list[tuple[int, int]]] = {}
    if cov.empty:
        return out
    stamp = pd.to_datetime(cov["month"])
    ok = set(zip(cov["source"], stamp.dt.year, stamp.dt.month, cov["status"] != "gap"))
    for src in sorted(cov["source"].unique()):
        gone = [(y, m) for (y, m) in months if (src, y, m, True) not in ok]
        if gone:
            out[src] = gone
    return out


def compare_periods(an: "Analytics", filters: Filters, kind: str = "year", reference: date | None = None,
                    by: tuple[str, ...] = (), exposure_ratio: float | None = None, start: date | None = None) -> pd.DataFrame:
    """Current vs previous period, overall or per group, per day over aligned periods.

    Columns: the ``by`` keys (if any), ``group`` (the keys joined by " × ", or "total"), ``current``,
    ``previous``, ``diff``, ``pct_change`` (NaN when previous is 0), ``p_value``, ``p_adjusted`` (BH across the
    groups), ``z`` (the test's standardised difference), ``significant`` (p_adjusted < 0.05), ``unreliable``,
    ``comparable``, ``reason``, ``test``, ``phi``, ``exposure_ratio``, ``current_start``, ``current_end``,
    ``previous_start``, ``previous_end``.
    ``reference`` defaults to the last day in the data under ``filters`` (not today); both periods are cut at the
    last day of data (:func:`aligned_periods`). ``exposure_ratio`` defaults to days current / days previous.
    ``start`` (a « Du » inside the current year or year-to-date): the current period begins that day and the
    previous one the same calendar day a year earlier; the tests, coverage and exposure are the same as without.
    A partner without data for a month of either period makes every group « pas de comparaison possible ».
    The test is :func:`observatory.analytics.inference.rate_tests` with each group's dispersion estimated on its
    last five years of monthly counts.
    """
    from observatory.analytics import inference
    from observatory.analytics.indicators import counts as history_counts
    from observatory.analytics.verdicts import refusal_text

    data_end = an.date_range(filters.replace(start=None, end=None))[1]
    if reference is None:
        reference = data_end or filters.end or date.today()
    (cs, ce), (ps, pe) = aligned_periods(kind, reference, data_end)
    if start is not None and kind != "28d" and cs < start <= ce:
        # The home page's « Du »: a later start, the same calendar days a year earlier. Everything below (the
        # coverage of both periods, per-day exposure, quasi-Poisson) applies as for a whole period.
        cs, ps = start, _same_day_last_year(start)
    if exposure_ratio is None:
        exposure_ratio = ((ce - cs).days + 1) / ((pe - ps).days + 1)
    merged = _two_period_counts(an, filters, (cs, ce), (ps, pe), by)
    keys = list(by)
    if keys:
        group = merged[keys[0]].astype("string").fillna("inconnu")
        for k in keys[1:]:
            group = group + " × " + merged[k].astype("string").fillna("inconnu")
    else:
        group = pd.Series(["total"] * len(merged))
    stats_df = compare_counts(merged["count_cur"].fillna(0), merged["count_prev"].fillna(0), exposure_ratio)
    out = pd.concat([merged[keys].reset_index(drop=True), pd.DataFrame({"group": group.to_numpy()}), stats_df.reset_index(drop=True)], axis=1)

    # Coverage: months of both periods, every partner with data under the filters.
    missing = _missing_coverage(an, filters, _months(ps, pe) + _months(cs, ce))
    comparable = not missing
    reason = "" if comparable else refusal_text(missing)
    # Dispersion of each group from its monthly history (five years ending with the current period).
    hist_years = list(range(ce.year - inference.HISTORY_YEARS + 1, ce.year + 1))
    phi = np.full(len(out), np.nan)
    df = np.zeros(len(out), dtype="int64")
    if len(out) and comparable:
        hist = history_counts(an, filters.replace(start=date(hist_years[0], 1, 1), end=ce), tuple(keys) + ("month",))
        if len(hist):
            hist_missing = _missing_coverage(an, filters, [(y, m) for y in hist_years for m in range(1, 13)])
            lost = {c for g in hist_missing.values() for c in g}
            months = pd.to_datetime(hist["month"])
            hist = hist.assign(_y=months.dt.year - hist_years[0], _m=months.dt.month - 1)
            gid = pd.MultiIndex.from_frame(out[keys].astype("string").fillna("inconnu")) if keys else None
            idx = gid.get_indexer(pd.MultiIndex.from_frame(hist[keys].astype("string").fillna("inconnu"))) if keys else np.zeros(len(hist), dtype="int64")
            keep = idx >= 0
            cube = np.zeros((len(out), len(hist_years), 12))
            np.add.at(cube, (idx[keep], hist["_y"].to_numpy()[keep], hist["_m"].to_numpy()[keep]), hist["count"].to_numpy()[keep])
            observed = np.ones_like(cube, dtype=bool)
            for (y, m) in lost:
                if y in hist_years:
                    observed[:, y - hist_years[0], m - 1] = False
            # The current month, if cut by the end of the data, is not a full month of history.
            if ce.month == (ce + timedelta(days=1)).month:
                observed[:, -1, ce.month - 1:] = False
            else:
                observed[:, -1, ce.month:] = False
            phi, df = inference.dispersion(cube, observed)
    p, test = inference.rate_tests(out["current"].to_numpy(), out["previous"].to_numpy(), exposure_ratio, phi, df)
    n = (out["current"] + out["previous"]).to_numpy()
    tested = pd.Series((n > 0) & comparable)
    out["p_value"] = np.where(tested, p, np.nan)
    # z of the test actually used: (a − n·p)/√(φ·n·p(1−p)), φ = 1 for the exact test.
    share = exposure_ratio / (1 + exposure_ratio)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["z"] = np.where(tested, (out["current"] - n * share) / np.sqrt(np.nan_to_num(phi, nan=1.0) * n * share * (1 - share)), np.nan)
    out.insert(out.columns.get_loc("p_value") + 1, "p_adjusted", benjamini_hochberg(out["p_value"], tested))
    out["significant"] = (tested & (out["p_adjusted"] < ALPHA)).astype(bool)
    out["comparable"] = comparable
    out["reason"] = reason
    out["test"] = np.where(tested, test, inference.NO_TEST)
    out["phi"] = phi
    out["exposure_ratio"] = exposure_ratio
    out["current_start"], out["current_end"] = cs, ce
    out["previous_start"], out["previous_end"] = ps, pe
    out.attrs["reference"] = reference
    out.attrs["reason"] = reason
    out.attrs["note"] = (
        "Taux par jour sur des périodes alignées (la période courante s'arrête au dernier jour de données, la précédente "
        "aux mêmes jours un an plus tôt). Test quasi-Poisson : la variance du compte est multipliée par la dispersion "
        "estimée sur les cinq dernières années de comptes mensuels de la série ; test exact de Poisson lorsque cette "
        "dispersion ne peut pas être estimée. « significatif » si p < 0,05 après correction de Benjamini-Hochberg quand "
        "plusieurs groupes sont comparés à la fois. Pas de comparaison lorsqu'un partenaire n'a pas de données pour un "
        f"des mois comparés. Variation en % peu fiable si la période précédente compte moins de {UNRELIABLE_PREVIOUS} faits "
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
