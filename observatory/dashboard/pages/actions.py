"""Plan d'actions: the calendar of CLS actions, their perimeters, targeted series, objectives and evaluations.

Élus read; analysts also create, edit and close actions. Edits go through
``observatory.actions.upsert_action`` / ``close_action`` (validation, then atomic write-back of the register),
and every edit callback refuses on the server when ``security.is_analyst()`` is False — on top of the
security layer's own 403 for the registered ``actions-edit*`` ids.
"""

import dash
import dash_bootstrap_components as dbc
from dash import ALL, MATCH, Input, Output, State, callback, dcc, html

from observatory import figures, labels
from observatory.actions import ACTION_COLUMNS
from observatory.dashboard import components, geo, security
from observatory.dashboard.action_plan.charts import FIT_HEIGHT_PX, FIT_WIDTH_PX, MAP_HEIGHT, MAX_ZOOM, fit_view, map_figure, series_figure, timeline_figure  # noqa: F401 - the page's API
from observatory.dashboard.action_plan.context import action_series
from observatory.dashboard.action_plan.context import arrondissement_names as _arrondissement_names
from observatory.dashboard.action_plan.context import city_bounds as _city_bounds
from observatory.dashboard.action_plan.context import map_note as _map_note
from observatory.dashboard.action_plan.context import views as _views
from observatory.dashboard.action_plan.exports import (  # noqa: F401 - the page's API
    EXPORT_TITLES,
    _export_clicked,
    evaluation_export,
    export_payload,
    objectives_export,
    series_export,
    timeline_table,
)
from observatory.dashboard.action_plan.form import (  # noqa: F401 - the page's API
    FIELD_LABELS,
    REFUSED,
    _edit_form,
    category_options,
    close_action_from_form,
    field_prop,
    form_cell,
    form_value,
    load_form,
    save_action,
    zone_options,
)
from observatory.dashboard.action_plan.ids import (  # noqa: F401 - the page's API
    ACTION,
    EDIT_CLOSE,
    EDIT_CLOSE_DATE,
    EDIT_FIELD,
    EDIT_LOAD,
    EDIT_MESSAGE,
    EDIT_PREFIX,
    EDIT_SAVE,
    EVAL_TABLE,
    EXPORT_BUTTON,
    EXPORT_DOWNLOAD,
    EXPORT_FORMATS,
    GROUP,
    MAP,
    OBJ_TABLE,
    SERIES,
    SERIES_NOTE,
    TIMELINE,
    VERSION,
)
from observatory.dashboard import elu_views
from observatory.dashboard.action_plan.tables import VERDICT_COLORS, _count, evaluation_table, objectives_table  # noqa: F401 - the page's API

dash.register_page(__name__, path="/actions", name="Plan d'actions", title="Plan d'actions — Observatoire", order=70)

