"""Dashboard speed: every page (the router building its layout) and every callback the page fires on load,
through the app's own ``/_dash-update-component`` endpoint, on a store of N random plausible incidents.

    .venv/bin/python benchmarks/bench_dashboard.py                      # 1e6 incidents, store kept in benchmarks/out/
    .venv/bin/python benchmarks/bench_dashboard.py --n 100000 --repeat 20
    .venv/bin/python benchmarks/bench_dashboard.py --only bilan --profile
    .venv/bin/python benchmarks/bench_dashboard.py --data-dir data --only data-   # an existing store (the demo's), read only

What is called, like the browser does on a first load of each page (Flask test client, one process):

- ``router <path>``: Dash Pages' own callback (``_pages_location`` → ``_pages_content``), i.e. the page's
  ``layout()`` — for the Bilan that is the whole yearly diagnostic;
- every server callback whose inputs are all in the shell + that page's layout and that is not
  ``prevent_initial_call`` (clicks, uploads and downloads are left out), with the values the layout holds, the
  shared filters store set per scenario, the Carte map once per layer; plus the side panel for an arrondissement
  and a cell (a click).

Pages and callbacks are discovered from the app (``/_dash-dependencies`` and the layouts): a new page is measured
without editing this script. "cold" is the first call with those filters; "warm" ``--repeat`` more of the same
request. Min, median and p95 are printed with the load average before and after. Tests never assert times;
this does not either. ``--json FILE`` writes the rows for ``run_all.py``.
"""

from __future__ import annotations

import argparse
import json
import os
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
# The Bilan reads its own parameters from the URL (year, territory); the other pages read the filter bar's.
BILAN_QUERY = {"1er-2025": "annee=2025&arrondissement=69381"}
SKIP_PAGES = ("/connexion",)
MAP_LAYERS = ("arr_rate", "arr_count", "grid", "hotspots", "persistence", "zones", "actions", "points")
FILTERS = "filters-store.data"


def _store(n: int, out: Path):  # noqa: ANN202
    from observatory import store
    from observatory.config import get_settings
    from observatory.official.storage import editions
    from tests.dashboard_data import publish_random_store

    settings = get_settings(data_dir=out / f"dash-{n}" / "data")
    if store.current_snapshot(settings) is None:
        t = time.perf_counter()
        publish_random_store(settings, n=n, seed=11)
        print(f"store of {n:,} incidents generated in {time.perf_counter() - t:.1f} s", flush=True)
    if not editions(settings):
        import_official_edition(settings, out / f"dash-{n}")
    return settings


