"""Plan d'actions: the calendar of CLS actions, their perimeters, targeted series, objectives and evaluations.

Élus read; analysts also create, edit and close actions. Edits go through
``observatory.actions.upsert_action`` / ``close_action`` (validation, then atomic write-back of the register),
and every edit callback refuses on the server when ``security.is_analyst()`` is False — on top of the
security layer's own 403 for the registered ``actions-edit*`` ids.
"""

from __future__ import annotations

from datetime import date

import dash
import dash_bootstrap_components as dbc
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
from dash import Input, Output, State, callback, dcc, html, no_update

from observatory import figures, labels
from observatory.actions import ACTION_COLUMNS, ACTION_STATUSES, ACTION_TYPES, STATUS_LABELS, TYPE_LABELS, RegisterError
from observatory.dashboard import components, security

dash.register_page(__name__, path="/actions", name="Plan d'actions", title="Plan d'actions — Observatoire", order=70)

# Component ids (page-local: the edit ones share the "actions-edit" prefix the security layer guards).
ACTION = "actions-select"
GROUP = "actions-group"
TIMELINE = "actions-timeline"
MAP = "actions-map"
SERIES = "actions-series"
EVAL_TABLE = "actions-eval-table"
OBJ_TABLE = "actions-objectives-table"
VERSION = "actions-register-version"
EDIT_PREFIX = "actions-edit"
EDIT_FIELD = {c: f"{EDIT_PREFIX}-{c}" for c in ACTION_COLUMNS}
EDIT_LOAD = f"{EDIT_PREFIX}-load"
EDIT_SAVE = f"{EDIT_PREFIX}-save"
EDIT_CLOSE = f"{EDIT_PREFIX}-close"
EDIT_CLOSE_DATE = f"{EDIT_PREFIX}-close-date"
EDIT_MESSAGE = f"{EDIT_PREFIX}-message"

security.require_analyst(EDIT_PREFIX + "*")

REFUSED = "Modification refusée : seuls les analystes peuvent créer, modifier ou clôturer une action."
FIELD_LABELS = {
    "action_id": "Identifiant", "title": "Intitulé", "type": "Type", "partner": "Partenaire pilote", "zone_id": "Zone",
    "lon": "Longitude", "lat": "Latitude", "radius_m": "Rayon (m)", "start": "Début", "end": "Fin",
    "categories": "Catégories ciblées", "objective": "Objectif (texte)", "target_change_pct": "Objectif chiffré (%)",
    "objective_year": "Année de l'objectif", "status": "Statut", "notes": "Notes",
}


def _views() -> dict:
    from observatory.actions import dashboard_views

    return dashboard_views(components.settings())


# Layout -------------------------------------------------------------------------------------------------------
def layout(action: str | None = None, **_query):  # noqa: ANN003, ANN201
    views = _views()
    plan = views["plan"]
    reg = plan.register
    options = [{"label": f"{r['action_id']} — {r['title']}", "value": r["action_id"]} for r in reg.sort_values("start").to_dict("records")] if not reg.empty else []
    selected = action if action in set(reg.get("action_id", [])) else (options[0]["value"] if options else None)
    problems = None
    if plan.problems:
        problems = dbc.Alert(
            [html.Strong(f"{len(plan.problems)} problème(s) dans le registre : les lignes concernées sont ignorées."), html.Ul([html.Li(str(p)) for p in plan.problems[:20]])],
            color="warning",
            className="small",
        )
    controls = dbc.Row(
        [
            dbc.Col(dcc.Dropdown(id=ACTION, options=options, value=selected, clearable=False, placeholder="Aucune action"), md=8),
            dbc.Col(dbc.RadioItems(id=GROUP, options=[{"label": "par arrondissement", "value": "arrondissement"}, {"label": "par zone", "value": "zone"}], value="arrondissement", inline=True, className="small"), md=4),
        ],
        className="mb-2",
    )
    body = [
        html.H1("Plan d'actions", className="h4"),
        html.P(
            "Calendrier des actions du CLS, périmètres, séries des indicateurs visés et évaluation avant/après "
            "contre une zone témoin (méthode : docs/actions.md).",
            className="small text-muted",
        ),
        problems,
        dcc.Store(id=VERSION, data=0),
        controls,
        dbc.Row(
            [
                dbc.Col(_card(TIMELINE, "Calendrier des actions"), lg=7),
                dbc.Col(_card(MAP, "Périmètres (action choisie en couleur)"), lg=5),
            ],
            className="g-3",
        ),
        _card(SERIES, "Faits visés par mois dans le périmètre et sa zone tampon (début et fin de l'action marqués)"),
        dbc.Card([dbc.CardHeader(html.H2("Suivi des objectifs", className="h6 mb-0")), dbc.CardBody(html.Div(id=OBJ_TABLE, className="table-responsive"), className="p-2")], className="mb-3 shadow-sm"),
        dbc.Card(
            [
                dbc.CardHeader(html.H2("Évaluation des actions (WDD, différence de différences)", className="h6 mb-0")),
                dbc.CardBody(html.Div(id=EVAL_TABLE, className="table-responsive"), className="p-2"),
                dbc.CardFooter(html.Small(_method_text(), className="text-muted"), className="py-1"),
            ],
            className="mb-3 shadow-sm",
        ),
    ]
    if security.is_analyst():
        body.append(_edit_form(options))
    return html.Div([b for b in body if b is not None])


