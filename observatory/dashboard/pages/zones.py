"""Zones: the hypercentre, each pool (its season against the rest of the year and against previous seasons),
each QPV and custom perimeter: inside vs outside, trend, concentration (PAI)."""

from __future__ import annotations

from datetime import date

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, callback, html

from observatory import figures, labels
from observatory.analytics.filters import Filters
from observatory.analytics.indicators import BOTH_TOTALS_NOTE
from observatory.dashboard import elu_views
from observatory.dashboard import components, geo, ids, shaping, zone_rates
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
            dbc.RadioItems(id=ids.ZN_RATE, options=zone_rates.RATE_OPTIONS, value="km2", inline=True, className="mb-2 small"),
            components.table_card(ids.ZN_TABLE, "Faits dans chaque zone, évolution et concentration"),
            dbc.Row(
                [
                    dbc.Col(components.figure_card(ids.ZN_SERIES, "Dans les zones et dans le reste de la ville (faits par mois)", height=320), lg=6),
                    dbc.Col(components.figure_card(ids.ZN_POOLS, "Saison et hors saison, année par année (moyenne mensuelle)", height=320), lg=6),
                ],
                className="g-3",
            ),
            dbc.Card([dbc.CardHeader(html.H2("Été des piscines : cette saison et la précédente", className="h6 mb-0")), dbc.CardBody(html.Div(id=ids.ZN_INOUT))], className="mb-3 shadow-sm", id=POOL_CARD, style=None if kind == "piscine" else {"display": "none"}),
            components.table_card(ids.ZN_PERSIST, "Points chauds persistants de toute la ville (mailles de la grille) et indice de précision (PAI)"),
        ]
    )


SENSITIVE_NOTE = "hors violences sexuelles et intrafamiliales, publiées à l'échelle de la ville seulement"
# Columns computed from a zone's counts: blanked when one of its counts is withheld (they would give it back).
ZONE_DERIVED = ("rate_per_km2", "diff", "pct_change", "p_value", "significant", "unreliable", "pai", "resident_rate", "exposure_rate")


def _zone_ids(an, kind: str) -> tuple[str, ...]:  # noqa: ANN001
    z = an.territory.zones
    kinds = OTHER_KINDS if kind == "autres" else (kind,)
    return tuple(z.loc[z["kind"].isin(kinds), "zone_id"])


def zone_table(an, filters, kind: str):  # noqa: ANN001, ANN201
    """Per zone: count, rate per km², change vs last year (with test), PAI = share of facts / share of area."""
    zone_ids = _zone_ids(an, kind)
    kinds = OTHER_KINDS if kind == "autres" else (kind,)
    if not components.is_analyst():
        # Élus: sensitive categories count in the city only, never in a zone (DESIGN §6).
        filters = shaping.sensitive_free(filters)
    rates = an.rates_by_zone(filters, kinds=kinds)
    if components.is_analyst():
        # Every fact for the analyst, and beside it the figure the bilan publishes (sensitive categories left out).
        from observatory.analytics.indicators import published_filters, with_published_count

        rates = with_published_count(rates, an.rates_by_zone(published_filters(filters), kinds=kinds), ["zone_id"])
    ref = shaping.reference_date(an, filters)
    if ref is None or rates.empty:
        return rates, None
    cmp = an.compare_periods(filters.replace(zones=zone_ids), kind=shaping.comparison_kind(ref), reference=ref, by="zone")
    total = int(an.counts(filters, by=()).iloc[0]["count"])
    city_km2 = float(an.territory.arrondissements["area_km2"].sum())
    out = zone_rates.with_exposure(an, filters, shaping.zone_summary(rates, cmp, total, city_km2), zone_ids)
    out.attrs["rate_note"] = rates.attrs.get("rate_note", "")  # densities are per year: say over which days
    return out, cmp


@callback(Output(ids.ZN_TABLE, "children"), Output(ids.note(ids.ZN_TABLE), "children"), Input(ids.FILTERS, "data"), Input(ids.ZN_KIND, "value"),
          Input(ids.ZN_RATE, "value"))
