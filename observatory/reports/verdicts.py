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


def snapshot_verdicts(an, year: int) -> pd.DataFrame:  # noqa: ANN001 - Analytics
    """:func:`publication_verdicts` of ``year`` on the snapshot of ``an``, memoised with it (the home page reads
    the bilan's verdicts instead of testing the same lines again in another family)."""
    from observatory.reports.diagnostic_loading import load_inputs

    return an.cached("publication_verdicts", lambda a, y: publication_verdicts(load_inputs(a.settings, a), y), year)


# Columns of a compare_periods table that the publication's verdict replaces (counts stay the screen's own).
VERDICT_OVERRIDES = ("p_value", "p_adjusted", "significant", "comparable", "reason", "test", "phi")


def with_publication_verdicts(cmp: pd.DataFrame, verdicts: pd.DataFrame, by: tuple[str, ...]) -> pd.DataFrame:
    """A city-wide comparison of a closed calendar year (``compare_periods`` by nothing or by category/family)
    with the verdicts of the year's publication, so that a line reads the same on the home page and in the bilan
    (pure). The z of the screen's own test no longer matches and is left out. Other shapes come back unchanged."""
    if len(by) > 1 or (by and by[0] not in ("category", "family")):
        return cmp
    dimension = by[0] if by else "total"
    v = lookup(verdicts, CITY, dimension).set_index("code")
    codes = cmp[by[0]].astype(object).where(cmp[by[0]].notna(), "inconnu") if by else pd.Series(["all"] * len(cmp), index=cmp.index)
    found = codes.isin(v.index).to_numpy()
    out = cmp.copy()
    for col in VERDICT_OVERRIDES:
        if col in out and col in v:
            values = v[col].reindex(codes.to_numpy()).to_numpy()
            out[col] = pd.Series(values, index=out.index).where(found, out[col]).astype(out[col].dtype)
    if "z" in out:
        out["z"] = out["z"].where(~found)
    out.attrs = dict(cmp.attrs)
    out.attrs["note"] = (cmp.attrs.get("note", "") + " Verdicts de l'année : ceux du bilan (une seule correction pour tous les tests "
                         "de la publication).").strip()
    return out
