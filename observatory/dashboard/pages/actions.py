"""Plan d'actions: the calendar of CLS actions, their perimeters, targeted series, objectives and evaluations.

Élus read; analysts also create, edit and close actions. Edits go through
``observatory.actions.upsert_action`` / ``close_action`` (validation, then atomic write-back of the register),
and every edit callback refuses on the server when ``security.is_analyst()`` is False — on top of the
security layer's own 403 for the registered ``actions-edit*`` ids.
"""

from __future__ import annotations

import math
from datetime import date

import dash
import dash_bootstrap_components as dbc
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
from dash import ALL, MATCH, Input, Output, State, callback, dcc, html, no_update

from observatory import figures, labels
from observatory.actions import ACTION_COLUMNS, ACTION_STATUSES, ACTION_TYPES, STATUS_LABELS, TYPE_LABELS, RegisterError
from observatory.dashboard import components, geo, security

dash.register_page(__name__, path="/actions", name="Plan d'actions", title="Plan d'actions — Observatoire", order=70)

# Component ids (page-local: the edit ones share the "actions-edit" prefix the security layer guards).
ACTION = "actions-select"
GROUP = "actions-group"
TIMELINE = "actions-timeline"
MAP = "actions-map"
SERIES = "actions-series"
SERIES_NOTE = "actions-series-note"
EVAL_TABLE = "actions-eval-table"
OBJ_TABLE = "actions-objectives-table"
VERSION = "actions-register-version"
EXPORT_BUTTON = "actions-export"  # dict ids {"type", "target", "fmt"}: the page's own CSV/XLSX buttons
EXPORT_DOWNLOAD = "actions-download"
EXPORT_FORMATS = ("csv", "xlsx")
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


def _arrondissement_names(settings) -> dict[str, str]:  # noqa: ANN001
    from observatory.territory import load_territory

    arr = load_territory(settings).arrondissements
    return dict(zip(arr["code"].astype(str), arr["name"].astype(str)))


def _city_bounds(settings) -> tuple[float, float, float, float]:  # noqa: ANN001
    from observatory.territory import load_territory

    return tuple(float(v) for v in load_territory(settings).arrondissements.total_bounds)


