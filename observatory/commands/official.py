"""``observatory official``: fetch, import and show the official statistics (SSMSI communal base)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn
from rich.table import Table

from observatory.commands.common import console, fail, settings_or_fail
from observatory.labels import arrondissement_label, fmt_int, fmt_number

official_app = typer.Typer(
    help="Official statistics (SSMSI): download, import, show Lyon's figures per arrondissement.", no_args_is_help=True
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
    prod = result.production_date or "inconnue"
    console.print(f"Date de production : {prod} ({result.production_date_origin}).", highlight=False)
    for warning in result.warnings:
        console.print(f"[yellow]Attention[/] : {warning}", highlight=False)


@official_app.command("fetch")
def fetch(
    url: str = typer.Option(None, "--url", help="Dataset API URL instead of the official_dataset_url setting."),
    do_import: bool = typer.Option(True, "--import/--no-import", help="Import the downloaded file right away."),
    commune: list[str] = typer.Option(None, "--commune", help="Also keep this INSEE code (repeatable)."),
    all_communes: bool = typer.Option(False, "--all-communes", help="Keep every commune of the file."),
) -> None:
    """Find the current SSMSI commune file on data.gouv.fr, download it into data/raw/official/ and import it."""
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
        f"ressource « {result.title} », mise à jour {result.production_date or 'inconnue'}).",
        highlight=False,
    )
    if do_import:
        try:
            _print_import(import_official(settings, result.path, communes=_communes(commune, all_communes)))
        except OfficialError as exc:
            fail(str(exc))


@official_app.command("import")
def import_file(
    file: Path = typer.Argument(..., help="SSMSI communal file, CSV or CSV.gz, any edition."),
    commune: list[str] = typer.Option(None, "--commune", help="Also keep this INSEE code (repeatable)."),
    all_communes: bool = typer.Option(False, "--all-communes", help="Keep every commune of the file."),
    production_date: str = typer.Option(None, "--production-date", help="Production date of the file (YYYY-MM-DD) when it is not known."),
) -> None:
    """Import an SSMSI communal file: Lyon (69123) and its arrondissements, stored as Parquet with a manifest."""
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
    year: int = typer.Option(None, "--year", help="Year shown (default: the last of the edition)."),
    code: str = typer.Option("69123", "--code", help="INSEE code: 69123 for Lyon, 69381…69389 for an arrondissement."),
    edition: int = typer.Option(None, "--edition", help="Edition (default: the newest imported)."),
) -> None:
    """Print the imported editions and the official figures of one territory and year."""
    from observatory.official import OfficialError, official_manifest, read_official, report_summary

    settings = settings_or_fail()
    try:
        manifest = official_manifest(settings)
        if not manifest["editions"]:
            fail("aucune statistique officielle importée : lancez « observatory official fetch » ou « observatory official import FICHIER »")
        editions_table = Table(title="Éditions importées")
        for col in ("Édition", "Produite le", "Lignes", "Années", "Fichier source", "Importée le"):
            editions_table.add_column(col)
        for key in sorted(manifest["editions"]):
            e = manifest["editions"][key]
            years = "–".join(map(str, e.get("years") or [])) or "–"
            editions_table.add_row(key, str(e.get("production_date") or "–"), fmt_int(e["rows"]), years, e["source_file"], e["imported_at"][:10])
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
