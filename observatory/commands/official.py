"""``observatory official``: fetch, import and show the official statistics (SSMSI communal base)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn
from rich.table import Table

from observatory.commands.common import console, fail, fmt_day, fmt_paris, french_typer, settings_or_fail
from observatory.labels import arrondissement_label, fmt_int, fmt_number

official_app = french_typer(
    help="Statistiques officielles (SSMSI) : télécharger, importer et afficher les chiffres de Lyon par arrondissement."
)


def _communes(commune: list[str] | None, all_communes: bool) -> list[str] | None:
    from observatory.official import LYON_CODES

    if all_communes:
        return None
    return sorted(set(LYON_CODES) | {c.strip() for c in (commune or []) if c.strip()})


def _print_import(result) -> None:
    years = f"{result.years[0]}–{result.years[1]}" if result.years else "aucune"
    console.print(
        f"Édition {result.edition} importée : {fmt_int(result.rows)} lignes gardées sur {fmt_int(result.rows_read)} lues "
        f"({len(result.codes)} code(s) géographique(s), années {years}), {fmt_int(result.ndiff_rows)} non diffusée(s), "
        f"taux vérifiés {fmt_int(result.rate_checked)} dont {fmt_int(result.rate_mismatches)} en écart.",
        highlight=False,
    )
    prod = fmt_day(result.production_date) if result.production_date else "inconnue"
    console.print(f"Date de production : {prod} ({result.production_date_origin}).", highlight=False)
    for warning in result.warnings:
        console.print(f"[yellow]Attention[/] : {warning}", highlight=False)


@official_app.command("fetch")
def fetch(
    url: str = typer.Option(None, "--url", metavar="URL", help="Adresse de l'API du jeu de données, à la place du réglage official_dataset_url."),
    do_import: bool = typer.Option(True, "--import/--no-import", help="Importer le fichier téléchargé aussitôt (ou non)."),
    commune: list[str] = typer.Option(None, "--commune", metavar="CODE_INSEE", help="Garder aussi cette commune (option répétable)."),
    all_communes: bool = typer.Option(False, "--all-communes", help="Garder toutes les communes du fichier."),
) -> None:
    """Trouver le fichier communal SSMSI en cours sur data.gouv.fr, le télécharger dans data/raw/official/ et l'importer."""
    from observatory.official import OfficialError, fetch_official, import_official

    settings = settings_or_fail()
    columns = (TextColumn("[bold]SSMSI"), BarColumn(), DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn())
    try:
        with Progress(*columns, console=console, transient=True) as progress:
            task = progress.add_task("download", total=None)

            def advance(done: int, total: int | None) -> None:
                progress.update(task, completed=done, total=total)

            result = fetch_official(settings, url=url, progress=advance)
    except OfficialError as exc:
        fail(str(exc))
    state = "déjà en cache" if result.already_cached else "téléchargé"
    console.print(
        f"Fichier {state} : {result.path.name} ({fmt_number(result.size / 1e6, 1)} Mo, sha256 {result.sha256[:12]}…, "
        f"ressource « {result.title} », mise à jour {fmt_day(result.production_date) if result.production_date else 'inconnue'}).",
        highlight=False,
    )
    if do_import:
        try:
            _print_import(import_official(settings, result.path, communes=_communes(commune, all_communes)))
        except OfficialError as exc:
            fail(str(exc))


@official_app.command("import")
def import_file(
    file: Path = typer.Argument(..., metavar="FICHIER", help="Fichier communal du SSMSI, CSV ou CSV.gz, de n'importe quelle édition."),
    commune: list[str] = typer.Option(None, "--commune", metavar="CODE_INSEE", help="Garder aussi cette commune (option répétable)."),
    all_communes: bool = typer.Option(False, "--all-communes", help="Garder toutes les communes du fichier."),
    production_date: str = typer.Option(
        None, "--production-date", metavar="DATE", help="Date de production du fichier (AAAA-MM-JJ) quand elle n'est pas connue autrement."
    ),
) -> None:
    """Importer un fichier communal du SSMSI : Lyon (69123) et ses arrondissements, gardés en Parquet avec un manifeste."""
    from observatory.official import OfficialError, import_official

    settings = settings_or_fail()
    prod = None
    if production_date:
        try:
            prod = date.fromisoformat(production_date)
        except ValueError:
            fail(f"--production-date : « {production_date} » n'est pas une date AAAA-MM-JJ")
    try:
        result = import_official(settings, file, communes=_communes(commune, all_communes), production_date=prod)
    except OfficialError as exc:
        fail(str(exc))
    _print_import(result)


@official_app.command("show")
def show(
    year: int = typer.Option(None, "--year", metavar="ANNÉE", help="Année affichée (par défaut : la dernière de l'édition)."),
    code: str = typer.Option("69123", "--code", metavar="CODE_INSEE", help="Code INSEE : 69123 pour Lyon, 69381 à 69389 pour un arrondissement."),
    edition: int = typer.Option(None, "--edition", metavar="ÉDITION", help="Édition (par défaut : la plus récente importée)."),
) -> None:
    """Afficher les éditions importées et les chiffres officiels d'un territoire pour une année."""
    from observatory.official import OfficialError, official_manifest, read_official, report_summary

    settings = settings_or_fail()
    try:
        manifest = official_manifest(settings)
        if not manifest["editions"]:
            fail("aucune statistique officielle importée : lancez « observatory official fetch » ou « observatory official import FICHIER »")
        editions_table = Table(title="Éditions importées")
        for col in ("Édition", "Produite le", "Lignes", "Années", "Fichier source", "Importée le (heure de Paris)"):
            editions_table.add_column(col)
        for key in sorted(manifest["editions"]):
            e = manifest["editions"][key]
            years = "–".join(map(str, e.get("years") or [])) or "–"
            editions_table.add_row(key, fmt_day(e.get("production_date")), fmt_int(e["rows"]), years, e["source_file"], fmt_paris(e.get("imported_at")))
        console.print(editions_table)
        if year is None:
            frame = read_official(settings, edition=edition, codes=[code])
            if frame.empty:
                fail(f"aucune ligne pour le code {code} dans cette édition")
            year = int(frame["year"].max())
        rows = report_summary(settings, year, code=code, edition=edition)
    except OfficialError as exc:
        fail(str(exc))
    if not rows:
        fail(f"aucune donnée officielle pour {code} en {year}")
    table = Table(title=f"{arrondissement_label(code)} — {year} (SSMSI, édition {rows[0]['edition']})")
    for col in ("Indicateur", "Nombre", f"Nombre {year - 1}", "Taux ‰", "Base du taux"):
        table.add_column(col)
    for r in rows:
        count = fmt_int(r["count"]) if r["diffused"] else "non diffusé"
        table.add_row(r["label"], count, fmt_int(r["previous_count"]), fmt_number(r["rate"], 2), r["rate_unit"])
    console.print(table)
    console.print(rows[0]["source"], highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(official_app, name="official")
