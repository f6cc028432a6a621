"""Speed of the analytics layer on typical dashboard queries, beside the bare DuckDB query on the same Parquet.

    .venv/bin/python benchmarks/bench_analytics.py                 # 1e6 incidents
    .venv/bin/python benchmarks/bench_analytics.py --sizes 1e6 1e7 # and 1e7 (≈ 1.5 GB of Parquet work, minutes)

Data: canonical incidents from ``tests.incident_factory.random_incidents`` (Lyon hot spots, seasons, 7 years),
written like a snapshot (``incidents/year=YYYY/part-0.parquet``, zstd, sorted by occurred_at, 100k-row row
groups). 1e7 is ten copies of the 1e6 draw with distinct keys (same distribution, built in minutes instead of
an hour). Files go to a temporary folder removed at the end (``--keep`` to keep it).

Columns, milliseconds:
- ``cold``: a new ``Analytics`` (new DuckDB connection, empty cache), first call; median of ``--cold`` runs;
- ``uncached p50/p95``: the same instance with its result cache disabled (the layer's own work each time;
  only the small per-instance memo of the data's date range stays on);
- ``cached p50``: repeated call served by the result cache;
- ``bare p50/p95``: the equivalent hand-written DuckDB SQL on the same files and connection settings;
- ``ratio min / median``: of the per-pair ratios uncached ÷ bare, the two calls alternating one by one so that
  both see the same load (the layer's overhead; the Gi* row includes the statistics themselves).

The load average is printed before and after; ``--json FILE`` writes the rows for ``run_all.py``.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402
import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from observatory import schema  # noqa: E402
from observatory.analytics import Analytics, Filters  # noqa: E402
from observatory.analytics.engine import local_time_sql  # noqa: E402
from observatory.config import get_settings  # noqa: E402
from tests.incident_factory import random_incidents  # noqa: E402

YEAR = 2025
CATS = ("vols_sans_violence_personnes", "destructions_degradations", "cambriolages_logement")


def build(n: int, folder: Path) -> list[Path]:
    base_n = min(n, 1_000_000)
    copies = max(1, n // base_n)
    t0 = time.perf_counter()
    table = random_incidents(base_n, seed=42, start_year=2019, end_year=2025)
    files = []
    for y in sorted(set(table.column(schema.YEAR).to_pylist())):
        part = table.filter(pc.equal(table.column(schema.YEAR), pa.scalar(y, pa.int16())))
        parts = []
        for k in range(copies):
            key = pc.binary_join_element_wise(part.column(schema.INCIDENT_KEY), pa.scalar(f"#{k}"), "")
            parts.append(part.set_column(0, schema.INCIDENT_KEY, key))
        full = pa.concat_tables(parts).sort_by(schema.OCCURRED_AT)
        out = folder / "incidents" / f"year={y}" / "part-0.parquet"
        out.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(full, out, compression="zstd", row_group_size=100_000)
        files.append(out)
    print(f"  built {n:,} incidents in {time.perf_counter() - t0:.1f} s, {sum(f.stat().st_size for f in files) / 1e6:.0f} MB of Parquet")
    return files


def queries(settings):
    year = Filters(start=date(YEAR, 1, 1), end=date(YEAR, 12, 31))
    # The floor uses the same fast wall-time arithmetic as the layer (ICU's timezone() alone costs ≈ 100 ms/1e6).
    lt = local_time_sql(True)
    return [
        ("map: year × 3 categories by arr.", lambda an: an.rates_by_arrondissement(year.replace(categories=CATS)),
         "SELECT arrondissement, count(*) FROM inc WHERE occurred_at >= ? AND occurred_at < ? AND category IN (?, ?, ?) GROUP BY 1",
         lambda: [f"{YEAR}-01-01 00:00:00+01", f"{YEAR + 1}-01-01 00:00:00+01", *CATS]),
        ("monthly series, 7 years", lambda an: an.monthly_series(Filters()),
         f"SELECT date_trunc('month', {lt}) m, count(*) FROM inc GROUP BY 1", lambda: []),
        ("hour × weekday, one year", lambda an: an.hour_weekday(year),
         f"SELECT isodow({lt}) d, hour({lt}) h, count(*) FROM inc "
         "WHERE occurred_at >= ? AND occurred_at < ? AND time_precision = 'hour' GROUP BY 1, 2",
         lambda: [f"{YEAR}-01-01 00:00:00+01", f"{YEAR + 1}-01-01 00:00:00+01"]),
        ("Gi* grid, one year", lambda an: an.hotspots(year),
         "SELECT grid_cell, count(*) FROM inc WHERE occurred_at >= ? AND occurred_at < ? GROUP BY 1",
         lambda: [f"{YEAR}-01-01 00:00:00+01", f"{YEAR + 1}-01-01 00:00:00+01"]),
        ("compare year, arr. × category", lambda an: an.compare_periods(Filters(), kind="year", reference=date(YEAR, 12, 31), by=("arrondissement", "category")),
         "SELECT arrondissement, category, count(*) FILTER (WHERE occurred_at >= ?) cur, count(*) FILTER (WHERE occurred_at < ?) prev "
         "FROM inc WHERE occurred_at >= ? AND occurred_at < ? GROUP BY 1, 2",
         lambda: [f"{YEAR}-01-01 00:00:00+01", f"{YEAR}-01-01 00:00:00+01", f"{YEAR - 1}-01-01 00:00:00+01", f"{YEAR + 1}-01-01 00:00:00+01"]),
    ]


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def p95(xs: list[float]) -> float:
    return float(np.percentile(xs, 95))


def run(n: int, repeat: int, cold_runs: int, keep: bool) -> list[tuple]:
    folder = Path(tempfile.mkdtemp(prefix="bench_analytics_"))
    rows = []
    try:
        files = build(n, folder)
        settings = get_settings()
        # Territory and grid are loaded once per process, whatever the snapshot: not part of a query's cost.
        Analytics.from_files(files, settings).grid()
        bare = duckdb.connect()
        bare.execute("LOAD icu")
        listing = ", ".join(f"'{f}'" for f in files)
        bare.execute(f"CREATE VIEW inc AS SELECT * FROM read_parquet([{listing}], hive_partitioning=true)")
        for name, fn, sql, params in queries(settings):
            colds = []
            for _ in range(cold_runs):
                an = Analytics.from_files(files, settings)
                colds.append(timed(lambda: fn(an), 1)[0])
                an.close()
            uncached = Analytics.from_files(files, settings, cache_size=0)
            fn(uncached)
            cached = Analytics.from_files(files, settings)
            fn(cached)
            hit = timed(lambda: fn(cached), repeat)
            bare.execute(sql, params()).fetchall()
            # The layer and its floor alternate, call by call: both see the same background load.
            unc, b = [], []
            for _ in range(repeat):
                unc += timed(lambda: fn(uncached), 1)
                b += timed(lambda: bare.execute(sql, params()).fetchall(), 1)
            ratios = [u / max(f, 1e-6) for u, f in zip(unc, b)]
            rows.append((f"{n:.0e}", name, statistics.median(colds), statistics.median(unc), p95(unc), statistics.median(hit),
                         statistics.median(b), p95(b), min(ratios), statistics.median(ratios)))
            uncached.close()
            cached.close()
    finally:
        if keep:
            print(f"  kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", default=["1e6"], help="numbers of incidents (1e6, 1e7)")
    ap.add_argument("--repeat", type=int, default=15, help="warm repetitions per query")
    ap.add_argument("--cold", type=int, default=3, help="cold runs per query (new instance each)")
    ap.add_argument("--keep", action="store_true", help="keep the generated Parquet")
    ap.add_argument("--json", type=Path, default=None, help="write the rows to this file (for run_all.py)")
    args = ap.parse_args()
    import json
    import os

    def load_text() -> str:
        one, five, fifteen = os.getloadavg()
        return f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} (1 / 5 / 15 min) on {os.cpu_count()} cores"

    before = load_text()
    all_rows = []
    for s in args.sizes:
        n = int(float(s))
        print(f"size {n:,}")
        all_rows += run(n, args.repeat, args.cold, args.keep)
    after = load_text()
    head = ("n", "query", "cold", "uncached p50", "uncached p95", "cached p50", "bare p50", "bare p95", "ratio min", "ratio med")
    print()
    print(f"{head[0]:>5}  {head[1]:<32} " + " ".join(f"{h:>12}" for h in head[2:]))
    for r in all_rows:
        print(f"{r[0]:>5}  {r[1]:<32} " + " ".join(f"{v:12.1f}" if i < 6 else f"{v:12.2f}" for i, v in enumerate(r[2:])))
    print(f"\n(milliseconds; ratio = uncached ÷ bare, alternating pairs; {before} before, {after} after)")
    if args.json:
        args.json.write_text(json.dumps({"rows": all_rows, "load_before": before, "load_after": after}), encoding="utf-8")


if __name__ == "__main__":
    main()
