"""``observatory survey``: resident surveys — import microdata described by a profile, show the weighted estimates."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from observatory.commands.common import console, err_console, fail, french_typer, settings_or_fail
from observatory.labels import fmt_int

survey_app = french_typer(help="Enquêtes auprès des habitants (sentiment d'insécurité, victimation) : importer, afficher les estimations.")


@survey_app.command("import")
def import_files(
    files: list[Path] = typer.Argument(..., metavar="FICHIER...", help="Fichiers de réponses (CSV, XLSX, SPSS .sav, Stata .dta)."),
    profile: str = typer.Option(..., "--profil", metavar="PROFIL", help="Nom du profil d'enquête (data/raw/surveys/PROFIL.toml) ou chemin d'un fichier TOML."),
) -> None:
    """Importer des réponses : chaque problème avec son fichier, sa ligne et sa colonne ; seules les estimations pondérées sont publiées."""
    from observatory import survey

    settings = settings_or_fail()
    path = survey.profile_path(settings, profile)
    try:
        prof = survey.load_survey_profile(path)
    except survey.SurveyProfileError as exc:
        fail(str(exc))
    refused = 0
    for file in files:
        try:
            result = survey.import_survey(settings, prof, file)
        except survey.SurveyInputError as exc:
            err_console.print(f"✗ {exc}", highlight=False, soft_wrap=True, markup=False)
            refused += 1
            continue
        waves = ", ".join(str(w) for w in result.waves)
        if result.unchanged:
            console.print(f"= {result.file} : déjà importé (vague {waves}), rien à faire.", highlight=False, markup=False)
        else:
            replaced = f" ; remplace la vague {', '.join(map(str, result.replaced_waves))} importée auparavant" if result.replaced_waves else ""
            console.print(f"✓ {result.file} : {fmt_int(result.respondents)} répondants, vague {waves}{replaced}.", highlight=False, markup=False)
    if refused:
        fail(f"{refused} fichier(s) refusé(s) sur {len(files)}")


@survey_app.command("show")
def show(
    indicator: str = typer.Option(None, "--indicateur", metavar="CODE", help="Code de l'indicateur (par défaut : le premier du profil)."),
    wave: int = typer.Option(None, "--vague", metavar="ANNÉE", help="Vague (par défaut : la dernière)."),
    name: str = typer.Option(None, "--enquete", metavar="NOM", help="Enquête (par défaut : la première importée)."),
) -> None:
    """Afficher les estimations pondérées d'un indicateur par territoire, avec intervalle de confiance et effectif."""
    from observatory import survey
    from observatory.survey.tables import difference_text, estimate_text

    settings = settings_or_fail()
    tabs = survey.survey_tables(settings, name)
    if tabs is None:
        fail("aucune enquête importée : « observatory survey import FICHIER --profil PROFIL »")
    codes = [i["code"] for i in tabs.indicators]
    code = indicator or codes[0]
    if code not in codes:
        fail(f"indicateur « {code} » inconnu ; indicateurs de l'enquête : {', '.join(codes)}")
    year = wave or tabs.waves[-1]
    if year not in tabs.waves:
        fail(f"vague {year} absente ; vagues importées : {', '.join(map(str, tabs.waves))}")
    ind = tabs.indicator(code)
    rows = tabs.estimates[(tabs.estimates["indicator"] == code) & (tabs.estimates["wave"] == year)]
    changes = tabs.changes[(tabs.changes["indicator"] == code) & (tabs.changes["to_wave"] == year)].set_index("territory")
    table = Table(title=f"{tabs.label} — {ind['label']}, vague {year}")
    for col in ("Territoire", "Estimation (IC 95 %)", "Répondants", "Évolution depuis la vague précédente"):
        table.add_column(col)
    for r in rows.itertuples(index=False):
        change = changes.loc[r.territory] if r.territory in changes.index else None
        evol = "–" if change is None else (
            change["verdict"] if change["verdict"].startswith("pas de") else f"{difference_text(change['difference'], r.kind)} ({change['verdict']})")
        table.add_row(r.territory_label, estimate_text(r.value, r.low, r.high, r.kind, r.reason), fmt_int(r.n), evol)
    console.print(table)
    console.print(f"Estimations pondérées (plan stratifié par grappes, linéarisation de Taylor) ; publiées à partir de "
                  f"{settings.survey_min_n} répondants et un coefficient de variation d'au plus {fmt_int(100 * settings.survey_max_cv)} %.",
                  highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(survey_app, name="survey")
