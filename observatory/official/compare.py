"""Official figures beside the observatory's own counts: pure functions, DataFrames in and out."""

from __future__ import annotations

import numpy as np
import pandas as pd

from observatory import schema
from observatory.official import indicators as ind
from observatory.official import model as m

OFFICIAL_COUNT = "official_count"
OBSERVATORY_COUNT = "observatory_count"
DIFFERENCE = "difference"
RATIO = "ratio"
CATEGORIES = "categories"

COMPARISON_COLUMNS = (m.CODE, m.LEVEL, m.YEAR, m.INDICATOR, m.INDICATOR_LABEL, CATEGORIES, OFFICIAL_COUNT, m.DIFFUSED, OBSERVATORY_COUNT, DIFFERENCE, RATIO)

# Why the two never match; shown under every comparison (French, for the page and the report).
DIFFERENCE_NOTE = (
    "Les deux sources ne mesurent pas la même chose. Le SSMSI compte les faits enregistrés par la police et la "
    "gendarmerie nationales, rattachés à la commune où la plainte est enregistrée (lieu d'enregistrement), "
    "alors que l'observatoire localise les faits là où ils ont été commis. L'observatoire réunit en outre des "
    "partenaires que le SSMSI ne couvre pas (police municipale, TCL, bailleurs, piscines, médiateurs) et ne "
    "reçoit pas toutes les procédures de la police nationale. Enfin, les qualifications diffèrent : un fait "
    "requalifié au cours de la procédure (par exemple une tentative devenue vol, des violences devenues "
    "violences aggravées) change d'indicateur côté SSMSI, tandis que la catégorie de l'observatoire suit le "
    "libellé saisi par le partenaire. Les écarts donnent un ordre de grandeur, pas une erreur à corriger."
)


def observatory_indicator_counts(counts: pd.DataFrame, category_map: dict[str, str] | None = None) -> pd.DataFrame:
    """Observatory counts per (year, arrondissement, category) → per (code, year, indicator), both levels.

    ``counts`` has columns ``year``, ``arrondissement`` (INSEE code or missing), ``category``, ``count``.
    The city row (69123) counts every incident, including those whose arrondissement is unknown; the
    arrondissement rows count only located ones. Categories without an SSMSI match are left out.
    """
    category_map = category_indicators_or(category_map)
    need = {schema.YEAR, schema.ARRONDISSEMENT, schema.CATEGORY, "count"}
    missing = need - set(counts.columns)
    if missing:
        raise ValueError(f"observatory counts lack columns {sorted(missing)}")
    df = counts.loc[counts[schema.CATEGORY].isin(list(category_map))].copy()
    df[m.INDICATOR] = df[schema.CATEGORY].map(category_map)
    df[m.YEAR] = df[schema.YEAR].astype("int64")
    df["count"] = pd.to_numeric(df["count"]).astype("int64")
    located = df.loc[df[schema.ARRONDISSEMENT].isin(list(schema.ARRONDISSEMENT_CODES))]
    by_arr = located.groupby([schema.ARRONDISSEMENT, m.YEAR, m.INDICATOR], as_index=False)["count"].sum()
    by_arr = by_arr.rename(columns={schema.ARRONDISSEMENT: m.CODE})
    city = df.groupby([m.YEAR, m.INDICATOR], as_index=False)["count"].sum()
    city[m.CODE] = schema.CITY_CODE
    out = pd.concat([city, by_arr], ignore_index=True)
    out[m.CODE] = out[m.CODE].astype("str")
    return out.rename(columns={"count": OBSERVATORY_COUNT})[[m.CODE, m.YEAR, m.INDICATOR, OBSERVATORY_COUNT]]


def category_indicators_or(category_map: dict[str, str] | None) -> dict[str, str]:
    return ind.category_indicators() if category_map is None else category_map