def table(query, kind, rate="km2"):  # noqa: ANN001, ANN201
    an = components.analytics()
    filters = Filters.from_query(query or {})
    if not _zone_ids(an, kind):
        if kind == "autres":
            return html.P("Aucun périmètre défini : déposez data/raw/reference/perimetres.geojson (GLTD, cellules de veille, vidéoprotection…).", className="text-muted mb-0"), ""
        return html.P("Aucune zone de ce type dans le référentiel.", className="text-muted mb-0"), ""
    if not components.is_analyst():  # zones are not in the élus' publication (issue 15)
        return elu_views.withheld_block(), ""
    df, cmp = zone_table(an, filters, kind)
    if cmp is None:
        return components.french_table(df, []), ""
    rate_note = df.attrs.get("rate_note", "")
    df = components.cellwise_view(df, ["count", "current", "previous"], derived=ZONE_DERIVED)
    rate_col = zone_rates.rate_column(df, rate)
    cols = [
        Col("name", "Zone"),
        Col("count_text", "Faits (filtres)"),
        rate_col,
        Col("current_text", "Période en cours"),
        Col("previous_text", "Même période N−1"),
        Col("pct_change", "Évolution", pct_cell),
        Col("significant", "Significative", yes_no),
        Col("pai", "PAI", num_cell(1)),
    ]
    if "count_published" in df:
        cols.insert(2, Col("count_published", "Chiffre publié (hors VSIF)", num_cell(0)))
    r = cmp.iloc[0] if len(cmp) else None
    period = f"période en cours {labels.fmt_date(r['current_start'])} – {labels.fmt_date(r['current_end'])} par rapport au {labels.fmt_date(r['previous_start'])} – {labels.fmt_date(r['previous_end'])}" if r is not None else ""
    private = components.privacy_note(df)
    density = f"« Faits / km² / an » : {rate_note} ; " if rate_col.name == "rate_per_km2" else ""
    scope = f" ; {BOTH_TOTALS_NOTE} (VSIF : violences sexuelles et intrafamiliales)" if "count_published" in df else ("" if components.is_analyst() else f" ; {SENSITIVE_NOTE}")
    note = components.method_note(an, filters, extra=f"{period} ; « Faits (filtres) » : toute la période des filtres ; {density}PAI = part des faits / part de la surface de la ville (> 1 : concentration) ; {zone_rates.rate_note(df, rate)}{scope}" + (f" ; {private}" if private else ""))
    return components.french_table(df, cols, numeric=("count_text", rate_col.name, "current_text", "previous_text", "pct_change", "pai")), note


def _kind_option(options) -> str:  # noqa: ANN001
    kind = (options or {}).get("type")
    return kind if kind in {k["value"] for k in KINDS} else "hypercentre"


@exportable(ids.ZN_TABLE, "Faits par zone")
def _zone_export(an, filters, options=None):  # noqa: ANN001, ANN202
    if not components.is_analyst():
        return _withheld_table()
    df, cmp = zone_table(an, filters, _kind_option(options))
    note = "" if components.is_analyst() else SENSITIVE_NOTE
    if df.attrs.get("rate_note"):
        note = "; ".join(n for n in (note, f"faits par km² et par an : {df.attrs['rate_note']}") if n)
    if cmp is not None and len(cmp):
        r = cmp.iloc[0]
        note = "; ".join(n for n in (note, f"période en cours du {labels.fmt_date(r['current_start'])} au {labels.fmt_date(r['current_end'])}, comparée à la même période un an plus tôt") if n)
    cols = dict(zone_rates.EXPORT_HEADERS)
    if "count_published" in df:
        note = "; ".join(n for n in (note, BOTH_TOTALS_NOTE) if n)
        cols["count_published"] = "faits_publies_hors_vsif"
    return ExportTable(df, ("count", "current", "previous"), derived=ZONE_DERIVED, extra_note=note, cellwise=True, columns=cols)


@callback(Output(ids.ZN_SERIES, "figure"), Output(ids.note(ids.ZN_SERIES), "children"), Input(ids.FILTERS, "data"), Input(ids.ZN_KIND, "value"))
def inside_outside(query, kind):  # noqa: ANN001, ANN201
    an = components.analytics()
    filters = Filters.from_query(query or {})
    zone_ids = _zone_ids(an, kind)
    if not zone_ids:
        return figures.empty_figure("Aucune zone de ce type"), ""
    if not components.is_analyst():
        return elu_views.withheld_figure(320), ""
    inside = an.monthly_series(filters.replace(zones=zone_ids))
    city = an.monthly_series(filters)
    series = components.view(shaping.inside_outside(inside, city), ["count"], keys=("month", "where"))
    fig = figures.time_series(series, "month", "count", group_col="where", height=320, group_labeler=lambda w: {"dedans": "Dans les zones", "dehors": "Reste de la ville"}[w])
    private = components.privacy_note(series) if series.attrs.get("hidden") else ""
    return fig, components.method_note(an, filters, extra="un fait situé dans plusieurs zones compte une fois" + (f" ; {private} (mois non tracés)" if private else ""))


