"""Static files (Dash's and Plotly's JavaScript, the house CSS) compressed once, at brotli's best level.

flask-compress compresses every answer on the fly at a fast level (zstd 3, brotli 4, gzip 6): right for the
callbacks' JSON, wasteful for a 4.8 MB ``plotly.min.js`` that is the same bytes for every visitor. Here static
answers (``/_dash-component-suites/…``, ``/assets/…``, the Bootstrap CSS and MapLibre in ``/vendor/``, the map glyphs in
``/map-glyphs/`` — 85 kB of signed-distance fields per range, 39 kB at brotli 11) are compressed once per content and
kept in memory and on disk (``<processed>/compressed-assets/``, named by the content's SHA-256, so a Dash
upgrade never serves a stale file): brotli quality 11 (Plotly: 1.47 MB gzip → 1.11 MB), gzip 9 for browsers
without brotli. Brotli 11 takes ~17 s for Plotly on this kind of machine: the first request gets quality 5
(0.2 s) while a background thread prepares quality 11 for every later one.

The hook runs before flask-compress (Flask calls ``after_request`` functions last-registered first) and sets
``Content-Encoding``, which makes flask-compress leave the answer alone.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from pathlib import Path

STATIC_PREFIXES = ("/_dash-component-suites/", "/assets/", "/static/", "/vendor/", "/map-glyphs/")
COMPRESSIBLE = {"application/javascript", "text/javascript", "text/css", "application/json", "image/svg+xml", "application/x-protobuf"}
MIN_SIZE = 1024
FAST_BR, BEST_BR, GZIP_LEVEL = 5, 11, 9


def accepted(header: str) -> set[str]:
    """Encodings an ``Accept-Encoding`` header accepts (``q=0`` refuses)."""
    out = set()
    for part in (header or "").split(","):
        name, _, params = part.strip().partition(";")
        q = params.strip()
        if q.startswith("q="):
            try:
                if float(q[2:]) == 0:
                    continue
            except ValueError:
                continue
        if name:
            out.add(name.strip().lower())
    return out


class CompressedStore:
    """Compressed bodies by (encoding, SHA-256 of the content), in memory and in ``folder`` (None: memory only)."""

    def __init__(self, folder: Path | None, background: bool = True) -> None:
        self.folder = folder
        self.background = background
        self.compressions = 0  # bodies compressed by this process (tests: a second request compresses nothing)
        self._memory: dict[tuple[str, str], bytes] = {}
        self._lock = threading.Lock()
        self._pending: dict[str, threading.Thread] = {}

    def _path(self, encoding: str, digest: str) -> Path | None:
        return None if self.folder is None else self.folder / f"{digest}.{'br' if encoding == 'br' else 'gz'}"

    def _remember(self, encoding: str, digest: str, body: bytes, persist: bool) -> None:
        with self._lock:
            self._memory[(encoding, digest)] = body
        path = self._path(encoding, digest)
        if persist and path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(path.suffix + ".tmp")
                tmp.write_bytes(body)
                tmp.replace(path)  # atomic: a crash never leaves a torn file behind a valid name
            except OSError:
                pass  # a read-only data folder: memory only

    def body(self, encoding: str, data: bytes) -> bytes:
        digest = hashlib.sha256(data).hexdigest()
        with self._lock:
            hit = self._memory.get((encoding, digest))
        if hit is not None:
            return hit
        path = self._path(encoding, digest)
        if path is not None and path.exists():
            body = path.read_bytes()
            self._remember(encoding, digest, body, persist=False)
            return body
        if encoding == "gzip":
            self.compressions += 1
            body = gzip.compress(data, GZIP_LEVEL, mtime=0)
            self._remember(encoding, digest, body, persist=True)
            return body
        import brotli

        if not self.background:
            self.compressions += 1
            body = brotli.compress(data, quality=BEST_BR)
            self._remember(encoding, digest, body, persist=True)
            return body
        self.compressions += 1
        fast = brotli.compress(data, quality=FAST_BR)
        with self._lock:
            if digest not in self._pending:
                worker = threading.Thread(target=self._best, args=(digest, data), name=f"brotli-{digest[:8]}", daemon=True)
                self._pending[digest] = worker
                worker.start()
        return fast

    def _best(self, digest: str, data: bytes) -> None:
        import brotli

        body = brotli.compress(data, quality=BEST_BR)
        self.compressions += 1
        self._remember("br", digest, body, persist=True)
        with self._lock:
            self._pending.pop(digest, None)

    def wait(self, timeout: float = 120) -> None:
        """Wait for the background compressions (tests, benchmarks)."""
        for worker in list(self._pending.values()):
            worker.join(timeout)


def install(app, folder: Path | None, background: bool = True) -> CompressedStore:  # noqa: ANN001 - dash.Dash
    """Register the hook on the app's Flask server; returns the store (kept in ``server.extensions``)."""
    import flask

    store = CompressedStore(folder, background)
    app.server.extensions["observatory_static_compression"] = store

    @app.server.after_request
    def _compress_static(response):  # noqa: ANN001, ANN202
        req = flask.request
        if (
            req.method != "GET"
            or not req.path.startswith(STATIC_PREFIXES)
            or response.status_code != 200
            or "Content-Encoding" in response.headers
            or response.mimetype not in COMPRESSIBLE
        ):
            return response
        ok = accepted(req.headers.get("Accept-Encoding", ""))
        encoding = "br" if "br" in ok else "gzip" if "gzip" in ok else None
        if encoding is None:
            return response
        response.direct_passthrough = False
        data = response.get_data()
        if len(data) < MIN_SIZE:
            return response
        response.set_data(store.body(encoding, data))
        response.headers["Content-Encoding"] = encoding
        response.headers["Content-Length"] = str(response.content_length)
        response.vary.add("Accept-Encoding")
        etag, weak = response.get_etag()
        if etag and not weak:
            response.set_etag(f"{etag}:{encoding}")
        return response

    return store
