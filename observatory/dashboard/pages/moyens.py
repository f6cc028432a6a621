"""Moyens engagés: what was deployed (by arrondissement, by action, over time), what it cost per incident avoided
when an evaluation concludes an effect, and the response side (MJD measures, victim support, elucidation).

Callbacks stay thin: read the cached tables (:func:`observatory.means.service.means_tables`), shape them with
:mod:`observatory.means.views`, draw with :mod:`observatory.figures`. Élus open the page too: amounts of means
are shown as declared; counts of people (measures, victims) are protected for them (« < 5 », sensitive categories
at city level only). The declaration form is for analysts: its ids share the ``moyens-form`` prefix the security
layer refuses to élus, and its callback checks the role again on the server.
"""

from __future__ import annotations

from datetime import date

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update

from observatory import figures, labels, schema
from observatory.dashboard import access, components, geo, ids, security
from observatory.figures import graph_config
from observatory.means import register, service, views

PATH = "/moyens"
_FIRST_LOAD = not any(p.get("path") == PATH and p.get("module") != __name__ for p in dash.page_registry.values())
if _FIRST_LOAD:
    dash.register_page(__name__, path=PATH, name="Moyens engagés", title="Moyens engagés — Observatoire", order=65)
security.allow_elu_page(PATH)
security.require_analyst("moyens-form*")
VIEW_OUTPUTS = (ids.MN_NOTE, ids.MN_ARR_TABLE, ids.MN_SERIES, ids.MN_MAP, ids.MN_ACTIONS, ids.MN_RESPONSE, ids.MN_VICTIMS, ids.MN_ELUCIDATION)
EXPORT_BUTTON = "moyens-export"
EXPORT_DOWNLOAD = "moyens-download"
# Élus read the page and may export its two tables of means (amounts, not counts of people: nothing to protect).
access.allow_callback(access.SIGNED_IN, access.output_key(ids.MN_ARR_TABLE, "children"), access.output_key(EXPORT_DOWNLOAD, "data"))

EMPTY_HELP = (
    "Déclarez les moyens engagés (heures d'agents, patrouilles, caméras, budget) dans data/raw/moyens/moyens.csv ou avec "
    "le formulaire ci-dessous, et intégrez les comptes mensuels de la MJD, de l'aide aux victimes et de l'élucidation "
    "avec « observatory means ingest FICHIER --source mjd »."
)
CAMERA_TYPES = ("videoprotection", "patrouilles")
PAGE_CLASS = "moyens-page"


def _tables() -> service.MeansTables:
    return service.means_tables(components.settings())


