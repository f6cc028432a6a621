"""Figures of the Plan d'actions page: the calendar, the perimeters map and the monthly series of an action."""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from observatory import figures, labels
from observatory.actions import STATUS_LABELS, TYPE_LABELS


def timeline_figure(reg: pd.DataFrame, group: str, data_end: date | None, selected: str | None) -> go.Figure:
    """Gantt-like chart: one bar per action, grouped by arrondissement or zone; open actions run to the data's end."""
    if reg.empty:
        return figures.empty_figure("Aucune action dans le registre")
    today = data_end or date.today()
    df = reg.assign(
        debut=pd.to_datetime(reg["start"]),
        fin=pd.to_datetime([e if e is not None else max(today, s) for s, e in zip(reg["start"], reg["end"])]),
        groupe=[
            (labels.arrondissement_label(a) if group == "arrondissement" else (z or "périmètre propre"))
            for a, z in zip(reg["arrondissement"], reg["zone_id"])
        ],
        type_label=reg["type"].map(TYPE_LABELS),
        statut=reg["status"].map(STATUS_LABELS),
        libelle=figures.hover_texts(reg["action_id"] + " — " + reg["title"]),
        periode=[f"{labels.fmt_date(s)} → {labels.fmt_date(e) if e else 'en cours'}" for s, e in zip(reg["start"], reg["end"])],
    )
    # One row per action, rows of a group together: two actions of the same arrondissement drawn on one row hid
    # each other. Groups are ordered by their first action, actions by start.
    df = df.assign(ligne=[f"{g} · {figures.inert(a)}" for g, a in zip(df["groupe"], df["action_id"])])
    first = df.groupby("groupe")["debut"].transform("min")
    order = df.assign(_first=first).sort_values(["_first", "groupe", "debut", "action_id"])["ligne"].tolist()
    # The bars px.timeline draws (one horizontal bar trace per type, base = start, length in ms, its colours and
    # hover), built as plain dicts: px and Plotly's per-property validation cost ~90 ms for four bars.
    prefix = f"{figures.inert(selected)} — " if selected else None
    colors = px.colors.qualitative.Plotly
    traces = []
    for i, (kind, part) in enumerate(df.groupby("type_label", sort=False)):
        marker = {"color": colors[i % len(colors)], "pattern": {"shape": ""}}
        if prefix:
            # The selected action's bar gets a dark outline: the calendar, the map and the series then read together.
            marker["line"] = {"color": "#1f2933", "width": [2.5 if str(h).startswith(prefix) else 0 for h in part["libelle"]]}
        traces.append({
            "type": "bar", "orientation": "h", "name": kind, "legendgroup": kind, "showlegend": True, "textposition": "auto",
            "base": [d.isoformat() for d in part["debut"]],
            "x": [int((f - d) / pd.Timedelta(milliseconds=1)) for d, f in zip(part["debut"], part["fin"])],
            "y": list(part["ligne"]), "hovertext": list(part["libelle"]),
            "customdata": [[p, st, kind] for p, st in zip(part["periode"], part["statut"])],
            "hovertemplate": "<b>%{hovertext}</b><br><br>Période=%{customdata[0]}<br>Statut=%{customdata[1]}<extra></extra>",
            "marker": marker, "xaxis": "x", "yaxis": "y",
        })
    layout = {
        "xaxis": {"anchor": "y", "domain": [0.0, 1.0], "type": "date"},
        # Categories listed bottom-up: the first action of `order` is drawn at the top (as px did).
        "yaxis": {"anchor": "x", "domain": [0.0, 1.0], "title": {"text": ""}, "categoryorder": "array", "categoryarray": order[::-1]},
        "legend": {"tracegroupgap": 0}, "barmode": "overlay",
    }
    fig = go.Figure({"data": traces, "layout": layout}, _validate=False)
    return figures.theme(fig, height=max(MAP_HEIGHT, 60 + 28 * len(df)))


