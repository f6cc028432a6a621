"""Statistiques officielles: the SSMSI figures per arrondissement and year, beside the observatory's own.

Callbacks stay thin: read the official table (``observatory.official``), shape with its pure functions, draw
with ``observatory.official.figures``. The page has its own controls (indicator, territory, measure, year):
the shared filter bar selects incidents, which official figures are not, so the page hides it
(``assets/style.css``, keyed on the page's ``officielles-page`` class, as the Bilan does).
Every figure and table has CSV/XLSX downloads of its data (``observatory.official.tables`` →
``observatory.reports.exports``), with the edition, indicator and territory in the metadata and the file name.
"""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import ALL, MATCH, Input, Output, State, callback, ctx, dcc, html, no_update

from observatory import labels, schema
from observatory.figures import graph_config
from observatory import official as off
from observatory.dashboard import components
from observatory.official import compare
from observatory.official import figures as off_figures
from observatory.official import model as m
from observatory.official import tables as off_tables

PATH = "/officielles"
# Registered once even if this module is loaded under another name (duplicate nav links and callback outputs).
_FIRST_LOAD = not any(p.get("path") == PATH and p.get("module") != __name__ for p in dash.page_registry.values())
if _FIRST_LOAD:
    dash.register_page(__name__, path=PATH, name="Statistiques officielles", title="Statistiques officielles — Observatoire", order=60)

# Component ids of this page (page-local, prefixed, so they cannot clash with the shared ids module).
INDICATOR = "officielles-indicator"
TERRITORY = "officielles-territory"
MEASURE = "officielles-measure"
YEAR = "officielles-year"
SERIES = "officielles-series"
ARRONDISSEMENTS = "officielles-arrondissements"
TABLE = "officielles-table"
COMPARISON = "officielles-comparison"
COMPARISON_TABLE = "officielles-comparison-table"
PAGE_CLASS = "officielles-page"  # assets/style.css hides the shared filter bar on this page
EXPORT_BUTTON = "officielles-export"  # dict ids {"type", "target", "fmt"}: the page's own CSV/XLSX buttons
EXPORT_DOWNLOAD = "officielles-download"
EXPORT_FORMATS = ("csv", "xlsx")

EMPTY_HELP = (
    "Pour les charger : « observatory official fetch » télécharge la base communale du SSMSI depuis data.gouv.fr "
    "et l'importe ; « observatory official import FICHIER » importe un fichier CSV ou CSV.gz déjà téléchargé "
    "(toute édition). Lyon et ses neuf arrondissements sont retenus."
)
DEFAULT_INDICATOR = "cambriolages_logement"
MEASURES = [{"label": "Taux pour 1 000", "value": "rate"}, {"label": "Nombre", "value": "count"}]


def _settings():  # noqa: ANN202
    return components.settings()


def _lyon(settings) -> pd.DataFrame:  # noqa: ANN001
    return off.read_official(settings, codes=m.LYON_CODES)


def _edition_line(info: dict) -> str:
    parts = [off.source_citation(info)]
    if info.get("rate_mismatches"):
        parts.append(f"{labels.fmt_int(info['rate_mismatches'])} taux du fichier ne se recalculent pas depuis les nombres publiés")
    return " — ".join(parts)


