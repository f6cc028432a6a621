"""CSV / XLSX files of the Plan d'actions page's cards, through the house writers (counts masked for élus)."""

from __future__ import annotations

import dash
import pandas as pd
from dash import dcc, no_update

from observatory import labels
from observatory.actions import STATUS_LABELS, TYPE_LABELS
from observatory.dashboard import components, security
from observatory.dashboard.action_plan.context import action_series
from observatory.dashboard.action_plan.context import views as _views
from observatory.dashboard.action_plan.ids import EVAL_TABLE, EXPORT_FORMATS, MAP, OBJ_TABLE, SERIES, TIMELINE
from observatory.dashboard.action_plan.tables import _mask_counts_in_text, _text

EXPORT_TITLES = {
    TIMELINE: "Calendrier des actions",
    MAP: "Périmètres des actions",
    SERIES: "Faits visés par mois dans le périmètre et sa zone tampon",
    OBJ_TABLE: "Suivi des objectifs",
    EVAL_TABLE: "Évaluation des actions",
}


def _masked(value: float, analyst: bool, min_count: int):  # noqa: ANN202 - number, "< 5" or None
    """A count for a file: the number (rounded to 0.1: n_facts can weigh), "< 5" for an élu's 1..4, empty if unknown."""
    if value is None or value != value:
        return None
    if not analyst and 0 < value < min_count:
        return f"<{labels.NBSP}{min_count}"
    return round(float(value), 1) if float(value) != int(value) else int(value)


def _pct(value: float):  # noqa: ANN202
    return None if value is None or value != value else round(100 * float(value), 1)


def timeline_table(reg: pd.DataFrame) -> pd.DataFrame:
    """The register as the calendar shows it, French headers (the data of the calendar and of the map)."""
    cols = ["Identifiant", "Intitulé", "Type", "Statut", "Partenaire", "Arrondissement", "Zone", "Début", "Fin", "Catégories visées", "Objectif"]
    if reg.empty:
        return pd.DataFrame(columns=cols)
    reg = reg.sort_values(["start", "action_id"])
    return pd.DataFrame(
        {
            "Identifiant": reg["action_id"].astype(str).to_numpy(),
            "Intitulé": reg["title"].astype(str).to_numpy(),
            "Type": reg["type"].map(TYPE_LABELS).to_numpy(),
            "Statut": reg["status"].map(STATUS_LABELS).to_numpy(),
            "Partenaire": [_text(v) for v in reg.get("partner", pd.Series("", index=reg.index))],
            "Arrondissement": [labels.arrondissement_label(a) if isinstance(a, str) and a else "" for a in reg["arrondissement"]],
            "Zone": [_text(z) or "périmètre propre" for z in reg["zone_id"]],
            "Début": list(reg["start"]),
            "Fin": [e if e is not None and e == e else None for e in reg["end"]],
            "Catégories visées": [", ".join(labels.category_label(c) for c in cats) for cats in reg["categories"]],
            "Objectif": [_text(v) for v in reg.get("objective", pd.Series("", index=reg.index))],
        },
        columns=cols,
    )


