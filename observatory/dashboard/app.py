"""Dash app factory: Dash Pages + Bootstrap (served locally), the shared filter bar, navigation, side panel.

The filter bar lives in the shell, outside the pages. Its state is the URL query string: on load (and on
back/forward) the URL fills the controls; a change of a control rebuilds ``Filters``, stores
``Filters.to_query()`` in ``ids.FILTERS`` and rewrites the address with ``history.replaceState`` (so the page
is not re-rendered, but the address can be bookmarked or sent). Navigation links carry the same query.

One app per process: Dash Pages registers page modules and their callbacks globally.
"""

from __future__ import annotations

import importlib.util
import json
import re
from datetime import date
from pathlib import Path
from urllib.parse import parse_qs, urlencode

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, dcc, html, no_update

from observatory import labels, schema
from observatory.config import Settings, get_settings
from observatory.dashboard import components, elu_views, exporting, geo, ids, panel
from observatory.dashboard import pages as _pages  # noqa: F401 - parent package of the pages Dash imports by name

PAGES_DIR = Path(__file__).parent / "pages"
ASSETS_DIR = Path(__file__).parent / "assets"
BOOTSTRAP_URL = "/vendor/bootstrap.min.css"
TITLE = "Observatoire de la délinquance — Lyon"


def _bootstrap_css() -> Path:
    import flask_bootstrap

    return Path(flask_bootstrap.__file__).parent / "static" / "bootstrap5" / "css" / "bootstrap.min.css"


# Component libraries Dash always lists in a page's scripts although no page of the dashboard uses them: the
# DataTable's bundle (9 kB on every first visit). tests/test_page_weight.py fails when a page starts using one.
UNUSED_LIBRARIES = ("dash_table",)
_UNUSED_SCRIPT = re.compile(r'<script src="[^"]*/(?:' + "|".join(UNUSED_LIBRARIES) + r')/[^"]*"></script>\n?')


class ObservatoryDash(dash.Dash):
    """Dash with an index page that leaves out the scripts of :data:`UNUSED_LIBRARIES` (``interpolate_index``
    is Dash's documented way to shape the index page)."""

    def interpolate_index(self, **kwargs) -> str:  # noqa: ANN003 - Dash's keyword set
        kwargs["scripts"] = _UNUSED_SCRIPT.sub("", kwargs.get("scripts", ""))
        return super().interpolate_index(**kwargs)


def create_app(settings: Settings | None = None) -> dash.Dash:
    settings = settings or get_settings()
    app = ObservatoryDash(
        # The package name (not this module's) makes Dash Pages import pages under their real module names,
        # "observatory.dashboard.pages.<page>", so a page imported elsewhere (tests, reports) is not registered
        # a second time as "pages.<page>".
        "observatory.dashboard",
        use_pages=True,
        pages_folder=str(PAGES_DIR),
        assets_folder=str(ASSETS_DIR),
        external_stylesheets=[BOOTSTRAP_URL],
        suppress_callback_exceptions=True,  # pages add components after the first render
        title=TITLE,
        update_title=None,
        serve_locally=True,
        # gzip (flask-compress, a dependency): Plotly's 4.8 MB bundle travels as ~1.4 MB on a first visit, and
        # callback answers shrink 3–10×. Without the package (an old venv) the app still serves, uncompressed.
        compress=importlib.util.find_spec("flask_compress") is not None,
    )
    app.server.config["OBSERVATORY_SETTINGS"] = settings
    css_path = _bootstrap_css()

    @app.server.route(BOOTSTRAP_URL)
    def _bootstrap():  # noqa: ANN202
        import flask

        return flask.send_file(css_path, mimetype="text/css", max_age=86400)

    try:
        from observatory.dashboard.security import install_security

        install_security(app, settings)
    except ImportError:  # pragma: no cover - the security module always ships (stub at worst)
        pass
    app.layout = shell_layout
    _install_filter_callbacks(app)
    exporting.install(app)
    panel.install(app)
    geo.install(app)
    # Static JavaScript and CSS compressed once at brotli's best level (observatory/dashboard/static_compression.py).
    from observatory.dashboard import static_compression

    static_compression.install(app, settings.processed_dir / "compressed-assets")
    # MapLibre's modules for the partial plotly.js of assets/vendor (observatory/dashboard/plotly_bundle.py).
    from observatory.dashboard import plotly_bundle

    plotly_bundle.install(app)
    return app