def layout(**_query):  # noqa: ANN003, ANN201 - Dash Pages passes the URL query
    title = html.H1("Moyens engagés et réponse à la délinquance", className="h4")
    tables = _tables()
    analyst = security.is_analyst()
    form = _form(tables) if analyst else None
    if not tables.years:
        return html.Div([title, components.empty_state("Aucun moyen déclaré ni aucune donnée de réponse", EMPTY_HELP), form], className=PAGE_CLASS)
    # A default year from the data, never from the clock: the latest with declared means or response data.
    year = tables.years[-1]
    arr_options = [{"label": "Lyon (ville)", "value": schema.CITY_CODE}] + [
        {"label": labels.arrondissement_label(c), "value": c} for c in schema.ARRONDISSEMENT_CODES]
    controls = dbc.Card(dbc.CardBody(dbc.Row([
        dbc.Col([dbc.Label("Année", html_for=ids.MN_YEAR, className="small mb-0"),
                 components.dropdown(id=ids.MN_YEAR, options=[{"label": str(y), "value": y} for y in reversed(tables.years)], value=year, clearable=False)], md=2),
        dbc.Col([dbc.Label("Territoire (réponse, victimes, élucidation)", html_for=ids.MN_ARR, className="small mb-0"),
                 components.dropdown(id=ids.MN_ARR, options=arr_options, value=schema.CITY_CODE, clearable=False)], md=4),
        dbc.Col(html.Div(_export_buttons(), className="d-flex justify-content-end align-items-end h-100"), md=6),
    ], className="g-2"), className="p-2"), className="mb-3 shadow-sm")
    problems = [html.Li(str(p)) for p in tables.problems]
    return html.Div([
        title,
        html.P("Moyens déclarés par les services (registre des moyens) ; comptes mensuels transmis par la Maison de Justice et du Droit, "
               "l'aide aux victimes et la police nationale (élucidation).", className="small text-muted mb-2"),
        controls,
        html.P(id=ids.MN_NOTE, className="small mb-2"),
        _card(ids.MN_ARR_TABLE, "Moyens par arrondissement : pour 1 000 habitants et par fait enregistré"),
        dbc.Row([
            dbc.Col(_graph(ids.MN_SERIES, "Au fil des années, par service (heures d'agents)", 360), lg=6),
            dbc.Col(_graph(ids.MN_MAP, "Caméras en service pour 1 000 habitants ; périmètres de vidéoprotection et de patrouilles", 360), lg=6),
        ], className="g-3"),
        _card(ids.MN_ACTIONS, "Par action : moyens déclarés, évaluation et coût par fait évité"),
        dbc.Row([
            dbc.Col(_card(ids.MN_RESPONSE, "Réponse pénale de proximité (MJD) : mesures pour 100 faits des catégories concernées"), lg=6),
            dbc.Col(_card(ids.MN_VICTIMS, "Victimes reçues par l'aide aux victimes"), lg=6),
        ], className="g-3"),
        _card(ids.MN_ELUCIDATION, "Élucidation : faits élucidés pour 100 faits enregistrés par la police nationale"),
        components.method_alert(_method_text(), _plain_method_text(), analyst),
        dbc.Alert([html.Strong("Lignes du registre des moyens ignorées : "), html.Ul(problems, className="mb-0")], color="warning", className="small",
                  id=ids.MN_PROBLEMS) if problems and analyst else None,
        form,
    ], className=PAGE_CLASS)


def _plain_method_text() -> str:
    s = components.settings()
    return (
        "Des moyens engagés sur plusieurs années sont répartis entre elles selon le nombre de jours (un investissement compte "
        "l'année où il est engagé). Le coût par fait évité, les mesures de la Maison de Justice et du Droit pour 100 faits et "
        "l'élucidation sont réservés aux analystes : ils se calculent sur des nombres de faits qui ne font pas partie de la "
        "publication protégée de l'année, et permettraient de retrouver des cases masquées. Pour protéger les personnes, les effectifs de 1 à "
        f"{s.min_count - 1} s'affichent « < {s.min_count} » (« s » : masqué pour protéger une autre case) et les catégories "
        "sensibles ne sont détaillées qu'à l'échelle de la ville."
    )


def _method_text() -> str:
    s = components.settings()
    return (
        "Les moyens d'une période sont répartis sur les années au prorata des jours (l'investissement compte l'année où il est engagé). "
        "Le coût par fait évité n'est calculé que si l'évaluation de l'action conclut à une baisse significative (périmètre et total "
        "zone tampon comprise) : faits évités = −WDD sur la fenêtre après, avec son intervalle de confiance à 95 % ; coût = moyens de "
        "l'action sur la même fenêtre. Sinon : « pas de conclusion ». Le taux de réponse rapporte les mesures de la MJD aux faits "
        "enregistrés par les polices nationale et municipale dans les catégories auxquelles chaque mesure répond (intervalle de Poisson "
        "exact), pour les seules années complètes. Pour les élus, les effectifs de 1 à "
        f"{s.min_count - 1} s'affichent « < {s.min_count} » (« s » : masqué pour protéger une autre case) et les catégories sensibles "
        "ne sont détaillées qu'à l'échelle de la ville. Détails : docs/means.md."
    )


def _graph(target: str, title: str, height: int) -> dbc.Card:
    graph = dcc.Graph(id=target, config=graph_config(target), style={"height": f"{height}px"},
                      figure={"data": [], "layout": {"height": height, "xaxis": {"visible": False}, "yaxis": {"visible": False}}})
    return dbc.Card([dbc.CardHeader(html.H2(title, className="h6 mb-0")),
                     dbc.CardBody(dcc.Loading(graph, type="circle", delay_show=300), className="p-2")], className="mb-3 shadow-sm")