def layout(**_query):  # noqa: ANN003, ANN201 - Dash Pages passes the URL query
    settings = _settings()
    title = html.H1("Statistiques officielles (SSMSI)", className="h4")
    try:
        info = off.edition_info(settings)
        frame = _lyon(settings) if info else None
    except off.OfficialError as exc:
        return html.Div([title, components.empty_state("Statistiques officielles illisibles", f"{exc}. {EMPTY_HELP}")], className=PAGE_CLASS)
    if info is None or frame is None or frame.empty:
        return html.Div([title, components.empty_state("Aucune statistique officielle importée", EMPTY_HELP)], className=PAGE_CLASS)
    present = [i for i in off.INDICATORS if i.code in set(frame[m.INDICATOR])]
    present += [
        off.Indicator(code, label, "habitants")
        for code, label in frame[[m.INDICATOR, m.INDICATOR_LABEL]].drop_duplicates().itertuples(index=False)
        if code not in {i.code for i in off.INDICATORS}
    ]
    codes = [c for c in m.LYON_CODES if c in set(frame[m.CODE])]
    years = sorted(int(y) for y in frame[m.YEAR].unique())
    default_indicator = DEFAULT_INDICATOR if any(i.code == DEFAULT_INDICATOR for i in present) else present[0].code
    controls = dbc.Card(
        dbc.CardBody(
            dbc.Row(
                [
                    dbc.Col([dbc.Label("Indicateur", html_for=INDICATOR, className="small mb-0"),
                             components.dropdown(id=INDICATOR, options=[{"label": i.label, "value": i.code} for i in present], value=default_indicator, clearable=False)], md=5),
                    dbc.Col([dbc.Label("Territoire", html_for=TERRITORY, className="small mb-0"),
                             components.dropdown(id=TERRITORY, options=[{"label": labels.arrondissement_label(c), "value": c} for c in codes], value=codes[0], clearable=False)], md=3),
                    dbc.Col([dbc.Label("Année", html_for=YEAR, className="small mb-0"),
                             components.dropdown(id=YEAR, options=[{"label": str(y), "value": y} for y in reversed(years)], value=years[-1], clearable=False)], md=2),
                    dbc.Col([dbc.Label("Mesure", className="small mb-0 d-block"),
                             dbc.RadioItems(id=MEASURE, options=MEASURES, value="rate", inline=True, className="small")], md=2),
                ],
                className="g-2",
            ),
            className="p-2",
        ),
        className="mb-3 shadow-sm",
    )
    no_arr = "" if any(c in codes for c in schema.ARRONDISSEMENT_CODES) else (
        " Ce fichier ne détaille pas les arrondissements (seule la commune 69123 y figure)."
    )
    return html.Div(
        [
            title,
            dbc.Alert("Édition fictive de démonstration : ces « chiffres officiels » sont inventés à partir des données de démonstration, "
                      "pour montrer la page ; importez une édition du SSMSI pour les vrais chiffres.", color="warning", className="py-2 small",
                      id="officielles-demo-edition") if off.is_demo_edition(info) else None,
            html.P(_edition_line(info) + "." + no_arr, className="small text-muted mb-2", id="officielles-source"),
            controls,
            dbc.Row(
                [
                    dbc.Col(_figure_card(SERIES, "Évolution sur les années", height=340), lg=6),
                    dbc.Col(_figure_card(ARRONDISSEMENTS, "Les arrondissements face à la ville", height=340), lg=6),
                ],
                className="g-3",
            ),
            _table_card(TABLE, "Nombres et taux par année"),
            dbc.Row(
                [
                    dbc.Col(_figure_card(COMPARISON, "Chiffres officiels et chiffres de l'observatoire", height=320), lg=6),
                    dbc.Col(_table_card(COMPARISON_TABLE, "Comparaison pour l'année choisie"), lg=6),
                ],
                className="g-3",
            ),
            dbc.Alert([html.Strong("Pourquoi les chiffres diffèrent. "), compare.DIFFERENCE_NOTE], color="light", className="small border"),
        ],
        className=PAGE_CLASS,
    )


def _export_buttons(target: str, svg: bool) -> html.Div:
    """CSV / XLSX of the card's data (this page's own callback: its choices are not in the address) and, for a
    figure, the house SVG button (drawn in the browser by the shared clientside callback)."""
    buttons = [
        dbc.Button(f.upper(), id={"type": EXPORT_BUTTON, "target": target, "fmt": f}, size="sm", color="secondary", outline=True, className="ms-1",
                   title=f"Exporter en {f.upper()} (indicateur, territoire et année choisis)")
        for f in EXPORT_FORMATS
    ]
    return html.Div(
        buttons + [components.export_buttons(target, formats=(), svg=svg), dcc.Download(id={"type": EXPORT_DOWNLOAD, "target": target})],
        className="d-flex align-items-center",
    )


def _header(target: str, title: str, svg: bool) -> dbc.CardHeader:
    return dbc.CardHeader(html.Div([html.H2(title, className="h6 mb-0 flex-grow-1"), _export_buttons(target, svg)], className="d-flex align-items-center"))


def _footer(target: str) -> dbc.CardFooter:
    return dbc.CardFooter(html.Small(id={"type": "method-note", "target": target}, className="text-muted method-note"), className="py-1")


