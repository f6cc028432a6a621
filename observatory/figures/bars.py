"""Bar charts of changes and breakdowns: change per item, contributions to a total's change, waterfall,
grouped and stacked bars."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from observatory import labels
from observatory.figures.style import CURRENT_COLOR, DOWN_COLOR, NEUTRAL_COLOR, UP_COLOR, empty_figure, hover_texts, inert, theme, wrap_label

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


def stacked_bars(df: pd.DataFrame, x_col: str, value_cols: Sequence[str], value_labels: Sequence[str], height: int = 320, x_labeler=None) -> go.Figure:  # noqa: ANN001
    """Stacked bars of several counts per x (e.g. accepted / quarantined / duplicates per file)."""
    if df.empty:
        return empty_figure()
    xs = list(hover_texts([x_labeler(x) if x_labeler else str(x) for x in df[x_col]]))
    fig = go.Figure([go.Bar(x=xs, y=df[c], name=inert(lab), hovertemplate=f"%{{x}}<br>{inert(lab)} : %{{y:,.0f}}<extra></extra>") for c, lab in zip(value_cols, value_labels)])
    fig.update_layout(barmode="stack")
    fig.update_xaxes(tickangle=-30, automargin=True)
    return theme(fig, height=height)
