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
from observatory.dashboard.components import Col, int_cell, share_cell
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
                    dbc.Col(components.table_card(ids.DQ_UNMAPPED, "Libellés non classés"), lg=7),
                ],
                className="g-3",
            ),
            # Wide tables get the full width (no horizontal scrolling of their last columns).
            components.table_card(ids.DQ_LOCATION, "Qualité de localisation"),
            components.table_card(ids.DQ_HISTORY, "Historique des intégrations (par partenaire, puis par fichier)"),
            components.table_card(ids.DQ_QUARANTINE, "Quarantaine : motifs et exemples"),
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


def _gaps(an, filters):  # noqa: ANN001, ANN202
    f = filters.replace(sources=())
    first, last = an.date_range(f)
    if last is None:
        return None, None
    cov = an.coverage(f)
    return shaping.coverage_gaps(cov, filters.end or last, filters.start), cov.attrs.get("note", "")


@callback(Output(DQ_GAPS, "children"), Output(ids.note(DQ_GAPS), "children"), Input(ids.FILTERS, "data"))
def gaps(query):  # noqa: ANN001, ANN201
    an = components.analytics()
    g, note = _gaps(an, Filters.from_query(query or {}))
    if g is None:
        return "", ""
    if g.empty:
        return html.P("Aucun mois manquant : chaque partenaire a transmis chaque mois attendu de la période.", className="mb-0"), note
    cols = [Col("partenaire", "Partenaire"), Col("mois", "Mois sans données"), Col("status", "Nature", lambda v: "extrait en retard" if v == "retard" else "lacune")]
    return components.french_table(g, cols, max_rows=60), f"{labels.fmt_int(len(g))} mois manquant{'s' if len(g) > 1 else ''} sur la période. {note}"


@exportable(DQ_GAPS, "Mois manquants par partenaire")
def _gaps_export(an, filters):  # noqa: ANN001, ANN202
    g, _note = _gaps(an, filters)
    return ExportTable(g if g is not None else pd.DataFrame(), ())


@callback(Output(ids.DQ_LOCATION, "children"), Output(ids.note(ids.DQ_LOCATION), "children"), Input(ids.FILTERS, "data"))
def location(query):  # noqa: ANN001, ANN201
    an = components.analytics()
    filters = Filters.from_query(query or {})
    table = shaping.location_quality_table(an.location_quality(filters))
    cols = [Col("partenaire", "Partenaire"), Col("total", "Faits", int_cell)] + [Col(q, labels.LOCATION_QUALITY_LABELS[q], share_cell) for q in schema.LOCATION_QUALITIES] + [Col("sans_point", "Sans point", share_cell)]
    return html.Div(components.french_table(table, cols, numeric=["total", *schema.LOCATION_QUALITIES, "sans_point"]), className="wrap-table"), components.method_note(an, filters, extra="« sans point » : secteur seulement ou aucune localisation (comptés dans leur arrondissement si connu, jamais placés sur un point par défaut)")


@exportable(ids.DQ_LOCATION, "Qualité de localisation")
def _location_export(an, filters):  # noqa: ANN001, ANN202
    return ExportTable(an.location_quality(filters), ("incidents", "without_point", *schema.LOCATION_QUALITIES))


# The Données page used to list every ingested file and every quarantine reason (hundreds of rows each on the
# demo data, ~4,500 Dash components): Chromium took 30–90 s to render it. The page now shows summaries — per
# partner, per kind of problem — and the latest files behind a disclosure; the exports keep every row.
LATEST_FILES = 20


def _history(an):  # noqa: ANN001, ANN202
    """``store.ingest_history``, cached with the snapshot (the manifest's ledger) and the refused-files log."""
    from observatory import store

    refused = an.settings.processed_dir / store.REFUSED_FILE
    stamp = (refused.stat().st_mtime_ns, refused.stat().st_size) if refused.exists() else None
    return an.cached("dashboard.ingest_history", lambda a, _stamp: store.ingest_history(a.settings), stamp)


def _quarantine(an):  # noqa: ANN001, ANN202
    """Quarantine summary of the analytics' snapshot (a snapshot's quarantine never changes: cached with it)."""
    from observatory import store

    return an.cached("dashboard.quarantine_summary", lambda a: shaping.quarantine_summary(store.read_quarantine(a.settings, a.snapshot)))


HISTORY_COLS = [
    Col("rows_read", "Lues", int_cell),
    Col("accepted", "Acceptées", int_cell),
    Col("quarantined", "Quarantaine", int_cell),
    Col("duplicates", "Doublons", int_cell),
    Col("revisions", "Révisions", int_cell),
    Col("unmapped_labels", "Non classés", int_cell),
]


