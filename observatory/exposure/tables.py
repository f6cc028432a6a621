"""Exposure rates of the observatory's units: incident counts from the snapshot over the stored denominators.

For each stored series, each unit it covers (a pool's zone, the hypercentre, an arrondissement, an IRIS) gets
the count of the incidents the denominator fits (the series' categories and sources, intersected with the
user's filters), the exposure over the same window, the rate with its exact interval, and — between the window
and the same window a year earlier — the rate ratio with the exact conditional test (exposure as the offset).
Nothing here imports Dash; the pages, the bilan and the diagnostic read :func:`unit_rates` and
:func:`period_changes`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import pandas as pd

from observatory.exposure.format import KINDS
from observatory.exposure.rates import compare_rates, pearson_dispersion, rate_interval, shifted_year, window_exposure

if TYPE_CHECKING:
    from observatory.analytics.engine import Analytics
    from observatory.analytics.filters import Filters

RATE_COLUMNS = ("series", "kind", "unit", "count", "exposure", "per", "per_label", "rate", "low", "high", "known", "reason",
                "source", "vintage", "label", "counted", "start", "end")


@dataclass(frozen=True)
class Selection:
    """The incidents a series' rate counts: the filters narrowed to what the denominator fits, or why none."""

    filters: "Filters | None"
    reason: str = ""


def selection(filters: "Filters", meta: dict) -> Selection:
    """Filters narrowed to the series' categories and sources (an empty intersection is a refusal, not a zero)."""
    if filters.hours or filters.weekdays:
        return Selection(None, "taux par exposition non calculé avec un filtre d'heures ou de jours (le dénominateur couvre toutes les heures)")
    cats = tuple(meta.get("categories") or ())
    if cats and filters.categories:
        cats = tuple(c for c in filters.categories if c in cats)
        if not cats:
            return Selection(None, f"catégories choisies sans rapport avec ce dénominateur ({KINDS[meta['kind']].label})")
    elif not cats:
        cats = filters.categories
    srcs = tuple(meta.get("sources") or ())
    if srcs and filters.sources:
        srcs = tuple(s for s in filters.sources if s in srcs)
        if not srcs:
            return Selection(None, "sources choisies sans rapport avec ce dénominateur")
    elif not srcs:
        srcs = filters.sources
    return Selection(filters.replace(categories=cats, sources=srcs, zones=()))


def _counts(an: "Analytics", filters: "Filters", unit_type: str, units: list[str]) -> dict[str, int]:
    if not units:
        return {}
    # Memoised per snapshot by the analytics' own cache: a page asks the same counts for each rate it shows.
    frame = an.cached("exposure_counts", _count_frame, filters, unit_type, tuple(units))
    return {str(u): int(n) for u, n in zip(frame["unit"], frame["n"])}


def _count_frame(an: "Analytics", filters: "Filters", unit_type: str, units: tuple[str, ...]) -> pd.DataFrame:
    where, params = filters.to_sql()
    marks = ", ".join("?" * len(units))
    if unit_type == "zone":
        sql = (f"SELECT zone AS unit, count(*) AS n FROM (SELECT unnest(zones) AS zone FROM incidents WHERE {where} AND list_has_any(zones, ?)) "
               f"WHERE zone IN ({marks}) GROUP BY zone")
        params = params + [list(units)] + list(units)
    else:
        col = "arrondissement" if unit_type == "arrondissement" else "iris"
        sql = f"SELECT {col} AS unit, count(*) AS n FROM incidents WHERE {where} AND {col} IN ({marks}) GROUP BY {col}"
        params = params + list(units)
    return an.query(sql, params)


def counted_text(definition: dict) -> str:
    """What the numerator counts, in French: « les cambriolages de logement », « les faits enregistrés par la source
    « Piscines municipales » »."""
    from observatory.labels import category_label, source_label

    cats = [category_label(c).lower() for c in definition.get("categories") or ()]
    text = f"les {cats[0]}" if len(cats) == 1 else f"les faits ({', '.join(cats)})" if cats else "les faits"
    srcs = definition.get("sources") or ()
    if srcs:
        text += " enregistrés par la source " + ", ".join(f"« {source_label(s)} »" for s in srcs)
    return text


def _monthly_counts(an: "Analytics", filters: "Filters", unit_type: str, units: list[str]) -> pd.DataFrame:
    """unit, month (first day, a date), n: the incidents of each unit by calendar month."""
    where, params = filters.to_sql()
    marks = ", ".join("?" * len(units))
    month = "CAST(date_trunc('month', local_ts) AS DATE)"
    if unit_type == "zone":
        sql = (f"SELECT zone AS unit, m AS month, count(*) AS n FROM (SELECT unnest(zones) AS zone, {month} AS m FROM incidents "
               f"WHERE {where} AND list_has_any(zones, ?)) WHERE zone IN ({marks}) GROUP BY ALL")
        params = params + [units] + units
    else:
        col = "arrondissement" if unit_type == "arrondissement" else "iris"
        sql = f"SELECT {col} AS unit, {month} AS month, count(*) AS n FROM incidents WHERE {where} AND {col} IN ({marks}) GROUP BY ALL"
        params = params + units
    frame = an.query(sql, params)
    frame["month"] = pd.to_datetime(frame["month"]).dt.date
    return frame


