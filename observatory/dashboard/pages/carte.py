"""Carte: a large MapLibre map with switchable layers; a click opens the side panel."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, callback, html

from observatory import figures, labels, schema
from observatory.analytics.filters import Filters
from observatory.analytics.indicators import BOTH_TOTALS_NOTE
from observatory.dashboard import components, elu_views, geo, ids, map_exposure, map_svg, shaping
from observatory.dashboard.exporting import ExportTable, exportable
from observatory.dashboard.panel import clickable

dash.register_page(__name__, path="/carte", name="Carte", title="Carte — Observatoire", order=1)

LAYERS = [
    {"label": "Arrondissements (taux par habitant)", "value": "arr_rate"},
    {"label": "Arrondissements (taux par exposition)", "value": "arr_exposure"},
    {"label": "Arrondissements (nombre)", "value": "arr_count"},
    {"label": "Maillage 200 m", "value": "grid"},
    {"label": "Points chauds (Gi*)", "value": "hotspots"},
    {"label": "Points chauds persistants", "value": "persistence"},
    {"label": "Zones", "value": "zones"},
    {"label": "Actions du plan", "value": "actions"},
    {"label": "Faits localisés (analystes)", "value": "points"},
]
ZONE_OUTLINES = [{"label": "Hypercentre", "value": "hypercentre"}, {"label": "Piscines", "value": "piscine"}, {"label": "QPV", "value": "qpv"}, {"label": "Périmètres", "value": "perimetre"}]
# Above this many cells the points layer becomes a density surface rather than one marker per cell.
MAX_POINT_MARKERS = 1500


def layout(couche: str | None = None, **_query):  # noqa: ANN003, ANN201
    an = components.analytics()
    if not components.has_data(an):
        return html.Div([html.H1("Carte", className="h4"), components.empty_state()])
    options = LAYERS if components.is_analyst() else [o for o in LAYERS if o["value"] != "points"]
    valid = {o["value"] for o in options}
    controls = dbc.Row(
        [
            dbc.Col(dbc.RadioItems(id=ids.MAP_LAYER, options=options, value=couche if couche in valid else "arr_rate", inline=True, className="small"), lg=8),
            dbc.Col(dbc.Checklist(id=ids.MAP_ZONE_KINDS, options=ZONE_OUTLINES, value=["hypercentre"], inline=True, className="small"), lg=4),
        ],
        className="mb-1",
    )
    return html.Div(
        [
            html.H1("Carte", className="h4"),
            components.figure_card(ids.MAP_GRAPH, "Carte des faits", height=640, graph_id=clickable("carte"), formats=("csv", "xlsx", "geojson", "svg"), controls=controls, filename="carte"),
        ]
    )


def _outlines(settings, kinds):  # noqa: ANN001, ANN202
    if not kinds:
        return []
    gj = geo.zones_geojson(settings)
    out = []
    for kind in kinds:
        feats = [f for f in gj["features"] if f["properties"].get("kind") == kind]
        if feats:
            out.append(({"type": "FeatureCollection", "features": feats}, next(o["label"] for o in ZONE_OUTLINES if o["value"] == kind), figures.ZONE_COLORS.get(kind, "#555")))
    return out


def annual_view(an, filters):  # noqa: ANN001, ANN201
    """The arrondissement layers' period: the current year (like the home page) when no « Du » is chosen, else
    the chosen period up to the reference day. Its rates are yearly whatever its length (analytics.exposure)."""
    ref = shaping.reference_date(an, filters)
    if ref is None:
        return filters
    if filters.start is None:
        return shaping.year_to_date(filters, ref)
    return filters.replace(end=ref)


def elu_arrondissement_table(an, filters) -> ExportTable:  # noqa: ANN001
    """The arrondissement layers for élus: the stored publication of a closed year (protected jointly with the
    bilans), one category, one family or everything; other filters are not applied and the note says so
    (``elu_views.scope``)."""
    df = elu_views.arrondissement_table(an, filters)
    sc = df.attrs.get("scope")
    if sc is None:
        return ExportTable(df, ("count",), title="Faits par arrondissement", extra_note=elu_views.Scope(None).note())
    status = df.attrs[shaping.PUBLICATION_STATUS]
    df = shaping.with_labels(df, "arrondissement", "arrondissement")
    df.attrs[shaping.PUBLICATION_STATUS] = status
    return ExportTable(df, ("count",), title="Faits par arrondissement", period=sc.period, extra_note=sc.note())


def layer_table(an, filters, layer: str) -> ExportTable:  # noqa: ANN001
    """The aggregated data of a layer (shared by the map callback and the exports)."""
    s = an.settings
    if layer in ("arr_rate", "arr_count") and not components.is_analyst():
        return elu_arrondissement_table(an, filters)
    if layer != "actions" and not components.is_analyst():
        # Cells, hot spots, zones and exposure rates are not in the élus' publication (issue 15).
        return ExportTable(pd.DataFrame({"count": pd.Series(dtype="float64")}), ("count",), title="Carte", extra_note=elu_views.WITHHELD)
    if layer in ("arr_rate", "arr_count"):
        from observatory.analytics.indicators import published_filters, with_published_count

        f = annual_view(an, filters)
        df = an.rates_by_arrondissement(f, include_city=False)
        note = df.attrs.get("rate_note", "")
        # An analyst page: every fact, and beside it the figure the bilan publishes (sensitive categories left out).
        df = with_published_count(df, an.rates_by_arrondissement(published_filters(f), include_city=False), ["arrondissement"])
        df = shaping.with_labels(df, "arrondissement", "arrondissement")
        return ExportTable(df, ("count",), title="Faits par arrondissement", period=(f.start, f.end), extra_note=f"{note} ; {BOTH_TOTALS_NOTE}",
                           columns={"count_published": "faits_publies_hors_vsif"})
    if layer == "arr_exposure":
        return map_exposure.layer_table(an, filters, annual_view(an, filters))
    if layer == "zones":
        return ExportTable(an.rates_by_zone(filters), ("count",), title="Faits par zone")
    if layer == "actions":
        acts = shaping.actions_table(shaping.actions_matching(geo.actions(s), filters))
        gj = geo.actions_geojson(s)
        keep = set(acts["action_id"])
        feats = [{**f, "properties": {**f["properties"], **{k: v for k, v in acts.loc[acts["action_id"] == f["id"], ["periode", "statut", "type_label"]].iloc[0].items()}}} for f in gj["features"] if f["id"] in keep]
        return ExportTable(acts, (), geojson={"type": "FeatureCollection", "features": feats}, title="Actions du plan", extra_note="registre du plan d'actions (data/raw/actions)")
    if layer == "hotspots":
        hs = an.hotspots(filters)
        return ExportTable(hs[hs["class"] != "ns"].reset_index(drop=True), ("count",), title="Points chauds (Gi*)", extra_note=hs.attrs.get("note", ""))
    if layer == "persistence":
        p = an.persistence(filters)
        return ExportTable(p[p["quarters_hot"] > 0].reset_index(drop=True), (), title="Persistance des points chauds")
    if layer == "points":
        # Sensitive categories are never drawn as points; the others only at their cell's centre, aggregated.
        allowed = tuple(c for c in (filters.categories or schema.categories()) if c not in schema.sensitive_categories())
        cells = an.counts(filters.replace(categories=allowed), by=("grid_cell",)).dropna(subset=["grid_cell"])
        if not allowed:  # only sensitive categories asked for: an empty tuple would mean "all categories"
            cells = cells.iloc[0:0]
        df = shaping.cells_with_centres(cells, geo.cell_centres(cells["grid_cell"], s.grid_size_m))
        return ExportTable(df, ("count",), title="Faits par maille (positions généralisées)", extra_note="catégories sensibles exclues ; position = centre de la maille")
    cells = an.counts(filters, by=("grid_cell",)).dropna(subset=["grid_cell"])
    return ExportTable(cells, ("count",), title=f"Faits par maille de {s.grid_size_m} m")


@callback(
    Output(clickable("carte"), "figure"),
    Output(ids.note(ids.MAP_GRAPH), "children"),
    Input(ids.FILTERS, "data"),
    Input(ids.MAP_LAYER, "value"),
    Input(ids.MAP_ZONE_KINDS, "value"),
)
def map_figure(query, layer, outline_kinds):  # noqa: ANN001, ANN201
    an = components.analytics()
    s = components.settings()
    filters = Filters.from_query(query or {})
    if layer == "points" and not components.is_analyst():
        layer = "grid"
    if layer not in ("arr_rate", "arr_count", "actions") and not components.is_analyst():
        return elu_views.withheld_figure(height=640), components.method_note(an, filters, extra=elu_views.WITHHELD)
    outlines = _outlines(s, outline_kinds or [])
    if layer not in ("arr_rate", "arr_count", "zones"):
        # Cells and points need the districts drawn under them to be read.
        outlines = [(geo.geo_ref(s, "arrondissements"), "Arrondissements", "#9aa5b1")] + outlines
    layer_data = layer_table(an, filters, layer)
    table = layer_data.df
    style = geo.map_style(s)
    places = geo.arrondissement_places(s)  # the districts' names, written on every layer to orient the reader
    extra = ""
    if layer in ("arr_rate", "arr_count") and not components.is_analyst() and layer_data.period is None:
        return figures.empty_figure(layer_data.extra_note, height=640), ""
    if layer in ("arr_rate", "arr_count") and shaping.PUBLICATION_STATUS in table.attrs:
        rate = layer == "arr_rate"
        view = shaping.protected_view(table, ["count"], s.min_count, analyst=False, derived=("rate_per_1000",))
        year = layer_data.period[1].year
        legend = f"Faits pour 1 000 hab. ({year})" if rate else f"Faits ({year})"
        fig = figures.choropleth_map(view, geo.geo_ref(s, "arrondissements"), "arrondissement", "rate_per_1000" if rate else "count", legend, name_col="label", style=style, height=640,
                                     value_format=figures.RATE_FMT if rate else figures.INT_FMT, outlines=outlines, text_col="count_text", places=places)
        return fig, components.method_note(an, filters, rate=rate, period=layer_data.period, extra=layer_data.extra_note + " ; cliquer un arrondissement pour le détail")
    if layer in ("arr_rate", "arr_count"):
        rate = layer == "arr_rate"
        f = annual_view(an, filters)
        legend = "Faits par an pour 1 000 hab." if rate else "Faits"
        table = table.assign(count_published_text=[labels.fmt_int(v) for v in table["count_published"]])
        both = {"count_published_text": "Chiffre publié (hors violences sexuelles et intrafamiliales)"}
        fig = figures.choropleth_map(table, geo.geo_ref(s, "arrondissements"), "arrondissement", "rate_per_1000" if rate else "count", legend, name_col="label", style=style, height=640, value_format=figures.RATE_FMT if rate else figures.INT_FMT, outlines=outlines, extra_hover=both, places=places)
        return fig, components.method_note(an, f, rate=rate, extra=(an.rates_by_arrondissement(f, include_city=False).attrs.get("rate_note", "") + " ; " if rate else "") + "cliquer un arrondissement pour le détail ; " + BOTH_TOTALS_NOTE + " (au survol et dans l'export)")
    if layer == "arr_exposure":
        f = annual_view(an, filters)
        if table.empty:
            return figures.empty_figure(table.attrs.get("reason", "Pas de taux par exposition"), height=640), components.method_note(an, f)
        fig = figures.choropleth_map(table, geo.geo_ref(s, "arrondissements"), "arrondissement", "exposure_rate", table.attrs["legend"], name_col="label", style=style, height=640, value_format=figures.RATE_FMT, outlines=outlines, places=places)
        return fig, components.method_note(an, f, extra=map_exposure.note(table, f))
    if layer == "zones":
        fig = figures.zones_map(geo.zones_geojson(s), table, "zone_id", "kind", "name", "count", style=style, height=640, places=places, base=geo.geo_ref(s, "arrondissements"))
        return fig, components.method_note(an, filters, extra="taux des zones rapportés à la surface, par an ; piscines : périmètre de " + f"{int(s.pool_buffer_m)} m")
    if layer == "actions":
        fig = figures.actions_map(geo.actions_geojson(s), table, "action_id", "type_label", {"title": "Action", "type_label": "Type", "periode": "Période", "statut": "Statut", "arrondissement_label": "Arrondissement"}, style=style, height=640, places=places, outlines=outlines)
        extra = f"{len(table)} action(s) du plan concernée(s) par les filtres (catégories visées, arrondissements, zones, période) ; détail et évaluation : page Plan d'actions"
        return fig, components.method_note(an, filters, extra=extra)
    if layer == "hotspots":
        if table.empty:
            return figures.empty_figure("Aucun point chaud ni froid significatif pour ces filtres", height=640), components.method_note(an, filters)
        table = table.assign(place=geo.cell_names(s, table["cell_id"]))
        fig = figures.hotspot_map(table, geo.geo_ref(s, "grille"), "cell_id", "class", "count", style=style, height=640, places=places, outlines=outlines, name_col="place")
        return fig, components.method_note(an, filters, extra=an.hotspots(filters).attrs.get("note", "") + " ; cliquer une maille pour le détail")
    if layer == "persistence":
        if table.empty:
            return figures.empty_figure("Aucune maille chaude (95 %) sur les 4 derniers trimestres", height=640), components.method_note(an, filters)
        p = table.assign(label=geo.cell_names(s, table["cell_id"]))
        fig = figures.choropleth_map(p, geo.geo_ref(s, "grille"), "cell_id", "quarters_hot", "Trimestres chauds (sur 4)", name_col="label", style=style, height=640, places=places, colorscale="Reds", outlines=outlines, click_kind="cell")
        fig.update_traces(colorbar={"dtick": 1}, selector={"name": "Trimestres chauds (sur 4)"})
        return fig, components.method_note(an, filters, extra="nombre des 4 derniers trimestres où la maille est un point chaud Gi* à 95 % ou plus ; cliquer une maille pour le détail")
    if layer == "points":
        if len(table) > MAX_POINT_MARKERS:
            fig = figures.density_map(table, "lon", "lat", "count", style=style, height=640, places=places, outlines=outlines)
        else:
            fig = figures.points_map(table.assign(place=geo.cell_names(s, table["grid_cell"])), "lon", "lat", "count", "grid_cell", style=style, height=640, places=places, outlines=outlines, name_col="place")
        extra = f"positions généralisées au centre des mailles de {s.grid_size_m} m, catégories sensibles exclues"
        return fig, components.method_note(an, filters, extra=extra)
    table = table.assign(label=geo.cell_names(s, table["grid_cell"]))
    fig = figures.choropleth_map(table, geo.geo_ref(s, "grille"), "grid_cell", "count", "Faits", name_col="label", style=style, height=640, places=places, outlines=outlines, click_kind="cell")
    fig.update_traces(marker_line_width=0, selector={"type": "choroplethmap", "name": "Faits"})
    return fig, components.method_note(an, filters, extra=f"mailles de {s.grid_size_m} m ; faits sans localisation précise exclus ; cliquer une maille pour le détail")


def _exported_layer(options: dict | None) -> str:
    """The layer an export draws: the address's ``couche`` when valid and allowed to the viewer."""
    layer = (options or {}).get("couche", "arr_rate")
    valid = {o["value"] for o in LAYERS}
    if layer not in valid or (layer == "points" and not components.is_analyst()):
        layer = "arr_rate" if layer not in valid else "grid"
    return layer