def _card(target: str, title: str) -> dbc.Card:
    return dbc.Card([dbc.CardHeader(html.H2(title, className="h6 mb-0")),
                     dbc.CardBody(dcc.Loading(html.Div(id=target, className="table-responsive"), type="circle", delay_show=300), className="p-2")],
                    className="mb-3 shadow-sm")


def _frame_table(df: pd.DataFrame, numeric_from: int = 1, empty: str = "Aucune donnée transmise pour cette année.", analyst: bool = True) -> html.Div:
    if df.empty:
        return html.P(empty, className="text-muted mb-0")
    cols = [components.Col(c, c, components.fmt_any) for c in df.columns]
    numeric = list(df.columns[numeric_from:])
    # Élus read intervals in words (« entre 1,6 et 2,0 », « (fourchette) »), analysts the « IC 95 % ».
    return components.french_table(df, cols if analyst else components.plain_columns(cols, numeric), numeric=numeric)


def _export_buttons() -> list:
    buttons = [dbc.Button(f"{label} {fmt.upper()}", id={"type": EXPORT_BUTTON, "target": target, "fmt": fmt}, size="sm", color="secondary",
                          outline=True, className="ms-1", title=f"Exporter {title} en {fmt.upper()}")
               for target, label, title in (("arrondissements", "Moyens", "les moyens par arrondissement et par année"),
                                            ("actions", "Actions", "les moyens et le coût par fait évité de chaque action"))
               for fmt in ("csv", "xlsx")]
    return buttons + [dcc.Download(id=EXPORT_DOWNLOAD)]


EXPORT_COLUMNS = {
    "arrondissements": {"year": "annee", "arrondissement": "code_insee", "staff_hours": "heures_agents", "fte": "etp", "patrols": "patrouilles",
                        "cameras_installed": "cameras_installees", "cameras_in_service": "cameras_en_service",
                        "budget_investment_eur": "investissement_eur", "budget_running_eur": "fonctionnement_eur", "budget_total_eur": "budget_total_eur",
                        "population": "population", "facts": "faits_enregistres", "staff_hours_per_1000": "heures_pour_1000_hab",
                        "budget_total_eur_per_1000": "eur_pour_1000_hab", "staff_hours_per_fact": "heures_par_fait", "budget_per_fact": "eur_par_fait"},
    "actions": {"action_id": "action", "title": "intitule", "arrondissement": "code_insee", "means_lines": "lignes_de_moyens",
                "budget_total_eur": "budget_total_eur", "verdict_code": "verdict", "cost_eur": "cout_fenetre_apres_eur", "avoided": "faits_evites",
                "avoided_low": "faits_evites_ic95_bas", "avoided_high": "faits_evites_ic95_haut", "cost_per_avoided": "cout_par_fait_evite_eur",
                "cost_low": "cout_par_fait_evite_ic95_bas", "cost_high": "cout_par_fait_evite_ic95_haut", "status": "statut", "text": "lecture"},
}


def export_means(target: str, fmt: str) -> dict | None:
    """Every year of the means by arrondissement, or every action's means and cost, as typed columns."""
    from observatory.reports.exports import ExportMeta, slug, to_csv_bytes, to_xlsx_bytes

    tables = _tables()
    frame = tables.by_arrondissement if target == "arrondissements" else tables.per_action
    cols = EXPORT_COLUMNS.get(target)
    if cols is None or frame.empty:
        return None
    out = frame[[c for c in cols if c in frame.columns]].rename(columns=cols)
    title = "Moyens engagés par arrondissement et par année" if target == "arrondissements" else "Moyens et coût par fait évité, par action"
    meta = ExportMeta(title=title, source="registre des moyens ; évaluations du plan d'actions", filters="toutes années",
                      privacy="montants de moyens déclarés : pas de comptes de personnes", protected=True)
    name = slug(f"moyens_{target}")
    if fmt == "xlsx":
        return dcc.send_bytes(to_xlsx_bytes(out, meta), f"{name}.xlsx")
    return dcc.send_bytes(to_csv_bytes(out, meta), f"{name}.csv")


def _export_clicked(clicks):  # noqa: ANN001, ANN202
    trig = ctx.triggered_id
    if not isinstance(trig, dict) or not any(clicks or []):
        return no_update
    payload = export_means(str(trig.get("target")), str(trig.get("fmt")))
    return payload if payload is not None else no_update


