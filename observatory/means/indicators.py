"""Indicators of means and response. Pure: DataFrames in, DataFrames out, no I/O (``service`` feeds them).

Method (``docs/means.md``):

* **Means by year** — a line's flows (hours, patrols, cameras installed, running budget) are spread over its
  period pro rata of days; its investment counts in the year its period starts; FTE become a yearly average
  (FTE × days of the year covered / days of the year); cameras in service are a level, counted in every year the
  period touches.
* **Per 1,000 inhabitants and per fact** — by arrondissement and year, over the INSEE legal population and the
  recorded facts (every category) of that arrondissement and year; the city row adds the lines placed in no
  arrondissement.
* **Cost per incident avoided** — only when the action's evaluation concludes a significant decrease
  (``verdict_code == "decrease"``: perimeter and net total agree). Incidents avoided = −WDD over the after
  window, with the WDD's 95 % interval; cost = the action's means over the same window (running costs pro rata
  of days, investments made before the window's end in full). Any other verdict gives « pas de conclusion »,
  never a figure.
* **Response rate** — MJD measures per 100 recorded facts of the categories each measure answers, by
  arrondissement and year, with an exact Poisson interval on the measures; only for years the MJD source covers
  in full (12 months) and the facts cover in full.
"""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
from scipy import stats

from observatory import labels, schema
from observatory.means.register import AMOUNT_COLUMNS

ALPHA = 0.05
PER_INHABITANTS = 1000
RATE_PER = 100
ALL_MEASURES = "ensemble_mesures"
BUDGET_TOTAL = "budget_total_eur"
YEAR_COLUMNS = list(AMOUNT_COLUMNS) + [BUDGET_TOTAL]


def _days(a: date, b: date) -> int:
    """Days from a to b inclusive (0 when b < a)."""
    return max(0, (b - a).days + 1)


def _overlap(start: date, end: date, lo: date, hi: date) -> int:
    return _days(max(start, lo), min(end, hi))


# Means by year ------------------------------------------------------------------------------------------------------
def means_by_year(means: pd.DataFrame) -> pd.DataFrame:
    """One row per (means line, year it touches) with its share of each amount (see the module docstring)."""
    rows = []
    for rec in means.to_dict("records"):
        start, end = rec["start"], rec["end"]
        period = _days(start, end)
        for year in range(start.year, end.year + 1):
            y0, y1 = date(year, 1, 1), date(year, 12, 31)
            days = _overlap(start, end, y0, y1)
            share = days / period
            out = {"means_id": rec["means_id"], "action_id": rec.get("action_id") or "", "arrondissement": rec.get("arrondissement"),
                   "service": rec["service"], "year": year}
            for col in ("staff_hours", "patrols", "cameras_installed", "budget_running_eur"):
                out[col] = _nan0(rec.get(col)) * share
            out["budget_investment_eur"] = _nan0(rec.get("budget_investment_eur")) if year == start.year else 0.0
            out["fte"] = _nan0(rec.get("fte")) * days / _days(y0, y1)
            out["cameras_in_service"] = _nan0(rec.get("cameras_in_service"))
            out[BUDGET_TOTAL] = out["budget_running_eur"] + out["budget_investment_eur"]
            rows.append(out)
    cols = ["means_id", "action_id", "arrondissement", "service", "year"] + YEAR_COLUMNS
    return pd.DataFrame(rows, columns=cols)


def _nan0(value: object) -> float:
    if value is None:
        return 0.0
    value = float(value)
    return 0.0 if math.isnan(value) else value


def means_by_arrondissement(by_year: pd.DataFrame, populations: pd.DataFrame, facts: pd.DataFrame) -> pd.DataFrame:
    """Per (arrondissement, year), city (69123) included: the amounts, per 1,000 inhabitants and per recorded fact.

    ``populations``: code, population. ``facts``: arrondissement, year, facts (every category). Ratios are NaN
    where the denominator is 0 or unknown (a year without incident data).
    """
    if by_year.empty:
        return pd.DataFrame(columns=["arrondissement", "year"] + YEAR_COLUMNS + ["population", "facts"])
    placed = by_year[by_year["arrondissement"].notna()]
    arr = placed.groupby(["arrondissement", "year"], as_index=False)[YEAR_COLUMNS].sum()
    city = by_year.groupby("year", as_index=False)[YEAR_COLUMNS].sum().assign(arrondissement=schema.CITY_CODE)
    out = pd.concat([arr, city[arr.columns]], ignore_index=True)
    pops = populations.set_index(populations["code"].astype(str))["population"].astype(float)
    pop = out["arrondissement"].map(pops)
    out["population"] = np.where(out["arrondissement"] == schema.CITY_CODE, float(pops.reindex(list(schema.ARRONDISSEMENT_CODES)).sum()), pop)
    f = facts.copy()
    city_facts = f.groupby("year", as_index=False)["facts"].sum().assign(arrondissement=schema.CITY_CODE)
    f = pd.concat([f[["arrondissement", "year", "facts"]], city_facts[["arrondissement", "year", "facts"]]], ignore_index=True)
    out = out.merge(f, on=["arrondissement", "year"], how="left")
    per_pop = out["population"].where(out["population"] > 0) / PER_INHABITANTS
    per_fact = out["facts"].where(out["facts"] > 0)
    for col in ("staff_hours", "patrols", "cameras_in_service", BUDGET_TOTAL):
        out[f"{col}_per_1000"] = out[col] / per_pop
    out["staff_hours_per_fact"] = out["staff_hours"] / per_fact
    out["budget_per_fact"] = out[BUDGET_TOTAL] / per_fact
    return out.sort_values(["year", "arrondissement"]).reset_index(drop=True)


