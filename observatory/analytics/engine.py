"""The query engine: one DuckDB connection over a snapshot's Parquet files, and a result cache.

DuckDB reads the Parquet files in place (a view), so opening an ``Analytics`` costs milliseconds whatever the
size of the snapshot. Every query runs on its own cursor, which makes one ``Analytics`` safe to share between
the dashboard's concurrent requests. Results are cached by (snapshot id, function, arguments); a new snapshot
gets a new ``Analytics`` (see :func:`get_analytics`) so nothing stale is ever served.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable

from zoneinfo import ZoneInfo

import duckdb
import numpy as np
import pandas as pd

from observatory import schema
# The indicator modules import only ``sql`` and ``filters`` (never this facade), so importing them here is safe.
from observatory.analytics import compare, concentration, hotspots, indicators, quality, seasonality, zones
from observatory.analytics.errors import AnalyticsError, one_line  # noqa: F401 - AnalyticsError re-exported
from observatory.analytics.filters import Filters
from observatory.analytics.sql import GROUP_EXPRESSIONS, group_sql, precision_clause  # noqa: F401  (re-exported)
from observatory.config import Settings

# Europe/Paris wall time. ICU's timezone() costs ≈ 100–170 ms per million rows, most of a typical query, so the
# view computes it with integer arithmetic instead: the UTC instants of every daylight-saving change 1981–2099
# (read from zoneinfo once) as two constant lists indexed by an approximate year (exact enough: changes happen
# in March and October, far from the approximation's error at new year). ≈ 15 ms per million rows. Instants
# outside 1981–2099 go through ICU when it loads, otherwise get CET (+1 h).
_FIRST_YEAR, _LAST_YEAR = 1981, 2099
_US_PER_YEAR = 31_556_952_000_000  # mean Gregorian year, microseconds


@lru_cache(maxsize=1)
def _dst_changes() -> tuple[list[int], list[int]]:
    paris = ZoneInfo(schema.TIMEZONE)
    starts, ends = [], []
    for y in range(_FIRST_YEAR, _LAST_YEAR + 1):
        d = datetime(y, 1, 1, 1, tzinfo=timezone.utc)  # EU changes happen at 01:00 UTC on a Sunday
        d += timedelta(days=(6 - d.weekday()) % 7)
        s = e = None
        while d.year == y:
            before = (d - timedelta(seconds=1)).astimezone(paris).utcoffset()
            after = d.astimezone(paris).utcoffset()
            if after > before:
                s = d
            elif after < before:
                e = d
            d += timedelta(days=7)
        if s is None or e is None:
            raise AnalyticsError(f"no daylight-saving change found for {y} in the time-zone database")
        starts.append(int(s.timestamp()) * 1_000_000)
        ends.append(int(e.timestamp()) * 1_000_000)
    return starts, ends


def local_time_sql(icu: bool, epoch_us: str = "epoch_us(occurred_at)") -> str:
    """SQL for the Europe/Paris wall time (TIMESTAMP) of an instant given in microseconds since 1970 UTC
    (default: ``occurred_at``), see the comment above."""
    starts, ends = _dst_changes()
    lo = int(datetime(_FIRST_YEAR, 1, 1, tzinfo=timezone.utc).timestamp()) * 1_000_000
    hi = int(datetime(_LAST_YEAR, 12, 1, tzinfo=timezone.utc).timestamp()) * 1_000_000
    e = f"({epoch_us})"
    idx = f"(CAST(floor({e} / {_US_PER_YEAR}) AS BIGINT) - {_FIRST_YEAR - 1970 - 1})"
    s_list = "[" + ",".join(map(str, starts)) + "]"
    e_list = "[" + ",".join(map(str, ends)) + "]"
    outside = f"timezone('{schema.TIMEZONE}', make_timestamptz({e}))" if icu else f"make_timestamp({e} + 3600000000)"
    return (
        f"(CASE WHEN {e} < {lo} OR {e} >= {hi} THEN {outside} "
        f"ELSE make_timestamp({e} + CASE WHEN {e} >= {s_list}[{idx}] AND {e} < {e_list}[{idx}] "
        "THEN 7200000000 ELSE 3600000000 END) END)"
    )


_one_line = one_line


def _read_error(exc: Exception) -> bool:
    """What a snapshot file gone bad after opening raises: I/O, invalid input, or DuckDB's bare ``Error`` (a torn
    Parquet footer). Its other subclasses (binder, parser…) are the code's own mistakes: tracebacks for the log."""
    return isinstance(exc, (duckdb.IOException, duckdb.InvalidInputException)) or type(exc) is duckdb.Error