# The view -----------------------------------------------------------------------------------------------------------
def served_year(asked: object, years) -> int | None:  # noqa: ANN001
    """The year a request may get: ``asked`` when it is one of the register's years, else the latest one. A crafted
    value (a list, a dict, a word, a year without lines) must not end in a traceback."""
    offered = sorted(int(y) for y in years)
    if not offered:
        return None
    try:
        year = int(asked) if isinstance(asked, (int, str)) and not isinstance(asked, bool) else None
    except ValueError:
        year = None
    return year if year in offered else offered[-1]


def means_view(year, arrondissement):  # noqa: ANN001, ANN201
    if year is None:
        return (no_update,) * len(VIEW_OUTPUTS)
    settings = components.settings()
    tables = _tables()
    analyst = security.is_analyst()
    year = served_year(year, tables.years)
    if year is None:
        return (no_update,) * len(VIEW_OUTPUTS)
    code = arrondissement if arrondissement in (*schema.ARRONDISSEMENT_CODES, schema.CITY_CODE) else schema.CITY_CODE
    arr = None if code == schema.CITY_CODE else code
    note = f"Année {year} ; territoire des tableaux de réponse : {labels.arrondissement_label(code)}."
    if components.is_demo(settings):
        note += f" {labels.DEMO_NOTICE}."
    series = views.service_series(tables)
    fig_series = figures.grouped_bars(series, "year", "staff_hours", "service", height=360, value_label="Heures d'agents",
                                      x_labeler=str, barmode="stack") if not series.empty else figures.empty_figure("Aucun moyen déclaré", 360)
    return (
        note,
        _frame_table(views.arrondissement_table(tables, year), analyst=analyst),
        fig_series,
        _camera_map(tables, year, settings),
        _frame_table(views.action_table(tables, analyst), numeric_from=5, analyst=analyst),
        _frame_table(views.response_table(tables, year, arr, settings.min_count, analyst), analyst=analyst),
        _frame_table(views.victims_table(tables, year, arr, settings.min_count, analyst), analyst=analyst),
        _frame_table(views.elucidation_table(tables, year, arr, settings.min_count, analyst), analyst=analyst,
                     empty="Aucune donnée transmise pour cette année." if analyst else views.ELU_FACTS_NOTE),
    )


def _camera_map(tables: service.MeansTables, year: int, settings):  # noqa: ANN001, ANN202
    df = tables.by_arrondissement
    df = df[(df["year"] == year) & (df["arrondissement"] != schema.CITY_CODE)] if not df.empty else df
    if df.empty:
        return figures.empty_figure("Aucun moyen déclaré cette année", 360)
    df = df.assign(name=df["arrondissement"].map(labels.arrondissement_label))
    perimeters = geo.actions_geojson(settings)
    kept = geo.actions(settings)
    kept = set(kept.loc[kept["type"].isin(CAMERA_TYPES), "action_id"]) if not kept.empty else set()
    outlines = [({"type": "FeatureCollection", "features": [f for f in perimeters["features"] if f.get("id") in kept]},
                 "Périmètres vidéoprotection / patrouilles", "#c0392b")] if kept else []
    fig = figures.choropleth_map(df, geo.arrondissements_geojson(settings), "arrondissement", "cameras_in_service_per_1000",
                                 "Caméras pour 1 000 hab.", name_col="name", style=settings.tile_source, height=MAP_HEIGHT,
                                 value_format=",.2f", outlines=outlines, view=city_view(settings, MAP_HEIGHT))
    # The legend goes under the map, outside it: drawn over the map's top-left corner (the maps' default), it hid
    # the 9e's northern tip in this half-width card at 1024 px.
    return fig.update_layout(legend=MAP_LEGEND)


# The camera map is a half card (~450 px × 360 px at 1024–1440 px): the default zoom, made for the 640 px maps,
# showed only the centre of the city.
MAP_HEIGHT = 360
MAP_WIDTH_PX = 430
# One row below the map (Plotly widens the bottom margin for it), so that no legend box sits on the city.
MAP_LEGEND = {"orientation": "h", "x": 0, "xanchor": "left", "y": 0, "yanchor": "top", "bgcolor": "rgba(255,255,255,0)"}