def _card(graph_id: str, title: str) -> dbc.Card:
    return dbc.Card(
        [dbc.CardHeader(html.H2(title, className="h6 mb-0")), dbc.CardBody(dcc.Loading(dcc.Graph(id=graph_id, config=figures.image_export_config(graph_id)), type="circle", delay_show=300), className="p-2")],
        className="mb-3 shadow-sm",
    )


def _method_text() -> str:
    s = components.settings()
    return (
        f"Fenêtres de {s.eval_window_months} mois avant et après le début (réduites si les données manquent, au moins 3 mois). "
        "Zone témoin : carreaux comparables du même arrondissement hors de toute action et hors zone tampon (300 m). "
        "WDD < 0 : moins de faits que ne le prévoit la zone témoin, déplacement compris (Wheeler et Ratcliffe, 2018). "
        "« Pas de conclusion possible » quand les fenêtres sont trop courtes ou les effectifs trop faibles pour voir même une baisse de moitié. "
        "Une étude observationnelle ne prouve pas la causalité."
    )


def _edit_form(options: list[dict]) -> dbc.Card:
    def field(col: str, component) -> dbc.Col:  # noqa: ANN001
        return dbc.Col([dbc.Label(FIELD_LABELS[col], html_for=EDIT_FIELD[col], className="small mb-0"), component], md=3, className="mb-2")

    def text(col: str, placeholder: str = "") -> dbc.Col:
        return field(col, dbc.Input(id=EDIT_FIELD[col], type="text", size="sm", placeholder=placeholder))

    return dbc.Card(
        [
            dbc.CardHeader(html.H2("Créer, modifier ou clôturer une action (analystes)", className="h6 mb-0")),
            dbc.CardBody(
                [
                    dbc.Row(
                        [
                            dbc.Col(dcc.Dropdown(id=EDIT_LOAD, options=options, placeholder="Charger une action existante pour la modifier…"), md=6),
                        ],
                        className="mb-2",
                    ),
                    dbc.Row(
                        [
                            text("action_id", "ex. A-2026-01"),
                            text("title"),
                            field("type", dbc.Select(id=EDIT_FIELD["type"], size="sm", options=[{"label": TYPE_LABELS[t], "value": t} for t in ACTION_TYPES], value="patrouilles")),
                            text("partner"),
                            text("zone_id", "ex. hypercentre"),
                            text("lon", "ou longitude (WGS84)"),
                            text("lat", "latitude"),
                            text("radius_m", "rayon en mètres"),
                            text("start", "AAAA-MM-JJ"),
                            text("end", "AAAA-MM-JJ (vide si en cours)"),
                            text("categories", "codes séparés par |"),
                            field("status", dbc.Select(id=EDIT_FIELD["status"], size="sm", options=[{"label": STATUS_LABELS[s], "value": s} for s in ACTION_STATUSES], value="prevue")),
                            text("objective", "ex. −10 % des vols en 2026"),
                            text("target_change_pct", "ex. -10"),
                            text("objective_year", "ex. 2026"),
                            text("notes"),
                        ]
                    ),
                    html.Div(
                        [
                            dbc.Button("Enregistrer", id=EDIT_SAVE, color="primary", size="sm", className="me-2"),
                            dbc.Input(id=EDIT_CLOSE_DATE, type="text", size="sm", placeholder="date de fin AAAA-MM-JJ", style={"maxWidth": "14rem"}, className="me-2"),
                            dbc.Button("Clôturer l'action", id=EDIT_CLOSE, color="secondary", outline=True, size="sm"),
                        ],
                        className="d-flex align-items-center",
                    ),
                    html.Div(id=EDIT_MESSAGE, className="mt-2 small", role="status"),
                ]
            ),
        ],
        className="mb-3 shadow-sm",
    )


