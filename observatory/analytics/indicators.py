"""Counts and rates: by arrondissement, zone, category, family, source, month and year.

Every function takes the ``Analytics`` object first and a ``Filters``; the count is the number of incident rows
(``count``); ``facts`` is the sum of ``n_facts`` (a record may describe several facts).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from observatory import schema
from observatory.analytics.exposure import exposure_years, observed_period, rate_period_note
from observatory.analytics.sql import group_sql, precision_clause
from observatory.analytics.filters import Filters

if TYPE_CHECKING:
    from observatory.analytics.engine import Analytics

HYPERCENTRE_NOTE = (
    "Dans l'hypercentre (Presqu'île, Vieux Lyon), les visiteurs, salariés et noctambules sont bien plus nombreux "
    "que les résidents : un taux rapporté aux seuls habitants y surestime le risque individuel."
)
ZONE_RATE_NOTE = "Les zones n'ont pas de population résidente connue : leurs taux sont rapportés à la surface (faits par km² et par an)."


def _from_clause(by: tuple[str, ...]) -> str:
    # Zones are a list per incident: unnest it only when grouping by zone (an incident then counts in each zone).
    if "zone" in by:
        return "(SELECT *, unnest(zones) AS zone FROM incidents)"
    return "incidents"


def counts(an: "Analytics", filters: Filters, by: tuple[str, ...] = ("arrondissement",)) -> pd.DataFrame:
    """Columns: the ``by`` keys, ``count``, ``facts``; sorted by the keys.

    Grouping by ``hour`` keeps only incidents known to the hour, by ``weekday``/``day`` drops those known only to
    the month (``attrs['excluded_imprecise']`` gives how many were left out).
    """
    groups = group_sql(by)
    where, params = filters.to_sql()
    prec = precision_clause(by)
    select = ", ".join(f"{expr} AS {name}" for name, expr in groups)
    group_by = ", ".join(str(i + 1) for i in range(len(groups)))
    sql = f"SELECT {select + ', ' if select else ''}count(*) AS count, coalesce(sum(n_facts), 0) AS facts " \
          f"FROM {_from_clause(by)} WHERE {where} AND {prec}"
    if "zone" in by and filters.zones:
        # With a zone filter, grouping by zone shows the selected zones only (not the other zones those
        # incidents also fall in).
        sql += f" AND zone IN ({', '.join('?' * len(filters.zones))})"
        params = params + list(filters.zones)
    if groups:
        sql += f" GROUP BY {group_by} ORDER BY {group_by}"
    df = an.query(sql, params)
    df["count"] = df["count"].astype("int64")
    df["facts"] = df["facts"].astype("int64")
    if prec != "TRUE":
        excluded = an.scalar(f"SELECT count(*) FROM incidents WHERE {where} AND NOT ({prec})", params)
        df.attrs["excluded_imprecise"] = int(excluded)
    return df


def rates_by_arrondissement(an: "Analytics", filters: Filters, include_city: bool = True, by: str | None = None) -> pd.DataFrame:
    """One row per arrondissement (all nine, zeros included) and, with ``include_city``, the city (69123);
    with ``by`` (e.g. "category"), one row per arrondissement × value of ``by`` present in the selection.

    Columns: ``arrondissement``, [``by``], ``count``, ``population``, ``vintage``, ``rate_per_1000``, ``note``.
    The city row counts every selected incident, including those whose arrondissement is unknown.
    ``rate_per_1000`` is a yearly rate: facts per 1,000 inhabitants divided by the period's exposure in years
    (:mod:`observatory.analytics.exposure`); ``attrs``: ``period`` (first, last day observed), ``years``,
    ``rate_note`` (how the rate was made yearly, in French).
    """
    arr = an.arrondissement_populations()
    if filters.arrondissements:
        arr = arr[arr["arrondissement"].isin(filters.arrondissements)]
    keys = ["arrondissement"] + ([by] if by else [])
    start, end = observed_period(an, filters)
    years = exposure_years(start, end) if start is not None else 0.0
    vintage = an.territory_vintage()
    if by:
        out = _arrondissement_counts(arr, counts(an, filters, tuple(keys)), by, include_city, vintage)
    else:
        out = _arrondissement_totals(arr, _count_by_arrondissement(an, filters), include_city, vintage)
    # Per year: a half-year count is not a yearly rate (it was shown under « Faits pour 1 000 hab. (2025) »).
    out["rate_per_1000"] = out["count"] / out["population"] * 1000 / (years if years > 0 else float("nan"))
    # The hypercentre spreads over the 1er, 2e and 5e: say where resident-based rates mislead.
    out["note"] = pd.array([_HYPERCENTRE_ARRONDISSEMENTS.get(code, "") for code in out["arrondissement"].tolist()], dtype="str")
    out = out[keys + ["count", "population", "vintage", "rate_per_1000", "note"]]
    rate_note = rate_period_note(start, end, years)
    out.attrs.update(period=(start, end), years=years, rate_note=rate_note)
    out.attrs["note"] = f"Taux annuel pour 1 000 habitants ({rate_note}), population légale INSEE {vintage}. {HYPERCENTRE_NOTE}"
    return out


_HYPERCENTRE_ARRONDISSEMENTS = {"69381": HYPERCENTRE_NOTE, "69382": HYPERCENTRE_NOTE, "69385": HYPERCENTRE_NOTE}


def key_counts(an: "Analytics", filters: Filters, key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Incidents by one key as numpy arrays: ``(values, counts, missing)``, ``missing`` true where the key is NULL.

    The rows of :func:`counts` by that key without what a map or Gi* does not use (the sum of facts, the ordering,
    a DataFrame for ten or 1,500 rows): half the query's time at 1e6."""
    ((_, expr),) = group_sql((key,))
    where, params = filters.to_sql()
    c = an.query_numpy(f"SELECT {expr} AS k, count(*) AS count FROM incidents WHERE {where} AND {precision_clause((key,))} GROUP BY 1", params)
    return np.ma.getdata(c["k"]), np.asarray(c["count"], dtype="int64"), np.ma.getmaskarray(c["k"])


