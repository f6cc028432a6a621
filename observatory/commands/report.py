"""``observatory report`` (the yearly diagnostic) and ``observatory export`` (tables and map layers to files)."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import typer

from observatory import labels, schema
from observatory.commands.common import console, fail, settings_or_fail

EXPORT_TABLES = {
    "arrondissements": "Faits et taux par arrondissement",
    "familles": "Faits par famille",
    "categories": "Faits par catégorie",
    "mensuel": "Faits par mois",
    "zones": "Faits par zone",
    "sources": "Faits par source",
}


def report(
    year: int = typer.Option(..., "--year", "-y", help="Année du diagnostic."),
    arrondissement: str = typer.Option(None, "--arrondissement", "-a", help="Code INSEE (69381…69389) ; absent = toute la ville."),
    fmt: str = typer.Option("pdf", "--format", "-f", help="pdf ou html."),
    out: Path = typer.Option(None, "--out", "-o", help="Fichier produit (défaut : diagnostic-<année>-<lieu>.<format>)."),
    internal: bool = typer.Option(False, "--internal", help="Version des analystes : effectifs et estimations des actions (WDD, différence de différences)."),
) -> None:
    """Produce the yearly diagnostic (cover, summary, themes, arrondissements, zones, actions, methods).

    The document is the élus' by default: the actions chapter gives each verdict without the windows' counts and
    estimates, which are not in the year's protected publication; ``--internal`` keeps them (analysts)."""
    from observatory.analytics.engine import AnalyticsError
    from observatory.reports.diagnostic import diagnostic_for
    from observatory.reports.render import RenderError, render_html, html_to_pdf

    settings = settings_or_fail()
    if fmt not in ("pdf", "html"):
        fail(f"--format {fmt!r} : valeurs possibles pdf, html")
    if arrondissement and arrondissement not in schema.ARRONDISSEMENT_CODES:
        fail(f"--arrondissement {arrondissement!r} : code inconnu ; codes possibles {', '.join(schema.ARRONDISSEMENT_CODES)}")
    started = time.perf_counter()
    try:
        diag = diagnostic_for(settings, year, arrondissement)
    except AnalyticsError as exc:
        fail(str(exc))
    if not internal:
        from observatory.reports.diagnostic_actions import for_elus

        diag = for_elus(diag)
    if diag.empty:
        fail(f"aucun fait enregistré en {year} dans l'instantané {diag.snapshot_id} : rien à publier (vérifiez l'année ou lancez l'intégration).")
    html = render_html(diag)
    target = out or Path(f"diagnostic-{year}-{arrondissement or schema.CITY_CODE}.{fmt}")
    try:
        payload = html.encode("utf-8") if fmt == "html" else html_to_pdf(html)
    except RenderError as exc:
        fail(str(exc))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(payload)
    except OSError as exc:
        fail(f"{target} : écriture impossible ({exc.strerror})")
    console.print(
        f"{diag.title} : {target} ({len(diag.figures)} figures, {len(diag.tables)} tableaux, instantané {diag.snapshot_id}, "
        f"{labels.fmt_number(time.perf_counter() - started, 1)}\u00a0s)",
        highlight=False,
    )


def _filters(year, start, end, category, family, arrondissement, source, zone):  # noqa: ANN001, ANN202
    from observatory.analytics import Filters
    from observatory.analytics.filters import FiltersError

    if year is not None:
        start = start or date(year, 1, 1).isoformat()
        end = end or date(year, 12, 31).isoformat()
    try:
        return Filters(start=start, end=end, categories=tuple(category or ()), families=tuple(family or ()),
                       arrondissements=tuple(arrondissement or ()), sources=tuple(source or ()), zones=tuple(zone or ()))
    except FiltersError as exc:
        fail(str(exc))


def _known_sources(settings, an) -> set[str]:  # noqa: ANN001
    """Partners with a profile, a label, or rows in the snapshot (a partner's code may be anything it sent)."""
    from observatory import labels

    known = set(labels.SOURCE_LABELS)
    try:
        known |= {p.stem for p in settings.sources_dir.glob("*.toml")}
    except (AttributeError, OSError):
        pass
    try:
        known |= {str(v) for v in an.query("SELECT DISTINCT source FROM incidents")["source"] if v is not None}
    except Exception:  # noqa: BLE001 - an unreadable snapshot is reported by the export itself
        pass
    return known


