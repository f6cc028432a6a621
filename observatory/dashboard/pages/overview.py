"""Vue d'ensemble: the current year at a glance."""

from __future__ import annotations

from datetime import date

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, callback, html

from observatory import figures, labels, schema
from observatory.analytics.filters import Filters
from observatory.dashboard import components, elu_views, geo, ids, map_svg, shaping
from observatory.dashboard.exporting import ExportTable, exportable
from observatory.dashboard.panel import clickable

dash.register_page(__name__, path="/", name="Vue d'ensemble", title="Vue d'ensemble — Observatoire", order=0)

FRESHNESS_MONTHS = 6
METRICS = [{"label": "Taux pour 1 000 habitants", "value": "rate"}, {"label": "Nombre de faits", "value": "count"}]


def layout(mesure: str | None = None, **_query):  # noqa: ANN003, ANN201 - Dash Pages passes the URL query
    an = components.analytics()
    if not components.has_data(an):
        return html.Div([html.H1("Vue d'ensemble", className="h4"), components.empty_state()])
    return html.Div(
        [
            html.H1("Vue d'ensemble", className="h4"),
            html.Div(id=ids.OV_KPIS, className="mb-3"),
            dbc.Row(
                [
                    dbc.Col(
                        components.figure_card(
                            ids.OV_MAP,
                            "Arrondissements",
                            height=430,
                            graph_id=clickable("overview"),
                            formats=("csv", "xlsx", "geojson", "svg"),
                            controls=dbc.RadioItems(id=ids.OV_METRIC, options=METRICS, value=mesure if mesure in ("rate", "count") else "rate", inline=True, className="small mb-1"),
                            filename="arrondissements",
                        ),
                        lg=6,
                    ),
                    dbc.Col(components.figure_card(ids.OV_MOVERS, "Catégories qui ont le plus évolué (★ = significatif)", height=430), lg=6),
                ],
                className="g-3",
            ),
            dbc.Row(
                [
                    dbc.Col(dbc.Card([dbc.CardHeader(html.H2("Zones suivies", className="h6 mb-0")), dbc.CardBody(html.Div(id=ids.OV_ZONES))], className="mb-3 shadow-sm"), lg=6),
                    dbc.Col(dbc.Card([dbc.CardHeader(html.H2("Fraîcheur des données", className="h6 mb-0")), dbc.CardBody(html.Div(id=ids.OV_FRESHNESS))], className="mb-3 shadow-sm"), lg=6),
                ],
                className="g-3",
            ),
        ]
    )


def _current(an, filters):  # noqa: ANN001, ANN202
    ref = shaping.reference_date(an, filters)
    if ref is None:  # no fact under these filters (an arrondissement code no map holds…): the callers say so
        return None, None, filters
    return ref, shaping.comparison_kind(ref), shaping.year_to_date(filters, ref)


# Columns of compare_periods that give a hidden count back (previous = current − diff…): blanked with it.
CMP_DERIVED = ("diff", "pct_change", "p_value", "p_adjusted", "z", "significant", "unreliable", "phi")


def period_compare(an, filters, ref, kind: str, by: tuple[str, ...] = ()) -> pd.DataFrame:  # noqa: ANN001
    """compare_periods for the current-year view, honouring a « Du » later than 1 January: then the period is
    « Du » → reference day, compared with the same days one year earlier, with the same coverage refusal and
    test as every other comparison (same columns as compare_periods)."""
    start = filters.start if filters.start is not None and filters.start > date(ref.year, 1, 1) else None
    out = an.compare_periods(filters, kind=kind, reference=ref, by=by, start=start)
    last = an.date_range()[1]
    if publication_year(filters, ref, start) is not None and last is not None and last >= ref:
        # A closed year of the whole city: the bilan's verdicts, so the home page never contradicts it.
        from observatory.reports.verdicts import snapshot_verdicts, with_publication_verdicts

        out = with_publication_verdicts(out, snapshot_verdicts(an, ref.year), tuple(by))
    return out