def import_official_edition(settings, folder: Path) -> None:  # noqa: ANN001
    """A synthetic SSMSI communal file (every indicator, Lyon and its nine arrondissements, 2016–2025), imported
    like a real edition, so that the Statistiques officielles page has its figures to build."""
    import numpy as np

    from observatory import official, schema
    from observatory.official.indicators import INDICATORS

    rng = np.random.default_rng(5)
    head = ('"CODGEO_2026";"annee";"indicateur";"unite_de_compte";"nombre";"taux_pour_mille";"est_diffuse";"insee_pop";'
            '"insee_pop_millesime";"insee_log";"insee_log_millesime";"complement_info_nombre";"complement_info_taux"')
    lines = [head]
    for code in ("69123", *schema.ARRONDISSEMENT_CODES):
        pop = 520_000 if code == "69123" else 58_000
        for year in range(2016, 2026):
            for ind in INDICATORS:
                count = int(rng.integers(20, 4000 if code == "69123" else 450))
                rate = f"{1000 * count / pop:.7f}".replace(".", ",")
                lines.append(";".join(f'"{v}"' for v in (code, year, ind.label, "Infraction", count, rate, "diff", pop, 2023, pop // 2, 2022)) + ";NA;NA")
    path = folder / "ssmsi-bench.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    official.import_official(settings, path, production_date="2026-03-12")


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def load_text() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} (1 / 5 / 15 min) on {os.cpu_count()} cores"


def _key(ident) -> str:  # noqa: ANN001
    return json.dumps(ident, sort_keys=True, separators=(",", ":")) if isinstance(ident, dict) else str(ident)


def component_props(tree, found: dict | None = None) -> dict:  # noqa: ANN001
    """{"<id>.<prop>": value} for every component with an id in a layout given as JSON (Dash's wire format)."""
    found = {} if found is None else found
    if isinstance(tree, list):
        for x in tree:
            component_props(x, found)
    elif isinstance(tree, dict):
        if "props" in tree and "type" in tree:
            props = tree["props"] or {}
            ident = props.get("id")
            for prop, value in props.items():
                if ident is not None and prop != "children":
                    found[f"{_key(ident)}.{prop}"] = value
                component_props(value, found)
            if ident is not None:
                found.setdefault(f"{_key(ident)}.children", props.get("children"))
        else:
            for v in tree.values():
                component_props(v, found)
    return found


def _split_outputs(output: str) -> list[dict]:
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    out = []
    for p in parts:
        ident, prop = p.rsplit(".", 1)
        out.append({"id": json.loads(ident) if ident.startswith("{") else ident, "property": prop.split("@")[0]})
    return out


def _wildcard(ident) -> bool:  # noqa: ANN001
    return isinstance(ident, dict) and any(isinstance(v, list) for v in ident.values())


def router_body(path: str, search: str) -> dict:
    return {
        "output": ".._pages_content.children..._pages_store.data..",
        "outputs": [{"id": "_pages_content", "property": "children"}, {"id": "_pages_store", "property": "data"}],
        "inputs": [{"id": "_pages_location", "property": "pathname", "value": path}, {"id": "_pages_location", "property": "search", "value": search}],
        "state": [],
        "changedPropIds": ["_pages_location.pathname"],
    }


def page_callbacks(deps: list[dict], props: dict, query: dict) -> list[tuple[str, dict]]:
    """Bodies of the server callbacks a page fires on load: all inputs present in ``props``, not prevented."""
    out = []
    for dep in deps:
        if dep.get("clientside_function") or dep.get("prevent_initial_call") or "_pages_content" in dep["output"]:
            continue
        ins, states = dep["inputs"], dep.get("state", [])
        outs = _split_outputs(dep["output"])
        if any(_wildcard(i["id"]) for i in ins + states + outs):
            continue  # pattern-matching callbacks (the nav links' href, exports) need the matched ids: left out
        keys = [f"{_key(i['id'])}.{i['property']}" for i in ins]
        if not all(k in props for k in keys):
            continue
        # The renderer fires a callback only when its outputs are on the page (the shell's store is everywhere).
        present = {k.rsplit(".", 1)[0] for k in props}
        if not all(_key(o["id"]) in present for o in outs):
            continue
        values = {**props, FILTERS: query}
        outputs = _split_outputs(dep["output"])
        layers = MAP_LAYERS if "map-layer.value" in keys else (None,)
        for layer in layers:
            if layer:
                values["map-layer.value"] = layer
            body = {
                "output": dep["output"],
                "outputs": outputs if len(outputs) > 1 or dep["output"].startswith("..") else outputs[0],
                "inputs": [{"id": i["id"], "property": i["property"], "value": values[k]} for i, k in zip(ins, keys)],
                "state": [{"id": s["id"], "property": s["property"], "value": values.get(f"{_key(s['id'])}.{s['property']}")} for s in states],
                "changedPropIds": [keys[0]],
            }
            first = outputs[0]["id"]
            name = (first if isinstance(first, str) else f"{first['page']} map" if "page" in first else _key(first)) + (f"[{layer}]" if layer else "")
            out.append((name, body))
    return out


def panel_requests(deps: list[dict], query: dict) -> list[tuple[str, dict]]:
    """The side panel (a click on an arrondissement or a cell of the Carte)."""
    panel = next((d for d in deps if "detail-panel.is_open" in d["output"]), None)
    if panel is None:
        return []
    out = []
    for kind, key in (("arrondissement", "69382"), ("cell", "E8421_N65193")):
        click = {"points": [{"customdata": [key, key, kind], "location": key}]}
        ident = {"type": "clickable-map", "page": "carte"}
        out.append((f"panel[{kind}]", {
            "output": panel["output"], "outputs": _split_outputs(panel["output"]),
            "inputs": [[{"id": ident, "property": "clickData", "value": click}]],
            "state": [{"id": "filters-store", "property": "data", "value": query}],
            "changedPropIds": [json.dumps(ident, separators=(",", ":"), sort_keys=True) + ".clickData"],
        }))
    return out


def _search(path: str, scen: str, query: dict) -> str:
    from urllib.parse import urlencode

    if path == "/bilan":
        return "?" + BILAN_QUERY[scen] if scen in BILAN_QUERY else ""
    return "?" + urlencode(query) if query else ""


def measure(app, repeat: int, only: list[str], profile: bool = False) -> list[dict]:  # noqa: ANN001
    """One row per (page, callback, scenario): cold ms, warm ms list, bytes."""
    import dash

    client = app.server.test_client()
    client.get("/")
    deps = json.loads(client.get("/_dash-dependencies").data)
    shell = component_props(json.loads(client.get("/_dash-layout").data))
    pages = [p["path"] for p in dash.page_registry.values() if p["path"] not in SKIP_PAGES]
    rows = []

    def timed(page: str, name: str, scen: str, body: dict, first: tuple | None = None) -> dict | None:
        if only and not any(o in f"{page} {name}" for o in only):
            return None
        if first is None:
            t = time.perf_counter()
            r = client.post("/_dash-update-component", json=body)
            cold = (time.perf_counter() - t) * 1000
        else:
            r, cold = first
        if r.status_code not in (200, 204):
            print(f"!! {page} {name} [{scen}]: HTTP {r.status_code}", flush=True)
            return None
        warm = []
        prof = None
        if profile:
            import cProfile

            prof = cProfile.Profile()
            prof.enable()
        for _ in range(repeat):
            t = time.perf_counter()
            client.post("/_dash-update-component", json=body)
            warm.append((time.perf_counter() - t) * 1000)
        if prof is not None:
            import pstats

            prof.disable()
            print(f"\n--- profile {page} {name} [{scen}] ---")
            pstats.Stats(prof).sort_stats("cumulative").print_stats(30)
        row = {"page": page, "callback": name, "scenario": scen, "cold_ms": cold, "warm_ms": warm, "bytes": len(r.data)}
        rows.append(row)
        return row

    for scen, query in SCENARIOS.items():
        for path in pages:
            body = router_body(path, _search(path, scen, query))
            t = time.perf_counter()
            r = client.post("/_dash-update-component", json=body)  # the layout: the page's components and values
            cold = (time.perf_counter() - t) * 1000
            if r.status_code != 200:
                print(f"!! router {path} [{scen}]: HTTP {r.status_code}", flush=True)
                continue
            props = {**shell, FILTERS: {}, **component_props(json.loads(r.data)["response"]["_pages_content"]["children"])}
            timed(path, "router", scen, body, first=(r, cold))
            for name, cb in page_callbacks(deps, props, query):
                timed(path, name, scen, cb)
            if path == "/carte":
                for name, cb in panel_requests(deps, query):
                    timed(path, name, scen, cb)
    return rows


def print_rows(rows: list[dict], title: str) -> None:
    print(f"\n{title}")
    print(f"{'page':12} {'callback':34} {'filtres':9} {'cold':>8} {'warm min':>9} {'warm med':>9} {'warm p95':>9} {'bytes':>9}")
    for r in rows:
        w = r["warm_ms"]
        print(f"{r['page']:12} {r['callback'][:34]:34} {r['scenario']:9} {r['cold_ms']:8.1f} {min(w):9.1f} {statistics.median(w):9.1f} {pct(w, 0.95):9.1f} {r['bytes']:9,}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog="\n".join(__doc__.splitlines()[1:]), formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=float, default=1e6, help="incidents in the generated store (default 1e6)")
    parser.add_argument("--repeat", type=int, default=15, help="warm repeats per request")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out", help="where generated stores are kept")
    parser.add_argument("--data-dir", type=Path, default=None, help="measure an existing store (e.g. the demo's data/) instead; it is only read")
    parser.add_argument("--only", action="append", default=[], help="only pages/callbacks whose '<path> <name>' contains this text (repeatable)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the warm repeats (top 30 by cumulative time)")
    parser.add_argument("--json", type=Path, default=None, help="write the rows to this file (for run_all.py)")
    args = parser.parse_args()
    n = int(args.n)

    from observatory.dashboard.app import create_app

    if args.data_dir is not None:
        from observatory.config import get_settings

        settings = get_settings(data_dir=args.data_dir.resolve())
    else:
        settings = _store(n, args.out)
    app = create_app(settings)
    before = load_text()
    rows = measure(app, args.repeat, args.only, args.profile)
    after = load_text()
    size = f"{n:,} incidents" if args.data_dir is None else f"store {args.data_dir}"
    print_rows(rows, f"Pages and callbacks through /_dash-update-component, {size}, {args.repeat} warm repeats (ms); {before} before, {after} after")
    if rows:
        warm95 = max(rows, key=lambda r: pct(r["warm_ms"], 0.95))
        print(f"\nworst warm p95: {pct(warm95['warm_ms'], 0.95):.1f} ms ({warm95['page']} {warm95['callback']} [{warm95['scenario']}]) over {len(rows)} requests")
    if args.json:
        args.json.write_text(json.dumps({"n": n, "repeat": args.repeat, "load_before": before, "load_after": after, "rows": rows}), encoding="utf-8")


if __name__ == "__main__":
    main()
