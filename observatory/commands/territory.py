"""``observatory territory``: fetch and inspect the reference geography."""

from __future__ import annotations

import typer
from rich.table import Table

from observatory.commands.common import console, fail, settings_or_fail
from observatory.labels import fmt_int, fmt_number
from observatory.territory import TerritoryError, fetch_arrondissements, load_territory

territory_app = typer.Typer(help="Reference geography: arrondissements, zones, populations.", no_args_is_help=True)


@territory_app.command("fetch")
def fetch(url: list[str] = typer.Option(None, "--url", help="Download from this URL instead of the official ones (repeatable).")) -> None:
    """Download the official arrondissement boundaries, validate them and cache them under data/raw/reference/."""
    settings = settings_or_fail()
    try:
        result = fetch_arrondissements(settings, urls=url or None)
    except TerritoryError as exc:
        fail(str(exc))
    console.print(f"Contours officiels en cache : {result.path} ({result.features} arrondissements, {fmt_number(result.area_km2, 2)} km², sha256 {result.sha256[:12]}…)")


@territory_app.command("fetch-qpv")
def fetch_qpv_command(url: str = typer.Option(None, "--url", help="Dataset API URL (default: the ANCT 2024 QPV dataset on data.gouv.fr).")) -> None:
    """Download the official priority-neighbourhood (QPV) perimeters inside Lyon; they replace the approximate ones."""
    from observatory.territory.fetch import QPV_DATASET_API, fetch_qpv

    settings = settings_or_fail()
    try:
        kept = fetch_qpv(settings, url or QPV_DATASET_API)
    except TerritoryError as exc:
        fail(str(exc))
    console.print(f"{kept} quartiers prioritaires officiels en cache.")


@territory_app.command("fetch-iris")
def fetch_iris_command(url: str = typer.Option(None, "--url", help="Download from this URL instead of the IGN Géoplateforme WFS.")) -> None:
    """Download Lyon's IRIS (INSEE sub-district units, IGN contours) so that ingested incidents get their IRIS."""
    from observatory.territory.fetch import fetch_iris

    settings = settings_or_fail()
    try:
        kept = fetch_iris(settings, url)
    except TerritoryError as exc:
        fail(str(exc))
    console.print(f"{kept} IRIS de Lyon en cache ; les prochaines intégrations les renseignent.")


@territory_app.command("ensure")
def ensure() -> None:
    """Use the cached boundaries, or try the official download once; offline, go on with the shipped outlines."""
    settings = settings_or_fail()
    from observatory.territory.geography import OFFICIAL_BOUNDARY_FILE

    if (settings.reference_dir / OFFICIAL_BOUNDARY_FILE).exists():
        return
    try:
        fetch_arrondissements(settings)
        console.print("Contours officiels des arrondissements téléchargés et mis en cache.")
    except TerritoryError as exc:
        console.print(f"Hors ligne ou source indisponible : contours approximatifs utilisés ({str(exc).split(';')[0]}).", highlight=False)


@territory_app.command("show")
def show() -> None:
    """Print the arrondissements, populations and zones in use, and where the boundaries come from."""
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
