"""The side panel opened by a click on an arrondissement, a zone or a grid cell of any map.

Maps that open it give their ``dcc.Graph`` the id :func:`clickable` and put the kind of the clicked feature
("arrondissement", "zone", "cell") in the last ``customdata`` column (the figure builders do). The panel shows
the selection's counts, its change against last year with significance, its monthly trend, top categories and
its hour × weekday profile, all under the current filters.
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
import pandas as pd
from dash import ALL, Input, Output, State, ctx, dcc, html, no_update

from observatory import figures, labels
from observatory.dashboard import components, ids, shaping


def clickable(page: str) -> dict:
    """Id of a map graph whose clicks open the panel."""
    return {"type": "clickable-map", "page": page}


def panel() -> dbc.Offcanvas:
    return dbc.Offcanvas(
        html.Div(id=ids.PANEL_BODY),
        id=ids.PANEL,
        title=html.Span(id=ids.PANEL_TITLE),
        placement="end",
        is_open=False,
        scrollable=True,
        backdrop=False,
        style={"width": "min(480px, 95vw)"},
    )


def selection_filters(filters, kind: str, key: str):  # noqa: ANN001, ANN201
    """The current filters narrowed to the clicked arrondissement or zone (cells are selected by group)."""
    if kind == "arrondissement":
        return filters.replace(arrondissements=(key,))
    if kind == "zone":
        return filters.replace(zones=(key,))
    return filters


def selection_title(an, kind: str, key: str) -> str:  # noqa: ANN001
    if kind == "arrondissement":
        return labels.arrondissement_label(key)
    if kind == "zone":
        z = an.territory.zones
        match = z[z["zone_id"] == key]
        return f"{match['name'].iloc[0]} ({labels.ZONE_KIND_LABELS.get(match['kind'].iloc[0], '')})" if len(match) else key
    from observatory.dashboard import geo

    # The cell's place (IRIS or sector and arrondissement), as the maps and tables name it; its id stays in exports.
    return f"{geo.cell_names(an.settings, pd.Series([key])).iloc[0]} (maille de {an.settings.grid_size_m} m)"


def _pick(df: pd.DataFrame, col: str, key: str) -> pd.DataFrame:
    return df[df[col].astype(str) == key].drop(columns=[col])


CMP_DERIVED = ("diff", "pct_change", "p_value", "p_adjusted", "z", "significant", "unreliable", "phi")


def published_text(an, filters, kind: str, key: str, by_category: pd.DataFrame) -> str:  # noqa: ANN001
    """For an analyst, the figure the publications print for this arrondissement or zone when it differs from
    the one shown (sensitive categories left out; zones: located points only), so both totals are in view."""
    if not components.is_analyst() or kind not in ("arrondissement", "zone") or by_category.empty:
        return ""
    from observatory import schema
    from observatory.analytics.indicators import published_filters

    if kind == "arrondissement":
        published = int(by_category.loc[~by_category["category"].isin(schema.sensitive_categories()), "count"].sum())
    else:
        z = an.rates_by_zone(published_filters(filters))
        published = int(z.loc[z["zone_id"] == key, "count"].sum())
    if published == int(by_category["count"].sum()):
        return ""
    what = "hors violences sexuelles et intrafamiliales" + (", points localisés dans la zone" if kind == "zone" else "")
    return f"chiffre publié (bilan, exports) : {labels.fmt_int(published)} ({what})"


def panel_content(an, filters, kind: str, key: str) -> list:  # noqa: ANN001
    """Body of the panel: analytics calls, then figures; cells are picked out of per-cell results.

    Élus see every count through ``analytics.privacy.protect`` (``components.view``) and never the sensitive
    categories inside one arrondissement, zone or cell.
    """
    if not components.is_analyst():
        from observatory.dashboard import elu_views

        return elu_views.panel_content(an, filters, kind, key)  # the year's publication (issue 15)
    f = selection_filters(filters, kind, key)
    cell = kind == "cell"
    by_cell = ("grid_cell",) if cell else ()
    cmp = an.compare_periods(f, kind="year", by=by_cell)
    if cell:
        cmp = _pick(cmp, "grid_cell", key)
    total = an.counts(f, by=by_cell + ("category",))
    monthly = an.counts(f, by=by_cell + ("month",))
    profile = an.counts(f, by=by_cell + ("weekday", "hour"))
    if cell:
        total, monthly, profile = _pick(total, "grid_cell", key), _pick(monthly, "grid_cell", key), _pick(profile, "grid_cell", key)
    n = int(total["count"].sum()) if len(total) else 0
    n_text = components.view(pd.DataFrame({"count": [n]}), ["count"]).iloc[0]["count_text"]
    children = [html.P(components.method_note(an, f), className="small text-muted")]
    if len(cmp):
        raw = cmp.iloc[0]
        row = components.view(cmp.iloc[:1], ["current", "previous"], derived=CMP_DERIVED).iloc[0]
        text, tone = components.change_text(row)
        year = raw["current_start"].year
        children.append(
            dbc.Row(
                [
                    dbc.Col(components.kpi_card("Faits (filtres en cours)", n_text, published_text(an, filters, kind, key, total))),
                    dbc.Col(components.kpi_card(f"{year} par rapport à {year - 1}", f"{row['current_text']} / {row['previous_text']}", text, tone)),
                ],
                className="g-2 mb-2",
            )
        )
    cats = components.view(total[["category", "count"]], ["count"]) if len(total) else total.assign(count_text=[])
    top = shaping.published_rows(cats, ["count"]).sort_values("count", ascending=False).head(5)
    children.append(html.H3("Principales catégories", className="h6 mt-2"))
    children.append(html.Ol([html.Li(f"{labels.category_label(r.category)} : {r.count_text}") for r in top.itertuples()]) if len(top) else html.P("Aucun fait publiable.", className="text-muted"))
    children.append(html.H3("Tendance mensuelle", className="h6 mt-2"))
    monthly = monthly.assign(month=pd.to_datetime(monthly["month"])) if len(monthly) else monthly
    monthly = components.view(monthly[["month", "count"]], ["count"]) if len(monthly) else monthly
    children.append(dcc.Graph(figure=figures.time_series(monthly, "month", "count", height=200), config=figures.graph_config(modebar=False)))
    children.append(html.H3("Heure × jour de la semaine", className="h6 mt-2"))
    excluded = profile.attrs.get("excluded_imprecise")
    profile = components.view(profile[["weekday", "hour", "count"]], ["count"], keys=("weekday", "hour")) if len(profile) else profile
    children.append(dcc.Graph(figure=figures.weekday_hour_heatmap(profile, height=240), config=figures.graph_config(modebar=False)))
    if excluded:
        children.append(html.Small(f"{labels.fmt_int(excluded)} faits sans heure précise ne figurent pas dans ce profil.", className="text-muted"))
    private = [v for v in (cats, monthly, profile) if v.attrs.get("hidden")]
    if private:
        children.append(html.P(html.Small(components.privacy_note(private[0]) + ".", className="text-muted")))
    return children


def install(app) -> None:  # noqa: ANN001 - dash.Dash
    @app.callback(
        Output(ids.PANEL, "is_open"),
        Output(ids.PANEL_TITLE, "children"),
        Output(ids.PANEL_BODY, "children"),
        Input(clickable(ALL), "clickData"),
        State(ids.FILTERS, "data"),
        prevent_initial_call=True,
    )
    def _open_panel(clicks, query):  # noqa: ANN001, ANN202
        from observatory.analytics.filters import Filters

        trig = ctx.triggered_id
        if trig is None:
            return no_update, no_update, no_update
        data = next((c for c, spec in zip(clicks, ctx.inputs_list[0]) if spec["id"] == trig), None)
        if not data or not data.get("points"):
            return no_update, no_update, no_update
        point = data["points"][0]
        custom = point.get("customdata") or []
        if not custom:
            return no_update, no_update, no_update
        kind, key = str(custom[-1]), str(custom[0])
        if kind not in ("arrondissement", "zone", "cell"):
            return no_update, no_update, no_update
        an = components.analytics()
        filters = Filters.from_query(query or {})
        return True, selection_title(an, kind, key), panel_content(an, filters, kind, key)
