"""Reusable pieces of the dashboard: figure and table cards (method note + exports), KPI cards, empty states,
the demo banner, and French tables.

Pages of every engineer use these; they hold no data and no state. Per-request context (settings, analytics
of the current snapshot, role) comes from :func:`settings` and :func:`analytics`, which read the Flask app,
never a module global.
"""

from __future__ import annotations

import importlib
from datetime import date
from typing import Any, Callable, Iterable, Mapping, NamedTuple

import dash_bootstrap_components as dbc
import numpy as np
import pandas as pd
import dash
from dash import Input, Output, dcc, html

from observatory import labels
from observatory.config import Settings
from observatory.dashboard import ids
from observatory.figures import graph_config

INGEST_HELP = (
    "Pour charger des données : « observatory ingest <partenaire> <fichiers…> » pour les extraits des partenaires, "
    "ou « make run » pour générer et intégrer les données de démonstration."
)


# French controls ---------------------------------------------------------------------------------------------------
# Dash 4's dcc.Dropdown speaks English unless given its labels; every dropdown of the app is built by dropdown().
DROPDOWN_LABELS = {
    "select_all": "Tout sélectionner",
    "deselect_all": "Tout désélectionner",
    "selected_count": "{num_selected} sélectionné(s)",
    "search": "Rechercher",
    "clear_search": "Effacer la recherche",
    "clear_selection": "Effacer la sélection",
    "no_options_found": "Aucun choix ne correspond",
}
# Tall enough for the nine arrondissements or a year of months without scrolling (the default shows ~3 rows).
DROPDOWN_MAX_HEIGHT = 340


def dropdown(**kwargs: Any) -> dcc.Dropdown:
    """A dcc.Dropdown with French texts and a list tall enough to read; any keyword overrides."""
    kwargs.setdefault("labels", DROPDOWN_LABELS)
    kwargs.setdefault("maxHeight", DROPDOWN_MAX_HEIGHT)
    return dcc.Dropdown(**kwargs)


def month_picker(target: str, year_id: str, month_id: str, first: date | None, last: date | None, options: list[dict], placeholder: str,
                 years: list[int] | None = None, year_placeholder: str = "année", show_month: bool = True) -> html.Div:
    """A month bound as a year and a month (12 rows at most, never 84): they write the ISO date of the hidden
    ``target`` dropdown, which the filter callbacks and the address read as before.

    ``years`` restricts the years offered (default: the data's); ``show_month=False`` keeps the month half hidden,
    so that a year alone is chosen (the bound's default month: January for a start, December for an end)."""
    if years is None:
        years = list(range(first.year, last.year + 1)) if first and last else []
    month = dropdown(id=month_id, options=[{"label": labels.month_name(m), "value": m} for m in range(1, 13)], placeholder=placeholder, clearable=False, className="month-picker-month")
    return html.Div(
        [
            dropdown(id=year_id, options=[{"label": str(y), "value": y} for y in reversed(years)], placeholder=year_placeholder, clearable=True, className="month-picker-year"),
            month if show_month else html.Div(month, className="d-none"),
            html.Div(dropdown(id=target, options=options, clearable=True), className="d-none"),
        ],
        className="d-flex gap-1 month-picker",
    )


