"""Read-only analytics over the current snapshot: filters, indicators, tests, hot spots, privacy.

No Dash import here; every function returns a pandas DataFrame with code-valued columns (labels come from
``observatory.labels``). The full reference is the Analytics section of ``docs/contracts.md``.

Entry points
------------
``Filters(start, end, categories, families, sources, arrondissements, zones, hours, weekdays,
location_qualities)`` — frozen; dates inclusive (Europe/Paris days), tuples (empty = no restriction).
``Filters.to_query() -> dict[str, str]`` / ``Filters.from_query(dict)`` for URL state (``FiltersError`` on bad
values, with a French one-line message).

``get_analytics(settings) -> Analytics`` — the instance of the current snapshot (rebuilt when it changes).
``Analytics(settings, snapshot=None)``; ``Analytics.from_files(paths, settings)``; ``.snapshot_id``.

Methods of ``Analytics`` (all cached by snapshot id, function and arguments; ``filters`` defaults to all):
- ``counts(filters, by=("arrondissement",))`` → by keys, ``count``, ``facts``. Keys: arrondissement,
  category, family, source, location_quality, time_precision, place_type, place_name, raw_label, grid_cell,
  iris, zone, year, month, month_of_year, quarter, day, hour, weekday.
- ``rates_by_arrondissement(filters, include_city=True)`` → arrondissement, count, population, vintage,
  rate_per_1000, note (+ row 69123 for the city).
- ``rates_by_zone(filters, kinds=())`` → zone_id, kind, name, count, area_km2, rate_per_km2, note.
- ``monthly_series(filters, by=None)`` → month, [by], count (all months of the span, zeros filled).
- ``compare_periods(filters, kind="year"|"ytd"|"28d", reference=None, by=None, exposure_ratio=1.0)`` →
  [by keys], group, current, previous, diff, pct_change, p_value, z, significant, unreliable, current_start,
  current_end, previous_start, previous_end.
- ``contributions(filters, kind, reference, by="category")`` → by, current, previous, diff, share_of_change.
"""

from observatory.analytics.compare import ALPHA, periods, poisson_test, sqrt_z
from observatory.analytics.engine import GROUP_EXPRESSIONS, Analytics, AnalyticsError, get_analytics
from observatory.analytics.filters import Filters, FiltersError
from observatory.analytics.privacy import protect, protection_status

__all__ = [
    "ALPHA",
    "GROUP_EXPRESSIONS",
    "Analytics",
    "AnalyticsError",
    "Filters",
    "FiltersError",
    "get_analytics",
    "periods",
    "protect",
    "protection_status",
    "poisson_test",
    "sqrt_z",
]
