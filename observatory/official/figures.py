"""Plotly figures of the official statistics (DataFrame → figure, house theme, no Dash import)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from observatory import figures, labels, schema
from observatory.official import model as m

CITY_COLOR = figures.CURRENT_COLOR
ARR_COLOR = figures.COLORWAY[1]
OBS_COLOR = figures.COLORWAY[2]


def _years_axis(fig: go.Figure) -> None:
    fig.update_xaxes(tickformat="d", dtick=1, title=None)


def series_figure(rows: pd.DataFrame, code: str, measure: str, unit: str, height: int = 340) -> go.Figure:
    """One indicator over the years: the territory ``code`` and, for rates of an arrondissement, Lyon beside it.

    ``rows``: official rows of one indicator for ``code`` and 69123. ``measure``: "count" or "rate".
    Non-diffused years are gaps, never zeros.
    """
    value_col = m.COUNT if measure == "count" else m.RATE
    shown = [code] if measure == "count" or code == schema.CITY_CODE else [code, schema.CITY_CODE]
    data = rows[rows[m.CODE].isin(shown)]
    if data.empty:
        return figures.empty_figure("Aucune donnée officielle pour cette sélection", height=height)
    fig = go.Figure()
    fmt = figures.INT_FMT if measure == "count" else ",.2f"
    for c in shown:
        part = data[data[m.CODE] == c].sort_values(m.YEAR)
        y = part[value_col].astype("Float64").astype(object).where(part[value_col].notna(), None)
        name = labels.arrondissement_label(c)
        fig.add_trace(
            go.Scatter(
                x=part[m.YEAR].astype(int).tolist(), y=y.tolist(), mode="lines+markers", name=name, connectgaps=False,
                line={"color": CITY_COLOR if c == schema.CITY_CODE else ARR_COLOR, "width": 3 if c == code else 2},
                hovertemplate=f"%{{x}}<br>{name} : %{{y:{fmt}}}<extra></extra>",
            )
        )
    _years_axis(fig)
    fig.update_yaxes(title=unit, rangemode="tozero")
    return figures.theme(fig, height=height)


def arrondissements_figure(rows: pd.DataFrame, measure: str, unit: str, height: int = 340) -> go.Figure:
    """The nine arrondissements in one year, with Lyon's rate as a line (rates only: counts do not compare)."""
    value_col = m.COUNT if measure == "count" else m.RATE
    arr = rows[rows[m.LEVEL] == m.LEVEL_ARRONDISSEMENT].sort_values(m.CODE)
    if arr.empty:
        return figures.empty_figure("Ce fichier ne détaille pas les arrondissements", height=height)
    names = [labels.arrondissement_label(c) for c in arr[m.CODE]]
    values = arr[value_col].astype("Float64").astype(object).where(arr[value_col].notna(), None).tolist()
    text = ["non diffusé" if v is None else "" for v in values]
    fmt = figures.INT_FMT if measure == "count" else ",.2f"
    fig = go.Figure(go.Bar(x=names, y=values, text=text, textposition="outside", marker_color=ARR_COLOR,
                           hovertemplate=f"%{{x}} : %{{y:{fmt}}}<extra></extra>", name="Arrondissements", showlegend=False))
    city = rows[rows[m.CODE] == schema.CITY_CODE]
    if measure == "rate" and len(city) and pd.notna(city[m.RATE].iloc[0]):
        rate = float(city[m.RATE].iloc[0])
        line = {"color": CITY_COLOR, "dash": "dash", "width": 2}
        fig.add_hline(y=rate, line=line)
        # Lyon's value is named in the legend above the plot, not beside the line: a label on the line sat on
        # whichever bar rose past it (« Lyon : 4,53 » over the 1er at 1024 px).
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", line=line, name=f"Lyon : {labels.fmt_number(rate, 2)}",
                                 hoverinfo="skip", showlegend=True))
    fig.update_yaxes(title=unit, rangemode="tozero")
    fig.update_xaxes(title=None)
    return figures.theme(fig, height=height)


def comparison_figure(comparison: pd.DataFrame, height: int = 320) -> go.Figure:
    """Official vs observatory counts of one indicator and territory over the years (bars side by side)."""
    if comparison.empty:
        return figures.empty_figure("Pas de catégorie de l'observatoire correspondante", height=height)
    data = comparison.sort_values(m.YEAR)
    years = data[m.YEAR].astype(int).tolist()
    fig = go.Figure()
    for col, name, color in (("official_count", "SSMSI (officiel)", CITY_COLOR), ("observatory_count", "Observatoire", OBS_COLOR)):
        values = data[col].astype("Float64").astype(object).where(data[col].notna(), None).tolist()
        fig.add_trace(go.Bar(x=years, y=values, name=name, marker_color=color, hovertemplate=f"%{{x}}<br>{name} : %{{y:,.0f}}<extra></extra>"))
    fig.update_layout(barmode="group")
    _years_axis(fig)
    fig.update_yaxes(title="Faits", rangemode="tozero")
    return figures.theme(fig, height=height)