def _figure_card(target: str, title: str, height: int) -> dbc.Card:
    graph = dcc.Graph(
        id=target, config=graph_config(target), style={"height": f"{height}px"},
        figure={"data": [], "layout": {"height": height, "xaxis": {"visible": False}, "yaxis": {"visible": False}}},
    )
    body = dbc.CardBody(dcc.Loading(graph, type="circle", delay_show=300), className="p-2")
    return dbc.Card([_header(target, title, svg=True), body, _footer(target)], className="mb-3 shadow-sm figure-card")


def _table_card(target: str, title: str) -> dbc.Card:
    # "officielles-wrap": long indicator labels and headers wrap (assets/style.css) so that the last column
    # fits a half-width card at 1400 px instead of being cut.
    body = dbc.CardBody(dcc.Loading(html.Div(id=target, className="table-responsive officielles-wrap"), type="circle", delay_show=300), className="p-2")
    return dbc.Card([_header(target, title, svg=False), body, _footer(target)], className="mb-3 shadow-sm")


def _unit(indicator: str, measure: str, rows: pd.DataFrame) -> str:
    if measure == "count":
        units = rows[m.UNIT].dropna().unique()
        return f"Nombre ({units[0].lower()}s)" if len(units) == 1 else "Nombre"
    return f"Taux {off.rate_unit(indicator)}"


def official_figures(indicator, code, measure, year):  # noqa: ANN001, ANN201
    if indicator is None or code is None or year is None:  # controls absent (no official data) or a crafted call
        raise dash.exceptions.PreventUpdate
    settings = _settings()
    rows = off.read_official(settings, codes=m.LYON_CODES, indicators=[indicator])
    unit = _unit(indicator, measure, rows)
    series = off_figures.series_figure(rows, code, measure, unit)
    arr = off_figures.arrondissements_figure(rows[rows[m.YEAR] == int(year)], measure, unit)
    ndiff = rows[(rows[m.CODE] == code) & ~rows[m.DIFFUSED]]
    series_note = f"{labels.arrondissement_label(code)}, {off.indicator_label(indicator)}."
    if measure == "rate" and code != schema.CITY_CODE:
        series_note += " Lyon en trait foncé : les taux se comparent, les nombres non."
    if len(ndiff):
        series_note += f" Non diffusé par le SSMSI en {', '.join(str(int(y)) for y in sorted(ndiff[m.YEAR]))} (trou dans la courbe)."
    arr_note = f"{year} ; " + ("ligne pointillée : taux de Lyon." if measure == "rate" else "nombres bruts, à rapporter à la population.")
    arr_note += " La ville (69123) n'est jamais la somme des arrondissements : chaque niveau est lu tel que publié."
    return series, series_note, arr, arr_note


def official_table(indicator, code):  # noqa: ANN001, ANN201
    if indicator is None or code is None:  # controls absent (no official data) or a crafted call
        raise dash.exceptions.PreventUpdate
    settings = _settings()
    rows = off.read_official(settings, codes=sorted({code, schema.CITY_CODE}), indicators=[indicator])
    table = off_tables.year_table(rows, indicator, code)
    rate_col, base_col = table.columns[2], table.columns[4]
    cols = [
        components.Col("Année", "Année", str),
        components.Col("Nombre", "Nombre", lambda v: off_tables.NOT_DIFFUSED if v is None or pd.isna(v) else labels.fmt_int(int(v))),
        components.Col(rate_col, rate_col, components.num_cell(2)),
        components.Col("Taux de Lyon", "Taux de Lyon", components.num_cell(2)),
        components.Col(base_col, base_col, components.int_cell),
    ]
    note = "Chiffres tels que publiés par le SSMSI ; « non diffusé » : effectif trop faible ou qualité insuffisante selon le SSMSI."
    return components.french_table(table, cols, numeric=("Nombre", rate_col, "Taux de Lyon", base_col)), note