# Layout -------------------------------------------------------------------------------------------------------------
def _month_options(first: date | None, last: date | None, end_of_month: bool) -> list[dict]:
    if first is None or last is None:
        return []
    out = []
    y, m = first.year, first.month
    while (y, m) <= (last.year, last.month):
        if end_of_month:
            nxt = date(y + (m == 12), m % 12 + 1, 1)
            value = date.fromordinal(nxt.toordinal() - 1).isoformat()
        else:
            value = date(y, m, 1).isoformat()
        out.append({"label": labels.month_year(y, m), "value": value})
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


# What an élu reads instead of the controls the publication cannot honour (elu_views.scope drops them on the server).
ELU_FILTERS_NOTE = ("Mois, partenaires, zones, heures et jours : réservés aux analystes. Les chiffres publiés pour les élus "
                    "portent sur des années entières et closes, tous partenaires, à toute heure et tous les jours.")


def filter_bar(an, settings: Settings, analyst: bool = True) -> dbc.Card:  # noqa: ANN001
    """The shared filter bar; options come from the current snapshot and the territory.

    An élu's views are cut from the year's publication (:mod:`observatory.dashboard.elu_views`), which holds
    closed calendar years and no partner, zone, hour or weekday: for élus « Du »/« Au » become one « Année »
    (closed years only), and the partner, zone, hour and weekday controls are not shown (a short note says
    why). They stay in the page only hidden (and disabled), so the shell's callbacks keep their ids and a crafted
    address still lands in them — the server drops such values and the cards' notes name them.
    """
    first, last = an.date_range() if components.has_data(an) else (None, None)
    sources = an.counts(by=("source",))["source"].dropna().tolist() if components.has_data(an) else list(labels.SOURCE_LABELS)
    fams = schema.families()
    cats = sorted(schema.categories().values(), key=lambda c: (fams[c.family].order if c.family in fams else 99, c.label))
    zones = an.territory.zones.sort_values(["kind", "name"])
    dd = {"multi": True, "clearable": True, "className": "filter-dd"}
    off = {} if analyst else {"disabled": True}
    partners = [dbc.Label("Partenaires", html_for=ids.F_SOURCES, className="small mb-0"), components.dropdown(id=ids.F_SOURCES, options=[{"label": labels.source_label(s), "value": s} for s in sources], placeholder="tous", **dd, **off)]
    zone_dd = [dbc.Label("Zones", html_for=ids.F_ZONES, className="small mb-0"), components.dropdown(id=ids.F_ZONES, options=[{"label": f"{r.name} ({labels.ZONE_KIND_LABELS.get(r.kind, r.kind)})", "value": r.zone_id} for r in zones.itertuples()], placeholder="toutes", **dd, **off)]
    hours = [dbc.Label("Heures", html_for=ids.F_HOURS, className="small mb-0"), dcc.RangeSlider(id=ids.F_HOURS, min=0, max=23, step=1, value=[0, 23], marks={h: f"{h} h" for h in (0, 6, 12, 18, 23)}, allowCross=False, **off)]
    days = [dbc.Label("Jours", html_for=ids.F_WEEKDAYS, className="small mb-0"), dbc.Checklist(id=ids.F_WEEKDAYS, options=[{"label": d[:3], "value": i, "disabled": not analyst} for i, d in enumerate(labels.WEEKDAYS)], value=list(range(7)), inline=True, className="small")]
    start_picker = components.month_picker(ids.F_START, ids.F_START_YEAR, ids.F_START_MONTH, first, last, _month_options(first, last, False), "mois")
    if analyst:
        period = [
            dbc.Col([dbc.Label("Du", html_for=ids.F_START_YEAR, className="small mb-0"), start_picker], md=2),
            dbc.Col([dbc.Label("Au", html_for=ids.F_END_YEAR, className="small mb-0"), components.month_picker(ids.F_END, ids.F_END_YEAR, ids.F_END_MONTH, first, last, _month_options(first, last, True), "mois")], md=2),
        ]
    else:
        # The publication is by calendar year, closed years only: one « Année » (the end bound, December) replaces
        # « Du »/« Au », and offers no year still filling.
        closed = list(elu_views.closed_years(an)) if components.has_data(an) else []
        period = [dbc.Col([dbc.Label("Année", html_for=ids.F_END_YEAR, className="small mb-0"),
                           components.month_picker(ids.F_END, ids.F_END_YEAR, ids.F_END_MONTH, first, last, _month_options(first, last, True), "mois",
                                                   years=closed, year_placeholder="dernière close", show_month=False)], md=2)]
    # The publication holds the city or one arrondissement, everything, one family or one category: an élu chooses
    # one of each (a multiple choice would only be dropped by the server).
    choice = dd if analyst else {**dd, "multi": False}
    families = [dbc.Label("Familles" if analyst else "Famille", html_for=ids.F_FAMILIES, className="small mb-0"),
                components.dropdown(id=ids.F_FAMILIES, options=[{"label": f.label, "value": f.code} for f in fams.values()], placeholder="toutes", **choice)]
    categories = [dbc.Label("Catégories" if analyst else "Catégorie", html_for=ids.F_CATEGORIES, className="small mb-0"),
                  components.dropdown(id=ids.F_CATEGORIES, options=[{"label": c.label, "value": c.code} for c in cats], placeholder="toutes", **choice)]
    arrondissements = [dbc.Label("Arrondissements" if analyst else "Arrondissement", html_for=ids.F_ARRONDISSEMENTS, className="small mb-0"),
                       components.dropdown(id=ids.F_ARRONDISSEMENTS, options=[{"label": labels.arrondissement_label(c), "value": c} for c in schema.ARRONDISSEMENT_CODES],
                                           placeholder="tous" if analyst else "toute la ville", **choice)]
    buttons = dbc.Col(
        [
            dbc.Button("Réinitialiser", id=ids.RESET_FILTERS, size="sm", color="secondary", outline=True, className="me-1 mt-3"),
            dcc.Clipboard(id=ids.SHARE_LINK, title="Copier le lien de cette vue", className="d-inline-block mt-3 btn btn-sm btn-outline-primary", content=""),
        ],
        md=2,
        className="text-nowrap text-end",
    )
    if analyst:
        rows = [
            dbc.Row([*period, dbc.Col(families, md=2), dbc.Col(categories, md=3), dbc.Col(partners, md=3)], className="g-2"),
            dbc.Row([dbc.Col(arrondissements, md=2), dbc.Col(zone_dd, md=3), dbc.Col(hours, md=3), dbc.Col(days, md=2), buttons], className="g-2 mt-1"),
        ]
    else:
        rows = [
            dbc.Row([*period, dbc.Col(families, md=4), dbc.Col(categories, md=6)], className="g-2"),
            dbc.Row([dbc.Col(arrondissements, md=3), dbc.Col(html.P(ELU_FILTERS_NOTE, id=ids.F_ELU_NOTE, className="small text-muted mb-0 mt-md-3"), md=7), buttons], className="g-2 mt-1"),
            html.Div([start_picker, *partners, *zone_dd, *hours, *days], className="d-none", hidden=True, **{"aria-hidden": "true"}),
        ]
    return dbc.Card(
        dbc.CardBody([*rows, html.Div(id=ids.FILTER_ERROR, className="text-danger small"),
                      html.Div(id=ids.FILTER_LINK_NOTE, className="text-danger small")], className="py-2"),
        className="mb-3 filter-bar shadow-sm",
    )


