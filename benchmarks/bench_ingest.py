"""Whole ingest of a police-nationale-style extract vs the floor (bare pyarrow read + Parquet write).

    .venv/bin/python benchmarks/bench_ingest.py 1e5 1e6 [1e7] [--keep DIR]

For each size the script streams a realistic extract to a temp dir (cp1252, ';', decimal comma, Lambert-93,
dd/mm/yyyy HH:MM), then runs, each in a fresh subprocess so peak memory is measured per step:
  floor   pyarrow.csv.read_csv (same encoding and delimiter) + pyarrow.parquet.write_table (zstd)
  ingest  observatory.etl.ingest into an empty data dir (read, map, validate, locate, dedup, publish)
and prints rows/s, seconds, peak RSS and the ratio ingest / floor.
"""

from __future__ import annotations

import argparse
import json
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


def _floor(path: str, out: str) -> dict:
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    t0 = time.perf_counter()
    table = pacsv.read_csv(path, read_options=pacsv.ReadOptions(encoding="cp1252"), parse_options=pacsv.ParseOptions(delimiter=";"))
    t1 = time.perf_counter()
    pq.write_table(table, out, compression="zstd")
    t2 = time.perf_counter()
    return {"rows": table.num_rows, "read_s": t1 - t0, "write_s": t2 - t1, "total_s": t2 - t0}


def _ingest(path: str, data_dir: str) -> dict:
    from observatory.config import get_settings
    from observatory.etl import ingest

    settings = get_settings(env={}, data_dir=Path(data_dir))
    t0 = time.perf_counter()
    result = ingest(settings, [Path(path)], "police_nationale")
    total = time.perf_counter() - t0
    f = result.files[0]
    assert result.snapshot_id, result.files[0].message
    return {"rows": f.rows_read, "accepted": f.accepted, "quarantined": f.quarantined, "total_s": total, "stages": result.timings}


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
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (the best is kept: the machine is shared and noisy); 1 at 1e7")
    args = parser.parse_args()
    rows_out = []
    with tempfile.TemporaryDirectory(prefix="bench_ingest_") as tmp:
        base = args.keep or Path(tmp)
        base.mkdir(parents=True, exist_ok=True)
        for size in args.sizes:
            n = int(float(size))
            csv_path = base / f"pn_faits_{n}_20260101.csv"
            if not csv_path.exists():
                t = time.perf_counter()
                generate(csv_path, n)
                print(f"generated {n:,} rows ({csv_path.stat().st_size / 1e6:,.0f} MB) in {time.perf_counter() - t:.1f} s", flush=True)
            reps = 1 if n >= 5_000_000 else max(1, args.repeat)
            floor = ing = None
            for _ in range(reps):
                # Alternate floor and ingest so both see the same background load; keep each one's best run.
                f = _child("floor", str(csv_path), str(base / f"floor_{n}.parquet"))
                data_dir = base / f"data_{n}"
                if data_dir.exists():
                    import shutil

                    shutil.rmtree(data_dir)
                g = _child("ingest", str(csv_path), str(data_dir))
                floor = f if floor is None or f["total_s"] < floor["total_s"] else floor
                ing = g if ing is None or g["total_s"] < ing["total_s"] else ing
            rows_out.append((n, floor, ing))
            print(f"{n:>10,}  floor {floor['total_s']:.2f} s  ingest {ing['total_s']:.2f} s  stages {json.dumps({k: round(v, 2) for k, v in ing['stages'].items()})}", flush=True)
    print()
    print(f"{'rows':>11} | {'floor s':>8} | {'floor rows/s':>12} | {'floor peak MB':>13} | {'ingest s':>8} | {'ingest rows/s':>13} | {'ingest peak MB':>14} | {'ratio':>5}")
    print("-" * 104)
    for n, fl, ing in rows_out:
        print(f"{n:>11,} | {fl['total_s']:>8.2f} | {n / fl['total_s']:>12,.0f} | {fl['peak_mb']:>13,.0f} | {ing['total_s']:>8.2f} | {n / ing['total_s']:>13,.0f} | "
              f"{ing['peak_mb']:>14,.0f} | {ing['total_s'] / fl['total_s']:>5.2f}")


if __name__ == "__main__":
    main()
