"""Zones: the hypercentre, each pool (its season against the rest of the year and against previous seasons),
each QPV and custom perimeter: inside vs outside, trend, concentration (PAI)."""

from __future__ import annotations

from datetime import date

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, callback, html

from observatory import figures, labels
from observatory.analytics.compare import poisson_test
from observatory.analytics.filters import Filters
from observatory.dashboard import components, ids, shaping
from observatory.dashboard.components import Col, int_cell, num_cell, pct_cell, yes_no
from observatory.dashboard.exporting import ExportTable, exportable
from observatory.territory import SEASON_MONTHS

dash.register_page(__name__, path="/zones", name="Zones", title="Zones — Observatoire", order=3)

KINDS = [{"label": "Hypercentre", "value": "hypercentre"}, {"label": "Piscines", "value": "piscine"}, {"label": "QPV", "value": "qpv"}, {"label": "Périmètres (GLTD, veille…)", "value": "autres"}]
OTHER_KINDS = ("gltd", "cellule_veille", "camera", "perimetre")


def layout(type: str | None = None, **_query):  # noqa: A002, ANN003, ANN201 - 'type' is the URL key
    an = components.analytics()
    if not components.has_data(an):
        return html.Div([html.H1("Zones", className="h4"), components.empty_state()])
    kind = type if type in {k["value"] for k in KINDS} else "hypercentre"
    return html.Div(
        [
            html.H1("Zones", className="h4"),
            dbc.RadioItems(id=ids.ZN_KIND, options=KINDS, value=kind, inline=True, className="mb-2"),
            components.table_card(ids.ZN_TABLE, "Faits dans chaque zone, évolution et concentration"),
            dbc.Row(
                [
                    dbc.Col(components.figure_card(ids.ZN_SERIES, "Dans les zones et dans le reste de la ville (faits par mois)", height=320), lg=6),
                    dbc.Col(components.figure_card(ids.ZN_POOLS, "Saison et hors saison, année par année (moyenne mensuelle)", height=320), lg=6),
                ],
                className="g-3",
            ),
            dbc.Card([dbc.CardHeader(html.H2("Été des piscines : cette saison et la précédente", className="h6 mb-0")), dbc.CardBody(html.Div(id=ids.ZN_INOUT))], className="mb-3 shadow-sm"),
            components.table_card(ids.ZN_PERSIST, "Points chauds persistants (mailles de la grille) et indice de précision (PAI)"),
        ]
    )


def _zone_ids(an, kind: str) -> tuple[str, ...]:  # noqa: ANN001
    z = an.territory.zones
    kinds = OTHER_KINDS if kind == "autres" else (kind,)
    return tuple(z.loc[z["kind"].isin(kinds), "zone_id"])


def zone_table(an, filters, kind: str):  # noqa: ANN001, ANN201
    """Per zone: count, rate per km², change vs last year (with test), PAI = share of facts / share of area."""
    zone_ids = _zone_ids(an, kind)
    kinds = OTHER_KINDS if kind == "autres" else (kind,)
    rates = an.rates_by_zone(filters, kinds=kinds)
    ref = shaping.reference_date(an, filters)
    if ref is None or rates.empty:
        return rates, None
    cmp = an.compare_periods(filters.replace(zones=zone_ids), kind=shaping.comparison_kind(ref), reference=ref, by="zone")
    total = int(an.counts(filters, by=()).iloc[0]["count"])
    city_km2 = float(an.territory.arrondissements["area_km2"].sum())
    return shaping.zone_summary(rates, cmp, total, city_km2), cmp