def official_comparison(indicator, code, year):  # noqa: ANN001, ANN201
    settings = _settings()
    empty = off_figures.comparison_figure(pd.DataFrame())
    try:
        cmp = off.comparison(settings, codes=[code])
    except Exception as exc:  # noqa: BLE001 - the analytics side may be unavailable; the official figures still show
        return empty, f"Chiffres de l'observatoire indisponibles : {exc}", "", ""
    if cmp is None:
        message = "Aucune donnée de l'observatoire intégrée : la comparaison apparaîtra après « observatory ingest »."
        return empty, message, html.P(message, className="text-muted mb-0"), ""
    analyst = _is_analyst()
    # Masked observatory cells are hidden in the bars too, and their gap is not computed.
    cmp = off_tables.masked_comparison(cmp, settings.min_count, analyst)
    series = cmp[cmp[m.INDICATOR] == indicator]
    fig = off_figures.comparison_figure(series) if len(series) else off_figures.comparison_figure(pd.DataFrame())
    cats = series[compare.CATEGORIES].iloc[0] if len(series) else ""
    fig_note = (f"Catégorie(s) de l'observatoire : {', '.join(labels.category_label(c) for c in cats.split(', '))}." if cats
                else f"Aucune catégorie de l'observatoire ne correspond à « {off.indicator_label(indicator)} ».")
    fig_note += " Années sans données de l'observatoire : barre absente (inconnu, pas zéro)."
    year_rows = cmp[cmp[m.YEAR] == int(year)]
    table = pd.DataFrame(
        {
            "label": year_rows[m.INDICATOR_LABEL],
            "official": [labels.fmt_int(int(v)) if pd.notna(v) else "non diffusé" for v in year_rows[compare.OFFICIAL_COUNT]],
            "observatory": year_rows["shown"],
            "ratio": year_rows[compare.RATIO],
        }
    )
    cols = [
        components.Col("label", "Indicateur SSMSI", str),
        components.Col("official", f"SSMSI {year}", str),
        components.Col("observatory", f"Observatoire {year}", str),
        components.Col("ratio", "Observatoire / SSMSI", lambda v: "–" if v is None or pd.isna(v) else labels.fmt_pct(float(v), 0, signed=False)),
    ]
    table_note = f"{labels.arrondissement_label(code)}. Effectifs de l'observatoire de 1 à {settings.min_count - 1} affichés « < {settings.min_count} »"
    table_note += "." if analyst else " ; violences sensibles : ville seulement (n.d. par arrondissement)."
    return fig, fig_note, components.french_table(table, cols, numeric=("official", "observatory", "ratio")), table_note


# Exports ------------------------------------------------------------------------------------------------------------
EXPORT_TITLES = {
    SERIES: "Évolution sur les années",
    ARRONDISSEMENTS: "Les arrondissements face à la ville",
    TABLE: "Nombres et taux par année",
    COMPARISON: "Chiffres officiels et chiffres de l'observatoire",
    COMPARISON_TABLE: "Comparaison pour l'année choisie",
}


def export_table(target: str, indicator: str, code: str, measure: str, year: int, analyst: bool):  # noqa: ANN201 - (DataFrame, ExportMeta, stem) | None
    """The data behind one card for the current choices, its metadata and its file stem; None if unavailable.

    Official figures are public and exported as published; the observatory's counts in the comparisons are
    masked exactly as the page shows them (``official.tables.masked_comparison``).
    """
    from observatory.reports.exports import ExportMeta, slug

    settings = _settings()
    info = off.edition_info(settings)
    if info is None or target not in EXPORT_TITLES:
        return None
    year = int(year)
    territory = labels.arrondissement_label(code)
    choices = [f"indicateur : {off.indicator_label(indicator)}", f"territoire : {territory} ({code})"]
    snapshot = ""
    privacy = "chiffres publics du SSMSI, tels que publiés (« non diffusé » : case Nombre vide)"
    if target == SERIES:
        rows = off.read_official(settings, codes=sorted({code, schema.CITY_CODE}), indicators=[indicator])
        df = off_tables.official_rows_table(rows, indicator)
        choices.append("mesure affichée : " + ("nombre" if measure == "count" else "taux"))
    elif target == ARRONDISSEMENTS:
        rows = off.read_official(settings, codes=m.LYON_CODES, indicators=[indicator], years=[year])
        df = off_tables.official_rows_table(rows, indicator)
        choices = [choices[0], f"année : {year}", "territoires : Lyon et ses arrondissements", "mesure affichée : " + ("nombre" if measure == "count" else "taux")]
    elif target == TABLE:
        rows = off.read_official(settings, codes=sorted({code, schema.CITY_CODE}), indicators=[indicator])
        df = off_tables.year_table(rows, indicator, code)
    else:
        cmp = off.comparison(settings, codes=[code])
        if cmp is None:
            return None
        cmp = off_tables.masked_comparison(cmp, settings.min_count, analyst)
        if target == COMPARISON:
            cmp = cmp[cmp[m.INDICATOR] == indicator]
        else:
            cmp = cmp[cmp[m.YEAR] == year]
            choices = [f"année : {year}", choices[1]]
        df = off_tables.comparison_table(cmp)
        snapshot = _snapshot_id(settings)
        privacy = f"effectifs de l'observatoire de 1 à {settings.min_count - 1} affichés « < {settings.min_count} »"
        if not analyst:
            privacy += " ; violences sensibles : ville seulement (n.d. par arrondissement)"
    title = EXPORT_TITLES[target]
    meta = ExportMeta(
        title=f"{title} — statistiques officielles (SSMSI)",
        source=off.source_citation(info) + (" ; Observatoire de la délinquance et de la sécurité de Lyon" if snapshot else ""),
        filters=f"édition SSMSI {info['edition']} ; " + " ; ".join(choices),
        snapshot_id=snapshot,
        privacy=privacy,
        protected=True,
    )
    bits = [title, f"ssmsi-{info['edition']}", indicator if target != COMPARISON_TABLE else "", code, str(year) if target in (ARRONDISSEMENTS, COMPARISON_TABLE) else ""]
    return df, meta, slug("_".join(b for b in bits if b))[:120]


