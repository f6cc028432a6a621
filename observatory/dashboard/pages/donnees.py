"""Données: partners' coverage month by month, ingest history, quarantine, unmapped labels, location quality,
snapshots, and (for analysts) the upload panel."""

from __future__ import annotations

import importlib

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, callback, html

from observatory import figures, labels, schema
from observatory.analytics.filters import Filters
from observatory.dashboard import components, ids, shaping
from observatory.dashboard.components import Col, fmt_any, int_cell, share_cell
from observatory.dashboard.exporting import ExportTable, exportable

dash.register_page(__name__, path="/donnees", name="Données", title="Données — Observatoire", order=4)

DQ_GAPS = ids.DQ_GAPS


def _upload_panel():  # noqa: ANN202
    try:
        upload = importlib.import_module("observatory.dashboard.upload")
    except ModuleNotFoundError:
        return None
    if not components.is_analyst() or not hasattr(upload, "upload_panel"):
        return None
    return upload.upload_panel()


def layout(**_query):  # noqa: ANN003, ANN201
    an = components.analytics()
    upload = _upload_panel()
    head = [html.H1("Données", className="h4")]
    if upload is not None:
        head.append(dbc.Card([dbc.CardHeader(html.H2("Déposer un extrait", className="h6 mb-0")), dbc.CardBody(upload)], className="mb-3 shadow-sm", id=ids.DQ_UPLOAD))
    if not components.has_data(an):
        return html.Div(head + [components.empty_state()])
    return html.Div(
        head
        + [
            components.figure_card(ids.DQ_COVERAGE, "Couverture des partenaires, mois par mois (∅ = aucun fait transmis)"),
            dbc.Row(
                [
                    dbc.Col(components.table_card(DQ_GAPS, "Mois manquants par partenaire"), lg=5),
                    dbc.Col(components.table_card(ids.DQ_LOCATION, "Qualité de localisation"), lg=7),
                ],
                className="g-3",
            ),
            components.table_card(ids.DQ_HISTORY, "Historique des intégrations (par fichier)"),
            dbc.Row(
                [
                    dbc.Col(components.table_card(ids.DQ_QUARANTINE, "Quarantaine : motifs et exemples"), lg=7),
                    dbc.Col(components.table_card(ids.DQ_UNMAPPED, "Libellés non classés"), lg=5),
                ],
                className="g-3",
            ),
            components.table_card(ids.DQ_SNAPSHOTS, "Instantanés publiés", formats=()),
        ]
    )


def _coverage(an, filters):  # noqa: ANN001, ANN202
    f = filters.replace(sources=())  # coverage is about every partner, whatever the partner filter
    counts = an.counts(f, by=("source", "month"))
    first, last = an.date_range(f)
    if first is None:
        return None
    sources = sorted(set(counts["source"].dropna()) | set(filters.sources))
    return shaping.coverage_matrix(counts, sources, filters.start or first, filters.end or last)


@callback(Output(ids.DQ_COVERAGE, "figure"), Output(ids.note(ids.DQ_COVERAGE), "children"), Input(ids.FILTERS, "data"))
def coverage(query):  # noqa: ANN001, ANN201
    an = components.analytics()
    filters = Filters.from_query(query or {})
    matrix = _coverage(an, filters)
    if matrix is None:
        return figures.empty_figure(), ""
    fig = figures.coverage_heatmap(matrix, "source", "month", "count")
    return fig, components.method_note(an, filters.replace(sources=()), extra="tous partenaires affichés quel que soit le filtre partenaire")


@exportable(ids.DQ_COVERAGE, "Couverture des partenaires")
def _coverage_export(an, filters):  # noqa: ANN001, ANN202
    m = _coverage(an, filters)
    return ExportTable(m if m is not None else pd.DataFrame({"source": [], "month": [], "count": []}), ("count",))


@callback(Output(DQ_GAPS, "children"), Output(ids.note(DQ_GAPS), "children"), Input(ids.FILTERS, "data"))
def gaps(query):  # noqa: ANN001, ANN201
    an = components.analytics()
    filters = Filters.from_query(query or {})
    matrix = _coverage(an, filters)
    if matrix is None:
        return "", ""
    g = shaping.missing_months(matrix)
    if g.empty:
        return html.P("Aucun mois manquant : chaque partenaire a transmis chaque mois de la période.", className="mb-0"), ""
    return components.french_table(g, [Col("partenaire", "Partenaire"), Col("mois", "Mois sans données")]), f"{labels.fmt_int(len(g))} mois manquants sur la période."


@exportable(DQ_GAPS, "Mois manquants par partenaire")
def _gaps_export(an, filters):  # noqa: ANN001, ANN202
    m = _coverage(an, filters)
    return ExportTable(shaping.missing_months(m) if m is not None else pd.DataFrame(), ())


@callback(Output(ids.DQ_LOCATION, "children"), Output(ids.note(ids.DQ_LOCATION), "children"), Input(ids.FILTERS, "data"))
def location(query):  # noqa: ANN001, ANN201
    an = components.analytics()
    filters = Filters.from_query(query or {})
    c = an.counts(filters, by=("source", "location_quality"))
    table = shaping.location_quality_table(c)
    cols = [Col("partenaire", "Partenaire"), Col("total", "Faits", int_cell)] + [Col(q, labels.LOCATION_QUALITY_LABELS[q], share_cell) for q in schema.LOCATION_QUALITIES] + [Col("sans_point", "Sans point", share_cell)]
    return components.french_table(table, cols, numeric=["total", *schema.LOCATION_QUALITIES, "sans_point"]), components.method_note(an, filters, extra="« sans point » : secteur seulement ou aucune localisation (comptés dans leur arrondissement si connu, jamais placés sur un point par défaut)")


