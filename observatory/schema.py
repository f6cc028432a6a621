"""The canonical incident schema and the observatory's category nomenclature.

These names are the column names in every layer: ETL output, Parquet snapshots, analytics, figures, reports.
The nomenclature is data (``observatory/data/nomenclature.csv``), not code.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import pyarrow as pa

SCHEMA_VERSION = 1
TIMEZONE = "Europe/Paris"

# Column names -------------------------------------------------------------------------------------------------
INCIDENT_KEY = "incident_key"
SOURCE = "source"
SOURCE_ID = "source_id"
OCCURRED_AT = "occurred_at"
TIME_PRECISION = "time_precision"
CATEGORY = "category"
FAMILY = "family"
RAW_LABEL = "raw_label"
PLACE_TYPE = "place_type"
PLACE_NAME = "place_name"
LON = "lon"
LAT = "lat"
X = "x"
Y = "y"
LOCATION_QUALITY = "location_quality"
ARRONDISSEMENT = "arrondissement"
DECLARED_ARRONDISSEMENT = "declared_arrondissement"
ARRONDISSEMENT_MISMATCH = "arrondissement_mismatch"
IRIS = "iris"
ZONES = "zones"
GRID_CELL = "grid_cell"
N_FACTS = "n_facts"
YEAR = "year"
EXTRACTED_AT = "extracted_at"
BATCH_ID = "batch_id"
SOURCE_FILE = "source_file"
SOURCE_ROW = "source_row"

TIME_PRECISIONS = ("hour", "day", "month")
# point: coordinates from the partner; address: located from an address or a known site (pool, station);
# sector: only an arrondissement or a quarter is known; none: nothing usable.
LOCATION_QUALITIES = ("point", "address", "sector", "none")

ARRONDISSEMENT_CODES = tuple(f"6938{i}" for i in range(1, 10))
CITY_CODE = "69123"

NON_CLASSE = "non_classe"

_TS = pa.timestamp("us", tz=TIMEZONE)

INCIDENT_SCHEMA = pa.schema(
    [
        pa.field(INCIDENT_KEY, pa.string(), nullable=False),
        pa.field(SOURCE, pa.string(), nullable=False),
        pa.field(SOURCE_ID, pa.string(), nullable=False),
        pa.field(OCCURRED_AT, _TS, nullable=False),
        pa.field(TIME_PRECISION, pa.string(), nullable=False),
        pa.field(CATEGORY, pa.string(), nullable=False),
        pa.field(FAMILY, pa.string(), nullable=False),
        pa.field(RAW_LABEL, pa.string(), nullable=False),
        pa.field(PLACE_TYPE, pa.string()),
        pa.field(PLACE_NAME, pa.string()),
        pa.field(LON, pa.float64()),
        pa.field(LAT, pa.float64()),
        pa.field(X, pa.float64()),
        pa.field(Y, pa.float64()),
        pa.field(LOCATION_QUALITY, pa.string(), nullable=False),
        pa.field(ARRONDISSEMENT, pa.string()),
        pa.field(DECLARED_ARRONDISSEMENT, pa.string()),
        pa.field(ARRONDISSEMENT_MISMATCH, pa.bool_(), nullable=False),
        pa.field(IRIS, pa.string()),
        pa.field(ZONES, pa.list_(pa.string()), nullable=False),
        pa.field(GRID_CELL, pa.string()),
        pa.field(N_FACTS, pa.int32(), nullable=False),
        pa.field(YEAR, pa.int16(), nullable=False),
        pa.field(EXTRACTED_AT, _TS, nullable=False),
        pa.field(BATCH_ID, pa.string(), nullable=False),
        pa.field(SOURCE_FILE, pa.string(), nullable=False),
        pa.field(SOURCE_ROW, pa.int64(), nullable=False),
    ],
    metadata={"schema_version": str(SCHEMA_VERSION)},
)

INCIDENT_COLUMNS = tuple(INCIDENT_SCHEMA.names)


# Nomenclature ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Category:
    code: str
    label: str
    family: str
    sensitive: bool
    ssmsi_indicator: str | None


@dataclass(frozen=True)
class Family:
    code: str
    label: str
    order: int


# The 15 indicators of the SSMSI communal base, 2026 edition, spelled as published.
SSMSI_INDICATORS_2026 = (
    "Cambriolages de logement",
    "Destructions et dégradations volontaires",
    "Escroqueries et fraudes aux moyens de paiement",
    "Trafic de stupéfiants",
    "Usage de stupéfiants",
    "Usage de stupéfiants (AFD)",
    "Violences physiques hors cadre familial",
    "Violences physiques intrafamiliales",
    "Violences sexuelles",
    "Vols avec armes",
    "Vols d'accessoires sur véhicules",
    "Vols dans les véhicules",
    "Vols de véhicule",
    "Vols sans violence contre des personnes",
    "Vols violents sans arme",
)


def _read_csv(name: str) -> list[dict[str, str]]:
    text = resources.files("observatory.data").joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


@lru_cache(maxsize=1)
def families() -> dict[str, Family]:
    """Families by code, in display order."""
    rows = sorted(_read_csv("families.csv"), key=lambda r: int(r["order"]))
    return {r["code"]: Family(r["code"], r["label"], int(r["order"])) for r in rows}


@lru_cache(maxsize=1)
def categories() -> dict[str, Category]:
    """Categories by code, as listed in the nomenclature file."""
    out: dict[str, Category] = {}
    for r in _read_csv("nomenclature.csv"):
        out[r["code"]] = Category(
            code=r["code"],
            label=r["label"],
            family=r["family"],
            sensitive=r["sensitive"].strip().lower() == "true",
            ssmsi_indicator=r["ssmsi_indicator"].strip() or None,
        )
    return out


def category_family(code: str) -> str:
    """Family of a category code; unknown codes belong to the family of ``non_classe``."""
    cats = categories()
    return cats.get(code, cats[NON_CLASSE]).family


def sensitive_categories() -> frozenset[str]:
    return frozenset(c.code for c in categories().values() if c.sensitive)


def nomenclature_problems() -> list[str]:
    """Integrity checks of the nomenclature file; an empty list means it is sound."""
    problems: list[str] = []
    rows = _read_csv("nomenclature.csv")
    codes = [r["code"] for r in rows]
    dupes = {c for c in codes if codes.count(c) > 1}
    if dupes:
        problems.append(f"duplicate category codes: {sorted(dupes)}")
    fams = families()
    for r in rows:
        if r["family"] not in fams:
            problems.append(f"category {r['code']}: unknown family {r['family']!r}")
        if r["sensitive"].strip().lower() not in ("true", "false"):
            problems.append(f"category {r['code']}: sensitive must be true or false")
        ind = r["ssmsi_indicator"].strip()
        if ind and ind not in SSMSI_INDICATORS_2026:
            problems.append(f"category {r['code']}: SSMSI indicator {ind!r} is not spelled as published")
    if NON_CLASSE not in codes:
        problems.append("the nomenclature must contain non_classe")
    return problems


def empty_incidents() -> pa.Table:
    """A table with the canonical schema and no rows."""
    return INCIDENT_SCHEMA.empty_table()
