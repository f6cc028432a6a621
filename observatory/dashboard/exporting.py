"""CSV / XLSX / GeoJSON exports of what a card shows, with the current filters in the content and the name.

A page declares, next to its callback, how to rebuild the table behind a card::

    @exportable(ids.TR_MONTHLY, "Faits par mois")
    def _monthly_table(an, filters):
        return ExportTable(an.monthly_series(filters), value_cols=("count",))

One generic callback (installed by ``create_app``) answers every export button: it rebuilds the table with the
filters of the URL, passes it through ``analytics.privacy.protect`` for anyone who is not an analyst, and hands
it to ``observatory.reports.exports``. The registry maps ids to functions, filled at import time only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable

import pandas as pd
from dash import ALL, MATCH, Input, Output, State, ctx, dcc, no_update

from observatory import labels
from observatory.dashboard import ids
from observatory.reports.exports import ExportMeta, slug, to_csv_bytes, to_xlsx_bytes


@dataclass(frozen=True)
class ExportTable:
    df: pd.DataFrame
    value_cols: tuple[str, ...] = ("count",)
    geojson: dict | None = None  # aggregated map layer, for the GeoJSON button
    title: str = ""
    extra_note: str = ""
    columns: dict = field(default_factory=dict)  # code column -> French header in the file


_BUILDERS: dict[str, tuple[str, Callable]] = {}


def exportable(target: str, title: str) -> Callable:
    """Register ``fn(analytics, filters) -> ExportTable`` as the data behind the card ``target``."""

    def deco(fn: Callable) -> Callable:
        _BUILDERS[target] = (title, fn)
        return fn

    return deco


def registered() -> dict[str, str]:
    """Target id -> title of every exportable card (for tests and the benchmark)."""
    return {k: v[0] for k, v in _BUILDERS.items()}


def describe_filters(filters) -> str:  # noqa: ANN001 - analytics Filters
    """The filters in French, for the file's metadata."""
    from observatory.dashboard.components import period_text

    parts = [f"période {period_text(filters.start, filters.end)}"]
    if filters.families:
        parts.append("familles : " + ", ".join(labels.family_label(f) for f in filters.families))
    if filters.categories:
        parts.append("catégories : " + ", ".join(labels.category_label(c) for c in filters.categories))
    if filters.sources:
        parts.append("partenaires : " + ", ".join(labels.source_label(s) for s in filters.sources))
    if filters.arrondissements:
        parts.append("arrondissements : " + ", ".join(labels.arrondissement_label(a) for a in filters.arrondissements))
    if filters.zones:
        parts.append("zones : " + ", ".join(filters.zones))
    if filters.hours:
        parts.append(f"heures : {min(filters.hours)} h – {max(filters.hours)} h")
    if filters.weekdays:
        parts.append("jours : " + ", ".join(labels.WEEKDAYS[d] for d in filters.weekdays))
    return " ; ".join(parts)


def file_stem(title: str, filters) -> str:  # noqa: ANN001
    """'faits-par-mois_2024-01-01_2024-12-31_vols' — the view in the file name."""
    q = filters.to_query()
    bits = [title]
    if "start" in q or "end" in q:
        bits.append(f"{q.get('start', 'debut')}_{q.get('end', 'fin')}")
    for key in ("families", "categories", "sources", "arrondissements", "zones"):
        if key in q:
            bits.append(q[key])
    return slug("_".join(bits))[:120]


def _call_builder(fn: Callable, an, filters, options: dict):  # noqa: ANN001, ANN202
    """Builders that take ``options`` (the page options of the address: layer, comparison…) get them."""
    import inspect

    if "options" in inspect.signature(fn).parameters:
        return fn(an, filters, options=options)
    return fn(an, filters)


