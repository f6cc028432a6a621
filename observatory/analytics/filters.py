"""The one filter value every indicator accepts, its URL form and its SQL form (parameterised, never formatted)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta
from typing import Any, Mapping
from zoneinfo import ZoneInfo

from observatory import schema

PARIS = ZoneInfo(schema.TIMEZONE)

# Field name -> kind; tuples of str unless stated.
_TUPLE_STR = ("categories", "families", "sources", "arrondissements", "zones", "location_qualities")
_TUPLE_INT = {"hours": (0, 23), "weekdays": (0, 6)}


class FiltersError(ValueError):
    """A filter value that cannot be used; the message names the field and the value."""


def _as_date(name: str, value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise FiltersError(f"filtre {name} : date invalide {value!r} (attendu AAAA-MM-JJ)") from None


def _as_tuple(name: str, value: Any) -> tuple:
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        value = [v for v in value.split(",") if v.strip()]
    try:
        items = list(value)
    except TypeError:
        items = [value]
    if name in _TUPLE_INT:
        lo, hi = _TUPLE_INT[name]
        out = []
        for v in items:
            try:
                iv = int(str(v).strip())
            except ValueError:
                raise FiltersError(f"filtre {name} : valeur non entière {v!r}") from None
            if not lo <= iv <= hi:
                raise FiltersError(f"filtre {name} : {iv} hors de l'intervalle {lo}–{hi}")
            out.append(iv)
        return tuple(sorted(set(out)))
    # Sorted and deduplicated so that equal selections share one cache entry.
    return tuple(sorted({str(v).strip() for v in items}))


@dataclass(frozen=True)
class Filters:
    """A selection of incidents. Dates are inclusive local (Europe/Paris) days; empty tuples mean no restriction.

    ``hours`` keeps only incidents whose time is known to the hour (``time_precision == 'hour'``);
    ``weekdays`` (0 = lundi … 6 = dimanche) drops incidents known only to the month.
    """

    start: date | None = None
    end: date | None = None
    categories: tuple[str, ...] = ()
    families: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    arrondissements: tuple[str, ...] = ()
    zones: tuple[str, ...] = ()
    hours: tuple[int, ...] = ()
    weekdays: tuple[int, ...] = ()
    location_qualities: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Normalise here so that lists, sets or strings passed by callers become hashable, canonical tuples.
        object.__setattr__(self, "start", _as_date("start", self.start))
        object.__setattr__(self, "end", _as_date("end", self.end))
        for name in _TUPLE_STR + tuple(_TUPLE_INT):
            object.__setattr__(self, name, _as_tuple(name, getattr(self, name)))
        if self.start and self.end and self.start > self.end:
            raise FiltersError(f"filtre période : début {self.start.isoformat()} après fin {self.end.isoformat()}")

    def replace(self, **changes: Any) -> "Filters":
        return dataclasses.replace(self, **changes)

    # URL state ------------------------------------------------------------------------------------------------
    def to_query(self) -> dict[str, str]:
        """Non-empty fields as strings: dates ISO, tuples comma-separated."""
        out: dict[str, str] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if v is None or v == ():
                continue
            out[f.name] = v.isoformat() if isinstance(v, date) else ",".join(str(x) for x in v)
        return out

    @classmethod
    def from_query(cls, query: Mapping[str, Any]) -> "Filters":
        """Inverse of :meth:`to_query`; unknown keys are ignored (URLs carry other state), bad values raise FiltersError."""
        known = {f.name for f in fields(cls)}
        values = {}
        for k, v in query.items():
            if k not in known:
                continue
            if isinstance(v, list) and len(v) == 1 and isinstance(v[0], str):
                v = v[0]  # parse_qs gives lists
            values[k] = v
        return cls(**values)

    # SQL ------------------------------------------------------------------------------------------------------
    def to_sql(self) -> tuple[str, list[Any]]:
        """A WHERE clause (without the keyword; 'TRUE' when empty) and its parameters.

        Dates become tz-aware instants on ``occurred_at`` (so Parquet statistics prune row groups) and a range on
        the ``year`` partition column (so whole files are skipped).
        """
        clauses: list[str] = []
        params: list[Any] = []
        if self.start is not None:
            clauses.append("occurred_at >= ?")
            params.append(datetime.combine(self.start, time(0), tzinfo=PARIS))
            clauses.append("year >= ?")
            params.append(self.start.year)
        if self.end is not None:
            clauses.append("occurred_at < ?")
            params.append(datetime.combine(self.end + timedelta(days=1), time(0), tzinfo=PARIS))
            clauses.append("year <= ?")
            params.append(self.end.year)
        for name, col in (
            ("categories", "category"),
            ("families", "family"),
            ("sources", "source"),
            ("arrondissements", "arrondissement"),
            ("location_qualities", "location_quality"),
        ):
            values = getattr(self, name)
            if values:
                clauses.append(f"{col} IN ({', '.join('?' * len(values))})")
                params.extend(values)
        if self.zones:
            clauses.append("list_has_any(zones, ?)")
            params.append(list(self.zones))
        if self.hours:
            clauses.append("time_precision = 'hour'")
            clauses.append(f"hour(local_ts) IN ({', '.join('?' * len(self.hours))})")
            params.extend(self.hours)
        if self.weekdays:
            clauses.append("time_precision <> 'month'")
            clauses.append(f"(isodow(local_ts) - 1) IN ({', '.join('?' * len(self.weekdays))})")
            params.extend(self.weekdays)
        return (" AND ".join(clauses) or "TRUE"), params