@exportable(ids.MAP_GRAPH, "Couche de la carte")
def _map_export(an, filters, options=None):  # noqa: ANN001, ANN202
    """The layer shown (``couche`` in the address), aggregated; the GeoJSON carries its polygons or points."""
    layer = _exported_layer(options)
    table = layer_table(an, filters, layer)
    key = {"arr_rate": "arrondissement", "arr_count": "arrondissement", "arr_exposure": "arrondissement", "zones": "zone_id", "grid": "grid_cell", "points": "grid_cell", "hotspots": "cell_id", "persistence": "cell_id"}.get(layer)
    return ExportTable(table.df, table.value_cols, geojson=table.geojson or layer_geojson(an.settings, table.df, layer), title=table.title, extra_note=table.extra_note, geo_key=key, derived=table.derived, period=table.period)


map_svg.register(ids.MAP_GRAPH, lambda table, published, meta, options: map_svg.layer_svg(components.settings(), _exported_layer(options), table, published, meta))


def layer_geojson(settings, df, layer: str) -> dict:  # noqa: ANN001
    """Features of an exported layer with its figures as properties (French names)."""
    if layer in ("arr_rate", "arr_count", "arr_exposure"):
        gj, key, props = geo.arrondissements_geojson(settings), "arrondissement", {"count": "faits", "rate_per_1000": "taux_pour_1000", "exposure_rate": "taux_par_exposition"}
        props = {c: n for c, n in props.items() if c in df.columns}
    elif layer == "zones":
        gj, key, props = geo.zones_geojson(settings), "zone_id", {"count": "faits", "rate_per_km2": "faits_par_km2"}
    elif layer == "points":
        feats = [{"type": "Feature", "id": r.grid_cell, "properties": {"maille": r.grid_cell, "faits": int(r.count)}, "geometry": {"type": "Point", "coordinates": [r.lon, r.lat]}} for r in df.itertuples()]
        return {"type": "FeatureCollection", "features": feats}
    else:
        key = "cell_id" if "cell_id" in df.columns else "grid_cell"
        gj = geo.grid_geojson(settings, df[key]) if len(df) else {"features": []}
        props = {c: c for c in ("count", "class", "confidence", "quarters_hot") if c in df.columns}
    by_key = df.set_index(key)
    feats = []
    for f in gj["features"]:
        if f["id"] not in by_key.index:
            continue
        row = by_key.loc[f["id"]]
        extra = {}
        for col, name in props.items():
            v = row[col]
            extra[name] = None if pd.isna(v) else (int(v) if col in ("count", "quarters_hot", "confidence") else (round(float(v), 2) if isinstance(v, float) else v))
        feats.append({**f, "properties": {**f["properties"], **extra}})
    return {"type": "FeatureCollection", "features": feats}


# The chosen layer is part of the view: keep it in the address beside the filters.
dash.clientside_callback(
    """
    function(layer) {
        const params = new URLSearchParams(window.location.search);
        params.set("couche", layer);
        window.history.replaceState(window.history.state, "", window.location.pathname + "?" + params.toString());
        return window.dash_clientside.no_update;
    }
    """,
    Output(ids.MAP_LAYER, "className"),
    Input(ids.MAP_LAYER, "value"),
)