# Assumed size of the map figure when fitting a view: the map card is ~540 px wide at 1400 px (5/12 of the row) and
# full width below the lg breakpoint, so fitting into 460 × 340 px keeps the view inside the real figure.
MAP_HEIGHT = 380
FIT_WIDTH_PX, FIT_HEIGHT_PX = 460, 340
MAX_ZOOM = 16.0
ARR_LINE = "#7b8794"
SELECTED_COLOR = "rgba(214,69,65,0.55)"
OTHER_COLOR = "rgba(82,96,109,0.22)"


def fit_view(bounds: tuple[float, float, float, float], width_px: float = FIT_WIDTH_PX, height_px: float = FIT_HEIGHT_PX, max_zoom: float = MAX_ZOOM) -> tuple[dict, float]:
    """(center, zoom) of a MapLibre view showing ``bounds`` (west, south, east, north, degrees) in a box of pixels.

    Plotly's ``map`` subplot has no fitbounds: at zoom z MapLibre draws the world 512·2^z px wide in Web
    Mercator, so the zoom is the largest one where both the longitude span and the Mercator-y span fit.
    """
    west, south, east, north = bounds

    def merc(lat: float) -> float:
        return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))

    x_frac = max(east - west, 1e-9) / 360
    y_frac = max(merc(north) - merc(south), 1e-9) / (2 * math.pi)
    zoom = min(math.log2(width_px / (512 * x_frac)), math.log2(height_px / (512 * y_frac)), max_zoom)
    mid_y = (merc(north) + merc(south)) / 2
    center = {"lon": round((west + east) / 2, 5), "lat": round(math.degrees(2 * math.atan(math.exp(mid_y)) - math.pi / 2), 5)}
    return center, round(zoom, 2)


def map_figure(layer, selected: str | None, style: str, arrondissements=None, arrondissement_names: dict | None = None, city_bounds: tuple | None = None) -> go.Figure:  # noqa: ANN001 - GeoDataFrame, GeoJSON dict | figures.GeoRef
    """Action perimeters over the arrondissement outlines on a MapLibre map.

    The selected action is filled in colour and named in the legend (MapLibre text labels would need a glyph
    server, i.e. a request off the machine with the offline "white-bg" style), the others are grey. The view
    fits the selected perimeter with a margin, or the city (``city_bounds``) when nothing is selected.
    """
    # Traces given as dicts to a figure that skips Plotly's per-property validation (~30 ms of the callback).
    fig = go.Figure(_validate=False)
    if arrondissements is not None:
        ids = list(arrondissements.ids) if isinstance(arrondissements, figures.GeoRef) else [f["id"] for f in arrondissements["features"]]
        names = arrondissement_names or {}
        fig.add_trace(
            dict(
                type="choroplethmap",
                geojson=arrondissements.url if isinstance(arrondissements, figures.GeoRef) else arrondissements,
                locations=ids,
                z=[0] * len(ids),
                featureidkey="id",
                colorscale=[[0, "rgba(0,0,0,0)"], [1, "rgba(0,0,0,0)"]],
                showscale=False,
                marker={"line": {"color": ARR_LINE, "width": 1.2}},
                text=figures.hover_texts([names.get(i, labels.arrondissement_label(i)) for i in ids]),
                hovertemplate="%{text}<extra></extra>",
                name="Arrondissements",
                showlegend=True,
            )
        )
    if layer.empty:
        if not fig.data:
            return figures.empty_figure("Aucun périmètre")
    else:
        geojson = figures.to_geojson(layer, "action_id", decimals=5)
        names = pd.Series(figures.hover_texts(layer["action_id"] + " — " + layer["title"]), index=layer.index)
        where = [f" ({labels.arrondissement_label(a)})" if isinstance(a, str) and a else "" for a in layer["arrondissement"]]
        legend_names = names + pd.Series(figures.hover_texts(where), index=layer.index)
        # action_id is a string column: comparing it with None gives <NA>, never False.
        is_sel = (layer["action_id"] == selected).fillna(False).astype(bool) if selected else pd.Series(False, index=layer.index)
        # Others first so the selected perimeter is drawn on top where perimeters overlap.
        for part, color, name, legend in (
            (layer[~is_sel], OTHER_COLOR, "Autres actions", True),
            (layer[is_sel], SELECTED_COLOR, legend_names[is_sel].iloc[0] if is_sel.any() else "", True),
        ):
            if part.empty:
                continue
            fig.add_trace(
                dict(
                    type="choroplethmap",
                    geojson=geojson,
                    locations=part["action_id"].tolist(),
                    z=[1] * len(part),
                    featureidkey="id",
                    colorscale=[[0, color], [1, color]],
                    showscale=False,
                    marker={"line": {"width": 1.5, "color": "#333"}},
                    text=names[part.index].tolist(),
                    hovertemplate="%{text}<extra></extra>",
                    name=name,
                    showlegend=legend,
                )
            )
    bounds = city_bounds
    if selected and not layer.empty and (layer["action_id"] == selected).fillna(False).any():
        from observatory.actions.perimeters import focus_bounds

        bounds = focus_bounds(layer.loc[(layer["action_id"] == selected).fillna(False)].geometry.iloc[0])
    elif bounds is None and not layer.empty:
        bounds = tuple(layer.total_bounds)
    center, zoom = fit_view(bounds) if bounds is not None else (dict(figures.LYON_CENTER), 11.3)
    figures.theme(fig, height=MAP_HEIGHT)
    fig.update_layout(
        map={"style": style, "center": center, "zoom": zoom},
        margin={"l": 0, "r": 0, "t": 0, "b": 0},
        legend={"orientation": "v", "yanchor": "bottom", "y": 0.01, "x": 0.01, "xanchor": "left", "bgcolor": "rgba(255,255,255,0.85)", "font": {"size": 12}},
        uirevision=selected or "city",  # a new selection re-fits the view; a filter refresh keeps the user's pan
    )
    return fig


