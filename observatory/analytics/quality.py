"""Data quality: coverage by source × month, location, unmapped labels, quarantine."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from observatory import schema
from observatory.analytics.filters import Filters
from observatory.analytics.indicators import counts, month_range

if TYPE_CHECKING:
    from observatory.analytics.engine import Analytics

# A month without rows is a gap when a Poisson month at the source's usual level would almost never be empty.
GAP_PROBABILITY = 0.01
COVERAGE_NOTE = (
    "Un mois sans donnée d'un partenaire qui en transmet habituellement (moins de 1 % de chances d'un mois vide "
    "à son niveau médian) est une lacune, pas un zéro."
)


def coverage(an: "Analytics", filters: Filters) -> pd.DataFrame:
    """Source × month over each source's span (first to last month it sent), zeros made explicit.

    Columns: ``source``, ``month``, ``count`` (nullable: ``<NA>`` on a gap), ``expected`` (the source's median
    monthly count), ``status``: "ok", "low" (below a quarter of the median), "gap" (no row where P(0) < 1 %
    at the median level: a missing delivery), "zero" (no row, plausible for this source).
    """
    c = counts(an, filters, ("source", "month"))
    if c.empty:
        return pd.DataFrame({"source": pd.Series(dtype="str"), "month": pd.Series(dtype="datetime64[ns]"),
                             "count": pd.Series(dtype="Int64"), "expected": pd.Series(dtype="float64"), "status": pd.Series(dtype="str")})
    c["month"] = pd.to_datetime(c["month"])
    parts = []
    for src, part in c.groupby("source"):
        months = month_range(part["month"].min(), part["month"].max())
        s = part.set_index("month")["count"].reindex(months, fill_value=0)
        med = float(np.median(s.to_numpy()))
        zero = s == 0
        gap = zero & (np.exp(-med) < GAP_PROBABILITY)
        status = np.select([gap, zero, s < 0.25 * med], ["gap", "zero", "low"], default="ok")
        parts.append(pd.DataFrame({"source": src, "month": months, "count": s.astype("Int64").mask(gap).to_numpy(),
                                   "expected": med, "status": status}))
    out = pd.concat(parts, ignore_index=True)
    out.attrs["note"] = COVERAGE_NOTE
    return out


def location_quality(an: "Analytics", filters: Filters) -> pd.DataFrame:
    """Per source and for all (``source`` = "total"): ``incidents``, ``without_point`` (no coordinates: sector
    or none), ``share_without_point``, and counts per quality (``point``, ``address``, ``sector``, ``none``)."""
    c = counts(an, filters, ("source", "location_quality"))
    wide = c.pivot_table(index="source", columns="location_quality", values="count", aggfunc="sum", fill_value=0)
    wide = wide.reindex(columns=list(schema.LOCATION_QUALITIES), fill_value=0)
    wide.loc["total"] = wide.sum()
    wide.columns.name = None
    out = wide.reset_index()
    out["incidents"] = out[list(schema.LOCATION_QUALITIES)].sum(axis=1)
    out["without_point"] = out["sector"] + out["none"]
    out["share_without_point"] = out["without_point"] / out["incidents"].where(out["incidents"] > 0)
    cols = ["source", "incidents", "without_point", "share_without_point"] + list(schema.LOCATION_QUALITIES)
    return out[cols].astype({c: "int64" for c in cols if c not in ("source", "share_without_point")})


def unmapped_labels(an: "Analytics", filters: Filters) -> pd.DataFrame:
    """Labels no mapping knew (category ``non_classe``): ``source``, ``raw_label``, ``count``, ``first_seen``,
    ``last_seen`` (local dates), most frequent first."""
    where, params = filters.to_sql()
    return an.query(
        "SELECT source, raw_label, count(*) AS count, CAST(min(local_ts) AS DATE) AS first_seen, "
        f"CAST(max(local_ts) AS DATE) AS last_seen FROM incidents WHERE {where} AND category = ? "
        "GROUP BY source, raw_label ORDER BY count DESC, source, raw_label",
        params + [schema.NON_CLASSE],
    )


def quarantine_counts(settings) -> pd.DataFrame:
    """Quarantined rows by ``source``, ``source_file``, ``column``, ``reason`` → ``count`` (empty before any
    ingest or when the store is not available)."""
    cols = ["source", "source_file", "column", "reason", "count"]
    try:
        from observatory.store import read_quarantine
    except ImportError:
        return pd.DataFrame(columns=cols)
    q = read_quarantine(settings)
    if q is None or q.empty:
        return pd.DataFrame({c: pd.Series(dtype="int64" if c == "count" else "str") for c in cols})
    keys = [c for c in cols[:-1] if c in q.columns]
    return q.groupby(keys, dropna=False).size().rename("count").reset_index().sort_values("count", ascending=False, kind="stable").reset_index(drop=True)