def _months(start: date, end: date) -> list[tuple[date, date]]:
    """The calendar months of a window, clipped to it."""
    out = []
    for first in pd.date_range(pd.Timestamp(start).to_period("M").to_timestamp(), pd.Timestamp(end), freq="MS"):
        last = (first + pd.offsets.MonthEnd(0)).date()
        out.append((max(first.date(), start), min(last, end)))
    return out


def dispersion(an: "Analytics", table: pd.DataFrame, definition: dict, filters: "Filters", unit: str,
               windows: list[tuple[date, date]]) -> tuple[float, int | None]:
    """φ of one unit's monthly counts around each window's own rate (1 when Poisson fits, never below 1), and its
    degrees of freedom (months with exposure minus one rate per window)."""
    return cells_dispersion(an, table, definition, filters, [(unit, start, end) for start, end in windows])


def cells_dispersion(an: "Analytics", table: pd.DataFrame, definition: dict, filters: "Filters",
                     cells: list[tuple[str, date, date]]) -> tuple[float, int | None]:
    """φ of the monthly counts of each (unit, window) around that cell's own rate — two periods of one unit, or two
    units over one period — and its degrees of freedom."""
    spec = KINDS[definition["kind"]]
    sel = selection(filters, definition)
    if sel.filters is None:
        return 1.0, None
    years = covered_years(table)
    counts, expected = [], []
    for unit, start, end in cells:
        rows = table[table["unit"] == unit]
        monthly = _monthly_counts(an, sel.filters.replace(start=start, end=end), definition["unit_type"], [unit])
        by_month = dict(zip(monthly["month"], monthly["n"]))
        months = []
        for a, b in _months(start, end):
            exp = window_exposure(rows, a, b, spec.measure, definition.get("absent", "missing"), years)
            if not exp.known:
                return 1.0, None
            months.append((int(by_month.get(date(a.year, a.month, 1), 0)), exp.value))
        total_c, total_e = sum(c for c, _ in months), sum(e for _, e in months)
        if total_e <= 0:
            return 1.0, None
        counts += [c for c, _ in months]
        expected += [e * total_c / total_e for _, e in months]
    df = sum(1 for e in expected if e > 0) - len(cells)
    return max(1.0, pearson_dispersion(counts, expected, parameters=len(cells))), (df if df >= 3 else None)


def unit_comparison(an: "Analytics", table: pd.DataFrame, metas: dict[str, dict], filters: "Filters", series: str,
                    unit1: str, unit2: str, start: date, end: date) -> dict:
    """Two units of one series over one window: each rate, the ratio of the first to the second and its test."""
    definition = metas[series].get("definition", metas[series])
    rates = unit_rates(an, table, {series: metas[series]}, filters, start, end, units=(unit1, unit2)).set_index("unit")
    missing = [u for u in (unit1, unit2) if u not in rates.index]
    if missing:
        return {"known": False, "reason": f"unité(s) sans série « {series} » : {', '.join(missing)}"}
    a, b = rates.loc[unit1], rates.loc[unit2]
    if not (a["known"] and b["known"]):
        return {"known": False, "reason": a["reason"] or b["reason"]}
    mine = table[table["series"] == series]
    phi, df = cells_dispersion(an, mine, definition, filters, [(unit1, start, end), (unit2, start, end)])
    cmp = compare_rates(int(a["count"]), a["exposure"], int(b["count"]), b["exposure"], dispersion=phi, dispersion_df=df)
    return {"known": True, "first": a.to_dict(), "second": b.to_dict(), "ratio": cmp.ratio, "low": cmp.low, "high": cmp.high,
            "p_value": cmp.p_value, "dispersion": phi,
            "test": "test exact conditionnel" if phi <= 1.0 else f"test quasi-Poisson, surdispersion {phi:.1f}".replace(".", ",")}


def covered_years(table: pd.DataFrame) -> set[int]:
    """Years a flow series' file covers whole (``absent = "zero"``): any year with at least one row."""
    return {d.year for d in table["period_start"]}


