"""``observatory exposure``: denominators as data — import exposure series, check a file, show the rates."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer
from rich.table import Table

from observatory.commands.common import console, err_console, fail, french_typer, settings_or_fail
from observatory.labels import fmt_int, fmt_number, fmt_pct

exposure_app = french_typer(help="Dénominateurs d'exposition (fréquentation des piscines, validations, logements, véhicules, population présente) : importer, vérifier, afficher les taux.")

PROFILE_HELP = "Nom du profil d'exposition (data/raw/exposure/PROFIL.toml) ou chemin d'un fichier TOML."


def _profile(settings, name: str):  # noqa: ANN001, ANN202
    from observatory import exposure

    try:
        return exposure.load_profile(settings, name)
    except exposure.ExposureProfileError as exc:
        fail(str(exc))


@exposure_app.command("import")
def import_files(
    files: list[Path] = typer.Argument(..., metavar="FICHIER...", help="Fichiers d'exposition (CSV ou XLSX)."),
    profile: str = typer.Option(..., "--profil", metavar="PROFIL", help=PROFILE_HELP),
) -> None:
    """Importer une série d'exposition : chaque problème avec son fichier, sa ligne et sa colonne ; un fichier fautif est refusé en entier."""
    from observatory import exposure

    settings = settings_or_fail()
    prof = _profile(settings, profile)
    refused = 0
    for file in files:
        try:
            result = exposure.import_exposure(settings, prof, file)
        except exposure.ExposureInputError as exc:
            err_console.print(f"✗ {exc}", highlight=False, soft_wrap=True, markup=False)
            refused += 1
            continue
        span = f"du {date.fromisoformat(result.first):%d/%m/%Y} au {date.fromisoformat(result.last):%d/%m/%Y}"
        if result.unchanged:
            console.print(f"= {result.file} : déjà importé ({span}), rien à faire.", highlight=False, markup=False, soft_wrap=True)
            continue
        ignored = f", {fmt_int(result.ignored)} ignorées (unités hors des zones suivies, section [units])" if result.ignored else ""
        replaced = f" ; remplace {fmt_int(result.replaced_rows)} valeurs importées auparavant" if result.replaced_rows else ""
        console.print(f"✓ {result.file} : {fmt_int(result.read)} lignes lues, {fmt_int(result.kept)} retenues{ignored}, {span}{replaced}.",
                      highlight=False, markup=False, soft_wrap=True)
    if refused:
        fail(f"{refused} fichier(s) refusé(s) sur {len(files)}")


@exposure_app.command("check")
def check(
    file: Path = typer.Argument(..., metavar="FICHIER", help="Fichier d'exposition à vérifier."),
    profile: str = typer.Option(..., "--profil", metavar="PROFIL", help=PROFILE_HELP),
) -> None:
    """Vérifier un fichier avec son profil sans rien importer : lignes lues, retenues, ignorées, ou la liste des problèmes."""
    from observatory import exposure
    from observatory.exposure.validation import read_exposure_file

    settings = settings_or_fail()
    prof = _profile(settings, profile)
    try:
        result = read_exposure_file(file, prof, exposure.known_zones(settings) if prof.unit_type == "zone" else None)
    except exposure.ExposureInputError as exc:
        err_console.print(f"✗ {exc}", highlight=False, soft_wrap=True, markup=False)
        raise typer.Exit(1) from None
    units = ", ".join(sorted(set(result.table["unit"])))
    console.print(f"✓ {file.name} : {fmt_int(result.read)} lignes lues, {fmt_int(len(result.table))} retenues, {fmt_int(result.ignored)} ignorées ; "
                  f"{prof.spec.label} ({prof.source}, millésime {prof.vintage}) ; unités : {units}.", highlight=False, markup=False, soft_wrap=True)


