"""SQL fragments shared by the indicator modules and the engine: group keys and time-precision clauses.

Their own module so that the indicator modules never import the ``engine`` facade (which imports them).
"""

from __future__ import annotations

from typing import Iterable

# Group keys accepted by ``by=`` arguments -> SQL expression. A closed list: user input never reaches SQL text.
GROUP_EXPRESSIONS: dict[str, str] = {
    "arrondissement": "arrondissement",
    "category": "category",
    "family": "family",
    "source": "source",
    "location_quality": "location_quality",
    "time_precision": "time_precision",
    "place_type": "place_type",
    "place_name": "place_name",
    "raw_label": "raw_label",
    "grid_cell": "grid_cell",
    "iris": "iris",
    "zone": "zone",  # one row per (incident, zone) after unnest
    "year": "CAST(year AS INTEGER)",
    "month": "CAST(date_trunc('month', local_ts) AS DATE)",
    "month_of_year": "CAST(month(local_ts) AS INTEGER)",
    "quarter": "CAST(date_trunc('quarter', local_ts) AS DATE)",
    "day": "CAST(local_ts AS DATE)",
    "hour": "CAST(hour(local_ts) AS INTEGER)",
    "weekday": "CAST(isodow(local_ts) - 1 AS INTEGER)",
}
# Keys that need a precise enough time: rows known only to the month (or day) are excluded from them.
_NEEDS_HOUR = {"hour"}
_NEEDS_DAY = {"weekday", "day"}


def group_sql(by: Iterable[str]) -> list[tuple[str, str]]:
    """(name, SQL expression) of each group key, refusing unknown keys with a clear message."""
    out = []
    for key in by:
        if key not in GROUP_EXPRESSIONS:
            raise ValueError(f"regroupement inconnu {key!r} ; possibles : {', '.join(GROUP_EXPRESSIONS)}")
        out.append((key, GROUP_EXPRESSIONS[key]))
    return out


def precision_clause(by: Iterable[str]) -> str:
    keys = set(by)
    if keys & _NEEDS_HOUR:
        return "time_precision = 'hour'"
    if keys & _NEEDS_DAY:
        return "time_precision <> 'month'"
    return "TRUE"