# Figures --------------------------------------------------------------------------------------------------------
def timeline_figure(reg: pd.DataFrame, group: str, data_end: date | None, selected: str | None) -> go.Figure:
    """Gantt-like chart: one bar per action, grouped by arrondissement or zone; open actions run to the data's end."""
    if reg.empty:
        return figures.empty_figure("Aucune action dans le registre")
    today = data_end or date.today()
    df = reg.assign(
        debut=pd.to_datetime(reg["start"]),
        fin=pd.to_datetime([e if e is not None else max(today, s) for s, e in zip(reg["start"], reg["end"])]),
        groupe=[
            (labels.arrondissement_label(a) if group == "arrondissement" else (z or "périmètre propre"))
            for a, z in zip(reg["arrondissement"], reg["zone_id"])
        ],
        type_label=reg["type"].map(TYPE_LABELS),
        statut=reg["status"].map(STATUS_LABELS),
        libelle=reg["action_id"] + " — " + reg["title"],
        periode=[f"{labels.fmt_date(s)} → {labels.fmt_date(e) if e else 'en cours'}" for s, e in zip(reg["start"], reg["end"])],
    )
    fig = px.timeline(df, x_start="debut", x_end="fin", y="groupe", color="type_label", hover_name="libelle", hover_data={"periode": True, "statut": True, "debut": False, "fin": False, "groupe": False, "type_label": False}, labels={"type_label": "Type", "groupe": "", "periode": "Période", "statut": "Statut"})
    fig.update_yaxes(autorange="reversed")
    return figures.theme(fig, height=max(260, 60 + 28 * df["groupe"].nunique()))


def map_figure(layer, selected: str | None, style: str) -> go.Figure:  # noqa: ANN001 - GeoDataFrame
    """Action perimeters on a MapLibre map; the selected one filled in colour, the others outlined."""
    if layer.empty:
        return figures.empty_figure("Aucun périmètre")
    geojson = figures.to_geojson(layer, "action_id", decimals=5)
    names = layer["action_id"] + " — " + layer["title"]
    is_sel = (layer["action_id"] == selected).astype(int)
    fig = go.Figure(
        go.Choroplethmap(
            geojson=geojson,
            locations=layer["action_id"],
            z=is_sel,
            colorscale=[[0, "rgba(82,96,109,0.25)"], [1, "rgba(214,69,65,0.6)"]],
            zmin=0,
            zmax=1,
            showscale=False,
            marker={"line": {"width": 1.5, "color": "#333"}},
            text=names,
            hovertemplate="%{text}<extra></extra>",
            name="Périmètres",
        )
    )
    center = None
    if selected in set(layer["action_id"]):
        c = layer.set_index("action_id").loc[selected].geometry.centroid
        center = {"lon": c.x, "lat": c.y}
    fig.update_layout(map={"style": style, "center": center or {"lon": 4.845, "lat": 45.76}, "zoom": 13 if center else 11.3}, margin={"l": 0, "r": 0, "t": 0, "b": 0}, height=380)
    return figures.theme(fig, height=380)


def series_figure(series: pd.DataFrame, start: date, end: date | None) -> go.Figure:
    """Monthly lines for the perimeter and its buffer, with the action's start and end as dashed verticals."""
    if series.empty:
        return figures.empty_figure("Pas de données pour cette action")
    names = {"perimetre": "Périmètre de l'action", "zone_tampon": "Zone tampon (300 m)"}
    fig = go.Figure()
    for area, part in series.groupby("area", sort=False):
        fig.add_trace(go.Scatter(x=part["month"], y=part["count"], mode="lines+markers", name=names.get(area, area), hovertemplate="%{x|%m/%Y} : %{y} faits<extra></extra>"))
    for when, text in ((start, "début"), (end, "fin")):
        if when is None:
            continue
        x = pd.Timestamp(when)
        # add_vline's annotation does not handle datetime axes: draw the line and its label separately.
        fig.add_shape(type="line", x0=x, x1=x, y0=0, y1=1, yref="paper", line={"dash": "dash", "color": "#d64541"})
        fig.add_annotation(x=x, y=1, yref="paper", text=f"{text} {labels.fmt_date(when)}", showarrow=False, yanchor="bottom", font={"size": 11})
    fig.update_yaxes(title_text="Faits par mois", rangemode="tozero")
    return figures.theme(fig, height=340)