def official_vs_observatory(official: pd.DataFrame, observatory: pd.DataFrame, category_map: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per (code, year, indicator) present in the official table and matched by an observatory category.

    ``official`` is :func:`observatory.official.read_official` output; ``observatory`` is the output of
    :func:`observatory_indicator_counts`. A year the observatory has no data for gives ``observatory_count``
    <NA> (not 0: absence of data is not absence of facts). A non-diffused official figure stays <NA>, so no
    difference or ratio is computed for it.
    """
    category_map = category_indicators_or(category_map)
    matched = sorted(set(category_map.values()))
    off = official.loc[official[m.INDICATOR].isin(matched), [m.CODE, m.LEVEL, m.YEAR, m.INDICATOR, m.INDICATOR_LABEL, m.COUNT, m.DIFFUSED]]
    off = off.rename(columns={m.COUNT: OFFICIAL_COUNT}).copy()
    off[m.YEAR] = off[m.YEAR].astype("int64")
    obs = observatory.copy()
    obs[m.YEAR] = obs[m.YEAR].astype("int64")
    years_with_data = set(obs[m.YEAR].unique())
    out = off.merge(obs, on=[m.CODE, m.YEAR, m.INDICATOR], how="left")
    out[OBSERVATORY_COUNT] = out[OBSERVATORY_COUNT].astype("Int64")
    # A year the observatory covers but with no fact of a category is a true zero.
    covered = out[m.YEAR].isin(list(years_with_data))
    out.loc[covered & out[OBSERVATORY_COUNT].isna(), OBSERVATORY_COUNT] = 0
    out[OFFICIAL_COUNT] = out[OFFICIAL_COUNT].astype("Int64")
    out[DIFFERENCE] = (out[OBSERVATORY_COUNT] - out[OFFICIAL_COUNT]).astype("Int64")
    official_f = out[OFFICIAL_COUNT].astype("Float64")
    out[RATIO] = (out[OBSERVATORY_COUNT].astype("Float64") / official_f.where(official_f > 0)).astype("Float64")
    inverse: dict[str, list[str]] = {}
    for cat, code in category_map.items():
        inverse.setdefault(code, []).append(cat)
    out[CATEGORIES] = out[m.INDICATOR].map(lambda c: ", ".join(sorted(inverse.get(c, []))))
    order = out[m.INDICATOR].map(ind.ORDER).fillna(len(ind.ORDER))
    out = out.assign(_o=order.to_numpy(np.int64)).sort_values([m.CODE, "_o", m.YEAR]).drop(columns="_o")
    return out.loc[:, list(COMPARISON_COLUMNS)].reset_index(drop=True)


def sensitive_indicators(category_map: dict[str, str] | None = None) -> frozenset[str]:
    """Indicators matched by a sensitive category (intra-family and sexual violence)."""
    category_map = category_indicators_or(category_map)
    sensitive = schema.sensitive_categories()
    return frozenset(code for cat, code in category_map.items() if cat in sensitive)


def observatory_count_text(comparison: pd.DataFrame, min_count: int, viewer_is_analyst: bool) -> pd.Series:
    """The observatory counts as published text: "< 5" for 1..min_count-1, and for viewers who are not analysts,
    "n.d." for sensitive indicators below the city level (they are shown only as city aggregates).

    Official counts are already public and are never masked; only the observatory's own figures are.
    """
    sensitive = sensitive_indicators()
    out = []
    for code, indicator, value in zip(comparison[m.CODE], comparison[m.INDICATOR], comparison[OBSERVATORY_COUNT]):
        if pd.isna(value):
            out.append("–")
        elif not viewer_is_analyst and indicator in sensitive and code != schema.CITY_CODE:
            out.append("n.d.")
        elif 0 < int(value) < min_count:
            out.append(f"<\u00a0{min_count}")
        else:
            from observatory.labels import fmt_int

            out.append(fmt_int(int(value)))
    return pd.Series(out, index=comparison.index, dtype="str")