def publication_year(filters, ref, start) -> int | None:  # noqa: ANN001
    """The year whose bilan covers this view (a whole closed calendar year of the whole city, no other filter)."""
    if start is not None or (ref.month, ref.day) != (12, 31):
        return None
    narrowed = (filters.categories, filters.families, filters.sources, filters.arrondissements, filters.zones,
                filters.hours, filters.weekdays, filters.location_qualities)
    return None if any(narrowed) or (filters.start is not None and filters.start > date(ref.year, 1, 1)) else ref.year


def territory_caption(an, filters, rates: pd.DataFrame) -> str:  # noqa: ANN001
    """« Lyon, 522 250 habitants (INSEE 2023) » or the filtered arrondissements with their own population."""
    vintage = int(rates["vintage"].dropna().iloc[0]) if "vintage" in rates and rates["vintage"].notna().any() else an.territory.population_vintage
    arr = rates[rates["arrondissement"].isin(schema.ARRONDISSEMENT_CODES)]
    if filters.arrondissements:
        names = ", ".join(labels.arrondissement_label(a) for a in filters.arrondissements)
        pop = int(arr[arr["arrondissement"].isin(filters.arrondissements)]["population"].sum())
    else:
        names = "Lyon"
        pop = int(arr["population"].sum())
    return f"{names}, {labels.fmt_int(pop)} habitants (population INSEE {vintage})"


@callback(Output(ids.OV_KPIS, "children"), Input(ids.FILTERS, "data"))
def kpis(query):  # noqa: ANN001, ANN201
    an = components.analytics()
    analyst = components.is_analyst()
    if not analyst:  # élus: the year's publication, never a query on their filters (issue 15)
        return elu_views.overview_kpis(an, Filters.from_query(query or {}))
    filters = shaping.public_filters(Filters.from_query(query or {}), analyst)
    ref, kind, current = _current(an, filters)
    if ref is None:
        return components.empty_state("Aucun fait pour ces filtres", "Élargissez la période ou retirez des filtres.")
    raw_total = period_compare(an, filters, ref, kind)
    total = components.view(raw_total, ["current", "previous"], derived=CMP_DERIVED).iloc[0]
    text, tone = components.change_text(total)
    rates = an.rates_by_arrondissement(current)
    city = components.view(rates[rates["arrondissement"] == "69123"], ["count"], derived=("rate_per_1000",)).iloc[0]
    by_cat = components.view(period_compare(an, filters, ref, kind, by=("category",)), ["current", "previous"], derived=CMP_DERIVED)
    sig = by_cat["significant"].fillna(False).astype(bool)
    n_sig_up = int((sig & (by_cat["diff"] > 0)).sum())
    n_sig_down = int((sig & (by_cat["diff"] < 0)).sum())
    r0 = raw_total.iloc[0]
    period = f"{labels.fmt_date(r0['current_start'])} – {labels.fmt_date(r0['current_end'])}"
    previous = f"{labels.fmt_date(r0['previous_start'])} – {labels.fmt_date(r0['previous_end'])}"
    rate_text = labels.fmt_number(city["rate_per_1000"], 1) if pd.notna(city["rate_per_1000"]) else "non publié"
    whole_year = (r0["current_start"].month, r0["current_start"].day) == (1, 1)
    title = f"Faits {ref.year}" + ((" (depuis le 1er janvier)" if kind == "ytd" else "") if whole_year else f" (depuis le {labels.fmt_date(r0['current_start'])})")
    # The test's name is the analyst's; an élu reads what « significative » means.
    test = ("test quasi-Poisson (exact de Poisson sur petits effectifs), p < 0,05 après correction pour tests multiples"
            if components.is_analyst_view() else "écart plus grand que les variations ordinaires d'une année à l'autre")
    return dbc.Row(
        [
            dbc.Col(components.kpi_card(title, total["current_text"], text, tone, hint=f"{period} par rapport au {previous}"), md=3),
            dbc.Col(components.kpi_card("Taux annuel pour 1 000 habitants", rate_text, territory_caption(an, filters, rates), hint=rates.attrs.get("rate_note", "")), md=3),
            dbc.Col(components.kpi_card("Catégories en hausse significative", labels.fmt_int(n_sig_up), test, "up" if n_sig_up else "neutral"), md=3),
            dbc.Col(components.kpi_card("Catégories en baisse significative", labels.fmt_int(n_sig_down), test, "down" if n_sig_down else "neutral"), md=3),
        ],
        className="g-2",
    )