# Tables -------------------------------------------------------------------------------------------------------
def _count(value: float, analyst: bool, min_count: int) -> str:
    if value != value:
        return "–"
    if not analyst and 0 < value < min_count:
        return f"<{labels.NBSP}{min_count}"  # élus never see small counts (privacy rule, DESIGN §6)
    return labels.fmt_int(value)


def evaluation_table(ev: pd.DataFrame, analyst: bool, min_count: int) -> html.Div:
    if ev.empty:
        return html.P("Aucune action à évaluer.", className="small text-muted")
    C = components.Col
    df = ev.assign(
        periode=[f"{labels.fmt_date(b)} → {labels.fmt_date(a)} ({m} mois × 2)" for b, a, m in zip(ev["before_start"], ev["after_end"], ev["window_months"])],
        perimetre=[f"{_count(b, analyst, min_count)} → {_count(a, analyst, min_count)}" for b, a in zip(ev["treated_before"], ev["treated_after"])],
        temoin=[f"{_count(b, analyst, min_count)} → {_count(a, analyst, min_count)}" for b, a in zip(ev["control_before"], ev["control_after"])],
        tampon=[f"{_count(b, analyst, min_count)} → {_count(a, analyst, min_count)}" for b, a in zip(ev["buffer_before"], ev["buffer_after"])],
        wdd_txt=["–" if w != w else f"{labels.fmt_signed(w, 1)} ± {labels.fmt_number(s, 1)}" for w, s in zip(ev["wdd"], ev["wdd_se"])],
        did_txt=["–" if r != r else f"{labels.fmt_pct(r - 1)} [{labels.fmt_pct(lo - 1)} ; {labels.fmt_pct(hi - 1)}]" for r, lo, hi in zip(ev["did_ratio"], ev["did_ci_low"], ev["did_ci_high"])],
        avis=[" ".join(x for x in (v, d, n) if x) for v, d, n in zip(ev["verdict"], ev["displacement_note"], ev["window_note"])],
    )
    return components.french_table(
        df,
        [
            C("action_id", "Action"), C("periode", "Fenêtres"), C("perimetre", "Périmètre avant → après"), C("temoin", "Témoin avant → après"),
            C("tampon", "Zone tampon avant → après"), C("wdd_txt", "WDD ± écart-type"), C("did_txt", "Différence de différences [IC 95 %]"), C("avis", "Verdict"),
        ],
    )


def objectives_table(obj: pd.DataFrame, analyst: bool, min_count: int) -> html.Div:
    if obj.empty:
        return html.P("Aucune action n'a d'objectif chiffré.", className="small text-muted")
    C = components.Col
    df = obj.assign(
        annees=[f"{_count(p, analyst, min_count)} → {_count(c, analyst, min_count)}" for p, c in zip(obj["previous"], obj["current"])],
        cible=obj["target_change"].map(labels.fmt_pct),
        constate=obj["actual_change"].map(labels.fmt_pct),
    )
    return components.french_table(
        df,
        [C("action_id", "Action"), C("objective", "Objectif"), C("objective_year", "Année", str), C("annees", "Année précédente → année visée"), C("cible", "Cible"), C("constate", "Constaté"), C("objective_text", "Suivi")],
    )