def city_view(settings, height_px: int) -> tuple[dict, float]:  # noqa: ANN001
    """(center, zoom) that shows the nine arrondissements whole in a map of ``height_px`` in a half card."""
    from observatory.dashboard.action_plan.charts import fit_view
    from observatory.dashboard.action_plan.context import city_bounds

    return fit_view(city_bounds(settings), width_px=MAP_WIDTH_PX, height_px=height_px - 50)  # the legend takes the bottom


# The declaration form (analysts) ------------------------------------------------------------------------------------
def _form(tables: service.MeansTables):  # noqa: ANN202
    plan_actions = tables.per_action
    options = [{"label": "(hors action : moyens d'un arrondissement)", "value": ""}] + [
        {"label": f"{r['action_id']} — {r['title']}", "value": r["action_id"]} for r in plan_actions.to_dict("records")]
    amounts = [dbc.Col([dbc.Label(register.AMOUNT_LABELS[c], html_for=str({"type": ids.MN_FORM_AMOUNT, "col": c}), className="small mb-0"),
                        dbc.Input(id={"type": ids.MN_FORM_AMOUNT, "col": c}, type="text", inputMode="decimal", size="sm")], md=3)
               for c in register.AMOUNT_COLUMNS]
    lines = [{"label": "Nouvelle ligne", "value": ""}] + [
        {"label": f"{r['means_id']} — {r['action_id'] or labels.arrondissement_label(r['arrondissement'])} — {register.SERVICE_LABELS[r['service']]} "
                  f"({labels.fmt_date(r['start'])} – {labels.fmt_date(r['end'])})", "value": r["means_id"]} for r in tables.means.to_dict("records")]
    return dbc.Card([
        dbc.CardHeader(html.H2("Déclarer ou corriger des moyens (analystes)", className="h6 mb-0")),
        dbc.CardBody([
            dbc.Row([dbc.Col([dbc.Label("Ligne du registre", html_for=ids.MN_FORM_LINE, className="small mb-0"),
                              components.dropdown(id=ids.MN_FORM_LINE, options=lines, value="", clearable=False)], md=8)], className="g-2 mb-2"),
            dbc.Row([
                dbc.Col([dbc.Label("Action", html_for=ids.MN_FORM_ACTION, className="small mb-0"),
                         components.dropdown(id=ids.MN_FORM_ACTION, options=options, value=options[1]["value"] if len(options) > 1 else "")], md=4),
                dbc.Col([dbc.Label("Arrondissement (hors action)", html_for=ids.MN_FORM_ARR, className="small mb-0"),
                         components.dropdown(id=ids.MN_FORM_ARR, options=[{"label": labels.arrondissement_label(c), "value": c} for c in schema.ARRONDISSEMENT_CODES])], md=2),
                dbc.Col([dbc.Label("Service", html_for=ids.MN_FORM_SERVICE, className="small mb-0"),
                         components.dropdown(id=ids.MN_FORM_SERVICE, options=[{"label": register.SERVICE_LABELS[s], "value": s} for s in register.SERVICES])], md=2),
                dbc.Col([dbc.Label("Période", className="small mb-0 d-block"),
                         dcc.DatePickerSingle(id=ids.MN_FORM_START, display_format="DD/MM/YYYY", placeholder="début", first_day_of_week=1),
                         dcc.DatePickerSingle(id=ids.MN_FORM_END, display_format="DD/MM/YYYY", placeholder="fin", first_day_of_week=1)], md=4),
            ], className="g-2 mb-2"),
            dbc.Row(amounts, className="g-2 mb-2"),
            dbc.Row([dbc.Col([dbc.Label("Notes", html_for=ids.MN_FORM_NOTES, className="small mb-0"), dbc.Input(id=ids.MN_FORM_NOTES, size="sm")], md=9),
                     dbc.Col(dbc.Button("Enregistrer", id=ids.MN_FORM_SAVE, color="primary", size="sm", className="mt-3"), md=3)], className="g-2"),
            html.Div(id=ids.MN_FORM_RESULT, className="small mt-2"),
        ]),
    ], className="mb-3 shadow-sm")


def _amount_text(value: object) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    value = float(value)
    return str(int(value)) if value.is_integer() else str(value).replace(".", ",")


