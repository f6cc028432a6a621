"""Veille: this week's alerts of each cellule de veille (observed vs expected band, since when, where, when),
and the history of alert episodes.

Élus read the alert, not its counts: which unit and family are above what is expected, since when, and whether
it is this week's peak or a lasting rise. Weekly counts, the expected band, the places with their counts and
the chart are the analysts': they are weekly counts of small units outside the year's protected publication
(issue 15), and a « < 5 » on a week of one unit is no protection against the next week, the neighbouring unit
or the year's published totals. The élu card is built without reading any count (:func:`elu_alert_card`), so
the callback's output cannot carry one.
"""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, callback, dcc, html

from observatory import labels
from observatory.dashboard import access, components, geo, ids, security
from observatory.veille.cellules import ALL_CELLULE, CELLULES_FILE, read_cellules
from observatory.veille.model import ALL_FAMILIES, METHOD_NOTE, VeilleError
from observatory.veille.watch import alert_details, current_watch, read_history

dash.register_page(__name__, path="/veille", name="Veille", title="Veille — Observatoire", order=5)
security.allow_elu_page("/veille")
# Élus read the alerts without their counts (elu_alert_card); analysts get the counts, places and chart.
access.allow_callback(access.SIGNED_IN, access.output_key(ids.VE_ALERTS, "children"))

LEVELS = {"propre": "", "toutes familles": "historique court : suivi toutes familles confondues",
          "arrondissement": "historique court : suivi à l'échelle de l'arrondissement", "ville": "historique court : suivi à l'échelle de la ville"}


def family_text(code: str) -> str:
    return "toutes familles" if code == ALL_FAMILIES else labels.family_label(code)


def count_text(value, analyst: bool, min_count: int) -> str:
    v = int(value)
    return f"< {min_count}" if not analyst and 0 < v < min_count else labels.fmt_int(v)


def week_options(an) -> list[dict]:
    """The last 52 complete weeks of the snapshot, newest first (value: Monday ISO date)."""
    from observatory.veille.model import iso_week
    from observatory.veille.watch import last_complete_week

    hi = an.date_range()[1]
    if hi is None:
        return []
    last = last_complete_week(hi)
    weeks = [last - pd.Timedelta(weeks=k) for k in range(52)]
    return [{"label": f"{iso_week(w)} (du {labels.fmt_date(w.date())})", "value": w.date().isoformat()} for w in weeks]


def layout(cellule: str | None = None, semaine: str | None = None, **_query):
    an = components.analytics()
    if not components.has_data(an):
        return html.Div([html.H1("Veille", className="h4"), components.empty_state()])
    try:
        cells = read_cellules(components.settings().reference_dir / CELLULES_FILE)
        problem = None
    except VeilleError as exc:
        cells, problem = read_cellules(components.settings().reference_dir / "__absent__"), str(exc)
    options = [{"label": c.name, "value": c.cellule_id} for c in cells]
    value = cellule if cellule in {c.cellule_id for c in cells} else ALL_CELLULE
    weeks = week_options(an)
    try:
        from observatory.veille.model import week_start

        wanted = week_start(semaine).date().isoformat() if semaine else None
    except VeilleError:
        wanted = None
    week_value = wanted if wanted in {w["value"] for w in weeks} else (weeks[0]["value"] if weeks else None)
    return html.Div([
        html.H1("Veille hebdomadaire des cellules", className="h4"),
        html.P("La veille porte sur tous les faits du périmètre : les filtres du haut de page ne s'y appliquent pas.", className="small text-muted"),
        dbc.Alert(problem, color="warning") if problem else None,
        dbc.Row([dbc.Col(html.Label("Cellule de veille", htmlFor=ids.VE_CELLULE), width="auto"),
                 dbc.Col(components.dropdown(id=ids.VE_CELLULE, options=options, value=value, clearable=False), lg=5),
                 dbc.Col(html.Label("Semaine", htmlFor=ids.VE_WEEK), width="auto"),
                 dbc.Col(components.dropdown(id=ids.VE_WEEK, options=weeks, value=week_value, clearable=False), lg=3)], className="mb-3 align-items-center"),
        html.Div(id=ids.VE_ALERTS),
        dbc.Card([dbc.CardHeader(html.H2("Historique des alertes", className="h6 mb-0")), dbc.CardBody(html.Div(id=ids.VE_HISTORY))], className="mb-3 shadow-sm"),
        html.P(id=ids.VE_NOTE, className="method-note small text-muted"),
    ])


def alert_kind(row) -> str:  # noqa: ANN001 - an alert row
    return "pic de la semaine" if row.spike else "hausse durable"


def elu_alert_card(row):  # noqa: ANN001, ANN201 - an alert row → dbc.Card
    """An alert as an élu reads it: unit, family, since when, peak or lasting rise — no count, no band, no place."""
    level = LEVELS.get(row.level, "")
    return dbc.Card([
        dbc.CardHeader([html.Strong(f"{row.name} — {family_text(row.family)}"),
                        dbc.Badge("nouvelle" if row.new else f"depuis {row.since}", color="danger" if row.new else "warning", className="ms-2")]),
        dbc.CardBody([
            html.P(f"Semaine {row.week} : plus de faits que ce que les semaines précédentes laissaient attendre — {alert_kind(row)}."
                   + (f" ({level})" if level else ""), className="mb-1"),
            html.P("Les comptes hebdomadaires, les lieux et le graphique sont réservés aux analystes : ce sont des comptes de "
                   "petits périmètres, hors de la publication protégée de l'année.", className="small text-muted mb-0"),
        ]),
    ], className="mb-3 shadow-sm veille-alert")


