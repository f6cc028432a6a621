"""Map glyphs served by the dashboard itself, so MapLibre can draw place names with no request off the machine.

MapLibre draws text from signed-distance-field glyphs fetched by ranges of 256 code points from the map style's
``glyphs`` URL. Plotly's own offline style sends those requests to a font server on the internet; the offline
style of :func:`map_style` points at ``/map-glyphs/{fontstack}/{range}.pbf`` here instead. The glyphs (Open Sans,
SIL Open Font License 1.1, licence in ``observatory/data/glyphs/OFL.txt``) are built once at development time by
``tools/build_map_glyphs.py`` and shipped as package data.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

from observatory.config import Settings

GLYPH_ROUTE = "/map-glyphs/"
# Font stacks as Plotly names them (« Open Sans Regular,Arial Unicode MS Regular », « Open Sans Bold »...): the
# first face of the stack decides the weight, anything else falls back to the regular face.
_FACES = (("semibold", "open-sans-semibold"), ("bold", "open-sans-bold"), ("", "open-sans-regular"))
_RANGE = re.compile(r"^(\d{1,5})-(\d{1,5})$")


def face_folder(fontstack: str) -> str:
    first = fontstack.split(",")[0].strip().lower()
    return next(folder for key, folder in _FACES if key in first)


@lru_cache(maxsize=64)
def glyph_range(fontstack_folder: str, start: int, end: int) -> bytes:
    """The PBF of one range; a range the package does not ship is an empty, valid answer (glyphs {1: fontstack
    {1: name, 2: range}}): MapLibre then leaves those characters out instead of logging a failed request."""
    path = resources.files("observatory.data").joinpath("glyphs", fontstack_folder, f"{start}-{end}.pbf")
    if path.is_file():
        return path.read_bytes()
    name = fontstack_folder.replace("-", " ").title().encode()
    rng = f"{start}-{end}".encode()
    body = b"\x0a" + bytes([len(name)]) + name + b"\x12" + bytes([len(rng)]) + rng
    return b"\x0a" + bytes([len(body)]) + body


def glyphs_url() -> str:
    """The URL template MapLibre expands ({fontstack} and {range} stay as they are), under Dash's path prefix."""
    import dash

    return dash.get_relative_path(GLYPH_ROUTE) + "{fontstack}/{range}.pbf"


def map_style(settings: Settings):  # noqa: ANN201 - str | dict
    """The ``layout.map.style`` of every dashboard map: the configured basemap, or (default 'white-bg') a white
    background whose glyphs come from this server, so names can be drawn offline."""
    from observatory.figures import offline_style

    if settings.tile_source != "white-bg":
        return settings.tile_source
    return offline_style(glyphs_url())


def install(app) -> None:  # noqa: ANN001 - dash.Dash
    """Serve ``/map-glyphs/<fontstack>/<start>-<end>.pbf`` (public: a font, no data)."""
    import flask

    from observatory.dashboard import security

    security.allow_public_route(GLYPH_ROUTE)

    @app.server.route(app.config.routes_pathname_prefix.rstrip("/") + GLYPH_ROUTE + "<fontstack>/<rng>.pbf")
    def _map_glyphs(fontstack: str, rng: str):  # noqa: ANN202
        match = _RANGE.match(rng)
        if not match:
            flask.abort(404)
        start, end = int(match.group(1)), int(match.group(2))
        if start % 256 or end != start + 255 or end > 65535:
            flask.abort(404)
        response = flask.Response(glyph_range(face_folder(fontstack), start, end), mimetype="application/x-protobuf")
        response.headers["Cache-Control"] = "public, max-age=604800"
        return response