security.require_analyst(EDIT_PREFIX + "*")


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
            dbc.Col(components.dropdown(id=ACTION, options=options, value=selected, clearable=False, placeholder="Aucune action"), md=8),
            dbc.Col(dbc.RadioItems(id=GROUP, options=[{"label": "par arrondissement", "value": "arrondissement"}, {"label": "par zone", "value": "zone"}], value="arrondissement", inline=True, className="small"), md=4),
        ],
        className="mb-2",
    )
    body = [
        html.H1("Plan d'actions", className="h4"),
        html.P(
            "Calendrier des actions du CLS, périmètres, séries des indicateurs visés et évaluation avant/après "
            "contre une zone témoin" + (" (méthode : docs/actions.md)." if security.is_analyst() else "."),
            className="small text-muted",
        ),
        problems,
        dcc.Store(id=VERSION, data=0),
        controls,
        dbc.Row(
            [
                dbc.Col(_card(TIMELINE, "Calendrier des actions"), lg=7),
                dbc.Col(_card(MAP, "Périmètres (action choisie en couleur)", note=_map_note(components.settings()) if security.is_analyst() else labels.public_text(_map_note(components.settings()))), lg=5),
            ],
            className="g-3 mb-3",
        ),
        _card(SERIES, "Faits visés par mois dans le périmètre et sa zone tampon (début et fin de l'action marqués)", note_id=SERIES_NOTE),
        dbc.Card([_header(OBJ_TABLE, "Suivi des objectifs"), dbc.CardBody(html.Div(id=OBJ_TABLE), className="p-2")], className="mb-3 shadow-sm"),
        dbc.Card(
            [
                # An élu reads the verdicts; the two tests' names and their explanation fold under « Méthode ».
                _header(EVAL_TABLE, "Évaluation des actions (différence de différences, WDD)" if security.is_analyst() else "Évaluation des actions"),
                dbc.CardBody(html.Div(id=EVAL_TABLE), className="p-2"),
                dbc.CardFooter(html.Small(_method_text() if security.is_analyst() else html.Details([html.Summary("Méthode"), *_method_text()]), className="text-muted"), className="py-1"),
            ],
            className="mb-3 shadow-sm",
        ),
    ]
    if security.is_analyst():
        body.append(_edit_form(options))
    return html.Div([b for b in body if b is not None])


def _export_buttons(target: str) -> html.Div:
    """CSV / XLSX of the card's data for the current selection (élus get the counts masked as on screen)."""
    buttons = [
        dbc.Button(f.upper(), id={"type": EXPORT_BUTTON, "target": target, "fmt": f}, size="sm", color="secondary", outline=True, className="ms-1",
                   title=f"Exporter en {f.upper()}")
        for f in EXPORT_FORMATS
    ]
    return html.Div(buttons + [dcc.Download(id={"type": EXPORT_DOWNLOAD, "target": target})], className="d-flex align-items-center")


def _header(target: str, title: str) -> dbc.CardHeader:
    return dbc.CardHeader(html.Div([html.H2(title, className="h6 mb-0 flex-grow-1"), _export_buttons(target)], className="d-flex align-items-center"))


def _card(graph_id: str, title: str, note: str | None = None, note_id: str | None = None) -> dbc.Card:
    parts = [_header(graph_id, title), dbc.CardBody(dcc.Loading(dcc.Graph(id=graph_id, config=figures.image_export_config(graph_id)), type="circle", delay_show=300), className="p-2")]
    if note is not None or note_id is not None:
        parts.append(dbc.CardFooter(html.Small(note or "", id=note_id, className="text-muted") if note_id else html.Small(note, className="text-muted"), className="py-1"))
    return dbc.Card(parts, className="mb-3 shadow-sm h-100" if graph_id in (TIMELINE, MAP) else "mb-3 shadow-sm")


def _method_text() -> list:
    s = components.settings()
    return [
        html.Strong("Deux questions, un verdict. "),
        "La différence de différences répond à « le périmètre a-t-il évolué autrement que sa zone témoin ? ». "
        "Le WDD (Wheeler et Ratcliffe, 2018) répond à « en comptant aussi la zone tampon de 300 m, où les faits ont pu "
        "se déplacer, y a-t-il moins de faits que ne le prévoient les zones témoins ? » : c'est l'effet net. "
        "Le verdict n'est « compatible avec un effet de l'action » que si les deux montrent une baisse significative ; "
        "une baisse dans le seul périmètre que le total ne confirme pas donne « effet net non démontré ». ",
        f"Fenêtres de {s.eval_window_months} mois avant et après le début (réduites si les données manquent, au moins 3 mois). "
        "Zone témoin : carreaux comparables du même arrondissement hors de toute action et hors zone tampon. "
        "« Pas de conclusion possible » quand les fenêtres sont trop courtes ou les effectifs trop faibles pour voir même une baisse de moitié. "
        "Une étude observationnelle ne prouve pas la causalité.",
    ]


