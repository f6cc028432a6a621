"""``observatory means``: the means engaged (register, indicators) and the aggregated response sources (MJD, victims, elucidation)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer
from rich.table import Table

from observatory.commands.common import console, fail, french_typer, settings_or_fail
from observatory.labels import fmt_int

means_app = french_typer(help="Moyens engagés et réponse à la délinquance : registre des moyens, sources agrégées (MJD, aide aux victimes, élucidation), indicateurs.")


def _print_frame(df: pd.DataFrame, title: str) -> None:
    table = Table(title=title)
    for col in df.columns:
        table.add_column(str(col))
    for rec in df.itertuples(index=False):
        table.add_row(*(str(v) for v in rec))
    console.print(table)


@means_app.command("list")
def list_means() -> None:
    """Lister le registre des moyens (data/raw/moyens/moyens.csv), les lignes invalides et les actions sans moyens déclarés."""
    from observatory.actions.service import load_plan
    from observatory.means import indicators, register

    settings = settings_or_fail()
    plan = load_plan(settings)
    means, problems = register.check_means(settings, actions=plan.register)
    table = Table(title=f"Moyens engagés — {register.means_path(settings).name} ({fmt_int(len(means))} ligne(s) valide(s))")
    for col in ("Id", "Action", "Arrondissement", "Service", "Début", "Fin", "Montants"):
        table.add_column(col)
    for rec in means.to_dict("records"):
        amounts = ", ".join(f"{register.AMOUNT_LABELS[c]} {fmt_int(rec[c])}" for c in register.AMOUNT_COLUMNS if rec[c] == rec[c])
        table.add_row(rec["means_id"], rec["action_id"] or "–", rec["arrondissement"] or "–", register.SERVICE_LABELS[rec["service"]],
                      rec["start"].strftime("%d/%m/%Y"), rec["end"].strftime("%d/%m/%Y"), amounts)
    console.print(table)
    for problem in problems:
        console.print(f"[yellow]Ligne ignorée[/] — {problem}", highlight=False, soft_wrap=True)
    if not plan.register.empty:
        per = indicators.means_per_action(plan.register, means)
        for rec in per[~per["declared"]].to_dict("records"):
            console.print(f"Action {rec['action_id']} ({rec['title']}) : aucun moyen déclaré.", highlight=False)


@means_app.command("check")
def check(file: Path = typer.Argument(..., metavar="FICHIER", help="Fichier de moyens à vérifier (CSV ou XLSX, colonnes décrites dans docs/means.md).")) -> None:
    """Vérifier un fichier de moyens sans l'installer : chaque problème avec son fichier, sa ligne et sa colonne."""
    from observatory.means import register

    settings = settings_or_fail()
    if not file.exists():
        fail(f"{file} : fichier introuvable")
    typed, problems = register.check_means(settings, file)
    for problem in problems:
        console.print(f"[red]✗[/] {problem}", highlight=False, soft_wrap=True)
    if problems:
        fail(f"{file.name} : {len(problems)} problème(s) ; {len(typed)} ligne(s) valide(s)")
    console.print(f"[green]✓[/] {file.name} : {len(typed)} ligne(s) de moyens valide(s), aucun problème.")


@means_app.command("ingest")
def ingest(
    files: list[Path] = typer.Argument(..., metavar="FICHIER...", help="Extraits agrégés d'un partenaire (CSV ou XLSX)."),
    source: str = typer.Option(..., "--source", metavar="SOURCE", help="Profil dans data/raw/sources/agregats/ (mjd, aide_victimes, elucidation)."),
) -> None:
    """Intégrer des comptes mensuels agrégés (MJD, aide aux victimes, élucidation) : lus, contrôlés, publiés à part des incidents."""
    from observatory.means.sources import AggregateProfileError
    from observatory.means.store import ingest_aggregates

    settings = settings_or_fail()
    missing = [str(f) for f in files if not f.exists()]
    if missing:
        fail(f"fichier(s) introuvable(s) : {', '.join(missing)}")
    try:
        result = ingest_aggregates(settings, files, source)
    except AggregateProfileError as exc:
        fail(str(exc))
    table = Table(title=f"Intégration — {result.source}")
    for col in ("Fichier", "Lues", "Acceptées", "Quarantaine", "Remplacées", "Statut"):
        table.add_column(col)
    for rep in result.files:
        table.add_row(rep.file, fmt_int(rep.read), fmt_int(rep.accepted), fmt_int(rep.quarantined), fmt_int(rep.replaced), rep.message or rep.status)
        for label, n in rep.unmapped_categories.items():
            console.print(f"[yellow]Libellé non classé[/] « {label} » ({fmt_int(n)} ligne(s)) dans {rep.file}", highlight=False)
    console.print(table)
    refused = [r for r in result.files if r.status == "refused"]
    if refused:
        fail(f"{len(refused)} fichier(s) refusé(s) ; rien de publié pour eux. {refused[0].message}")
    console.print(f"Version publiée : {result.version}" if result.published else "Rien de nouveau à publier.", highlight=False)


@means_app.command("show")
def show(
    year: int = typer.Option(None, "--year", metavar="ANNÉE", help="Année (par défaut la dernière avec des données)."),
    arrondissement: str = typer.Option(None, "--arrondissement", metavar="CODE", help="Arrondissement (69381…69389, 3e…) ; par défaut la ville."),
) -> None:
    """Afficher les indicateurs : moyens par arrondissement (pour 1 000 habitants, par fait), coût par fait évité, taux de réponse."""
    from observatory.means import service, views
    from observatory.means.register import normalise_arrondissement

    settings = settings_or_fail()
    tables = service.build_tables(settings)
    if not tables.years:
        fail("aucun moyen déclaré ni aucune source agrégée intégrée : voir « observatory means list » et « observatory means ingest »")
    year = year or tables.years[-1]
    code = None
    if arrondissement:
        code = normalise_arrondissement(arrondissement)
        if code is None:
            fail(f"--arrondissement : « {arrondissement} » inconnu (69381…69389, 1er…9e)")
    _print_frame(views.arrondissement_table(tables, year), f"Moyens engagés en {year}")
    _print_frame(views.action_table(tables), "Moyens par action et coût par fait évité")
    _print_frame(views.response_table(tables, year, code, settings.min_count, True), f"Réponse pénale de proximité (MJD) en {year}")
    _print_frame(views.elucidation_table(tables, year, code, settings.min_count, True), f"Élucidation en {year}")


def register(app: typer.Typer) -> None:
    app.add_typer(means_app, name="means")
