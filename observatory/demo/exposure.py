"""Fictitious exposure series for the demo, consistent with the demo incidents.

- Pool attendance per pool and month: the same monthly profile and the same closures (summer pools, covid) that
  drive the pools' incident log (:mod:`.partners`), so incidents per entry are constant — except at the
  Tony-Bertrand pool, where the 2023 mediation lowers them, and at Gerland, whose attendance grows every summer
  from 2022 (a new outdoor basin): its incidents grow with it and its rate per entry stays flat.
- Transit validations per month for the hypercentre's stations (and Part-Dieu, outside every followed zone,
  ignored by the profile's [units] section), with August and the 2020 lockdown lower.
- Dwellings and registered vehicles per arrondissement (INSEE-like orders of magnitude, one vintage), the
  hypercentre's residents and its people present on average per hour band (day, evening, night).

Every figure is invented; the profiles in ``data/raw/exposure/*_demo.toml`` describe these files.
"""

from __future__ import annotations

import calendar
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

ENTRIES_PER_DAY = 1_000  # entries per open day at a pool of weight 1 and monthly attendance 1
GROWING_POOL = "piscine_gerland"
GROWTH_START, GROWTH_RATE = 2022, 0.20

PROFILES = {  # file written → profile that reads it
    "piscines_frequentation.csv": "piscines_frequentation_demo",
    "tcl_validations.csv": "tcl_validations_demo",
    "insee_logements.csv": "insee_logements_demo",
    "vehicules_immatricules.csv": "vehicules_demo",
    "hypercentre_habitants.csv": "hypercentre_habitants_demo",
    "hypercentre_presence.csv": "hypercentre_presence_demo",
}

STATIONS = {"Bellecour": 2_400_000, "Hôtel de Ville - Louis Pradel": 1_500_000, "Cordeliers": 1_200_000,
            "Perrache": 1_800_000, "Vieux Lyon - Cathédrale St Jean": 900_000, "Part-Dieu": 4_000_000}
TRANSIT_MONTH = np.array([0.97, 1.0, 1.03, 1.0, 0.98, 0.97, 0.85, 0.68, 1.02, 1.04, 1.03, 1.0])
DWELLINGS = {"69381": 19_200, "69382": 19_600, "69383": 61_400, "69384": 21_300, "69385": 27_600,
             "69386": 33_800, "69387": 52_100, "69388": 43_200, "69389": 26_700}
VEHICLES_PER_DWELLING = {"69381": 0.45, "69382": 0.55, "69383": 0.62, "69384": 0.66, "69385": 0.78,
                         "69386": 0.72, "69387": 0.64, "69388": 0.80, "69389": 0.82}
HYPERCENTRE_RESIDENTS = 41_800
HYPERCENTRE_PRESENT = {"07-19": 138_000, "19-24": 72_000, "00-07": 39_000}  # people present on average in the band


def pool_growth(zone_id: str, year: int) -> float:
    """Attendance (and so incidents) of a pool relative to its 2021 level: only Gerland grows."""
    if zone_id != GROWING_POOL or year < GROWTH_START:
        return 1.0
    return (1.0 + GROWTH_RATE) ** (year - GROWTH_START + 1)


