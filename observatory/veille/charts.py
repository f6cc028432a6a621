"""Plotly figure of one watched series: observed weekly counts against the expected band (no Dash import)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from observatory.veille.model import iso_week


def alert_figure(series: pd.DataFrame, title: str = "", height: int = 220) -> go.Figure:
    """``series``: rows of ``model.assess`` for one (unit, family), in week order."""
    s = series.sort_values("week")
    x = [iso_week(w) for w in s["week"]]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=x, y=s["upper"], mode="lines", line={"width": 0}, showlegend=False, hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=x, y=s["lower"], mode="lines", line={"width": 0}, fill="tonexty",
                             fillcolor="rgba(100,130,180,0.25)", name="Intervalle attendu", hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=x, y=s["expected"], mode="lines", line={"color": "#4a6fa5", "dash": "dash"}, name="Attendu",
                             hovertemplate="%{x} : attendu %{y:.1f}<extra></extra>"))
    colors = ["#c0392b" if a else "#333333" for a in s["alert"]]
    fig.add_trace(go.Scatter(x=x, y=s["count"], mode="lines+markers", marker={"color": colors, "size": 7},
                             line={"color": "#333333"}, name="Observé", hovertemplate="%{x} : %{y} faits<extra></extra>"))
    fig.update_layout(title={"text": title, "font": {"size": 13}}, height=height, margin={"l": 40, "r": 10, "t": 30 if title else 10, "b": 40},
                      legend={"orientation": "h", "y": -0.35, "font": {"size": 10}}, separators=", ",
                      plot_bgcolor="white", xaxis={"tickfont": {"size": 9}}, yaxis={"rangemode": "tozero", "gridcolor": "#eee"})
    return fig
