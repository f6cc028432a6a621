"""The dashboard as a browser sees it: headless Chromium (Playwright, /usr/bin/chromium) against the server that
``make run`` starts, on a store of N random plausible incidents (the same store as ``bench_dashboard.py``).

    .venv/bin/python benchmarks/bench_browser.py                 # 1e6 store in benchmarks/out/, `python app.py`
    .venv/bin/python benchmarks/bench_browser.py --n 1e5 --repeat 5
    .venv/bin/python benchmarks/bench_browser.py --server gunicorn   # gunicorn app:server, 1 worker × 8 threads

Two measurements:

- **first visit on the wire**: a fresh browser profile (empty cache) opens each page once; the bytes are the
  encoded sizes Chromium received (headers + bodies, as on the network: gzip/brotli where the server
  compresses), with the decoded size beside them and the encodings used;
- **page load**: the same profile (cache filled, a user moving between pages) opens each page ``--repeat``
  times; the time is from navigation start to the end of the last ``/_dash-update-component`` answer, read
  from the page's own Resource Timing entries (browser clock), once the network has been idle for 0.5 s and no
  Dash loading state remains. The number of callbacks the page fired is printed beside it.

Min and median are printed with the load average. ``--json FILE`` writes the rows for ``run_all.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]
SKIP_PAGES = ("/connexion",)

# Navigation start → end of the last Dash callback answer, and how many callbacks the page fired.
TIMING_JS = """() => {
  const cbs = performance.getEntriesByType('resource').filter(e => e.name.includes('_dash-update-component'));
  const nav = performance.getEntriesByType('navigation')[0];
  return {callbacks: cbs.length, last_callback_ms: cbs.length ? Math.max(...cbs.map(e => e.responseEnd)) : null,
          dom_content_loaded_ms: nav ? nav.domContentLoadedEventEnd : null, load_ms: nav ? nav.loadEventEnd : null};
}"""
IDLE_JS = "() => !document.querySelector('[data-dash-is-loading=\"true\"]') && !document.querySelector('._dash-loading')"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data_dir: Path, kind: str, log: Path) -> tuple[subprocess.Popen, str]:
    """The server ``make run`` starts (``python app.py``), or gunicorn as ``observatory serve`` would (one worker)."""
    port = _free_port()
    env = {**os.environ, "OBSERVATORY_DATA_DIR": str(data_dir), "OBSERVATORY_HOST": "127.0.0.1", "OBSERVATORY_PORT": str(port)}
    if kind == "gunicorn":
        cmd = [str(Path(sys.executable).parent / "gunicorn"), "app:server", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "8", "--worker-class", "gthread", "--timeout", "120"]
    else:
        cmd = [sys.executable, "app.py"]
    out = open(log, "w", encoding="utf-8")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while True:
        try:
            with urllib.request.urlopen(url + "/_dash-layout", timeout=5) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            raise SystemExit(f"the server did not start; see {log}:\n{log.read_text(encoding='utf-8')[-3000:]}")
        time.sleep(0.3)


def _wait_idle(page) -> None:  # noqa: ANN001
    page.wait_for_load_state("networkidle", timeout=120_000)
    page.wait_for_function(IDLE_JS, timeout=120_000)
    page.wait_for_load_state("networkidle", timeout=120_000)


def first_visit(browser, url: str, path: str) -> dict:  # noqa: ANN001
    """Bytes on the wire of one page opened with an empty cache, in all and per file."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="fr-FR")
    page = context.new_page()
    responses = []
    page.on("requestfinished", lambda req: responses.append(req))
    page.goto(url + path)
    _wait_idle(page)
    wire = decoded = 0
    encodings: dict[str, int] = {}
    by_kind: dict[str, int] = {}
    files = []
    for req in responses:
        sizes = req.sizes()
        resp = req.response()
        body = sizes["responseBodySize"]
        wire += body + sizes["responseHeadersSize"]
        enc = (resp.headers.get("content-encoding") if resp else None) or "identity"
        encodings[enc] = encodings.get(enc, 0) + body
        kind = "plotly.js" if "plotly" in req.url and req.url.split("?")[0].endswith(".js") else req.resource_type
        by_kind[kind] = by_kind.get(kind, 0) + body
        try:
            size = len(resp.body()) if resp else 0
        except Exception:  # noqa: BLE001 - a body Chromium did not keep (redirect): its encoded size is counted
            size = body
        decoded += size
        files.append({"url": req.url.removeprefix(url).split("?")[0], "wire": body + sizes["responseHeadersSize"], "decoded": size, "encoding": enc})
    timing = page.evaluate(TIMING_JS)
    context.close()
    files.sort(key=lambda f: -f["wire"])
    return {"path": path, "requests": len(responses), "wire_bytes": wire, "decoded_bytes": decoded, "encodings": encodings, "by_kind": by_kind, "files": files, **timing}


