"""CSV / XLSX / GeoJSON exports of what a card shows, with the current filters in the content and the name.

A page declares, next to its callback, how to rebuild the table behind a card::

    @exportable(ids.TR_MONTHLY, "Faits par mois")
    def _monthly_table(an, filters):
        return ExportTable(an.monthly_series(filters), value_cols=("count",))

One server callback per card (installed by ``create_app``) answers its export buttons: it rebuilds the table with the
filters of the URL and, for anyone who is not an analyst, protects it with ``shaping.protected_view`` — the
very function the figures use, with the same value columns, keys and row totals, so an élu's file holds the
protected table the card shows and nothing more. Every value computed from a count (rates, changes, tests,
shares…, :data:`DERIVED`) is blanked on a row where a count is withheld. The table then goes through
:func:`french_frame` (one mapping of column names to French headers, :data:`HEADERS`, rounding, « oui/non »,
French dates and months) and ``observatory.reports.exports``. The registry maps ids to functions, filled at
import time only.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pandas as pd
from dash import ALL, MATCH, Input, Output, State, dcc, no_update

from observatory import labels
from observatory.dashboard import ids
from observatory.reports.exports import ExportMeta, slug, to_csv_bytes, to_xlsx_bytes

PARIS = ZoneInfo("Europe/Paris")


@dataclass(frozen=True)
class ExportTable:
    """The data behind a card. ``value_cols`` are the counts (protected for élus with ``keys`` and
    ``row_totals`` exactly as the card's figure protects them); ``derived`` adds columns computed from them to
    :data:`DERIVED`; ``period`` is the period the table covers (default: the filters' period, open ends closed
    on the data)."""

    df: pd.DataFrame
    value_cols: tuple[str, ...] = ("count",)
    geojson: dict | None = None  # aggregated map layer, for the GeoJSON button (its features keyed by ``geo_key``)
    title: str = ""
    extra_note: str = ""
    columns: dict = field(default_factory=dict)  # code column -> French header in the file (beyond HEADERS)
    keys: tuple[str, ...] | None = None
    derived: tuple[str, ...] = ()
    row_totals: bool = True
    period: tuple[date | None, date | None] | None = None
    geo_key: str | None = None
    cellwise: bool = False  # rows protected one by one (overlapping zones), as the card's table is


# Columns computed from counts: on a row where a count is withheld they would give it back (current − diff,
# rate × population, a p-value or z of two small counts…), so they are withheld with it.
DERIVED = (
    "diff", "pct_change", "p_value", "p_adjusted", "z", "significant", "unreliable", "rate_per_1000", "rate_per_km2", "share",
    "share_of_change", "pai", "ratio", "p_value_vs_previous", "significant_vs_previous", "mean_per_month",
    "share_without_point", "persistence",
)

# One mapping of column names to French headers for every dashboard export (lower case, no spaces, like the
# CLI's exports: code;arrondissement;faits;population;taux_pour_1000). Code columns keep their code under
# ``code_…`` and get their French label beside them (:data:`LABELLED`).
HEADERS = {
    "arrondissement": "code_arrondissement",
    "category": "code_categorie",
    "family": "code_famille",
    "source": "code_partenaire",
    "zone_id": "code_zone",
    "zone": "code_zone",
    "kind": "type_zone",
    "name": "zone",
    "count": "faits",
    "facts": "faits",
    "incidents": "faits",
    "population": "population",
    "vintage": "millesime_population",
    "rate_per_1000": "taux_pour_1000",
    "area_km2": "surface_km2",
    "rate_per_km2": "faits_par_km2",
    "current": "periode_en_cours",
    "previous": "periode_precedente",
    "diff": "evolution_faits",
    "pct_change": "evolution_pct",
    "p_value": "p_valeur",
    "p_adjusted": "p_valeur_corrigee",
    "z": "z",
    "significant": "significatif",
    "unreliable": "effectifs_faibles",
    "current_start": "debut_periode_en_cours",
    "current_end": "fin_periode_en_cours",
    "previous_start": "debut_periode_precedente",
    "previous_end": "fin_periode_precedente",
    "share": "part_pct",
    "share_of_change": "part_de_l_evolution_pct",
    "pai": "pai",
    "month": "mois",
    "year": "annee",
    "month_of_year": "mois",
    "weekday": "jour",
    "hour": "heure",
    "where": "emplacement",
    "grid_cell": "maille",
    "cell_id": "maille",
    "lon": "longitude",
    "lat": "latitude",
    "x": "x_lambert93",
    "y": "y_lambert93",
    "class": "classe",
    "confidence": "confiance_pct",
    "gi": "gi",
    "quarters_hot": "trimestres_chauds",
    "n_quarters": "trimestres",
    "persistence": "persistance_pct",
    "hot_last": "chaude_au_dernier_trimestre",
    "expected": "faits_attendus_par_mois",
    "status": "statut",
    "mois": "mois",
    "partenaire": "partenaire",
    "without_point": "sans_point",
    "share_without_point": "sans_point_pct",
    "raw_label": "libelle_d_origine",
    "first_seen": "vu_la_premiere_fois",
    "last_seen": "vu_la_derniere_fois",
    "snapshot_id": "instantane",
    "ingested_at": "integre_le",
    "source_file": "fichier",
    "sha256": "sha256",
    "rows_read": "lues",
    "accepted": "acceptees",
    "quarantined": "quarantaine",
    "duplicates": "doublons",
    "revisions": "revisions",
    "unmapped_labels": "libelles_non_classes",
    "refused": "refuse",
    "message": "message",
    "batch_id": "lot",
    "source_row": "ligne",
    "column": "colonne",
    "reason": "motif",
    "original": "valeurs_d_origine",
    "quarantined_at": "mis_en_quarantaine_le",
    "action_id": "action",
    "title": "titre",
    "type": "code_type",
    "type_label": "type",
    "partner": "porteur",
    "start": "debut",
    "end": "fin",
    "periode": "periode",
    "statut": "statut_action",
    "categories_labels": "categories_visees",
    "radius_m": "rayon_m",
    "objective": "objectif",
    "notes": "notes",
    "point": "point_coordonnees",
    "address": "adresse_ou_site",
    "sector": "secteur_seulement",
    "none": "sans_localisation",
}
# Code columns that get a French label column right after them: header of the label, labeller.
LABELLED = {
    "arrondissement": ("arrondissement", lambda v: labels.arrondissement_label(v) if isinstance(v, str) and v else "Arrondissement inconnu"),
    "category": ("categorie", labels.category_label),
    "family": ("famille", labels.family_label),
    "source": ("partenaire", labels.source_label),
}
# Display columns the pages add for their own tables; the export makes its own labels (no duplicated column).
DISPLAY_ONLY = ("label", "nom", "libelle", "partenaire_label", "group", "note", "status_label", "type_label_short",
                "arrondissement_label", "categories", "kind_label")
# Decimals per column (rates 1, areas 3, p-values 3…); percentages are written in percent.
DECIMALS = {"rate_per_1000": 1, "rate_per_km2": 1, "area_km2": 3, "p_value": 3, "p_adjusted": 3, "p_value_vs_previous": 3, "z": 2,
            "pai": 2, "ratio": 2, "mean_per_month": 1, "lon": 5, "lat": 5, "gi": 2, "expected": 1, "x": 0, "y": 0}
PERCENT = {"pct_change": 1, "share": 1, "share_of_change": 1, "share_without_point": 1, "persistence": 0}
WHERE_LABELS = {"dedans": "dans la zone", "dehors": "reste de la ville"}
SECRET_NOTE = "« secret » : masqué pour éviter de retrouver une petite valeur par différence"


def _missing(v) -> bool:  # noqa: ANN001
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v))


def _french_value(col: str, v):  # noqa: ANN001, ANN202 - one cell of the French file
    from observatory.dashboard.components import paris_time

    if _missing(v):
        return None
    if isinstance(v, str):
        if col == "where":
            return WHERE_LABELS.get(v, v)
        if col == "kind":
            return labels.ZONE_KIND_LABELS.get(v, v)
        if col == "class":
            from observatory.figures import HOTSPOT_LABELS

            return HOTSPOT_LABELS.get(v, v)
        return v
    if isinstance(v, (bool,)) or type(v).__name__ == "bool_":
        return "oui" if bool(v) else "non"
    if col == "month" and hasattr(v, "year") and hasattr(v, "month"):
        return labels.month_year(v.year, v.month)
    if col == "month_of_year":
        return labels.month_name(int(v))
    if col == "weekday":
        return labels.WEEKDAYS[int(v)]
    if isinstance(v, (pd.Timestamp, datetime)):
        ts = pd.Timestamp(v)
        if ts.tzinfo is not None or ts.hour or ts.minute:
            return labels.fmt_datetime(paris_time(ts))
        return labels.fmt_date(ts)
    if isinstance(v, date):
        return labels.fmt_date(v)
    if col in PERCENT:
        return round(float(v) * 100, PERCENT[col])
    if col in DECIMALS:
        d = DECIMALS[col]
        return int(round(float(v))) if d == 0 else round(float(v), d)
    if isinstance(v, float) and v.is_integer() and col not in DECIMALS:
        return int(v)
    if isinstance(v, float):
        return round(v, 3)
    return v.item() if hasattr(v, "item") else v


def french_frame(df: pd.DataFrame, columns: dict | None = None) -> pd.DataFrame:
    """The table as written in a file: French headers (:data:`HEADERS`, then ``columns``), a French label after
    each code column, rounded numbers, « oui/non », dates dd/mm/yyyy (times in Paris time), months « mars 2025 »,
    « dans la zone / reste de la ville ». Display-only columns of the pages are dropped (the file builds its own
    labels), and so is a column that repeats another one (``group`` = ``category``)."""
    columns = columns or {}
    keep = [c for c in df.columns if c not in DISPLAY_ONLY and not str(c).endswith("_text")]
    out = {}
    for col in keep:
        header = columns.get(col) or HEADERS.get(col, col)
        values = [_french_value(col, v) for v in df[col].tolist()]
        if header in out:
            if out[header] == values:
                continue  # the same column twice (e.g. compare_periods' group and category)
            header = f"{header}_{col}"
        out[header] = values
        if col in LABELLED:
            lab_header, fn = LABELLED[col]
            out[lab_header] = [fn(o) if isinstance(o, str) else (fn(None) if col == "arrondissement" else None) for o in df[col].tolist()]
    return pd.DataFrame(out)


def publish(table: ExportTable, min_count: int, analyst: bool) -> pd.DataFrame:
    """The table's rows for the viewer: analysts get the counts as they are; anyone else gets exactly the
    protected table the card shows (``shaping.protected_view``: same value columns, keys and row totals),
    a withheld count written « < 5 » or « secret » and every derived value of its row blanked."""
    from observatory.dashboard import shaping

    df = table.df
    value_cols = [c for c in table.value_cols if c in df.columns]
    if analyst:
        return df.reset_index(drop=True)
    derived = tuple(dict.fromkeys(DERIVED + tuple(table.derived)))
    if table.cellwise:
        v = shaping.cellwise_view(df, value_cols, min_count, analyst=False, derived=derived)
    else:
        v = shaping.protected_view(df, value_cols, min_count, analyst=False, keys=table.keys, derived=derived, row_totals=table.row_totals)
    out = v.drop(columns=[f"{c}_text" for c in value_cols])
    for c in value_cols:
        out[c] = [int(x) if pd.notna(x) else (t if t != "–" else None) for x, t in zip(v[c], v[f"{c}_text"])]
    out.attrs = dict(v.attrs)
    return out


def registered() -> dict[str, str]:
    """Target id -> title of every exportable card (for tests and the benchmark)."""
    return {k: v[0] for k, v in _BUILDERS.items()}


_BUILDERS: dict[str, tuple[str, Callable, str]] = {}  # target -> (title, builder, module of the page that declared it)


def exportable(target: str, title: str) -> Callable:
    """Register ``fn(analytics, filters) -> ExportTable`` as the data behind the card ``target``."""

    def deco(fn: Callable) -> Callable:
        _BUILDERS[target] = (title, fn, fn.__module__)
        return fn

    return deco


def describe_filters(filters, period: tuple[date | None, date | None] | None = None) -> str:  # noqa: ANN001 - analytics Filters
    """The filters in French, for the file's metadata; ``period`` is the period the table really covers."""
    from observatory.dashboard.components import period_text

    start, end = period if period is not None else (filters.start, filters.end)
    parts = [f"période {period_text(start, end)}"]
    if filters.families:
        parts.append("familles : " + ", ".join(labels.family_label(f) for f in filters.families))
    if filters.categories and filters.categories != ("__aucune__",):
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


def file_stem(title: str, filters, period: tuple[date | None, date | None] | None = None) -> str:  # noqa: ANN001
    """'faits-par-mois_du-2024-01-01_au-2024-12-31_vols' — the view in the file name, period first."""
    q = filters.to_query()
    start, end = period if period is not None else (filters.start, filters.end)
    bits = [title]
    if start or end:
        bits.append(f"du-{start.isoformat() if start else 'debut'}_au-{end.isoformat() if end else 'fin'}")
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


def table_period(an, filters, table: ExportTable) -> tuple[date | None, date | None]:  # noqa: ANN001
    """The period a table covers: its own, else the filters' with open ends closed on the data."""
    if table.period is not None:
        return tuple(None if _missing(d) else pd.Timestamp(d).date() for d in table.period)  # type: ignore[return-value]
    start, end = filters.start, filters.end
    if start is None or end is None:
        lo, hi = an.date_range(filters)
        start, end = start or lo, end or hi
    return start, end


def build_export(target: str, fmt: str, query: dict, analyst: bool, options: dict | None = None):  # noqa: ANN201 - dcc.send_bytes dict or None
    """The download payload for one button; None when the target is unknown or the format not offered.

    ``options``: the address's query (the page options beside the filters, e.g. ``couche=grid`` on the Carte),
    so that a file holds what the page shows.
    """
    from observatory.analytics.filters import Filters
    from observatory.dashboard.components import analytics, settings

    if target not in _BUILDERS:
        return None
    title, fn, _module = _BUILDERS[target]
    filters = Filters.from_query(query or {})
    an = analytics()
    min_count = settings().min_count
    table: ExportTable = _call_builder(fn, an, filters, {k: v for k, v in (options or {}).items() if isinstance(v, str)})
    published = publish(table, min_count, analyst)
    protected = not analyst
    notes = [table.extra_note] if table.extra_note else []
    if "note" in table.df.columns:
        notes += [str(n) for n in pd.unique(table.df["note"].dropna()) if str(n)]
    privacy = ""
    if protected:
        privacy = f"effectifs de 1 à {min_count - 1} écrits « < {min_count} » ; {SECRET_NOTE} ; valeurs calculées à partir d'un effectif masqué (taux, évolutions, tests) laissées vides"
    period = table_period(an, filters, table)
    meta = ExportMeta(
        title=table.title or title,
        source="Observatoire de la délinquance et de la sécurité de Lyon" + "".join(f" ; {n}" for n in notes),
        filters=describe_filters(filters, period),
        snapshot_id=an.snapshot_id,
        privacy=privacy,
        protected=protected,
        created_at=datetime.now(PARIS).replace(microsecond=0, tzinfo=None),
    )
    stem = file_stem(table.title or title, filters, period)
    if fmt == "svg":  # map cards: a vector map of the same rows (dashboard/map_svg.py)
        from observatory.dashboard import map_svg

        svg = map_svg.render_export(target, table, published, meta, {k: v for k, v in (options or {}).items() if isinstance(v, str)})
        return dcc.send_string(svg, f"{stem}.svg") if svg is not None else None
    if fmt == "csv":
        return dcc.send_bytes(to_csv_bytes(french_frame(published, table.columns), meta), f"{stem}.csv")
    if fmt == "xlsx":
        return dcc.send_bytes(to_xlsx_bytes(french_frame(published, table.columns), meta), f"{stem}.xlsx")
    if fmt == "geojson" and table.geojson is not None:
        collection = {"type": "FeatureCollection", "features": _geo_features(table, published)}
        collection["metadata"] = dict(meta.rows())
        return dcc.send_string(json.dumps(collection, ensure_ascii=False), f"{stem}.geojson")
    return None


def _geo_features(table: ExportTable, published: pd.DataFrame) -> list[dict]:
    """The layer's features with the published row of their key as French properties (so the file carries
    what the table carries, withheld values included); layers without a key keep their own properties."""
    feats = table.geojson.get("features", []) if table.geojson else []
    key = table.geo_key
    if key is None or key not in published.columns:
        return feats
    fr = french_frame(published, table.columns)
    records = {str(k): {c: v for c, v in rec.items()} for k, rec in zip(published[key].tolist(), fr.to_dict("records"))}
    out = []
    for f in feats:
        rec = records.get(str(f.get("id")))
        if rec is None:
            continue
        props = {k: v for k, v in (f.get("properties") or {}).items() if k in ("id", "name", "nom", "kind")}
        out.append({**f, "properties": {**props, **rec}})
    return out


def export_roles(target: str) -> tuple[str, ...]:
    """Roles that may download the card ``target``: those of the page whose module registered it (an élu gets
    the protected tables of the pages it may open, nothing else); analysts only when that page is not known."""
    import dash

    from observatory.dashboard import access, security

    module = _BUILDERS[target][2] if target in _BUILDERS else ""
    page = dash.page_registry.get(module)
    if page is None:
        return access.ANALYST_ROLES
    return tuple(r for r in security.page_roles(page.get("path", "")) if r)


def _install_export(app, target: str) -> None:  # noqa: ANN001 - dash.Dash
    """The server callback of one card's downloads. One per card, so that the table served is fixed by the
    callback the server registered (its identity), never by an id the browser sends."""
    from observatory.dashboard import access

    @app.callback(
        Output(ids.export_download(target), "data"),
        Input(ids.export_request(target), "data"),
        State(ids.FILTERS, "data"),
        prevent_initial_call=True,
    )
    def _export(request, query):  # noqa: ANN001, ANN202
        if not isinstance(request, dict) or not request.get("fmt"):
            return no_update
        from observatory.dashboard.components import is_analyst

        options = request.get("options") if isinstance(request.get("options"), dict) else {}
        payload = build_export(target, str(request["fmt"]), query or {}, is_analyst(), options)
        return payload if payload is not None else no_update

    roles = export_roles(target)
    if roles != access.ANALYST_ROLES:
        access.allow_callback(roles, access.output_key(ids.export_download(target), "data"))


def install(app) -> None:  # noqa: ANN001 - dash.Dash
    """The callbacks behind every export button of every page.

    A click is first seen in the browser, which records the format and the address's query (page options such
    as the map layer live there, written by the pages) in the card's ``export-req`` store; the card's own
    server callback then builds the file from the filters and those options. The SVG button asks Plotly, in
    the browser, for the figure as drawn. Call after the pages are imported (they register their cards).
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

    for target in sorted(_BUILDERS):
        _install_export(app, target)

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