def form_values(line_id, amount_ids):  # noqa: ANN001, ANN201
    """The form's fields filled from an existing line (to correct it); a new line leaves the form as it is."""
    # The amounts are a pattern output (ALL): "no change" is a list of no_update, one per field.
    unchanged = (no_update,) * 5 + ([no_update] * len(amount_ids or []),) + (no_update,)
    if not isinstance(line_id, str) or not line_id or not security.is_analyst():
        return unchanged
    means = _tables().means
    found = means[means["means_id"] == line_id]
    if found.empty:
        return unchanged
    rec = found.iloc[0].to_dict()
    return (rec["action_id"] or "", None if rec["action_id"] else rec["arrondissement"], rec["service"], rec["start"].isoformat(),
            rec["end"].isoformat(), [_amount_text(rec.get(cid["col"])) for cid in amount_ids], rec.get("notes") or "")


def save_means(n_clicks, line_id, action_id, arrondissement, service_code, start, end, amounts, amount_ids, notes):  # noqa: ANN001, ANN201
    """Validate and write one line of the means register (atomic); every problem shown with its column."""
    if not n_clicks:
        return no_update
    if not security.is_analyst():  # the security layer already refuses élus; say it again on the server
        return dbc.Alert("Réservé aux analystes.", color="danger", className="py-1 mb-0")
    settings = components.settings()
    tables = _tables()
    when = date.fromisoformat(start) if start else date(1900, 1, 1)
    # A line chosen in the list is replaced (same id); otherwise a new id follows the action's (or the year's) last one.
    record = {"means_id": line_id or register.next_means_id(tables.means, action_id or None, when), "action_id": action_id or "",
              "arrondissement": arrondissement or "",
              "service": service_code or "", "start": start or "", "end": end or "", "notes": notes or ""}
    for cid, value in zip(amount_ids, amounts):
        record[cid["col"]] = value or ""
    try:
        register.upsert_means(settings, record)
    except register.MeansError as exc:
        return dbc.Alert([html.Strong("Rien n'a été enregistré : "), html.Ul([html.Li(str(p)) for p in exc.problems], className="mb-0")],
                         color="danger", className="py-1 mb-0")
    return dbc.Alert(f"Ligne {record['means_id']} enregistrée dans {register.means_path(settings).name} ; rechargez la page pour la voir dans les tableaux.",
                     color="success", className="py-1 mb-0")


if _FIRST_LOAD:
    callback(Output(EXPORT_DOWNLOAD, "data"), Input({"type": EXPORT_BUTTON, "target": ALL, "fmt": ALL}, "n_clicks"),
             prevent_initial_call=True)(_export_clicked)
    callback(*(Output(t, "figure" if t in (ids.MN_SERIES, ids.MN_MAP) else "children") for t in VIEW_OUTPUTS),
             Input(ids.MN_YEAR, "value"), Input(ids.MN_ARR, "value"))(means_view)
    callback(Output(ids.MN_FORM_ACTION, "value"), Output(ids.MN_FORM_ARR, "value"), Output(ids.MN_FORM_SERVICE, "value"),
             Output(ids.MN_FORM_START, "date"), Output(ids.MN_FORM_END, "date"), Output({"type": ids.MN_FORM_AMOUNT, "col": ALL}, "value"),
             Output(ids.MN_FORM_NOTES, "value"), Input(ids.MN_FORM_LINE, "value"), State({"type": ids.MN_FORM_AMOUNT, "col": ALL}, "id"),
             prevent_initial_call=True)(form_values)
    callback(Output(ids.MN_FORM_RESULT, "children"), Input(ids.MN_FORM_SAVE, "n_clicks"), State(ids.MN_FORM_LINE, "value"),
             State(ids.MN_FORM_ACTION, "value"), State(ids.MN_FORM_ARR, "value"), State(ids.MN_FORM_SERVICE, "value"), State(ids.MN_FORM_START, "date"),
             State(ids.MN_FORM_END, "date"), State({"type": ids.MN_FORM_AMOUNT, "col": ALL}, "value"),
             State({"type": ids.MN_FORM_AMOUNT, "col": ALL}, "id"), State(ids.MN_FORM_NOTES, "value"),
             prevent_initial_call=True)(save_means)
