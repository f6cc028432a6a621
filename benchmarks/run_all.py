"""Every benchmark in one run, then the table of issue 18 (goal, measured min / median, load average).

    make bench                                   # quick: 1e5 and 1e6, a few minutes
    make bench BENCH_ARGS=--full                 # and 1e7 (dashboard store, ingest, analytics) + the PDF report: long
    .venv/bin/python benchmarks/run_all.py --only dashboard,browser

Each benchmark runs in its own process (``benchmarks/bench_*.py``, each also usable alone, see README.md); its
output is shown as it runs and kept in ``benchmarks/out/run_all-<step>.log``, its rows in ``…-<step>.json``.
Generated stores and files are kept in ``benchmarks/out/`` (gitignored) and reused by the next run. The machine's
load average is printed by every step, before and after: on a shared machine, read the figures with it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out"
GOAL_MS = 100  # callbacks and page layouts, warm (issue 18)
PAGE_GOAL_MS = 1000  # a page as the browser sees it
WIRE_GOAL = 1_000_000  # first visit on the wire, bytes


def load_text() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} (1 / 5 / 15 min) on {os.cpu_count()} cores"


def steps(full: bool) -> list[tuple[str, list[str]]]:
    py = [sys.executable]
    b = str(ROOT / "benchmarks")
    out = [
        ("dashboard-1e5", py + [f"{b}/bench_dashboard.py", "--n", "1e5", "--repeat", "5"]),
        ("dashboard-1e6", py + [f"{b}/bench_dashboard.py", "--n", "1e6", "--repeat", "5"]),
        ("browser", py + [f"{b}/bench_browser.py", "--n", "1e6", "--repeat", "3"]),
        ("ingest", py + [f"{b}/bench_ingest.py", "1e5", "1e6", "--repeat", "3", "--keep", str(OUT / "ingest")]),
        ("analytics", py + [f"{b}/bench_analytics.py", "--sizes", "1e6", "--repeat", "9", "--cold", "1"]),
    ]
    if full:
        out += [
            ("dashboard-1e7", py + [f"{b}/bench_dashboard.py", "--n", "1e7", "--repeat", "3"]),
            ("ingest-1e7", py + [f"{b}/bench_ingest.py", "1e7", "--repeat-large", "1", "--keep", str(OUT / "ingest")]),
            ("analytics-1e7", py + [f"{b}/bench_analytics.py", "--sizes", "1e7", "--repeat", "5", "--cold", "1"]),
            ("report", py + [f"{b}/bench_report.py", "1e5", "1e6"]),
        ]
    return out


def run(name: str, cmd: list[str]) -> dict | None:
    OUT.mkdir(parents=True, exist_ok=True)
    js, log = OUT / f"run_all-{name}.json", OUT / f"run_all-{name}.log"
    js.unlink(missing_ok=True)
    print(f"\n=== {name}: {' '.join(Path(c).name if i < 2 else c for i, c in enumerate(cmd))}  ({load_text()})", flush=True)
    t = time.perf_counter()
    with open(log, "w", encoding="utf-8") as fh:
        proc = subprocess.Popen([*cmd, "--json", str(js)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for line in proc.stdout:
            sys.stdout.write(line)
            fh.write(line)
        proc.wait()
    print(f"=== {name}: {time.perf_counter() - t:.0f} s, exit {proc.returncode}", flush=True)
    return json.loads(js.read_text(encoding="utf-8")) if proc.returncode == 0 and js.exists() else None


def _callback(rows: list[dict], name: str, page: str | None = None) -> list[dict]:
    return [r for r in rows if r["callback"] == name and (page is None or r["page"] == page)]


def _warm(rows: list[dict]) -> str:
    """min / median of the warm calls, the median being the worst filter set's."""
    if not rows:
        return "not measured"
    lo = min(min(r["warm_ms"]) for r in rows)
    worst = max(rows, key=lambda r: statistics.median(r["warm_ms"]))
    return f"{lo:,.0f} / {statistics.median(worst['warm_ms']):,.0f} ms (worst filters: {worst['scenario']})"