def navigation() -> dbc.Nav:
    """Links to the pages the current user may open (the server refuses the others; offering them would only
    lead to a refusal page)."""
    from observatory.dashboard import security

    role = security.current_role()
    links = []
    for page in dash.page_registry.values():
        if page.get("nav", True) is False or not security.can_open(role, page["path"]):
            continue
        links.append(dbc.NavItem(dbc.NavLink(page["name"], href=page["relative_path"], active="exact", id={"type": "nav-link", "path": page["relative_path"]})))
    return dbc.Nav(links, pills=True, className="flex-wrap", id=ids.NAV)


def shell_layout() -> html.Div:
    """Evaluated on each page load, so a new snapshot shows up (options, banner) without a restart.

    A visitor who is not signed in (the sign-in page, or a page the server then redirects) gets the bare shell:
    no filter bar, no filter store and no side panel, so that no callback the server would refuse (401) is
    fired from the sign-in page.
    """
    from observatory.dashboard import security

    settings = components.settings()
    if not security.current_role():
        return html.Div(
            [
                dcc.Location(id=ids.URL, refresh=False),
                dbc.Navbar(dbc.Container([html.A(html.Span("Observatoire de la délinquance et de la sécurité — Lyon", className="navbar-brand fw-semibold text-white"), href="/", className="text-decoration-none")], fluid=True), color="dark", dark=True, className="mb-2"),
                dbc.Container([components.demo_banner() if components.is_demo(settings) else html.Div(id=ids.DEMO_BANNER), dash.page_container], fluid=True),
            ]
        )
    an = components.analytics()
    return html.Div(
        [
            dcc.Location(id=ids.URL, refresh=False),
            dcc.Store(id=ids.FILTERS, storage_type="memory"),
            dbc.Navbar(
                dbc.Container(
                    [
                        html.A(html.Span("Observatoire de la délinquance et de la sécurité — Lyon", className="navbar-brand fw-semibold text-white"), href="/", className="text-decoration-none"),
                        navigation(),
                    ],
                    fluid=True,
                ),
                color="dark",
                dark=True,
                className="mb-2",
            ),
            dbc.Container(
                [
                    components.demo_banner() if components.is_demo(settings) else html.Div(id=ids.DEMO_BANNER),
                    html.Div(filter_bar(an, settings, analyst=components.is_analyst()), id=FILTER_BAR_WRAP),
                    dash.page_container,
                    panel.panel(),
                ],
                fluid=True,
            ),
        ]
    )


