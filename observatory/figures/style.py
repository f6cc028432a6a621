"""The house look of every figure: palette, template, theme, the empty figure and inert (escaped) labels."""

from __future__ import annotations

import math
from functools import lru_cache

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
