"""What every map is drawn on: compact GeoJSON, the offline MapLibre style and its river layer, place names,
outline layers and the map layout."""

from __future__ import annotations

import json
import math
from functools import lru_cache
from typing import NamedTuple, Sequence

import pandas as pd
import plotly.graph_objects as go

from observatory.figures.style import LYON_CENTER, hover_texts, theme

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