# Cost per incident avoided -------------------------------------------------------------------------------------------
def window_cost(means: pd.DataFrame, action_id: str, start: date, end: date) -> tuple[float, float, int]:
    """(euros, staff hours, number of lines) the action engaged over [start, end] (see the module docstring)."""
    lines = means[means["action_id"] == action_id] if not means.empty else means
    euros = hours = 0.0
    for rec in lines.to_dict("records"):
        share = _overlap(rec["start"], rec["end"], start, end) / _days(rec["start"], rec["end"])
        euros += _nan0(rec.get("budget_running_eur")) * share
        hours += _nan0(rec.get("staff_hours")) * share
        if rec["start"] <= end:
            euros += _nan0(rec.get("budget_investment_eur"))
    return euros, hours, len(lines)


def _euros(value: float) -> str:
    return f"{labels.fmt_int(value)} €"


def cost_effectiveness(evaluations: pd.DataFrame, means: pd.DataFrame) -> pd.DataFrame:
    """Per evaluated action: the means over its after window and, only under a concluded effect, the cost per
    incident avoided with its interval. Columns: action_id, means_lines, cost_eur, staff_hours, avoided,
    avoided_low, avoided_high, cost_per_avoided, cost_low, cost_high, status (no_means, no_budget, no_conclusion,
    estimate), text (French).
    """
    rows = []
    for ev in evaluations.to_dict("records"):
        start = ev.get("start")
        after_end = ev.get("after_end")
        nan = math.nan
        row = {"action_id": ev["action_id"], "means_lines": 0, "cost_eur": nan, "staff_hours": nan, "avoided": nan, "avoided_low": nan,
               "avoided_high": nan, "cost_per_avoided": nan, "cost_low": nan, "cost_high": nan}
        n_all = int((means["action_id"] == ev["action_id"]).sum()) if not means.empty else 0
        row["means_lines"] = n_all
        if n_all == 0:
            rows.append({**row, "status": "no_means", "text": "Aucun moyen déclaré pour cette action : coût non calculable."})
            continue
        usable_window = isinstance(start, date) and isinstance(after_end, date) and ev.get("verdict_code") != "no_conclusion"
        if usable_window:
            cost, hours, _ = window_cost(means, ev["action_id"], start, after_end)
            row.update(cost_eur=cost, staff_hours=hours)
        code = ev.get("verdict_code")
        head, _, detail = str(ev.get("verdict") or "").partition(" : ")
        if code != "decrease":
            if code == "no_conclusion" or not code:
                why = f"l'évaluation ne permet pas de conclure ({detail.rstrip('.') or 'pas d’évaluation disponible'})"
            elif "non démontré" in head:
                why = head[:1].lower() + head[1:]
            else:
                why = f"effet de l'action non démontré ({head[:1].lower() + head[1:]})"
            rows.append({**row, "status": "no_conclusion", "text": f"Pas de conclusion : {why} ; aucun coût par fait évité n'est calculé."})
            continue
        wdd, lo, hi = float(ev["wdd"]), float(ev["ci_low"]), float(ev["ci_high"])
        if not (hi < 0 and math.isfinite(lo)):
            # A "decrease" verdict implies a WDD interval below 0; anything else is an inconsistency, not a figure.
            rows.append({**row, "status": "no_conclusion", "text": "Pas de conclusion : l'intervalle du nombre de faits évités contient zéro."})
            continue
        if not row["cost_eur"] or row["cost_eur"] <= 0:
            rows.append({**row, "avoided": -wdd, "avoided_low": -hi, "avoided_high": -lo, "status": "no_budget",
                         "text": "Moyens déclarés sans budget sur la période évaluée : coût par fait évité non calculable."})
            continue
        cost = row["cost_eur"]
        row.update(avoided=-wdd, avoided_low=-hi, avoided_high=-lo, cost_per_avoided=cost / -wdd, cost_low=cost / -lo, cost_high=cost / -hi)
        months = int(ev.get("window_months") or 0)
        text = (f"{_euros(row['cost_per_avoided'])} par fait évité (IC 95 % : {_euros(row['cost_low'])} à {_euros(row['cost_high'])}) — "
                f"{labels.fmt_number(-wdd, 0)} faits évités [{labels.fmt_number(-hi, 0)} ; {labels.fmt_number(-lo, 0)}] en {months} mois, "
                f"pour {_euros(cost)} engagés sur la même période.")
        rows.append({**row, "status": "estimate", "text": text})
    cols = ["action_id", "means_lines", "cost_eur", "staff_hours", "avoided", "avoided_low", "avoided_high", "cost_per_avoided",
            "cost_low", "cost_high", "status", "text"]
    return pd.DataFrame(rows, columns=cols)