# The year/month pair and the ISO date of the bound stay in step both ways in one clientside callback (Dash allows
# a callback whose outputs are its own inputs): the address fills the date, the date fills year and month, and a
# choice of year or month writes the date. "end" bounds take the last day of the month.
_SYNC_MONTH = """
function(value, year, month) {
    const nu = window.dash_clientside.no_update;
    const trig = (window.dash_clientside.callback_context.triggered || []).map(t => t.prop_id.split('.')[0]);
    const fromValue = trig.length === 0 || trig.includes('%(target)s') || trig.includes('');
    if (fromValue) {
        if (!value) { return [nu, null, null]; }
        const parts = String(value).split('-');
        return [nu, parseInt(parts[0], 10), parseInt(parts[1], 10)];
    }
    if (year === null || year === undefined) { return [null, nu, nu]; }
    const m = month || %(default_month)d;
    const day = %(end)s ? new Date(year, m, 0).getDate() : 1;
    const pad = n => String(n).padStart(2, '0');
    return [year + '-' + pad(m) + '-' + pad(day), nu, month ? nu : m];
}
"""
for _target, _year, _month, _end in ((ids.F_START, ids.F_START_YEAR, ids.F_START_MONTH, False), (ids.F_END, ids.F_END_YEAR, ids.F_END_MONTH, True)):
    dash.clientside_callback(
        _SYNC_MONTH % {"target": _target, "default_month": 12 if _end else 1, "end": "true" if _end else "false"},
        Output(_target, "value", allow_duplicate=True),
        Output(_year, "value"),
        Output(_month, "value"),
        Input(_target, "value"),
        Input(_year, "value"),
        Input(_month, "value"),
        prevent_initial_call="initial_duplicate",
    )


# Per-request context -----------------------------------------------------------------------------------------------
def settings() -> Settings:
    """The Settings of the app serving the current request (set by ``create_app``)."""
    import flask

    return flask.current_app.config["OBSERVATORY_SETTINGS"]


def analytics():  # noqa: ANN201 - observatory.analytics.Analytics
    """The analytics of the current snapshot (cached per snapshot id by the analytics layer)."""
    from observatory.analytics.engine import get_analytics

    return get_analytics(settings())


def has_data(an) -> bool:  # noqa: ANN001
    return an.snapshot_id != "empty"


def is_analyst() -> bool:
    from observatory.dashboard import security

    return security.is_analyst()


def min_count() -> int:
    """Smallest count shown to élus (DESIGN §6); smaller non-zero counts read "< 5"."""
    return settings().min_count


def cellwise_view(df: pd.DataFrame, value_cols, *, derived=()) -> pd.DataFrame:  # noqa: ANN001
    """``shaping.cellwise_view`` for the viewer of the current request (tables of overlapping zones)."""
    from observatory.dashboard import shaping

    return shaping.cellwise_view(df, value_cols, min_count(), analyst=is_analyst(), derived=derived)


def view(df: pd.DataFrame, value_cols, *, keys=None, derived=(), row_totals: bool = True) -> pd.DataFrame:  # noqa: ANN001
    """``shaping.protected_view`` for the viewer of the current request (raw for analysts, protected otherwise)."""
    from observatory.dashboard import shaping

    return shaping.protected_view(df, value_cols, min_count(), analyst=is_analyst(), keys=keys, derived=derived, row_totals=row_totals)


def privacy_note(v: pd.DataFrame) -> str:
    """Method-note fragment saying that some counts are withheld (empty for analysts or when nothing is hidden)."""
    if not v.attrs.get("protected"):
        return ""
    return (f"effectifs de 1 à {min_count() - 1} affichés « < {min_count()} » ; « secret » : masqué pour éviter de "
            "retrouver une petite valeur par différence")


paris_time = labels.to_paris  # one definition of "the time a user reads" (observatory.labels)
fmt_paris = labels.fmt_paris


def is_demo(s: Settings) -> bool:
    try:
        demo = importlib.import_module("observatory.demo")
    except ModuleNotFoundError:
        return False
    fn = getattr(demo, "is_demo", None)
    return bool(fn(s)) if fn else False


# Method notes ---------------------------------------------------------------------------------------------------------
def period_text(start: date | None, end: date | None) -> str:
    if start and end:
        return f"du {labels.fmt_date(start)} au {labels.fmt_date(end)}"
    if start:
        return f"depuis le {labels.fmt_date(start)}"
    if end:
        return f"jusqu'au {labels.fmt_date(end)}"
    return "toute la période disponible"


