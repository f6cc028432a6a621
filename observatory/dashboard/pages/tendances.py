"""Tendances: monthly series against previous years, period comparisons with significance, seasonality,
hour × weekday, arrondissements side by side, and each category's contribution to the change."""

from __future__ import annotations

from datetime import date

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, callback, html

from observatory import figures, labels, schema
from observatory.analytics.filters import Filters
from observatory.analytics.indicators import BOTH_TOTALS_NOTE
from observatory.dashboard import components, elu_views, geo, ids, shaping
from observatory.dashboard.exporting import ExportTable, exportable

dash.register_page(__name__, path="/tendances", name="Tendances", title="Tendances — Observatoire", order=2)

KINDS = [{"label": "Année civile", "value": "year"}, {"label": "Depuis le 1er janvier", "value": "ytd"}, {"label": "28 derniers jours", "value": "28d"}]
BY = [{"label": "par famille", "value": "family"}, {"label": "par catégorie", "value": "category"}, {"label": "par arrondissement", "value": "arrondissement"}, {"label": "par partenaire", "value": "source"}]
COMPARE_BY = ids.TR_COMPARE_BY
YEARS_OVERLAID = 4
MULTIPLE_TESTS_NOTE = (
    "Beaucoup de groupes sont testés à la fois : à 5 %, environ un sur vingt paraîtrait « significatif » par hasard "
    "sans correction ; la correction de Benjamini-Hochberg limite ces fausses alertes, sans les supprimer"
)
# Columns of compare_periods that give a hidden count back: blanked with it for élus.
CMP_DERIVED = ("diff", "pct_change", "p_value", "p_adjusted", "z", "significant", "unreliable", "phi")


def layout(comparaison: str | None = None, par: str | None = None, **_query):  # noqa: ANN003, ANN201
    an = components.analytics()
    if not components.has_data(an):
        return html.Div([html.H1("Tendances", className="h4"), components.empty_state()])
    kind_value = comparaison if comparaison in {k["value"] for k in KINDS} else "ytd"
    by_value = par if par in {b["value"] for b in BY} else "family"
    compare_controls = dbc.Row(
        [
            dbc.Col(dbc.RadioItems(id=ids.TR_COMPARE_KIND, options=KINDS, value=kind_value, inline=True, className="small"), md=6),
            dbc.Col(dbc.RadioItems(id=COMPARE_BY, options=BY, value=by_value, inline=True, className="small"), md=6),
        ]
    )
    return html.Div(
        [
            html.H1("Tendances", className="h4"),
            dbc.Row(
                [
                    dbc.Col(components.figure_card(ids.TR_MONTHLY, "Faits par mois, années précédentes superposées", height=340), xl=7),
                    dbc.Col(components.figure_card(ids.TR_COMPARE, "Comparaison de périodes (★ = évolution significative)", height=340, controls=compare_controls), xl=5),
                ],
                className="g-3",
            ),
            dbc.Row(
                [
                    dbc.Col(components.figure_card(ids.TR_CONTRIB, "Contributions des catégories à l'évolution", height=380), xl=7),
                    dbc.Col(components.figure_card(ids.TR_SEASONAL, "Profil saisonnier (part moyenne de chaque mois)", height=380), xl=5),
                ],
                className="g-3",
            ),
            dbc.Row(
                [
                    dbc.Col(components.figure_card(ids.TR_HEATMAP, "Heure × jour de la semaine", height=320), xl=5),
                    dbc.Col(components.figure_card(ids.TR_MULTIPLES, "Arrondissements comparés (faits par mois)", height=520), xl=7),
                ],
                className="g-3",
            ),
        ]
    )


def _overlay_filters(an, filters):  # noqa: ANN001, ANN202
    ref = shaping.reference_date(an, filters)
    if ref is None:
        return None, filters
    start = filters.start or date(ref.year - YEARS_OVERLAID + 1, 1, 1)
    return ref, filters.replace(start=start, end=ref)


