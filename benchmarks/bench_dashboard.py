"""Dashboard speed: every page callback through the app's own ``/_dash-update-component`` endpoint, and the
initial payload of each page, on a store of N random plausible incidents (default 1e6).

    .venv/bin/python benchmarks/bench_dashboard.py            # 1e6 incidents, data kept in benchmarks/out/
    .venv/bin/python benchmarks/bench_dashboard.py --n 100000 --repeat 20
    .venv/bin/python benchmarks/bench_dashboard.py --data-dir data --only data-   # an existing store (the demo's)

"cold" is the first call of a callback with given filters (DuckDB query + figure); "warm" repeats the same
request (analytics results cached per snapshot, figure rebuilt and serialised each time). Prints one table of
latencies per callback (p50/p95 in ms) and one of payload sizes per page. Tests never assert times; this does
not either.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SCENARIOS = {
    "tout": {},
    "vols": {"families": "atteintes_biens"},
    "1er-2025": {"arrondissements": "69381", "start": "2025-01-01", "end": "2025-12-31"},
}
PAGES = ("/", "/carte", "/tendances", "/zones", "/donnees")


def _store(n: int, out: Path):  # noqa: ANN202
    from observatory import store
    from observatory.config import get_settings
    from tests.dashboard_data import publish_random_store

    settings = get_settings(data_dir=out / f"dash-{n}" / "data")
    if store.current_snapshot(settings) is None:
        t = time.perf_counter()
        publish_random_store(settings, n=n, seed=11)
        print(f"store of {n:,} incidents generated in {time.perf_counter() - t:.1f} s")
    return settings


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def _ids_in(component) -> set:  # noqa: ANN001
    found = set()

    def walk(c):  # noqa: ANN001, ANN202
        if isinstance(c, (list, tuple)):
            for x in c:
                walk(x)
            return
        if not hasattr(c, "to_plotly_json"):
            return
        cid = getattr(c, "id", None)
        if cid is not None:
            found.add(json.dumps(cid, sort_keys=True) if isinstance(cid, dict) else cid)
        for attr in ("children",):
            walk(getattr(c, attr, None))
        for v in getattr(c, "__dict__", {}).values():
            if hasattr(v, "to_plotly_json"):
                walk(v)

    walk(component)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out")
    parser.add_argument("--data-dir", type=Path, default=None, help="measure an existing store (e.g. the demo's data/) instead of generating one; it is only read")
    parser.add_argument("--only", action="append", default=[], help="only callbacks whose name contains this text (repeatable)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the warm repeats (top 25 by cumulative time)")
    args = parser.parse_args()

    import dash

    from observatory.dashboard.app import create_app
    from tests.dashboard_data import callback_requests

    if args.data_dir is not None:
        from observatory.config import get_settings

        settings = get_settings(data_dir=args.data_dir.resolve())
    else:
        settings = _store(args.n, args.out)
    app = create_app(settings)
    client = app.server.test_client()
    client.get("/")
    deps = json.loads(client.get("/_dash-dependencies").data)

    rows = []
    sizes: dict[str, int] = {}
    for scen, query in SCENARIOS.items():
        for name, body in callback_requests(deps, query):
            if args.only and not any(o in name for o in args.only):
                continue
            t = time.perf_counter()
            r = client.post("/_dash-update-component", json=body)
            cold = (time.perf_counter() - t) * 1000
            if r.status_code != 200:
                print(f"!! {name} [{scen}]: HTTP {r.status_code}")
                continue
            if scen == "tout":
                sizes[name] = len(r.data)
            warm = []
            prof = None
            if args.profile:
                import cProfile

                prof = cProfile.Profile()
                prof.enable()
            for _ in range(args.repeat):
                t = time.perf_counter()
                client.post("/_dash-update-component", json=body)
                warm.append((time.perf_counter() - t) * 1000)
            if prof is not None:
                import pstats

                prof.disable()
                print(f"\n--- profile {name} [{scen}] ---")
                pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
            rows.append((name, scen, cold, statistics.median(warm), _pct(warm, 0.95), len(r.data)))

    size = f"{args.n:,} incidents" if args.data_dir is None else f"store {args.data_dir}"
    print(f"\nCallbacks through /_dash-update-component, {size}, {args.repeat} warm repeats (ms)")
    print(f"{'callback':58} {'filtres':9} {'cold':>8} {'warm p50':>9} {'warm p95':>9} {'bytes':>9}")
    for name, scen, cold, p50, p95, size in rows:
        print(f"{name[:58]:58} {scen:9} {cold:8.1f} {p50:9.1f} {p95:9.1f} {size:9,}")
    if args.only:
        return
    all_warm95 = max(r[4] for r in rows)
    all_cold = sorted(r[2] for r in rows)
    print(f"\nworst warm p95: {all_warm95:.1f} ms; cold p50 {statistics.median(all_cold):.0f} ms, cold p95 {_pct(all_cold, 0.95):.0f} ms, cold max {all_cold[-1]:.0f} ms over {len(rows)} calls")

    # Initial payload per page: the shell layout, the page layout, and the responses of the page's callbacks.
    shell = len(client.get("/_dash-layout").data)
    print(f"\nInitial payload per page (no filter), bytes — shell layout {shell:,}")
    with app.server.test_request_context("/"):
        for page in dash.page_registry.values():
            if page["path"] not in PAGES:
                continue
            layout = page["layout"]()
            page_bytes = len(json.dumps(layout.to_plotly_json(), cls=__import__("plotly").utils.PlotlyJSONEncoder))
            present = _ids_in(layout)
            cb = 0
            for name in sizes:
                base = name.split("[")[0]
                key = base if not base.startswith("{") else json.dumps(json.loads(base), sort_keys=True)
                if key in present and (not name.endswith("]") or name.endswith("[arr_rate]")):
                    cb += sizes[name]
            total = shell + page_bytes + cb
            print(f"{page['path']:12} layout {page_bytes:9,}  callbacks {cb:10,}  total {total:10,}  ({total / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