def _count_by_arrondissement(an: "Analytics", filters: Filters) -> dict:
    """Incidents per arrondissement code (None: not placed in one)."""
    codes, n, missing = key_counts(an, filters, "arrondissement")
    return dict(zip([None if m else code for code, m in zip(codes.tolist(), missing.tolist())], n.tolist()))


def _arrondissement_totals(arr: pd.DataFrame, by_code: dict, include_city: bool, vintage: int) -> pd.DataFrame:
    """One row per arrondissement (and the city), built from plain arrays: ten rows do not need a merge and a
    concat, which were half of an uncached map's time (the query is the other half)."""
    codes = arr["arrondissement"].tolist()
    counted = [by_code.get(code, 0) for code in codes]
    population = arr["population"].astype("int64").tolist()
    vintages = arr["vintage"].astype("int64").tolist()
    if include_city:  # the city counts every selected incident, its arrondissement known or not
        codes, counted = codes + [schema.CITY_CODE], counted + [sum(by_code.values())]
        population, vintages = population + [sum(population)], vintages + [vintage]
    return pd.DataFrame({"arrondissement": pd.array(codes, dtype=arr["arrondissement"].dtype),
                         "count": np.asarray(counted, dtype="int64"), "population": np.asarray(population, dtype="int64"),
                         "vintage": np.asarray(vintages, dtype="int64")})


def _arrondissement_counts(arr: pd.DataFrame, c: pd.DataFrame, by: str, include_city: bool, vintage: int) -> pd.DataFrame:
    """One row per arrondissement (and the city) × value of ``by`` present in the selection, zeros included."""
    keys = ["arrondissement", by]
    # The key's own dtype: an empty selection would otherwise give float levels that cannot merge.
    levels = pd.DataFrame({by: pd.Series(sorted(c[by].dropna().unique().tolist()), dtype=c[by].dtype)})
    out = arr.merge(levels, how="cross").merge(c[keys + ["count"]], on=keys, how="left")
    out["count"] = out["count"].fillna(0).astype("int64")
    if include_city:
        city = c.groupby(by, dropna=False)["count"].sum().reset_index()
        city = city.assign(arrondissement=schema.CITY_CODE, population=int(arr["population"].sum()), vintage=vintage)
        out = pd.concat([out, city[out.columns]], ignore_index=True)
    out["population"] = out["population"].astype("int64")
    return out


LOCATED = ("point", "address")