def alert_card(an, res, row, analyst: bool, min_count: int):
    from observatory.veille.charts import alert_figure

    if not analyst:
        return elu_alert_card(row)
    series = res.assessed[(res.assessed["unit_id"] == row.watched_unit) & (res.assessed["family"] == row.watched_family)].copy()
    fig = alert_figure(series)
    since = pd.Timestamp(res.assessed["week"].min()) if pd.isna(row.since) else None
    first = series.loc[series["alert"], "week"].min() if since is None else since
    cells, hours = alert_details(an, row.watched_unit, row.watched_family, first, res.last_week)
    places = " ; ".join(f"{c} : {count_text(n, analyst, min_count)}" for c, n in zip(geo.cell_names(an.settings, cells["grid_cell"]), cells["count"])) or "—"
    peak = hours.sort_values("count", ascending=False).head(3)["hour"].sort_values().tolist()
    hours_text = ", ".join(f"{h} h" for h in peak) or "—"
    kind = alert_kind(row)
    level = LEVELS.get(row.level, "")
    return dbc.Card([
        dbc.CardHeader([html.Strong(f"{row.name} — {family_text(row.family)}"),
                        dbc.Badge("nouvelle" if row.new else f"depuis {row.since}", color="danger" if row.new else "warning", className="ms-2")]),
        dbc.CardBody([
            html.P([f"Semaine {row.week} : {count_text(row.observed, analyst, min_count)} faits observés, "
                    f"{labels.fmt_number(row.expected, 1)} attendus (intervalle {labels.fmt_int(row.lower)} à {labels.fmt_int(row.upper)}) — {kind}."
                    + (f" ({level})" if level else "")], className="mb-1"),
            html.P(f"Lieux principaux : {places}. Heures les plus chargées : {hours_text}.", className="small mb-1"),
            dcc.Graph(figure=fig, config={"displayModeBar": False}, style={"height": "220px"}),
        ]),
    ], className="mb-3 shadow-sm veille-alert")


@callback(Output(ids.VE_ALERTS, "children"), Output(ids.VE_HISTORY, "children"), Output(ids.VE_NOTE, "children"), Input(ids.VE_CELLULE, "value"),
          Input(ids.VE_WEEK, "value"))
def show(cellule_id, week):
    an = components.analytics()
    settings = components.settings()
    try:
        cells = {c.cellule_id: c for c in read_cellules(settings.reference_dir / CELLULES_FILE)}
    except VeilleError as exc:
        return dbc.Alert(str(exc), color="warning"), None, ""
    # Dropdown values are strings; anything else is a crafted request, answered as the default choice.
    cellule_id = cellule_id if isinstance(cellule_id, str) else None
    week = week if isinstance(week, str) else None
    cell = cells.get(cellule_id) or cells[ALL_CELLULE]
    latest = week_options(an)
    chosen = pd.Timestamp(week) if week and latest and week != latest[0]["value"] and week in {w["value"] for w in latest} else None
    res = current_watch(an, last_week=chosen)
    analyst, mc = components.is_analyst(), components.min_count()
    # An analyst reads the snapshot id (to reproduce the watch); an élu reads the date of the data.
    origin = f"instantané {an.snapshot_id}" if components.is_analyst_view() else labels.data_as_of(getattr(an, "snapshot", None))
    method = f"{METHOD_NOTE} Niveau de fausses alertes : {labels.fmt_number(100 * settings.veille_alpha, 1)} % par semaine."
    # An élu reads the source and the date; the model (binomiale négative, Bonferroni, EWMA) folds under « Méthode ».
    note = f"Source : {origin}. {method}" if components.is_analyst_view() else [
        f"Source : {origin}. ", html.Details([html.Summary("Méthode", className="d-inline"), " " + method], className="method-details d-inline")]
    if res.last_week is None:
        return dbc.Alert("Pas assez de données pour la veille.", color="info"), None, note
    alerts = res.alerts[[cell.follows(u, f) for u, f in zip(res.alerts["unit_id"], res.alerts["family"])]] if not res.alerts.empty else res.alerts
    from observatory.veille.model import iso_week

    head = html.P(f"Semaine {iso_week(res.last_week)} : {len(alerts)} alerte(s) pour « {cell.name} ».", className="fw-bold")
    if alerts.empty:
        body = [head, dbc.Alert("Aucun périmètre suivi n'est au-dessus de l'attendu cette semaine.", color="success")]
    else:
        body = [head] + [alert_card(an, res, row, analyst, mc) for row in alerts.rename(columns={"count": "observed"}).itertuples()]
    hist = read_history(settings)
    if not hist.empty:
        hist = hist[[cell.follows(u, f) for u, f in zip(hist["unit_id"], hist["family"])]]
    names = dict(zip(res.units["unit_id"], res.units["name"]))
    if hist.empty:
        table = html.P("Aucune alerte enregistrée.")
    else:
        rows = [html.Tr([html.Td(names.get(r.unit_id, r.unit_id)), html.Td(family_text(r.family)), html.Td(r.since), html.Td(r.until),
                         html.Td(f"{labels.fmt_int(r.weeks)} semaine{'s' if r.weeks > 1 else ''}"), html.Td("en cours" if r.status == "ouverte" else "close")])
                for r in hist.sort_values("since", ascending=False).head(100).itertuples()]
        table = dbc.Table([html.Thead(html.Tr([html.Th(h) for h in ("Périmètre", "Famille", "Depuis", "Jusqu'à", "Durée", "État")])), html.Tbody(rows)],
                          size="sm", striped=True, className="mb-0")
    return body, table, note
