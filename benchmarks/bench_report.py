"""Time of the yearly city report (aggregates → diagnostic → HTML → PDF) at 1e5 and 1e6 incidents.

Run: .venv/bin/python benchmarks/bench_report.py [n ...]   (default 1e5 1e6; 100000 works too). Prints a table;
the target is < 30 s for the city report of one year. The floor is one DuckDB GROUP BY over the same Parquet.
``--json FILE`` writes the rows for ``run_all.py``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from observatory.analytics.engine import Analytics  # noqa: E402
from observatory.config import get_settings  # noqa: E402
from observatory.reports.diagnostic import build_diagnostic, load_inputs  # noqa: E402
from observatory.reports.render import html_to_pdf, render_html  # noqa: E402
from tests.incident_factory import random_incidents, write_snapshot  # noqa: E402


def main(sizes: list[int], json_path: Path | None = None) -> None:
    rows = []
    print(f"{'incidents':>10} | {'floor (s)':>9} | {'aggregates':>10} | {'diagnostic':>10} | {'html':>6} | {'pdf':>6} | {'total (s)':>9} | pages-figs-tables")
    with tempfile.TemporaryDirectory() as tmp:
        settings = get_settings(data_dir=Path(tmp) / "data")
        for n in sizes:
            files = write_snapshot(random_incidents(n, seed=1, start_year=2021, end_year=2025), Path(tmp) / f"s{n}")
            an = Analytics.from_files(files, settings, snapshot_id=f"bench-{n}")
            t0 = time.perf_counter()
            an.query("SELECT year, arrondissement, category, count(*) FROM incidents GROUP BY ALL")
            floor = time.perf_counter() - t0
            an = Analytics.from_files(files, settings, snapshot_id=f"bench-{n}-b")  # cold cache for the real run
            t0 = time.perf_counter()
            inputs = load_inputs(settings, an, 2025)
            t1 = time.perf_counter()
            d = build_diagnostic(inputs, 2025, None, settings.min_count)
            t2 = time.perf_counter()
            html = render_html(d)
            t3 = time.perf_counter()
            pdf = html_to_pdf(html)
            t4 = time.perf_counter()
            pages = pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages")
            rows.append({"n": n, "floor_s": floor, "aggregates_s": t1 - t0, "diagnostic_s": t2 - t1, "html_s": t3 - t2, "pdf_s": t4 - t3, "total_s": t4 - t0})
            print(f"{n:>10} | {floor:>9.2f} | {t1 - t0:>10.2f} | {t2 - t1:>10.2f} | {t3 - t2:>6.2f} | {t4 - t3:>6.2f} | {t4 - t0:>9.2f} | {pages}-{len(d.figures)}-{len(d.tables)}")


    if json_path is not None:
        import json

        json_path.write_text(json.dumps(rows), encoding="utf-8")


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog="\n".join(__doc__.splitlines()[1:]), formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sizes", nargs="*", default=["1e5", "1e6"], help="numbers of incidents (1e5, 1e6, 100000…)")
    parser.add_argument("--json", type=Path, default=None, help="write the rows to this file")
    args = parser.parse_args()
    try:
        sizes = [int(float(s)) for s in args.sizes]
    except ValueError:
        parser.error(f"taille illisible : {' '.join(args.sizes)} (attendu : des nombres comme 1e5 ou 100000)")
    main(sizes, args.json)