def means_per_action(actions: pd.DataFrame, means: pd.DataFrame) -> pd.DataFrame:
    """Per valid action: totals of its declared means over all periods; ``declared`` False says « aucun moyen »."""
    totals = means.groupby("action_id")[list(AMOUNT_COLUMNS)].sum(min_count=1) if not means.empty else pd.DataFrame(columns=list(AMOUNT_COLUMNS))
    lines = means.groupby("action_id").size() if not means.empty else pd.Series(dtype="int64")
    out = actions[["action_id", "title", "type", "arrondissement"]].copy()
    out = out.merge(totals, left_on="action_id", right_index=True, how="left")
    out["means_lines"] = out["action_id"].map(lines).fillna(0).astype("int64")
    out["declared"] = out["means_lines"] > 0
    # Cameras in service are a level: the largest declared, not a sum over periods.
    if not means.empty:
        out["cameras_in_service"] = out["action_id"].map(means.groupby("action_id")["cameras_in_service"].max())
    out[BUDGET_TOTAL] = out[["budget_investment_eur", "budget_running_eur"]].sum(axis=1, min_count=1)
    return out


# Response and elucidation ------------------------------------------------------------------------------------------
def complete_years(cells: pd.DataFrame, source: str) -> dict[int, int]:
    """Months delivered per year by a source (any arrondissement); a year is complete at 12."""
    part = cells[cells["source"] == source]
    if part.empty:
        return {}
    months = part["month"].drop_duplicates()
    return months.groupby(months.dt.year).size().astype(int).to_dict()


def poisson_rate_interval(count: float, denominator: float, alpha: float = ALPHA) -> tuple[float, float]:
    """Exact (Garwood) interval of count/denominator, the count being Poisson."""
    if denominator <= 0:
        return math.nan, math.nan
    lo = 0.0 if count <= 0 else stats.chi2.ppf(alpha / 2, 2 * count) / 2
    hi = stats.chi2.ppf(1 - alpha / 2, 2 * count + 2) / 2
    return lo / denominator, hi / denominator


def response_rates(cells: pd.DataFrame, facts: pd.DataFrame, indicators: dict, fact_years: set[int] | None = None,
                   source: str = "mjd") -> pd.DataFrame:
    """MJD measures per 100 recorded facts of the categories they answer, by arrondissement (city included) and year.

    ``facts``: arrondissement, year, category, facts (the recorded facts, every arrondissement). ``indicators``:
    the response nomenclature (``sources.response_indicators()``). ``fact_years``: years the facts cover in full
    (None: trust every year present). Rows: one per measure and one ``ensemble_mesures`` (all measures over the
    union of their categories). City rows add the measures the partner gave for the city as a whole.
    Columns: arrondissement, year, indicator, measures, facts, rate (per 100 facts), low, high, reason.
    """
    measures = {c: i for c, i in indicators.items() if i.measure}
    cols = ["arrondissement", "year", "indicator", "measures", "facts", "rate", "low", "high", "reason"]
    part = cells[(cells["source"] == source) & cells["indicator"].isin(list(measures))]
    if part.empty:
        return pd.DataFrame(columns=cols)
    delivered = complete_years(cells, source)
    part = part.assign(year=part["month"].dt.year)
    by_arr = part[part["arrondissement"] != schema.CITY_CODE].groupby(["arrondissement", "year", "indicator"], as_index=False)["count"].sum()
    city = part.groupby(["year", "indicator"], as_index=False)["count"].sum().assign(arrondissement=schema.CITY_CODE)
    counts = pd.concat([by_arr, city[by_arr.columns]], ignore_index=True)
    both = counts.groupby(["arrondissement", "year"], as_index=False)["count"].sum().assign(indicator=ALL_MEASURES)
    counts = pd.concat([counts, both[counts.columns]], ignore_index=True)
    f = facts.copy()
    f_city = f.groupby(["year", "category"], as_index=False)["facts"].sum().assign(arrondissement=schema.CITY_CODE)
    f = pd.concat([f[["arrondissement", "year", "category", "facts"]], f_city[["arrondissement", "year", "category", "facts"]]], ignore_index=True)
    union = sorted({c for i in measures.values() for c in i.categories})
    rows = []
    for rec in counts.to_dict("records"):
        cats = union if rec["indicator"] == ALL_MEASURES else list(measures[rec["indicator"]].categories)
        sel = f[(f["arrondissement"] == rec["arrondissement"]) & (f["year"] == rec["year"]) & f["category"].isin(cats)]
        n_facts = float(sel["facts"].sum())
        year = int(rec["year"])
        reason = ""
        if delivered.get(year, 0) < 12:
            reason = f"année incomplète : {delivered.get(year, 0)} mois transmis par la MJD"
        elif fact_years is not None and year not in fact_years:
            reason = "faits enregistrés incomplets pour cette année"
        elif n_facts <= 0:
            reason = "aucun fait enregistré des catégories concernées"
        rate = low = high = math.nan
        if not reason:
            rate = rec["count"] / n_facts * RATE_PER
            low, high = (v * RATE_PER for v in poisson_rate_interval(rec["count"], n_facts))
        rows.append({"arrondissement": rec["arrondissement"], "year": year, "indicator": rec["indicator"], "measures": int(rec["count"]),
                     "facts": n_facts, "rate": rate, "low": low, "high": high, "reason": reason})
    return pd.DataFrame(rows, columns=cols).sort_values(["year", "arrondissement", "indicator"]).reset_index(drop=True)


