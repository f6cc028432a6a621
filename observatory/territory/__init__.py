"""Reference geography: arrondissements, zones, populations, quarters and the hot-spot grid."""

from observatory.territory.fetch import FetchResult, fetch_arrondissements
from observatory.territory.geography import (
    APPROXIMATE_NOTE,
    LAMBERT93,
    SEASON_MONTHS,
    WGS84,
    ZONE_KINDS,
    Territory,
    TerritoryDownloadError,
    TerritoryError,
    cell_geometry,
    city_grid,
    grid_cell_ids,
    iris_of_points,
    load_territory,
    populations,
)

__all__ = [
    "APPROXIMATE_NOTE",
    "LAMBERT93",
    "SEASON_MONTHS",
    "WGS84",
    "ZONE_KINDS",
    "FetchResult",
    "Territory",
    "TerritoryDownloadError",
    "TerritoryError",
    "cell_geometry",
    "city_grid",
    "fetch_arrondissements",
    "grid_cell_ids",
    "iris_of_points",
    "load_territory",
    "populations",
]
