"""Sentiment d'insécurité: what residents say in the local surveys, beside what partners record.

Callbacks stay thin: read the published tables (``observatory.survey.survey_tables`` — weighted estimates only,
microdata never leave the store), draw with ``observatory.survey.figures``. The page has its own controls
(indicator, wave); the shared incident filter bar does not apply (hidden by ``assets/style.css``). Élus and
analysts see the same page: every estimate is an aggregate that passed the publication rule.
"""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import ALL, Input, Output, callback, ctx, dcc, html, no_update

from observatory import labels, survey
from observatory.dashboard import access, components, geo, security
from observatory.figures import image_export_config
from observatory.reports.exports import ExportMeta, slug, to_csv_bytes, to_xlsx_bytes
from observatory.survey import figures as survey_figures
from observatory.survey import tables

PATH = "/sentiment"
_FIRST_LOAD = not any(p.get("path") == PATH and p.get("module") != __name__ for p in dash.page_registry.values())
if _FIRST_LOAD:
    dash.register_page(__name__, path=PATH, name="Sentiment d'insécurité", title="Sentiment d'insécurité — Observatoire", order=55)
# Élus read it too: every figure on it is a weighted estimate that passed the publication rule.
security.allow_elu_page(PATH)

INDICATOR = "sentiment-indicator"
WAVE = "sentiment-wave"
BARS = "sentiment-bars"
WAVES = "sentiment-waves"
MAP = "sentiment-map"
TABLE = "sentiment-table"
DARK = "sentiment-dark-figure"
NOTE = "sentiment-note"
EXPORT_BUTTON = "sentiment-export"
EXPORT_DOWNLOAD = "sentiment-download"
PAGE_CLASS = "sentiment-page"

EMPTY_HELP = (
    "Les enquêtes de victimation et de cadre de vie mesurent ce que les chiffres enregistrés ne disent pas : le "
    "sentiment d'insécurité. Un analyste importe les réponses d'une enquête (fichier de l'institut de sondage et son "
    "profil) ; seules les estimations pondérées sont ensuite publiées ici."
)


def _tables():  # noqa: ANN202
    return survey.survey_tables(components.settings())


def layout(**_query):  # noqa: ANN003, ANN201 - Dash Pages passes the URL query
    title = html.H1("Sentiment d'insécurité : ce que disent les habitants", className="h4")
    tabs = _tables()
    if tabs is None:
        return html.Div([title, components.empty_state("Aucune enquête auprès des habitants", EMPTY_HELP)], className=PAGE_CLASS)
    options = [{"label": i.get("short") or i["label"], "value": i["code"]} for i in tabs.indicators]
    controls = dbc.Card(dbc.CardBody(dbc.Row([
        dbc.Col([dbc.Label("Indicateur", html_for=INDICATOR, className="small mb-0"),
                 dcc.Dropdown(id=INDICATOR, options=options, value=options[0]["value"], clearable=False, maxHeight=360)], md=7),
        dbc.Col([dbc.Label("Vague d'enquête", html_for=WAVE, className="small mb-0"),
                 dcc.Dropdown(id=WAVE, options=[{"label": str(w), "value": w} for w in reversed(tabs.waves)], value=tabs.waves[-1], clearable=False)], md=2),
        dbc.Col(html.Div(_export_buttons(), className="d-flex justify-content-end align-items-end h-100"), md=3),
    ], className="g-2"), className="p-2"), className="mb-3 shadow-sm")
    source = f"{tabs.label} — {tabs.population} ; vagues {', '.join(map(str, tabs.waves))}."
    return html.Div([
        title,
        html.P(source, className="small text-muted mb-2", id="sentiment-source"),
        controls,
        html.P(id=NOTE, className="small mb-2"),
        dbc.Row([
            dbc.Col(_graph_card(BARS, "Par territoire", 440), lg=6),
            dbc.Col(_graph_card(MAP, "Carte des arrondissements (estimation et intervalle)", 440), lg=6),
        ], className="g-3"),
        dbc.Row([
            dbc.Col(_graph_card(WAVES, "D'une vague à l'autre : la ville, les quartiers prioritaires et le reste de la ville", 340), lg=6),
            dbc.Col(_table_card(TABLE, "Estimations et évolutions"), lg=6),
        ], className="g-3"),
        _table_card(DARK, "Le « chiffre noir » : victimes déclarées et faits enregistrés"),
        components.method_alert(_method_text(), _plain_method_text(), security.is_analyst()),
    ], className=PAGE_CLASS)