def method_note(an, filters, *, rate: bool = False, period: tuple[date | None, date | None] | None = None, extra: str = "") -> str | list:  # noqa: ANN001
    """The short note under every figure: source, period, rate base, boundaries, snapshot (for an élu, the
    ``extra`` method text folded in a « Méthode » disclosure)."""
    sources = ", ".join(labels.source_label(s) for s in filters.sources) if filters.sources else "tous les partenaires"
    start, end = period if period is not None else (filters.start, filters.end)
    if period is None and (start is None or end is None) and has_data(an):
        lo, hi = an.date_range(filters)
        start, end = start or lo, end or hi
    # An analyst reads the snapshot id (to reproduce a figure); an élu reads the date of the data.
    origin = f"instantané {an.snapshot_id}" if is_analyst_view() else labels.data_as_of(getattr(an, "snapshot", None))
    parts = [f"Source : {sources} (observatoire, {origin})", f"période {period_text(start, end)}"]
    territory = an.territory
    if rate:
        parts.append(labels.population_note(territory.population_vintage))
    if territory.approximate:
        parts.append("contours approximatifs")
    if extra and not is_analyst_view():
        # An élu reads where the figure comes from; the method (tests, corrections, thresholds) folds under
        # « Méthode », one click away, instead of a paragraph of « quasi-Poisson » and « Benjamini-Hochberg ».
        short = labels.public_text(" ; ".join(parts) + ".")
        return [short + " ", html.Details([html.Summary("Méthode", className="d-inline"), " " + labels.public_text(extra.strip())], className="method-details d-inline")]
    if extra:
        parts.append(extra.strip().rstrip("."))
    text = " ; ".join(parts) + "."
    return text if is_analyst_view() else labels.public_text(text)


def is_analyst_view() -> bool:
    """True when the current request is an analyst's (texts may then name commands, pages and snapshot ids)."""
    from observatory.dashboard import security

    return security.is_analyst()


# Cards ----------------------------------------------------------------------------------------------------------------
def export_buttons(target: str, formats: Iterable[str] = ("csv", "xlsx"), svg: bool = False) -> html.Div:
    """Data exports (server side, filters and page options of the address) and, for figures, an SVG of what is drawn."""
    names = {"csv": "CSV", "xlsx": "XLSX", "geojson": "GeoJSON", "svg": "SVG"}
    titles = {"svg": "Exporter la carte en SVG vectoriel, avec titre, légende, source et date (filtres et couche en cours)"}
    formats = list(formats)
    buttons = [
        dbc.Button(names[f], id=ids.export_button(target, f), size="sm", color="secondary", outline=True, className="ms-1", title=titles.get(f, f"Exporter en {names[f]} (filtres et options en cours)"))
        for f in formats
    ]
    # A map's SVG is drawn by the server ("svg" among the formats): Plotly's own SVG of a WebGL map is a bitmap.
    if svg and "svg" not in formats:
        buttons.append(dbc.Button("SVG", id=ids.export_svg(target), size="sm", color="secondary", outline=True, className="ms-1", title="Exporter la figure affichée en SVG (vectoriel)"))
    extra = [dcc.Download(id=ids.export_download(target)), dcc.Store(id=ids.export_request(target))] if formats else []
    return html.Div(buttons + extra, className="d-flex align-items-center")


def figure_card(target: str, title: str, height: int | None = None, formats: Iterable[str] = ("csv", "xlsx"), graph_id: Any = None, controls: Any = None, filename: str | None = None) -> dbc.Card:
    """A titled card: controls (optional), the graph (PNG export from the modebar), export buttons and method note."""
    graph = dcc.Graph(
        id=graph_id or target,
        config=graph_config(filename or target),
        style={"height": f"{height}px"} if height else None,
        figure={"data": [], "layout": {"height": height or 300, "xaxis": {"visible": False}, "yaxis": {"visible": False}}},
    )
    body = [controls] if controls is not None else []
    body.append(dcc.Loading(graph, type="circle", delay_show=300))
    return dbc.Card(
        [
            # The title has an id so that a callback can name the period it shows (« Arrondissements — 2025 »).
            dbc.CardHeader(html.Div([html.H2(title, id=f"{target}-title", className="h6 mb-0 flex-grow-1"), export_buttons(target, formats, svg=True)], className="d-flex align-items-center")),
            dbc.CardBody(body, className="p-2"),
            dbc.CardFooter(html.Small(id=ids.note(target), className="text-muted method-note"), className="py-1"),
        ],
        className="mb-3 shadow-sm figure-card",
    )