def arrondissement_table(an, filters, analyst: bool):  # noqa: ANN001, ANN201
    """The map's table (figure and exports): rates of the current year per arrondissement, sensitive categories
    left out for élus (they count in the city only, DESIGN §6); ``None`` without data."""
    # Élus: the year's publication (sensitive categories at the city only, DESIGN §6; issue 15).
    if not analyst:
        table = elu_views.arrondissement_table(an, filters)
        sc = table.attrs.get("scope")
        if sc is None or sc.year is None:
            return None, filters
        return table, filters.replace(start=sc.period[0], end=sc.period[1])
    ref, _kind, current = _current(an, filters)
    if ref is None:
        return None, current
    # Analysts see every fact, and beside it the figure the bilan publishes (without the sensitive categories).
    from observatory.analytics.indicators import published_filters, with_published_count

    published = an.rates_by_arrondissement(published_filters(current), include_city=False)
    return with_published_count(an.rates_by_arrondissement(current, include_city=False), published, ["arrondissement"]), current


@callback(Output(f"{ids.OV_MAP}-title", "children"), Input(ids.FILTERS, "data"))
def arrondissement_map_title(query):  # noqa: ANN001, ANN201
    an = components.analytics()
    raw, current = arrondissement_table(an, Filters.from_query(query or {}), components.is_analyst())
    if raw is None:
        return "Arrondissements"
    return shaping.map_title(current.start, current.end, date.today())


@callback(Output(clickable("overview"), "figure"), Output(ids.note(ids.OV_MAP), "children"), Input(ids.FILTERS, "data"), Input(ids.OV_METRIC, "value"))
def arrondissement_map(query, metric):  # noqa: ANN001, ANN201
    an = components.analytics()
    s = components.settings()
    filters = Filters.from_query(query or {})
    analyst = components.is_analyst()
    raw, current = arrondissement_table(an, filters, analyst)
    if raw is None:
        return figures.empty_figure(), ""
    rates = shaping.rate_view(raw, s.min_count, analyst=analyst)
    rates = shaping.with_labels(rates, "arrondissement", "arrondissement")
    # Rates are yearly whatever the period (a year-to-date count is annualised, analytics.exposure).
    value, label, fmt = ("rate_per_1000", "Faits par an pour 1 000 hab.", figures.RATE_FMT) if metric == "rate" else ("count", "Faits", figures.INT_FMT)
    both = {}
    if "count_published" in rates:
        rates = rates.assign(count_published_text=[labels.fmt_int(v) for v in rates["count_published"]])
        both = {"count_published_text": PUBLISHED_LABEL}
    fig = figures.choropleth_map(rates, geo.geo_ref(s, "arrondissements"), "arrondissement", value, label, name_col="label", style=geo.map_style(s), height=430, value_format=fmt, text_col="count_text", extra_hover=both, places=geo.arrondissement_places(s))
    # Half a row wide (≈ 400 px at 1024 px): one zoom step back from the Carte's, so the 5e and the 9e are not cut.
    fig.update_layout(map_zoom=10.8)
    extra = "cliquer un arrondissement pour le détail"
    if both:
        from observatory.analytics.indicators import BOTH_TOTALS_NOTE

        extra = f"{BOTH_TOTALS_NOTE} (au survol et dans l'export) ; {extra}"
    if metric == "rate":
        extra = f"{raw.attrs.get('rate_note', '')} ; {extra}"
    if not analyst:
        extra = SENSITIVE_NOTE + " ; " + raw.attrs["scope"].note() + " ; " + (components.privacy_note(rates) or extra)
    return fig, components.method_note(an, current, rate=metric == "rate", extra=extra)


SENSITIVE_NOTE = "hors violences sexuelles et intrafamiliales, publiées à l'échelle de la ville seulement"
PUBLISHED_LABEL = "Chiffre publié (hors violences sexuelles et intrafamiliales)"