def evaluation_export(ev: pd.DataFrame, analyst: bool, min_count: int) -> pd.DataFrame:
    """The evaluation table for a file: verdict and notes as on screen, counts masked for élus, both tests with
    their intervals and p-values (the DiD answers the perimeter question, the WDD the net one)."""
    from observatory.actions.evaluation import MIN_WINDOW_MONTHS

    rows = []
    for r in ev.to_dict("records"):
        usable = (r.get("window_months") or 0) >= MIN_WINDOW_MONTHS

        def count(v):  # noqa: ANN001, ANN202
            return _masked(v, analyst, min_count) if usable else None

        # As on the page, an élu's file has no test figures where the verdict is "no conclusion" (with masked
        # counts, the DiD ratio and the WDD together would give them back); the analyst's keeps them.
        tested = usable and (analyst or r.get("verdict_code") != "no_conclusion")

        def num(v, d=1):  # noqa: ANN001, ANN202
            return None if not tested or v is None or v != v else round(float(v), d)

        rows.append({
            "Identifiant": r["action_id"], "Intitulé": _text(r.get("title")),
            "Verdict": _mask_counts_in_text(r["verdict"], r["treated_before"], r["treated_after"], analyst, min_count),
            "Zone tampon (note)": _text(r.get("displacement_note")), "Fenêtres (note)": _text(r.get("window_note")),
            "Fenêtres (mois)": int(r["window_months"] or 0),
            "Début fenêtre avant": r.get("before_start") if usable else None, "Fin fenêtre après": r.get("after_end") if usable else None,
            "Périmètre avant": count(r["treated_before"]), "Périmètre après": count(r["treated_after"]),
            "Témoin avant": count(r["control_before"]), "Témoin après": count(r["control_after"]),
            "Zone tampon avant": count(r["buffer_before"]), "Zone tampon après": count(r["buffer_after"]),
            "Périmètre vs témoin : différence de différences (%)": _pct(r["did_ratio"] - 1) if tested else None,
            "DiD IC 95 % bas (%)": _pct(r["did_ci_low"] - 1) if tested else None,
            "DiD IC 95 % haut (%)": _pct(r["did_ci_high"] - 1) if tested else None,
            "DiD p": num(r.get("did_p_value"), 4),
            "Bilan net zone tampon comprise : WDD (faits)": num(r["wdd"]),
            "WDD IC 95 % bas": num(r.get("ci_low")), "WDD IC 95 % haut": num(r.get("ci_high")),
            "WDD p": num(r.get("p_value"), 4),
            "Zone témoin": _text(r.get("control")),
        })
    return pd.DataFrame(rows, columns=EVALUATION_EXPORT_COLUMNS)


EVALUATION_EXPORT_COLUMNS = [
    "Identifiant", "Intitulé", "Verdict", "Zone tampon (note)", "Fenêtres (note)", "Fenêtres (mois)", "Début fenêtre avant", "Fin fenêtre après",
    "Périmètre avant", "Périmètre après", "Témoin avant", "Témoin après", "Zone tampon avant", "Zone tampon après",
    "Périmètre vs témoin : différence de différences (%)", "DiD IC 95 % bas (%)", "DiD IC 95 % haut (%)", "DiD p",
    "Bilan net zone tampon comprise : WDD (faits)", "WDD IC 95 % bas", "WDD IC 95 % haut", "WDD p", "Zone témoin",
]


OBJECTIVE_EXPORT_COLUMNS = [
    "Identifiant", "Intitulé", "Suivi", "Objectif", "Année visée", "Mois comparés", "Année précédente (faits)", "Année visée (faits)",
    "Cible (%)", "Constaté (%)", "p de l'écart à la cible",
]


def objectives_export(obj: pd.DataFrame, analyst: bool, min_count: int) -> pd.DataFrame:
    """The objectives table for a file: follow-up sentence, counts (masked for élus), target and actual in %."""
    rows = [
        {
            "Identifiant": r["action_id"], "Intitulé": _text(r.get("title")), "Suivi": r["objective_text"], "Objectif": _text(r.get("objective")),
            "Année visée": int(r["objective_year"]) if r["objective_year"] == r["objective_year"] else None,
            "Mois comparés": int(r["months"]) if r.get("months") == r.get("months") else None,
            "Année précédente (faits)": _masked(r["previous"], analyst, min_count), "Année visée (faits)": _masked(r["current"], analyst, min_count),
            "Cible (%)": _pct(r["target_change"]), "Constaté (%)": _pct(r["actual_change"]),
            "p de l'écart à la cible": None if r.get("gap_p_value") != r.get("gap_p_value") else round(float(r["gap_p_value"]), 4),
        }
        for r in obj.to_dict("records")
    ]
    return pd.DataFrame(rows, columns=OBJECTIVE_EXPORT_COLUMNS)


