"""Whole ingest of a police-nationale-style extract vs the floor (bare pyarrow read + Parquet write).

    .venv/bin/python benchmarks/bench_ingest.py 1e5 1e6 [1e7] [--keep DIR]

For each size the script streams a realistic extract to a temp dir (cp1252, ';', decimal comma, Lambert-93,
dd/mm/yyyy HH:MM), then runs, each in a fresh subprocess so peak memory is measured per step:
  floor   pyarrow.csv.read_csv (same encoding and delimiter) + pyarrow.parquet.write_table (zstd) of what was
          read: the floor as issue 3 defines it (9 raw columns)
  typed   the floor of issue 18: a typed read (dates parsed, decimal comma, numbers) + ``shapely.contains_xy`` of
          every point in the arrondissements + the Parquet write; the ratio line is ingest ÷ typed
  ingest  observatory.etl.ingest into an empty data dir (read, map, validate, locate, dedup, publish); the territory
          is loaded before the clock starts, as for ``typed`` (both cache it per process)
  canon   a second reference: the same pyarrow read, then one write_table of the 27 canonical columns the ingest
          published (read back beforehand, untimed), sorted by time, with the store's writer settings — what
          any ingest must at least pay to read this CSV and write the canonical Parquet
and prints rows/s, wall seconds, CPU seconds (all threads; steadier than wall time on a shared machine), peak
RSS and the ratios ingest / floor and ingest / canon. Each size runs ``--repeat`` rounds of fresh processes,
floor, ingest and canon alternating so all three see the same background load; the table shows each step's best
run, and the ratio line gives the min and median of the per-round ratios (ingest ÷ floor of the same round), with
the load average before and after. ``--json FILE`` writes every run for ``run_all.py``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

HEADER = "NUM_FAIT;DATE_HEURE_FAITS;LIBELLE_INFRACTION;TYPE_LIEU;NB_FAITS;X_L93;Y_L93;CODE_INSEE;LIEU"
PLACES = ["Voie publique", "Domicile", "Commerce", "Transports en commun", "Établissement scolaire", "Parking"]
STREETS = ["Rue de la République", "Cours Lafayette", "Avenue Berthelot", "Rue Garibaldi", "Quai Perrache", "Place Bellecour"]


def _city_points(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """n random Lambert-93 points inside Lyon and their arrondissement codes."""
    import shapely

    from observatory.config import get_settings
    from observatory.territory import load_territory

    arr = load_territory(get_settings(env={})).arrondissements_l93()
    xmin, ymin, xmax, ymax = arr.total_bounds
    xs, ys, codes = [], [], []
    while sum(len(x) for x in xs) < n:
        x = rng.uniform(xmin, xmax, 200_000)
        y = rng.uniform(ymin, ymax, 200_000)
        code = np.full(len(x), "", dtype=object)
        for c, g in zip(arr["code"], arr.geometry.values):
            code[shapely.contains_xy(g, x, y)] = c
        keep = code != ""
        xs.append(x[keep]), ys.append(y[keep]), codes.append(code[keep])
    return np.concatenate(xs)[:n], np.concatenate(ys)[:n], np.concatenate(codes)[:n]


def generate(path: Path, n: int, seed: int = 7, chunk: int = 200_000) -> None:
    """Stream n rows to ``path`` in cp1252 (never the whole file in memory)."""
    from observatory.etl.profile import load_labels

    labels = list(load_labels(ROOT / "data" / "raw" / "sources" / "police_nationale_labels.csv"))
    rng = np.random.default_rng(seed)
    px, py, pc = _city_points(min(n, 500_000), rng)
    start = np.datetime64("2019-01-01T00:00")
    span = int((np.datetime64("2026-01-01T00:00") - start) / np.timedelta64(1, "m"))
    with open(path, "w", encoding="cp1252", newline="") as fh:
        fh.write(HEADER + "\r\n")
        done = 0
        while done < n:
            k = min(chunk, n - done)
            idx = rng.integers(0, len(px), k)
            minutes = rng.integers(0, span, k)
            ts = (start + minutes.astype("timedelta64[m]")).astype("datetime64[m]")
            d = ts.astype(object)
            lab = np.array(labels, dtype=object)[rng.integers(0, len(labels), k)]
            place = np.array(PLACES, dtype=object)[rng.integers(0, len(PLACES), k)]
            street = np.array(STREETS, dtype=object)[rng.integers(0, len(STREETS), k)]
            x = np.char.replace(np.round(px[idx], 1).astype(str), ".", ",")
            y = np.char.replace(np.round(py[idx], 1).astype(str), ".", ",")
            lines = [
                f"PN{done + i:09d};{t:%d/%m/%Y %H:%M};{lb};{pl};1;{xx};{yy};{c};{st}"
                for i, (t, lb, pl, xx, yy, c, st) in enumerate(zip(d, lab, place, x, y, pc[idx], street))
            ]
            fh.write("\r\n".join(lines) + "\r\n")
            done += k


def replicate(path: Path, source: Path, copies: int) -> None:
    """``copies`` (≤ 10) copies of ``source`` (a generated extract) with distinct ids (``PN…`` becomes ``P0…``,
    ``P1…``): 1e8 rows in a few minutes of disk writing instead of an hour of generation."""
    assert copies <= 10
    with open(path, "wb") as out:
        for k in range(copies):
            tag = f"P{k}".encode()
            with open(source, "rb") as fh:
                header = fh.readline()
                if k == 0:
                    out.write(header)
                while True:
                    block = fh.read(64 << 20)
                    if not block:
                        break
                    block = b"\r\n" + block + fh.readline()  # whole lines; every line starts after a CRLF
                    out.write(block.replace(b"\r\nPN", b"\r\n" + tag)[2:])


def _floor(path: str, out: str) -> dict:
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    c0, t0 = time.process_time(), time.perf_counter()
    table = pacsv.read_csv(path, read_options=pacsv.ReadOptions(encoding="cp1252"), parse_options=pacsv.ParseOptions(delimiter=";"))
    t1 = time.perf_counter()
    pq.write_table(table, out, compression="zstd")
    t2 = time.perf_counter()
    return {"rows": table.num_rows, "read_s": t1 - t0, "write_s": t2 - t1, "total_s": t2 - t0, "cpu_s": time.process_time() - c0}


def _typed(path: str, out: str) -> dict:
    """The floor of issue 18's table: a typed read (timestamps parsed, decimal comma, numbers as numbers), each
    point placed in its arrondissement with ``shapely.contains_xy``, and the Parquet write (zstd)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq
    import shapely

    from observatory.config import get_settings
    from observatory.territory import load_territory

    arr = load_territory(get_settings(env={})).arrondissements_l93()  # untimed: loaded once per process anyway
    c0, t0 = time.process_time(), time.perf_counter()
    convert = pacsv.ConvertOptions(decimal_point=",", timestamp_parsers=["%d/%m/%Y %H:%M"],
                                   column_types={"DATE_HEURE_FAITS": pa.timestamp("s"), "X_L93": pa.float64(), "Y_L93": pa.float64(), "CODE_INSEE": pa.string()})
    table = pacsv.read_csv(path, read_options=pacsv.ReadOptions(encoding="cp1252"), parse_options=pacsv.ParseOptions(delimiter=";"), convert_options=convert)
    t1 = time.perf_counter()
    x, y = table.column("X_L93").to_numpy(), table.column("Y_L93").to_numpy()
    code = np.full(len(x), -1, dtype=np.int16)
    for i, g in enumerate(arr.geometry.values):
        code[shapely.contains_xy(g, x, y)] = i
    table = table.append_column("arrondissement", pa.array(code))
    t2 = time.perf_counter()
    pq.write_table(table, out, compression="zstd")
    t3 = time.perf_counter()
    return {"rows": table.num_rows, "read_s": t1 - t0, "locate_s": t2 - t1, "write_s": t3 - t2, "total_s": t3 - t0, "cpu_s": time.process_time() - c0}