@exportable(ids.OV_MAP, "Faits par arrondissement")
def _map_table(an, filters):  # noqa: ANN001, ANN202
    """Exactly the map's table (same rows, same sensitive-category rule, same period), as a file."""
    raw, current = arrondissement_table(an, filters, components.is_analyst())
    if raw is None:
        return ExportTable(an.rates_by_arrondissement(filters, include_city=False).iloc[0:0])
    gj = geo.arrondissements_geojson(components.settings())
    note = "" if components.is_analyst() else SENSITIVE_NOTE + " ; " + raw.attrs["scope"].note()
    cols = {"count_published": "faits_publies_hors_vsif"} if "count_published" in raw else {}
    return ExportTable(raw, value_cols=("count",), derived=("rate_per_1000",), geojson=gj, geo_key="arrondissement", period=(current.start, current.end), extra_note=note, columns=cols)


# The map's SVG is the vector map of the measure shown (dashboard/map_svg.py): the measure lives in the address
# (« mesure »), where the export reads the page's options, and a bookmarked view keeps it.
map_svg.register(ids.OV_MAP, lambda table, published, meta, options: map_svg.layer_svg(
    components.settings(), "arr_count" if options.get("mesure") == "count" else "arr_rate", table, published, meta))

dash.clientside_callback(
    """
    function(measure) {
        const params = new URLSearchParams(window.location.search);
        params.set("mesure", measure);
        window.history.replaceState(window.history.state, "", window.location.pathname + "?" + params.toString());
        return window.dash_clientside.no_update;
    }
    """,
    Output(ids.OV_METRIC, "className"),
    Input(ids.OV_METRIC, "value"),
)


@callback(Output(ids.OV_MOVERS, "figure"), Output(ids.note(ids.OV_MOVERS), "children"), Input(ids.FILTERS, "data"))
def movers(query):  # noqa: ANN001, ANN201
    an = components.analytics()
    filters = Filters.from_query(query or {})
    if not components.is_analyst():
        sc = elu_views.scope(an, filters)
        if sc.year is None:
            return figures.empty_figure(), ""
        ref, current = date(sc.year, 12, 31), filters.replace(start=date(sc.year, 1, 1), end=date(sc.year, 12, 31))
    else:
        ref, kind, current = _current(an, filters)
    if ref is None:
        return figures.empty_figure(), ""
    cmp = movers_table(an, filters, components.is_analyst())
    v = components.view(cmp, ["current", "previous"], derived=CMP_DERIVED)
    shown = shaping.published_rows(v, ["current", "previous"])
    top = shaping.with_labels(shaping.top_changes(shown, 10), "category", "category")
    fig = figures.change_bars(top, "label", "diff", "significant", pct_col="pct_change", height=430, value_label=f"Évolution {ref.year} par rapport à {ref.year - 1} (faits)")
    extra = cmp.attrs.get("note", "").strip().rstrip(".")
    if len(shown) < len(v):
        hidden = f"{labels.fmt_int(len(v) - len(shown))} catégorie(s) aux effectifs trop faibles non affichée(s)"
        extra = f"{extra} ; {hidden}" if extra else hidden
    return fig, components.method_note(an, current, extra=extra)


def movers_table(an, filters, analyst: bool):  # noqa: ANN001, ANN201
    """compare_periods by category for the current year (figure and exports); below the city, élus get it
    without the sensitive categories. Élus: the year's publications (issue 15)."""
    if not analyst:
        return elu_views.movers_table(an, filters)
    ref = shaping.reference_date(an, filters)
    f = shaping.public_filters(filters, analyst)
    if ref is None:
        return an.compare_periods(f, by="category")
    return period_compare(an, f, ref, shaping.comparison_kind(ref), by=("category",))


@exportable(ids.OV_MOVERS, "Évolution par catégorie")
def _movers_table(an, filters):  # noqa: ANN001, ANN202
    cmp = movers_table(an, filters, components.is_analyst())
    period = (cmp["current_start"].iloc[0], cmp["current_end"].iloc[0]) if len(cmp) else None
    return ExportTable(cmp, value_cols=("current", "previous"), derived=CMP_DERIVED, period=period)