def pool_attendance(years: tuple[int, int], seed: int = 42) -> pd.DataFrame:
    """Entries per pool and open month (months a pool is closed all month are absent: the log lists open months)."""
    from observatory.demo.partners import POOL_ATTENDANCE, POOL_CLOSED, POOL_WEIGHT, Piscines  # noqa: F401 - one model
    from observatory.territory import SEASON_MONTHS

    pools = _pools()
    rows = []
    for year in range(years[0], years[1] + 1):
        rng = np.random.default_rng([seed, 23, year])
        for month in range(1, 13):
            days = pd.date_range(date(year, month, 1), periods=calendar.monthrange(year, month)[1], freq="D").date
            open_days = np.ones(len(days), dtype=bool)
            for a, b in POOL_CLOSED:
                open_days &= ~((days >= a) & (days <= b))
            for pool in pools.itertuples():
                if month not in SEASON_MONTHS[pool.season] or not open_days.any():
                    continue
                mean = ENTRIES_PER_DAY * POOL_WEIGHT.get(pool.zone_id, 1.0) * POOL_ATTENDANCE[month - 1] * pool_growth(pool.zone_id, year)
                entries = int(round(mean * open_days.sum() * rng.lognormal(0.0, 0.04)))
                rows.append({"Piscine": pool.name, "Mois": f"{month:02d}/{year}", "Entrées": entries})
    return pd.DataFrame(rows)


def transit_validations(years: tuple[int, int], seed: int = 42) -> pd.DataFrame:
    rows = []
    for year in range(years[0], years[1] + 1):
        rng = np.random.default_rng([seed, 24, year])
        trend = 1.0 + 0.015 * (year - 2019)
        for month in range(1, 13):
            lockdown = 0.35 if (year, month) in ((2020, 4), (2020, 5)) else 0.75 if year == 2020 and month in (3, 6, 11) else 1.0
            for station, level in STATIONS.items():
                value = level * TRANSIT_MONTH[month - 1] * trend * lockdown * rng.lognormal(0.0, 0.03)
                rows.append({"station": station, "mois": f"{year}-{month:02d}-01", "validations": int(round(value))})
    return pd.DataFrame(rows)


def dwellings() -> pd.DataFrame:
    return pd.DataFrame({"CODGEO": list(DWELLINGS), "ANNEE": "2021", "LOG": list(DWELLINGS.values())})


def vehicles() -> pd.DataFrame:
    return pd.DataFrame({"arrondissement": [c[-1] for c in DWELLINGS], "annee": "2023",
                         "vehicules": [int(round(n * VEHICLES_PER_DWELLING[c])) for c, n in DWELLINGS.items()]})


def hypercentre_residents() -> pd.DataFrame:
    return pd.DataFrame({"zone": ["hypercentre"], "annee": ["2021"], "habitants": [HYPERCENTRE_RESIDENTS]})


def hypercentre_presence(years: tuple[int, int]) -> pd.DataFrame:
    rows = []
    for year in range(years[0], years[1] + 1):
        factor = 0.72 if year == 2020 else 0.9 if year == 2021 else 1.0 + 0.01 * (year - 2022)
        for band, level in HYPERCENTRE_PRESENT.items():
            rows.append({"zone": "hypercentre", "annee": str(year), "tranche": band, "presents": f"{level * factor:.1f}".replace(".", ",")})
    return pd.DataFrame(rows)


def write_exposure(folder: Path, years: tuple[int, int], seed: int = 42) -> dict[str, Path]:
    """Write the six demo files (deterministic for a seed and years); returns profile name → file."""
    folder.mkdir(parents=True, exist_ok=True)
    frames = {
        "piscines_frequentation.csv": (pool_attendance(years, seed), ";"),
        "tcl_validations.csv": (transit_validations(years, seed), ","),
        "insee_logements.csv": (dwellings(), ";"),
        "vehicules_immatricules.csv": (vehicles(), ";"),
        "hypercentre_habitants.csv": (hypercentre_residents(), ";"),
        "hypercentre_presence.csv": (hypercentre_presence(years), ";"),
    }
    out = {}
    for name, (frame, sep) in frames.items():
        path = folder / name
        frame.to_csv(path, sep=sep, index=False, encoding="utf-8", lineterminator="\n")
        out[PROFILES[name]] = path
    return out


def _pools() -> pd.DataFrame:
    import io
    from importlib import resources

    text = resources.files("observatory.data").joinpath("lyon_pools.csv").read_text(encoding="utf-8")
    return pd.read_csv(io.StringIO(text), dtype=str)