@exportable(ids.DQ_LOCATION, "Qualité de localisation")
def _location_export(an, filters):  # noqa: ANN001, ANN202
    return ExportTable(an.counts(filters, by=("source", "location_quality")), ("count", "facts"))


@callback(Output(ids.DQ_HISTORY, "children"), Output(ids.note(ids.DQ_HISTORY), "children"), Input(ids.FILTERS, "data"))
def history(_query):  # noqa: ANN001, ANN201
    from observatory import store

    h = store.ingest_history(components.settings())
    if h.empty:
        return html.P("Aucune intégration enregistrée dans les manifestes.", className="mb-0"), ""
    h = h.sort_values("ingested_at", ascending=False).assign(partenaire=lambda d: d["source"].map(labels.source_label))
    cols = [
        Col("ingested_at", "Intégré le", fmt_any),
        Col("partenaire", "Partenaire"),
        Col("source_file", "Fichier"),
        Col("rows_read", "Lues", int_cell),
        Col("accepted", "Acceptées", int_cell),
        Col("quarantined", "Quarantaine", int_cell),
        Col("duplicates", "Doublons", int_cell),
        Col("revisions", "Révisions", int_cell),
        Col("unmapped_labels", "Non classés", int_cell),
        Col("refused", "Refusé", components.yes_no),
        Col("message", "Message", lambda v: "" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v)),
    ]
    return components.french_table(h, cols, numeric=("rows_read", "accepted", "quarantined", "duplicates", "revisions", "unmapped_labels")), "Lues = acceptées + quarantaine + doublons, pour chaque fichier (manifestes des instantanés)."


@exportable(ids.DQ_HISTORY, "Historique des intégrations")
def _history_export(an, filters):  # noqa: ANN001, ANN202
    from observatory import store

    return ExportTable(store.ingest_history(an.settings), ())


@callback(Output(ids.DQ_QUARANTINE, "children"), Output(ids.note(ids.DQ_QUARANTINE), "children"), Input(ids.FILTERS, "data"))
def quarantine(_query):  # noqa: ANN001, ANN201
    from observatory import store

    q = store.read_quarantine(components.settings())
    summary = shaping.quarantine_summary(q)
    if summary.empty:
        return html.P("Aucune ligne en quarantaine.", className="mb-0"), ""
    cols = [Col("partenaire", "Partenaire"), Col("reason", "Motif"), Col("column", "Colonne"), Col("rows", "Lignes", int_cell), Col("example", "Exemple (fichier, ligne : valeurs d'origine)")]
    return components.french_table(summary, cols, numeric=("rows",)), "Les lignes en quarantaine gardent leurs valeurs d'origine ; corriger l'extrait puis le réintégrer."


@exportable(ids.DQ_QUARANTINE, "Quarantaine")
def _quarantine_export(an, filters):  # noqa: ANN001, ANN202
    from observatory import store

    return ExportTable(store.read_quarantine(an.settings), ())


@callback(Output(ids.DQ_UNMAPPED, "children"), Output(ids.note(ids.DQ_UNMAPPED), "children"), Input(ids.FILTERS, "data"))
def unmapped(query):  # noqa: ANN001, ANN201
    an = components.analytics()
    filters = Filters.from_query(query or {}).replace(categories=(schema.NON_CLASSE,), families=())
    c = an.counts(filters, by=("source", "raw_label")).sort_values("count", ascending=False)
    c = c.assign(partenaire=c["source"].map(labels.source_label))
    return components.french_table(c, [Col("partenaire", "Partenaire"), Col("raw_label", "Libellé d'origine"), Col("count", "Faits", int_cell)], numeric=("count",), max_rows=15), "À ajouter à la table de correspondance du partenaire (data/raw/sources/) ; ces faits comptent dans « non classé »."


@exportable(ids.DQ_UNMAPPED, "Libellés non classés")
def _unmapped_export(an, filters):  # noqa: ANN001, ANN202
    return ExportTable(an.counts(filters.replace(categories=(schema.NON_CLASSE,), families=()), by=("source", "raw_label")), ("count", "facts"))


@callback(Output(ids.DQ_SNAPSHOTS, "children"), Input(ids.FILTERS, "data"))
def snapshots(_query):  # noqa: ANN001, ANN201
    from observatory import store

    snaps = store.list_snapshots(components.settings())
    current = components.analytics().snapshot_id
    df = pd.DataFrame(
        [{"id": s.id, "created_at": s.created_at, "rows": sum(int(f.get("rows", 0)) for f in s.manifest.get("files", [])), "current": "en service" if s.id == current else ""} for s in snaps]
    )
    if df.empty:
        return html.P("Aucun instantané.", className="mb-0")
    return components.french_table(df.sort_values("created_at", ascending=False), [Col("id", "Instantané"), Col("created_at", "Publié le", lambda v: labels.fmt_datetime(v)), Col("rows", "Faits", int_cell), Col("current", "")], numeric=("rows",))
