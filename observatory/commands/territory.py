"""``observatory territory``: fetch and inspect the reference geography."""

from __future__ import annotations

import typer
from rich.table import Table

from observatory.commands.common import console, fail, french_typer, settings_or_fail
from observatory.labels import fmt_int, fmt_number
from observatory.territory import TerritoryDownloadError, TerritoryError, fetch_arrondissements, load_territory

territory_app = french_typer(help="Géographie de référence : contours des arrondissements, zones suivies, populations, IRIS.")


@territory_app.command("fetch")
def fetch(
    url: list[str] = typer.Option(
        None, "--url", metavar="URL", help="Télécharger depuis cette adresse plutôt que depuis les sources officielles (option répétable)."
    ),
) -> None:
    """Télécharger les contours officiels des arrondissements, les contrôler et les garder en cache dans data/raw/reference/."""
    settings = settings_or_fail()
    try:
        result = fetch_arrondissements(settings, urls=url or None)
    except TerritoryError as exc:
        fail(str(exc))
    console.print(f"Contours officiels en cache : {result.path} ({result.features} arrondissements, {fmt_number(result.area_km2, 2)} km², "
                  f"sha256 {result.sha256[:12]}…)", highlight=False)


@territory_app.command("fetch-qpv")
def fetch_qpv_command(
    url: str = typer.Option(
        None, "--url", metavar="URL", help="Adresse de l'API du jeu de données (par défaut : les QPV 2024 de l'ANCT sur data.gouv.fr)."
    ),
) -> None:
    """Télécharger les périmètres officiels des quartiers prioritaires (QPV) de Lyon ; ils remplacent les périmètres approximatifs."""
    from observatory.territory.fetch import QPV_DATASET_API, fetch_qpv

    settings = settings_or_fail()
    try:
        kept = fetch_qpv(settings, url or QPV_DATASET_API)
    except TerritoryError as exc:
        fail(str(exc))
    console.print(f"{kept} quartiers prioritaires officiels en cache.")


@territory_app.command("fetch-iris")
def fetch_iris_command(
    url: str = typer.Option(None, "--url", metavar="URL", help="Télécharger depuis cette adresse plutôt que depuis le WFS de la Géoplateforme IGN."),
) -> None:
    """Télécharger les IRIS de Lyon (contours IGN des îlots INSEE) pour que les incidents intégrés ensuite reçoivent leur IRIS."""
    from observatory.territory.fetch import fetch_iris

    settings = settings_or_fail()
    try:
        kept = fetch_iris(settings, url)
    except TerritoryError as exc:
        fail(str(exc))
    console.print(f"{kept} IRIS de Lyon en cache ; les prochaines intégrations les renseignent.")


@territory_app.command("ensure")
def ensure() -> None:
    """Utiliser les contours en cache, sinon tenter une fois le téléchargement officiel ; hors ligne, garder les contours approximatifs fournis."""
    settings = settings_or_fail()
    from observatory.territory.geography import OFFICIAL_BOUNDARY_FILE

    if (settings.reference_dir / OFFICIAL_BOUNDARY_FILE).exists():
        return
    try:
        fetch_arrondissements(settings)
        console.print("Contours officiels des arrondissements téléchargés et mis en cache.")
    except TerritoryDownloadError:
        # The network's reason (DNS, refused, timeout) helps nobody here: the fallback is the expected offline path.
        console.print("Hors ligne : contours approximatifs utilisés.", highlight=False)
    except TerritoryError as exc:
        reason = str(exc).split(" | ")[0].split(" — ")[0]
        console.print(f"Contours officiels refusés : contours approximatifs utilisés ({reason}).", highlight=False, soft_wrap=True)


@territory_app.command("show")
def show() -> None:
    """Afficher les arrondissements, leurs populations et surfaces, les zones suivies et l'origine des contours."""
    settings = settings_or_fail()
    try:
        territory = load_territory(settings)
    except TerritoryError as exc:
        fail(str(exc))
    table = Table(title=f"Arrondissements — {territory.boundary_source}")
    for col in ("Code", "Nom", f"Population ({territory.population_vintage})", "Surface (km²)"):
        table.add_column(col)
    for row in territory.arrondissements.itertuples():
        table.add_row(row.code, row.name, fmt_int(row.population), fmt_number(row.area_km2, 2))
    console.print(table)
    zones = Table(title="Zones")
    for col in ("Id", "Type", "Nom", "Surface (km²)"):
        zones.add_column(col)
    for row in territory.zones.itertuples():
        zones.add_row(row.zone_id, row.kind, row.name + (" (approx.)" if row.approximate else ""), fmt_number(row.area_km2, 3))
    console.print(zones)


def register(app: typer.Typer) -> None:
    app.add_typer(territory_app, name="territory")