def elucidation_rates(cells: pd.DataFrame, facts: pd.DataFrame, fact_years: set[int] | None = None, source: str = "elucidation") -> pd.DataFrame:
    """Facts elucidated per 100 recorded facts of the same category, by arrondissement (city included), year and category."""
    cols = ["arrondissement", "year", "category", "elucidated", "facts", "rate", "low", "high", "reason"]
    part = cells[(cells["source"] == source) & (cells["indicator"] == "faits_elucides")]
    if part.empty:
        return pd.DataFrame(columns=cols)
    delivered = complete_years(cells, source)
    part = part.assign(year=part["month"].dt.year)
    by_arr = part[part["arrondissement"] != schema.CITY_CODE].groupby(["arrondissement", "year", "category"], as_index=False)["count"].sum()
    city = part.groupby(["year", "category"], as_index=False)["count"].sum().assign(arrondissement=schema.CITY_CODE)
    counts = pd.concat([by_arr, city[by_arr.columns]], ignore_index=True)
    f_city = facts.groupby(["year", "category"], as_index=False)["facts"].sum().assign(arrondissement=schema.CITY_CODE)
    f = pd.concat([facts[["arrondissement", "year", "category", "facts"]], f_city[["arrondissement", "year", "category", "facts"]]], ignore_index=True)
    merged = counts.merge(f, on=["arrondissement", "year", "category"], how="left").fillna({"facts": 0.0})
    rows = []
    for rec in merged.to_dict("records"):
        year = int(rec["year"])
        reason = ""
        if delivered.get(year, 0) < 12:
            reason = f"année incomplète : {delivered.get(year, 0)} mois transmis"
        elif fact_years is not None and year not in fact_years:
            reason = "faits enregistrés incomplets pour cette année"
        elif rec["facts"] <= 0:
            reason = "aucun fait enregistré de cette catégorie"
        rate = low = high = math.nan
        if not reason:
            rate = rec["count"] / rec["facts"] * RATE_PER
            low, high = (v * RATE_PER for v in poisson_rate_interval(rec["count"], rec["facts"]))
        rows.append({"arrondissement": rec["arrondissement"], "year": year, "category": rec["category"], "elucidated": int(rec["count"]),
                     "facts": float(rec["facts"]), "rate": rate, "low": low, "high": high, "reason": reason})
    return pd.DataFrame(rows, columns=cols).sort_values(["year", "arrondissement", "category"]).reset_index(drop=True)


def victims_by_category(cells: pd.DataFrame, source: str = "aide_victimes") -> pd.DataFrame:
    """Victims received per (arrondissement, year, category); city rows include the city-wide lines."""
    part = cells[(cells["source"] == source) & (cells["indicator"] == "victimes_recues")]
    cols = ["arrondissement", "year", "category", "victims"]
    if part.empty:
        return pd.DataFrame(columns=cols)
    part = part.assign(year=part["month"].dt.year)
    by_arr = part[part["arrondissement"] != schema.CITY_CODE].groupby(["arrondissement", "year", "category"], as_index=False)["count"].sum()
    city = part.groupby(["year", "category"], as_index=False)["count"].sum().assign(arrondissement=schema.CITY_CODE)
    out = pd.concat([by_arr, city[by_arr.columns]], ignore_index=True).rename(columns={"count": "victims"})
    return out[cols].sort_values(["year", "arrondissement", "category"]).reset_index(drop=True)
