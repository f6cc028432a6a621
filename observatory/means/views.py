"""French display tables of the means indicators, shared by the CLI, the « Moyens engagés » page and the diagnostic.

Each function takes :class:`~observatory.means.service.MeansTables` and returns a DataFrame of French text
(numbers formatted ``1 234,5``), column names being the headers. Counts of people (victims, measures) go
through :func:`observatory.means.service.protected_counts` for élus: small counts « < 5 », sensitive categories
at city level only. Amounts of means (hours, euros, cameras) are not about people and are shown as declared.
"""

from __future__ import annotations

import math

import pandas as pd

from observatory import labels, schema
from observatory.means import indicators as ind
from observatory.means.register import SERVICE_LABELS
from observatory.means.sources import response_indicators

DASH = "–"


def _num(value: object, decimals: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return DASH
    return labels.fmt_number(float(value), decimals)


def _eur(value: object) -> str:
    text = _num(value)
    return text if text == DASH else f"{text} €"


def arrondissement_table(tables, year: int) -> pd.DataFrame:  # noqa: ANN001 - MeansTables
    """Means of ``year`` by arrondissement and for the city: amounts, per 1,000 inhabitants, per recorded fact."""
    df = tables.by_arrondissement
    df = df[df["year"] == year] if not df.empty else df
    order = list(schema.ARRONDISSEMENT_CODES) + [schema.CITY_CODE]
    rows = []
    for rec in sorted(df.to_dict("records"), key=lambda r: order.index(r["arrondissement"]) if r["arrondissement"] in order else 99):
        rows.append({
            "Territoire": labels.arrondissement_label(rec["arrondissement"]),
            "Heures d'agents": _num(rec["staff_hours"]),
            "Heures pour 1 000 hab.": _num(rec["staff_hours_per_1000"], 1),
            "Patrouilles": _num(rec["patrols"]),
            "Caméras en service": _num(rec["cameras_in_service"]),
            "Budget (€)": _eur(rec[ind.BUDGET_TOTAL]),
            "€ pour 1 000 hab.": _eur(rec[f"{ind.BUDGET_TOTAL}_per_1000"]),
            "Heures par fait enregistré": _num(rec["staff_hours_per_fact"], 1),
            "€ par fait enregistré": _eur(rec["budget_per_fact"]),
        })
    return pd.DataFrame(rows)


def _means_summary(rec: dict) -> str:
    if not rec.get("declared"):
        return "Aucun moyen déclaré"
    parts = []
    for col, unit in (("staff_hours", "h d'agents"), ("patrols", "patrouilles"), ("cameras_in_service", "caméras en service"),
                      ("fte", "ETP (cumul des périodes)")):
        value = rec.get(col)
        if value is not None and not (isinstance(value, float) and math.isnan(value)) and value:
            parts.append(f"{_num(value, 1 if col == 'fte' else 0)} {unit}")
    budget = rec.get(ind.BUDGET_TOTAL)
    if budget is not None and not (isinstance(budget, float) and math.isnan(budget)):
        parts.append(f"{_eur(budget)} engagés")
    return " ; ".join(parts) or "Moyens déclarés sans quantité"


# Incident counts reach élus only through the year's joint publication (issue 15). A cost per incident avoided gives
# the evaluation's −WDD back (budget ÷ cost), a rate per 100 facts gives the facts back (measures × 100 ÷ rate), and
# the police's recorded and elucidated facts by category bound the publication's hidden cells: none of them is in
# the publication, so élus read the means themselves and these columns are the analysts'.
ANALYSTS_ONLY = "Réservé aux analystes"
ELU_FACTS_NOTE = ("Réservé aux analystes : les rapports aux faits enregistrés (taux pour 100 faits, élucidation, coût par fait "
                  "évité) redonneraient des effectifs que la publication protégée de l'année ne montre pas.")


def action_table(tables, analyst: bool = True) -> pd.DataFrame:  # noqa: ANN001
    """Per action: its means (all periods), its evaluation verdict, its cost per incident avoided or why there is none
    (for élus, the cost reads « Réservé aux analystes »: budget ÷ cost would give the evaluation's counts back)."""
    rows = []
    for rec in tables.per_action.to_dict("records"):
        verdict = str(rec.get("verdict") or "")
        rows.append({
            "Action": f"{rec['action_id']} — {rec['title']}",
            "Territoire": labels.arrondissement_label(rec.get("arrondissement")) if rec.get("arrondissement") else DASH,
            "Moyens déclarés": _means_summary(rec),
            "Évaluation": verdict.split(" : ")[0] if verdict else "Pas d'évaluation disponible",
            "Coût par fait évité": ANALYSTS_ONLY if not analyst else rec.get("text") if isinstance(rec.get("text"), str) else (
                "Aucun moyen déclaré pour cette action : coût non calculable." if not rec.get("declared") else "Pas de conclusion : pas d'évaluation disponible."),
        })
    return pd.DataFrame(rows, columns=["Action", "Territoire", "Moyens déclarés", "Évaluation", "Coût par fait évité"])


def _rate_text(rate: float, low: float, high: float, reason: str) -> str:
    if reason:
        return f"pas de taux : {reason}"
    return f"{_num(rate, 1)} ({_num(low, 1)} – {_num(high, 1)})"


def _joint_protection(df: pd.DataFrame, key: str, value_cols: list[str], min_count: int, analyst: bool) -> pd.DataFrame:
    """Counts as an élu may see them, protected jointly over every arrondissement (so the city total minus the other
    arrondissements cannot reveal a hidden cell); sensitive categories move to the city. Analysts: unchanged."""
    from observatory.analytics.privacy import protect

    if analyst or df.empty:
        return df
    return protect(df.reset_index(drop=True), value_cols, min_count, keys=["arrondissement", key],
                   viewer_is_analyst=False, category_col="category" if "category" in df.columns else "_none", geo_cols=["arrondissement"])


def _hidden(value: object) -> bool:
    return isinstance(value, str)


FACTS_COLUMNS = ("Faits des catégories concernées", "Pour 100 faits (IC 95 %)")


def response_table(tables, year: int, arrondissement: str | None, min_count: int, analyst: bool,  # noqa: ANN001
                   facts: bool | None = None) -> pd.DataFrame:
    """MJD measures of ``year`` in a territory: count, facts of the matching categories, rate per 100 facts (IC 95 %).
    Élus get the measures only (:data:`ELU_FACTS_NOTE`); ``facts`` (default: ``analyst``) keeps the facts columns
    beside protected measures, for the bilan, whose élu copy drops them (``reports.diagnostic_actions.for_elus``)."""
    cols = ["Mesure", "Mesures", "Faits des catégories concernées", "Pour 100 faits (IC 95 %)"]
    df = tables.response
    if df.empty:
        return pd.DataFrame(columns=cols)
    code = arrondissement or schema.CITY_CODE
    names = {c: i.label for c, i in response_indicators().items()}
    names[ind.ALL_MEASURES] = "Ensemble des mesures"
    year_rows = df[df["year"] == year]
    if code == schema.CITY_CODE:
        part = year_rows[year_rows["arrondissement"] == code]
        shown = part[["measures"]].astype(object).copy()
        if not analyst:
            shown["measures"] = [f"< {min_count}" if 0 < v < min_count else v for v in part["measures"]]
    else:
        arr_rows = year_rows[(year_rows["arrondissement"] != schema.CITY_CODE) & (year_rows["indicator"] != ind.ALL_MEASURES)]
        protected = _joint_protection(arr_rows[["arrondissement", "indicator", "measures"]], "indicator", ["measures"], min_count, analyst)
        lookup = {(r["arrondissement"], r["indicator"]): r["measures"] for r in protected.to_dict("records")}
        part = year_rows[year_rows["arrondissement"] == code]
        hidden_any = any(_hidden(lookup.get((code, i))) for i in part["indicator"])
        # The "all measures" row is their sum: shown beside a hidden measure it would reveal it.
        values = [("s" if hidden_any else m) if i == ind.ALL_MEASURES else lookup.get((code, i), m) for i, m in zip(part["indicator"], part["measures"])]
        shown = pd.DataFrame({"measures": values}, index=part.index)
    rows = []
    for rec, value in zip(part.to_dict("records"), shown["measures"]):
        rate = _rate_text(rec["rate"], rec["low"], rec["high"], rec["reason"])
        rows.append({"Mesure": names.get(rec["indicator"], rec["indicator"]), "Mesures": value if _hidden(value) else _num(value),
                     "Faits des catégories concernées": _num(rec["facts"]),
                     "Pour 100 faits (IC 95 %)": "non publié (petit effectif)" if _hidden(value) else rate})
    return pd.DataFrame(rows, columns=cols if (analyst if facts is None else facts) else cols[:2])


def victims_table(tables, year: int, arrondissement: str | None, min_count: int, analyst: bool) -> pd.DataFrame:  # noqa: ANN001
    """Victims received in ``year`` by kind of fact. For élus, sensitive kinds appear only in the city table and
    counts 1..min_count−1 read « < 5 »."""
    from observatory.means.service import protected_counts

    df = tables.victims
    if df.empty:
        return pd.DataFrame(columns=["Type de faits", "Victimes reçues"])
    code = arrondissement or schema.CITY_CODE
    if analyst:
        shown = df[(df["year"] == year) & (df["arrondissement"] == code)][["category", "victims"]]
    elif code == schema.CITY_CODE:
        # The city table may show sensitive categories (that is where they belong); small counts stay hidden.
        shown = _city_small_counts(df[(df["year"] == year) & (df["arrondissement"] == schema.CITY_CODE)][["category", "victims"]], min_count)
    else:
        # Arrondissements: protected jointly (sensitive categories moved to the city, complementary suppression).
        part = df[(df["year"] == year) & (df["arrondissement"] != schema.CITY_CODE)][["arrondissement", "category", "victims"]]
        shown = protected_counts(part.reset_index(drop=True), "victims", min_count, False)
        shown = shown[shown["arrondissement"] == code]
    rows = [{"Type de faits": labels.category_label(r["category"]), "Victimes reçues": r["victims"] if isinstance(r["victims"], str) else _num(r["victims"])}
            for r in shown.to_dict("records")]
    return pd.DataFrame(rows, columns=["Type de faits", "Victimes reçues"])


def _city_small_counts(city: pd.DataFrame, min_count: int) -> pd.DataFrame:
    """City table for élus: every category (sensitive ones included, at city level), small counts hidden."""
    from observatory.analytics.privacy import protect

    return protect(city.reset_index(drop=True), ["victims"], min_count, row_totals=False, viewer_is_analyst=True, category_col="_none", geo_cols=[])


def elucidation_table(tables, year: int, arrondissement: str | None, min_count: int, analyst: bool) -> pd.DataFrame:  # noqa: ANN001
    """Facts elucidated per 100 recorded facts (police nationale) by category, for a territory and year. For élus,
    arrondissement counts are protected jointly and sensitive categories are given for the city only."""
    cols = ["Catégorie", "Faits élucidés", "Faits enregistrés", "Pour 100 faits (IC 95 %)"]
    df = tables.elucidation
    if df.empty or not analyst:  # élus: :data:`ELU_FACTS_NOTE`
        return pd.DataFrame(columns=cols)
    code = arrondissement or schema.CITY_CODE
    year_rows = df[df["year"] == year]
    part = year_rows[year_rows["arrondissement"] == code]
    shown = {r["category"]: (r["elucidated"], r["facts"]) for r in part.to_dict("records")}
    if not analyst:
        if code == schema.CITY_CODE:
            small = lambda v: f"< {min_count}" if 0 < v < min_count else v  # noqa: E731
            shown = {c: (small(e), small(f)) for c, (e, f) in shown.items()}
        else:
            arr_rows = year_rows[year_rows["arrondissement"] != schema.CITY_CODE][["arrondissement", "category", "elucidated", "facts"]]
            protected = _joint_protection(arr_rows, "category", ["elucidated", "facts"], min_count, analyst)
            mine = protected[protected["arrondissement"] == code]
            shown = {r["category"]: (r["elucidated"], r["facts"]) for r in mine.to_dict("records")}
    rows = []
    for rec in part.to_dict("records"):
        if rec["category"] not in shown:
            continue  # a sensitive category, given for the city only
        e, f = shown[rec["category"]]
        hidden = _hidden(e) or _hidden(f)
        rows.append({"Catégorie": labels.category_label(rec["category"]), "Faits élucidés": e if _hidden(e) else _num(e),
                     "Faits enregistrés": f if _hidden(f) else _num(f),
                     "Pour 100 faits (IC 95 %)": "non publié (petit effectif)" if hidden else _rate_text(rec["rate"], rec["low"], rec["high"], rec["reason"])})
    return pd.DataFrame(rows, columns=cols)


def service_series(tables) -> pd.DataFrame:  # noqa: ANN001
    """Yearly totals by service (year, service label, staff hours, budget) for the « over time » chart."""
    df = tables.by_year
    if df.empty:
        return pd.DataFrame(columns=["year", "service", "staff_hours", ind.BUDGET_TOTAL])
    out = df.groupby(["year", "service"], as_index=False)[["staff_hours", ind.BUDGET_TOTAL]].sum()
    out["service"] = out["service"].map(SERVICE_LABELS)
    return out