@exportable(ids.ZN_SERIES, "Dans les zones et hors zones")
def _inout_export(an, filters, options=None):  # noqa: ANN001, ANN202
    zone_ids = _zone_ids(an, _kind_option(options))
    if not components.is_analyst():
        return _withheld_table()
    table = shaping.inside_outside(an.monthly_series(filters.replace(zones=zone_ids)), an.monthly_series(filters))
    return ExportTable(table, ("count",), keys=("month", "where"), extra_note="" if components.is_analyst() else SENSITIVE_NOTE)


@callback(Output(ids.ZN_POOLS, "figure"), Output(ids.note(ids.ZN_POOLS), "children"), Input(ids.FILTERS, "data"), Input(ids.ZN_KIND, "value"))
def seasons(query, kind):  # noqa: ANN001, ANN201
    an = components.analytics()
    filters = Filters.from_query(query or {})
    zone_ids = _zone_ids(an, kind)
    if not zone_ids:
        return figures.empty_figure("Aucune zone de ce type"), ""
    if not components.is_analyst():
        return elu_views.withheld_figure(320), ""
    monthly = an.monthly_series(filters.replace(zones=zone_ids))
    # The sums are what is protected: a mean of three months times three gives the count back.
    totals = components.view(shaping.season_totals(monthly, SEASON_MONTHS["summer"]), ["count"], keys=("year", "period"))
    table = totals.assign(mean_per_month=totals["count"] / totals["months"])
    fig = figures.grouped_bars(table, "year", "mean_per_month", "period", height=320, value_label="Faits par mois (moyenne)", group_labeler=lambda p: {"saison": "Été (juin–août)", "hors saison": "Reste de l'année"}[p])
    private = components.privacy_note(totals) if totals.attrs.get("hidden") else ""
    return fig, components.method_note(an, filters, extra="saison estivale : juin, juillet, août" + (f" ; {private} (barres absentes)" if private else ""))


POOL_CARD = "zones-pool-card"


def refused_pools(seasons) -> list[tuple[str, str]]:  # noqa: ANN001
    """(pool name, why) of the summer rows whose comparison with the previous summer is refused."""
    if "comparable" not in seasons:
        return []
    rows = seasons[(seasons["season"] == "summer") & ~seasons["comparable"].astype(bool)]
    return list(zip(rows["name"], rows["reason"]))


@callback(Output(POOL_CARD, "style"), Input(ids.ZN_KIND, "value"))
def pool_card_visibility(kind):  # noqa: ANN001, ANN201
    """The pools' summer belongs to the pools: shown only when they are the chosen zone type."""
    return None if kind == "piscine" else {"display": "none"}


@callback(Output(ids.ZN_INOUT, "children"), Input(ids.FILTERS, "data"))
def pool_summer(query):  # noqa: ANN001, ANN201
    """Each pool's last complete summer against the summer before and against the rest of its year."""
    an = components.analytics()
    filters = Filters.from_query(query or {})
    ref = shaping.reference_date(an, filters)
    if ref is None or not _zone_ids(an, "piscine"):
        return "Pas de piscine ou pas de données."
    year = ref.year if ref >= date(ref.year, 8, 31) else ref.year - 1
    if not components.is_analyst():
        return elu_views.withheld_block()
    seasons = an.pool_seasons(filters, year=year, previous_years=1)
    if seasons.empty:
        return "Aucune piscine saisonnière dans le référentiel des zones."
    df = components.view(shaping.pool_summer_table(seasons), ["in_season", "previous_in_season", "out_season"], derived=("pct_change", "p_value_vs_previous", "p_adjusted_vs_previous", "significant_vs_previous", "ratio", "p_value", "p_adjusted", "significant", "phi"))
    cols = [
        Col("name", "Piscine"),
        Col("in_season_text", f"Été {year}"),
        Col("previous_in_season_text", f"Été {year - 1}"),
        Col("pct_change", "Évolution", pct_cell),
        Col("p_adjusted_vs_previous", "p corrigée", num_cell(3)),
        Col("significant_vs_previous", "Significative", yes_no),
        Col("ratio", "Été / reste de l'année (par mois)", num_cell(1)),
        Col("significant", "Saisonnalité significative", yes_no),
    ]
    private = components.privacy_note(df)
    reread = zone_rates.pool_sentences(an, filters, year)
    return [
        components.french_table(df, cols, numeric=("in_season_text", "previous_in_season_text", "pct_change", "p_adjusted_vs_previous", "ratio")),
        html.Ul([html.Li(t) for t in reread], className="small mb-2") if reread else None,
        html.Small(
            f"Périmètre de {int(an.settings.pool_buffer_m)} m autour de chaque piscine ; été = 1er juin – 31 août ; comparaisons par jour de données, "
            "test quasi-Poisson (dispersion estimée sur l'historique mensuel de chaque piscine ; Poisson exact si elle ne peut l'être), "
            "significatif si p < 0,05 après correction de Benjamini-Hochberg sur les lignes du tableau ; "
            + "".join(f"{r} : {why} ; " for r, why in refused_pools(seasons))
            + "« été / reste de l'année » compare les faits par mois de la saison à ceux des autres mois de la même année ; "
            "piscines saisonnières (ouvertes l'été) seulement, ce qui explique qu'elles soient moins nombreuses qu'au Bilan"
            + ("" if components.is_analyst() else f" ; {SENSITIVE_NOTE}") + (f" ; {private}" if private else "") + ".",
            className="text-muted",
        ),
    ]


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
    """Cells hot (Gi*, 95 %) in at least one of the last 4 quarters, most persistent first (for élus without the
    sensitive categories, which never show below the city: DESIGN §6)."""
    if not components.is_analyst():
        filters = shaping.sensitive_free(filters)
    p = an.persistence(filters)
    return p[p["quarters_hot"] > 0].sort_values(["quarters_hot", "hot_last"], ascending=False).reset_index(drop=True)