def warm_static(browser, url: str, data_dir: Path, timeout_s: float = 300) -> int:  # noqa: ANN001
    """One uncounted visit of every page, then wait until the server holds the brotli-11 version of each static
    file it served (``<processed>/compressed-assets/<sha256>.br``, written by ``static_compression`` once the
    background compression ends): the figures are those of every visitor but the very first after an upgrade.
    Returns the number of static files."""
    import hashlib

    from observatory.config import get_settings

    context = browser.new_context()
    page = context.new_page()
    urls: set[str] = set()
    static = lambda req: req.resource_type in ("script", "stylesheet") or "/map-glyphs/" in req.url  # noqa: E731
    page.on("requestfinished", lambda req: urls.add(req.url) if static(req) and req.url.startswith(url) else None)
    for path in ("/", "/carte"):
        page.goto(url + path)
        _wait_idle(page)
    context.close()
    folder = get_settings(data_dir=data_dir).processed_dir / "compressed-assets"
    expected = []
    for u in sorted(urls):
        with urllib.request.urlopen(urllib.request.Request(u, headers={"Accept-Encoding": "identity"}), timeout=30) as r:
            body = r.read()
        if len(body) >= 1024:  # static_compression.MIN_SIZE: smaller files travel as they are
            expected.append(folder / f"{hashlib.sha256(body).hexdigest()}.br")
    deadline = time.time() + timeout_s
    while not all(p.exists() for p in expected):
        if time.time() > deadline:
            print(f"warning: {sum(not p.exists() for p in expected)} static files still without their brotli-11 version", flush=True)
            break
        time.sleep(1)
    return len(urls)


def page_loads(browser, url: str, paths: list[str], repeat: int) -> list[dict]:  # noqa: ANN001
    """Navigation → last callback answered, each page ``repeat`` times, HTTP cache warm."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="fr-FR")
    page = context.new_page()
    page.goto(url + "/")
    _wait_idle(page)
    rows = []
    for path in paths:
        runs = []
        for _ in range(repeat):
            page.goto(url + path)
            _wait_idle(page)
            runs.append(page.evaluate(TIMING_JS))
        rows.append({"path": path, "runs": runs})
    context.close()
    return rows


def load_text() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} (1 / 5 / 15 min) on {os.cpu_count()} cores"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog="\n".join(__doc__.splitlines()[1:]), formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=float, default=1e6, help="incidents in the generated store (default 1e6)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out", help="where generated stores are kept")
    parser.add_argument("--data-dir", type=Path, default=None, help="an existing store instead (only read)")
    parser.add_argument("--server", choices=("app", "gunicorn"), default="app", help="`python app.py` (what make run serves) or gunicorn")
    parser.add_argument("--repeat", type=int, default=3, help="loads of each page with a warm cache")
    parser.add_argument("--json", type=Path, default=None, help="write the rows to this file (for run_all.py)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from benchmarks.bench_dashboard import SKIP_PAGES, _store

    n = int(args.n)
    data_dir = args.data_dir.resolve() if args.data_dir else _store(n, args.out).data_path
    args.out.mkdir(parents=True, exist_ok=True)
    proc, url = start_server(data_dir, args.server, args.out / "bench_browser_server.log")
    try:
        import dash

        from observatory.config import get_settings
        from observatory.dashboard.app import create_app

        create_app(get_settings(data_dir=data_dir))  # fills Dash's page registry: the pages to open
        paths = [p["path"] for p in dash.page_registry.values() if p["path"] not in SKIP_PAGES]
        before = load_text()
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            n_static = warm_static(browser, url, data_dir)
            print(f"{n_static} static files warmed (compressed once by the server, then served from its cache)", flush=True)
            firsts = [first_visit(browser, url, path) for path in paths]
            loads = page_loads(browser, url, paths, args.repeat)
            browser.close()
        after = load_text()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    where = f"{n:,} incidents" if args.data_dir is None else f"store {args.data_dir}"
    print(f"\nFirst visit, empty cache, {where}, server {args.server}; {before} before")
    print(f"{'page':12} {'requests':>8} {'on the wire':>12} {'decoded':>12} {'last callback':>14}  encodings (body bytes)")
    for r in firsts:
        enc = ", ".join(f"{k} {v / 1e6:.2f} MB" for k, v in sorted(r["encodings"].items()))
        print(f"{r['path']:12} {r['requests']:8} {r['wire_bytes'] / 1e6:9.2f} MB {r['decoded_bytes'] / 1e6:9.2f} MB {r['last_callback_ms'] or 0:11.0f} ms  {enc}")
    heaviest = max(firsts, key=lambda r: r["wire_bytes"])
    print(f"\nHeaviest first visit, {heaviest['path']}: its largest files (kB on the wire / decoded)")
    for f in heaviest["files"][:12]:
        print(f"  {f['wire'] / 1e3:8.1f} / {f['decoded'] / 1e3:8.1f}  {f['encoding']:8} {f['url']}")
    print(f"\nPage load, cache warm: navigation → last callback answered, {args.repeat} loads per page (ms); {after} after")
    print(f"{'page':12} {'callbacks':>9} {'min':>8} {'median':>8} {'max':>8}")
    for r in loads:
        t = [x["last_callback_ms"] or 0 for x in r["runs"]]
        print(f"{r['path']:12} {r['runs'][0]['callbacks']:9} {min(t):8.0f} {statistics.median(t):8.0f} {max(t):8.0f}")
    if args.json:
        args.json.write_text(json.dumps({"n": n, "server": args.server, "load_before": before, "load_after": after, "first_visit": firsts, "page_loads": loads}), encoding="utf-8")


if __name__ == "__main__":
    main()
