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
- ``rates_by_arrondissement(filters, include_city=True, by=None)`` → arrondissement, [by], count, population, vintage,
  rate_per_1000 (per year: ``analytics.exposure``; attrs period, years, rate_note), note (+ row 69123 for the city).
- ``rates_by_zone(filters, kinds=())`` → zone_id, kind, name, count, area_km2, rate_per_km2 (per year), note.
- ``indicators.published_filters(filters)`` / ``with_published_count(table, published, keys)``: the figure
  publications print below the city (sensitive categories left out), beside an analyst's count.
- ``monthly_series(filters, by=None)`` → month, [by], count (all months of the span, zeros filled).
- ``compare_periods(filters, kind="year"|"ytd"|"28d", reference=None, by=None, exposure_ratio=None, start=None)`` →
  [by keys], group, current, previous, diff, pct_change, p_value, p_adjusted, z, significant, unreliable,
  comparable, reason, test, phi, exposure_ratio, current_start, current_end, previous_start, previous_end
  (periods cut at the last day of data, per-day exposure, coverage refusal, quasi-Poisson: ``docs/methods.md``).
- ``analytics.verdicts.year_verdicts(unit_counts, year, coverage)`` (pure) → one verdict per (geography,
  dimension, code) of a year's publication; ``reports.verdicts.publication_verdicts(inputs, year)`` builds it
  for the yearly diagnostic (raw counts inside: protect before publishing).
- ``contributions(filters, kind, reference, by="category")`` → by, current, previous, diff, share_of_change.
- ``monthly_profile(filters)`` → year, month_of_year, count, days, seasonal_index (per observed day).
- ``same_month(filters, month=None, reference=None)`` → year, month_of_year, current, previous, days_current,
  days_previous, diff, pct_change, p_value, z, significant, unreliable (per observed day).
- ``hour_weekday(filters)`` → weekday, hour, count (168 rows; only hour-precise incidents).
- ``concentration(filters, unit="grid"|"place", tops=(.01, .05, .1, .2))`` → year, incidents, places,
  places_with_incidents, gini, top_1pct, top_5pct, top_10pct, top_20pct.
- ``concentration_curve(filters, unit="grid")`` → year, place_share, incident_share.
- ``hotspots(filters, band_m=400, fdr=True)`` → cell_id, arrondissement, x, y (Lambert-93 centre), count, z,
  p_value, p_adjusted, confidence (99/95/90/0), hotspot ("hot"/"cold"/""), class ("hot_99"… or "ns"), test
  (gi_star_nb / binomial_exact / outside_study_area; study area = filtered arrondissements or zones).
- ``persistence(filters, n_quarters=4, reference=None, confidence=95, band_m=400)`` → cell_id,
  arrondissement, x, y, quarters_hot, n_quarters, persistence, hot_last.
- ``predictive_accuracy(filters, kind="year", reference=None, confidence=95)`` → one row: previous_start,
  previous_end, current_start, current_end, hot_cells, cells, area_share, incidents, incident_share, pai.
- ``inside_outside(filters, zone_id="hypercentre", kind="year", reference=None)`` → zone_id, area
  (inside/outside), the compare columns, share_current, p_value_vs_outside, significant_vs_outside.
- ``pool_seasons(filters, year=None, previous_years=3)`` → zone_id, name, season, year, in_season,
  out_season, in_months, out_months, in_days, out_days, rate_in, rate_out, ratio, p_value, p_adjusted,
  significant, previous_in_season, previous_years, previous_days, previous_mean, p_value_vs_previous,
  p_adjusted_vs_previous, significant_vs_previous, unreliable, comparable, reason, comparable_in_year,
  reason_in_year, test, phi; last row « Toutes les piscines » (summer pools).
- ``coverage(filters)`` → source, month, count (<NA> on a gap), expected, status (ok/low/gap/zero).
- ``location_quality(filters)`` → source (+ "total"), incidents, without_point, share_without_point, point,
  address, sector, none.
- ``unmapped_labels(filters)`` → source, raw_label, count, first_seen, last_seen.
- ``quarantine_counts()`` → source, source_file, column, reason, count.

Privacy: ``protect(df, value_cols, min_count, *, keys=None, row_totals=True, viewer_is_analyst=False,
category_col="category", geo_cols=None, add_totals=False, as_text=True)`` and ``protection_status(...)``
(see ``observatory.analytics.privacy``). Method notes in French travel in ``df.attrs["note"]``.
"""

from observatory.analytics.compare import ALPHA, compare_counts, periods, poisson_test, poisson_tests, sqrt_z
from observatory.analytics.engine import Analytics, AnalyticsError, get_analytics
from observatory.analytics.sql import GROUP_EXPRESSIONS
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
    "compare_counts",
    "periods",
    "poisson_tests",
    "protect",
    "protection_status",
    "poisson_test",
    "sqrt_z",
]