def table_card(target: str, title: str, formats: Iterable[str] = ("csv", "xlsx"), controls: Any = None) -> dbc.Card:
    """A titled card whose body ``target`` a callback fills with :func:`french_table` output."""
    body = [controls] if controls is not None else []
    body.append(dcc.Loading(html.Div(id=target, className="table-responsive"), type="circle", delay_show=300))
    return dbc.Card(
        [
            dbc.CardHeader(html.Div([html.H2(title, className="h6 mb-0 flex-grow-1"), export_buttons(target, formats)], className="d-flex align-items-center")),
            dbc.CardBody(body, className="p-2"),
            dbc.CardFooter(html.Small(id=ids.note(target), className="text-muted method-note"), className="py-1"),
        ],
        className="mb-3 shadow-sm",
    )


def kpi_card(title: str, value: str, detail: str = "", tone: str = "neutral", hint: str = "") -> dbc.Card:
    """A key figure: label, big value, one line of context; ``tone`` colours the detail (up/down/neutral)."""
    tone_class = {"up": "text-danger", "down": "text-success", "neutral": "text-muted"}.get(tone, "text-muted")
    return dbc.Card(
        dbc.CardBody(
            [
                html.Div(title, className="small text-muted text-uppercase kpi-title"),
                html.Div(value, className="fs-3 fw-semibold kpi-value"),
                html.Div(detail, className=f"small {tone_class} kpi-detail"),
                html.Div(hint, className="small text-muted") if hint else None,
            ],
            className="p-2",
        ),
        className="h-100 shadow-sm kpi-card",
    )


def change_text(row: Mapping[str, Any]) -> tuple[str, str]:
    """('+12 % (+85 faits), significatif', tone) from a compare_periods row (or its protected view)."""
    if row.get("comparable") is False or row.get("comparable") is np.False_:
        # A partner without data in one of the periods: no change is stated, only why (analytics.compare).
        return str(row.get("reason") or "pas de comparaison possible"), "neutral"
    if any(row.get(c) is None or (isinstance(row.get(c), float) and pd.isna(row.get(c))) for c in ("current", "previous")):
        return "évolution non publiée (effectifs trop faibles)", "neutral"
    pct = row.get("pct_change")
    diff = row.get("diff", 0)
    if diff is None or (isinstance(diff, float) and pd.isna(diff)):
        return "évolution non publiée (effectifs trop faibles)", "neutral"
    current, previous = int(row.get("current")), int(row.get("previous"))
    if current == 0 and previous == 0:
        return "aucun fait ni sur cette période ni sur la précédente", "neutral"
    sig = bool(row.get("significant"))
    unreliable = bool(row.get("unreliable"))
    n = int(diff)
    facts = f"{labels.fmt_signed(n)} fait" + ("s" if abs(n) > 1 else "")
    if pct is None or (isinstance(pct, float) and pd.isna(pct)):
        text = f"{facts} (aucun fait sur la période précédente)"
    else:
        text = f"{labels.fmt_pct(pct)} ({facts})"
    text += ", significatif" if sig else ", non significatif"
    if unreliable:
        text += " — effectifs faibles, pourcentage peu fiable"
    tone = ("up" if n > 0 else "down") if sig else "neutral"
    return text, tone


def empty_state(title: str = "Aucune donnée intégrée pour l'instant", message: str = INGEST_HELP) -> dbc.Alert:
    return dbc.Alert([html.H2(title, className="h5"), html.P(message, className="mb-0")], color="info", className="empty-state my-3")