def _plain_method_text() -> str:
    s = components.settings()
    return (
        "Chaque réponse compte pour le nombre d'habitants qu'elle représente, et les résultats tiennent compte de la façon "
        "dont les personnes interrogées ont été choisies. La fourchette donnée avec chaque chiffre est la marge d'erreur due "
        "au sondage : la valeur pour toute la population a 95 chances sur 100 de s'y trouver. Un chiffre n'est publié "
        f"qu'à partir de {s.survey_min_n} personnes interrogées et avec une marge d'erreur assez étroite (sinon « effectif "
        "insuffisant »). Une évolution d'une enquête à l'autre n'est dite nette que si elle dépasse ce que le hasard du "
        "sondage peut expliquer, en tenant compte du nombre de comparaisons faites. Les réponses individuelles ne quittent "
        "jamais l'observatoire."
    )


def _method_text() -> str:
    s = components.settings()
    return (
        "Estimations pondérées par les poids de l'enquête ; intervalles de confiance à 95 % tenant compte du plan de "
        "sondage (strates et grappes, linéarisation de Taylor). Une estimation n'est publiée qu'à partir de "
        f"{s.survey_min_n} répondants et avec un coefficient de variation d'au plus {labels.fmt_int(100 * s.survey_max_cv)} % "
        "(sinon « effectif insuffisant »). Les évolutions entre vagues sont testées (échantillons indépendants) avec une "
        "correction pour tests multiples (Benjamini-Hochberg). Les réponses individuelles ne quittent jamais l'observatoire."
    )


def _graph_card(target: str, title: str, height: int) -> dbc.Card:
    graph = dcc.Graph(id=target, config=image_export_config(target), style={"height": f"{height}px"},
                      figure={"data": [], "layout": {"height": height, "xaxis": {"visible": False}, "yaxis": {"visible": False}}})
    return dbc.Card([dbc.CardHeader(html.H2(title, className="h6 mb-0")),
                     dbc.CardBody(dcc.Loading(graph, type="circle", delay_show=300), className="p-2")], className="mb-3 shadow-sm")


def _table_card(target: str, title: str) -> dbc.Card:
    return dbc.Card([dbc.CardHeader(html.H2(title, className="h6 mb-0")),
                     dbc.CardBody(dcc.Loading(html.Div(id=target, className="table-responsive"), type="circle", delay_show=300), className="p-2")],
                    className="mb-3 shadow-sm")


def _export_buttons() -> list:
    return [dbc.Button(f.upper(), id={"type": EXPORT_BUTTON, "fmt": f}, size="sm", color="secondary", outline=True, className="ms-1",
                       title=f"Exporter toutes les estimations publiées en {f.upper()}") for f in ("csv", "xlsx")] + [dcc.Download(id=EXPORT_DOWNLOAD)]


def _estimates_table(rows: pd.DataFrame, changes: pd.DataFrame, kind: str, analyst: bool = True) -> html.Div:
    changes = changes.set_index("territory")
    records = []
    for r in rows.itertuples(index=False):
        change = changes.loc[r.territory] if r.territory in changes.index else None
        if change is None:
            evol = "première vague"
        elif str(change["verdict"]).startswith("pas de"):
            evol = change["verdict"]
        else:
            evol = f"{tables.difference_text(change['difference'], kind)} ({change['verdict']})"
        records.append({"territoire": r.territory_label, "estimation": tables.estimate_text(r.value, r.low, r.high, kind, r.reason),
                        "n": r.n, "evolution": evol})
    cols = [components.Col("territoire", "Territoire"), components.Col("estimation", "Estimation (IC 95 %)"),
            components.Col("n", "Répondants", components.int_cell), components.Col("evolution", "Depuis la vague précédente")]
    return components.french_table(pd.DataFrame(records), cols if analyst else components.plain_columns(cols, ("n",)), numeric=("n",))


def _dark_figure_table(tabs, wave: int, analyst: bool = True) -> html.Div:  # noqa: ANN001
    rep = tabs.reporting[(tabs.reporting["wave"] == wave)]
    if rep.empty:
        return html.P("Pas de rapprochement possible pour cette vague : aucun indicateur de victimation relié à une catégorie "
                      "enregistrée, ou des faits enregistrés qui ne couvrent pas toute l'année de référence.", className="text-muted mb-0")
    declared = tabs.estimates[(tabs.estimates["wave"] == wave) & (tabs.estimates["territory"] == tables.CITY)].set_index("indicator")
    complaint_of = {i["among"]: i["code"] for i in tabs.indicators if i.get("among")}
    records = []
    for r in rep.itertuples(index=False):
        plainte = complaint_of.get(r.indicator)
        declared_text = "–"
        if plainte and r.territory == tables.CITY and plainte in declared.index:
            d = declared.loc[plainte]
            declared_text = tables.estimate_text(d["value"], d["low"], d["high"], "proportion", d["reason"])
        records.append({"indicateur": r.indicator_label, "territoire": r.territory_label, "victimes": r.victims_estimated,
                        "faits": r.recorded, "taux": _rate_text(r.rate, r.low, r.high), "declare": declared_text})
    cols = [components.Col("indicateur", "Victimation"), components.Col("territoire", "Territoire"),
            components.Col("victimes", "Victimes estimées", components.int_cell), components.Col("faits", "Faits enregistrés", components.int_cell),
            components.Col("taux", "Faits enregistrés pour 100 victimes (IC 95 %)"), components.Col("declare", "Plainte déclarée (enquête)")]
    return components.french_table(pd.DataFrame(records), cols if analyst else components.plain_columns(cols, ("victimes", "faits")), numeric=("victimes", "faits"))