@callback(Output(ids.DQ_HISTORY, "children"), Output(ids.note(ids.DQ_HISTORY), "children"), Input(ids.FILTERS, "data"))
def history(_query):  # noqa: ANN001, ANN201
    an = components.analytics()
    h = _history(an)
    if h.empty:
        return html.P("Aucune intégration enregistrée dans les manifestes.", className="mb-0"), ""
    numeric = [c.name for c in HISTORY_COLS]
    by_partner = components.french_table(
        shaping.ingest_by_partner(h),
        [Col("partenaire", "Partenaire"), Col("files", "Fichiers intégrés", int_cell), Col("first_ingest", "Première intégration", components.fmt_paris), Col("last_ingest", "Dernière intégration", components.fmt_paris), *HISTORY_COLS,
         Col("refused_files", "Fichiers refusés", int_cell), Col("refused_rows", "Lignes des fichiers refusés", int_cell)],
        numeric=["files", "refused_files", "refused_rows", *numeric],
    )
    latest = shaping.latest_files(h, LATEST_FILES)
    files = components.french_table(
        latest,
        [Col("ingested_at", "Intégré le (heure de Paris)", components.fmt_paris), Col("partenaire", "Partenaire"), Col("source_file", "Fichier"), *HISTORY_COLS, Col("refused", "Refusé", components.yes_no), Col("message", "Message", lambda v: "" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v))],
        numeric=numeric,
    )
    shown = f"{labels.fmt_int(len(latest))} derniers fichiers sur {labels.fmt_int(len(h))}" if len(h) > len(latest) else f"Les {labels.fmt_int(len(h))} fichiers"
    details = html.Details([html.Summary(f"{shown} (détail par fichier ; l'export contient tout l'historique)", className="small"), files], className="mt-2", id="data-history-files")
    return html.Div([by_partner, details], className="wrap-table"), "Lues = acceptées + quarantaine + doublons, pour chaque fichier intégré et chaque partenaire (manifestes des instantanés) ; les lignes des fichiers refusés, jamais publiées, sont comptées à part, une fois par fichier distinct (un fichier refusé deux fois compte une fois)."


@exportable(ids.DQ_HISTORY, "Historique des intégrations")
def _history_export(an, filters):  # noqa: ANN001, ANN202
    from observatory import store

    return ExportTable(store.ingest_history(an.settings), ())


@callback(Output(ids.DQ_QUARANTINE, "children"), Output(ids.note(ids.DQ_QUARANTINE), "children"), Input(ids.FILTERS, "data"))
def quarantine(_query):  # noqa: ANN001, ANN201
    summary = _quarantine(components.analytics())
    if summary.empty:
        return html.P("Aucune ligne en quarantaine.", className="mb-0"), ""
    cols = [Col("partenaire", "Partenaire"), Col("reason", "Motif"), Col("column", "Colonne"), Col("rows", "Lignes", int_cell), Col("files", "Fichiers", int_cell), Col("example", "Exemple (fichier, ligne : motif détaillé — valeurs d'origine)")]
    note = f"{labels.fmt_int(int(summary['rows'].sum()))} lignes en quarantaine, regroupées par motif ; elles gardent leurs valeurs d'origine (toutes dans l'export) : corriger l'extrait puis le réintégrer."
    return html.Div(components.french_table(summary, cols, numeric=("rows", "files"), max_rows=30), className="wrap-table"), note


@exportable(ids.DQ_QUARANTINE, "Quarantaine")
def _quarantine_export(an, filters):  # noqa: ANN001, ANN202
    from observatory import store

    return ExportTable(store.read_quarantine(an.settings), ())


def _unmapped_filters(filters):  # noqa: ANN001, ANN202
    # Unmapped labels are the "non classé" category whatever the category filter: keep the other filters only.
    return filters.replace(categories=(), families=())


@callback(Output(ids.DQ_UNMAPPED, "children"), Output(ids.note(ids.DQ_UNMAPPED), "children"), Input(ids.FILTERS, "data"))
def unmapped(query):  # noqa: ANN001, ANN201
    an = components.analytics()
    filters = _unmapped_filters(Filters.from_query(query or {}))
    table = shaping.unmapped_table(an.unmapped_labels(filters))
    cols = [Col("partenaire", "Partenaire"), Col("raw_label", "Libellé d'origine"), Col("count", "Faits", int_cell), Col("periode", "Vu")]
    return components.french_table(table, cols, numeric=("count",), max_rows=15), "À ajouter à la table de correspondance du partenaire (data/raw/sources/) ; ces faits comptent dans « non classé »."


@exportable(ids.DQ_UNMAPPED, "Libellés non classés")
def _unmapped_export(an, filters):  # noqa: ANN001, ANN202
    return ExportTable(an.unmapped_labels(_unmapped_filters(filters)), ("count",))


@callback(Output(ids.DQ_SNAPSHOTS, "children"), Input(ids.FILTERS, "data"))
def snapshots(_query):  # noqa: ANN001, ANN201
    from observatory import store

    snaps = store.list_snapshots(components.settings())
    current = components.analytics().snapshot_id
    df = shaping.snapshots_table(snaps, current)
    if df.empty:
        return html.P("Aucun instantané.", className="mb-0")
    return components.french_table(df, [Col("id", "Instantané"), Col("created_at", "Publié le (heure de Paris)", components.fmt_paris), Col("rows", "Faits", int_cell), Col("current", "")], numeric=("rows",))
