"""DataFrame → Plotly figure, with one theme, shared by the dashboard and the yearly report.

No Dash import here. Every builder takes tidy DataFrames whose columns are named by the caller (codes, not
labels: labels come from :mod:`observatory.labels`), never mutates them, and returns a ``go.Figure`` with
French separators and French axis labels. Maps use the MapLibre traces (``choroplethmap``, ``scattermap``,
``densitymap``); the basemap style is a parameter so that offline ("white-bg") no request leaves the machine.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from typing import Iterable, NamedTuple, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from observatory import labels

# Theme ----------------------------------------------------------------------------------------------------------
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
# Colour-blind-safe qualitative palette (Okabe–Ito, minus black), then greys for older years.
COLORWAY = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999")
CURRENT_COLOR = "#0B3C5D"
PREVIOUS_COLORS = ("#E69F00", "#9aa5b1", "#c3cad2", "#dde1e6")
UP_COLOR = "#C0392B"  # a rise in delinquency is bad news: red
DOWN_COLOR = "#1E8449"
NEUTRAL_COLOR = "#9aa5b1"
SEQUENTIAL = "YlOrRd"
HOTSPOT_COLORS = {  # Gi* confidence classes as named by observatory.analytics.hotspots.classify, cold to hot
    "cold_99": "#2166ac",
    "cold_95": "#67a9cf",
    "cold_90": "#d1e5f0",
    "ns": "#f7f7f7",
    "hot_90": "#fddbc7",
    "hot_95": "#ef8a62",
    "hot_99": "#b2182b",
}
HOTSPOT_LABELS = {
    "cold_99": "Point froid (99 %)",
    "cold_95": "Point froid (95 %)",
    "cold_90": "Point froid (90 %)",
    "ns": "Non significatif",
    "hot_90": "Point chaud (90 %)",
    "hot_95": "Point chaud (95 %)",
    "hot_99": "Point chaud (99 %)",
}
ZONE_COLORS = {"hypercentre": "#7b3294", "piscine": "#0072B2", "qpv": "#D55E00", "gltd": "#009E73", "cellule_veille": "#009E73", "camera": "#666666", "perimetre": "#CC79A7"}
LYON_CENTER = {"lon": 4.8467, "lat": 45.7578}
# Formats of hover values: French separators come from layout.separators, so d3 formats stay plain.
INT_FMT = ",.0f"
HIDDEN_COLOR = "#d5d9de"  # cells whose count is withheld for privacy
RATE_FMT = ",.1f"


# Parts of Plotly's "plotly_white" template the house figures use: the 2-D layout (white background, grid
# colours, axis and colour-bar defaults) and the trace defaults of the trace types drawn here. The full template
# (3-D scenes, polar, ternary, geo, ~40 trace types) is 7 kB of JSON in every figure and ~10–30 ms of Plotly
# validation per figure when set by name; this one is ~2.5 kB and validated once.
_TEMPLATE_LAYOUT_KEYS = ("autotypenumbers", "colorway", "font", "hovermode", "hoverlabel", "paper_bgcolor", "plot_bgcolor",
                         "coloraxis", "colorscale", "xaxis", "yaxis", "shapedefaults", "annotationdefaults", "title")
_TEMPLATE_TRACE_TYPES = ("bar", "scatter", "heatmap", "scattermap", "choroplethmap", "densitymap", "waterfall")


@lru_cache(maxsize=1)
def house_template() -> go.layout.Template:
    """The house template, built once per process (Plotly copies it into each figure): the parts of
    "plotly_white" we use (see above) with the house fonts and colours."""
    import plotly.io as pio

    white = pio.templates["plotly_white"]
    layout = {k: v for k, v in white.layout.to_plotly_json().items() if k in _TEMPLATE_LAYOUT_KEYS}
    data = white.data.to_plotly_json()
    layout.update(font={"family": FONT, "size": 13, "color": "#1f2933"}, colorway=list(COLORWAY), hoverlabel={"font": {"family": FONT}})
    # Full numbers with the French thousands separator on value axes: Plotly's default SI ticks read « 55,5k »,
    # an English abbreviation (builders that set their own tickformat, e.g. percentages, override this).
    layout["yaxis"] = {**layout.get("yaxis", {}), "tickformat": ",~r"}
    return go.layout.Template(layout=layout, data={k: data[k] for k in _TEMPLATE_TRACE_TYPES if k in data})


def theme(fig: go.Figure, title: str | None = None, height: int | None = None) -> go.Figure:
    """Apply the house theme in place and return the figure (French separators, fonts, margins, colours)."""
    fig.update_layout(
        template=house_template(),
        # On the figure itself, not in the template: read back by tests and by builders that move the legend.
        separators=labels.PLOTLY_SEPARATORS,
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0, "title": None},
        # Upright, so that it fits the gutter the dashboard keeps right of every figure (assets/style.css).
        modebar={"orientation": "v", "bgcolor": "rgba(255,255,255,0.9)", "color": "#6b7280", "activecolor": "#1f4e79"},
        margin={"l": 10, "r": 10, "t": 40 if title else 10, "b": 10},
        title={"text": title, "x": 0, "xanchor": "left", "font": {"size": 15}} if title else None,
        **({"height": height} if height else {}),
    )
    return fig


def empty_figure(message: str = "Aucune donnée pour ces filtres", height: int = 260) -> go.Figure:
    """A blank figure with a centred French message (never a broken axis)."""
    fig = go.Figure()
    fig.add_annotation(text=message, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False, font={"size": 14, "color": "#6b7280"})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return theme(fig, height=height)


def hover_texts(values) -> np.ndarray:  # noqa: ANN001 - Series or sequence
    """Strings made inert for Plotly hover and labels (partner-supplied labels, place names).

    Plotly renders a subset of HTML in hover text, tick labels and annotations (<b>, <a href>, <br>…): a label
    sent by a partner must show as typed, never as markup.
    """
    from html import escape

    return np.array(["" if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) else escape(str(v), quote=False) for v in values], dtype=object)


def wrap_label(text: str, width: int = 24) -> str:
    """An already-inert label broken over lines of about ``width`` characters with Plotly's ``<br>``.

    Long category names as y ticks take half a card at 1024 px and squeeze (or cut) the bars and their labels;
    two short lines keep the axis margin narrow. Only spaces are broken, so a word is never split.
    """
    import textwrap

    return "<br>".join(textwrap.wrap(text, width=width, break_long_words=False, break_on_hyphens=False)) or text


def inert(text: object) -> str:
    """One partner-supplied string made inert for Plotly (see :func:`hover_texts`)."""
    return str(hover_texts([text])[0])


# Geometry -------------------------------------------------------------------------------------------------------
def _round_coords(coords, decimals: int):  # noqa: ANN001, ANN202 - nested GeoJSON coordinate lists
    if isinstance(coords, (list, tuple)) and coords and isinstance(coords[0], (int, float)):
        return [round(float(c), decimals) for c in coords]
    return [_round_coords(c, decimals) for c in coords]


def to_geojson(gdf, id_col: str, tolerance_deg: float = 0.0, decimals: int = 5, properties: Sequence[str] = ()) -> dict:  # noqa: ANN001 - GeoDataFrame
    """A compact GeoJSON FeatureCollection (EPSG:4326): simplified, coordinates rounded, ``id`` = ``id_col``.

    Rounding to 5 decimals (≈ 1 m) halves the payload and is invisible at city scale; simplification keeps
    topology so neighbouring arrondissements still touch.
    """
    geoms = gdf.geometry.to_crs(4326) if gdf.crs is not None else gdf.geometry
    if tolerance_deg > 0:
        geoms = geoms.simplify(tolerance_deg, preserve_topology=True)
    features = []
    for (idx, row), geom in zip(gdf.iterrows(), geoms):
        if geom is None or geom.is_empty:
            continue
        mapping = geom.__geo_interface__
        props = {"id": str(row[id_col])}
        for p in properties:
            value = row[p]
            props[p] = None if (isinstance(value, float) and math.isnan(value)) else (value if isinstance(value, (int, float, str, bool)) or value is None else str(value))
        features.append({"type": "Feature", "id": str(row[id_col]), "properties": props, "geometry": {"type": mapping["type"], "coordinates": _round_coords(mapping["coordinates"], decimals)}})
    return {"type": "FeatureCollection", "features": features}


@lru_cache(maxsize=1)
def rivers_geojson() -> dict:
    """The Saône and the Rhône through Lyon (approximate courses shipped with the package)."""
    from importlib import resources

    return json.loads(resources.files("observatory.data").joinpath("lyon_rivers.geojson").read_text(encoding="utf-8"))


OFFLINE_STYLE_NAME = "observatoire-hors-ligne"


def offline_style(glyphs_url: str) -> dict:
    """A MapLibre style of a plain white background whose glyphs (for place names) come from ``glyphs_url``, a
    template with ``{fontstack}`` and ``{range}`` served by the dashboard itself: Plotly's own "white-bg" style
    fetches its glyphs from a font server on the internet, so names could not be drawn without a request off the
    machine."""
    return {
        "version": 8,
        # Plotly compares style ids between updates: a stable id keeps MapLibre from reloading the style (and
        # refetching sources and glyphs) each time the filters change.
        "id": OFFLINE_STYLE_NAME,
        "name": OFFLINE_STYLE_NAME,
        "glyphs": glyphs_url,
        "sources": {},
        "layers": [{"id": "fond-blanc", "type": "background", "paint": {"background-color": "#ffffff"}}],
    }


def is_offline(style) -> bool:  # noqa: ANN001 - str | dict
    """Whether ``style`` draws no tiles (Plotly's "white-bg" or :func:`offline_style`)."""
    return style == "white-bg" or (isinstance(style, dict) and style.get("name") == OFFLINE_STYLE_NAME)


def base_layers(style) -> list[dict]:  # noqa: ANN001 - str | dict
    """A light offline base under the data when no tiles are drawn: the two rivers, as MapLibre line layers
    (lines need no glyphs, so nothing is fetched); a tiled basemap already shows them."""
    if not is_offline(style):
        return []
    return [{"sourcetype": "geojson", "source": rivers_geojson(), "type": "line", "color": "#9ecae1", "line": {"width": 4}, "below": "traces", "name": "fleuves"}]


LABEL_DARK = "#1f2933"
LABEL_LIGHT = "#ffffff"


def place_labels(places: pd.DataFrame, color: str = LABEL_DARK, size: int = 13, name: str = "Noms") -> go.Scattermap:
    """Names drawn on the map (``places``: columns lon, lat, text), as MapLibre text: with the offline style the
    glyphs come from the dashboard (see :func:`offline_style`). Not hoverable, not in the legend, so that clicks
    and hovers still reach the polygons under them."""
    return go.Scattermap(
        lon=places["lon"].round(5),
        lat=places["lat"].round(5),
        mode="text",
        text=hover_texts(places["text"]),
        textfont={"color": color, "size": size, "family": "Open Sans Semibold"},
        hoverinfo="skip",
        showlegend=False,
        name=name,
    )


def _label_colors(values: pd.Series, colorscale: str, opacity: float, vmin: float, vmax: float) -> list[str]:
    """Dark or white text for each value, whichever reads better on the fill it is drawn on (the colour scale's
    colour at that value, seen through ``opacity`` over the white background)."""
    from plotly.colors import hex_to_rgb, sample_colorscale, unlabel_rgb

    span = (vmax - vmin) or 1.0
    out = []
    for v in values.astype("float64"):
        if math.isnan(v):
            out.append(LABEL_DARK)
            continue
        c = sample_colorscale(colorscale, [min(max((v - vmin) / span, 0.0), 1.0)])[0]
        rgb = unlabel_rgb(c) if c.startswith("rgb") else hex_to_rgb(c)
        seen = [opacity * x + (1 - opacity) * 255 for x in rgb]
        lum = sum(w * ((x / 255) / 12.92 if x / 255 <= 0.04045 else ((x / 255 + 0.055) / 1.055) ** 2.4) for w, x in zip((0.2126, 0.7152, 0.0722), seen))
        out.append(LABEL_LIGHT if lum < 0.3 else LABEL_DARK)
    return out


def _map_layout(fig: go.Figure, style, height: int, center: dict | None = None, zoom: float = 11.3, places: pd.DataFrame | None = None) -> go.Figure:  # noqa: ANN001 - style: str | dict
    theme(fig, height=height)
    if places is not None and len(places):
        fig.add_trace(place_labels(places))
    fig.update_layout(
        map={"style": style, "center": center or LYON_CENTER, "zoom": zoom, "layers": base_layers(style)},
        margin={"l": 0, "r": 0, "t": 0, "b": 0},
        legend={"orientation": "v", "yanchor": "top", "y": 0.98, "x": 0.01, "bgcolor": "rgba(255,255,255,0.85)"},
        clickmode="event",
        uirevision="map",  # keep the user's pan/zoom when filters change
    )
    return fig


class GeoRef(NamedTuple):
    """A GeoJSON the browser fetches from ``url`` (served once, cached) instead of receiving it in every figure;
    ``ids`` are its features' ids (for outline layers, which draw every feature)."""

    url: str
    ids: tuple[str, ...]


def _geojson_arg(geojson):  # noqa: ANN001, ANN202 - dict | str | GeoRef
    return geojson.url if isinstance(geojson, GeoRef) else geojson


def _outline_trace(geojson, name: str, color: str = "#52606d", width: float = 1.0, showlegend: bool = False) -> go.Choroplethmap:  # noqa: ANN001 - dict | GeoRef
    ids = list(geojson.ids) if isinstance(geojson, GeoRef) else [f["id"] for f in geojson["features"]]
    return go.Choroplethmap(
        geojson=_geojson_arg(geojson),
        locations=ids,
        z=[0] * len(ids),
        featureidkey="id",
        colorscale=[[0, "rgba(0,0,0,0)"], [1, "rgba(0,0,0,0)"]],
        showscale=False,
        marker={"line": {"color": color, "width": width}},
        hoverinfo="skip",
        name=name,
        showlegend=showlegend,
    )


def choropleth_map(
    df: pd.DataFrame,
    geojson: dict,
    id_col: str,
    value_col: str,
    value_label: str,
    name_col: str | None = None,
    style: str | dict = "white-bg",
    height: int = 520,
    value_format: str = INT_FMT,
    colorscale: str = SEQUENTIAL,
    outlines: Iterable[tuple[dict, str, str]] = (),
    extra_hover: dict[str, str] | None = None,
    click_kind: str = "arrondissement",
    text_col: str | None = None,
    places: pd.DataFrame | None = None,
    view: tuple[dict, float] | None = None,
) -> go.Figure:
    """Filled polygons (arrondissements, zones or grid cells) coloured by ``value_col``.

    ``view`` is the map's (center, zoom); by default the city at the zoom of a 640 px map (a smaller map passes
    the view that fits the city in its own size).

    ``customdata[0]`` is the feature id, so a click tells the dashboard which polygon was chosen.
    ``outlines`` adds unfilled layers (geojson, name, colour) on top, e.g. zone boundaries.
    The last customdata column is ``click_kind`` ("arrondissement", "zone", "cell") so a click handler knows
    what was clicked without guessing from the id.
    Rows whose value is NaN (withheld for privacy) are drawn grey, their hover showing ``text_col`` ("< 5").
    ``places`` (columns id, lon, lat, text) names the polygons on the map, each name dark or white by its fill.
    """
    if df.empty:
        fig = go.Figure(_outline_trace(geojson, "contours"))
        return _map_layout(fig, style, height, places=places)
    names = df[name_col] if name_col else df[id_col]
    extra_hover = extra_hover or {}
    shown = df[value_col].astype("float64").notna().to_numpy()
    custom = np.column_stack(
        [df[id_col].astype(str).to_numpy(), hover_texts(names)] + [hover_texts(df[c]) for c in extra_hover] + [np.full(len(df), click_kind)]
    )
    hover = f"<b>%{{customdata[1]}}</b><br>{value_label} : %{{z:{value_format}}}"
    for i, (col, lab) in enumerate(extra_hover.items()):
        hover += f"<br>{lab} : %{{customdata[{i + 2}]}}"
    values = df.loc[shown, value_col].astype("float64")
    nothing = bool(len(values) == 0 or (values.fillna(0) == 0).all())
    fig = go.Figure(
        go.Choroplethmap(
            geojson=_geojson_arg(geojson),
            locations=df.loc[shown, id_col].astype(str),
            z=values,
            # All zero: a fixed 0–1 scale drawn in its lightest colour and no colour bar (an autoscaled −0,4…0,4
            # bar suggested negative counts).
            **({"zmin": 0, "zmax": 1, "showscale": False} if nothing else {}),
            # One value (one arrondissement filtered): Plotly would stretch a 45,0–45,8 scale around it; a 0–value
            # scale reads as what it is, one level.
            **({"zmin": 0, "zmax": float(values.max())} if not nothing and values.nunique() == 1 else {}),
            featureidkey="id",
            customdata=custom[shown],
            colorscale=colorscale,
            marker={"opacity": 0.75, "line": {"color": "#ffffff", "width": 1}},
            colorbar={"title": {"text": value_label, "side": "right"}, "thickness": 12, "len": 0.6, "tickformat": value_format},
            hovertemplate=hover + "<extra></extra>",
            name=value_label,
        )
    )
    if not shown.all():
        # Values withheld for privacy (small counts): drawn in grey, the hover says why, no number is sent.
        hidden_text = hover_texts(df.loc[~shown, text_col]) if text_col else np.full(int((~shown).sum()), "non publié")
        n_hidden = int((~shown).sum())
        fig.add_trace(
            go.Choroplethmap(
                geojson=_geojson_arg(geojson),
                locations=df.loc[~shown, id_col].astype(str),
                z=[0] * n_hidden,
                featureidkey="id",
                customdata=np.column_stack([custom[~shown][:, 0], custom[~shown][:, 1], hidden_text, np.full(n_hidden, click_kind)]),
                colorscale=[[0, HIDDEN_COLOR], [1, HIDDEN_COLOR]],
                showscale=False,
                marker={"opacity": 0.6, "line": {"color": "#ffffff", "width": 1}},
                hovertemplate=f"<b>%{{customdata[1]}}</b><br>{value_label} : %{{customdata[2]}}<extra></extra>",
                name="Effectif trop faible (non publié)",
                showlegend=True,
            )
        )
    for gj, name, color in outlines:
        # A transparent choropleth shows no swatch in the legend: a point-less line trace of the outline's colour
        # carries the legend entry, and clicking it hides both (same legend group).
        fig.add_trace(_outline_trace(gj, name, color, width=2, showlegend=False).update(legendgroup=name))
        fig.add_trace(go.Scattermap(lat=[None], lon=[None], mode="lines", line={"color": color, "width": 3}, name=name, legendgroup=name, hoverinfo="skip", showlegend=True))
    if nothing:
        # Published cells all zero: either there is nothing, or what there is was withheld (small counts).
        message = "Aucun fait pour ces filtres" if shown.all() else "Effectifs trop faibles : valeurs non publiées"
        fig.add_annotation(text=message, x=0.5, y=0.97, xref="paper", yref="paper", showarrow=False, bgcolor="rgba(255,255,255,0.85)", font={"size": 14, "color": "#6b7280"})
    if places is not None and len(places):
        # The colour range Plotly draws: the fixed one set above, else the data's own (autoscale).
        trace = fig.data[0]
        vmin = float(trace.zmin) if trace.zmin is not None else float(values.min())
        vmax = float(trace.zmax) if trace.zmax is not None else float(values.max())
        value_of = pd.Series(df.loc[shown, value_col].astype("float64").to_numpy(), index=df.loc[shown, id_col].astype(str).to_numpy())
        on = places["id"].astype(str).map(value_of)
        colors = pd.Series(_label_colors(on, colorscale, 0.75, vmin, vmax), index=places.index)
        for color, part in places.groupby(colors, sort=True):
            fig.add_trace(place_labels(part, color=str(color)))
    center, zoom = view if view is not None else (None, 11.3)
    return _map_layout(fig, style, height, center=center, zoom=zoom)


def hotspot_map(df: pd.DataFrame, geojson: dict, id_col: str, class_col: str, value_col: str, style: str | dict = "white-bg", height: int = 520, outlines: Iterable[tuple[dict, str, str]] = (), places: pd.DataFrame | None = None, name_col: str | None = None) -> go.Figure:
    """Grid cells coloured by their Gi* confidence class (one legend entry per class present); the hover names
    each cell by ``name_col`` (its place) when given, else by its id."""
    fig = go.Figure()
    for cls, color in HOTSPOT_COLORS.items():
        part = df[df[class_col] == cls]
        if part.empty or cls == "ns":
            continue
        fig.add_trace(
            go.Choroplethmap(
                geojson=_geojson_arg(geojson),
                locations=part[id_col].astype(str),
                z=[1] * len(part),
                featureidkey="id",
                customdata=np.column_stack([hover_texts(part[id_col]), part[value_col].to_numpy(), hover_texts(part[name_col or id_col]), np.full(len(part), "cell")]),
                colorscale=[[0, color], [1, color]],
                showscale=False,
                marker={"opacity": 0.8, "line": {"color": "#ffffff", "width": 0.5}},
                hovertemplate=f"<b>%{{customdata[2]}}</b><br>{HOTSPOT_LABELS[cls]}<br>Faits : %{{customdata[1]:,.0f}}<extra></extra>",
                name=HOTSPOT_LABELS[cls],
                showlegend=True,
            )
        )
    for gj, name, color in outlines:
        fig.add_trace(_outline_trace(gj, name, color, width=1.5))
    if not fig.data:
        fig.add_trace(_outline_trace({"type": "FeatureCollection", "features": []}, "vide"))
    return _map_layout(fig, style, height, places=places)


def points_map(df: pd.DataFrame, lon_col: str, lat_col: str, count_col: str, id_col: str | None = None, style: str | dict = "white-bg", height: int = 520, outlines: Iterable[tuple[dict, str, str]] = (), places: pd.DataFrame | None = None, name_col: str | None = None) -> go.Figure:
    """Generalised points (cell centres): marker area grows with the number of facts they stand for."""
    fig = go.Figure()
    for gj, name, color in outlines:
        fig.add_trace(_outline_trace(gj, name, color, width=1.5))
    if not df.empty:
        n = df[count_col].astype("float64")
        size = 5 + 18 * np.sqrt(n / max(float(n.max()), 1.0))
        ids = hover_texts(df[id_col]) if id_col else np.arange(len(df)).astype(str)
        fig.add_trace(
            go.Scattermap(
                lon=df[lon_col].round(5),
                lat=df[lat_col].round(5),
                mode="markers",
                marker={"size": size.round(1), "color": CURRENT_COLOR, "opacity": 0.6},
                customdata=np.column_stack([ids, n.to_numpy(), hover_texts(df[name_col]) if name_col else ids, np.full(len(df), "cell")]),
                hovertemplate="<b>%{customdata[2]}</b><br>Faits : %{customdata[1]:,.0f}<extra></extra>",
                name="Faits (position généralisée)",
                showlegend=True,
            )
        )
    return _map_layout(fig, style, height, places=places)


def density_map(df: pd.DataFrame, lon_col: str, lat_col: str, count_col: str, style: str | dict = "white-bg", height: int = 520, radius: int = 14, outlines: Iterable[tuple[dict, str, str]] = (), places: pd.DataFrame | None = None) -> go.Figure:
    """A heat surface over cell centres weighted by their counts (no individual incident reaches the browser)."""
    fig = go.Figure()
    if not df.empty:
        fig.add_trace(
            go.Densitymap(
                lon=df[lon_col].round(5),
                lat=df[lat_col].round(5),
                z=df[count_col].astype("float64"),
                radius=radius,
                colorscale=SEQUENTIAL,
                colorbar={"title": {"text": "Densité", "side": "right"}, "thickness": 12, "len": 0.6},
                hovertemplate="Faits : %{z:,.0f}<extra></extra>",
                name="Densité",
            )
        )
    for gj, name, color in outlines:
        fig.add_trace(_outline_trace(gj, name, color, width=1.5))
    return _map_layout(fig, style, height, places=places)


def zones_map(zones_geojson: dict, zones: pd.DataFrame, id_col: str, kind_col: str, name_col: str, value_col: str | None = None, style: str | dict = "white-bg", height: int = 520, base: dict | None = None, places: pd.DataFrame | None = None) -> go.Figure:
    """Zones coloured by kind (one legend entry per kind); hover gives the name and, if given, the count."""
    fig = go.Figure()
    if base is not None:
        fig.add_trace(_outline_trace(base, "Arrondissements", "#9aa5b1", width=1))
    for kind, part in zones.groupby(kind_col, sort=False):
        color = ZONE_COLORS.get(str(kind), "#555555")
        value = part[value_col].to_numpy() if value_col else np.full(len(part), np.nan)
        hover = "<b>%{customdata[1]}</b>" + ("<br>Faits : %{customdata[2]:,.0f}" if value_col else "") + "<extra></extra>"
        fig.add_trace(
            go.Choroplethmap(
                geojson=zones_geojson,
                locations=part[id_col].astype(str),
                z=[1] * len(part),
                featureidkey="id",
                customdata=np.column_stack([part[id_col].astype(str).to_numpy(), hover_texts(part[name_col]), value, np.full(len(part), "zone")]),
                colorscale=[[0, color], [1, color]],
                showscale=False,
                marker={"opacity": 0.45, "line": {"color": color, "width": 2}},
                hovertemplate=hover,
                name=inert(labels.ZONE_KIND_LABELS.get(str(kind), str(kind))),
                showlegend=True,
            )
        )
    return _map_layout(fig, style, height, places=places)


ACTION_TYPE_COLORS = ("#6a3d9a", "#b15928", "#1f78b4", "#33a02c", "#e31a1c", "#ff7f00")


def actions_map(geojson: dict, actions: pd.DataFrame, id_col: str, group_col: str, hover_cols: dict[str, str], style: str | dict = "white-bg", height: int = 520, outlines: Iterable[tuple[dict, str, str]] = (), places: pd.DataFrame | None = None) -> go.Figure:
    """Perimeters of the action plan, one colour per ``group_col`` value (the action type, as a French label).

    ``hover_cols`` maps columns to hover labels (title, dates, status…); every value is made inert.
    """
    fig = go.Figure()
    for gj, name, color in outlines:
        fig.add_trace(_outline_trace(gj, name, color, width=1.5))
    for i, (group, part) in enumerate(actions.groupby(group_col, sort=True)):
        color = ACTION_TYPE_COLORS[i % len(ACTION_TYPE_COLORS)]
        custom = np.column_stack([part[id_col].astype(str).to_numpy()] + [hover_texts(part[c]) for c in hover_cols] + [np.full(len(part), "action")])
        hover = "<br>".join(f"{lab} : %{{customdata[{j + 1}]}}" if j else f"<b>%{{customdata[{j + 1}]}}</b>" for j, lab in enumerate(hover_cols.values()))
        fig.add_trace(
            go.Choroplethmap(
                geojson=_geojson_arg(geojson),
                locations=part[id_col].astype(str),
                z=[1] * len(part),
                featureidkey="id",
                customdata=custom,
                colorscale=[[0, color], [1, color]],
                showscale=False,
                marker={"opacity": 0.35, "line": {"color": color, "width": 2.5}},
                hovertemplate=hover + "<extra></extra>",
                name=inert(group),
                showlegend=True,
            )
        )
    if not fig.data:
        fig.add_trace(_outline_trace({"type": "FeatureCollection", "features": []}, "vide"))
    return _map_layout(fig, style, height, places=places)


# Time -----------------------------------------------------------------------------------------------------------
def monthly_overlay(df: pd.DataFrame, year_col: str = "year", month_col: str = "month", value_col: str = "count", height: int = 340, value_label: str = "Faits") -> go.Figure:
    """One line per year over janvier…décembre, the most recent year bold, older years fading."""
    if df.empty:
        return empty_figure()
    years = sorted(df[year_col].unique(), reverse=True)
    fig = go.Figure()
    for i, year in enumerate(years):
        part = df[df[year_col] == year].sort_values(month_col)
        color = CURRENT_COLOR if i == 0 else PREVIOUS_COLORS[min(i - 1, len(PREVIOUS_COLORS) - 1)]
        fig.add_trace(
            go.Scatter(
                x=[labels.MONTHS_SHORT[int(m) - 1] for m in part[month_col]],
                y=part[value_col],
                mode="lines+markers",
                name=str(year),
                line={"color": color, "width": 3 if i == 0 else 1.8},
                marker={"size": 6 if i == 0 else 4},
                hovertemplate=f"%{{x}} {year}<br>{value_label} : %{{y:{INT_FMT}}}<extra></extra>",
            )
        )
    fig.update_xaxes(categoryorder="array", categoryarray=list(labels.MONTHS_SHORT), title=None)
    fig.update_yaxes(title=value_label, rangemode="tozero")
    return theme(fig, height=height)


ACTION_COLOR = "#6a3d9a"


def mark_actions_on_overlay(fig: go.Figure, actions: pd.DataFrame, years: Iterable[int], max_labels: int = 6) -> go.Figure:
    """Start (▶) and end (■) of each action as dotted vertical lines on a janvier…décembre overlay chart.

    ``actions``: title, start, end (NaT while in progress). Only starts and ends falling in ``years`` (the
    years drawn) are marked; labels carry the month and year, since the x axis has no year. Returns ``fig``.
    """
    years = set(int(y) for y in years)
    n = 0
    for row in actions.itertuples():
        for when, sign in ((row.start, "▶"), (row.end, "■")):
            if when is None or pd.isna(when) or int(pd.Timestamp(when).year) not in years:
                continue
            ts = pd.Timestamp(when)
            # Category axis: month m sits at m - 1; the day moves the line within the month's slot.
            x = ts.month - 1 + (ts.day - 1) / ts.days_in_month - 0.5
            fig.add_vline(x=x, line={"color": ACTION_COLOR, "width": 1, "dash": "dot"})
            if n < max_labels:
                fig.add_annotation(
                    x=x, y=1 - 0.08 * (n % 6), xref="x", yref="paper", xanchor="left", showarrow=False,
                    text=f"{sign} {inert(row.title)} ({ts.month:02d}/{ts.year})", font={"size": 10, "color": ACTION_COLOR},
                    bgcolor="rgba(255,255,255,0.75)",
                )
            n += 1
    return fig


def time_series(df: pd.DataFrame, x_col: str, value_col: str, group_col: str | None = None, height: int = 320, value_label: str = "Faits", group_labeler=None) -> go.Figure:  # noqa: ANN001
    """Lines over dates (monthly periods), one per group if ``group_col``."""
    if df.empty:
        return empty_figure()
    fig = go.Figure()
    groups = [(None, df)] if group_col is None else list(df.groupby(group_col, sort=True))
    for key, part in groups:
        part = part.sort_values(x_col)
        name = inert(value_label if key is None else (group_labeler(key) if group_labeler else str(key)))
        fig.add_trace(go.Scatter(x=part[x_col], y=part[value_col], mode="lines", name=name, hovertemplate=f"%{{x|%m/%Y}}<br>{name} : %{{y:{INT_FMT}}}<extra></extra>"))
    months = pd.to_datetime(df[x_col]).dt.to_period("M").nunique()
    # One tick per month on short spans (Plotly otherwise repeats « 03/2025 » at sub-month steps).
    fig.update_xaxes(tickformat="%m/%Y", title=None, **({"dtick": "M1"} if months <= 12 else {}))
    if months == 1:
        fig.update_traces(mode="lines+markers")
    fig.update_yaxes(title=value_label, rangemode="tozero")
    return theme(fig, height=height)


# Width of a change-bar plot in the narrowest card it is drawn in (half a card at 1024 px, minus its category names).
PLOT_PX = 220


def change_bars(df: pd.DataFrame, label_col: str, change_col: str, significant_col: str | None = "significant", pct_col: str | None = None, height: int | None = None, value_label: str = "Évolution (faits)", unreliable_col: str | None = "unreliable") -> go.Figure:
    """Horizontal bars of a change per item, red up / green down, pale when not significant (★ = significant).

    A percentage on small counts is flagged where it is read: « +100 % ⚠ » on the bar and « effectifs trop
    faibles pour un pourcentage fiable » in the hover (``unreliable_col``, from compare_periods).
    """
    if df.empty:
        return empty_figure()
    d = df.sort_values(change_col)
    sig = d[significant_col].fillna(False).astype(bool).to_numpy() if significant_col else np.ones(len(d), dtype=bool)
    change = d[change_col].astype("float64").to_numpy()
    weak = d[unreliable_col].fillna(False).astype(bool).to_numpy() if unreliable_col and unreliable_col in d else np.zeros(len(d), dtype=bool)
    colors = [(UP_COLOR if c > 0 else DOWN_COLOR) if s else NEUTRAL_COLOR for c, s in zip(change, sig)]
    # The star is appended after wrapping, so it never sits alone on a line of its own.
    names = [wrap_label(str(lab)) + (" ★" if s else "") for lab, s in zip(hover_texts(d[label_col]), sig)]
    if pct_col:
        pct_text = [labels.fmt_pct(p) + (" ⚠" if w else "") if pd.notna(p) else labels.fmt_signed(c) + " fait" + ("s" if abs(c) > 1 else "") for p, c, w in zip(d[pct_col], change, weak)]
    else:
        pct_text = [labels.fmt_signed(c) for c in change]
    caveat = np.where(weak, "<br>⚠ effectifs trop faibles pour un pourcentage fiable", "")
    fig = go.Figure(
        go.Bar(
            x=change,
            y=names,
            orientation="h",
            marker={"color": colors},
            text=pct_text,
            textposition="outside",
            cliponaxis=False,
            customdata=np.column_stack([np.where(sig, "significative", "non significative"), caveat]),
            hovertemplate=f"%{{y}}<br>{value_label} : %{{x:+,.0f}} (%{{text}})<br>Évolution %{{customdata[0]}}%{{customdata[1]}}<extra></extra>",
        )
    )
    # Room on both sides for the outside labels, which Plotly would otherwise clip at the plot's edge or push
    # into the category names (« Rixes et regroupements−20 % »): the pad is the share of the plot a label takes,
    # for a plot of ~220 px (a half-width card at 1024 px, beside two-line category names) at ~8 px a character.
    lo, hi = float(min(change.min(), 0)), float(max(change.max(), 0))
    share = min(0.3, (max(len(t) for t in pct_text) + 1) * 8 / PLOT_PX)
    sides = (lo < 0) + (hi > 0) or 1
    pad = share * max(hi - lo, 1.0) / (1 - sides * share)
    # A long axis title (« Évolution 2025 par rapport à 2024 (faits) ») is centred on that narrow plot and was cut
    # at the card's edge: it is broken over two lines instead.
    fig.update_xaxes(title={"text": wrap_label(value_label, 30)}, zeroline=True, zerolinecolor="#52606d", tickformat=",~r",
                     range=[lo - (pad if lo < 0 else 0.05 * pad), hi + (pad if hi > 0 else 0.05 * pad)])
    fig.update_yaxes(title=None, automargin=True, tickformat=None)
    return theme(fig, height=height or max(220, 28 * len(d) + 60))


def contribution_bars(df: pd.DataFrame, label_col: str, change_col: str, total_before: float, total_after: float, height: int = 380) -> go.Figure:
    """Each category's contribution to the change of the total, as diverging bars from zero (red up, green
    down), with the totals in the title line. A waterfall zoomed on its steps made +2 % look like a doubling;
    bars from zero show each contribution at its true size."""
    if df.empty:
        return empty_figure()
    d = df.reindex(df[change_col].abs().sort_values(ascending=True).index)
    change = d[change_col].astype("float64").to_numpy()
    total = total_after - total_before
    pct = f" ({labels.fmt_pct(total / total_before, 1)})" if total_before else ""
    fig = go.Figure(
        go.Bar(
            x=change,
            y=list(hover_texts(d[label_col])),
            orientation="h",
            marker={"color": [UP_COLOR if c > 0 else DOWN_COLOR for c in change]},
            text=[labels.fmt_signed(c) for c in change],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{y}<br>Contribution : %{x:+,.0f} faits<extra></extra>",
        )
    )
    lo, hi = float(min(change.min(), 0)), float(max(change.max(), 0))
    pad = 0.25 * max(hi - lo, 1.0)
    fig.update_xaxes(title="Contribution à l'évolution (faits)", zeroline=True, zerolinecolor="#52606d", tickformat=",~r", range=[lo - (pad if lo < 0 else 0.05 * pad), hi + (pad if hi > 0 else 0.05 * pad)])
    fig.update_yaxes(title=None, automargin=True, tickformat=None)
    title = f"Total : {labels.fmt_int(total_before)} → {labels.fmt_int(total_after)} faits, soit {labels.fmt_signed(total)}{pct}"
    return theme(fig, title=inert(title), height=height)


def weekday_hour_heatmap(df: pd.DataFrame, weekday_col: str = "weekday", hour_col: str = "hour", value_col: str = "count", height: int = 300) -> go.Figure:
    """Hour × weekday matrix (lundi at the top), every cell present even when empty."""
    if df.empty:
        return empty_figure()
    # Absent (weekday, hour) pairs are zeros; a NaN value (withheld for privacy) stays an empty cell.
    d = df.groupby([weekday_col, hour_col])[value_col].sum(min_count=1)
    grid = d.reindex(pd.MultiIndex.from_product([range(7), range(24)], names=[weekday_col, hour_col])).unstack(hour_col)
    present = df.groupby([weekday_col, hour_col]).size().reindex(grid.stack(future_stack=True).index).unstack(hour_col)
    grid = grid.where(present.notna(), 0.0)
    fig = go.Figure(
        go.Heatmap(
            z=grid.to_numpy(),
            x=list(range(24)),
            y=list(labels.WEEKDAYS),
            colorscale=SEQUENTIAL,
            colorbar={"title": {"text": "Faits"}, "thickness": 10},
            hovertemplate="%{y} %{x} h<br>Faits : %{z:,.0f}<extra></extra>",
        )
    )
    fig.update_xaxes(title="Heure", dtick=2)
    fig.update_yaxes(autorange="reversed")
    return theme(fig, height=height)


def seasonal_profile(df: pd.DataFrame, month_col: str = "month", value_col: str = "share", height: int = 280, value_label: str = "Part des faits") -> go.Figure:
    """Average share of the year's facts falling in each month."""
    if df.empty:
        return empty_figure()
    d = df.sort_values(month_col)
    fig = go.Figure(go.Bar(x=[labels.MONTHS_SHORT[int(m) - 1] for m in d[month_col]], y=d[value_col], marker={"color": CURRENT_COLOR}, hovertemplate=f"%{{x}}<br>{value_label} : %{{y:.1%}}<extra></extra>"))
    fig.update_yaxes(tickformat=".0%", title=value_label)
    return theme(fig, height=height)


def small_multiples(df: pd.DataFrame, facet_col: str, x_col: str, value_col: str, facet_labeler=None, cols: int = 3, height: int = 560, periods: pd.DataFrame | None = None) -> go.Figure:  # noqa: ANN001
    """One small line chart per arrondissement (or any facet), shared y axis so levels compare.

    Axes are laid out by hand (domains) rather than with ``make_subplots``, and the figure is built from plain
    dicts without Plotly's per-property validation: validating 18 axes, 9 traces and their annotations took
    ~80 % of the callback. ``periods`` (facet, start, end, title; end NaT = still running) shades the period
    of each action on its facet's panel.
    """
    if df.empty:
        return empty_figure()
    facets = sorted(df[facet_col].dropna().unique())
    n = len(facets)
    rows = math.ceil(n / cols)
    hgap, vgap = 0.04, 0.09
    w = (1 - hgap * (cols - 1)) / cols
    h = (1 - vgap * (rows - 1)) / rows
    groups = {k: g.sort_values(x_col) for k, g in df.groupby(facet_col, sort=False)}
    x_max = pd.to_datetime(df[x_col]).max()
    layout: dict = {}
    traces, annotations, shapes = [], [], []
    axis_of = {}
    for i, facet in enumerate(facets):
        r, c = divmod(i, cols)
        suffix = "" if i == 0 else str(i + 1)
        axis_of[facet] = suffix
        x0, y1 = c * (w + hgap), 1 - r * (h + vgap)
        last_row = i + cols >= n
        # Rounded and clipped: float error (−1e-16) would fail Plotly's [0, 1] check.
        dx = [round(max(0.0, x0), 6), round(min(1.0, x0 + w), 6)]
        dy = [round(max(0.0, y1 - h), 6), round(min(1.0, y1), 6)]
        layout[f"xaxis{suffix}"] = {"domain": dx, "anchor": f"y{suffix}", "tickformat": "%Y", "showticklabels": last_row, **({"matches": "x"} if i else {})}
        layout[f"yaxis{suffix}"] = {"domain": dy, "anchor": f"x{suffix}", "rangemode": "tozero", "showticklabels": c == 0, **({"matches": "y"} if i else {})}
        title = inert(facet_labeler(facet) if facet_labeler else str(facet))
        annotations.append({"text": title, "x": x0 + w / 2, "y": y1, "xref": "paper", "yref": "paper", "xanchor": "center", "yanchor": "bottom", "showarrow": False, "font": {"size": 12}})
        part = groups[facet]
        traces.append({"type": "scatter", "x": part[x_col].to_numpy(), "y": part[value_col].to_numpy(), "mode": "lines", "line": {"color": CURRENT_COLOR, "width": 1.6}, "showlegend": False, "name": title,
                       "xaxis": f"x{suffix}", "yaxis": f"y{suffix}", "hovertemplate": f"{title}<br>%{{x|%m/%Y}} : %{{y:{INT_FMT}}}<extra></extra>"})
    if periods is not None:
        for row in periods.itertuples():
            if row.facet not in axis_of:
                continue
            suffix = axis_of[row.facet]
            end = x_max if pd.isna(row.end) else row.end
            shapes.append({"type": "rect", "xref": f"x{suffix}", "yref": f"y{suffix} domain", "x0": pd.Timestamp(row.start), "x1": pd.Timestamp(end), "y0": 0, "y1": 1, "fillcolor": ACTION_COLOR, "opacity": 0.12, "line": {"width": 0}, "layer": "below"})
        if len(periods):
            # One legend entry explains the shading (a legend-only trace: no data point).
            traces.append({"type": "scatter", "x": [None], "y": [None], "mode": "markers", "marker": {"symbol": "square", "size": 12, "color": ACTION_COLOR, "opacity": 0.3},
                           "name": "Action du plan (période)", "showlegend": True, "hoverinfo": "skip"})
    fig = go.Figure({"data": traces, "layout": {**layout, "annotations": annotations, "shapes": shapes}}, _validate=False)
    theme(fig, height=height)
    if periods is not None and len(periods):
        # Room above the first row of panel titles for the legend of the shading (seen overlapping on screenshots).
        fig.update_layout(margin={"t": 40}, legend={"y": 1.05, "yanchor": "bottom"})
    return fig


def contributions_waterfall(df: pd.DataFrame, label_col: str, change_col: str, total_before: float, total_after: float, before_label: str, after_label: str, height: int = 380) -> go.Figure:
    """From last period's total to this one's, one step per category's change."""
    if df.empty:
        return empty_figure()
    d = df.reindex(df[change_col].abs().sort_values(ascending=False).index)
    fig = go.Figure(
        go.Waterfall(
            x=[inert(before_label)] + list(hover_texts(d[label_col])) + [inert(after_label)],
            y=[total_before] + list(d[change_col].astype("float64")) + [total_after],
            measure=["absolute"] + ["relative"] * len(d) + ["total"],
            increasing={"marker": {"color": UP_COLOR}},
            decreasing={"marker": {"color": DOWN_COLOR}},
            totals={"marker": {"color": CURRENT_COLOR}},
            connector={"line": {"color": "#c3cad2"}},
            hovertemplate="%{x}<br>%{y:+,.0f}<extra></extra>",
        )
    )
    # Zoom on the steps: from zero the changes would be invisible slivers on top of the totals.
    running = np.concatenate([[total_before], total_before + np.cumsum(d[change_col].astype("float64").to_numpy()), [total_after]])
    lo, hi = float(running.min()), float(running.max())
    pad = max(0.15 * (hi - lo), 1.0)
    fig.update_xaxes(tickangle=-35, automargin=True)
    fig.update_yaxes(title="Faits", range=[max(0.0, lo - pad), hi + pad])
    return theme(fig, height=height)


def grouped_bars(df: pd.DataFrame, x_col: str, value_col: str, group_col: str, height: int = 320, value_label: str = "Faits", x_labeler=None, group_labeler=None, barmode: str = "group") -> go.Figure:  # noqa: ANN001
    """Bars per x, one colour per group (e.g. season vs rest of year, or this year vs last)."""
    if df.empty or not pd.to_numeric(df[value_col], errors="coerce").fillna(0).astype(bool).any():
        return empty_figure("Aucun fait pour ces filtres", height=height)
    fig = go.Figure()
    for key, part in df.groupby(group_col, sort=False):
        name = inert(group_labeler(key) if group_labeler else str(key))
        xs = list(hover_texts([x_labeler(x) if x_labeler else str(x) for x in part[x_col]]))
        fig.add_trace(go.Bar(x=xs, y=part[value_col], name=name, hovertemplate=f"%{{x}}<br>{name} : %{{y:,.1f}}<extra></extra>"))
    fig.update_layout(barmode=barmode)
    fig.update_yaxes(title=value_label)
    fig.update_xaxes(automargin=True)
    return theme(fig, height=height)


def coverage_heatmap(df: pd.DataFrame, source_col: str, period_col: str, value_col: str, height: int | None = None) -> go.Figure:
    """Partners × months; a month with no data is a visible white gap marked '∅'."""
    if df.empty:
        return empty_figure()
    grid = df.pivot_table(index=source_col, columns=period_col, values=value_col, aggfunc="sum")
    grid = grid.reindex(columns=sorted(grid.columns))
    z = grid.to_numpy(dtype="float64")
    text = np.where(np.isnan(z) | (z == 0), "∅", "")
    xs = [labels.MONTHS_SHORT[p.month - 1] + " " + str(p.year) if hasattr(p, "month") else str(p) for p in grid.columns]
    ys = list(hover_texts([labels.source_label(s) for s in grid.index]))
    fig = go.Figure(
        go.Heatmap(
            z=np.where(z == 0, np.nan, z),
            x=xs,
            y=ys,
            text=text,
            texttemplate="%{text}",
            colorscale="Blues",
            hoverongaps=True,
            xgap=1,
            ygap=1,
            colorbar={"title": {"text": "Faits"}, "thickness": 10},
            hovertemplate="%{y}<br>%{x}<br>Faits : %{z:,.0f}<extra></extra>",
        )
    )
    fig.update_layout(plot_bgcolor="#ffffff")
    fig.update_xaxes(tickangle=-45, title=None)
    return theme(fig, height=height or 110 + 34 * len(ys))


def stacked_bars(df: pd.DataFrame, x_col: str, value_cols: Sequence[str], value_labels: Sequence[str], height: int = 320, x_labeler=None) -> go.Figure:  # noqa: ANN001
    """Stacked bars of several counts per x (e.g. accepted / quarantined / duplicates per file)."""
    if df.empty:
        return empty_figure()
    xs = list(hover_texts([x_labeler(x) if x_labeler else str(x) for x in df[x_col]]))
    fig = go.Figure([go.Bar(x=xs, y=df[c], name=inert(lab), hovertemplate=f"%{{x}}<br>{inert(lab)} : %{{y:,.0f}}<extra></extra>") for c, lab in zip(value_cols, value_labels)])
    fig.update_layout(barmode="stack")
    fig.update_xaxes(tickangle=-30, automargin=True)
    return theme(fig, height=height)


# Graph config -----------------------------------------------------------------------------------------------------
# Nothing may leave the machine: plotly.js 4 shows a "Share chart" button (upload to Plotly Cloud) unless told not
# to, and links to Chart Studio; every dcc.Graph of the app takes its config from here and nowhere else.
REMOTE_CONFIG_OFF = {
    "showSendToCloud": False,
    "showEditInChartStudio": False,
    "showLink": False,
    "sendData": False,
    "plotlyServerURL": "",
    "linkText": "",
    # Geo traces would fetch their world outlines from Plotly's CDN; the app draws none, and a local path keeps
    # even a future one from asking another host (the value may not be blank).
    "topojsonURL": "/assets/vendor/topojson/",
}
# The mode bar keeps only the PNG export (SVG, CSV and XLSX are the card's buttons) and the reset of a zoom.
MODEBAR_BUTTONS = [["toImage", "resetScale2d"]]


def graph_config(filename: str | None = None, *, modebar: bool = True, scale: int = 2) -> dict:
    """The one ``dcc.Graph`` config: French locale, no remote host, a minimal mode bar shown on hover only.

    ``filename`` names the PNG the mode bar downloads; ``modebar=False`` for small inline charts (side panel).
    """
    config = {
        **REMOTE_CONFIG_OFF,
        "locale": "fr",
        "displaylogo": False,
        "displayModeBar": "hover" if modebar else False,
        "modeBarButtons": MODEBAR_BUTTONS,
        "toImageButtonOptions": {"format": "png", "filename": filename or "figure", "scale": scale},
    }
    return config


def image_export_config(filename: str, scale: int = 2) -> dict:
    """Kept for the pages that call it by this name: the same config as :func:`graph_config`."""
    return graph_config(filename, scale=scale)


def figure_to_json_size(fig: go.Figure) -> int:
    """Bytes of the figure's JSON, to keep the browser payload in check."""
    return len(json.dumps(fig.to_plotly_json(), default=str))