def summary(results: dict[str, dict | None]) -> list[tuple[str, str, str]]:
    table = []
    for n in ("1e6", "1e7", "1e5"):
        d = results.get(f"dashboard-{n}")
        if not d:
            continue
        rows = d["rows"]
        table.append((f"Bilan page (router → layout), warm, {n}", f"≤ {GOAL_MS} ms", _warm(_callback(rows, "router", "/bilan"))))
        table.append((f"Plan d'actions callback, warm, {n}", f"≤ {GOAL_MS} ms", _warm(_callback(rows, "actions-timeline"))))
        table.append((f"trends small multiples, warm, {n}", f"≤ {GOAL_MS} ms", _warm(_callback(rows, "trends-multiples"))))
        by_name: dict[str, list[dict]] = {}
        for r in rows:
            by_name.setdefault(f"{r['page']} {r['callback']}", []).append(r)
        worst = {k: max(statistics.median(r["warm_ms"]) for r in v) for k, v in by_name.items()}
        over = sorted(((v, k) for k, v in worst.items() if v > GOAL_MS), reverse=True)
        table.append((f"pages and callbacks meeting the goal, {n}", f"≤ {GOAL_MS} ms warm median",
                      f"{len(worst) - len(over)} of {len(worst)}" + (f"; over: " + ", ".join(f"{k} {v:,.0f} ms" for v, k in over[:6]) if over else "")))
    b = results.get("browser")
    if b:
        meds = {r["path"]: statistics.median([x["last_callback_ms"] or 0 for x in r["runs"]]) for r in b["page_loads"]}
        mins = {r["path"]: min([x["last_callback_ms"] or 0 for x in r["runs"]]) for r in b["page_loads"]}
        worst = max(meds, key=meds.get)
        slow = [p for p, v in meds.items() if v > PAGE_GOAL_MS]
        table.append(("a page as the browser sees it (navigation → last callback), 1e6", f"≤ {PAGE_GOAL_MS / 1000:.0f} s",
                      f"{min(mins.values()):,.0f} ms best page min; worst page {worst} {meds[worst]:,.0f} ms median; "
                      + (f"over the goal: {', '.join(slow)}" if slow else "every page within")))
        heavy = max(b["first_visit"], key=lambda r: r["wire_bytes"])
        light = min(b["first_visit"], key=lambda r: r["wire_bytes"])
        table.append(("first visit on the wire (empty cache)", "≤ 1 MB",
                      f"{light['wire_bytes'] / 1e6:.2f}–{heavy['wire_bytes'] / 1e6:.2f} MB ({heavy['path']} heaviest; {heavy['decoded_bytes'] / 1e6:.1f} MB decoded; "
                      + ", ".join(sorted(k for k in heavy["encodings"] if k != "identity")) + ")"))
    for key in ("ingest", "ingest-1e7"):
        ing = results.get(key)
        if not ing:
            continue
        for n, runs in ing["runs"].items():
            wall = [r["ingest"]["total_s"] / r["typed"]["total_s"] for r in runs]
            cpu = [r["ingest"]["cpu_s"] / r["typed"]["cpu_s"] for r in runs]
            mem = [r["ingest"]["peak_mb"] / r["typed"]["peak_mb"] for r in runs]
            goal = "≤ 2×" + (", memory ≤ 2× floor" if int(n) >= 5_000_000 else "")
            table.append((f"ingest {float(n):.0e} vs floor (typed read + contains_xy + write, interleaved)", goal,
                          f"{min(wall):.2f} / {statistics.median(wall):.2f}× ({len(runs)} rounds); CPU {statistics.median(cpu):.2f}×; "
                          f"peak {statistics.median([r['ingest']['peak_mb'] for r in runs]):,.0f} MB = {statistics.median(mem):.2f}× floor's"))
    for key in ("analytics", "analytics-1e7"):
        a = results.get(key)
        if not a:
            continue
        for r in a["rows"]:
            if r[1].startswith(("map", "Gi*")):
                table.append((f"analytics vs bare DuckDB: {r[1]}, {r[0]}", "≤ 1.5×", f"{r[8]:.2f} / {r[9]:.2f}× (uncached {r[3]:.0f} ms vs bare {r[6]:.0f} ms, median)"))
    rep = results.get("report")
    if rep:
        for r in rep:
            table.append((f"yearly PDF report of the city, {r['n']:.0e}", "< 30 s", f"{r['total_s']:.1f} s (diagnostic {r['diagnostic_s']:.1f} s, PDF {r['pdf_s']:.1f} s)"))
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog="\n".join(__doc__.splitlines()[1:]), formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="also 1e7 (store generation, ingest, analytics) and the PDF report: tens of minutes")
    parser.add_argument("--only", default="", help="comma-separated step names or prefixes (dashboard, browser, ingest, analytics, report)")
    args = parser.parse_args()
    only = [o.strip() for o in args.only.split(",") if o.strip()]
    todo = [(n, c) for n, c in steps(args.full or any(o.endswith("1e7") or o == "report" for o in only)) if not only or any(n.startswith(o) for o in only)]
    if not todo:
        parser.error(f"aucune étape ne correspond à --only {args.only}")
    start, t0 = load_text(), time.perf_counter()
    results = {name: run(name, cmd) for name, cmd in todo}
    failed = [n for n, r in results.items() if r is None]
    table = summary(results)
    print(f"\n\nIssue 18's table, measured in this run ({time.perf_counter() - t0:.0f} s; {start} at the start, {load_text()} at the end)")
    print("min / median; ratios are per interleaved pair (the step and its floor alternating)\n")
    print("| what | goal | measured |\n|---|---|---|")
    for what, goal, measured in table:
        print(f"| {what} | {goal} | {measured} |")
    if failed:
        print(f"\nfailed steps (see benchmarks/out/run_all-<step>.log): {', '.join(failed)}")
        sys.exit(1)


if __name__ == "__main__":
    main()
