"""What the CLI, the « Moyens engagés » page and the diagnostic call: files and snapshot in, indicator tables out.

Reads the means register (validated against the action plan), the published aggregate cells, the recorded facts
of the current incident snapshot (DuckDB, through :func:`observatory.analytics.get_analytics`), the populations
and the action evaluations; the computations themselves are the pure functions of
:mod:`observatory.means.indicators`. Protection for élus (small counts, sensitive categories at city level) is
applied by :func:`protected_counts`, with the same rule as every other élu view.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

import pandas as pd

from observatory import schema
from observatory.config import Settings
from observatory.means import indicators as ind
from observatory.means import register, sources, store

# Response rates compare MJD measures with the facts the two police forces record (the facts a rappel à l'ordre,
# a réparation or a TIG answers); elucidation figures come from the police nationale and are compared with its
# own recorded facts. Facts of transit, landlords, pools and mediators are reports, not complaints.
RESPONSE_FACT_SOURCES = ("police_nationale", "police_municipale")
ELUCIDATION_FACT_SOURCES = ("police_nationale",)


@dataclass
class MeansTables:
    """Everything the page and the diagnostic show, for every year (filter by year at display)."""

    means: pd.DataFrame  # the valid register
    problems: list  # invalid lines (Problem)
    by_year: pd.DataFrame  # means_by_year
    by_arrondissement: pd.DataFrame  # means_by_arrondissement (city 69123 included)
    per_action: pd.DataFrame  # means_per_action + cost_effectiveness + verdict
    response: pd.DataFrame  # response_rates
    elucidation: pd.DataFrame  # elucidation_rates
    victims: pd.DataFrame  # victims_by_category
    years: list[int] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.means.empty and self.response.empty and self.victims.empty and self.elucidation.empty


def _analytics(settings: Settings):  # noqa: ANN202
    from observatory.analytics import get_analytics

    return get_analytics(settings)


def complete_fact_years(settings: Settings, fact_sources: tuple[str, ...] = ()) -> set[int]:
    """Years the incident snapshot covers from January to December (for the given sources)."""
    from observatory.analytics.filters import Filters

    first, last = _analytics(settings).date_range(Filters(sources=fact_sources))
    if first is None or last is None:
        return set()
    lo = first.year if (first.month, first.day) <= (1, 31) else first.year + 1
    hi = last.year if last.month == 12 else last.year - 1
    return set(range(lo, hi + 1))


def recorded_facts(settings: Settings, by: tuple[str, ...] = ("arrondissement", "year", "category"), fact_sources: tuple[str, ...] = ()) -> pd.DataFrame:
    """Recorded facts (sum of ``n_facts``) of the current snapshot grouped by ``by``; empty without a snapshot."""
    from observatory.analytics.filters import Filters

    try:
        counts = _analytics(settings).counts(Filters(sources=fact_sources), by)
    except Exception:  # noqa: BLE001 - no snapshot yet: there are simply no facts to compare with
        return pd.DataFrame(columns=[*by, "facts"])
    out = counts[[*by, "facts"]].copy()
    if "year" in out.columns:
        out["year"] = out["year"].astype(int)
    return out[out["arrondissement"].notna()] if "arrondissement" in out.columns else out


def _evaluations(settings: Settings) -> pd.DataFrame:
    from observatory.actions import dashboard_views

    try:
        return dashboard_views(settings)["evaluations"]
    except Exception:  # noqa: BLE001 - no snapshot or an unusable register: no evaluation, every cost says why
        return pd.DataFrame(columns=["action_id", "verdict_code", "verdict"])


def build_tables(settings: Settings, evaluations: pd.DataFrame | None = None) -> MeansTables:
    """Compute every table (not cached; see :func:`means_tables`)."""
    from observatory.actions.service import load_plan
    from observatory.territory import populations

    plan = load_plan(settings)
    means, problems = register.check_means(settings, actions=plan.register)
    by_year = ind.means_by_year(means)
    all_facts = recorded_facts(settings, ("arrondissement", "year"))
    by_arr = ind.means_by_arrondissement(by_year, populations(settings), all_facts)
    per_action = ind.means_per_action(plan.register, means) if not plan.register.empty else pd.DataFrame(
        columns=["action_id", "title", "type", "arrondissement", "declared", "means_lines", ind.BUDGET_TOTAL])
    evaluations = _evaluations(settings) if evaluations is None else evaluations
    if not per_action.empty and not evaluations.empty:
        cost = ind.cost_effectiveness(evaluations[evaluations["action_id"].isin(per_action["action_id"])], means)
        cost = cost.drop(columns=["means_lines"]).rename(columns={"staff_hours": "window_staff_hours"})
        verdicts = evaluations[["action_id", "verdict_code", "verdict"]]
        per_action = per_action.merge(cost, on="action_id", how="left").merge(verdicts, on="action_id", how="left")
    cells = store.read_cells(settings)
    response = ind.response_rates(cells, recorded_facts(settings, fact_sources=RESPONSE_FACT_SOURCES), sources.response_indicators(),
                                  complete_fact_years(settings, RESPONSE_FACT_SOURCES))
    elucidation = ind.elucidation_rates(cells, recorded_facts(settings, fact_sources=ELUCIDATION_FACT_SOURCES),
                                        complete_fact_years(settings, ELUCIDATION_FACT_SOURCES))
    victims = ind.victims_by_category(cells)
    years = sorted({*by_year["year"].astype(int).tolist(), *response["year"].astype(int).tolist(), *victims["year"].astype(int).tolist()})
    return MeansTables(means, problems, by_year, by_arr, per_action, response, elucidation, victims, years)


def _stamp(path) -> int:  # noqa: ANN001
    return path.stat().st_mtime_ns if path.exists() else 0


def means_tables(settings: Settings) -> MeansTables:
    """:func:`build_tables`, cached per (snapshot, action register, means register, aggregate version)."""
    from observatory import store as incident_store
    from observatory.actions.register import register_path

    snap = incident_store.current_snapshot_id(settings)
    key = (snap, _stamp(register_path(settings)), _stamp(register.means_path(settings)), store.current_version(settings))
    return _cached_tables(settings, key)


@lru_cache(maxsize=4)
def _cached_tables(settings: Settings, _key: tuple) -> MeansTables:
    return build_tables(settings)


def protected_counts(df: pd.DataFrame, value_col: str, min_count: int, viewer_is_analyst: bool) -> pd.DataFrame:
    """A count table as an élu may see it: sensitive categories only at city level, counts 1..min_count-1 hidden
    (with complementary suppression), through :func:`observatory.analytics.privacy.protect`."""
    from observatory.analytics.privacy import protect

    if df.empty:
        return df.assign(**{value_col: pd.Series(dtype=object)})
    keys = [c for c in ("arrondissement", "category") if c in df.columns]
    return protect(df, [value_col], min_count, keys=keys if len(keys) >= 2 else None,
                   viewer_is_analyst=viewer_is_analyst, category_col="category", geo_cols=["arrondissement"])


def city_or_arrondissement(df: pd.DataFrame, arrondissement: str | None) -> pd.DataFrame:
    code = arrondissement or schema.CITY_CODE
    return df[df["arrondissement"] == code] if "arrondissement" in df.columns else df


def years_of(tables: MeansTables) -> list[int]:
    return tables.years


def latest_year(tables: MeansTables, today: date) -> int | None:
    """The most recent year with data, not after ``today``'s year (passed in: never read the clock here)."""
    years = [y for y in tables.years if y <= today.year]
    return years[-1] if years else None