def _canon(path: str, data_dir: str, out: str) -> dict:
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from observatory import store
    from observatory.config import get_settings

    snap = store.current_snapshot(get_settings(env={}, data_dir=Path(data_dir)))
    canonical = snap.read_incidents().combine_chunks()  # untimed: the ingest's own output, already in time order
    c0, t0 = time.process_time(), time.perf_counter()
    table = pacsv.read_csv(path, read_options=pacsv.ReadOptions(encoding="cp1252"), parse_options=pacsv.ParseOptions(delimiter=";"))
    t1 = time.perf_counter()
    pq.write_table(canonical, out, compression="zstd", compression_level=store.ZSTD_LEVEL, row_group_size=store.ROW_GROUP_SIZE,
                   use_dictionary=store.DICTIONARY_COLUMNS, write_statistics=store.STATISTICS_COLUMNS)
    t2 = time.perf_counter()
    return {"rows": table.num_rows, "read_s": t1 - t0, "write_s": t2 - t1, "total_s": t2 - t0, "cpu_s": time.process_time() - c0}


def _ingest(path: str, data_dir: str) -> dict:
    from observatory.config import get_settings
    from observatory.etl import ingest

    from observatory.territory import load_territory

    settings = get_settings(env={}, data_dir=Path(data_dir))
    load_territory(settings)  # untimed, as in the typed floor: cached per process (~80 ms; what a 1e5 ratio noticed)
    c0, t0 = time.process_time(), time.perf_counter()
    result = ingest(settings, [Path(path)], "police_nationale")
    total = time.perf_counter() - t0
    f = result.files[0]
    assert result.snapshot_id, result.files[0].message
    return {"rows": f.rows_read, "accepted": f.accepted, "quarantined": f.quarantined, "total_s": total, "cpu_s": time.process_time() - c0,
            "stages": result.timings}


