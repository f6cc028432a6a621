"""One verdict per (geography, dimension, code) for a year: the comparisons of a whole publication, tested together.

:func:`year_verdicts` is pure: the monthly counts of every compared unit in, one row per unit out. A unit is what
one line of a document compares between the year and the year before: the city's total, a family or a category
in an arrondissement, a zone… Every document of the year (city and arrondissement bilans, PDF, exports) reads
its verdicts from this one table, so a line reads the same everywhere, and the Benjamini–Hochberg correction
runs over all the tests of the year at once (one family per publication, not one per table).

Rules (see ``docs/methods.md``):
- coverage: a unit is compared only when every partner that ever reported in it has data for every month of
  both years; otherwise ``comparable`` is False and ``reason`` says « pas de données pour … » (the first year
  of data has no previous year);
- exposure: rates per day (365 vs 366 days);
- test: :func:`observatory.analytics.inference.rate_tests` with the unit's own dispersion.
"""

from __future__ import annotations

import calendar

import numpy as np
import pandas as pd

from observatory.analytics.compare import ALPHA, UNRELIABLE_ANY, UNRELIABLE_PREVIOUS, benjamini_hochberg
from observatory.analytics.inference import HISTORY_YEARS, dispersion, rate_tests

UNIT_KEYS = ["geography", "dimension", "code"]
VERDICT_COLUMNS = UNIT_KEYS + ["current", "previous", "diff", "days_current", "days_previous", "exposure_ratio", "comparable",
                               "reason", "phi", "df", "test", "p_value", "p_adjusted", "significant", "unreliable"]
_ALL_SOURCES = "__all__"  # annual inputs without a source: one pseudo-partner


def days_in_year(year: int) -> int:
    return 366 if calendar.isleap(year) else 365


def _month_label(year: int, month: int) -> str:
    from observatory.labels import MONTHS

    return f"{MONTHS[month - 1]} {year}"


def _missing_text(source: str, missing: list[tuple[int, int]]) -> str:
    """« pas de données pour Police municipale en 2018 » / « … en mars 2024, avril 2024 »."""
    from observatory.labels import source_label

    by_year: dict[int, list[int]] = {}
    for y, m in missing:
        by_year.setdefault(y, []).append(m)
    parts = []
    for y, months in sorted(by_year.items()):
        if len(months) >= 12 or months == [0]:
            parts.append(str(y))
        else:
            parts.extend(_month_label(y, m) for m in sorted(months)[:3])
            if len(months) > 3:
                parts.append(f"et {len(months) - 3} autre(s) mois de {y}")
    who = "" if source == _ALL_SOURCES else f" pour {source_label(source)}"
    return f"pas de données{who} en " + ", ".join(parts)


def refusal_text(missing: dict[str, list[tuple[int, int]]]) -> str:
    """« pas de comparaison possible : … » for the partners' missing months (the same months for every
    partner are said once)."""
    texts = [_missing_text(s, g) for s, g in missing.items()]
    gaps = {tuple(sorted(g)) for g in missing.values()}
    if len(missing) > 1 and len(gaps) == 1:
        texts = [_missing_text(_ALL_SOURCES, next(iter(missing.values()))) + f" (aucun des {len(missing)} partenaires)"]
    return "pas de comparaison possible : " + " ; ".join(texts)


def infer_coverage(unit_counts: pd.DataFrame) -> pd.DataFrame:
    """Coverage when none is given: a (source, year, month) is covered when any unit has a row there."""
    c = unit_counts[unit_counts["n"] > 0]
    return c[["source", "year", "month"]].drop_duplicates().assign(covered=True)


