"""Static files are compressed once (brotli 11 / gzip 9), kept by content, and callbacks are left to flask-compress."""

from __future__ import annotations

import gzip
import re

import pytest

brotli = pytest.importorskip("brotli")


def _plotly_url(client) -> str:  # noqa: ANN001
    html = client.get("/").get_data(as_text=True)
    urls = re.findall(r'src="(/_dash-component-suites/[^"]+\.js)"', html)
    assert urls
    return urls[0]


def test_accept_encoding_parsing():
    from observatory.dashboard.static_compression import accepted

    assert accepted("gzip, deflate, br, zstd") == {"gzip", "deflate", "br", "zstd"}
    assert accepted("gzip;q=1.0, br;q=0") == {"gzip"}
    assert accepted("") == set()


@pytest.mark.parametrize("encoding", ["br", "gzip"])
def test_static_javascript_compressed_once_and_identical(settings, encoding):
    from observatory.dashboard.app import create_app
    from observatory.dashboard.static_compression import install

    app = create_app(settings)
    store = install(app, settings.processed_dir / "compressed-assets", background=False)  # synchronous for the test
    client = app.server.test_client()
    url = _plotly_url(client)
    plain = client.get(url, headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers
    first = client.get(url, headers={"Accept-Encoding": f"{encoding}"})
    assert first.headers["Content-Encoding"] == encoding and "Accept-Encoding" in first.headers["Vary"]
    decode = brotli.decompress if encoding == "br" else gzip.decompress
    assert decode(first.data) == plain.data and len(first.data) < len(plain.data) / 2
    done = store.compressions
    again = client.get(url, headers={"Accept-Encoding": f"{encoding}"})
    assert again.data == first.data and store.compressions == done  # served from memory
    files = list((settings.processed_dir / "compressed-assets").iterdir())
    assert files  # kept on disk for the next start
    fresh = install(create_app(settings), settings.processed_dir / "compressed-assets", background=False)
    assert fresh.body(encoding, plain.data) == first.data and fresh.compressions == 0  # read back, not recompressed


def test_brotli_best_level_prepared_in_background(settings):
    from observatory.dashboard.static_compression import CompressedStore

    data = b"var plotly = 1;\n" * 5000
    store = CompressedStore(None, background=True)
    fast = store.body("br", data)
    store.wait()
    best = store.body("br", data)
    assert brotli.decompress(fast) == data == brotli.decompress(best)
    assert store.compressions == 2  # quality 5 at once, quality 11 once in the background; then served from memory


def test_map_glyph_ranges_are_served_compressed(settings):
    """The glyphs are static too: a home-page visit fetched 85 kB of them uncompressed (39 kB at brotli 11)."""
    from observatory.dashboard.app import create_app
    from observatory.dashboard.static_compression import install

    app = create_app(settings)
    install(app, None, background=False)
    client = app.server.test_client()
    url = "/map-glyphs/Open%20Sans%20Semibold/0-255.pbf"
    plain = client.get(url, headers={"Accept-Encoding": "identity"})
    packed = client.get(url, headers={"Accept-Encoding": "gzip, br"})
    assert plain.status_code == packed.status_code == 200 and "Content-Encoding" not in plain.headers
    assert packed.headers["Content-Encoding"] == "br" and packed.headers["Content-Type"] == "application/x-protobuf"
    assert brotli.decompress(packed.data) == plain.data and len(packed.data) < len(plain.data) / 2


def test_the_favicon_is_the_house_one_not_dash_s_15_kb_default(settings):
    """Chromium fetches the icon twice on a first visit: Dash's default weighed 15 kB (5 kB compressed) each time."""
    from pathlib import Path

    from observatory.dashboard.app import create_app

    import observatory.dashboard

    client = create_app(settings).server.test_client()
    shipped = (Path(observatory.dashboard.__file__).parent / "assets" / "favicon.ico").read_bytes()
    links = re.findall(r'<link rel="icon" type="image/x-icon" href="([^"]+)"', client.get("/").get_data(as_text=True))
    assert len(links) == 1 and links[0].startswith("/assets/favicon.ico?")
    answer = client.get(links[0])
    assert answer.status_code == 200 and answer.get_data() == shipped and len(shipped) < 1024
    assert shipped[:4] == b"\x00\x00\x01\x00" and shipped[22:30] == b"\x89PNG\r\n\x1a\n"  # an ICO holding one PNG
