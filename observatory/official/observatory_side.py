"""The observatory's own counts, fetched through ``observatory.analytics`` for the official comparison.

Kept apart from the pure comparison (``compare.py``) so that the comparison can be tested with two small
DataFrames and this module stays a thin call into the analytics layer.
"""

from __future__ import annotations

from datetime import date
from typing import Iterable

import pandas as pd

from observatory import schema
from observatory.config import Settings


def counts_by_year_arrondissement_category(settings: Settings, years: Iterable[int] | None = None) -> pd.DataFrame | None:
    """Columns ``year``, ``arrondissement``, ``category``, ``count`` (facts, i.e. the sum of ``n_facts``).

    None when there is no published snapshot. Facts rather than rows: the SSMSI counts facts (or victims),
    and one partner row may carry several.
    """
    from observatory.analytics.engine import get_analytics
    from observatory.analytics.filters import Filters

    analytics = get_analytics(settings)
    if analytics.snapshot is None or analytics.snapshot_id == "empty":
        return None
    years = sorted({int(y) for y in years}) if years is not None else []
    filters = Filters(start=date(years[0], 1, 1), end=date(years[-1], 12, 31)) if years else Filters()
    df = analytics.counts(filters, by=(schema.YEAR, schema.ARRONDISSEMENT, schema.CATEGORY))
    out = df.loc[:, [schema.YEAR, schema.ARRONDISSEMENT, schema.CATEGORY]].copy()
    out["count"] = df["facts"].astype("int64")
    return out
