"""Bilan annuel: the yearly page for elected officials, city or one arrondissement, printable on A4.

Everything on it comes from :func:`observatory.reports.diagnostic.diagnostic_for`, the same object the PDF is
printed from, so the page and the document always agree; every count is protected, no point is shown. The
diagnostic is built once per snapshot, year and territory (:func:`observatory.reports.cache.diagnostic`): a
second visit, the PDF and the downloads answer from memory.
URL: ``/bilan?annee=2025&arrondissement=69383``. Élus are offered the closed years only (those with a
publication); any other year they ask for — in the URL or in a download's state — is coerced on the server to the
last closed one, with a note (:func:`choose_year`). Analysts keep every year.

Every figure (CSV, XLSX, SVG) and table (CSV, XLSX) has its download buttons. The dashboard's shared export
mechanism (``dashboard.exporting``) rebuilds a table from the shared filter bar's ``Filters`` and protects it
with the generic call; the Bilan's filters are its own (year, territory) and its tables are already protected
with the report's published lines, so the downloads are answered here, by one pattern-matching callback that
hands the same diagnostic to :func:`observatory.reports.diagnostic.export_item`.
"""

from __future__ import annotations

import base64
import dataclasses
import re
from typing import NamedTuple

import dash
import dash_bootstrap_components as dbc
from dash import ALL, MATCH, Input, Output, State, callback, ctx, dcc, html

from observatory import labels, schema
from observatory.dashboard import components, elu_views

dash.register_page(__name__, path="/bilan", name="Bilan annuel", title="Bilan annuel — Observatoire", order=50)

PDF_BUTTON = "bilan-pdf-button"
PDF_DOWNLOAD = "bilan-pdf-download"
PDF_STATE = "bilan-pdf-state"
EXPORT_BUTTON = "bilan-export"  # {"type": EXPORT_BUTTON, "item": "figure|table:<key>", "fmt": "csv|xlsx|svg"}
EXPORT_DOWNLOAD = "bilan-export-download"  # {"type": EXPORT_DOWNLOAD, "item": ...}
FORMAT_NAMES = {"csv": "CSV", "xlsx": "XLSX", "svg": "SVG"}


def _exports(kind: str, key: str) -> html.Div:
    from observatory.reports.diagnostic import EXPORT_FORMATS

    item = f"{kind}:{key}"
    buttons = [
        dbc.Button(FORMAT_NAMES[f], id={"type": EXPORT_BUTTON, "item": item, "fmt": f}, size="sm", color="secondary", outline=True,
                   className="ms-1 py-0", title=f"Télécharger en {FORMAT_NAMES[f]} (année et territoire affichés, données protégées)")
        for f in EXPORT_FORMATS[kind]
    ]
    return html.Div([html.Small("Télécharger :", className="text-muted")] + buttons + [dcc.Download(id={"type": EXPORT_DOWNLOAD, "item": item})],
                    className="no-print bilan-exports d-flex align-items-center justify-content-end mb-1")


def _for_reader(d):  # noqa: ANN001, ANN202 - Diagnostic
    """The diagnostic as the signed-in reader may get it: élus read the actions chapter without its counts and
    estimates (:func:`observatory.reports.diagnostic_actions.for_elus`), on the page, in the PDF and in downloads."""
    from observatory.reports.diagnostic_actions import for_elus

    return d if components.is_analyst() else for_elus(d)


def offered_years(an, analyst: bool) -> list[int]:  # noqa: ANN001
    """The years the selector offers: every year of the snapshot to an analyst; to an élu only the closed years,
    which are the years that have a publication (:func:`observatory.dashboard.elu_views.closed_years`). The
    year still filling is not one: its bilan would change with every snapshot, and two of them would differ by
    a month of counts. Read from the snapshot's date range, never from the clock."""
    if not analyst:
        return list(elu_views.closed_years(an))
    first, last = an.date_range()
    return list(range(first.year, last.year + 1)) if first and last else []