def _child(step: str, *args: str) -> dict:
    code = f"import json, resource, sys; sys.path.insert(0, {str(ROOT)!r}); from benchmarks.bench_ingest import _{step} as f; r = f(*sys.argv[1:]); " \
           "r['peak_mb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024; print(json.dumps(r))"
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{step} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sizes", nargs="*", default=["1e5", "1e6"])
    parser.add_argument("--keep", type=Path, default=None, help="directory to keep the generated files in")
    parser.add_argument("--repeat", type=int, default=3, help="rounds per size (floor, ingest, canon alternating); 1 at 1e7 unless --repeat-large")
    parser.add_argument("--repeat-large", type=int, default=1, help="rounds at 5e6 rows and more")
    parser.add_argument("--json", type=Path, default=None, help="write every run to this file (for run_all.py)")
    parser.add_argument("--ingest-only", action="store_true",
                        help="run the ingest step only (1e8: the floors read the whole file into memory, ~35 GB, and cannot run)")
    args = parser.parse_args()
    import os
    import statistics

    def load_text() -> str:
        one, five, fifteen = os.getloadavg()
        return f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} (1 / 5 / 15 min) on {os.cpu_count()} cores"

    rows_out = []
    all_runs: dict[int, list[dict]] = {}
    loads: dict[int, tuple[str, str]] = {}
    with tempfile.TemporaryDirectory(prefix="bench_ingest_") as tmp:
        base = args.keep or Path(tmp)
        base.mkdir(parents=True, exist_ok=True)
        for size in args.sizes:
            n = int(float(size))
            csv_path = base / f"pn_faits_{n}_20260101.csv"
            if not csv_path.exists() and n > 10_000_000 and n % 10_000_000 == 0:
                t = time.perf_counter()
                source = base / "pn_faits_10000000_20260101.csv"
                if not source.exists():
                    generate(source, 10_000_000)
                replicate(csv_path, source, n // 10_000_000)
                print(f"replicated {n:,} rows ({csv_path.stat().st_size / 1e6:,.0f} MB) in {time.perf_counter() - t:.1f} s", flush=True)
            if not csv_path.exists():
                t = time.perf_counter()
                generate(csv_path, n)
                print(f"generated {n:,} rows ({csv_path.stat().st_size / 1e6:,.0f} MB) in {time.perf_counter() - t:.1f} s", flush=True)
            reps = max(1, args.repeat_large) if n >= 5_000_000 else max(1, args.repeat)
            best: dict[str, dict] = {}
            before = load_text()
            for _ in range(reps):
                # Alternate the steps so all see the same background load; keep each one's best run.
                runs = {} if args.ingest_only else {"floor": _child("floor", str(csv_path), str(base / f"floor_{n}.parquet")),
                                                    "typed": _child("typed", str(csv_path), str(base / f"typed_{n}.parquet"))}
                data_dir = base / f"data_{n}"
                if data_dir.exists():
                    shutil.rmtree(data_dir)
                runs["ingest"] = _child("ingest", str(csv_path), str(data_dir))
                if args.ingest_only:
                    r = runs["ingest"]
                    print(f"{n:>11,} | ingest | {r['total_s']:.1f} s | {n / r['total_s']:,.0f} rows/s | CPU {r['cpu_s']:.1f} s | peak {r['peak_mb']:,.0f} MB | "
                          f"stages {json.dumps({k: round(v, 1) for k, v in r['stages'].items()})} | {before} before, {load_text()} after", flush=True)
                    continue
                runs["canon"] = _child("canon", str(csv_path), str(data_dir), str(base / f"canon_{n}.parquet"))
                for k, r in runs.items():
                    if k not in best or r["total_s"] < best[k]["total_s"]:
                        best[k] = r
                all_runs.setdefault(n, []).append(runs)
            if args.ingest_only:
                continue
            loads[n] = (before, load_text())
            rows_out.append((n, best))
            ing = best["ingest"]
            print(f"{n:>10,}  floor {best['floor']['total_s']:.2f} s  canon {best['canon']['total_s']:.2f} s  ingest {ing['total_s']:.2f} s  "
                  f"stages {json.dumps({k: round(v, 2) for k, v in ing['stages'].items()})}", flush=True)
    print()
    head = (f"{'rows':>11} | {'step':<6} | {'wall s':>6} | {'rows/s':>9} | {'CPU s':>5} | {'peak MB':>7} | {'/ floor':>7} | {'/ canon':>7}")
    print(head)
    print("-" * len(head))
    for n, best in rows_out:
        for step in ("floor", "typed", "canon", "ingest"):
            r = best[step]
            print(f"{n:>11,} | {step:<6} | {r['total_s']:>6.2f} | {n / r['total_s']:>9,.0f} | {r['cpu_s']:>5.2f} | {r['peak_mb']:>7,.0f} | "
                  f"{r['total_s'] / best['floor']['total_s']:>7.2f} | {r['total_s'] / best['canon']['total_s']:>7.2f}")
    print()
    for n, runs in all_runs.items():
        wall = [r["ingest"]["total_s"] / r["typed"]["total_s"] for r in runs]
        cpu = [r["ingest"]["cpu_s"] / r["typed"]["cpu_s"] for r in runs]
        mem = [r["ingest"]["peak_mb"] / r["typed"]["peak_mb"] for r in runs]
        print(f"{n:>11,}: ingest ÷ typed floor, same round, {len(runs)} round(s): wall min {min(wall):.2f} / median {statistics.median(wall):.2f}; "
              f"CPU min {min(cpu):.2f} / median {statistics.median(cpu):.2f}; peak memory {statistics.median(mem):.2f}×; "
              f"{loads[n][0]} before, {loads[n][1]} after")
    if args.json:
        args.json.write_text(json.dumps({"runs": {str(n): r for n, r in all_runs.items()}, "loads": {str(n): v for n, v in loads.items()}}), encoding="utf-8")


if __name__ == "__main__":
    main()