def unit_rates(an: "Analytics", table: pd.DataFrame, metas: dict[str, dict], filters: "Filters", start: date, end: date,
               kinds: tuple[str, ...] = (), units: tuple[str, ...] = ()) -> pd.DataFrame:
    """One row per (series, unit) over ``start``–``end``: count, exposure, rate and interval (columns ``RATE_COLUMNS``)."""
    rows = []
    for name, meta in metas.items():
        definition = meta.get("definition", meta)
        kind = definition.get("kind")
        if kind not in KINDS or (kinds and kind not in kinds):
            continue
        spec = KINDS[kind]
        mine = table[table["series"] == name]
        wanted = sorted(set(mine["unit"]) if not units else set(mine["unit"]) & set(units))
        sel = selection(filters, definition)
        counts = _counts(an, sel.filters.replace(start=start, end=end), definition["unit_type"], wanted) if sel.filters else {}
        years = covered_years(mine)
        for unit in wanted:
            exp = window_exposure(mine[mine["unit"] == unit], start, end, spec.measure, definition.get("absent", "missing"), years)
            known = exp.known and sel.filters is not None
            count = counts.get(unit, 0)
            r = rate_interval(count, exp.value, spec.per) if known else None
            rows.append({"series": name, "kind": kind, "unit": unit, "count": count if sel.filters else math.nan,
                         "exposure": exp.value if exp.known else math.nan, "per": spec.per, "per_label": spec.per_label,
                         "rate": r.rate if r else math.nan, "low": r.low if r else math.nan, "high": r.high if r else math.nan,
                         "known": known and exp.value > 0, "reason": sel.reason or exp.reason or ("exposition nulle" if known and exp.value <= 0 else ""),
                         "source": definition.get("source", ""), "vintage": definition.get("vintage", ""), "label": definition.get("label", name),
                         "counted": counted_text(definition), "start": start, "end": end})
    return pd.DataFrame(rows, columns=list(RATE_COLUMNS))


def period_changes(an: "Analytics", table: pd.DataFrame, metas: dict[str, dict], filters: "Filters", start: date, end: date,
                   kinds: tuple[str, ...] = (), units: tuple[str, ...] = ()) -> pd.DataFrame:
    """Each (series, unit): the window against the same window a year earlier, rates and the exact test.

    Columns: ``series``, ``kind``, ``unit``, ``per_label``, ``count``/``previous_count``, ``rate``/``previous_rate``,
    ``count_change`` (relative change of the raw counts), ``ratio``, ``low``, ``high``, ``p_value``, ``known``, ``reason``,
    ``p_adjusted`` (Holm over the rows compared), ``significant`` (p_adjusted < 0.05), ``dispersion`` (φ of the monthly
    counts around each year's rate; above 1 the quasi-Poisson test replaces the exact one) and ``test`` (its French name).
    """
    cur = unit_rates(an, table, metas, filters, start, end, kinds, units)
    prev = unit_rates(an, table, metas, filters, shifted_year(start), shifted_year(end), kinds, units)
    merged = cur.merge(prev[["series", "unit", "count", "exposure", "rate", "known", "reason"]], on=["series", "unit"], suffixes=("", "_prev"))
    out = []
    for r in merged.itertuples(index=False):
        both = bool(r.known and r.known_prev)
        phi, phi_df = dispersion(an, table[table["series"] == r.series], metas[r.series].get("definition", metas[r.series]), filters, r.unit,
                         [(start, end), (shifted_year(start), shifted_year(end))]) if both else (1.0, None)
        cmp = compare_rates(int(r.count), r.exposure, int(r.count_prev), r.exposure_prev, dispersion=phi, dispersion_df=phi_df) if both else None
        out.append({"series": r.series, "kind": r.kind, "unit": r.unit, "per_label": r.per_label, "label": r.label, "counted": r.counted,
                    "source": r.source, "vintage": r.vintage,
                    "count": r.count, "previous_count": r.count_prev, "exposure": r.exposure, "previous_exposure": r.exposure_prev,
                    "rate": r.rate, "rate_low": r.low, "rate_high": r.high, "previous_rate": r.rate_prev,
                    "count_change": (r.count / r.count_prev - 1) if both and r.count_prev else math.nan,
                    "exposure_change": (r.exposure / r.exposure_prev - 1) if both and r.exposure_prev else math.nan,
                    "ratio": cmp.ratio if cmp else math.nan, "low": cmp.low if cmp else math.nan, "high": cmp.high if cmp else math.nan,
                    "p_value": cmp.p_value if cmp else math.nan, "known": both, "dispersion": phi,
                    "test": "test exact conditionnel" if phi <= 1.0 else f"test quasi-Poisson, surdispersion {phi:.1f}".replace(".", ","),
                    "reason": "" if both else (r.reason or r.reason_prev or "année précédente sans exposition"),
                    "start": start, "end": end})
    frame = pd.DataFrame(out)
    if frame.empty:
        return frame
    frame["p_adjusted"] = holm(frame["p_value"])
    frame["significant"] = frame["p_adjusted"] < 0.05
    return frame


def holm(p_values: pd.Series) -> pd.Series:
    """Holm's step-down adjustment (family-wise error over the tests of one table); NaN stays NaN."""
    p = pd.Series(p_values, dtype=float)
    valid = p.dropna().sort_values()
    m = len(valid)
    adjusted = (valid * (m - pd.Series(range(m), index=valid.index))).cummax().clip(upper=1.0)
    return adjusted.reindex(p.index)