def unknown_codes(filters, known: dict[str, set[str]]) -> str | None:  # noqa: ANN001
    """The first filter value that names nothing, as a one-line French message; None when all are known.

    Without this, ``-c pas_une_categorie`` filters on a code no row has and silently writes an empty file.
    """
    what = {
        "categories": ("--category", "catégorie inconnue"),
        "families": ("--family", "famille inconnue"),
        "arrondissements": ("--arrondissement", "arrondissement inconnu"),
        "zones": ("--zone", "zone inconnue"),
        "sources": ("--source", "source inconnue"),
    }
    for field_name, (option, text) in what.items():
        codes = known.get(field_name)
        if codes is None:
            continue
        bad = [v for v in getattr(filters, field_name) if v not in codes]
        if bad:
            listed = sorted(codes)
            shown = ", ".join(listed[:40]) + (f", … ({len(listed)} codes)" if len(listed) > 40 else "")
            return f"{option} {', '.join(repr(b) for b in bad)} : {text} ; codes possibles : {shown}"
    return None


def below_city(table: str, filters) -> bool:  # noqa: ANN001
    """Whether the table's counts are below the city (per arrondissement or zone, or filtered on them)."""
    return table in ("arrondissements", "zones") or bool(filters.arrondissements) or bool(filters.zones)


def public_filters(table: str, filters):  # noqa: ANN001, ANN201
    """The filters of a public export: below the city, the sensitive categories are left out (privacy rule:
    they are published at the city level only, ``analytics.privacy``), the same way the yearly report does."""
    if not below_city(table, filters):
        return filters
    chosen = filters.categories or tuple(schema.categories())
    return filters.replace(categories=tuple(c for c in chosen if c not in schema.sensitive_categories()))


def period_outside_data(filters, data_range) -> str | None:  # noqa: ANN001
    """A French sentence when the asked period lies wholly outside the data (a table of zeros would read as « no
    crime »); None when they overlap."""
    first, last = data_range
    if first is None or last is None:
        return "aucun fait dans l'instantané : rien à exporter (lancez d'abord l'intégration des extraits)."
    start = date.fromisoformat(str(filters.start)) if filters.start else None
    end = date.fromisoformat(str(filters.end)) if filters.end else None
    if (start and start > last) or (end and end < first):
        asked = f"du {labels.fmt_date(start) if start else '…'} au {labels.fmt_date(end) if end else '…'}"
        return (f"aucune donnée pour la période demandée ({asked}) : les faits de l'instantané vont du "
                f"{labels.fmt_date(first)} au {labels.fmt_date(last)}. Rien n'est exporté.")
    return None


PUBLIC_NOT_COVERED = ("--public : {what} n'est pas couvert par la publication protégée de l'année (réservé aux analystes : "
                      "--internal).")


def public_scope(table: str, filters, closed: tuple[int, ...]) -> tuple[int, str, str] | str:  # noqa: ANN001
    """(year, territory, nomenclature node) of a public export, or the French reason it cannot be drawn from the
    publication (pure). A public export is handed to élus: like their views (issue 15), it holds one closed
    calendar year, the city or one arrondissement, everything / one family / one category (months: everything
    or one family) — any other cut (a window, a sum of categories, a source, a zone) is what differencing feeds on."""
    from observatory.analytics import publication

    if table in ("zones", "sources"):
        return PUBLIC_NOT_COVERED.format(what=f"la table {table}")
    if filters.sources or filters.zones:
        return PUBLIC_NOT_COVERED.format(what="un filtre --source ou --zone")
    start, end = filters.start, filters.end
    if start is None or end is None or start.year != end.year or (start.month, start.day, end.month, end.day) != (1, 1, 12, 31):
        return "--public : seules les années civiles entières sont publiées (--year AAAA) ; pour une autre période : --internal."
    year = start.year
    if year not in closed:
        return (f"--public : l'année {year} n'est pas close dans les données (années publiées : "
                f"{', '.join(str(y) for y in closed) or 'aucune'}) ; pour une année en cours : --internal.")
    if len(filters.arrondissements) > 1 or (table == "arrondissements" and filters.arrondissements):
        return "--public : la ville ou un seul arrondissement (la table arrondissements les donne tous) ; sinon : --internal."
    node = publication.elu_nomenclature(filters.categories, filters.families)
    if node is None:
        return "--public : une seule catégorie ou une seule famille (une somme de catégories n'est pas publiée) ; sinon : --internal."
    families = {schema.category_family(c) for c in schema.categories()}
    if table == "mensuel" and node != publication.ALL and node not in families:
        return "--public : les séries mensuelles sont publiées par famille, pas par catégorie ; sinon : --internal."
    geo = filters.arrondissements[0] if filters.arrondissements else schema.CITY_CODE
    return year, geo, node