def _snapshot_id(settings) -> str:  # noqa: ANN001
    from observatory import store

    snap = store.current_snapshot(settings)
    return snap.id if snap else ""


def export_download(target: str, fmt: str, indicator: str, code: str, measure: str, year: int, analyst: bool):  # noqa: ANN201 - dcc.send_bytes dict | None
    from observatory.reports.exports import to_csv_bytes, to_xlsx_bytes

    built = export_table(target, indicator, code, measure, year, analyst) if fmt in EXPORT_FORMATS else None
    if built is None:
        return None
    df, meta, stem = built
    if fmt == "csv":
        return dcc.send_bytes(to_csv_bytes(df, meta), f"{stem}.csv")
    return dcc.send_bytes(to_xlsx_bytes(df, meta), f"{stem}.xlsx")


def _export_clicked(clicks, indicator, code, measure, year):  # noqa: ANN001, ANN202
    trig = ctx.triggered_id
    if not trig or not any(clicks or []) or indicator is None or code is None or year is None:
        return no_update
    payload = export_download(trig["target"], trig["fmt"], indicator, code, measure or "rate", year, _is_analyst())
    return payload if payload is not None else no_update


def _is_analyst() -> bool:
    try:
        return components.is_analyst()
    except Exception:  # noqa: BLE001 - outside a signed-in request (tests, exports) the safe answer is "not an analyst"
        return False



def _note(target: str) -> Output:
    return Output({"type": "method-note", "target": target}, "children")


if _FIRST_LOAD:
    callback(
        Output(SERIES, "figure"), _note(SERIES), Output(ARRONDISSEMENTS, "figure"), _note(ARRONDISSEMENTS),
        Input(INDICATOR, "value"), Input(TERRITORY, "value"), Input(MEASURE, "value"), Input(YEAR, "value"),
    )(official_figures)
    callback(Output(TABLE, "children"), _note(TABLE), Input(INDICATOR, "value"), Input(TERRITORY, "value"))(official_table)
    callback(
        Output(COMPARISON, "figure"), _note(COMPARISON), Output(COMPARISON_TABLE, "children"), _note(COMPARISON_TABLE),
        Input(INDICATOR, "value"), Input(TERRITORY, "value"), Input(YEAR, "value"),
    )(official_comparison)
    callback(
        Output({"type": EXPORT_DOWNLOAD, "target": MATCH}, "data"),
        Input({"type": EXPORT_BUTTON, "target": MATCH, "fmt": ALL}, "n_clicks"),
        State(INDICATOR, "value"), State(TERRITORY, "value"), State(MEASURE, "value"), State(YEAR, "value"),
        prevent_initial_call=True,
    )(_export_clicked)