@callback(Output(ids.TR_MONTHLY, "figure"), Output(ids.note(ids.TR_MONTHLY), "children"), Input(ids.FILTERS, "data"))
def monthly(query):  # noqa: ANN001, ANN201
    an = components.analytics()
    filters = Filters.from_query(query or {})
    if not components.is_analyst():
        return _elu_monthly(an, filters)
    ref, f = _overlay_filters(an, filters)
    if ref is None:
        return figures.empty_figure(), ""
    series = components.view(shaping.month_columns(an.monthly_series(f)), ["count"])
    fig = figures.monthly_overlay(series, "year", "month_of_year", "count", height=340)
    # Action markers are not drawn here: on a janvier…décembre axis overlaying several years a marker's year is
    # ambiguous. They are shaded on the arrondissement small multiples, which have a true time axis.
    acts = shaping.actions_matching(geo.actions(components.settings()), f)
    private = components.privacy_note(series) if series.attrs.get("hidden") else ""
    parts = []
    # The last month is incomplete when the view stops before its end: the filter's end, else the store's last
    # day (not the last fact of a rare category, which says nothing about completeness).
    data_end = filters.end or an.date_range()[1] or ref
    if data_end != (pd.Timestamp(data_end) + pd.offsets.MonthEnd(0)).date():
        parts.append(f"{labels.month_year(data_end.year, data_end.month)} est incomplet (données jusqu'au {labels.fmt_date(data_end)}) et paraît plus bas")
    if len(acts):
        parts.append(f"{len(acts)} action(s) du plan visent ces catégories : leurs périodes sont ombrées sur « Arrondissements comparés »")
    if private:
        parts.append(private)
    return fig, components.method_note(an, f, extra=" ; ".join(parts))


def _elu_monthly(an, filters):  # noqa: ANN001, ANN202
    """Élus: the months of the last closed years, city or one arrondissement, all or one family, from the
    publications (issue 15)."""
    table = elu_views.monthly(an, filters)
    sc = table.attrs["scope"]
    if sc.year is None or table.empty:
        return figures.empty_figure(sc.note(), height=340), ""
    status = table.attrs[shaping.PUBLICATION_STATUS]
    series = shaping.month_columns(table)
    series.attrs[shaping.PUBLICATION_STATUS] = status
    v = components.view(series, ["count"])
    fig = figures.monthly_overlay(v, "year", "month_of_year", "count", height=340)
    period = (date(min(sc.years[-elu_views.MONTHLY_YEARS:] or (sc.year,)), 1, 1), date(sc.year, 12, 31))
    extra = elu_views.territory_label(sc) + " ; " + sc.note() + (" ; " + components.privacy_note(v) if v.attrs.get("hidden") else "")
    return fig, components.method_note(an, filters, period=period, extra=extra)


@exportable(ids.TR_MONTHLY, "Faits par mois")
def _monthly_table(an, filters):  # noqa: ANN001, ANN202
    if not components.is_analyst():
        table = elu_views.monthly(an, filters)
        return ExportTable(table, ("count",), extra_note=table.attrs["scope"].note())
    _ref, f = _overlay_filters(an, filters)
    return ExportTable(an.monthly_series(f), ("count",))


def _comparison(an, filters, kind, by):  # noqa: ANN001, ANN202
    if not components.is_analyst():
        # Élus: a closed year against the year before, from the publications; a 28-day or year-to-date window
        # and partners are not in the publication (issue 15).
        sc = elu_views.scope(an, filters)
        if sc.year is None or by == "source":
            return None, None
        by = by if by in ("family", "category", "arrondissement") else "family"
        cmp = elu_views.compare(an, sc, by)
        if kind != "year":
            cmp.attrs["note"] = "comparaison de l'année civile entière (seule publiée pour les élus) ; " + cmp.attrs.get("note", "")
        return date(sc.year, 12, 31), shaping.with_labels(cmp, by, by)
    ref = shaping.reference_date(an, filters)
    if ref is None:
        return None, None
    cmp = an.compare_periods(filters, kind=kind or "ytd", reference=ref, by=by or "family")
    return ref, shaping.with_labels(cmp, by or "family", by or "family")