class YearChoice(NamedTuple):  # not a dataclass: Dash Pages imports this module outside sys.modules
    year: int | None  # None: nothing to show (an élu, and no closed year in the data)
    years: list[int]  # what the selector offers
    note: str = ""  # why the requested year was not served (French, shown above the bilan)


def choose_year(an, annee, analyst: bool) -> YearChoice:  # noqa: ANN001
    """The year served for a requested ``annee`` (URL, or the PDF/export state), decided on the server.

    An analyst gets any year of the data (the latest by default; a year without data is coerced to it, with a
    note). An élu's request for a year that is not offered — the year still filling, a year before the data, a
    malformed value — is coerced to the last closed year, with a note naming what was asked, as
    :func:`observatory.dashboard.elu_views.scope` does for the other pages."""
    years = offered_years(an, analyst)
    try:
        asked = int(annee) if annee not in (None, "") else None
    except (TypeError, ValueError):
        asked = None
    if not years:
        return YearChoice(None, years)
    if analyst and asked is not None and asked not in years:
        # A year without data would print an empty bilan (and one beyond 9999 crash the date arithmetic).
        return YearChoice(years[-1], years, f"Aucune donnée pour l'année {asked} : bilan {years[-1]} affiché.")
    if analyst:
        return YearChoice(asked if asked is not None else years[-1], years)
    if asked is None and annee not in (None, ""):
        return YearChoice(years[-1], years, f"Année « {str(annee)[:12]} » non reconnue : bilan {years[-1]} affiché.")
    if asked is None or asked in years:
        return YearChoice(asked if asked is not None else years[-1], years)
    why = "n'est pas encore close" if asked > years[-1] else "n'a pas de bilan publié"
    return YearChoice(years[-1], years, f"L'année {asked} {why} : son bilan n'est pas publié pour les élus. Bilan {years[-1]} affiché.")


def _territory(arrondissement) -> str | None:  # noqa: ANN001
    return arrondissement if arrondissement in schema.ARRONDISSEMENT_CODES else None


