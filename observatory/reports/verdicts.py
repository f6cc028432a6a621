"""The units every yearly document compares, and their verdicts computed once for the whole publication.

A city bilan and an arrondissement bilan show some of the same lines (the 3e's total, its categories, its
zones). :func:`publication_verdicts` builds every unit of the year's publication from the diagnostic's
aggregates and tests them together (:func:`observatory.analytics.verdicts.year_verdicts`), so each line gets
one verdict, the same in every document, under one Benjamini–Hochberg family. It is pure (aggregates in, a
table out) and can be stored with a publication.
"""

from __future__ import annotations

import pandas as pd

from observatory import schema
from observatory.analytics.verdicts import UNIT_KEYS, year_verdicts

UNKNOWN_ARRONDISSEMENT = "inconnu"
CITY = schema.CITY_CODE


def _monthly_counts(inputs) -> pd.DataFrame:  # noqa: ANN001 - DiagnosticInputs
    """year, month (0 = annual only), arrondissement, category, family, source, n."""
    if inputs.monthly is not None:
        return inputs.monthly
    c = inputs.counts
    return c.assign(month=0, source=None)


def _zone_monthly(inputs) -> pd.DataFrame:  # noqa: ANN001
    if inputs.zone_monthly is not None:
        return inputs.zone_monthly
    z = inputs.zone_counts
    return z.assign(month=0, source=None)


def publication_units(inputs) -> pd.DataFrame:  # noqa: ANN001 - DiagnosticInputs
    """Long table of (geography, dimension, code, year, month, source, n) for every unit of a year's documents.

    City: total, families, categories, the « non réparti » row, zones. Each arrondissement (sensitive categories
    left out, the privacy rule below the city): total, families, categories, its part of each zone.
    """
    m = _monthly_counts(inputs)
    cols = ["year", "month", "source", "n"]
    parts = [
        m[cols].assign(geography=CITY, dimension="total", code="all"),
        m[cols].assign(geography=CITY, dimension="family", code=m["family"].astype(object)),
        m[cols].assign(geography=CITY, dimension="category", code=m["category"].astype(object)),
    ]
    sensitive = m["category"].isin(schema.sensitive_categories())
    located = m["arrondissement"].isin(schema.ARRONDISSEMENT_CODES)
    arr = m[located & ~sensitive]
    parts += [
        arr[cols].assign(geography=arr["arrondissement"].astype(object), dimension="total", code="all"),
        arr[cols].assign(geography=arr["arrondissement"].astype(object), dimension="family", code=arr["family"].astype(object)),
        arr[cols].assign(geography=arr["arrondissement"].astype(object), dimension="category", code=arr["category"].astype(object)),
    ]
    rest = m[~located | sensitive]
    parts.append(rest[cols].assign(geography=CITY, dimension="arrondissement", code=UNKNOWN_ARRONDISSEMENT))
    z = _zone_monthly(inputs)
    parts.append(z[cols].assign(geography=CITY, dimension="zone", code=z["zone_id"].astype(object)))
    zl = z[z["arrondissement"].isin(schema.ARRONDISSEMENT_CODES)]
    parts.append(zl[cols].assign(geography=zl["arrondissement"].astype(object), dimension="zone", code=zl["zone_id"].astype(object)))
    out = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) else pd.DataFrame(columns=UNIT_KEYS + cols)
    out["code"] = out["code"].astype(object).where(out["code"].notna(), "inconnu")
    return out.groupby(UNIT_KEYS + ["year", "month", "source"], dropna=False, as_index=False)["n"].sum()


def publication_verdicts(inputs, year: int) -> pd.DataFrame:  # noqa: ANN001 - DiagnosticInputs
    """One verdict per unit of ``year``'s publication (see :func:`observatory.analytics.verdicts.year_verdicts`)."""
    return year_verdicts(publication_units(inputs), year, inputs.coverage)


def lookup(verdicts: pd.DataFrame, geography: str, dimension: str) -> pd.DataFrame:
    """The verdicts of one table: ``code`` and the verdict columns."""
    sub = verdicts[(verdicts["geography"] == geography) & (verdicts["dimension"] == dimension)]
    return sub.drop(columns=["geography", "dimension"])