FILTER_BAR_WRAP = "filter-bar-wrap"
# Pages where the shared filters do not apply: the bar is hidden there rather than shown doing nothing. (The plan
# d'actions and the veille choose their action, cellule and week themselves; no callback of theirs reads the filters.)
NO_FILTER_PAGES = ("/connexion", "/officielles", "/sentiment", "/actions", "/veille")


# Filter state <-> URL -------------------------------------------------------------------------------------------------
def values_from_query(query: dict) -> tuple:
    """Control values for a URL query (``parse_qs`` form); raises FiltersError on a bad value."""
    from observatory.analytics.filters import Filters

    f = Filters.from_query(query)
    hours = [min(f.hours), max(f.hours)] if f.hours else [0, 23]
    weekdays = list(f.weekdays) if f.weekdays else list(range(7))
    return (
        f.start.isoformat() if f.start else None,
        f.end.isoformat() if f.end else None,
        list(f.families),
        list(f.categories),
        list(f.sources),
        list(f.arrondissements),
        list(f.zones),
        hours,
        weekdays,
    )


def query_from_values(start, end, families, categories, sources, arrondissements, zones, hours, weekdays) -> dict:  # noqa: ANN001
    """Filters.to_query() of the controls' values (a full hour range or all weekdays mean no restriction)."""
    from observatory.analytics.filters import Filters

    hrs = () if not hours or (hours[0] == 0 and hours[1] == 23) else tuple(range(int(hours[0]), int(hours[1]) + 1))
    days = () if not weekdays or len(set(weekdays)) == 7 else tuple(weekdays)
    f = Filters(start=start, end=end, families=_several(families), categories=_several(categories), sources=_several(sources),
                arrondissements=_several(arrondissements), zones=_several(zones), hours=hrs, weekdays=days)
    return f.to_query()


def _several(value) -> tuple:  # noqa: ANN001
    """A dropdown's value as a tuple: a list (multiple choice), one value (an élu's single choice) or nothing."""
    if value is None or value == "":
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


_SINGLE_CHOICES = {ids.F_FAMILIES: "familles", ids.F_CATEGORIES: "catégories", ids.F_ARRONDISSEMENTS: "arrondissements"}


def single_values(values: tuple) -> tuple[tuple, str]:
    """An élu's control values: the single-choice dropdowns (families, categories, arrondissements) get their one
    value, or none when the address names several; and the sentence saying what was not applied ("" if nothing)."""
    out, dropped = list(values), []
    for cid, name in _SINGLE_CHOICES.items():
        k = ids.FILTER_INPUTS.index(cid)
        if isinstance(out[k], list):
            if len(out[k]) > 1:
                dropped.append(name)
            out[k] = out[k][0] if len(out[k]) == 1 else None
    note = ""
    if dropped:
        note = (f"Le lien demandait plusieurs {' et '.join(dropped)} : les chiffres publiés pour les élus portent sur une "
                "famille ou une catégorie et sur la ville ou un arrondissement à la fois. Ce choix n'est pas appliqué.")
    return tuple(out), note