# Callbacks ------------------------------------------------------------------------------------------------------
@callback(
    Output(TIMELINE, "figure"),
    Output(MAP, "figure"),
    Output(SERIES, "figure"),
    Output(SERIES_NOTE, "children"),
    Output(EVAL_TABLE, "children"),
    Output(OBJ_TABLE, "children"),
    Output(ACTION, "options"),
    Input(ACTION, "value"),
    Input(GROUP, "value"),
    Input(VERSION, "data"),
)
def update_views(action_id, group, _version):  # noqa: ANN001, ANN201
    settings = components.settings()
    views = _views()
    plan, data_range = views["plan"], views["data_range"]
    analyst = security.is_analyst()
    timeline = timeline_figure(plan.register, group or "arrondissement", data_range[1] if data_range else None, action_id)
    fmap = map_figure(views["layer"], action_id, settings.tile_source, geo.geo_ref(settings, "arrondissements"), _arrondissement_names(settings), _city_bounds(settings))
    if not analyst:
        # Élus: the action windows (series, evaluations, objectives) are not in the year's publication (issue 15).
        reg = plan.register
        options = [{"label": f"{r['action_id']} — {r['title']}", "value": r["action_id"]} for r in reg.sort_values("start").to_dict("records")] if not reg.empty else []
        return timeline, fmap, elu_views.withheld_figure(), elu_views.WITHHELD, elu_views.withheld_block(), elu_views.withheld_block(), options
    if action_id and not plan.register.empty and action_id in set(plan.register["action_id"]):
        rec = plan.register.set_index("action_id").loc[action_id]
        # Élus: monthly counts 1..min_count−1 withheld (DESIGN §6), as on the Tendances page (primary suppression
        # only; complementary suppression over month × area would blank the whole series of a quiet perimeter).
        monthly = components.view(action_series(settings, views, action_id), ["count"])
        series = series_figure(monthly, rec["start"], rec["end"])
        private = components.privacy_note(monthly) if monthly.attrs.get("hidden") else ""
        series_note = "Catégories visées : " + ", ".join(labels.category_label(c) for c in rec["categories"]) + (f" ; {private}" if private else "") + "."
    else:
        series, series_note = figures.empty_figure("Choisir une action"), ""
    reg = plan.register
    options = [{"label": f"{r['action_id']} — {r['title']}", "value": r["action_id"]} for r in reg.sort_values("start").to_dict("records")] if not reg.empty else []
    return timeline, fmap, series, series_note, evaluation_table(views["evaluations"], analyst, settings.min_count), objectives_table(views["objectives"], analyst, settings.min_count), options


# The form exists only for analysts: callbacks on it are registered globally and fire only where it is rendered.
callback(Output(EDIT_MESSAGE, "children", allow_duplicate=True), Output(VERSION, "data", allow_duplicate=True), Input(EDIT_SAVE, "n_clicks"), State(VERSION, "data"), *[State(EDIT_FIELD[c], field_prop(c)) for c in ACTION_COLUMNS], prevent_initial_call=True)(save_action)
callback(Output(EDIT_MESSAGE, "children", allow_duplicate=True), Output(VERSION, "data", allow_duplicate=True), Input(EDIT_CLOSE, "n_clicks"), State(VERSION, "data"), State(EDIT_FIELD["action_id"], "value"), State(EDIT_CLOSE_DATE, "date"), prevent_initial_call=True)(close_action_from_form)
callback(*[Output(EDIT_FIELD[c], field_prop(c)) for c in ACTION_COLUMNS], Input(EDIT_LOAD, "value"), prevent_initial_call=True)(load_form)
callback(
    Output({"type": EXPORT_DOWNLOAD, "target": MATCH}, "data"),
    Input({"type": EXPORT_BUTTON, "target": MATCH, "fmt": ALL}, "n_clicks"),
    State(ACTION, "value"),
    prevent_initial_call=True,
)(_export_clicked)
