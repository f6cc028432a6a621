"""Figures over time: yearly overlays with the actions marked, time series, small multiples, week × hour and
seasonal profiles, and the partners' monthly coverage."""

from __future__ import annotations

import math
from typing import Iterable

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from observatory import labels
from observatory.figures.style import CURRENT_COLOR, INT_FMT, PREVIOUS_COLORS, SEQUENTIAL, empty_figure, hover_texts, inert, theme

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