@callback(Output(ids.ZN_PERSIST, "children"), Output(ids.note(ids.ZN_PERSIST), "children"), Input(ids.FILTERS, "data"))
def persistence(query):  # noqa: ANN001, ANN201
    an = components.analytics()
    filters = Filters.from_query(query or {})
    if not components.is_analyst():  # grid cells are not in the élus' publication (issue 15)
        return elu_views.withheld_block(), ""
    cells = persistent_cells(an, filters)
    pai = an.predictive_accuracy(filters if components.is_analyst() else shaping.sensitive_free(filters), kind="year").iloc[0]
    cells = shaping.with_labels(cells, "arrondissement", "arrondissement")
    # A reader places « Moncey — Lyon 3e », not « E4209_N32589 » (the id stays in the exports, for GIS joins).
    cells["place"] = geo.cell_names(components.settings(), cells["cell_id"]) if len(cells) else []
    cols = [Col("place", "Maille (lieu)"), Col("label", "Arrondissement"), Col("quarters_hot", "Trimestres chauds (sur 4)", int_cell), Col("hot_last", "Chaude au dernier trimestre", yes_no)]
    first, last = cells.attrs.get("first_quarter"), cells.attrs.get("last_quarter")
    summary = html.P(
        f"Mailles chaudes en {pai['previous_start'].year} : {labels.fmt_int(pai['hot_cells'])} sur {labels.fmt_int(pai['cells'])} "
        f"({labels.fmt_pct(pai['area_share'], 1, signed=False)} de la surface) ; elles concentrent {labels.fmt_pct(pai['incident_share'], 1, signed=False)} "
        f"des faits de la période suivante : PAI = {labels.fmt_number(pai['pai'], 1)}.",
        className="mb-2",
    )
    table = components.french_table(cells, cols, numeric=("quarters_hot",), max_rows=25) if len(cells) else html.P("Aucune maille chaude sur les 4 derniers trimestres.", className="text-muted")
    period = f"trimestres du {labels.fmt_date(first)} au {labels.fmt_date(last)} (début du dernier)" if first and last else ""
    # The Carte page is for analysts: an élu is not pointed to a page that would refuse them.
    where = " ; carte : onglet Carte, couche « Points chauds persistants »" if components.is_analyst_view() else ""
    return [summary, table], components.method_note(an, filters, extra=f"Gi* à 95 % ou plus, {period}{where}")


@exportable(ids.ZN_PERSIST, "Points chauds persistants")
def _persistence_export(an, filters):  # noqa: ANN001, ANN202
    if not components.is_analyst():
        return _withheld_table()
    return ExportTable(persistent_cells(an, filters), ())


def _withheld_table() -> ExportTable:
    """What an élu's export of a zone or grid view holds: no row, and why (issue 15)."""
    import pandas as pd

    return ExportTable(pd.DataFrame({"count": pd.Series(dtype="float64")}), ("count",), extra_note=elu_views.WITHHELD)