def public_export_table(settings, an, table: str, filters):  # noqa: ANN001, ANN201
    """The public export drawn from the year's stored publication (the élus' one), or the French reason not."""
    from observatory.analytics import Filters, publication
    from observatory.reports.protection import publication_export

    scope = public_scope(table, filters, publication.closed_years(*an.date_range()))
    if isinstance(scope, str):
        return scope
    year, geo, node = scope
    pub = publication.publication_for(settings, year, an)
    pop = an.rates_by_arrondissement(Filters(), include_city=False)[["arrondissement", "population"]] if table == "arrondissements" else None
    return publication_export(pub, table, geo, node, pop)


def export_table(an, table: str, filters, min_count: int, protected: bool):  # noqa: ANN001, ANN201
    """The table as exported: French column names, codes kept beside labels, protected when ``protected``.

    A protected table goes through ``analytics.privacy.protect`` (adapter ``reports.protection``) after the
    sensitive categories were left out of every count below the city (:func:`public_filters`).
    """
    import pandas as pd

    from observatory import labels
    from observatory.reports.protection import protect_for_export

    if protected:
        filters = public_filters(table, filters)

    if table == "arrondissements":
        df = an.rates_by_arrondissement(filters, include_city=False)
        out = pd.DataFrame({
            "code": df["arrondissement"], "arrondissement": [labels.arrondissement_label(a) for a in df["arrondissement"]],
            "faits": df["count"], "population": df["population"], "taux_pour_1000": df["rate_per_1000"].round(2),
        })
        derived = ("taux_pour_1000",)
    elif table == "zones":
        df = an.rates_by_zone(filters)
        out = pd.DataFrame({"zone_id": df["zone_id"], "type": df["kind"], "zone": df["name"], "faits": df["count"],
                            "surface_km2": df["area_km2"].round(3), "faits_par_km2": df["rate_per_km2"].round(2)})
        derived = ("faits_par_km2",)
    else:
        key = {"familles": "family", "categories": "category", "mensuel": "month", "sources": "source"}[table]
        df = an.counts(filters, by=(key,))
        namer = {"family": labels.family_label, "category": labels.category_label, "source": labels.source_label,
                 "month": lambda m: labels.month_year(m.year, m.month)}[key]
        out = pd.DataFrame({"code": df[key].astype(str), "libellé": [namer(v) for v in df[key]], "faits": df["count"]})
        derived = ()
    out = out.reset_index(drop=True)
    if protected:
        # Zones overlap (no published total); every other table sums to the total of the selection.
        out = protect_for_export(out, ["faits"], min_count, with_total=table != "zones", derived=derived)
    return out