@callback(Output(ids.ZN_TABLE, "children"), Output(ids.note(ids.ZN_TABLE), "children"), Input(ids.FILTERS, "data"), Input(ids.ZN_KIND, "value"))
def table(query, kind):  # noqa: ANN001, ANN201
    an = components.analytics()
    filters = Filters.from_query(query or {})
    df, cmp = zone_table(an, filters, kind)
    if cmp is None:
        return components.french_table(df, []), ""
    if not components.is_analyst():
        from observatory.analytics.privacy import protect

        df = protect(df, ["count", "current", "previous"], components.settings().min_count, viewer_is_analyst=False)
    cols = [
        Col("name", "Zone"),
        Col("count", "Faits (filtres)", components.fmt_any),
        Col("rate_per_km2", "Faits / km²", num_cell(0)),
        Col("current", "Période en cours", components.fmt_any),
        Col("previous", "Même période N−1", components.fmt_any),
        Col("pct_change", "Évolution", pct_cell),
        Col("significant", "Significative", yes_no),
        Col("pai", "PAI", num_cell(1)),
    ]
    r = cmp.iloc[0] if len(cmp) else None
    period = f"période en cours {labels.fmt_date(r['current_start'])} – {labels.fmt_date(r['current_end'])} vs {labels.fmt_date(r['previous_start'])} – {labels.fmt_date(r['previous_end'])}" if r is not None else ""
    note = components.method_note(an, filters, extra=f"{period} ; PAI = part des faits / part de la surface de la ville (> 1 : concentration) ; taux des zones rapportés à la surface")
    return components.french_table(df, cols, numeric=("count", "rate_per_km2", "current", "previous", "pct_change", "pai")), note


@exportable(ids.ZN_TABLE, "Faits par zone")
def _zone_export(an, filters):  # noqa: ANN001, ANN202
    df, _cmp = zone_table(an, filters, "hypercentre")
    return ExportTable(df, ("count", "current", "previous"))


@callback(Output(ids.ZN_SERIES, "figure"), Output(ids.note(ids.ZN_SERIES), "children"), Input(ids.FILTERS, "data"), Input(ids.ZN_KIND, "value"))
def inside_outside(query, kind):  # noqa: ANN001, ANN201
    an = components.analytics()
    filters = Filters.from_query(query or {})
    zone_ids = _zone_ids(an, kind)
    if not zone_ids:
        return figures.empty_figure("Aucune zone de ce type"), ""
    inside = an.monthly_series(filters.replace(zones=zone_ids))
    city = an.monthly_series(filters)
    series = shaping.inside_outside(inside, city)
    fig = figures.time_series(series, "month", "count", group_col="where", height=320, group_labeler=lambda w: {"dedans": "Dans les zones", "dehors": "Reste de la ville"}[w])
    return fig, components.method_note(an, filters, extra="un fait situé dans plusieurs zones compte une fois")


@exportable(ids.ZN_SERIES, "Dans les zones et hors zones")
def _inout_export(an, filters):  # noqa: ANN001, ANN202
    zone_ids = _zone_ids(an, "hypercentre")
    return ExportTable(shaping.inside_outside(an.monthly_series(filters.replace(zones=zone_ids)), an.monthly_series(filters)), ("count",))


@callback(Output(ids.ZN_POOLS, "figure"), Output(ids.note(ids.ZN_POOLS), "children"), Input(ids.FILTERS, "data"), Input(ids.ZN_KIND, "value"))
def seasons(query, kind):  # noqa: ANN001, ANN201
    an = components.analytics()
    filters = Filters.from_query(query or {})
    zone_ids = _zone_ids(an, kind)
    if not zone_ids:
        return figures.empty_figure("Aucune zone de ce type"), ""
    monthly = an.monthly_series(filters.replace(zones=zone_ids))
    table = shaping.season_comparison(monthly, SEASON_MONTHS["summer"])
    fig = figures.grouped_bars(table, "year", "mean_per_month", "period", height=320, value_label="Faits par mois (moyenne)", group_labeler=lambda p: {"saison": "Été (juin–août)", "hors saison": "Reste de l'année"}[p])
    return fig, components.method_note(an, filters, extra="saison estivale : juin, juillet, août")