def build_export(target: str, fmt: str, query: dict, analyst: bool, options: dict | None = None):  # noqa: ANN201 - dcc.send_bytes dict or None
    """The download payload for one button; None when the target is unknown or the format not offered.

    ``options``: the address's query (the page options beside the filters, e.g. ``couche=grid`` on the Carte),
    so that a file holds what the page shows.
    """
    from observatory.analytics.filters import Filters
    from observatory.dashboard.components import analytics, settings

    if target not in _BUILDERS:
        return None
    title, fn = _BUILDERS[target]
    filters = Filters.from_query(query or {})
    an = analytics()
    table: ExportTable = _call_builder(fn, an, filters, {k: v for k, v in (options or {}).items() if isinstance(v, str)})
    df = table.df
    protected = not analyst
    if protected:
        from observatory.analytics.privacy import protect

        df = protect(df, list(c for c in table.value_cols if c in df.columns), settings().min_count)
    if table.columns:
        df = df.rename(columns=table.columns)
    meta = ExportMeta(
        title=table.title or title,
        source=f"Observatoire de la délinquance et de la sécurité de Lyon{' ; ' + table.extra_note if table.extra_note else ''}",
        filters=describe_filters(filters),
        snapshot_id=an.snapshot_id,
        privacy=f"comptes de 1 à {settings().min_count - 1} masqués" if protected else "",
        protected=protected,
    )
    stem = file_stem(table.title or title, filters)
    if fmt == "csv":
        return dcc.send_bytes(to_csv_bytes(df, meta), f"{stem}.csv")
    if fmt == "xlsx":
        return dcc.send_bytes(to_xlsx_bytes(df, meta), f"{stem}.xlsx")
    if fmt == "geojson" and table.geojson is not None:
        collection = dict(table.geojson)
        collection["metadata"] = dict(meta.rows())
        return dcc.send_string(json.dumps(collection, ensure_ascii=False), f"{stem}.geojson")
    return None


def install(app) -> None:  # noqa: ANN001 - dash.Dash
    """The callbacks behind every export button of every page.

    A click is first seen in the browser, which records the format and the address's query (page options such
    as the map layer live there, written by the pages) in the card's ``export-req`` store; the server callback
    then builds the file from the filters and those options. The SVG button asks Plotly, in the browser, for
    the figure as drawn.
    """
    app.clientside_callback(
        """
        function(clicks) {
            const ctx = window.dash_clientside.callback_context;
            if (!ctx.triggered.length || !(clicks || []).some(Boolean)) { return window.dash_clientside.no_update; }
            const prop = ctx.triggered[0].prop_id;
            const id = JSON.parse(prop.slice(0, prop.lastIndexOf(".")));
            const options = Object.fromEntries(new URLSearchParams(window.location.search));
            return {fmt: id.fmt, options: options, at: Date.now()};
        }
        """,
        Output(ids.export_request(MATCH), "data"),
        Input(ids.export_button(MATCH, ALL), "n_clicks"),
        prevent_initial_call=True,
    )

    @app.callback(
        Output(ids.export_download(MATCH), "data"),
        Input(ids.export_request(MATCH), "data"),
        State(ids.FILTERS, "data"),
        prevent_initial_call=True,
    )
    def _export(request, query):  # noqa: ANN001, ANN202
        trig = ctx.triggered_id
        if not trig or not request or not request.get("fmt"):
            return no_update
        from observatory.dashboard.components import is_analyst

        payload = build_export(trig["target"], str(request["fmt"]), query or {}, is_analyst(), request.get("options") or {})
        return payload if payload is not None else no_update

    app.clientside_callback(
        """
        function(n, id) {
            if (!n || !window.Plotly) { return window.dash_clientside.no_update; }
            const button = document.getElementById(JSON.stringify({target: id.target, type: id.type}));
            const card = button && button.closest(".card");
            const plot = card && card.querySelector(".js-plotly-plot");
            if (!plot) { return window.dash_clientside.no_update; }
            const day = new Date().toISOString().slice(0, 10);
            window.Plotly.downloadImage(plot, {format: "svg", filename: id.target + "_" + day});
            return window.dash_clientside.no_update;
        }
        """,
        Output(ids.export_svg(MATCH), "className"),
        Input(ids.export_svg(MATCH), "n_clicks"),
        State(ids.export_svg(MATCH), "id"),
        prevent_initial_call=True,
    )
