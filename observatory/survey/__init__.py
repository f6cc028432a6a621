"""Resident surveys (victimisation, « cadre de vie »): import, weighted estimates, the dark figure.

The CLS's second objective — reduce the feeling of insecurity in the priority neighbourhoods — cannot be read
from recorded crime; local surveys measure it. This package reads respondent microdata described by a profile
(``data/raw/surveys/*.toml``), keeps them in the store (``data/processed/survey/``), and publishes only weighted
estimates with design-based intervals (:mod:`.estimate`), by wave and territory, with the publication rule of
``Settings.survey_min_n`` / ``survey_max_cv`` (:mod:`.tables`). No Dash here: the « Sentiment d'insécurité »
page, the bilan and the CLI read :func:`survey_tables`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

import pandas as pd

from observatory.config import Settings
from observatory.survey import store, tables
from observatory.survey.estimate import Estimate, weighted_ratio  # noqa: F401 - public API
from observatory.survey.profile import SurveyProfile, SurveyProfileError, load_survey_profile
from observatory.survey.read import SurveyInputError, read_survey_file

__all__ = ["SurveyProfile", "SurveyProfileError", "SurveyInputError", "SurveyTables", "import_survey", "load_survey_profile",
           "profile_path", "survey_tables", "surveys"]

surveys = store.surveys


def profile_path(settings: Settings, name: str) -> Path:
    """``data/raw/surveys/<name>.toml`` (a path to a TOML file is taken as is)."""
    candidate = Path(name)
    if candidate.suffix == ".toml" and candidate.exists():
        return candidate
    return settings.survey_profiles_path / f"{name}.toml"


def import_survey(settings: Settings, profile: SurveyProfile, path: Path) -> store.ImportResult:
    """Read, validate and store one microdata file (all its problems raised at once as :class:`SurveyInputError`)."""
    respondents = read_survey_file(path, profile)
    return store.save_import(settings, profile, path, respondents)


@dataclass(frozen=True)
class SurveyTables:
    survey: str
    label: str
    population: str
    indicators: list[dict]
    estimates: pd.DataFrame  # public view: unpublished estimates carry no value
    changes: pd.DataFrame
    reporting: pd.DataFrame
    waves: tuple[int, ...]

    def indicator(self, code: str) -> dict:
        return next(i for i in self.indicators if i["code"] == code)


def reference_period(wave: int, reference: str) -> tuple[date, date]:
    """The year the victimisation questions cover: the calendar year before the wave, or the wave's own year."""
    year = wave - 1 if reference == "annee_precedente" else wave
    return date(year, 1, 1), date(year, 12, 31)


def _recorded(settings: Settings, indicators: list[dict], waves: tuple[int, ...], reference: str) -> pd.DataFrame:
    """Facts the partners recorded for each indicator's categories over each wave's reference year, by territory."""
    rows = []
    wanted = [i for i in indicators if i.get("categories")]
    if not wanted:
        return pd.DataFrame(columns=["wave", "territory", "indicator", "recorded"])
    try:
        from observatory.analytics import Filters, get_analytics

        an = get_analytics(settings)
    except Exception:  # noqa: BLE001 - no snapshot yet: the survey stands alone, without the dark figure
        return pd.DataFrame(columns=["wave", "territory", "indicator", "recorded"])
    first, last = an.date_range()
    for wave in waves:
        start, end = reference_period(wave, reference)
        if first is None or start < first or end > last:
            continue  # the records do not cover the whole reference year: no ratio rather than a wrong one
        for ind in wanted:
            counts = an.counts(Filters(start=start, end=end, categories=tuple(ind["categories"])), by=("arrondissement",))
            by_arr = dict(zip(counts["arrondissement"].astype(str), counts["facts"].astype(int)))
            rows.append({"wave": wave, "territory": tables.CITY, "indicator": ind["code"], "recorded": int(sum(by_arr.values()))})
            rows += [{"wave": wave, "territory": code, "indicator": ind["code"], "recorded": n} for code, n in by_arr.items() if code]
    return pd.DataFrame(rows, columns=["wave", "territory", "indicator", "recorded"])


def survey_tables(settings: Settings, survey: str | None = None) -> SurveyTables | None:
    """The published tables of a survey (the first one stored when not named); None when no survey is stored."""
    names = store.surveys(settings)
    if not names:
        return None
    name = survey if survey in names else names[0]
    parquet = store.survey_dir(settings) / f"{name}.parquet"
    stamp = parquet.stat().st_mtime_ns if parquet.exists() else 0
    return _survey_tables(settings, name, stamp, _snapshot_stamp(settings))


def _snapshot_stamp(settings: Settings) -> str:
    from observatory import store as incident_store

    return incident_store.current_snapshot_id(settings) or ""


@lru_cache(maxsize=8)
def _survey_tables(settings: Settings, name: str, _stamp: int, _snapshot: str) -> SurveyTables:
    from observatory.territory import populations

    meta = store.read_meta(settings, name)
    respondents = store.read_respondents(settings, name)
    indicators = meta.get("indicators", [])
    full = tables.estimates(respondents, indicators, settings.survey_min_n, settings.survey_max_cv)
    waves = tuple(sorted(int(w) for w in full["wave"].unique()))
    recorded = _recorded(settings, indicators, waves, meta.get("reference", "annee_precedente"))
    reporting = tables.reporting_rates(full, indicators, recorded, populations(settings),
                                       float(meta.get("adult_share", 1.0)), float(meta.get("persons_per_household", 1.9)))
    return SurveyTables(survey=name, label=meta.get("label", name), population=meta.get("population", "habitants"),
                        indicators=indicators, estimates=tables.public_view(full), changes=tables.changes(full),
                        reporting=reporting, waves=waves)