@callback(Output(ids.ZN_INOUT, "children"), Input(ids.FILTERS, "data"))
def pool_summer(query):  # noqa: ANN001, ANN201
    """The pools' last complete summer against the one before, with the exact Poisson test."""
    an = components.analytics()
    filters = Filters.from_query(query or {})
    ref = shaping.reference_date(an, filters)
    pools = _zone_ids(an, "piscine")
    if ref is None or not pools:
        return "Pas de piscine ou pas de données."
    year = ref.year if ref >= date(ref.year, 8, 31) else ref.year - 1
    rows = []
    for label, zone_filter in [("Toutes les piscines", pools)] + [(n, (z,)) for z, n in an.territory.zones.loc[an.territory.zones["zone_id"].isin(pools), ["zone_id", "name"]].itertuples(index=False)]:
        cur = an.counts(filters.replace(zones=zone_filter, start=date(year, 6, 1), end=date(year, 8, 31)), by=()).iloc[0]["count"]
        prev = an.counts(filters.replace(zones=zone_filter, start=date(year - 1, 6, 1), end=date(year - 1, 8, 31)), by=()).iloc[0]["count"]
        p = poisson_test(int(cur), int(prev))
        rows.append({"zone": label, "current": int(cur), "previous": int(prev), "diff": int(cur) - int(prev), "pct_change": (cur - prev) / prev if prev else float("nan"), "p_value": p, "significant": p < 0.05})
    import pandas as pd

    df = pd.DataFrame(rows)
    cols = [Col("zone", "Piscine"), Col("current", f"Été {year}", int_cell), Col("previous", f"Été {year - 1}", int_cell), Col("pct_change", "Évolution", pct_cell), Col("p_value", "p", num_cell(3)), Col("significant", "Significative", yes_no)]
    return [components.french_table(df, cols, numeric=("current", "previous", "pct_change", "p_value")), html.Small(f"Périmètre de {int(an.settings.pool_buffer_m)} m autour de chaque piscine ; 1er juin – 31 août ; test exact de deux comptages de Poisson (p < 0,05).", className="text-muted")]


# The zone kind is part of the view.
dash.clientside_callback(
    """
    function(kind) {
        const params = new URLSearchParams(window.location.search);
        params.set("type", kind);
        window.history.replaceState(window.history.state, "", window.location.pathname + "?" + params.toString());
        return window.dash_clientside.no_update;
    }
    """,
    Output(ids.ZN_KIND, "className"),
    Input(ids.ZN_KIND, "value"),
)


def persistent_cells(an, filters):  # noqa: ANN001, ANN201
    """Cells hot (Gi*, 95 %) in at least one of the last 4 quarters, most persistent first."""
    p = an.persistence(filters)
    return p[p["quarters_hot"] > 0].sort_values(["quarters_hot", "hot_last"], ascending=False).reset_index(drop=True)


@callback(Output(ids.ZN_PERSIST, "children"), Output(ids.note(ids.ZN_PERSIST), "children"), Input(ids.FILTERS, "data"))
def persistence(query):  # noqa: ANN001, ANN201
    an = components.analytics()
    filters = Filters.from_query(query or {})
    cells = persistent_cells(an, filters)
    pai = an.predictive_accuracy(filters, kind="year").iloc[0]
    cells = shaping.with_labels(cells, "arrondissement", "arrondissement")
    cols = [Col("cell_id", "Maille"), Col("label", "Arrondissement"), Col("quarters_hot", "Trimestres chauds (sur 4)", int_cell), Col("hot_last", "Chaude au dernier trimestre", yes_no)]
    first, last = cells.attrs.get("first_quarter"), cells.attrs.get("last_quarter")
    summary = html.P(
        f"Mailles chaudes en {pai['previous_start'].year} : {labels.fmt_int(pai['hot_cells'])} sur {labels.fmt_int(pai['cells'])} "
        f"({labels.fmt_pct(pai['area_share'], 1, signed=False)} de la surface) ; elles concentrent {labels.fmt_pct(pai['incident_share'], 1, signed=False)} "
        f"des faits de la période suivante : PAI = {labels.fmt_number(pai['pai'], 1)}.",
        className="mb-2",
    )
    table = components.french_table(cells, cols, numeric=("quarters_hot",), max_rows=25) if len(cells) else html.P("Aucune maille chaude sur les 4 derniers trimestres.", className="text-muted")
    period = f"trimestres du {labels.fmt_date(first)} au {labels.fmt_date(last)} (début du dernier)" if first and last else ""
    return [summary, table], components.method_note(an, filters, extra=f"Gi* à 95 % ou plus, {period} ; carte : onglet Carte, couche « Points chauds persistants »")


@exportable(ids.ZN_PERSIST, "Points chauds persistants")
def _persistence_export(an, filters):  # noqa: ANN001, ANN202
    return ExportTable(persistent_cells(an, filters), ())