@exposure_app.command("show")
def show(
    year: int = typer.Option(None, "--annee", metavar="ANNÉE", help="Année (par défaut : la dernière année complète des données)."),
    kind: str = typer.Option(None, "--type", metavar="TYPE", help="Type de dénominateur (entrees_piscine, validations_transport, logements, vehicules, habitants, population_presente)."),
) -> None:
    """Afficher les taux rapportés à l'exposition pour une année, avec intervalle exact et l'évolution sur un an."""
    from observatory import exposure
    from observatory.analytics import Filters, get_analytics
    from observatory.exposure.tables import period_changes
    from observatory.exposure.text import rate_text
    from observatory.territory import load_territory

    settings = settings_or_fail()
    table, metas = exposure.exposure_data(settings)
    if not metas:
        fail("aucune série d'exposition importée : « observatory exposure import FICHIER --profil PROFIL »")
    if kind and kind not in exposure.KINDS:
        fail(f"type « {kind} » inconnu ; types : {', '.join(exposure.KINDS)}")
    an = get_analytics(settings)
    last = an.date_range()[1]
    if last is None:
        fail("aucun fait publié : rien à rapporter à l'exposition")
    year = year or (last.year if last >= date(last.year, 12, 31) else last.year - 1)
    names = _unit_names(load_territory(settings))
    changes = period_changes(an, table, metas, Filters(), date(year, 1, 1), date(year, 12, 31), kinds=(kind,) if kind else ())
    out = Table(title=f"Taux rapportés à l'exposition, {year} (et {year - 1})")
    for col in ("Unité", "Dénominateur", "Faits", f"Taux {year} (IC 95 %)", f"Taux {year - 1}", "Évolution du taux", "Significative", "Test"):
        out.add_column(col)
    for r in changes.itertuples(index=False):
        evol = fmt_pct(r.ratio - 1, 0) if r.known else "–"
        out.add_row(names.get(r.unit, r.unit), f"{exposure.KINDS[r.kind].label} ({r.vintage})",
                    fmt_int(r.count) if r.count == r.count else "–",
                    rate_text(r.rate, r.rate_low, r.rate_high, per_label=r.per_label, reason=r.reason),
                    fmt_number(r.previous_rate, 1) if r.known else "–", evol, ("oui" if r.significant else "non") if r.known else "–", r.test if r.known else "–")
    console.print(out)
    for name, meta in metas.items():
        d = meta.get("definition", {})
        console.print(f"{d.get('label', name)} : {d.get('source', '')}, millésime {d.get('vintage', '')}.", highlight=False, markup=False, soft_wrap=True)
    console.print("Intervalle exact de Poisson (loi Gamma) ; comparaison par le test exact conditionnel (binomial sachant le total, "
                  "l'exposition en décalage) ou, quand les comptes mensuels varient plus qu'un Poisson, par un test quasi-Poisson ; "
                  "correction de Holm sur les lignes du tableau (méthode : docs/exposure.md).", highlight=False)


@exposure_app.command("compare")
def compare(
    unit1: str = typer.Argument(..., metavar="UNITÉ1", help="Identifiant de la première unité (piscine_gerland, hypercentre, 69381…)."),
    unit2: str = typer.Argument(..., metavar="UNITÉ2", help="Identifiant de la seconde unité."),
    year: int = typer.Option(None, "--annee", metavar="ANNÉE", help="Année (par défaut : la dernière année complète des données)."),
    kind: str = typer.Option(None, "--type", metavar="TYPE", help="Type de dénominateur, quand les deux unités en ont plusieurs."),
) -> None:
    """Comparer deux unités rapportées à leur exposition (par exemple deux piscines par 100 000 entrées) : rapport des taux, intervalle et test."""
    from observatory import exposure
    from observatory.analytics import Filters, get_analytics
    from observatory.exposure.tables import unit_comparison
    from observatory.exposure.text import rate_text
    from observatory.territory import load_territory

    settings = settings_or_fail()
    table, metas = exposure.exposure_data(settings)
    covering = [n for n in metas if {unit1, unit2} <= set(table.loc[table["series"] == n, "unit"])]
    # An exposure proper before the residents, unless a type is asked for.
    both = sorted((n for n in covering if not kind or metas[n]["definition"]["kind"] == kind),
                  key=lambda n: metas[n]["definition"]["kind"] == "habitants")
    if not both:
        fail(f"aucune série d'exposition ne couvre à la fois « {unit1} » et « {unit2} »" + (f" pour le type « {kind} »" if kind else ""))
    an = get_analytics(settings)
    last = an.date_range()[1]
    if last is None:
        fail("aucun fait publié : rien à rapporter à l'exposition")
    year = year or (last.year if last >= date(last.year, 12, 31) else last.year - 1)
    names = _unit_names(load_territory(settings))
    series = both[0]
    out = unit_comparison(an, table, metas, Filters(), series, unit1, unit2, date(year, 1, 1), date(year, 12, 31))
    if not out["known"]:
        fail(f"pas de comparaison possible en {year} : {out['reason']}")
    d = metas[series]["definition"]
    for unit, r in ((unit1, out["first"]), (unit2, out["second"])):
        console.print(f"{names.get(unit, unit)} : {fmt_int(r['count'])} faits, {rate_text(r['rate'], r['low'], r['high'], r['per_label'])}.",
                      highlight=False, markup=False, soft_wrap=True)
    verdict = "écart significatif" if out["p_value"] < 0.05 else "écart non significatif"
    console.print(f"Rapport des taux {fmt_number(out['ratio'], 2)} (IC 95 % : {fmt_number(out['low'], 2)} – {fmt_number(out['high'], 2)}), "
                  f"p = {fmt_number(out['p_value'], 3)} : {verdict} ({out['test']}) ; {d['label']}, {d['source']}, millésime {d['vintage']}, année {year}.",
                  highlight=False, markup=False, soft_wrap=True)


def _unit_names(territory) -> dict[str, str]:  # noqa: ANN001
    from observatory.labels import arrondissement_label

    names = dict(zip(territory.zones["zone_id"], territory.zones["name"]))
    names.update({code: arrondissement_label(code) for code in territory.arrondissements["code"]})
    return names


def register(app: typer.Typer) -> None:
    app.add_typer(exposure_app, name="exposure")