@callback(Output(ids.OV_ZONES, "children"), Input(ids.FILTERS, "data"))
def zones_summary(query):  # noqa: ANN001, ANN201
    an = components.analytics()
    filters = Filters.from_query(query or {})
    ref, kind, _current_f = _current(an, filters)
    if ref is None:
        return ""
    if not components.is_analyst():
        return elu_views.withheld_block()  # zones are not in the publication (issue 15)
    z = an.territory.zones
    groups = [("Hypercentre", tuple(z.loc[z["kind"] == "hypercentre", "zone_id"])), ("Piscines (périmètres de 150 m)", tuple(z.loc[z["kind"] == "piscine", "zone_id"])), ("Quartiers prioritaires", tuple(z.loc[z["kind"] == "qpv", "zone_id"]))]
    groups = [(name, zone_ids) for name, zone_ids in groups if zone_ids]
    if not groups:
        return ""
    analyst = components.is_analyst()
    zf = filters if analyst else shaping.sensitive_free(filters)
    rows = pd.concat([period_compare(an, zf.replace(zones=zone_ids), ref, kind).assign(name=name) for name, zone_ids in groups], ignore_index=True)
    # The groups overlap and their sum is published nowhere: each line is protected on its own.
    v = components.cellwise_view(rows, ["current", "previous"], derived=CMP_DERIVED)
    items = []
    for row in v.to_dict("records"):
        text, tone = components.change_text(row)
        cls = {"up": "text-danger", "down": "text-success"}.get(tone, "text-muted")
        items.append(html.Li([html.Strong(f"{row['name']} : "), shaping.facts_text(row["current"], row["current_text"]) + " ", html.Span(f"({text})" if row["current"] == row["current"] else text, className=cls)]))
    row = rows.iloc[0]
    scope = "" if analyst else f" ; {SENSITIVE_NOTE}"
    private = components.privacy_note(v) if v.attrs.get("hidden") else ""
    note = f"Période {labels.fmt_date(row['current_start'])} – {labels.fmt_date(row['current_end'])}, comparée au {labels.fmt_date(row['previous_start'])} – {labels.fmt_date(row['previous_end'])}{scope}" + (f" ; {private}" if private else "") + ". Détail dans l'onglet Zones."
    return [html.Ul(items, className="mb-1"), html.Small(note, className="text-muted")]


@callback(Output(ids.OV_FRESHNESS, "children"), Input(ids.FILTERS, "data"))
def freshness(_query):  # noqa: ANN001, ANN201
    from observatory import store

    an = components.analytics()
    analyst = components.is_analyst_view()
    snap = an.snapshot
    first, last = an.date_range()
    ingest = shaping.last_ingest(store.ingest_history(components.settings()))
    created = getattr(snap, "created_at", None)
    rows = [
        html.Li(f"Instantané en service : {an.snapshot_id}" + (f", publié le {components.fmt_paris(created)}" if created else ""))
        if analyst else html.Li(f"Données publiées le {components.fmt_paris(created)} (heure de Paris)" if created else "Données de l'observatoire"),
        html.Li(f"Dernière intégration : {components.fmt_paris(ingest) if ingest is not None else 'aucune enregistrée'} (heure de Paris)"),
        html.Li(f"Faits datés du {labels.fmt_date(first)} au {labels.fmt_date(last)}"),
    ]
    gaps = shaping.recent_gaps(an.coverage(), last, FRESHNESS_MONTHS) if last else None
    if gaps is not None and len(gaps):
        rows.append(html.Li([f"Mois sans données ({FRESHNESS_MONTHS} derniers mois) : ", html.Ul([html.Li(f"{r.partenaire} : {r.mois}") for r in gaps.itertuples()])], className="text-danger"))
    elif gaps is not None:
        rows.append(html.Li(f"Tous les partenaires ont transmis chacun des {FRESHNESS_MONTHS} derniers mois."))
    # Only analysts can open the Données page: an élu is not sent to a page that would refuse them.
    more = html.Small("Couverture détaillée dans l'onglet Données.", className="text-muted") if analyst else None
    return [html.Ul(rows, className="mb-1"), more]
