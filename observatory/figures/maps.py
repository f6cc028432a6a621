"""Maps of the city (MapLibre traces): choropleths, hot spots, points, densities, zones and action perimeters."""

from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from observatory import labels
from observatory.figures.map_base import _geojson_arg, _label_colors, _map_layout, _outline_trace, place_labels
from observatory.figures.style import CURRENT_COLOR, HIDDEN_COLOR, HOTSPOT_COLORS, HOTSPOT_LABELS, INT_FMT, SEQUENTIAL, ZONE_COLORS, hover_texts, inert

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
