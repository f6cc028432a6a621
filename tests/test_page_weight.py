"""What a first visit downloads: the index lists only the scripts and styles the pages use, static answers carry
only the headers that act on them, and the map glyphs hold letters, not Latin-1's signs (issue 18: ≤ 1 MB)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

brotli = pytest.importorskip("brotli")

PACKAGE = Path(__file__).resolve().parents[1] / "observatory"
# Bytes at brotli 11 of the scripts and styles the index page lists (measured 2026-12: 638 kB): the rest of a
# first visit (MapLibre, lazy chunks, glyphs, the callbacks' answers, headers) brings a map page to ~0.99 MB.
INDEX_BUDGET = 660_000


@pytest.fixture()
def client(settings):
    from observatory.dashboard.app import create_app

    return create_app(settings).server.test_client()


def _index_files(client) -> list[str]:  # noqa: ANN001
    html = client.get("/").get_data(as_text=True)
    return re.findall(r'<script src="([^"]+)"', html) + re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)


def test_the_index_lists_no_library_the_pages_do_not_use(client):
    from observatory.dashboard.app import UNUSED_LIBRARIES

    files = _index_files(client)
    assert any("/dash/dcc/" in f for f in files) and any("/dash/html/" in f for f in files)
    assert not [f for f in files if any(f"/{lib}/" in f for lib in UNUSED_LIBRARIES)]
    # The guard the other way: a module that starts using one of them must take it out of UNUSED_LIBRARIES.
    users = [p for p in PACKAGE.rglob("*.py") if p.name != "app.py" and re.search(r"\bdash_table\b|DataTable", p.read_text(encoding="utf-8"))]
    assert users == []


def test_one_house_stylesheet(client):
    sheets = [f.split("?")[0] for f in _index_files(client) if f.endswith(".css") or ".css?" in f]
    assert sheets == ["/vendor/bootstrap.min.css", "/assets/style.css"]
    css = client.get("/assets/style.css").get_data(as_text=True)
    for page in ("moyens", "officielles", "sentiment"):  # each hides the shared filter bar
        assert f"body:has(.{page}-page) .filter-bar {{ display: none !important; }}" in css
    assert "@media print" in css


def test_static_answers_carry_only_the_headers_that_act_on_them(client):
    page = client.get("/")
    for name in ("Content-Security-Policy", "X-Frame-Options", "Cross-Origin-Opener-Policy"):
        assert name in page.headers
    files = _index_files(client) + ["/map-glyphs/Open%20Sans%20Semibold/0-255.pbf", "/vendor/maplibre-gl-6.9.0/maplibre-gl.mjs"]
    for url in files:
        answer = client.get(url, headers={"Accept-Encoding": "br"})
        assert answer.status_code == 200, url
        assert answer.headers["X-Content-Type-Options"] == "nosniff", url
        for name in ("Content-Security-Policy", "X-Frame-Options", "Cross-Origin-Opener-Policy", "Content-Disposition", "Date"):
            assert name not in answer.headers, (url, name)
    # A worker script fetched by URL runs under its own answer's policy: MapLibre's keeps it.
    worker = client.get("/vendor/maplibre-gl-6.9.0/maplibre-gl-worker.mjs")
    assert "connect-src 'self'" in worker.headers["Content-Security-Policy"]
    # Callbacks' answers keep the whole set.
    layout = client.get("/_dash-layout")
    assert {"Content-Security-Policy", "X-Frame-Options", "Cross-Origin-Opener-Policy"} <= set(layout.headers.keys())
    assert layout.headers["Cache-Control"] == "no-store"


def test_the_scripts_and_styles_of_the_index_fit_the_budget(client):
    total = 0
    for url in _index_files(client):
        body = client.get(url, headers={"Accept-Encoding": "identity"}).get_data()
        total += len(brotli.compress(body, quality=11))
    print(f"index scripts and styles: {total:,} bytes at brotli 11")
    assert 400_000 < total <= INDEX_BUDGET, total


def test_the_map_glyphs_hold_every_letter_and_the_french_signs():
    import sys

    sys.path.insert(0, str(PACKAGE.parent / "tools"))
    from build_map_glyphs import decode

    for face in ("regular", "semibold", "bold"):
        glyphs = decode((PACKAGE / "data" / "glyphs" / f"open-sans-{face}" / "0-255.pbf").read_bytes())["glyphs"]
        for c in "AZaz09éèêàçôùîïëÉÈÀÇñöüßøåÆæ«»°·' -":
            assert ord(c) in glyphs, (face, c)
        for c in "©®±¼½¾¿×÷¤":
            assert ord(c) not in glyphs, (face, c)


def test_the_dev_server_does_not_name_its_versions():
    from observatory.dashboard.serving_mode import dev_request_handler

    handler = dev_request_handler()
    assert handler.version_string(object.__new__(handler)) == "observatoire"


def test_an_html_answer_under_a_static_path_keeps_the_document_policy(settings):
    from observatory.dashboard.app import create_app

    app = create_app(settings)

    @app.server.route("/vendor/page-test.html")
    def _page():  # noqa: ANN202
        import flask

        return flask.Response("<!doctype html><p>x</p>", mimetype="text/html")

    answer = app.server.test_client().get("/vendor/page-test.html")
    assert answer.status_code == 200
    assert {"Content-Security-Policy", "X-Frame-Options", "Cross-Origin-Opener-Policy"} <= set(answer.headers.keys())