def _install_filter_callbacks(app: dash.Dash) -> None:
    outs = [Output(i, "value") for i in ids.FILTER_INPUTS]
    states = [State(i, "value") for i in ids.FILTER_INPUTS]

    # Its message has a place of its own: the store's callback clears FILTER_ERROR as soon as the controls change.
    @app.callback(*outs, Output(ids.FILTER_LINK_NOTE, "children"), Input(ids.URL, "search"), Input(ids.RESET_FILTERS, "n_clicks"), *states)
    def _url_to_controls(search, _reset, *current):  # noqa: ANN001, ANN202
        from observatory.analytics.filters import FiltersError

        if dash.ctx.triggered_id == ids.RESET_FILTERS:
            query = {}
        else:
            query = {k: v[0] for k, v in parse_qs((search or "").lstrip("?")).items()}
        try:
            values = values_from_query(query)
            message = ""
        except FiltersError as exc:
            values = values_from_query({})
            message = f"Lien invalide, filtres réinitialisés : {exc}"
        if not components.is_analyst():
            values, dropped = single_values(values)
            message = " ".join(m for m in (message, dropped) if m)
        if list(values) == [list(v) if isinstance(v, (list, tuple)) else v for v in current]:
            return (*([no_update] * len(values)), message)
        return (*values, message)

    @app.callback(Output(ids.FILTERS, "data"), Output(ids.FILTER_ERROR, "children"), *[Input(i, "value") for i in ids.FILTER_INPUTS], State(ids.FILTERS, "data"))
    def _controls_to_store(*args):  # noqa: ANN002, ANN202
        from observatory.analytics.filters import FiltersError

        *values, previous = args
        try:
            query = query_from_values(*values)
        except FiltersError as exc:
            return no_update, str(exc)
        if previous is not None and query == previous:
            return no_update, ""
        return query, ""

    # Rewrite the address without re-rendering the page (Dash Pages re-renders on pushState).
    from dataclasses import fields

    from observatory.analytics.filters import Filters

    filter_keys = json.dumps([f.name for f in fields(Filters)])
    app.clientside_callback(
        """
        function(query) {
            const FILTER_KEYS = %s;
            if (query === undefined || query === null) { return window.dash_clientside.no_update; }
            // Page options (e.g. the map layer) share the address: keep every key that is not a filter.
            const params = new URLSearchParams(window.location.search);
            FILTER_KEYS.forEach(function(k) { params.delete(k); });
            Object.keys(query).forEach(function(k) { params.set(k, query[k]); });
            const qs = params.toString();
            const url = window.location.pathname + (qs ? "?" + qs : "");
            if (url !== window.location.pathname + window.location.search) {
                window.history.replaceState(window.history.state, "", url);
            }
            return window.location.origin + url;
        }
        """ % filter_keys,
        Output(ids.SHARE_LINK, "content"),
        Input(ids.FILTERS, "data"),
    )

    app.clientside_callback(
        """
        function(path) {
            const hidden = %s;
            const p = (path || "/").replace(/\\/+$/, "") || "/";
            return hidden.indexOf(p) >= 0 ? {display: "none"} : {};
        }
        """ % json.dumps(list(NO_FILTER_PAGES)),
        Output(FILTER_BAR_WRAP, "style"),
        Input(ids.URL, "pathname"),
    )

    # An élu's family and category are single choices (strings) and the publication holds one or the other:
    # choosing one clears the other. Analysts' choices are lists, left alone (a family and categories combine).
    app.clientside_callback(
        """
        function(family, category) {
            const keep = window.dash_clientside.no_update;
            const trigger = window.dash_clientside.callback_context.triggered_id;
            if (typeof family !== "string" || typeof category !== "string" || !family || !category) { return [keep, keep]; }
            return trigger === "%s" ? [keep, null] : [null, keep];
        }
        """ % ids.F_FAMILIES,
        Output(ids.F_FAMILIES, "value", allow_duplicate=True),
        Output(ids.F_CATEGORIES, "value", allow_duplicate=True),
        Input(ids.F_FAMILIES, "value"),
        Input(ids.F_CATEGORIES, "value"),
        prevent_initial_call=True,
    )

    @app.callback(Output({"type": "nav-link", "path": ALL}, "href"), Input(ids.FILTERS, "data"), State({"type": "nav-link", "path": ALL}, "id"))
    def _nav_hrefs(query, link_ids):  # noqa: ANN001, ANN202
        qs = urlencode(query or {})
        return [lid["path"] + (f"?{qs}" if qs else "") for lid in link_ids or []]
