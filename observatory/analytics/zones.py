"""Zones: inside vs outside (hypercentre vs the rest of the city) and the pools' seasons, with Poisson tests."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from observatory.analytics.compare import aligned_periods, compare_counts, poisson_test
from observatory.analytics.filters import Filters

if TYPE_CHECKING:
    from observatory.analytics.engine import Analytics

POOL_NOTE = (
    "Piscines : zone tampon autour de chaque site. Saison = mois d'ouverture (été : juin–août). Les comptes en et "
    "hors saison, et ceux des saisons précédentes, sont comparés par jour de données (une saison en cours n'est "
    "comparée qu'à ses jours observés) ; test quasi-Poisson avec la dispersion estimée sur l'historique mensuel de la "
    "piscine (Poisson exact si elle ne peut l'être), correction de Benjamini-Hochberg sur les piscines du tableau ; "
    "pas de comparaison lorsqu'un partenaire qui y a enregistré des faits n'a pas de données pour un des mois comparés."
)


def _inside_outside_counts(an: "Analytics", filters: Filters, zone_id: str, start: date, end: date) -> tuple[int, int]:
    where, params = filters.replace(start=start, end=end).to_sql()
    row = an.query(
        f"SELECT count(*) FILTER (WHERE list_contains(zones, ?)) AS inside, count(*) FILTER (WHERE NOT list_contains(zones, ?)) AS outside "
        f"FROM incidents WHERE {where}",
        [zone_id, zone_id] + params,
    )
    return int(row["inside"].iloc[0] or 0), int(row["outside"].iloc[0] or 0)


def inside_outside(an: "Analytics", filters: Filters, zone_id: str = "hypercentre", kind: str = "year",
                   reference: date | None = None) -> pd.DataFrame:
    """Two rows, ``area`` = "inside" / "outside" the zone, each current vs previous period with the tests of
    ``compare_periods``; plus ``share_current`` (share of the city's incidents) and, on the inside row,
    ``p_value_vs_outside``: exact test that the inside changed like the outside did (the outside's own change
    is the expected ratio), ``significant_vs_outside``.

    Drop ``zones`` from ``filters`` (a zone filter would empty the outside); arrondissement filters still apply.
    """
    filters = filters.replace(zones=())
    data_end = an.date_range(filters.replace(start=None, end=None))[1]
    reference = reference or data_end or date.today()
    # Aligned periods, per day (as compare_periods): a snapshot ending mid-July compares the same days.
    (cs, ce), (ps, pe) = aligned_periods(kind, reference, data_end)
    exposure = ((ce - cs).days + 1) / ((pe - ps).days + 1)
    in_c, out_c = _inside_outside_counts(an, filters, zone_id, cs, ce)
    in_p, out_p = _inside_outside_counts(an, filters, zone_id, ps, pe)
    st = compare_counts(pd.Series([in_c, out_c]), pd.Series([in_p, out_p]), exposure)
    st.insert(0, "area", ["inside", "outside"])
    st.insert(0, "zone_id", zone_id)
    total = in_c + out_c
    st["share_current"] = [in_c / total if total else np.nan, out_c / total if total else np.nan]
    # Conditional on the inside total, the inside's current count is binomial with the outside's split.
    ratio = out_c / out_p if out_p else np.nan
    p_vs = poisson_test(in_c, in_p, ratio) if out_p and out_c else np.nan
    st["p_value_vs_outside"] = [p_vs, np.nan]
    st["significant_vs_outside"] = [bool(p_vs < 0.05) if not np.isnan(p_vs) else False, False]
    st["current_start"], st["current_end"], st["previous_start"], st["previous_end"] = cs, ce, ps, pe
    return st


ALL_SUMMER_POOLS = "toutes_piscines_ete"


def pool_season_tests(monthly: pd.DataFrame, pools: pd.DataFrame, year: int, previous_years: int, lo: date, hi: date,
                      missing: dict[str, list[tuple[int, int]]] | None = None) -> pd.DataFrame:
    """The pools' seasons compared (pure): the rows of :func:`pool_seasons` from monthly counts.

    ``monthly``: ``zone``, ``source``, ``year``, ``m`` (1–12), ``n`` for the pools, over at least the
    :data:`~observatory.analytics.inference.HISTORY_YEARS` years ending with ``year``; ``pools``: ``zone_id``,
    ``name``, ``season``; [lo, hi] the days of data; ``missing``: per partner, the months it did not deliver
    (data-quality coverage). A pool's comparisons are refused (``comparable`` False, ``reason``) when a partner
    that ever reported a fact there misses a month of the compared seasons (this year's and the previous ones);
    its in/out-of-season test when one misses a month of the year. Tests: quasi-Poisson with the pool's dispersion
    estimated on its monthly history (exact Poisson where it cannot be estimated, ``test``), per day of data;
    Benjamini–Hochberg across the rows (every pool and the « Toutes les piscines » summer row, ``zone_id`` =
    :data:`ALL_SUMMER_POOLS`, last), separately for the two questions.
    """
    from observatory.analytics import inference
    from observatory.analytics.compare import benjamini_hochberg
    from observatory.analytics.seasonality import _observed_days
    from observatory.analytics.verdicts import refusal_text
    from observatory.territory import SEASON_MONTHS

    missing = missing or {}
    hist_years = list(range(year - inference.HISTORY_YEARS + 1, year + 1))
    first_year = max(year - previous_years, lo.year)
    prev_years = list(range(first_year, year))

    def days(y: int, months) -> int:  # noqa: ANN001 - days of data of those months of year y
        return sum(_observed_days(y, m, lo, hi) for m in months)

    units = [(p.zone_id, p.name, p.season, [p.zone_id]) for p in pools.itertuples()]
    summer = pools.loc[pools["season"] == "summer", "zone_id"].tolist()
    if summer:
        units.append((ALL_SUMMER_POOLS, "Toutes les piscines", "summer", summer))
    rows = []
    for zone_id, name, season, members in units:
        months = SEASON_MONTHS.get(season, SEASON_MONTHS["summer"])
        others = [m for m in range(1, 13) if m not in months]
        mine = monthly[monthly["zone"].isin(members)]
        # Partners that ever reported a fact here, and the months they did not deliver.
        gone = {src: g for src, g in missing.items() if src in set(mine["source"])}
        lost = {ym for g in gone.values() for ym in g}
        seasons_lost = {src: [(y, m) for (y, m) in g if y in prev_years + [year] and m in months and _observed_days(y, m, lo, hi)]
                        for src, g in gone.items()}
        seasons_lost = {k: v for k, v in seasons_lost.items() if v}
        year_lost = {src: [(y, m) for (y, m) in g if y == year and _observed_days(y, m, lo, hi)] for src, g in gone.items()}
        year_lost = {k: v for k, v in year_lost.items() if v}
        by_ym = mine.groupby(["year", "m"])["n"].sum()
        this = lambda ms, y=year: int(sum(by_ym.get((y, m), 0) for m in ms))  # noqa: E731
        in_s, out_s = this(months), this(others)
        prev_in = sum(this(months, y) for y in prev_years)
        in_d, out_d = days(year, months), days(year, others)
        prev_d = sum(days(y, months) for y in prev_years)
        # Dispersion from the pool's monthly history: whole months of data, delivered by its partners.
        cube = np.array([[by_ym.get((y, m), 0) for m in range(1, 13)] for y in hist_years], dtype="float64")[None]
        observed = np.array([[_observed_days(y, m, lo, hi) == pd.Period(f"{y}-{m:02d}").days_in_month and (y, m) not in lost
                              for m in range(1, 13)] for y in hist_years])[None]
        phi, df = inference.dispersion(cube, observed)
        k = len(prev_years)
        ok_prev = not seasons_lost and k > 0 and in_d > 0 and prev_d > 0
        ok_io = not year_lost and in_d > 0 and out_d > 0
        (p_prev,), (test_prev,) = inference.rate_tests([in_s], [prev_in], in_d / prev_d if ok_prev else 1.0, phi, df)
        (p_io,), (test_io,) = inference.rate_tests([in_s], [out_s], in_d / out_d if ok_io else 1.0, phi, df)
        per_month = 365.25 / 12
        rows.append({
            "zone_id": zone_id, "name": name, "season": season, "year": year,
            "in_season": in_s, "out_season": out_s, "in_months": len(months), "out_months": 12 - len(months),
            "in_days": in_d, "out_days": out_d,
            "rate_in": in_s / in_d * per_month if in_d else np.nan, "rate_out": out_s / out_d * per_month if out_d else np.nan,
            "ratio": (in_s / in_d) / (out_s / out_d) if out_s and in_d and out_d else np.nan,
            "p_value": p_io if ok_io and in_s + out_s else np.nan,
            "previous_in_season": prev_in, "previous_years": k, "previous_days": prev_d,
            "previous_mean": prev_in / k if k else np.nan,
            "p_value_vs_previous": p_prev if ok_prev and in_s + prev_in else np.nan,
            "unreliable": in_s < 10 or (k > 0 and prev_in / k < 20),
            "comparable": ok_prev, "reason": "" if ok_prev else (refusal_text(seasons_lost) if seasons_lost else "pas de comparaison possible : pas de saison précédente"),
            "comparable_in_year": ok_io, "reason_in_year": "" if ok_io else (refusal_text(year_lost) if year_lost else "pas de comparaison possible"),
            "test": test_prev if ok_prev else inference.NO_TEST, "phi": float(phi[0]),
        })
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    # One family per question across the table's rows (the pools and their total).
    for p_col, sig_col in (("p_value", "significant"), ("p_value_vs_previous", "significant_vs_previous")):
        adj = benjamini_hochberg(out[p_col])
        out[sig_col] = (adj < 0.05).fillna(False).astype(bool)
        out.insert(out.columns.get_loc(p_col) + 1, p_col.replace("p_value", "p_adjusted"), adj)
    return out


def pool_seasons(an: "Analytics", filters: Filters, year: int | None = None, previous_years: int = 3) -> pd.DataFrame:
    """Each seasonal pool (season other than "both") in ``year`` (default: the last year in the data), then the
    « Toutes les piscines » row of the summer pools (``zone_id`` = :data:`ALL_SUMMER_POOLS`).

    Columns: ``zone_id``, ``name``, ``season``, ``in_season``, ``out_season`` (counts in the buffer),
    ``in_months``, ``out_months``, ``in_days``, ``out_days``, ``rate_in``, ``rate_out`` (per month), ``ratio``
    (rate_in / rate_out), ``p_value`` (in vs out, per day), ``p_adjusted``, ``significant``; ``previous_in_season``
    (sum over the ``previous_years`` years before, those present in the data), ``previous_days``,
    ``previous_mean``, ``p_value_vs_previous`` (this season vs the previous ones, per day), ``p_adjusted_vs_previous``,
    ``significant_vs_previous``, ``unreliable``, ``comparable``/``reason`` (a partner's missing month in the
    compared seasons), ``comparable_in_year``/``reason_in_year``, ``test``, ``phi``. See :func:`pool_season_tests`.
    """
    from observatory.analytics import inference
    from observatory.analytics.compare import _missing_coverage, _months

    zones = an.territory.zones
    pools = zones[(zones["kind"] == "piscine") & zones["season"].notna() & (zones["season"] != "both")]
    base = filters.replace(zones=(), start=None, end=None)
    lo, hi = an.date_range(base)
    year = year or (hi.year if hi else date.today().year)
    ids = pools["zone_id"].tolist()
    if not ids or lo is None or year < lo.year:  # a season before the data (a period ending before it): nothing to test
        return pd.DataFrame()
    first = max(min(year - previous_years, year - inference.HISTORY_YEARS + 1), lo.year)
    where, params = base.replace(start=date(first, 1, 1), end=date(year, 12, 31)).to_sql()
    monthly = an.query(
        f"SELECT zone, source, CAST(year AS INTEGER) AS year, CAST(month(local_ts) AS INTEGER) AS m, count(*) AS n "
        f"FROM (SELECT *, unnest(zones) AS zone FROM incidents WHERE {where} AND list_has_any(zones, ?)) "
        f"WHERE zone IN ({', '.join('?' * len(ids))}) GROUP BY ALL",
        params + [ids] + ids,
    )
    months = [ym for ym in _months(date(first, 1, 1), min(hi, date(year, 12, 31))) if ym >= (lo.year, lo.month)]
    out = pool_season_tests(monthly, pools[["zone_id", "name", "season"]], year, previous_years, lo, hi, _missing_coverage(an, base, months))
    out.attrs["note"] = POOL_NOTE
    return out