# Callbacks ------------------------------------------------------------------------------------------------------
@callback(
    Output(TIMELINE, "figure"),
    Output(MAP, "figure"),
    Output(SERIES, "figure"),
    Output(EVAL_TABLE, "children"),
    Output(OBJ_TABLE, "children"),
    Output(ACTION, "options"),
    Input(ACTION, "value"),
    Input(GROUP, "value"),
    Input(VERSION, "data"),
)
def update_views(action_id, group, _version):  # noqa: ANN001, ANN201
    from observatory.actions import actions_layer
    from observatory.actions.service import monthly_series

    settings = components.settings()
    views = _views()
    plan, data_range = views["plan"], views["data_range"]
    analyst = security.is_analyst()
    timeline = timeline_figure(plan.register, group or "arrondissement", data_range[1] if data_range else None, action_id)
    fmap = map_figure(actions_layer(settings), action_id, settings.tile_source)
    if action_id and not plan.register.empty and action_id in set(plan.register["action_id"]):
        rec = plan.register.set_index("action_id").loc[action_id]
        series = series_figure(monthly_series(settings, plan, views["source"], action_id), rec["start"], rec["end"])
    else:
        series = figures.empty_figure("Choisir une action")
    reg = plan.register
    options = [{"label": f"{r['action_id']} — {r['title']}", "value": r["action_id"]} for r in reg.sort_values("start").to_dict("records")] if not reg.empty else []
    return timeline, fmap, series, evaluation_table(views["evaluations"], analyst, settings.min_count), objectives_table(views["objectives"], analyst, settings.min_count), options


def load_form(action_id: str | None) -> list:
    """Field values of an existing action (text, as in the register file)."""
    from observatory.actions.register import register_to_raw

    reg = _views()["plan"].register
    found = reg[reg["action_id"] == action_id] if action_id and not reg.empty else reg.iloc[0:0]
    if found.empty:
        return [no_update] * len(ACTION_COLUMNS)
    rec = register_to_raw(found.drop(columns=["arrondissement"], errors="ignore")).iloc[0]
    return [rec[c] for c in ACTION_COLUMNS]


def save_action(n_clicks, version, *values):  # noqa: ANN001, ANN201
    """Create or update an action from the form: analysts only, validated, written back atomically."""
    if not n_clicks:
        return no_update, no_update
    if not security.is_analyst():
        return dbc.Alert(REFUSED, color="danger", className="py-1 mb-0"), no_update
    from observatory.actions import upsert_action

    record = {c: (v or "") for c, v in zip(ACTION_COLUMNS, values)}
    try:
        upsert_action(components.settings(), record)
    except RegisterError as exc:
        return dbc.Alert([html.Strong("Action non enregistrée :"), html.Ul([html.Li(str(p)) for p in exc.problems])], color="danger", className="py-1 mb-0"), no_update
    return dbc.Alert(f"Action « {record['action_id']} » enregistrée dans le registre.", color="success", className="py-1 mb-0"), (version or 0) + 1


def close_action_from_form(n_clicks, version, action_id, end_text):  # noqa: ANN001, ANN201
    """Close an action (status terminee + end date): analysts only."""
    if not n_clicks:
        return no_update, no_update
    if not security.is_analyst():
        return dbc.Alert(REFUSED, color="danger", className="py-1 mb-0"), no_update
    from observatory.actions import close_action

    try:
        end = date.fromisoformat((end_text or "").strip())
    except ValueError:
        return dbc.Alert(f"Date de fin « {end_text or ''} » invalide (format AAAA-MM-JJ).", color="danger", className="py-1 mb-0"), no_update
    if not action_id:
        return dbc.Alert("Indiquer l'identifiant de l'action à clôturer.", color="danger", className="py-1 mb-0"), no_update
    try:
        close_action(components.settings(), action_id, end)
    except RegisterError as exc:
        return dbc.Alert([html.Strong("Action non clôturée :"), html.Ul([html.Li(str(p)) for p in exc.problems])], color="danger", className="py-1 mb-0"), no_update
    return dbc.Alert(f"Action « {action_id} » clôturée au {labels.fmt_date(end)}.", color="success", className="py-1 mb-0"), (version or 0) + 1


# The form exists only for analysts: callbacks on it are registered globally and fire only where it is rendered.
callback(Output(EDIT_MESSAGE, "children", allow_duplicate=True), Output(VERSION, "data", allow_duplicate=True), Input(EDIT_SAVE, "n_clicks"), State(VERSION, "data"), *[State(EDIT_FIELD[c], "value") for c in ACTION_COLUMNS], prevent_initial_call=True)(save_action)
callback(Output(EDIT_MESSAGE, "children", allow_duplicate=True), Output(VERSION, "data", allow_duplicate=True), Input(EDIT_CLOSE, "n_clicks"), State(VERSION, "data"), State(EDIT_FIELD["action_id"], "value"), State(EDIT_CLOSE_DATE, "value"), prevent_initial_call=True)(close_action_from_form)
callback(*[Output(EDIT_FIELD[c], "value") for c in ACTION_COLUMNS], Input(EDIT_LOAD, "value"), prevent_initial_call=True)(load_form)
