"""Names shared by the official-statistics modules: the error, the stored columns, the default territory."""

from __future__ import annotations

import pyarrow as pa

from observatory import schema


class OfficialError(Exception):
    """Bad input or unreachable source; the message is one French line naming the file, row and column."""


# Columns of the stored table, one row per (code, year, indicator) of one edition.
EDITION = "edition"
CODE = "code"
LEVEL = "level"
YEAR = "year"
INDICATOR = "indicator"
INDICATOR_LABEL = "indicator_label"
PUBLISHED_LABEL = "published_label"
UNIT = "unit"
DIFFUSED = "diffused"
COUNT = "count"
RATE = "rate"
RATE_BASE = "rate_base"
RATE_RECOMPUTED = "rate_recomputed"
RATE_CONSISTENT = "rate_consistent"
POPULATION = "population"
POPULATION_YEAR = "population_year"
DWELLINGS = "dwellings"
DWELLINGS_YEAR = "dwellings_year"
SOURCE_ROW = "source_row"

LEVEL_COMMUNE = "commune"
LEVEL_ARRONDISSEMENT = "arrondissement"

OFFICIAL_SCHEMA = pa.schema(
    [
        pa.field(EDITION, pa.int16(), nullable=False),
        pa.field(CODE, pa.string(), nullable=False),
        pa.field(LEVEL, pa.string(), nullable=False),
        pa.field(YEAR, pa.int16(), nullable=False),
        pa.field(INDICATOR, pa.string(), nullable=False),
        pa.field(INDICATOR_LABEL, pa.string(), nullable=False),
        pa.field(PUBLISHED_LABEL, pa.string(), nullable=False),
        pa.field(UNIT, pa.string()),
        pa.field(DIFFUSED, pa.bool_(), nullable=False),
        # Empty when the SSMSI does not diffuse the figure (est_diffuse = ndiff): never filled from elsewhere.
        pa.field(COUNT, pa.int64()),
        pa.field(RATE, pa.float64()),
        pa.field(RATE_BASE, pa.string(), nullable=False),
        pa.field(RATE_RECOMPUTED, pa.float64()),
        pa.field(RATE_CONSISTENT, pa.bool_()),
        pa.field(POPULATION, pa.int64()),
        pa.field(POPULATION_YEAR, pa.int16()),
        pa.field(DWELLINGS, pa.int64()),
        pa.field(DWELLINGS_YEAR, pa.int16()),
        pa.field(SOURCE_ROW, pa.int64(), nullable=False),
    ]
)
OFFICIAL_COLUMNS = tuple(OFFICIAL_SCHEMA.names)

# Lyon, the default territory: the city and its nine arrondissements, kept as two levels that are never summed.
LYON_CODES = (schema.CITY_CODE, *schema.ARRONDISSEMENT_CODES)

# Municipal arrondissements of Paris, Marseille and Lyon: the SSMSI publishes them beside their commune.
_ARRONDISSEMENT_CODES = frozenset(
    [f"751{i:02d}" for i in range(1, 21)] + [f"132{i:02d}" for i in range(1, 17)] + list(schema.ARRONDISSEMENT_CODES)
)


def level_of(code: str) -> str:
    return LEVEL_ARRONDISSEMENT if code in _ARRONDISSEMENT_CODES else LEVEL_COMMUNE