def _map_note(settings) -> str:  # noqa: ANN001
    from observatory.territory import APPROXIMATE_NOTE, load_territory

    territory = load_territory(settings)
    source = territory.boundary_source
    # The shipped outlines' source text already starts with "contours approximatifs": say it once.
    if territory.approximate and APPROXIMATE_NOTE not in source:
        source = f"{APPROXIMATE_NOTE}, {source}"
    return f"Fond : limites des arrondissements, {source}. Vue centrée sur l'action choisie ; survol : nom de chaque périmètre et arrondissement."


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
                dbc.Col(_card(MAP, "Périmètres (action choisie en couleur)", note=_map_note(components.settings())), lg=5),
            ],
            className="g-3 mb-3",
        ),
        _card(SERIES, "Faits visés par mois dans le périmètre et sa zone tampon (début et fin de l'action marqués)", note_id=SERIES_NOTE),
        dbc.Card([_header(OBJ_TABLE, "Suivi des objectifs"), dbc.CardBody(html.Div(id=OBJ_TABLE), className="p-2")], className="mb-3 shadow-sm"),
        dbc.Card(
            [
                _header(EVAL_TABLE, "Évaluation des actions (différence de différences, WDD)"),
                dbc.CardBody(html.Div(id=EVAL_TABLE), className="p-2"),
                dbc.CardFooter(html.Small(_method_text(), className="text-muted"), className="py-1"),
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


# Form fields that are not text inputs: their Dash property, and how a register cell (text) maps to it and back.
DATE_FIELDS = ("start", "end")
DATE_FORMAT = "DD/MM/YYYY"  # display only: the picker's value stays ISO (AAAA-MM-JJ), the register's format


def field_prop(col: str) -> str:
    """The property of the form component holding ``col`` (date pickers hold ``date``, the others ``value``)."""
    return "date" if col in DATE_FIELDS else "value"


def category_options() -> list[dict]:
    """The nomenclature's categories, French label shown, code stored (the register keeps codes)."""
    from observatory import schema

    return [{"label": c.label, "value": c.code} for c in schema.categories().values()]


def zone_options(settings) -> list[dict]:  # noqa: ANN001
    """Zones of the territory by name (kind in brackets), sorted by name; the register keeps the zone id."""
    from observatory.territory import load_territory

    zones = load_territory(settings).zones
    kinds = labels.ZONE_KIND_LABELS
    opts = [
        {"label": f"{name} ({kinds.get(kind, kind)})", "value": zid}
        for zid, name, kind in zip(zones["zone_id"].astype(str), zones["name"].astype(str), zones["kind"].astype(str))
    ]
    return sorted(opts, key=lambda o: o["label"].casefold())


def form_value(col: str, cell: str):  # noqa: ANN201 - str | list | None
    """A register cell (text) as its form component expects it."""
    from observatory.actions.register import CATEGORY_SEPARATOR

    cell = (cell or "").strip()
    if col == "categories":
        return [c for c in cell.split(CATEGORY_SEPARATOR) if c]
    if col in DATE_FIELDS or col == "zone_id":
        return cell or None
    return cell


def form_cell(col: str, value) -> str:  # noqa: ANN001
    """A form component's value back to the register's text cell (validated afterwards with the whole register)."""
    from observatory.actions.register import CATEGORY_SEPARATOR

    if value is None:
        return ""
    if col == "categories":
        values = [value] if isinstance(value, str) else list(value)
        return CATEGORY_SEPARATOR.join(str(v) for v in values if v)
    if col in DATE_FIELDS:
        return str(value)[:10]  # the picker may give 'AAAA-MM-JJTHH:MM:SS'
    return str(value)


def _date_picker(component_id: str, placeholder: str) -> dcc.DatePickerSingle:
    return dcc.DatePickerSingle(
        id=component_id, display_format=DATE_FORMAT, placeholder=placeholder, first_day_of_week=1, clearable=True,
        month_format="MM/YYYY", className="d-block small",
    )


def _edit_form(options: list[dict]) -> dbc.Card:
    def field(col: str, component, md: int = 3) -> dbc.Col:  # noqa: ANN001
        return dbc.Col([dbc.Label(FIELD_LABELS[col], html_for=EDIT_FIELD[col], className="small mb-0 d-block"), component], md=md, className="mb-2")

    def text(col: str, placeholder: str = "") -> dbc.Col:
        return field(col, dbc.Input(id=EDIT_FIELD[col], type="text", size="sm", placeholder=placeholder))

    settings = components.settings()
    return dbc.Card(
        [
            dbc.CardHeader(html.H2("Créer, modifier ou clôturer une action (analystes)", className="h6 mb-0")),
            dbc.CardBody(
                [
                    dbc.Row(
                        [
                            dbc.Col(components.dropdown(id=EDIT_LOAD, options=options, placeholder="Charger une action existante pour la modifier…"), md=6),
                        ],
                        className="mb-2",
                    ),
                    dbc.Row(
                        [
                            text("action_id", "ex. A-2026-01"),
                            text("title"),
                            field("type", dbc.Select(id=EDIT_FIELD["type"], size="sm", options=[{"label": TYPE_LABELS[t], "value": t} for t in ACTION_TYPES], value="patrouilles")),
                            text("partner"),
                            field("start", _date_picker(EDIT_FIELD["start"], "JJ/MM/AAAA")),
                            field("end", _date_picker(EDIT_FIELD["end"], "vide si en cours")),
                            field("status", dbc.Select(id=EDIT_FIELD["status"], size="sm", options=[{"label": STATUS_LABELS[s], "value": s} for s in ACTION_STATUSES], value="prevue")),
                            text("notes"),
                            field("categories", components.dropdown(id=EDIT_FIELD["categories"], options=category_options(), multi=True, placeholder="Choisir une ou plusieurs catégories…"), md=6),
                            field("zone_id", components.dropdown(id=EDIT_FIELD["zone_id"], options=zone_options(settings), placeholder="Zone du territoire… (ou un cercle ci-contre)"), md=6),
                            text("lon", "ou longitude (WGS84)"),
                            text("lat", "latitude"),
                            text("radius_m", "rayon en mètres"),
                            text("objective", "ex. −10 % des vols en 2026"),
                            text("target_change_pct", "ex. -10"),
                            text("objective_year", "ex. 2026"),
                        ]
                    ),
                    html.Div(
                        [
                            dbc.Button("Enregistrer", id=EDIT_SAVE, color="primary", size="sm", className="me-3"),
                            dbc.Label("Date de fin", html_for=EDIT_CLOSE_DATE, className="small mb-0 me-2"),
                            html.Div(_date_picker(EDIT_CLOSE_DATE, "JJ/MM/AAAA"), className="me-2"),
                            dbc.Button("Clôturer l'action", id=EDIT_CLOSE, color="secondary", outline=True, size="sm"),
                        ],
                        className="d-flex align-items-center flex-wrap",
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
        libelle=figures.hover_texts(reg["action_id"] + " — " + reg["title"]),
        periode=[f"{labels.fmt_date(s)} → {labels.fmt_date(e) if e else 'en cours'}" for s, e in zip(reg["start"], reg["end"])],
    )
    # One row per action, rows of a group together: two actions of the same arrondissement drawn on one row hid
    # each other. Groups are ordered by their first action, actions by start.
    df = df.assign(ligne=[f"{g} · {figures.inert(a)}" for g, a in zip(df["groupe"], df["action_id"])])
    first = df.groupby("groupe")["debut"].transform("min")
    order = df.assign(_first=first).sort_values(["_first", "groupe", "debut", "action_id"])["ligne"].tolist()
    fig = px.timeline(
        df, x_start="debut", x_end="fin", y="ligne", color="type_label", hover_name="libelle",
        hover_data={"periode": True, "statut": True, "debut": False, "fin": False, "ligne": False, "type_label": False},
        labels={"type_label": "Type", "ligne": "", "periode": "Période", "statut": "Statut"}, category_orders={"ligne": order},
    )
    # px reverses a horizontal chart's category array itself: the first action of `order` is drawn at the top.
    if selected:
        # The selected action's bar gets a dark outline: the calendar, the map and the series then read together.
        prefix = f"{figures.inert(selected)} — "
        for trace in fig.data:
            widths = [2.5 if str(h).startswith(prefix) else 0 for h in (trace.hovertext if trace.hovertext is not None else [])]
            trace.marker.line = {"width": widths, "color": "#1f2933"}
    return figures.theme(fig, height=max(MAP_HEIGHT, 60 + 28 * len(df)))


# Assumed size of the map figure when fitting a view: the map card is ~540 px wide at 1400 px (5/12 of the row) and
# full width below the lg breakpoint, so fitting into 460 × 340 px keeps the view inside the real figure.
MAP_HEIGHT = 380
FIT_WIDTH_PX, FIT_HEIGHT_PX = 460, 340
MAX_ZOOM = 16.0
ARR_LINE = "#7b8794"
SELECTED_COLOR = "rgba(214,69,65,0.55)"
OTHER_COLOR = "rgba(82,96,109,0.22)"


def fit_view(bounds: tuple[float, float, float, float], width_px: float = FIT_WIDTH_PX, height_px: float = FIT_HEIGHT_PX, max_zoom: float = MAX_ZOOM) -> tuple[dict, float]:
    """(center, zoom) of a MapLibre view showing ``bounds`` (west, south, east, north, degrees) in a box of pixels.

    Plotly's ``map`` subplot has no fitbounds: at zoom z MapLibre draws the world 512·2^z px wide in Web
    Mercator, so the zoom is the largest one where both the longitude span and the Mercator-y span fit.
    """
    west, south, east, north = bounds

    def merc(lat: float) -> float:
        return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))

    x_frac = max(east - west, 1e-9) / 360
    y_frac = max(merc(north) - merc(south), 1e-9) / (2 * math.pi)
    zoom = min(math.log2(width_px / (512 * x_frac)), math.log2(height_px / (512 * y_frac)), max_zoom)
    mid_y = (merc(north) + merc(south)) / 2
    center = {"lon": round((west + east) / 2, 5), "lat": round(math.degrees(2 * math.atan(math.exp(mid_y)) - math.pi / 2), 5)}
    return center, round(zoom, 2)


def map_figure(layer, selected: str | None, style: str, arrondissements=None, arrondissement_names: dict | None = None, city_bounds: tuple | None = None) -> go.Figure:  # noqa: ANN001 - GeoDataFrame, GeoJSON dict | figures.GeoRef
    """Action perimeters over the arrondissement outlines on a MapLibre map.

    The selected action is filled in colour and named in the legend (MapLibre text labels would need a glyph
    server, i.e. a request off the machine with the offline "white-bg" style), the others are grey. The view
    fits the selected perimeter with a margin, or the city (``city_bounds``) when nothing is selected.
    """
    fig = go.Figure()
    if arrondissements is not None:
        ids = list(arrondissements.ids) if isinstance(arrondissements, figures.GeoRef) else [f["id"] for f in arrondissements["features"]]
        names = arrondissement_names or {}
        fig.add_trace(
            go.Choroplethmap(
                geojson=arrondissements.url if isinstance(arrondissements, figures.GeoRef) else arrondissements,
                locations=ids,
                z=[0] * len(ids),
                featureidkey="id",
                colorscale=[[0, "rgba(0,0,0,0)"], [1, "rgba(0,0,0,0)"]],
                showscale=False,
                marker={"line": {"color": ARR_LINE, "width": 1.2}},
                text=figures.hover_texts([names.get(i, labels.arrondissement_label(i)) for i in ids]),
                hovertemplate="%{text}<extra></extra>",
                name="Arrondissements",
                showlegend=True,
            )
        )
    if layer.empty:
        if not fig.data:
            return figures.empty_figure("Aucun périmètre")
    else:
        geojson = figures.to_geojson(layer, "action_id", decimals=5)
        names = pd.Series(figures.hover_texts(layer["action_id"] + " — " + layer["title"]), index=layer.index)
        where = [f" ({labels.arrondissement_label(a)})" if isinstance(a, str) and a else "" for a in layer["arrondissement"]]
        legend_names = names + pd.Series(figures.hover_texts(where), index=layer.index)
        # action_id is a string column: comparing it with None gives <NA>, never False.
        is_sel = (layer["action_id"] == selected).fillna(False).astype(bool) if selected else pd.Series(False, index=layer.index)
        # Others first so the selected perimeter is drawn on top where perimeters overlap.
        for part, color, name, legend in (
            (layer[~is_sel], OTHER_COLOR, "Autres actions", True),
            (layer[is_sel], SELECTED_COLOR, legend_names[is_sel].iloc[0] if is_sel.any() else "", True),
        ):
            if part.empty:
                continue
            fig.add_trace(
                go.Choroplethmap(
                    geojson=geojson,
                    locations=part["action_id"],
                    z=[1] * len(part),
                    featureidkey="id",
                    colorscale=[[0, color], [1, color]],
                    showscale=False,
                    marker={"line": {"width": 1.5, "color": "#333"}},
                    text=names[part.index],
                    hovertemplate="%{text}<extra></extra>",
                    name=name,
                    showlegend=legend,
                )
            )
    bounds = city_bounds
    if selected and not layer.empty and (layer["action_id"] == selected).fillna(False).any():
        from observatory.actions.perimeters import focus_bounds

        bounds = focus_bounds(layer.loc[(layer["action_id"] == selected).fillna(False)].geometry.iloc[0])
    elif bounds is None and not layer.empty:
        bounds = tuple(layer.total_bounds)
    center, zoom = fit_view(bounds) if bounds is not None else (dict(figures.LYON_CENTER), 11.3)
    figures.theme(fig, height=MAP_HEIGHT)
    fig.update_layout(
        map={"style": style, "center": center, "zoom": zoom},
        margin={"l": 0, "r": 0, "t": 0, "b": 0},
        legend={"orientation": "v", "yanchor": "bottom", "y": 0.01, "x": 0.01, "xanchor": "left", "bgcolor": "rgba(255,255,255,0.85)", "font": {"size": 12}},
        uirevision=selected or "city",  # a new selection re-fits the view; a filter refresh keeps the user's pan
    )
    return fig


def series_figure(series: pd.DataFrame, start: date, end: date | None) -> go.Figure:
    """Monthly lines for the perimeter and its buffer, with the action's start and end as dashed verticals."""
    if series.empty:
        return figures.empty_figure("Pas de données pour cette action")
    names = {"perimetre": "Périmètre de l'action", "zone_tampon": "Zone tampon (300 m)"}
    fig = go.Figure()
    for area, part in series.groupby("area", sort=False):
        fig.add_trace(go.Scatter(x=part["month"], y=part["count"], mode="lines+markers", name=names.get(area, area), hovertemplate="%{x|%m/%Y} : %{y} faits<extra></extra>"))
    first, last = pd.Timestamp(series["month"].min()), pd.Timestamp(series["month"].max())
    span = max((last - first).days, 1)
    for when, text in ((start, "début"), (end, "fin")):
        if when is None:
            continue
        x = pd.Timestamp(when)
        # add_vline's annotation does not handle datetime axes: draw the line and its label separately. The label
        # sits inside the plot, under the legend (which the theme puts just above the plot): "début" on the left
        # of its line, "fin" on the right, so that a short action's two labels never cover each other; a label
        # near an edge of the axis flips side rather than being cut.
        share = (x - first).days / span
        left = share > 0.85 if text == "fin" else share > 0.15
        fig.add_shape(type="line", x0=x, x1=x, y0=0, y1=1, yref="paper", line={"dash": "dash", "color": "#d64541"})
        fig.add_annotation(
            x=x, y=1, yref="paper", text=f"{text} {labels.fmt_date(when)}", showarrow=False, yanchor="top",
            xanchor="right" if left else "left", xshift=-4 if left else 4, font={"size": 11, "color": "#a4302c"},
            bgcolor="rgba(255,255,255,0.85)",
        )
    fig.update_yaxes(title_text="Faits par mois", rangemode="tozero")
    if series["count"].max(skipna=True) <= 6:
        fig.update_yaxes(tick0=0, dtick=1)  # counts: no "0,5 fait" tick on a quiet perimeter
    return figures.theme(fig, height=340)


# Tables -------------------------------------------------------------------------------------------------------
def _count(value: float, analyst: bool, min_count: int) -> str:
    if value != value:
        return "–"
    if not analyst and 0 < value < min_count:
        return f"<{labels.NBSP}{min_count}"  # élus never see small counts (privacy rule, DESIGN §6)
    return labels.fmt_int(value)


# Left border of the verdict cell, by verdict code: the reader's eye finds the conclusions before the figures.
VERDICT_COLORS = {
    "decrease": "#1E8449", "reached_significant": "#1E8449", "reached": "#52a36e",
    "increase": "#C0392B", "missed_significant": "#C0392B", "missed": "#d9822b",
    "weak_decrease": "#7fb98f", "weak_increase": "#e0a07a",
    # A perimeter effect that the net total (buffer included) does not confirm: muted, "effet net non démontré".
    "local_decrease": "#b5cfbc", "local_increase": "#e9c2a8",
    "no_effect": "#9aa5b1", "no_conclusion": "#c3cad2",
}
NOWRAP = {"whiteSpace": "nowrap"}
WRAP = {"whiteSpace": "normal"}


def _table(headers: list[tuple[str, dict]], rows: list[list[html.Td]], table_id: str) -> html.Div:
    """A compact table whose long text columns wrap (the house ``french-table`` style keeps cells on one line,
    which pushed the verdicts out of a 1400 px screen). Headers wrap too; the wrapper scrolls horizontally
    only on narrow screens, where the verdict, second column, stays in view."""
    head = html.Thead(html.Tr([html.Th(label, style={**WRAP, "verticalAlign": "bottom", **style}) for label, style in headers]))
    return html.Div(
        dbc.Table([head, html.Tbody([html.Tr(r) for r in rows])], size="sm", striped=True, hover=True, className="mb-1 french-table align-top", id=table_id),
        className="table-responsive",
    )


def _text(value: object) -> str:
    return "" if value is None or value is pd.NA or (isinstance(value, float) and value != value) else str(value)


def _action_cell(action_id: str, title: str) -> html.Td:
    return html.Td([html.Strong(action_id), html.Br(), html.Span(title, className="text-muted")], style={**WRAP, "minWidth": "9rem", "maxWidth": "14rem"})


def _verdict_cell(code: str, text: str, notes: list[str], min_width: str = "22rem") -> html.Td:
    # The conclusion in bold ("Pas de conclusion possible", "Objectif atteint"…), its reasons and figures in plain.
    cut = min((i for i in (text.find(" : "), text.find(" (")) if i > 0), default=len(text))
    head = [html.Strong(text[:cut]), text[cut:]] if cut < len(text) else [html.Strong(text)]
    children = [html.Div(head)] + [html.Div(n, className="text-muted") for n in notes if n]
    border = VERDICT_COLORS.get(code, "#c3cad2")
    return html.Td(children, className="verdict", style={**WRAP, "minWidth": min_width, "borderLeft": f"4px solid {border}"})


def _mask_counts_in_text(text: str, before: float, after: float, analyst: bool, min_count: int) -> str:
    """The "effectifs trop faibles (N faits avant, M après …)" verdict names the perimeter's counts: an élu gets
    them as the tables show them (``< 5``), never a small count in clear (DESIGN §6)."""
    if analyst or before != before or after != after:
        return text
    clear = f"{labels.fmt_int(before)} faits avant, {labels.fmt_int(after)} après"
    return text.replace(clear, f"{_count(before, analyst, min_count)} faits avant, {_count(after, analyst, min_count)} après")


def _p_cell(p: float) -> html.Span:
    from observatory.actions.evaluation import p_text

    return html.Span(p_text(p), className="text-muted")


def evaluation_table(ev: pd.DataFrame, analyst: bool, min_count: int) -> html.Div:
    """Action, verdict (first, wrapping), windows, before → after counts, the DiD (perimeter question) and the WDD
    (net question, buffer included), each with its 95 % interval and p so the verdict can be checked against them.

    An action whose windows are unusable (not started in the data, too recent) shows "–" for its figures: its
    zero-month windows have no counts and a WDD of 0 ± 0 would read as a measured null effect.
    """
    if ev.empty:
        return html.P("Aucune action à évaluer.", className="small text-muted")
    from observatory.actions.evaluation import MIN_WINDOW_MONTHS

    num = {**NOWRAP, "textAlign": "right"}
    headers = [
        ("Action", {}), ("Verdict", {"minWidth": "22rem"}), ("Fenêtres avant / après", {}),
        ("Périmètre avant → après", {"textAlign": "right"}), ("Témoin avant → après", {"textAlign": "right"}),
        ("Zone tampon avant → après", {"textAlign": "right"}),
        # Each test's column names the question it answers: the two can differ and the verdict says how.
        ("Périmètre vs témoin : différence de différences [IC 95\u00a0%]", {"textAlign": "right", "minWidth": "9rem"}),
        ("Bilan net, zone tampon comprise : WDD en faits [IC 95\u00a0%]", {"textAlign": "right", "minWidth": "9rem"}),
    ]
    rows = []
    for r in ev.to_dict("records"):
        usable = (r["window_months"] or 0) >= MIN_WINDOW_MONTHS

        def pair(b: float, a: float) -> str:
            return f"{_count(b, analyst, min_count)} → {_count(a, analyst, min_count)}" if usable else "–"

        verdict = _mask_counts_in_text(r["verdict"], r["treated_before"], r["treated_after"], analyst, min_count)
        windows = [f"{labels.fmt_date(r['before_start'])} → {labels.fmt_date(r['after_end'])}", html.Br(), f"({r['window_months']} mois × 2)"] if usable else [f"début {labels.fmt_date(r['start'])}"]
        # "Pas de conclusion possible" overrides both tests: their figures are not shown beside it (a p = 0,002 next
        # to "no conclusion" reads as a contradiction), and with the counts masked for an élu the DiD ratio and
        # the WDD together would give back the perimeter's small counts. The analyst's export keeps them.
        tested = usable and r.get("verdict_code") != "no_conclusion"
        wdd = ["–"] if not tested or r["wdd"] != r["wdd"] else [
            labels.fmt_signed(r["wdd"], 1), html.Br(), f"[{labels.fmt_signed(r['ci_low'], 1)} ; {labels.fmt_signed(r['ci_high'], 1)}]", html.Br(), _p_cell(r["p_value"]),
        ]
        did = ["–"] if not tested or r["did_ratio"] != r["did_ratio"] else [
            labels.fmt_pct(r["did_ratio"] - 1), html.Br(), f"[{labels.fmt_pct(r['did_ci_low'] - 1)} ; {labels.fmt_pct(r['did_ci_high'] - 1)}]", html.Br(), _p_cell(r["did_p_value"]),
        ]
        rows.append([
            _action_cell(r["action_id"], _text(r.get("title"))),
            _verdict_cell(r["verdict_code"], verdict, [r["displacement_note"], r["window_note"]]),
            html.Td(windows, style={**WRAP, "minWidth": "8rem"}),
            html.Td(pair(r["treated_before"], r["treated_after"]), style=num),
            html.Td(pair(r["control_before"], r["control_after"]), style=num),
            html.Td(pair(r["buffer_before"], r["buffer_after"]), style=num),
            html.Td(did, style=num),
            html.Td(wdd, style=num),
        ])
    return _table(headers, rows, EVAL_TABLE + "-table")


def objectives_table(obj: pd.DataFrame, analyst: bool, min_count: int) -> html.Div:
    """Action, follow-up sentence (first, wrapping), objective as written, year, counts, target and actual."""
    if obj.empty:
        return html.P("Aucune action n'a d'objectif chiffré.", className="small text-muted")
    num = {**NOWRAP, "textAlign": "right"}
    headers = [
        ("Action", {}), ("Suivi", {"minWidth": "22rem"}), ("Objectif", {}), ("Année", {}),
        ("Année précédente → année visée", {"textAlign": "right"}), ("Cible", {"textAlign": "right"}), ("Constaté", {"textAlign": "right"}),
    ]
    rows = []
    for r in obj.to_dict("records"):
        year = r["objective_year"]
        rows.append([
            _action_cell(r["action_id"], _text(r.get("title"))),
            _verdict_cell(r["objective_code"], r["objective_text"], []),
            html.Td(_text(r.get("objective")) or "–", style={**WRAP, "minWidth": "12rem"}),
            html.Td(str(int(year)) if year == year else "–", style=NOWRAP),
            html.Td(f"{_count(r['previous'], analyst, min_count)} → {_count(r['current'], analyst, min_count)}", style=num),
            html.Td(labels.fmt_pct(r["target_change"]), style=num),
            html.Td(labels.fmt_pct(r["actual_change"]), style=num),
        ])
    return _table(headers, rows, OBJ_TABLE + "-table")


# Exports --------------------------------------------------------------------------------------------------------
EXPORT_TITLES = {
    TIMELINE: "Calendrier des actions",
    MAP: "Périmètres des actions",
    SERIES: "Faits visés par mois dans le périmètre et sa zone tampon",
    OBJ_TABLE: "Suivi des objectifs",
    EVAL_TABLE: "Évaluation des actions",
}


def _masked(value: float, analyst: bool, min_count: int):  # noqa: ANN202 - number, "< 5" or None
    """A count for a file: the number (rounded to 0.1: n_facts can weigh), "< 5" for an élu's 1..4, empty if unknown."""
    if value is None or value != value:
        return None
    if not analyst and 0 < value < min_count:
        return f"<{labels.NBSP}{min_count}"
    return round(float(value), 1) if float(value) != int(value) else int(value)


def _pct(value: float):  # noqa: ANN202
    return None if value is None or value != value else round(100 * float(value), 1)


def timeline_table(reg: pd.DataFrame) -> pd.DataFrame:
    """The register as the calendar shows it, French headers (the data of the calendar and of the map)."""
    cols = ["Identifiant", "Intitulé", "Type", "Statut", "Partenaire", "Arrondissement", "Zone", "Début", "Fin", "Catégories visées", "Objectif"]
    if reg.empty:
        return pd.DataFrame(columns=cols)
    reg = reg.sort_values(["start", "action_id"])
    return pd.DataFrame(
        {
            "Identifiant": reg["action_id"].astype(str).to_numpy(),
            "Intitulé": reg["title"].astype(str).to_numpy(),
            "Type": reg["type"].map(TYPE_LABELS).to_numpy(),
            "Statut": reg["status"].map(STATUS_LABELS).to_numpy(),
            "Partenaire": [_text(v) for v in reg.get("partner", pd.Series("", index=reg.index))],
            "Arrondissement": [labels.arrondissement_label(a) if isinstance(a, str) and a else "" for a in reg["arrondissement"]],
            "Zone": [_text(z) or "périmètre propre" for z in reg["zone_id"]],
            "Début": list(reg["start"]),
            "Fin": [e if e is not None and e == e else None for e in reg["end"]],
            "Catégories visées": [", ".join(labels.category_label(c) for c in cats) for cats in reg["categories"]],
            "Objectif": [_text(v) for v in reg.get("objective", pd.Series("", index=reg.index))],
        },
        columns=cols,
    )


def evaluation_export(ev: pd.DataFrame, analyst: bool, min_count: int) -> pd.DataFrame:
    """The evaluation table for a file: verdict and notes as on screen, counts masked for élus, both tests with
    their intervals and p-values (the DiD answers the perimeter question, the WDD the net one)."""
    from observatory.actions.evaluation import MIN_WINDOW_MONTHS

    rows = []
    for r in ev.to_dict("records"):
        usable = (r.get("window_months") or 0) >= MIN_WINDOW_MONTHS

        def count(v):  # noqa: ANN001, ANN202
            return _masked(v, analyst, min_count) if usable else None

        # As on the page, an élu's file has no test figures where the verdict is "no conclusion" (with masked
        # counts, the DiD ratio and the WDD together would give them back); the analyst's keeps them.
        tested = usable and (analyst or r.get("verdict_code") != "no_conclusion")

        def num(v, d=1):  # noqa: ANN001, ANN202
            return None if not tested or v is None or v != v else round(float(v), d)

        rows.append({
            "Identifiant": r["action_id"], "Intitulé": _text(r.get("title")),
            "Verdict": _mask_counts_in_text(r["verdict"], r["treated_before"], r["treated_after"], analyst, min_count),
            "Zone tampon (note)": _text(r.get("displacement_note")), "Fenêtres (note)": _text(r.get("window_note")),
            "Fenêtres (mois)": int(r["window_months"] or 0),
            "Début fenêtre avant": r.get("before_start") if usable else None, "Fin fenêtre après": r.get("after_end") if usable else None,
            "Périmètre avant": count(r["treated_before"]), "Périmètre après": count(r["treated_after"]),
            "Témoin avant": count(r["control_before"]), "Témoin après": count(r["control_after"]),
            "Zone tampon avant": count(r["buffer_before"]), "Zone tampon après": count(r["buffer_after"]),
            "Périmètre vs témoin : différence de différences (%)": _pct(r["did_ratio"] - 1) if tested else None,
            "DiD IC 95 % bas (%)": _pct(r["did_ci_low"] - 1) if tested else None,
            "DiD IC 95 % haut (%)": _pct(r["did_ci_high"] - 1) if tested else None,
            "DiD p": num(r.get("did_p_value"), 4),
            "Bilan net zone tampon comprise : WDD (faits)": num(r["wdd"]),
            "WDD IC 95 % bas": num(r.get("ci_low")), "WDD IC 95 % haut": num(r.get("ci_high")),
            "WDD p": num(r.get("p_value"), 4),
            "Zone témoin": _text(r.get("control")),
        })
    return pd.DataFrame(rows, columns=EVALUATION_EXPORT_COLUMNS)


EVALUATION_EXPORT_COLUMNS = [
    "Identifiant", "Intitulé", "Verdict", "Zone tampon (note)", "Fenêtres (note)", "Fenêtres (mois)", "Début fenêtre avant", "Fin fenêtre après",
    "Périmètre avant", "Périmètre après", "Témoin avant", "Témoin après", "Zone tampon avant", "Zone tampon après",
    "Périmètre vs témoin : différence de différences (%)", "DiD IC 95 % bas (%)", "DiD IC 95 % haut (%)", "DiD p",
    "Bilan net zone tampon comprise : WDD (faits)", "WDD IC 95 % bas", "WDD IC 95 % haut", "WDD p", "Zone témoin",
]


OBJECTIVE_EXPORT_COLUMNS = [
    "Identifiant", "Intitulé", "Suivi", "Objectif", "Année visée", "Mois comparés", "Année précédente (faits)", "Année visée (faits)",
    "Cible (%)", "Constaté (%)", "p de l'écart à la cible",
]


def objectives_export(obj: pd.DataFrame, analyst: bool, min_count: int) -> pd.DataFrame:
    """The objectives table for a file: follow-up sentence, counts (masked for élus), target and actual in %."""
    rows = [
        {
            "Identifiant": r["action_id"], "Intitulé": _text(r.get("title")), "Suivi": r["objective_text"], "Objectif": _text(r.get("objective")),
            "Année visée": int(r["objective_year"]) if r["objective_year"] == r["objective_year"] else None,
            "Mois comparés": int(r["months"]) if r.get("months") == r.get("months") else None,
            "Année précédente (faits)": _masked(r["previous"], analyst, min_count), "Année visée (faits)": _masked(r["current"], analyst, min_count),
            "Cible (%)": _pct(r["target_change"]), "Constaté (%)": _pct(r["actual_change"]),
            "p de l'écart à la cible": None if r.get("gap_p_value") != r.get("gap_p_value") else round(float(r["gap_p_value"]), 4),
        }
        for r in obj.to_dict("records")
    ]
    return pd.DataFrame(rows, columns=OBJECTIVE_EXPORT_COLUMNS)


def series_export(monthly: pd.DataFrame) -> pd.DataFrame:
    """The monthly series (already protected for élus) wide: Mois, Périmètre de l'action, Zone tampon (300 m)."""
    if monthly.empty:
        return pd.DataFrame(columns=["Mois", "Périmètre de l'action", "Zone tampon (300 m)"])
    names = {"perimetre": "Périmètre de l'action", "zone_tampon": "Zone tampon (300 m)"}
    values = [_masked(v, True, 0) for v in monthly["count"]]
    if "count_text" in monthly.columns:  # a protected view: hidden months carry their "< 5" text
        values = [t if v is None else v for v, t in zip(values, monthly["count_text"])]
    wide = monthly.assign(value=pd.array(values, dtype=object)).pivot(index="month", columns="area", values="value").rename(columns=names).reset_index()
    wide.columns.name = None
    wide["Mois"] = [f"{labels.month_name(m.month)} {m.year}" for m in pd.to_datetime(wide["month"])]
    return wide[["Mois"] + [c for c in names.values() if c in wide.columns]]


def export_payload(target: str, fmt: str, action_id: str | None, analyst: bool):  # noqa: ANN201 - dcc.send_bytes dict | None
    """The file of one card: its data for the selected action (or every action), through the house writers."""
    from observatory.actions.service import monthly_series
    from observatory.reports.exports import ExportMeta, slug, to_csv_bytes, to_xlsx_bytes

    if fmt not in EXPORT_FORMATS or target not in EXPORT_TITLES:
        return None
    settings = components.settings()
    views = _views()
    plan = views["plan"]
    min_count = settings.min_count
    selection = "toutes les actions du registre valide"
    if target in (TIMELINE, MAP):
        df = timeline_table(plan.register)
    elif target == EVAL_TABLE:
        df = evaluation_export(views["evaluations"], analyst, min_count)
    elif target == OBJ_TABLE:
        df = objectives_export(views["objectives"], analyst, min_count)
    else:
        if not action_id or plan.register.empty or action_id not in set(plan.register["action_id"]):
            return None
        monthly = monthly_series(settings, plan, views["source"], action_id)
        from observatory.dashboard import shaping

        # The same view as the chart: élus get months with 1..min_count−1 facts as "< 5".
        df = series_export(shaping.protected_view(monthly, ["count"], min_count, analyst=analyst))
        rec = plan.register.set_index("action_id").loc[action_id]
        selection = f"action {action_id} ; catégories : " + ", ".join(labels.category_label(c) for c in rec["categories"])
    data_range = views.get("data_range")
    period = f" ; données du {labels.fmt_date(data_range[0])} au {labels.fmt_date(data_range[1])}" if data_range else ""
    meta = ExportMeta(
        title=f"{EXPORT_TITLES[target]} — plan d'actions du CLS",
        source="Observatoire de la délinquance et de la sécurité de Lyon ; registre du plan d'actions" + (" ; méthode : docs/actions.md" if analyst else ""),
        filters=selection + period,
        snapshot_id=getattr(getattr(views["source"], "snapshot", None), "id", "") or "",
        privacy=f"effectifs de 1 à {min_count - 1} affichés « < {min_count} »" if not analyst else "",
        protected=not analyst,
    )
    stem = slug("_".join(b for b in (EXPORT_TITLES[target], action_id if target == SERIES else "") if b))
    if fmt == "csv":
        return dcc.send_bytes(to_csv_bytes(df, meta), f"{stem}.csv")
    return dcc.send_bytes(to_xlsx_bytes(df, meta), f"{stem}.xlsx")


def _export_clicked(clicks, action_id):  # noqa: ANN001, ANN202
    trig = dash.ctx.triggered_id
    if not trig or not any(clicks or []):
        return no_update
    payload = export_payload(trig["target"], trig["fmt"], action_id, security.is_analyst())
    return payload if payload is not None else no_update


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
    from observatory.actions import actions_layer
    from observatory.actions.service import monthly_series

    settings = components.settings()
    views = _views()
    plan, data_range = views["plan"], views["data_range"]
    analyst = security.is_analyst()
    timeline = timeline_figure(plan.register, group or "arrondissement", data_range[1] if data_range else None, action_id)
    fmap = map_figure(actions_layer(settings), action_id, settings.tile_source, geo.geo_ref(settings, "arrondissements"), _arrondissement_names(settings), _city_bounds(settings))
    if action_id and not plan.register.empty and action_id in set(plan.register["action_id"]):
        rec = plan.register.set_index("action_id").loc[action_id]
        # Élus: monthly counts 1..min_count−1 withheld (DESIGN §6), as on the Tendances page (primary suppression
        # only; complementary suppression over month × area would blank the whole series of a quiet perimeter).
        monthly = components.view(monthly_series(settings, plan, views["source"], action_id), ["count"])
        series = series_figure(monthly, rec["start"], rec["end"])
        private = components.privacy_note(monthly) if monthly.attrs.get("hidden") else ""
        series_note = "Catégories visées : " + ", ".join(labels.category_label(c) for c in rec["categories"]) + (f" ; {private}" if private else "") + "."
    else:
        series, series_note = figures.empty_figure("Choisir une action"), ""
    reg = plan.register
    options = [{"label": f"{r['action_id']} — {r['title']}", "value": r["action_id"]} for r in reg.sort_values("start").to_dict("records")] if not reg.empty else []
    return timeline, fmap, series, series_note, evaluation_table(views["evaluations"], analyst, settings.min_count), objectives_table(views["objectives"], analyst, settings.min_count), options


def load_form(action_id: str | None) -> list:
    """Field values of an existing action (text, as in the register file)."""
    from observatory.actions.register import register_to_raw

    reg = _views()["plan"].register
    found = reg[reg["action_id"] == action_id] if action_id and not reg.empty else reg.iloc[0:0]
    if found.empty:
        return [no_update] * len(ACTION_COLUMNS)
    rec = register_to_raw(found.drop(columns=["arrondissement"], errors="ignore")).iloc[0]
    return [form_value(c, rec[c]) for c in ACTION_COLUMNS]


def save_action(n_clicks, version, *values):  # noqa: ANN001, ANN201
    """Create or update an action from the form: analysts only, validated, written back atomically."""
    if not n_clicks:
        return no_update, no_update
    if not security.is_analyst():
        return dbc.Alert(REFUSED, color="danger", className="py-1 mb-0"), no_update
    from observatory.actions import upsert_action

    record = {c: form_cell(c, v) for c, v in zip(ACTION_COLUMNS, values)}
    try:
        upsert_action(components.settings(), record)
    except RegisterError as exc:
        return dbc.Alert([html.Strong("Action non enregistrée :"), html.Ul([html.Li(str(p)) for p in exc.problems])], color="danger", className="py-1 mb-0"), no_update
    return dbc.Alert(f"Action « {record['action_id']} » enregistrée dans le registre.", color="success", className="py-1 mb-0"), (version or 0) + 1


def close_action_from_form(n_clicks, version, action_id, end_text):  # noqa: ANN001, ANN201
    """Close an action (status terminee + end date from the picker, ISO): analysts only."""
    if not n_clicks:
        return no_update, no_update
    if not security.is_analyst():
        return dbc.Alert(REFUSED, color="danger", className="py-1 mb-0"), no_update
    from observatory.actions import close_action

    try:
        end = date.fromisoformat(form_cell("end", end_text).strip())
    except ValueError:
        message = "Choisir la date de fin dans le calendrier." if not end_text else f"Date de fin « {end_text} » invalide."
        return dbc.Alert(message, color="danger", className="py-1 mb-0"), no_update
    if not action_id:
        return dbc.Alert("Indiquer l'identifiant de l'action à clôturer.", color="danger", className="py-1 mb-0"), no_update
    try:
        close_action(components.settings(), action_id, end)
    except RegisterError as exc:
        return dbc.Alert([html.Strong("Action non clôturée :"), html.Ul([html.Li(str(p)) for p in exc.problems])], color="danger", className="py-1 mb-0"), no_update
    return dbc.Alert(f"Action « {action_id} » clôturée au {labels.fmt_date(end)}.", color="success", className="py-1 mb-0"), (version or 0) + 1


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