def export(
    table: str = typer.Argument(..., help="Table : " + ", ".join(EXPORT_TABLES)),
    year: int = typer.Option(None, "--year", "-y", help="Année (raccourci pour --start/--end)."),
    start: str = typer.Option(None, "--start", help="Début (AAAA-MM-JJ)."),
    end: str = typer.Option(None, "--end", help="Fin (AAAA-MM-JJ)."),
    category: list[str] = typer.Option(None, "--category", "-c", help="Catégorie (répétable)."),
    family: list[str] = typer.Option(None, "--family", help="Famille (répétable)."),
    arrondissement: list[str] = typer.Option(None, "--arrondissement", "-a", help="Arrondissement (répétable)."),
    source: list[str] = typer.Option(None, "--source", help="Source (répétable)."),
    zone: list[str] = typer.Option(None, "--zone", help="Zone (répétable)."),
    fmt: str = typer.Option("csv", "--format", "-f", help="csv, xlsx ou geojson (arrondissements, zones)."),
    public: bool = typer.Option(True, "--public/--internal", help="--internal : table non protégée, marquée comme telle (analystes)."),
    out: Path = typer.Option(None, "--out", "-o", help="Fichier produit (défaut : nom construit avec les filtres)."),
) -> None:
    """Export a table (or an aggregated map layer) with its filters in the content and in the file name."""
    from observatory.analytics.engine import AnalyticsError, get_analytics
    from observatory.reports.exports import ExportMeta, describe_filters, export_filename, to_csv_bytes, to_geojson_bytes, to_xlsx_bytes

    settings = settings_or_fail()
    if table not in EXPORT_TABLES:
        fail(f"table {table!r} inconnue ; tables possibles : {', '.join(EXPORT_TABLES)}")
    if fmt not in ("csv", "xlsx", "geojson"):
        fail(f"--format {fmt!r} : valeurs possibles csv, xlsx, geojson")
    if fmt == "geojson" and table not in ("arrondissements", "zones"):
        fail("--format geojson : seulement pour les tables arrondissements et zones (couches cartographiques agrégées)")
    filters = _filters(year, start, end, category, family, arrondissement, source, zone)
    try:
        an = get_analytics(settings)
        known = {
            "categories": set(schema.categories()),
            "families": set(schema.families()),
            "arrondissements": set(schema.ARRONDISSEMENT_CODES),
            "zones": {str(z) for z in an.territory.zones["zone_id"]} if filters.zones else set(),
            "sources": _known_sources(settings, an) if filters.sources else set(),
        }
        problem = unknown_codes(filters, known)
        if problem:
            fail(problem)
        outside = period_outside_data(filters, an.date_range())
        if outside:
            fail(outside)
        if public:
            frame = public_export_table(settings, an, table, filters)
            if isinstance(frame, str):
                fail(frame)
        else:
            frame = export_table(an, table, filters, settings.min_count, public)
    except AnalyticsError as exc:
        fail(str(exc))
    title = EXPORT_TABLES[table]
    described = describe_filters(filters)
    if public:
        described += f" ; publication {filters.start.year} des élus (année civile entière, protégée conjointement avec le bilan)"
        if table == "arrondissements":
            described += " ; taux pour 1 000 habitants sur l'année civile"
    elif table in ("arrondissements", "zones"):
        # Rates and densities are per year (analytics.exposure): the file says over which days.
        rates = an.rates_by_arrondissement(filters) if table == "arrondissements" else an.rates_by_zone(filters)
        described += f" ; taux par an : {rates.attrs.get('rate_note', '')}"
    from observatory.reports.protection import rule_name

    rule = (f"{rule_name(settings.min_count)} : nombres de 1 à {settings.min_count - 1} remplacés par « < {settings.min_count} », "
            "masquage complémentaire « s »"
            + (" ; violences sexuelles et intrafamiliales non comptées sous l'échelle de la ville" if below_city(table, filters) else ""))
    meta = ExportMeta(
        title=title,
        source="Observatoire de la délinquance et de la sécurité de Lyon — " + ", ".join(sorted(filters.sources)) if filters.sources else "Observatoire de la délinquance et de la sécurité de Lyon",
        filters=described,
        snapshot_id=str(an.snapshot_id),
        privacy=rule if public else "NON PROTÉGÉ — usage interne analystes, ne pas publier",
        protected=public,
    )
    if fmt == "csv":
        payload = to_csv_bytes(frame, meta)
    elif fmt == "xlsx":
        payload = to_xlsx_bytes(frame, meta)
    else:
        terr = an.territory
        layer = terr.arrondissements[["code", "geometry"]] if table == "arrondissements" else terr.zones[["zone_id", "geometry"]]
        payload = to_geojson_bytes(layer, meta, frame, key="code" if table == "arrondissements" else "zone_id")
    target = out or Path(export_filename(title, filters, fmt, public))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(payload)
    except OSError as exc:
        fail(f"{target} : écriture impossible ({exc.strerror})")
    console.print(f"{title} : {target} ({len(frame)} lignes, {'protégé' if public else 'NON PROTÉGÉ'})", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("report")(report)
    app.command("export")(export)