def _rate_text(rate: float, low: float, high: float) -> str:
    if not pd.notna(rate):
        return "–"
    hi = "∞" if high == float("inf") else labels.fmt_number(100 * high, 0)
    return f"{labels.fmt_number(100 * rate, 0)} ({labels.fmt_number(100 * low, 0)}\u202f–\u202f{hi})"


def sentiment_view(indicator, wave):  # noqa: ANN001, ANN201
    tabs = _tables()
    if tabs is None or indicator is None or wave is None:
        return (no_update,) * 6
    ind = tabs.indicator(indicator)
    kind = ind["kind"]
    wave = int(wave)
    est = tabs.estimates[tabs.estimates["indicator"] == indicator]
    rows = est[est["wave"] == wave]
    changes = tabs.changes[(tabs.changes["indicator"] == indicator) & (tabs.changes["to_wave"] == wave)]
    settings = components.settings()
    analyst = security.is_analyst()  # élus read the intervals in words (« entre 18,1 et 22,7 »)
    bars = survey_figures.territory_bars(rows, kind, plain=not analyst)
    waves = survey_figures.wave_lines(est, kind, plain=not analyst)
    geomap = survey_figures.arrondissement_map(rows, geo.arrondissements_geojson(settings), kind, plain=not analyst)
    hidden = int((~rows["published"]).sum())
    note = f"{ind['label']}, vague {wave}." + (f" {hidden} territoire(s) sans estimation publiée (effectif insuffisant)." if hidden else "")
    return bars, waves, geomap, _estimates_table(rows, changes, kind, analyst), _dark_figure_table(tabs, wave, analyst), note


def export_estimates(fmt: str) -> dict | None:
    """Every published estimate of the survey (public view), with the method in the metadata."""
    tabs = _tables()
    if tabs is None:
        return None
    out = tabs.estimates.rename(columns={"wave": "vague", "indicator": "indicateur", "indicator_label": "libelle", "territory": "territoire",
                                         "territory_label": "nom_territoire", "value": "estimation", "low": "ic95_bas", "high": "ic95_haut",
                                         "se": "erreur_type", "n": "repondants", "cv": "coefficient_variation", "published": "publie", "reason": "motif"})
    out = out[["vague", "indicateur", "libelle", "territoire", "nom_territoire", "estimation", "ic95_bas", "ic95_haut", "erreur_type",
               "repondants", "coefficient_variation", "publie", "motif"]]
    meta = ExportMeta(title=f"Estimations de l'enquête — {tabs.label}", source=tabs.label, filters="toutes vagues, tous indicateurs",
                      privacy=_method_text(), protected=True)
    name = slug(f"enquete_{tabs.survey}_estimations")
    if fmt == "xlsx":
        return dcc.send_bytes(to_xlsx_bytes(out, meta), f"{name}.xlsx")
    return dcc.send_bytes(to_csv_bytes(out, meta), f"{name}.csv")


def _export_clicked(clicks):  # noqa: ANN001, ANN202
    trig = ctx.triggered_id
    if not trig or not any(clicks or []):
        return no_update
    payload = export_estimates(str(trig.get("fmt")))
    return payload if payload is not None else no_update


if _FIRST_LOAD:
    # Élus read the same published estimates as analysts (microdata never reach any view): both callbacks are
    # declared for every signed-in role in the server's access table.
    access.allow_callback(access.SIGNED_IN, access.output_key(BARS, "figure"), access.output_key(EXPORT_DOWNLOAD, "data"))
    callback(
        Output(BARS, "figure"), Output(WAVES, "figure"), Output(MAP, "figure"), Output(TABLE, "children"), Output(DARK, "children"),
        Output(NOTE, "children"),
        Input(INDICATOR, "value"), Input(WAVE, "value"),
    )(sentiment_view)
    callback(
        Output(EXPORT_DOWNLOAD, "data"),
        Input({"type": EXPORT_BUTTON, "fmt": ALL}, "n_clicks"),
        prevent_initial_call=True,
    )(_export_clicked)