def rates_by_zone(an: "Analytics", filters: Filters, kinds: tuple[str, ...] = ()) -> pd.DataFrame:
    """One row per zone of the territory (zeros included), optionally only some kinds.

    Columns: ``zone_id``, ``kind``, ``name``, ``count`` (located points inside the zone), ``area_km2``,
    ``rate_per_km2``, ``note``; ``attrs["placed_by_name"]``: per zone, the records attached to it by a quarter name
    only (no point), for analyst screens (not protected: never publish it as is).
    ``rate_per_km2`` is per year, like the arrondissements' rates (``attrs``: ``period``, ``years``, ``rate_note``):
    a density over the seven years of a snapshot is not seven times a zone's yearly density.
    """
    zones = an.territory.zones[["zone_id", "kind", "name", "area_km2"]]
    if kinds:
        zones = zones[zones["kind"].isin(kinds)]
    c = counts(an, filters, ("zone", "location_quality")).rename(columns={"zone": "zone_id"})
    # A zone's count is what lies inside it: located points (coordinates or address). Records placed in a zone
    # only by a quarter name (sector, no point) are counted apart, never mixed in (they inflated QPV counts by
    # a fifth to two fifths over the points inside).
    located = c["location_quality"].isin(LOCATED)
    inside = c[located].groupby("zone_id", as_index=False)["count"].sum()
    by_name = c[~located].groupby("zone_id", as_index=False)["count"].sum().rename(columns={"count": "placed_by_name"})
    out = zones.merge(inside, on="zone_id", how="left").merge(by_name, on="zone_id", how="left")
    out["count"] = out["count"].fillna(0).astype("int64")
    out["placed_by_name"] = out["placed_by_name"].fillna(0).astype("int64")
    start, end = observed_period(an, filters)
    years = exposure_years(start, end) if start is not None else 0.0
    out["rate_per_km2"] = out["count"] / out["area_km2"] / (years if years > 0 else float("nan"))
    out["note"] = out["kind"].map({"hypercentre": HYPERCENTRE_NOTE}).fillna(ZONE_RATE_NOTE)
    by_name = dict(zip(out["zone_id"], out["placed_by_name"].astype(int)))
    out = pd.DataFrame(out[["zone_id", "kind", "name", "count", "area_km2", "rate_per_km2", "note"]]).reset_index(drop=True)
    # In attrs, not a column: a column would travel unprotected into public views and exports (small counts).
    out.attrs["placed_by_name"] = by_name
    rate_note = rate_period_note(start, end, years)
    out.attrs.update(period=(start, end), years=years, rate_note=rate_note)
    out.attrs["note"] = ZONE_RATE_NOTE + f" Densités par an ({rate_note})." + (
        " Faits localisés par un point ou une adresse ; ceux rattachés à la zone par un simple nom de quartier sont comptés à part.")
    return out


def month_range(first: pd.Timestamp, last: pd.Timestamp) -> pd.DatetimeIndex:
    return pd.date_range(pd.Timestamp(first).to_period("M").to_timestamp(), pd.Timestamp(last).to_period("M").to_timestamp(), freq="MS")


def monthly_series(an: "Analytics", filters: Filters, by: str | None = None) -> pd.DataFrame:
    """Columns: ``month`` (first day, datetime64), [``by``], ``count``; every month of the span, zeros filled
    (an unknown ``by`` value is a group of its own, ``None``, listed last).

    The span is the filter's period when given, otherwise the data's first to last month.
    """
    keys = ("month",) + ((by,) if by else ())
    c = counts(an, filters, keys)
    c["month"] = pd.to_datetime(c["month"])
    lo, hi = (None, None) if (filters.start and filters.end) else an.date_range(filters)
    start = filters.start or lo
    end = filters.end or hi
    if start is None or end is None:
        cols = ["month"] + ([by] if by else []) + ["count"]
        return pd.DataFrame({k: pd.Series(dtype="datetime64[ns]" if k == "month" else ("int64" if k == "count" else "str")) for k in cols})
    months = month_range(pd.Timestamp(start), pd.Timestamp(end))
    if by:
        # Unknown values (no arrondissement…) stay a group of their own, never dropped: a sentinel stands in for
        # the missing value while reindexing, since a MultiIndex cannot hold it reliably.
        sentinel = "\u2205"
        c[by] = c[by].astype(object).where(c[by].notna(), sentinel)
        levels = sorted(c[by].unique().tolist(), key=lambda v: (v == sentinel, str(v)))
        idx = pd.MultiIndex.from_product([months, levels], names=["month", by])
        out = c.set_index(["month", by])["count"].reindex(idx, fill_value=0).reset_index()
        out[by] = out[by].where(out[by] != sentinel, None)
    else:
        out = c.set_index("month")["count"].reindex(months, fill_value=0).rename_axis("month").reset_index()
    out["count"] = out["count"].astype("int64")
    return out


BOTH_TOTALS_NOTE = (
    "vue analyste : tous les faits ; le bilan, le PDF et les exports publiés comptent les arrondissements et les zones "
    "hors violences sexuelles et intrafamiliales (publiées à l'échelle de la ville seulement) : c'est le « chiffre publié »"
)


def published_filters(filters: Filters) -> Filters:
    """``filters`` as every publication applies them below the city: sensitive categories left out (DESIGN §6).
    A selection of sensitive categories only selects nothing (an empty tuple would mean every category)."""
    sensitive = schema.sensitive_categories()
    allowed = tuple(c for c in (filters.categories or tuple(schema.categories())) if c not in sensitive)
    return filters.replace(categories=allowed or ("__aucune__",))


def with_published_count(table: pd.DataFrame, published: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """``table`` (an analyst's count table, every category) with ``count_published``: the same rows counted as the
    publications count them below the city (``published``, from :func:`published_filters`), so that an analyst
    sees both totals and never quotes a figure the bilan contradicts (8 554 on the map, 8 127 in the bilan).
    Pure; rows absent from ``published`` count 0 there. Analyst screens only: unprotected counts."""
    pub = published[keys + ["count"]].rename(columns={"count": "count_published"})
    out = table.merge(pub, on=keys, how="left")
    out["count_published"] = out["count_published"].fillna(0).astype("int64")
    out.attrs = dict(table.attrs)
    return out