def year_verdicts(unit_counts: pd.DataFrame, year: int, coverage: pd.DataFrame | None = None,
                  history_years: int = HISTORY_YEARS) -> pd.DataFrame:
    """The verdict of every unit for ``year`` against ``year - 1`` (pure).

    ``unit_counts``: ``geography``, ``dimension``, ``code``, ``year``, ``month`` (1–12, or 0 for annual counts
    without months), ``source`` (or the same placeholder everywhere), ``n``. ``coverage``: ``source``, ``year``,
    ``month``, ``covered`` (rows absent = not covered); default: inferred from the counts themselves.
    Returns :data:`VERDICT_COLUMNS`, one row per unit, sorted by unit.
    """
    prev = year - 1
    uc = unit_counts.copy()
    uc["source"] = uc["source"].astype(object).where(uc["source"].notna(), _ALL_SOURCES)
    uc["month"] = uc["month"].fillna(0).astype("int64")
    uc["year"] = uc["year"].astype("int64")
    if coverage is None:
        coverage = infer_coverage(uc)
    else:
        coverage = coverage.assign(source=coverage["source"].astype(object).where(coverage["source"].notna(), _ALL_SOURCES))
    units = uc[UNIT_KEYS].drop_duplicates().sort_values(UNIT_KEYS).reset_index(drop=True)
    if units.empty:
        return pd.DataFrame(columns=VERDICT_COLUMNS)
    uid = pd.MultiIndex.from_frame(units)
    key = pd.MultiIndex.from_frame(uc[UNIT_KEYS])
    uc["uid"] = uid.get_indexer(key)

    totals = uc.groupby(["uid", "year"])["n"].sum().unstack("year")
    cur = totals.get(year, pd.Series(0, index=totals.index)).reindex(range(len(units))).fillna(0).astype("int64").to_numpy()
    prv = totals.get(prev, pd.Series(0, index=totals.index)).reindex(range(len(units))).fillna(0).astype("int64").to_numpy()

    # Coverage: every source that ever reported in the unit must have data in every month of both years.
    monthly = bool((uc["month"] > 0).any())
    months = list(range(1, 13)) if monthly else [0]
    sources = sorted(uc["source"].unique())
    hist_years = list(range(year - history_years + 1, year + 1))
    cells = [(y, m) for y in hist_years for m in months]
    cov = coverage[coverage["covered"].astype(bool)]
    cov_set = set(zip(cov["source"], cov["year"].astype("int64"), cov["month"].astype("int64")))
    covered = np.array([[(s, y, m) in cov_set for (y, m) in cells] for s in sources], dtype=bool)  # sources × cells
    contrib = pd.crosstab(uc.loc[uc["n"] > 0, "uid"], uc.loc[uc["n"] > 0, "source"]).reindex(index=range(len(units)), columns=sources, fill_value=0).to_numpy() > 0
    missing_cells = (contrib.astype("int64") @ (~covered).astype("int64")) > 0  # units × cells
    compared = np.array([y in (year, prev) for (y, _) in cells])
    comparable = ~missing_cells[:, compared].any(axis=1)
    reasons = []
    for i in range(len(units)):
        if comparable[i]:
            reasons.append("")
            continue
        missing = {}
        for j, s in enumerate(sources):
            if not contrib[i, j]:
                continue
            gone = [cells[k] for k in range(len(cells)) if compared[k] and not covered[j, k]]
            if gone:
                missing[s] = gone
        reasons.append(refusal_text(missing))

    # Dispersion from the unit's monthly history (months where a contributing source has no data left out).
    if monthly:
        hist = uc[uc["year"].isin(hist_years)]
        cube = np.zeros((len(units), len(hist_years), 12))
        np.add.at(cube, (hist["uid"].to_numpy(), hist["year"].to_numpy() - hist_years[0], hist["month"].to_numpy() - 1), hist["n"].to_numpy())
        observed = ~missing_cells.reshape(len(units), len(hist_years), 12)
        phi, df = dispersion(cube, observed)
    else:
        phi, df = np.full(len(units), np.nan), np.zeros(len(units), dtype="int64")

    days_cur, days_prev = days_in_year(year), days_in_year(prev)
    ratio = days_cur / days_prev
    p, test = rate_tests(cur, prv, ratio, phi, df)
    out = units.copy()
    out["current"], out["previous"] = cur, prv
    out["diff"] = cur - prv
    out["days_current"], out["days_previous"], out["exposure_ratio"] = days_cur, days_prev, ratio
    out["comparable"] = comparable
    out["reason"] = reasons
    out["phi"], out["df"] = phi, df
    out["test"] = np.where(comparable, test, "none")
    out["p_value"] = np.where(comparable & (cur + prv > 0), p, np.nan)
    tested = pd.Series(comparable & (cur + prv > 0))
    out["p_adjusted"] = benjamini_hochberg(out["p_value"], tested).to_numpy()
    out["significant"] = (tested & (out["p_adjusted"] < ALPHA)).to_numpy()
    out["unreliable"] = (prv < UNRELIABLE_PREVIOUS) | (cur < UNRELIABLE_ANY)
    out.attrs["year"] = year
    out.attrs["tests"] = int(tested.sum())
    return out[VERDICT_COLUMNS]
