"""Statistiques officielles: the SSMSI figures per arrondissement and year, beside the observatory's own.

Callbacks stay thin: read the official table (``observatory.official``), shape with its pure functions, draw
with ``observatory.official.figures``. The page has its own controls (indicator, territory, measure, year):
the shared filter bar selects incidents, which official figures are not.
"""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, callback, dcc, html

from observatory import labels, schema
from observatory import official as off
from observatory.dashboard import components
from observatory.official import compare
from observatory.official import figures as off_figures
from observatory.official import model as m

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
        return html.Div([title, components.empty_state("Statistiques officielles illisibles", f"{exc}. {EMPTY_HELP}")])
    if info is None or frame is None or frame.empty:
        return html.Div([title, components.empty_state("Aucune statistique officielle importée", EMPTY_HELP)])
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
                             dcc.Dropdown(id=INDICATOR, options=[{"label": i.label, "value": i.code} for i in present], value=default_indicator, clearable=False)], md=5),
                    dbc.Col([dbc.Label("Territoire", html_for=TERRITORY, className="small mb-0"),
                             dcc.Dropdown(id=TERRITORY, options=[{"label": labels.arrondissement_label(c), "value": c} for c in codes], value=codes[0], clearable=False)], md=3),
                    dbc.Col([dbc.Label("Année", html_for=YEAR, className="small mb-0"),
                             dcc.Dropdown(id=YEAR, options=[{"label": str(y), "value": y} for y in reversed(years)], value=years[-1], clearable=False)], md=2),
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
            html.P(_edition_line(info) + "." + no_arr, className="small text-muted mb-1", id="officielles-source"),
            html.P("Chiffres annuels publiés : la barre de filtres du haut ne s'applique pas à cette page, qui a ses propres choix.",
                   className="small text-muted"),
            controls,
            dbc.Row(
                [
                    dbc.Col(components.figure_card(SERIES, "Évolution sur les années", height=340, formats=()), lg=6),
                    dbc.Col(components.figure_card(ARRONDISSEMENTS, "Les arrondissements face à la ville", height=340, formats=()), lg=6),
                ],
                className="g-3",
            ),
            components.table_card(TABLE, "Nombres et taux par année", formats=()),
            dbc.Row(
                [
                    dbc.Col(components.figure_card(COMPARISON, "Chiffres officiels et chiffres de l'observatoire", height=320, formats=()), lg=6),
                    dbc.Col(components.table_card(COMPARISON_TABLE, "Comparaison pour l'année choisie", formats=()), lg=6),
                ],
                className="g-3",
            ),
            dbc.Alert([html.Strong("Pourquoi les chiffres diffèrent. "), compare.DIFFERENCE_NOTE], color="light", className="small border"),
        ]
    )


def _unit(indicator: str, measure: str, rows: pd.DataFrame) -> str:
    if measure == "count":
        units = rows[m.UNIT].dropna().unique()
        return f"Nombre ({units[0].lower()}s)" if len(units) == 1 else "Nombre"
    return f"Taux {off.rate_unit(indicator)}"


def official_figures(indicator, code, measure, year):  # noqa: ANN001, ANN201
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
    settings = _settings()
    rows = off.read_official(settings, codes=sorted({code, schema.CITY_CODE}), indicators=[indicator])
    own = rows[rows[m.CODE] == code].sort_values(m.YEAR, ascending=False)
    city = rows[rows[m.CODE] == schema.CITY_CODE].set_index(m.YEAR)[m.RATE]
    table = pd.DataFrame(
        {
            "year": own[m.YEAR].astype(int),
            "count": [labels.fmt_int(int(v)) if pd.notna(v) else "non diffusé" for v in own[m.COUNT]],
            "rate": own[m.RATE],
            "city_rate": own[m.YEAR].map(city),
            "base": [labels.fmt_int(int(d if b == "logements" else p)) if pd.notna(d if b == "logements" else p) else "–"
                     for b, p, d in zip(own[m.RATE_BASE], own[m.POPULATION], own[m.DWELLINGS])],
        }
    )
    cols = [
        components.Col("year", "Année", str),
        components.Col("count", "Nombre", str),
        components.Col("rate", f"Taux {off.rate_unit(indicator)}", components.num_cell(2)),
        components.Col("city_rate", "Taux de Lyon", components.num_cell(2)),
        components.Col("base", "Logements" if off.rate_unit(indicator).endswith("logements") else "Population", str),
    ]
    note = "Chiffres tels que publiés par le SSMSI ; « non diffusé » : effectif trop faible ou qualité insuffisante selon le SSMSI."
    return components.french_table(table, cols, numeric=("count", "rate", "city_rate", "base")), note


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
    cmp = cmp.assign(shown=compare.observatory_count_text(cmp, settings.min_count, analyst))
    # Masked observatory cells are hidden in the bars too, and their gap is not computed.
    masked = ~cmp["shown"].str.match(r"^[\d\u00a0]+$") & cmp[compare.OBSERVATORY_COUNT].notna()
    cmp.loc[masked, [compare.OBSERVATORY_COUNT, compare.DIFFERENCE]] = pd.NA
    cmp.loc[masked, compare.RATIO] = pd.NA
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
