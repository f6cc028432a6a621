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
    "hors saison, et ceux des saisons précédentes, sont comparés par jour de données (test de Poisson pondéré par "
    "le nombre de jours couverts : une saison en cours n'est comparée qu'à ses jours observés)."
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


def pool_seasons(an: "Analytics", filters: Filters, year: int | None = None, previous_years: int = 3) -> pd.DataFrame:
    """Each seasonal pool (season other than "both") in ``year`` (default: the last year in the data).

    Columns: ``zone_id``, ``name``, ``season``, ``in_season``, ``out_season`` (counts in the buffer),
    ``in_months``, ``out_months``, ``rate_in``, ``rate_out`` (per month), ``ratio`` (rate_in / rate_out),
    ``p_value`` (in vs out, exposure = months), ``significant``; ``previous_in_season`` (sum over the
    ``previous_years`` years before, those present in the data), ``previous_mean``, ``p_value_vs_previous``
    (this season vs the mean of previous seasons, exposure 1/k), ``significant_vs_previous``, ``unreliable``.
    """
    from observatory.territory import SEASON_MONTHS

    zones = an.territory.zones
    pools = zones[(zones["kind"] == "piscine") & zones["season"].notna() & (zones["season"] != "both")]
    base = filters.replace(zones=(), start=None, end=None)
    lo, hi = an.date_range(base)
    year = year or (hi.year if hi else date.today().year)
    first_year = max(year - previous_years, lo.year if lo else year)
    where, params = base.replace(start=date(first_year, 1, 1), end=date(year, 12, 31)).to_sql()
    ids = pools["zone_id"].tolist()
    if not ids:
        return pd.DataFrame()
    c = an.query(
        f"SELECT zone, CAST(year AS INTEGER) AS year, CAST(month(local_ts) AS INTEGER) AS m, count(*) AS n "
        f"FROM (SELECT *, unnest(zones) AS zone FROM incidents WHERE {where} AND list_has_any(zones, ?)) "
        f"WHERE zone IN ({', '.join('?' * len(ids))}) GROUP BY ALL",
        params + [ids] + ids,
    )
    from observatory.analytics.seasonality import _observed_days

    def days(y: int, months) -> int:  # noqa: ANN001 - days of data of those months of year y
        return sum(_observed_days(y, m, lo, hi) for m in months)

    rows = []
    for pool in pools.itertuples():
        months = SEASON_MONTHS.get(pool.season, SEASON_MONTHS["summer"])
        others = [m for m in range(1, 13) if m not in months]
        mine = c[c["zone"] == pool.zone_id]
        this = mine[mine["year"] == year]
        in_s = int(this.loc[this["m"].isin(months), "n"].sum())
        out_s = int(this.loc[~this["m"].isin(months), "n"].sum())
        in_m, out_m = len(months), 12 - len(months)
        # Exposures are days of data (a season still running, a snapshot ending mid-year), not whole months.
        in_d, out_d = days(year, months), days(year, others)
        prev_years = list(range(first_year, year))
        prev = mine[mine["year"].isin(prev_years)]
        prev_in = int(prev.loc[prev["m"].isin(months), "n"].sum())
        prev_d = sum(days(y, months) for y in prev_years)
        k = len(prev_years)
        p_io = poisson_test(in_s, out_s, in_d / out_d) if in_d and out_d else np.nan
        p_prev = poisson_test(in_s, prev_in, in_d / prev_d) if k and in_d and prev_d else np.nan
        per_month = 365.25 / 12
        rows.append({
            "zone_id": pool.zone_id, "name": pool.name, "season": pool.season, "year": year,
            "in_season": in_s, "out_season": out_s, "in_months": in_m, "out_months": out_m, "in_days": in_d, "out_days": out_d,
            "rate_in": in_s / in_d * per_month if in_d else np.nan, "rate_out": out_s / out_d * per_month if out_d else np.nan,
            "ratio": (in_s / in_d) / (out_s / out_d) if out_s and in_d and out_d else np.nan,
            "p_value": p_io, "significant": bool(p_io < 0.05) if not np.isnan(p_io) else False,
            "previous_in_season": prev_in, "previous_years": k, "previous_days": prev_d,
            "previous_mean": prev_in / k if k else np.nan,
            "p_value_vs_previous": p_prev, "significant_vs_previous": bool(k and not np.isnan(p_prev) and p_prev < 0.05),
            "unreliable": in_s < 10 or (k > 0 and prev_in / k < 20),
        })
    out = pd.DataFrame(rows)
    out.attrs["note"] = POOL_NOTE
    return out
