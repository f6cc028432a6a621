"""Survey estimates → Plotly figures, in the house theme. Intervals are always drawn, never hidden.

No Dash import: the « Sentiment d'insécurité » page and the diagnostic share these.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from observatory import figures, labels
from observatory.survey import tables

QPV_COLOR = figures.ZONE_COLORS["qpv"]
CITY_COLOR = figures.CURRENT_COLOR
REST_COLOR = figures.NEUTRAL_COLOR


def _scale(kind: str) -> float:
    return 100.0 if kind == "proportion" else 1.0


def _unit(kind: str) -> str:
    return "%" if kind == "proportion" else ""


def _estimate_texts(rows: pd.DataFrame, kind: str, plain: bool, reasons: bool = False) -> list[str]:
    """« 22,9 % (IC 95 % : 20,8 – 25,1) » per row; for an élu (``plain``) « 22,9 % (entre 20,8 et 25,1) »."""
    say = labels.plain_text if plain else str
    why = rows["reason"] if reasons else [""] * len(rows)
    return [say(tables.estimate_text(v, lo, hi, kind, r)) for v, lo, hi, r in zip(rows["value"], rows["low"], rows["high"], why)]


def territory_bars(rows: pd.DataFrame, kind: str, height: int = 420, plain: bool = False) -> go.Figure:
    """One horizontal bar per territory with its 95 % interval; unpublished territories listed, without a bar.
    ``plain``: the texts an élu reads (the interval in words, no « IC »)."""
    if rows.empty:
        return figures.empty_figure("Aucune estimation pour cet indicateur")
    k = _scale(kind)
    rows = rows.iloc[::-1]
    shown = rows["value"].notna()
    colors = np.where(rows["territory"] == tables.QPV, QPV_COLOR, np.where(rows["territory"] == tables.CITY, CITY_COLOR, "#56B4E9"))
    text = [t if ok else f"{tables.INSUFFICIENT} ({labels.fmt_int(n)} répondants)"
            for t, n, ok in zip(_estimate_texts(rows, kind, plain), rows["n"], shown)]
    fig = go.Figure(go.Bar(
        y=rows["territory_label"], x=(rows["value"] * k).where(shown, 0), orientation="h", marker_color=colors,
        error_x={"type": "data", "symmetric": False, "array": ((rows["high"] - rows["value"]) * k).where(shown, 0),
                 "arrayminus": ((rows["value"] - rows["low"]) * k).where(shown, 0), "color": "#333", "thickness": 1.2, "width": 4},
        customdata=np.column_stack([text, rows["n"].map(labels.fmt_int)]),
        hovertemplate="<b>%{y}</b><br>%{customdata[0]}<br>%{customdata[1]} répondants<extra></extra>",
        text=[t if not ok else "" for t, ok in zip(text, shown)], textposition="outside",
    ))
    # Over two lines: on one, the title was cut at both edges of the half-width card at 1024 px.
    margin = "avec sa marge d'erreur" if plain else "intervalle de confiance à 95 %"
    title = figures.wrap_label(f"Estimation pondérée{' (%)' if kind == 'proportion' else ''}, {margin}", 32)
    fig.update_xaxes(title_text=title, rangemode="tozero", separatethousands=True)
    return figures.theme(fig, height=height)


def wave_lines(rows: pd.DataFrame, kind: str, height: int = 340, plain: bool = False) -> go.Figure:
    """The city, the QPV and the rest of the city across waves, each point with its interval."""
    rows = rows[rows["territory"].isin([tables.CITY, tables.QPV, tables.OUTSIDE_QPV])]
    if rows.empty:
        return figures.empty_figure("Aucune estimation pour cet indicateur")
    k = _scale(kind)
    fig = go.Figure()
    for code, color in ((tables.CITY, CITY_COLOR), (tables.QPV, QPV_COLOR), (tables.OUTSIDE_QPV, REST_COLOR)):
        part = rows[(rows["territory"] == code) & rows["value"].notna()].sort_values("wave")
        if part.empty:
            continue
        fig.add_trace(go.Scatter(
            x=part["wave"].astype(str), y=part["value"] * k, mode="lines+markers", name=tables.territory_label(code),
            line={"color": color, "width": 2.5 if code == tables.CITY else 2},
            error_y={"type": "data", "symmetric": False, "array": (part["high"] - part["value"]) * k,
                     "arrayminus": (part["value"] - part["low"]) * k, "color": color, "thickness": 1.2, "width": 5},
            customdata=_estimate_texts(part, kind, plain),
            hovertemplate="<b>%{fullData.name}</b>, vague %{x}<br>%{customdata}<extra></extra>",
        ))
    fig.update_xaxes(title_text="Vague d'enquête", type="category")
    fig.update_yaxes(title_text=f"Estimation{' (%)' if kind == 'proportion' else ''}", rangemode="tozero")
    fig.update_layout(legend={"orientation": "h", "y": -0.25})
    return figures.theme(fig, height=height)


# Pixel offsets of the labels of the two narrowest arrondissements (see arrondissement_map).
LABEL_OFFSETS = {"69381": (62, -6), "69382": (-62, 30)}


def arrondissement_map(rows: pd.DataFrame, geojson: dict, kind: str, height: int = 440, plain: bool = False) -> go.Figure:
    """Arrondissements coloured by the estimate, each labelled with its estimate and interval (shown, not hidden).

    Drawn as filled polygons on plain axes (equal scale, cos(latitude) corrected) rather than a tiled or geo map:
    text labels then need neither map glyphs nor a base-map file from a server, so the map works offline and
    prints as it shows.
    """
    from plotly.colors import sample_colorscale

    arr = rows[rows["territory"].str.fullmatch(r"6938\d")].copy()
    if arr.empty:
        return figures.empty_figure("Pas d'estimation par arrondissement dans cette enquête")
    k = _scale(kind)
    arr["label"] = _estimate_texts(arr, kind, plain, reasons=True)
    by_id = arr.set_index("territory")
    shown = arr["value"].dropna() * k
    lo_v, hi_v = (float(shown.min()), float(shown.max())) if len(shown) else (0.0, 1.0)
    span = hi_v - lo_v or 1.0
    fig = go.Figure()
    for feature in geojson.get("features", []):
        code = str(feature.get("id"))
        if code not in by_id.index:
            continue
        r = by_id.loc[code]
        value = r["value"] * k
        color = sample_colorscale(figures.SEQUENTIAL, [(value - lo_v) / span])[0] if np.isfinite(value) else figures.HIDDEN_COLOR
        for ring in _outer_rings(feature.get("geometry") or {}):
            pts = np.asarray(ring, dtype=float)
            fig.add_trace(go.Scatter(
                x=pts[:, 0], y=pts[:, 1], mode="lines", fill="toself", fillcolor=color, line={"color": "#ffffff", "width": 1.2},
                hoveron="fills", hoverinfo="text", text=f"<b>{r['territory_label']}</b><br>{r['label']}<br>{labels.fmt_int(r['n'])} répondants",
                showlegend=False,
            ))
    centres = _centres(geojson)
    placed = arr.merge(centres, left_on="territory", right_on="id", how="inner")
    short = [
        (f"<b>{labels.arrondissement_label(c).replace('Lyon ', '')}</b> {labels.fmt_number(v * k, 0)}{_unit(kind)}<br>"
         f"({labels.fmt_number(lo * k, 0)}–{labels.fmt_number(hi * k, 0)})") if np.isfinite(v) else
        f"<b>{labels.arrondissement_label(c).replace('Lyon ', '')}</b> n. p."
        for c, v, lo, hi in zip(placed["territory"], placed["value"], placed["low"], placed["high"])
    ]
    # Labels are annotations on a pale box (readable on the darkest fill). The 1er and the 2e are too narrow for
    # their two-line labels, which sat on each other: theirs stand aside (east across the Rhône for the 1er, west
    # over the Saône for the 2e), tied to their district by a short leader line.
    for (code, lon, lat), text in zip(placed[["territory", "lon", "lat"]].itertuples(index=False), short):
        ax, ay = LABEL_OFFSETS.get(code, (0, 0))
        fig.add_annotation(x=lon, y=lat, text=text, showarrow=bool(ax or ay), ax=ax, ay=ay, arrowhead=0, arrowwidth=1,
                           arrowcolor="#52606d", font={"size": 11, "color": "#111"}, bgcolor="rgba(255,255,255,0.78)", borderpad=1)
    # A colour bar for the fill colours (an invisible marker trace carries it).
    fig.add_trace(go.Scatter(
        x=[None], y=[None], mode="markers", showlegend=False, hoverinfo="skip",
        marker={"colorscale": figures.SEQUENTIAL, "cmin": lo_v, "cmax": hi_v, "color": [lo_v], "showscale": True,
                "colorbar": {"title": {"text": f"Estimation{' (%)' if kind == 'proportion' else ''}", "side": "right"}, "thickness": 12, "len": 0.7}},
    ))
    lat0 = float(placed["lat"].mean()) if len(placed) else 45.76
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x", scaleratio=1 / np.cos(np.radians(lat0)))
    fig.update_layout(margin={"l": 0, "r": 0, "t": 10, "b": 0}, hovermode="closest")
    fig = figures.theme(fig, height=height)
    fig.update_layout(plot_bgcolor="#ffffff")
    return fig


def _outer_rings(geom: dict) -> list:
    coords = geom.get("coordinates") or []
    if geom.get("type") == "Polygon":
        return [coords[0]] if coords else []
    if geom.get("type") == "MultiPolygon":
        return [poly[0] for poly in coords if poly]
    return []


def _centres(geojson: dict) -> pd.DataFrame:
    """A representative point per feature (mean of its outer ring's vertices: enough for a label in a compact district)."""
    rows = []
    for feature in geojson.get("features", []):
        rings = _outer_rings(feature.get("geometry") or {})
        if not rings:
            continue
        ring = max(rings, key=len)
        pts = np.asarray(ring, dtype=float)
        rows.append({"id": str(feature.get("id")), "lon": float(pts[:, 0].mean()), "lat": float(pts[:, 1].mean())})
    return pd.DataFrame(rows, columns=["id", "lon", "lat"])