def series_export(monthly: pd.DataFrame) -> pd.DataFrame:
    """The monthly series (already protected for élus) wide: Mois, Périmètre de l'action, Zone tampon (300 m)."""
    if monthly.empty:
        return pd.DataFrame(columns=["Mois", "Périmètre de l'action", "Zone tampon (300 m)"])
    names = {"perimetre": "Périmètre de l'action", "zone_tampon": "Zone tampon (300 m)"}
    values = [_masked(v, True, 0) for v in monthly["count"]]
    if "count_text" in monthly.columns:  # a protected view: hidden months carry their "< 5" text
        values = [t if v is None else v for v, t in zip(values, monthly["count_text"])]
    wide = monthly.assign(value=pd.array(values, dtype=object)).pivot(index="month", columns="area", values="value").rename(columns=names).reset_index()
    wide.columns.name = None
    wide["Mois"] = [f"{labels.month_name(m.month)} {m.year}" for m in pd.to_datetime(wide["month"])]
    return wide[["Mois"] + [c for c in names.values() if c in wide.columns]]


def export_payload(target: str, fmt: str, action_id: str | None, analyst: bool):  # noqa: ANN201 - dcc.send_bytes dict | None
    """The file of one card: its data for the selected action (or every action), through the house writers."""
    from observatory.reports.exports import ExportMeta, slug, to_csv_bytes, to_xlsx_bytes

    if fmt not in EXPORT_FORMATS or target not in EXPORT_TITLES:
        return None
    settings = components.settings()
    views = _views()
    plan = views["plan"]
    min_count = settings.min_count
    selection = "toutes les actions du registre valide"
    if target in (TIMELINE, MAP):
        df = timeline_table(plan.register)
    elif not analyst:
        # Evaluation windows and monthly series of a perimeter are not in the élus' publication (issue 15).
        from observatory.dashboard.elu_views import WITHHELD

        df = pd.DataFrame({"note": [WITHHELD]})
    elif target == EVAL_TABLE:
        df = evaluation_export(views["evaluations"], analyst, min_count)
    elif target == OBJ_TABLE:
        df = objectives_export(views["objectives"], analyst, min_count)
    else:
        if not action_id or plan.register.empty or action_id not in set(plan.register["action_id"]):
            return None
        monthly = action_series(settings, views, action_id)
        from observatory.dashboard import shaping

        # The same view as the chart: élus get months with 1..min_count−1 facts as "< 5".
        df = series_export(shaping.protected_view(monthly, ["count"], min_count, analyst=analyst))
        rec = plan.register.set_index("action_id").loc[action_id]
        selection = f"action {action_id} ; catégories : " + ", ".join(labels.category_label(c) for c in rec["categories"])
    data_range = views.get("data_range")
    period = f" ; données du {labels.fmt_date(data_range[0])} au {labels.fmt_date(data_range[1])}" if data_range else ""
    meta = ExportMeta(
        title=f"{EXPORT_TITLES[target]} — plan d'actions du CLS",
        source="Observatoire de la délinquance et de la sécurité de Lyon ; registre du plan d'actions" + (" ; méthode : docs/actions.md" if analyst else ""),
        filters=selection + period,
        snapshot_id=getattr(getattr(views["source"], "snapshot", None), "id", "") or "",
        privacy=f"effectifs de 1 à {min_count - 1} affichés « < {min_count} »" if not analyst else "",
        protected=not analyst,
    )
    stem = slug("_".join(b for b in (EXPORT_TITLES[target], action_id if target == SERIES else "") if b))
    if fmt == "csv":
        return dcc.send_bytes(to_csv_bytes(df, meta), f"{stem}.csv")
    return dcc.send_bytes(to_xlsx_bytes(df, meta), f"{stem}.xlsx")


def _export_clicked(clicks, action_id):  # noqa: ANN001, ANN202
    trig = dash.ctx.triggered_id
    if not trig or not any(clicks or []):
        return no_update
    payload = export_payload(trig["target"], trig["fmt"], action_id, security.is_analyst())
    return payload if payload is not None else no_update