@callback(Output(ids.TR_COMPARE, "figure"), Output(ids.note(ids.TR_COMPARE), "children"), Input(ids.FILTERS, "data"), Input(ids.TR_COMPARE_KIND, "value"), Input(COMPARE_BY, "value"))
def compare(query, kind, by):  # noqa: ANN001, ANN201
    an = components.analytics()
    filters = Filters.from_query(query or {})
    ref, cmp = _comparison(an, filters, kind, by)
    if cmp is None and not components.is_analyst():
        return elu_views.withheld_figure(), components.method_note(an, filters, extra=elu_views.WITHHELD)
    if cmp is None or cmp.empty:
        return figures.empty_figure(), ""
    v = components.view(cmp, ["current", "previous"], derived=CMP_DERIVED)
    top = shaping.top_changes(shaping.published_rows(v, ["current", "previous"]), 15)
    r = cmp.iloc[0]
    title = f"{labels.fmt_date(r['current_start'])}–{labels.fmt_date(r['current_end'])} par rapport au {labels.fmt_date(r['previous_start'])}–{labels.fmt_date(r['previous_end'])}"
    fig = figures.change_bars(top, "label", "diff", "significant", pct_col="pct_change", height=340, value_label="Évolution (faits)")
    # Analysts compare every fact by arrondissement; the bilan's arrondissement lines leave the sensitive categories out.
    scope = f" ; {BOTH_TOTALS_NOTE}" if by == "arrondissement" and components.is_analyst() else ""
    return fig, components.method_note(an, filters, period=(r["current_start"], r["current_end"]), extra=f"{title} ; " + cmp.attrs.get("note", "") + " " + MULTIPLE_TESTS_NOTE + scope + (" ; ⚠ : pourcentage sur de petits effectifs, peu fiable" if top.get("unreliable", pd.Series(dtype=bool)).fillna(False).astype(bool).any() else ""))


@exportable(ids.TR_COMPARE, "Comparaison de périodes")
def _compare_table(an, filters, options=None):  # noqa: ANN001, ANN202
    options = options or {}
    kind = options.get("comparaison") if options.get("comparaison") in {k["value"] for k in KINDS} else "ytd"
    by = options.get("par") if options.get("par") in {b["value"] for b in BY} else "family"
    _ref, cmp = _comparison(an, filters, kind, by)
    period = (cmp["current_start"].iloc[0], cmp["current_end"].iloc[0]) if cmp is not None and len(cmp) else None
    if cmp is None and not components.is_analyst():
        return _withheld_table()
    return ExportTable(cmp if cmp is not None else an.counts(filters).iloc[0:0], ("current", "previous"), derived=CMP_DERIVED, period=period)


@callback(Output(ids.TR_CONTRIB, "figure"), Output(ids.note(ids.TR_CONTRIB), "children"), Input(ids.FILTERS, "data"), Input(ids.TR_COMPARE_KIND, "value"))
def contributions(query, kind):  # noqa: ANN001, ANN201
    an = components.analytics()
    filters = Filters.from_query(query or {})
    if not components.is_analyst():
        return _elu_contributions(an, filters)
    ref = shaping.reference_date(an, filters)
    if ref is None:
        return figures.empty_figure(), ""
    contrib = components.view(an.contributions(filters, kind=kind or "ytd", reference=ref, by="category"), ["current", "previous"], derived=("diff", "share_of_change"))
    c = shaping.with_labels(shaping.published_rows(contrib, ["current", "previous"]), "category", "category").head(12)
    raw = an.compare_periods(filters, kind=kind or "ytd", reference=ref)
    cmp = components.view(raw, ["current", "previous"], derived=CMP_DERIVED).iloc[0]
    if pd.isna(cmp["current"]) or pd.isna(cmp["previous"]):
        return figures.empty_figure("Effectifs trop faibles pour être publiés"), components.method_note(an, filters)
    fig = figures.contribution_bars(c, "label", "diff", float(cmp["previous"]), float(cmp["current"]), height=380)
    extra = "les 12 catégories qui ont le plus bougé, barres partant de zéro"
    if len(c) < len(contrib) and contrib.attrs.get("hidden"):
        extra += " ; " + components.privacy_note(contrib) + " (catégories concernées non affichées)"
    return fig, components.method_note(an, filters, period=(raw.iloc[0]["current_start"], raw.iloc[0]["current_end"]), extra=extra)