def demo_banner() -> dbc.Alert:
    return dbc.Alert(
        [html.Strong(labels.DEMO_NOTICE), " : les chiffres de ce tableau de bord sont générés et ne décrivent pas la réalité."],
        color="warning",
        className="py-1 mb-2 demo-banner",
        id=ids.DEMO_BANNER,
    )


# Tables ---------------------------------------------------------------------------------------------------------------
class Col(NamedTuple):
    """A displayed column: source column, French header, formatter of one value."""

    name: str
    label: str
    fmt: Callable[[Any], str] = str


def fmt_any(value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA or value is pd.NaT:
        return "–"
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, int):
        return labels.fmt_int(value)
    if isinstance(value, float):
        return labels.fmt_number(value, 1)
    if isinstance(value, pd.Timestamp):
        return fmt_paris(value) if (value.tzinfo is not None or value.hour or value.minute) else labels.fmt_date(value)
    if isinstance(value, date):
        return labels.fmt_date(value)
    return str(value)


def french_table(df: pd.DataFrame, columns: Iterable[Col], max_rows: int = 200, numeric: Iterable[str] = ()) -> html.Div:
    """An HTML table with French headers and formatted cells (numbers right-aligned); truncated with a note."""
    cols = list(columns)
    numeric = set(numeric)
    head = html.Thead(html.Tr([html.Th(c.label, className="text-end" if c.name in numeric else None) for c in cols]))
    rows = []
    for rec in df.head(max_rows).to_dict("records"):
        rows.append(html.Tr([html.Td(c.fmt(rec.get(c.name)), className="text-end" if c.name in numeric else None) for c in cols]))
    table = dbc.Table([head, html.Tbody(rows)], size="sm", striped=True, hover=True, className="mb-1 french-table")
    extra = []
    if len(df) > max_rows:
        extra.append(html.Small(f"{labels.fmt_int(max_rows)} premières lignes sur {labels.fmt_int(len(df))} ; l'export contient tout.", className="text-muted"))
    if df.empty:
        return html.Div(html.P("Aucune ligne pour ces filtres.", className="text-muted mb-0"))
    return html.Div([table] + extra)


def yes_no(value: Any) -> str:
    """'oui' / 'non'; '–' when withheld (NaN/None, e.g. a test on a count hidden for privacy)."""
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return "–"
    return "oui" if bool(value) else "non"


def pct_cell(value: Any) -> str:
    return labels.fmt_pct(None if value is None or pd.isna(value) else float(value))


def share_cell(value: Any) -> str:
    """A share in percent without sign (``0.61`` → ``61 %``)."""
    return labels.fmt_pct(None if value is None or pd.isna(value) else float(value), signed=False)


def int_cell(value: Any) -> str:
    return "–" if value is None or pd.isna(value) else labels.fmt_int(int(value))


def num_cell(decimals: int = 1) -> Callable[[Any], str]:
    return lambda v: "–" if v is None or pd.isna(v) else labels.fmt_number(float(v), decimals)


def method_alert(technical: str, plain: str, analyst: bool) -> dbc.Alert:
    """The method paragraph under a page: an analyst reads the ``technical`` text; an élu reads ``plain`` (written
    for them: what the figures mean and what is withheld, not how it is computed) folded under « Méthode »."""
    if analyst:
        return dbc.Alert([html.Strong("Méthode. "), technical], color="light", className="small border")
    details = html.Details([html.Summary("Méthode"), " " + labels.plain_text(plain)], className="method-details")
    return dbc.Alert(details, color="light", className="small border")


def plain_columns(columns: Iterable[Col], numeric: Iterable[str] = ()) -> list[Col]:
    """A table's columns as an élu reads them: headers and text cells through :func:`labels.plain_text` (« IC 95 % »
    becomes a range said in words); the ``numeric`` columns' cells are left as formatted."""
    numeric = set(numeric)
    return [Col(c.name, labels.plain_text(c.label), c.fmt if c.name in numeric else (lambda v, f=c.fmt: labels.plain_text(f(v)))) for c in columns]
