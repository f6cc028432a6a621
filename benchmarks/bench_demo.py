"""Speed and memory of the demo generator at a target number of incidents.

Usage: ``python benchmarks/bench_demo.py [--targets 1e5,1e6] [--years 2019-2025] [--keep] [--profile]``.
Each target runs in a subprocess (so peak memory is its own) writing into a temporary folder, and prints
rows written, wall seconds, CPU seconds (user + system of the child: steadier than wall time when other jobs
share the machine), rows/s (wall), peak RSS and bytes on disk. Scale 1 writes ≈ 63,500 rows a year.
``--profile`` runs the child under cProfile and prints its 30 most expensive functions (cumulative).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROWS_PER_YEAR_AT_SCALE_1 = 63_500  # measured: 445,000 rows for 2019–2025 at scale 1 (overlaps included)

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from observatory.config import get_settings
from observatory.demo import generate
out, first, last, scale, profile = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5] == "1"
settings = get_settings(data_dir=out / "data")
if profile:
    import cProfile
    prof = cProfile.Profile()
    prof.enable()
t, c = time.perf_counter(), time.process_time()
r = generate(settings, out / "demo", (first, last), scale, 42)
dt, dc = time.perf_counter() - t, time.process_time() - c
if profile:
    import pstats
    prof.disable()
    pstats.Stats(prof, stream=sys.stderr).sort_stats("cumulative").print_stats(30)
by = {}
for f in r.files:
    by[f.source] = by.get(f.source, 0) + f.rows
print(json.dumps({"rows": r.rows, "seconds": dt, "cpu": dc, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "by_source": by}))
"""


def run(target: float, years: tuple[int, int], keep: bool, profile: bool = False) -> dict:
    n_years = years[1] - years[0] + 1
    scale = target / (ROWS_PER_YEAR_AT_SCALE_1 * n_years)
    tmp = Path(tempfile.mkdtemp(prefix="bench_demo_"))
    try:
        proc = subprocess.run([sys.executable, "-c", CHILD, str(tmp), str(years[0]), str(years[1]), str(scale), "1" if profile else "0"], cwd=ROOT, capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"le générateur a échoué (cible {target:g}) :\n{proc.stderr[-3000:]}")
        if profile:
            print(proc.stderr, file=sys.stderr)
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        res["scale"] = scale
        res["disk_mb"] = sum(p.stat().st_size for p in (tmp / "demo").rglob("*") if p.is_file()) / 1e6
        return res
    finally:
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--targets", default="1e5,1e6")
    ap.add_argument("--years", default="2019-2025")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    first, last = (int(y) for y in args.years.split("-"))
    print(f"{'target':>10} {'scale':>7} {'rows':>11} {'seconds':>8} {'cpu s':>8} {'rows/s':>9} {'peak MB':>8} {'disk MB':>8}  by source")
    for t in args.targets.split(","):
        target = float(t)
        r = run(target, (first, last), args.keep, args.profile)
        share = ", ".join(f"{k} {v:,}" for k, v in r["by_source"].items())
        print(f"{target:>10.0e} {r['scale']:>7.2f} {r['rows']:>11,} {r['seconds']:>8.1f} {r['cpu']:>8.1f} {r['rows'] / r['seconds']:>9,.0f} {r['peak_mb']:>8.0f} {r['disk_mb']:>8.0f}  {share}", flush=True)


if __name__ == "__main__":
    main()