def _elu_contributions(an, filters):  # noqa: ANN001, ANN202
    """Élus: each category's change between two closed years, both counts published cells (issue 15)."""
    sc = elu_views.scope(an, filters)
    if sc.year is None:
        return figures.empty_figure(sc.note()), ""
    total = elu_views.compare_view(an, sc).iloc[0]
    if pd.isna(total["current"]) or pd.isna(total["previous"]):
        return figures.empty_figure("Effectifs trop faibles pour être publiés"), components.method_note(an, filters, period=sc.period, extra=sc.note())
    cats = elu_views.compare_view(an, sc, "category")
    shown = shaping.published_rows(cats, ["current", "previous"])
    c = shaping.with_labels(shown.reindex(shown["diff"].abs().sort_values(ascending=False, kind="stable").index), "category", "category").head(12)
    fig = figures.contribution_bars(c, "label", "diff", float(total["previous"]), float(total["current"]), height=380)
    extra = f"{sc.year} par rapport à {sc.year - 1} ; les 12 catégories qui ont le plus bougé, barres partant de zéro ; {sc.note()}"
    if len(shown) < len(cats):
        extra += " ; " + components.privacy_note(cats) + " (catégories concernées non affichées)"
    return fig, components.method_note(an, filters, period=sc.period, extra=extra)


@exportable(ids.TR_CONTRIB, "Contributions à l'évolution")
def _contrib_table(an, filters, options=None):  # noqa: ANN001, ANN202
    if not components.is_analyst():
        sc = elu_views.scope(an, filters)
        return ExportTable(elu_views.compare(an, sc, "category"), ("current", "previous"), derived=CMP_DERIVED, period=sc.period, extra_note=sc.note())
    kind = (options or {}).get("comparaison")
    kind = kind if kind in {k["value"] for k in KINDS} else "ytd"
    ref = shaping.reference_date(an, filters)
    return ExportTable(an.contributions(filters, kind=kind, reference=ref, by="category"), ("current", "previous"))


@callback(Output(ids.TR_SEASONAL, "figure"), Output(ids.note(ids.TR_SEASONAL), "children"), Input(ids.FILTERS, "data"))
def seasonal(query):  # noqa: ANN001, ANN201
    an = components.analytics()
    filters = Filters.from_query(query or {})
    if not components.is_analyst():  # shares of months over free filters: not in the publication (issue 15)
        return elu_views.withheld_figure(380), components.method_note(an, filters, extra=elu_views.WITHHELD)
    c = an.counts(filters, by=("month_of_year",))
    if c.empty:
        return figures.empty_figure(), ""
    v = shaping.share_view(c[["month_of_year", "count"]], "count", components.min_count(), analyst=components.is_analyst())
    fig = figures.seasonal_profile(v, "month_of_year", "share", height=380)
    private = components.privacy_note(v) if v.attrs.get("hidden") else ""
    return fig, components.method_note(an, filters, extra="toutes années confondues" + (f" ; {private}" if private else ""))


@exportable(ids.TR_SEASONAL, "Profil saisonnier")
def _seasonal_table(an, filters):  # noqa: ANN001, ANN202
    if not components.is_analyst():
        return _withheld_table()
    return ExportTable(an.counts(filters, by=("month_of_year",)), ("count", "facts"))


@callback(Output(ids.TR_HEATMAP, "figure"), Output(ids.note(ids.TR_HEATMAP), "children"), Input(ids.FILTERS, "data"))
def heatmap(query):  # noqa: ANN001, ANN201
    an = components.analytics()
    filters = Filters.from_query(query or {})
    if not components.is_analyst():  # hour × weekday is not in the publication (issue 15)
        return elu_views.withheld_figure(320), components.method_note(an, filters, extra=elu_views.WITHHELD)
    c = an.counts(filters, by=("weekday", "hour"))
    excluded = c.attrs.get("excluded_imprecise", 0)
    v = components.view(c[["weekday", "hour", "count"]], ["count"], keys=("weekday", "hour"))
    extra = f"{labels.fmt_int(excluded)} faits sans heure précise exclus" if excluded else ""
    if v.attrs.get("hidden"):
        extra += ("; " if extra else "") + components.privacy_note(v) + " (cases vides)"
    return figures.weekday_hour_heatmap(v, height=320), components.method_note(an, filters, extra=extra)


