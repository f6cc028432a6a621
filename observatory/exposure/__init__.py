"""Denominators as data: exposure series (pool entries, transit validations, dwellings, vehicles, residents, people
present) and the rates they give.

Resident-based rates mislead where residents are not the population at risk: the hypercentre (visitors,
commuters, night-time crowds), the pools (risk follows attendance), transit (ridership), burglary (dwellings) and
vehicle theft (vehicles). This package reads exposure files described by a profile (``data/raw/exposure/*.toml``,
:mod:`.profiles`), validates them with a French message per file, row and column (:mod:`.validation`), keeps them
under ``data/processed/exposure/`` (:mod:`.store`), and computes rates with exact intervals and comparisons with
exposure as the offset (:mod:`.rates`, :mod:`.tables`). No Dash here.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from observatory.config import Settings
from observatory.exposure import store
from observatory.exposure.format import KINDS, Kind
from observatory.exposure.profiles import ExposureProfile, ExposureProfileError, load_exposure_profile
from observatory.exposure.rates import Rate, RateComparison, compare_rates, rate_interval, window_exposure
from observatory.exposure.validation import ExposureInputError, read_exposure_file

__all__ = ["KINDS", "ExposureInputError", "ExposureProfile", "ExposureProfileError", "Kind", "Rate", "RateComparison",
           "compare_rates", "exposure_data", "import_exposure", "load_profile", "profile_path", "rate_interval", "window_exposure"]


def profile_path(settings: Settings, name: str) -> Path:
    """``data/raw/exposure/<name>.toml`` (a path to a TOML file is taken as is)."""
    candidate = Path(name)
    if candidate.suffix == ".toml" and candidate.exists():
        return candidate
    return settings.exposure_profiles_path / f"{name}.toml"


def load_profile(settings: Settings, name: str) -> ExposureProfile:
    """A profile checked against the nomenclature's categories and the configured partner sources."""
    from observatory.schema import categories

    sources = {p.stem for p in settings.sources_dir.glob("*.toml")} if settings.sources_dir.exists() else None
    return load_exposure_profile(profile_path(settings, name), set(categories()), sources or None)


def known_zones(settings: Settings) -> set[str] | None:
    try:
        from observatory.territory import load_territory

        return set(load_territory(settings).zones["zone_id"])
    except Exception:  # noqa: BLE001 - no territory at hand: zone ids are checked when rates are computed
        return None


def import_exposure(settings: Settings, profile: ExposureProfile, path: Path) -> store.ImportResult:
    """Read, validate and store one exposure file (every problem raised at once as :class:`ExposureInputError`)."""
    result = read_exposure_file(path, profile, known_zones(settings) if profile.unit_type == "zone" else None)
    return store.save_import(settings, profile, path, result)


def exposure_data(settings: Settings) -> tuple[pd.DataFrame, dict[str, dict]]:
    """Every stored series (canonical table) and their definitions; empty when none was imported."""
    return store.read_all(settings)


def has_exposure(settings: Settings) -> bool:
    return bool(store.series_names(settings))


def data_window(an, filters) -> tuple[date, date] | None:  # noqa: ANN001 - Analytics, Filters
    """The window the rates cover: the filters' period, else the data's."""
    first, last = an.date_range(filters.replace(start=None, end=None))
    if first is None or last is None:
        return None
    return (filters.start or first), (filters.end or last)