def _svg(svg: str, alt: str) -> html.Img:
    return html.Img(src="data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode(), alt=alt, className="bilan-figure")


def _say(text: object) -> str:
    """A sentence of the diagnostic as this reader gets it: an analyst keeps the test names, p-values and
    intervals; an élu reads the conclusion in plain French (the method stays in the note at the page's end)."""
    return labels.public_text(text) if components.is_analyst_view() else labels.plain_text(text)


# The method an élu can unfold at the end of the page (the sentences above say only « significatif » or not).
METHOD_NOTE = (
    "Une évolution est dite « significative » quand elle dépasse ce que les variations ordinaires d'une année à "
    "l'autre expliquent : test quasi-Poisson à dispersion estimée (Poisson exact sur les petits effectifs), seuil "
    "de 5 %, corrigé pour l'ensemble des tests de la publication (Benjamini-Hochberg). Les actions sont évaluées "
    "par différence de différences (périmètre contre zone témoin) et par le bilan net zone tampon comprise (WDD), "
    "avec leurs intervalles de confiance à 95 %."
)


class _Counter:
    """Figures and tables numbered in the page's own order (the page shows a selection of the report's)."""

    def __init__(self) -> None:
        self.n = {"figure": 0, "table": 0}

    def __call__(self, kind: str) -> int:
        self.n[kind] += 1
        return self.n[kind]


def _figure(fig, count: _Counter) -> html.Figure:  # noqa: ANN001 - reports.diagnostic.Figure
    return html.Figure([_svg(fig.svg, fig.title), html.Figcaption([html.Strong(f"Figure {count('figure')}. "), fig.title, " ", html.Small(_say(fig.note), className="text-muted")]), _exports("figure", fig.key)], className=f"bilan-fig bilan-fig-{fig.key}")


TEST_COLUMN = re.compile(r"\bWDD\b|[Dd]ifférence de différences|\bp\b|quasi-Poisson")

# Short verdict columns (« non significative ») read badly broken over two lines: they keep one line.
NOWRAP_TEXT_COLUMNS = ("Test",)


def _column_class(tab, column: str) -> str:  # noqa: ANN001 - reports.diagnostic.Table
    if tab.is_numeric(column):
        return "text-end text-nowrap bilan-num"
    return "text-start text-nowrap bilan-verdict" if column in NOWRAP_TEXT_COLUMNS else "text-start bilan-text"


def _table(tab, count: _Counter) -> html.Div:  # noqa: ANN001 - reports.diagnostic.Table
    # One class per column for its header and its cells: a number's header sits right above it (right-aligned),
    # a text column ("Test", "Catégories") is left-aligned and wraps.
    frame = tab.frame
    if not components.is_analyst_view():
        # The tests' own columns (« WDD [IC 95 %] », « Différence de différences [IC 95 %] ») are the analyst's; the
        # élu's verdict column says what they conclude. The table's export keeps them.
        frame = frame[[c for c in frame.columns if not TEST_COLUMN.search(str(c))]]
        tab = dataclasses.replace(tab, frame=frame) if dataclasses.is_dataclass(tab) else tab
    classes = [_column_class(tab, c) for c in frame.columns]
    # Headers may wrap at their spaces (« Heures pour 1 000 hab. »), the figures under them never: nine one-line
    # headers made the means table wider than the page at 1024 px.
    head = html.Thead(html.Tr([html.Th(c, className=k.replace("text-nowrap ", "")) for c, k in zip(frame.columns, classes)]))
    body = html.Tbody([html.Tr([html.Td(_say(v) if "bilan-text" in k and isinstance(v, str) else v, className=k) for v, k in zip(row, classes)])
                       for row in frame.itertuples(index=False)])
    return html.Div([html.Div([html.Strong(f"Tableau {count('table')}. "), tab.title], className="small mb-1"), dbc.Table([head, body], size="sm", bordered=False, striped=True, className="bilan-table"), _exports("table", tab.key)], className="bilan-tbl")


def _section(sec, count: _Counter, level: str = "h3", zone: bool = False) -> html.Section:  # noqa: ANN001
    from observatory.reports.render import zone_sentences

    heading = getattr(html, level.upper())
    sentences = zone_sentences(sec) if zone else sec.sentences
    return html.Section(
        [heading(sec.title, className="h5 mt-3")] + [html.P(_say(s)) for s in sentences]
        + [_figure(f, count) for f in sec.figures] + [_table(t, count) for t in sec.tables],
        className="bilan-section",
    )


def _chapter(sec, count: _Counter, notes_small: bool = False) -> html.Section | None:  # noqa: ANN001
    """A chapter of the PDF shown whole on the page (actions, data quality): its sentences, figures and tables."""
    if sec is None:
        return None
    return html.Section(
        [html.H2(sec.title, className="h4 mt-3")]
        + [html.P(_say(s), className="small" if notes_small else None) for s in sec.sentences]
        + [_figure(f, count) for f in sec.figures] + [_table(t, count) for t in sec.tables],
        className=f"bilan-section bilan-{sec.key}",
    )


def _official(d) -> html.Section | None:  # noqa: ANN001 - reports.diagnostic.Diagnostic
    """The SSMSI figures quoted in the report's summary (already public), or why there are none for the year."""
    if d.official_summary:
        return html.Section([
            html.H2("Chiffres officiels du ministère de l'Intérieur (SSMSI)", className="h5 mt-3"),
            html.P(f"Délinquance enregistrée par la police et la gendarmerie à {d.place} en {d.year}, telle que publiée "
                   "(elle diffère des faits de l'observatoire, qui réunit d'autres partenaires et d'autres définitions) :", className="small"),
            html.Ul([html.Li(line) for line in d.official_summary], className="small"),
            html.P(labels.public_text(d.official_source), className="small text-muted") if d.official_source else None,
        ], className="bilan-official")
    if d.official_source:
        return html.Section(html.P(labels.public_text(d.official_source), className="small text-muted"), className="bilan-official")
    return None


def _selector(year: int, years: list[int], arrondissement: str | None) -> html.Form:
    # A plain GET form: the choice lands in the URL (shareable, bookmarkable) without a callback.
    return html.Form(
        [
            html.Label("Année", htmlFor="bilan-annee", className="me-2"),
            html.Select([html.Option(str(y), value=str(y), selected=(y == year)) for y in years], id="bilan-annee", name="annee", className="form-select d-inline-block w-auto me-3"),
            html.Label("Territoire", htmlFor="bilan-arr", className="me-2"),
            html.Select(
                [html.Option("Toute la ville", value="", selected=not arrondissement)]
                + [html.Option(labels.arrondissement_label(c), value=c, selected=(c == arrondissement)) for c in schema.ARRONDISSEMENT_CODES],
                id="bilan-arr", name="arrondissement", className="form-select d-inline-block w-auto me-3",
            ),
            html.Button("Afficher", type="submit", className="btn btn-primary btn-sm"),
        ],
        method="get",
        action="/bilan",
        className="no-print mb-3",
    )


def layout(annee: str | None = None, arrondissement: str | None = None, **_query):  # noqa: ANN003, ANN201
    from observatory.reports.cache import diagnostic

    an = components.analytics()
    if not components.has_data(an):
        return html.Div([html.H1("Bilan annuel", className="h4"), components.empty_state()])
    choice = choose_year(an, annee, components.is_analyst())
    arr = _territory(arrondissement)
    if choice.year is None:
        return html.Div([html.H1("Bilan annuel", className="h4"),
                         components.empty_state("Aucune année complète publiée", "Le bilan annuel des élus porte sur une année civile close ; "
                                                "les données ne couvrent encore aucune année entière.")])
    year, years = choice.year, choice.years or [choice.year]
    d = _for_reader(diagnostic(components.settings(), year, arr, analytics=an))
    count = _Counter()
    keys = dbc.Row(
        [
            dbc.Col(
                components.kpi_card(k.label, k.value, (k.change + f" par rapport à {d.previous_year}") if k.change else "",
                                    tone=("up" if k.direction > 0 else "down") if k.significant else "neutral", hint=_say(k.sentence)),
                xs=12, sm=6, lg=4, className="mb-2",
            )
            for k in d.key_figures
        ]
    )
    body = [
        _selector(year, years, arr),
        dbc.Alert(choice.note, color="warning", className="bilan-year-note no-print small py-2") if choice.note else None,
        html.H1(d.title, className="h3"),
        html.P(f"{labels.data_as_of(d).capitalize()} · données protégées : nombres de 1 à {d.min_count - 1} remplacés par « < {d.min_count} »", className="text-muted small"),
        html.Div(
            [dbc.Button("Télécharger le diagnostic (PDF)", id=PDF_BUTTON, color="secondary", size="sm", className="me-2"),
             dbc.Button("Imprimer cette page", color="light", size="sm", href="javascript:window.print()", external_link=True),
             dcc.Download(id=PDF_DOWNLOAD), dcc.Store(id=PDF_STATE, data={"annee": year, "arrondissement": arr})],
            className="no-print mb-3",
        ),
        html.Section([html.P(_say(s), className="lead" if i == 0 else "") for i, s in enumerate(d.summary)]),
        keys,
        _official(d),
        html.Section([html.H2("Priorités de l'année", className="h4 mt-3")] + ([html.Ul([html.Li(_say(p)) for p in d.priorities])] if d.priorities else [html.P(_say(d.priorities_sentence))])),
        html.Section([html.H2(d.trend.title, className="h4 mt-3")] + [_figure(f, count) for f in d.trend.figures]),
        html.Section([html.H2(d.themes[0].title, className="h4 mt-3")] + [_table(t, count) for t in d.themes[0].tables]),
        html.Section([html.H2(d.arrondissements.title, className="h4 mt-3")] + [html.P(_say(s)) for s in d.arrondissements.sentences] + [_figure(f, count) for f in d.arrondissements.figures] + [_table(t, count) for t in d.arrondissements.tables]),
        html.Section([html.H2("Hypercentre, piscines et quartiers prioritaires", className="h4 mt-3")] + [_section(s, count, zone=True) for s in d.zones]) if d.zones else None,
        _chapter(d.residents, count),
        _chapter(getattr(d, "means", None), count),
        _chapter(d.actions, count, notes_small=True),
        _chapter(d.quality, count),
        html.Section([html.H2("Comment lire ces chiffres", className="h4 mt-3"), html.P(_say(d.how_to_read), className="small"),
                      None if components.is_analyst_view() else html.Details([html.Summary("Méthode statistique"), html.P(METHOD_NOTE, className="small")], className="bilan-method small")],
                     className="bilan-howto"),
    ]
    return html.Div([b for b in body if b is not None], className="bilan-page")


def _served(state) -> tuple[int, str | None]:  # noqa: ANN001
    """Year and territory of a download, decided again on the server: the state is the client's, so an élu's
    crafted year (the one still filling, or a malformed value) is coerced like the page's URL."""
    state = state if isinstance(state, dict) else {}
    an = components.analytics()
    if not components.has_data(an):
        raise dash.exceptions.PreventUpdate
    choice = choose_year(an, state.get("annee"), components.is_analyst())
    if choice.year is None:
        raise dash.exceptions.PreventUpdate
    return choice.year, _territory(state.get("arrondissement"))


@callback(Output(PDF_DOWNLOAD, "data"), Input(PDF_BUTTON, "n_clicks"), State(PDF_STATE, "data"), prevent_initial_call=True)
def download_pdf(n_clicks, state):  # noqa: ANN001, ANN201
    from observatory.reports.cache import diagnostic
    from observatory.reports.render import RenderError, render_pdf

    if not n_clicks:
        raise dash.exceptions.PreventUpdate
    year, arr = _served(state)
    d = _for_reader(diagnostic(components.settings(), year, arr, analytics=components.analytics()))
    try:
        pdf = render_pdf(d)
    except RenderError:
        # Without Chromium on the server, the HTML version (printable from the browser) is the fallback.
        from observatory.reports.render import render_html

        return dcc.send_string(render_html(d), f"diagnostic-{d.year}-{d.arrondissement or schema.CITY_CODE}.html")
    return dcc.send_bytes(pdf, f"diagnostic-{d.year}-{d.arrondissement or schema.CITY_CODE}.pdf")


@callback(
    Output({"type": EXPORT_DOWNLOAD, "item": MATCH}, "data"),
    Input({"type": EXPORT_BUTTON, "item": MATCH, "fmt": ALL}, "n_clicks"),
    State(PDF_STATE, "data"),
    prevent_initial_call=True,
)
def download_item(clicks, state):  # noqa: ANN001, ANN201
    """One figure or table of the page as CSV/XLSX/SVG, with the page's year and territory (thin: parse → build → send)."""
    from observatory.reports.cache import diagnostic
    from observatory.reports.diagnostic import export_item

    trig = ctx.triggered_id
    if not trig or not any(clicks or []) or not state:
        raise dash.exceptions.PreventUpdate
    kind, _, key = trig["item"].partition(":")
    year, arr = _served(state)
    d = _for_reader(diagnostic(components.settings(), year, arr, analytics=components.analytics()))
    out = export_item(d, kind, key, trig["fmt"])
    if out is None:
        raise dash.exceptions.PreventUpdate
    payload, name = out
    return dcc.send_bytes(payload, name)