@exportable(ids.TR_HEATMAP, "Faits par heure et jour")
def _heatmap_table(an, filters):  # noqa: ANN001, ANN202
    if not components.is_analyst():
        return _withheld_table()
    return ExportTable(an.counts(filters, by=("weekday", "hour")), ("count", "facts"))


@callback(Output(ids.TR_MULTIPLES, "figure"), Output(ids.note(ids.TR_MULTIPLES), "children"), Input(ids.FILTERS, "data"))
def multiples(query):  # noqa: ANN001, ANN201
    an = components.analytics()
    filters = Filters.from_query(query or {})
    _ref, f = _overlay_filters(an, filters)
    if not components.is_analyst():
        f = shaping.sensitive_free(f)
        table = _elu_multiples(an, f)
        s = components.view(table.df, ["count"], keys=("month", "arrondissement"))
    else:
        s = components.view(an.monthly_series(f, by="arrondissement"), ["count"], keys=("month", "arrondissement"))
    acts = shaping.actions_matching(geo.actions(components.settings()), f)
    periods = acts.rename(columns={"arrondissement": "facet"})[["facet", "start", "end", "title"]]
    fig = figures.small_multiples(s, "arrondissement", "month", "count", facet_labeler=labels.arrondissement_label, height=520, periods=periods)
    extra = "faits dont l'arrondissement est connu ; échelle commune"
    if not components.is_analyst():
        extra += " ; " + table.extra_note
    if len(acts):
        extra += " ; zones ombrées : périodes des actions du plan de l'arrondissement visant ces catégories"
    return fig, components.method_note(an, f, extra=extra)


@exportable(ids.TR_MULTIPLES, "Faits par mois et arrondissement")
def _multiples_table(an, filters):  # noqa: ANN001, ANN202
    _ref, f = _overlay_filters(an, filters)
    if not components.is_analyst():
        return _elu_multiples(an, shaping.sensitive_free(f))
    return ExportTable(an.monthly_series(f, by="arrondissement"), ("count",))


def _withheld_table() -> ExportTable:
    return ExportTable(pd.DataFrame({"count": pd.Series(dtype="float64")}), ("count",), extra_note=elu_views.WITHHELD)


def _elu_multiples(an, f) -> ExportTable:  # noqa: ANN001
    """Élus' months by arrondissement: the stored publications of the years shown (whole months, one family or
    all). Categories are not published by month: with a category filter the series are all categories', and
    the note says so."""
    from observatory.analytics import publication

    node = publication.elu_nomenclature((), f.families) if not f.categories else None
    fams = {schema.category_family(c) for c in schema.categories()}
    note = "séries mensuelles publiées pour les élus (mois entiers ; une famille ou l'ensemble)"
    if node is None or (node != publication.ALL and node not in fams):
        node = publication.ALL
        note += " ; catégories choisies non appliquées"
    # Closed years only: a year still filling would be published again, differently, by every snapshot.
    closed = elu_views.closed_years(an)
    years = [y for y in range(f.start.year, f.end.year + 1) if y in closed] if f.start and f.end else []
    pubs = [publication.publication_for(an.settings, y, an) for y in years]
    df = publication.monthly_by_arrondissement(pubs, node)
    if f.start and f.end:
        df = df[(df["month"] >= pd.Timestamp(f.start.year, f.start.month, 1)) & (df["month"] <= pd.Timestamp(f.end))].reset_index(drop=True)
    df["count"] = df["count"].astype("float64")
    status = pd.DataFrame({"count": df.pop("status").to_numpy()})
    df.attrs[shaping.PUBLICATION_STATUS] = status
    return ExportTable(df, ("count",), extra_note=note)


# The comparison settings are part of the view.
dash.clientside_callback(
    """
    function(kind, by) {
        const params = new URLSearchParams(window.location.search);
        params.set("comparaison", kind);
        params.set("par", by);
        window.history.replaceState(window.history.state, "", window.location.pathname + "?" + params.toString());
        return window.dash_clientside.no_update;
    }
    """,
    Output(ids.TR_COMPARE_KIND, "className"),
    Input(ids.TR_COMPARE_KIND, "value"),
    Input(COMPARE_BY, "value"),
)