def _files_id(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in sorted(paths):
        st = p.stat()
        h.update(f"{p}|{st.st_size}|{st.st_mtime_ns}".encode())
    return "files-" + h.hexdigest()[:16]


class Analytics:
    """Read-only access to one snapshot. Indicators are methods; see ``observatory.analytics`` for the list."""

    def __init__(self, settings: Settings, snapshot: Any = None, *, cache_size: int = 256) -> None:
        self.settings = settings
        if snapshot is None:
            snapshot = _current_snapshot(settings)
        self.snapshot = snapshot
        if snapshot is None:
            self.snapshot_id = "empty"
            files: list[Path] = []
        else:
            self.snapshot_id = str(snapshot.id)
            files = [Path(p) for p in snapshot.incident_files]
        self.files = files
        self._cache: OrderedDict[tuple, pd.DataFrame] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self._territory = None
        self._grid: pd.DataFrame | None = None
        self._ranges: dict[Filters, tuple[date | None, date | None]] = {}
        self._weights: dict[float, object] = {}
        self._study_weights: OrderedDict = OrderedDict()  # (band, study cells) → weights among them (small LRU)
        self._grid_positions: dict[str, int] | None = None
        self._populations: pd.DataFrame | None = None
        self.con = duckdb.connect(":memory:")
        self._open(files)

    @classmethod
    def from_files(cls, paths: Iterable[Path | str], settings: Settings, snapshot_id: str | None = None, *,
                   cache_size: int = 256) -> "Analytics":
        """An Analytics over Parquet files outside the store (tests, notebooks, benchmarks)."""
        paths = [Path(p) for p in paths]
        missing = [str(p) for p in paths if not p.exists()]
        if missing:
            raise AnalyticsError(f"fichier Parquet introuvable : {missing[0]}")

        class _Files:
            pass

        snap = _Files()
        snap.id = snapshot_id or (_files_id(paths) if paths else "empty")
        snap.incident_files = paths
        return cls(settings, snap, cache_size=cache_size)

    # Setup ----------------------------------------------------------------------------------------------------
    def _open(self, files: list[Path]) -> None:
        try:
            self.con.execute("LOAD icu")
            icu = True
        except duckdb.Error:  # no ICU: local times still exact for 1981–2099
            icu = False
        local_ts = local_time_sql(icu)
        if not files:
            # An empty table with the canonical schema, so every indicator answers (with zero rows).
            empty = schema.empty_incidents()  # noqa: F841  (read by DuckDB's replacement scan)
            self.con.execute("CREATE TABLE raw_incidents AS SELECT * FROM empty")
            source = "raw_incidents"
        else:
            hive = all("year=" in p.parent.name for p in files)
            listing = ", ".join("'" + str(p).replace("'", "''") + "'" for p in files)
            source = f"read_parquet([{listing}], hive_partitioning={'true' if hive else 'false'}, union_by_name=true)"
        try:
            cols = {r[0] for r in self.con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
        except duckdb.Error as exc:
            raise AnalyticsError(f"instantané {self.snapshot_id} illisible : {_one_line(exc)}") from None
        missing = {schema.OCCURRED_AT, schema.CATEGORY, schema.SOURCE, schema.ZONES} - cols
        if missing:
            raise AnalyticsError(f"{files[0]} : colonnes manquantes {sorted(missing)} ; ce n'est pas un fichier d'incidents canonique")
        year = "" if "year" in cols else ", CAST(year(occurred_at::TIMESTAMP) AS SMALLINT) AS year"
        self.con.execute(f"CREATE VIEW incidents AS SELECT *, {local_ts} AS local_ts{year} FROM {source}")

    def close(self) -> None:
        self.con.close()

    # Query helpers --------------------------------------------------------------------------------------------
    def query(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
        """Run SQL on a fresh cursor (thread-safe) and return a DataFrame."""
        return self._fetch(sql, params, lambda result: result.df())

    def query_numpy(self, sql: str, params: list[Any] | None = None) -> dict[str, np.ndarray]:
        """Like :meth:`query`, as numpy columns (masked where NULL): for small results that a DataFrame would
        cost more to build than to use (a map's ten rows, Gi*'s grid counts)."""
        return self._fetch(sql, params, lambda result: result.fetchnumpy())

    def scalar(self, sql: str, params: list[Any] | None = None) -> Any:
        row = self._fetch(sql, params, lambda result: result.fetchone())
        return row[0] if row else None

    def _fetch(self, sql: str, params: list[Any] | None, fetch: Callable[[Any], Any]) -> Any:
        """``fetch`` of the result of ``sql`` on a fresh cursor (thread-safe), closed whatever happens."""
        cur = self.con.cursor()
        try:
            return fetch(cur.execute(sql, params or []))
        except duckdb.Error as exc:
            if not _read_error(exc):
                raise
            # A file of the snapshot went bad after opening: one line naming it, never a traceback in a page.
            raise AnalyticsError(f"instantané {self.snapshot_id} illisible : {_one_line(exc)}") from None
        finally:
            cur.close()

    def cached(self, name: str, fn: Callable[..., pd.DataFrame], *args: Any, **kwargs: Any) -> pd.DataFrame:
        """``fn(self, *args, **kwargs)`` memoised by (snapshot id, name, arguments); returns a CoW-safe copy."""
        key = (self.snapshot_id, name, args, tuple(sorted(kwargs.items())))
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
        if hit is None:
            hit = fn(self, *args, **kwargs)
            with self._lock:
                self._cache[key] = hit
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        # A shallow copy under copy-on-write: a caller that modifies its result never touches the cached one.
        out = hit.copy(deep=False)
        out.attrs = dict(hit.attrs)
        return out

    def cache_info(self) -> dict[str, int]:
        return {"entries": len(self._cache), "max": self._cache_size}

    @property
    def territory(self):
        if self._territory is None:
            from observatory.territory import load_territory

            self._territory = load_territory(self.settings)
        return self._territory

    def grid(self) -> pd.DataFrame:
        """The city grid (cached): ``cell_id``, ``arrondissement``, ``share_in_city``, ``x``, ``y`` (centres, Lambert-93)."""
        with self._lock:
            if self._grid is None:
                from observatory.territory import city_grid

                g = city_grid(self.territory, self.settings.grid_size_m)
                c = g.geometry.centroid
                self._grid = pd.DataFrame({"cell_id": g["cell_id"].astype(str).to_numpy(), "arrondissement": g["arrondissement"].to_numpy(),
                                           "share_in_city": g["share_in_city"].to_numpy(), "x": c.x.to_numpy(), "y": c.y.to_numpy()})
            return self._grid

    def arrondissement_populations(self) -> pd.DataFrame:
        """``arrondissement``, ``population``, ``vintage`` of the territory (a copy of a cached frame: selecting
        three columns of the GeoDataFrame cost ~1.5 ms per map)."""
        with self._lock:
            if self._populations is None:
                arr = self.territory.arrondissements
                self._populations = pd.DataFrame(arr[["code", "population", "vintage"]]).rename(columns={"code": "arrondissement"})
            return self._populations.copy()

    def territory_vintage(self) -> int:
        """The year of the legal populations."""
        return int(self.arrondissement_populations()["vintage"].iloc[0])

    def grid_positions(self) -> dict[str, int]:
        """Position of each cell id in :meth:`grid` (cached): a dict, because Gi* looks up ~1,500 ids per call
        and ``pd.Index.get_indexer`` on strings cost ~1 ms of its ~10."""
        grid = self.grid()
        with self._lock:
            if self._grid_positions is None:
                self._grid_positions = {cell: i for i, cell in enumerate(grid["cell_id"].tolist())}
            return self._grid_positions

    def study_weights(self, band_m: float, idx: np.ndarray):
        """:meth:`weights` restricted to the cells ``idx`` of the grid (rows and columns), cached per study area:
        slicing the sparse matrix both ways costs more than the Gi* statistics themselves."""
        key = (band_m, len(idx), hashlib.blake2b(np.ascontiguousarray(idx, dtype=np.int64).tobytes(), digest_size=16).digest())
        with self._lock:
            w = self._study_weights.get(key)
            if w is not None:
                self._study_weights.move_to_end(key)
                return w
        w = self.weights(band_m)[idx][:, idx]
        with self._lock:
            self._study_weights[key] = w
            while len(self._study_weights) > 32:
                self._study_weights.popitem(last=False)
        return w

    def weights(self, band_m: float):
        """Binary distance-band weights over the city grid's centres (cached per band)."""
        grid = self.grid()
        with self._lock:
            w = self._weights.get(band_m)
        if w is None:
            w = hotspots.distance_band_weights(grid["x"].to_numpy(), grid["y"].to_numpy(), band_m)
            with self._lock:
                self._weights[band_m] = w
        return w

    def date_range(self, filters: Filters | None = None) -> tuple[date | None, date | None]:
        """First and last local day present under ``filters`` (None, None when nothing matches)."""
        filters = filters or Filters()
        with self._lock:
            hit = self._ranges.get(filters)
        if hit is not None:
            return hit
        where, params = filters.to_sql()
        # min/max of the stored instant (no per-row time-zone work), converted to a Paris day afterwards.
        a, b = self._fetch(f"SELECT epoch_us(min(occurred_at)), epoch_us(max(occurred_at)) FROM incidents WHERE {where}", params,
                           lambda result: result.fetchone())
        paris = ZoneInfo(schema.TIMEZONE)
        conv = lambda v: None if v is None else datetime.fromtimestamp(v / 1e6, tz=paris).date()  # noqa: E731
        result = (conv(a), conv(b))
        with self._lock:  # many indicators ask for it; the snapshot never changes under one instance
            if len(self._ranges) > 1024:
                self._ranges.clear()
            self._ranges[filters] = result
        return result

    # Indicators (thin wrappers, cached) -----------------------------------------------------------------------
    def counts(self, filters: Filters | None = None, by: Iterable[str] = ("arrondissement",)) -> pd.DataFrame:
        return self.cached("counts", indicators.counts, filters or Filters(), tuple(by))

    def rates_by_arrondissement(self, filters: Filters | None = None, include_city: bool = True, by: str | None = None) -> pd.DataFrame:
        return self.cached("rates_by_arrondissement", indicators.rates_by_arrondissement, filters or Filters(), include_city, by)

    def rates_by_zone(self, filters: Filters | None = None, kinds: Iterable[str] = ()) -> pd.DataFrame:
        return self.cached("rates_by_zone", indicators.rates_by_zone, filters or Filters(), tuple(kinds))

    def monthly_series(self, filters: Filters | None = None, by: str | None = None) -> pd.DataFrame:
        return self.cached("monthly_series", indicators.monthly_series, filters or Filters(), by)

    def compare_periods(self, filters: Filters | None = None, kind: str = "year", reference: date | None = None,
                        by: str | Iterable[str] | None = None, exposure_ratio: float | None = None,
                        start: date | None = None) -> pd.DataFrame:
        by_t = (by,) if isinstance(by, str) else tuple(by or ())
        return self.cached("compare_periods", compare.compare_periods, filters or Filters(), kind, reference, by_t, exposure_ratio, start)

    def contributions(self, filters: Filters | None = None, kind: str = "year", reference: date | None = None,
                      by: str = "category") -> pd.DataFrame:
        return self.cached("contributions", compare.contributions, filters or Filters(), kind, reference, by)


    # Seasonality
    def monthly_profile(self, filters: Filters | None = None) -> pd.DataFrame:
        return self.cached("monthly_profile", seasonality.monthly_profile, filters or Filters())

    def same_month(self, filters: Filters | None = None, month: int | None = None, reference: date | None = None) -> pd.DataFrame:
        return self.cached("same_month", seasonality.same_month, filters or Filters(), month, reference)

    def hour_weekday(self, filters: Filters | None = None) -> pd.DataFrame:
        return self.cached("hour_weekday", seasonality.hour_weekday, filters or Filters())

    # Concentration
    def concentration(self, filters: Filters | None = None, unit: str = "grid", tops: tuple[float, ...] = (0.01, 0.05, 0.10, 0.20)) -> pd.DataFrame:
        return self.cached("concentration", concentration.concentration, filters or Filters(), unit, tuple(tops))

    def concentration_curve(self, filters: Filters | None = None, unit: str = "grid") -> pd.DataFrame:
        return self.cached("concentration_curve", concentration.concentration_curve, filters or Filters(), unit)

    # Hot spots
    def hotspots(self, filters: Filters | None = None, band_m: float = 400.0, fdr: bool = True) -> pd.DataFrame:
        return self.cached("hotspots", hotspots.hotspots, filters or Filters(), float(band_m), fdr)

    def persistence(self, filters: Filters | None = None, n_quarters: int = 4, reference: date | None = None,
                    confidence: int = 95, band_m: float = 400.0) -> pd.DataFrame:
        return self.cached("persistence", hotspots.persistence, filters or Filters(), n_quarters, reference, confidence, float(band_m))

    def predictive_accuracy(self, filters: Filters | None = None, kind: str = "year", reference: date | None = None,
                            confidence: int = 95, band_m: float = 400.0) -> pd.DataFrame:
        return self.cached("predictive_accuracy", hotspots.predictive_accuracy, filters or Filters(), kind, reference, confidence, float(band_m))

    # Zones
    def inside_outside(self, filters: Filters | None = None, zone_id: str = "hypercentre", kind: str = "year",
                       reference: date | None = None) -> pd.DataFrame:
        return self.cached("inside_outside", zones.inside_outside, filters or Filters(), zone_id, kind, reference)

    def pool_seasons(self, filters: Filters | None = None, year: int | None = None, previous_years: int = 3) -> pd.DataFrame:
        return self.cached("pool_seasons", zones.pool_seasons, filters or Filters(), year, previous_years)

    # Data quality
    def coverage(self, filters: Filters | None = None) -> pd.DataFrame:
        return self.cached("coverage", quality.coverage, filters or Filters())

    def location_quality(self, filters: Filters | None = None) -> pd.DataFrame:
        return self.cached("location_quality", quality.location_quality, filters or Filters())

    def unmapped_labels(self, filters: Filters | None = None) -> pd.DataFrame:
        return self.cached("unmapped_labels", quality.unmapped_labels, filters or Filters())

    def quarantine_counts(self) -> pd.DataFrame:
        """Not cached: the quarantine lives beside the snapshot and is small."""
        return quality.quarantine_counts(self.settings)


def _current_snapshot(settings: Settings):
    try:
        from observatory.store import current_snapshot
    except ImportError:  # the store module is built in parallel; without it there is simply no snapshot yet
        return None
    return current_snapshot(settings)


_INSTANCES: dict[tuple, Analytics] = {}
_INSTANCES_LOCK = threading.Lock()
_MAX_INSTANCES = 8


def get_analytics(settings: Settings) -> Analytics:
    """The Analytics of the current snapshot; a new one is built as soon as the current snapshot id changes."""
    # Reading the pointer file alone is cheap; the manifest is parsed only when the id is new.
    try:
        from observatory.store import current_snapshot_id

        snap_id = current_snapshot_id(settings) or "empty"
        snap = None
    except ImportError:
        snap = _current_snapshot(settings)
        snap_id = "empty" if snap is None else str(snap.id)
    key = (settings, snap_id)
    with _INSTANCES_LOCK:
        inst = _INSTANCES.get(key)
        if inst is None:
            if snap is None and snap_id != "empty":
                snap = _current_snapshot(settings)
            # Drop instances of older snapshots of the same settings: their results must never be served again.
            for old in [k for k in _INSTANCES if k[0] == settings]:
                del _INSTANCES[old]
            inst = Analytics(settings, snap)
            _INSTANCES[key] = inst
            while len(_INSTANCES) > _MAX_INSTANCES:  # many settings (tests): keep the most recent few
                del _INSTANCES[next(iter(_INSTANCES))]
        return inst