def series_figure(series: pd.DataFrame, start: date, end: date | None) -> go.Figure:
    """Monthly lines for the perimeter and its buffer, with the action's start and end as dashed verticals."""
    if series.empty:
        return figures.empty_figure("Pas de données pour cette action")
    names = {"perimetre": "Périmètre de l'action", "zone_tampon": "Zone tampon (300 m)"}
    fig = go.Figure(_validate=False)  # dict traces, no per-property validation (a third of the callback's time)
    for area, part in series.groupby("area", sort=False):
        fig.add_trace({"type": "scatter", "x": part["month"].to_numpy(), "y": part["count"].to_numpy(), "mode": "lines+markers", "name": names.get(area, area),
                       "hovertemplate": "%{x|%m/%Y} : %{y} faits<extra></extra>"})
    first, last = pd.Timestamp(series["month"].min()), pd.Timestamp(series["month"].max())
    span = max((last - first).days, 1)
    for when, text in ((start, "début"), (end, "fin")):
        if when is None:
            continue
        x = pd.Timestamp(when)
        # add_vline's annotation does not handle datetime axes: draw the line and its label separately. The label
        # sits inside the plot, under the legend (which the theme puts just above the plot): "début" on the left
        # of its line, "fin" on the right, so that a short action's two labels never cover each other; a label
        # near an edge of the axis flips side rather than being cut.
        share = (x - first).days / span
        left = share > 0.85 if text == "fin" else share > 0.15
        fig.add_shape(type="line", x0=x, x1=x, y0=0, y1=1, yref="paper", line={"dash": "dash", "color": "#d64541"})
        fig.add_annotation(
            x=x, y=1, yref="paper", text=f"{text} {labels.fmt_date(when)}", showarrow=False, yanchor="top",
            xanchor="right" if left else "left", xshift=-4 if left else 4, font={"size": 11, "color": "#a4302c"},
            bgcolor="rgba(255,255,255,0.85)",
        )
    fig.update_yaxes(title_text="Faits par mois", rangemode="tozero")
    if series["count"].max(skipna=True) <= 6:
        fig.update_yaxes(tick0=0, dtick=1)  # counts: no "0,5 fait" tick on a quiet perimeter
    return figures.theme(fig, height=340)
