"""The dashboard's own plotly.js: only the trace types it draws, MapLibre loaded on the first map.

Dash's ``dcc.Graph`` uses ``window.Plotly`` when a script has defined it, and only otherwise downloads the full
``plotly.min.js`` of the plotly package (4.8 MB, 1.11 MB at brotli 11: two thirds of a first visit). The asset
``assets/vendor/plotly-observatoire.min.js`` (built at dev time by ``tools/plotly-bundle``, licences beside it)
is Dash's ordinary way in: every ``.js`` of the assets folder is loaded by the page before the app renders, so
``window.Plotly`` exists when the first graph appears. It holds plotly.js's core and the trace types of
``TRACES`` (a test compares that list with the figures' code), without MapLibre: the map traces import
MapLibre's own unmodified ES modules from ``/vendor/maplibre-gl-<version>/`` when the first map is drawn, so
pages without a map never download them, and MapLibre's worker imports the same shared module as the page (one
download instead of plotly's second, inlined copy).
"""

from __future__ import annotations

from pathlib import Path

# Trace types the bundle registers (tools/plotly-bundle/entry.js). A figure with another type would draw nothing.
TRACES = ("scatter", "bar", "heatmap", "waterfall", "scattermap", "choroplethmap", "densitymap")
MAPLIBRE_VERSION = "6.9.0"
BUNDLE = Path(__file__).parent / "assets" / "vendor" / "plotly-observatoire.min.js"
MAPLIBRE_DIR = Path(__file__).parent / "vendor" / f"maplibre-gl-{MAPLIBRE_VERSION}"
MAPLIBRE_URL = f"/vendor/maplibre-gl-{MAPLIBRE_VERSION}/"
MAPLIBRE_FILES = {"maplibre-gl.mjs", "maplibre-gl-shared.mjs", "maplibre-gl-worker.mjs", "maplibre-gl.css"}


def install(app) -> None:  # noqa: ANN001 - dash.Dash
    """Serve MapLibre's files (public, like Bootstrap's CSS: ``/vendor/`` needs no session)."""
    import flask

    @app.server.route(MAPLIBRE_URL + "<name>")
    def _maplibre(name: str):  # noqa: ANN202
        if name not in MAPLIBRE_FILES:
            flask.abort(404)
        mimetype = "text/css" if name.endswith(".css") else "text/javascript"  # module scripts need a JS type
        # The folder is named by the version: a year of browser cache is safe.
        return flask.send_file(MAPLIBRE_DIR / name, mimetype=mimetype, max_age=365 * 86400)
