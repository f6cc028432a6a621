"""The exposure format: what an exposure series is, the kinds the observatory knows, the canonical columns.

An exposure series is a denominator delivered as data: the number of pool entries per day or month, transit
validations per station or line, dwellings per IRIS or arrondissement, registered vehicles, residents, or an
« ambient population » (people present on average) per zone and hour band. Each series comes from one file
described by a profile (``data/raw/exposure/*.toml``) that names its source and vintage.

Two measures, because a denominator is either a flow or a stock:

- **flux** (entries, validations): the value counts events over its period; the exposure of a window is the sum of
  the values over the window (a period that straddles the window's edge counts pro rata of its days).
- **stock** (dwellings, vehicles, residents, people present): the value is a level; the exposure of a window is
  level × duration in years (« logement-années »), so a rate « pour 1 000 logements » reads per year as the
  official burglary rates do. A stock's last known level holds until a newer one (a vintage is a snapshot).
"""

from __future__ import annotations

from dataclasses import dataclass

FLOW = "flux"
STOCK = "stock"
UNIT_TYPES = ("zone", "arrondissement", "iris")
DAYS_PER_YEAR = 365.25


@dataclass(frozen=True)
class Kind:
    code: str
    label: str  # French, plural noun phrase: « entrées en piscine »
    measure: str  # FLOW or STOCK
    per: int  # rates are given per this many units of exposure
    per_label: str  # « pour 100 000 entrées »
    exposure_word: str  # what « rapporté à … » says: « la fréquentation »
    unit_types: tuple[str, ...]
    categories: tuple[str, ...] = ()  # incident categories the denominator fits; () = all
    hour_bands: bool = False  # a value per hour band is allowed (ambient population)


KINDS: dict[str, Kind] = {
    k.code: k
    for k in (
        Kind("entrees_piscine", "entrées en piscine", FLOW, 100_000, "pour 100 000 entrées", "la fréquentation", ("zone",)),
        Kind("validations_transport", "validations sur le réseau de transport", FLOW, 1_000_000, "pour 1 million de validations",
             "la fréquentation du réseau", ("zone", "arrondissement")),
        Kind("logements", "logements", STOCK, 1_000, "pour 1 000 logements par an", "au nombre de logements", UNIT_TYPES,
             categories=("cambriolages_logement",)),
        Kind("vehicules", "véhicules immatriculés", STOCK, 1_000, "pour 1 000 véhicules par an", "au parc de véhicules", UNIT_TYPES,
             categories=("vols_vehicules", "vols_dans_vehicules", "vols_accessoires_vehicules")),
        Kind("habitants", "habitants", STOCK, 1_000, "pour 1 000 habitants par an", "à la population résidente", UNIT_TYPES),
        Kind("population_presente", "personnes présentes en moyenne", STOCK, 1_000, "pour 1 000 personnes présentes par an",
             "à la population présente", ("zone", "arrondissement", "iris"), hour_bands=True),
    )
}

# The canonical exposure table (one row = one unit, one period, one hour band).
COLUMNS = ("series", "kind", "unit_type", "unit", "detail", "period_start", "period_end", "hour_band", "value", "source_row")
ALL_DAY = "00-24"


def hour_band_hours(band: str) -> tuple[int, int] | None:
    """``"07-19"`` → (7, 19); ``"22-06"`` wraps midnight → (22, 30); None when unreadable."""
    try:
        a, b = (int(x) for x in str(band).split("-"))
    except ValueError:
        return None
    if not (0 <= a <= 23 and 0 < b <= 24) or a == b:
        return None
    return (a, b) if b > a else (a, b + 24)


def band_length(band: str) -> int:
    span = hour_band_hours(band)
    return 0 if span is None else span[1] - span[0]
