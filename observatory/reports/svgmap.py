"""A map as SVG text: the polygons (or points) of a layer as vector paths, with a title, a legend, the source and
the date, in the style of :mod:`observatory.reports.svgcharts` (no Plotly, no bitmap, coordinates rounded).

Why not Plotly's own SVG export: a MapLibre map is drawn by WebGL, so Plotly can only embed it as a bitmap
(a clipped 674 × 430 picture inside an SVG), without the title or the source. Here every feature is a ``<path>``
that prints sharp at any size and can be edited in a drawing program.

Geometries are given in a projected CRS in metres (Lambert-93): the map keeps true shapes with a plain scale.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from observatory.reports.svgcharts import _n, _svg, _text

TITLE_SIZE = 17
HALO = '<text paint-order="stroke" stroke="#fff" stroke-width="3" stroke-linejoin="round" '


@dataclass(frozen=True)
class Feature:
    """One thing drawn: a shapely geometry (projected, metres) and how to draw it."""

    geometry: object
    fill: str
    stroke: str = "#ffffff"
    stroke_width: float = 0.6
    opacity: float = 0.85
    radius: float = 0.0  # points: circle radius in px


@dataclass(frozen=True)
class MapSVG:
    """Everything a printed map says: what is drawn, over which context, and the texts around it."""

    title: str
    features: Sequence[Feature]
    legend: Sequence[tuple[str, str]]  # (colour, label), in reading order
    legend_title: str = ""
    legend_opacity: float = 0.85  # the swatches' fill as the features are drawn (see through, like the map)
    subtitle: str = ""
    source: str = ""
    stamp: str = ""  # « Exporté le 05/12/2026 à 14:03 »
    notes: Sequence[str] = ()
    outlines: Sequence[object] = ()  # context polygons (arrondissements), drawn unfilled over the features
    lines: Sequence[object] = ()  # rivers, drawn under the features
    names: Sequence[tuple[float, float, str]] = ()  # (x, y in the CRS, text), written last
    extent: tuple[float, float, float, float] | None = None  # minx, miny, maxx, maxy; default: outlines ∪ features
    width: float = 960


def _wrap(text: str, limit: int) -> list[str]:
    """Greedy line breaks on spaces (SVG text does not wrap by itself)."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        if current and len(current) + 1 + len(word) > limit:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    if current:
        lines.append(current)
    return lines


def _path(geom, transform) -> str:  # noqa: ANN001 - shapely geometry, callable
    """SVG path data of a polygon, multipolygon, line or multiline (holes kept with the even-odd rule)."""
    kind = geom.geom_type
    if kind in ("MultiPolygon", "MultiLineString", "GeometryCollection"):
        return "".join(_path(part, transform) for part in geom.geoms)
    if kind == "Polygon":
        return "".join(_ring(ring.coords, transform, close=True) for ring in (geom.exterior, *geom.interiors))
    if kind == "LineString":
        return _ring(geom.coords, transform, close=False)
    return ""


def _ring(coords, transform, close: bool) -> str:  # noqa: ANN001
    pts = [transform(x, y) for x, y, *_ in coords]
    if not pts:
        return ""
    # Consecutive points that round to the same place add bytes, not shape.
    kept = [pts[0]]
    for p in pts[1:]:
        if (_n(p[0]), _n(p[1])) != (_n(kept[-1][0]), _n(kept[-1][1])):
            kept.append(p)
    return "M" + "L".join(f"{_n(x)},{_n(y)}" for x, y in kept) + ("Z" if close else "")


def render(spec: MapSVG) -> str:
    """The SVG document of ``spec``: title and subtitle above, the map left, the legend right, the source, the
    notes and the date below."""
    import shapely

    legend_w = 230
    margin = 16
    if spec.extent is not None:
        minx, miny, maxx, maxy = spec.extent
    else:
        geoms = [f.geometry for f in spec.features] + list(spec.outlines)
        minx, miny, maxx, maxy = shapely.GeometryCollection(geoms).bounds if geoms else (0.0, 0.0, 1.0, 1.0)
    span_x, span_y = max(maxx - minx, 1.0), max(maxy - miny, 1.0)
    scale = min((spec.width - legend_w - 2 * margin) / span_x, 620 / span_y)
    map_w, map_h = span_x * scale, span_y * scale
    # As wide as the map and its legend need (no empty band), and wide enough for the texts around it.
    width = max(margin + map_w + 24 + legend_w, 640.0)
    chars = int((width - 2 * margin) / 6.8)  # ~6.8 px per character at 12 px
    head = [(spec.title, TITLE_SIZE, "bold", "#111")]
    head += [(line, 12, "normal", "#444") for line in _wrap(spec.subtitle, chars)] if spec.subtitle else []
    top = margin
    body: list[str] = []
    for text, size, weight, fill in head:
        top += size + 4
        body.append(_text(margin, top, text, size=size, weight=weight, fill=fill))
    top += 12
    ox = margin

    def transform(x: float, y: float) -> tuple[float, float]:
        return ox + (x - minx) * scale, top + (maxy - y) * scale

    # Draw order: rivers, features, context outlines, names (so that no fill covers a name or a border).
    clip = f'<clipPath id="carte"><rect x="{_n(margin)}" y="{_n(top)}" width="{_n(map_w)}" height="{_n(map_h)}"/></clipPath>'
    body.append(clip)
    drawn = ['<g clip-path="url(#carte)">']
    for line in spec.lines:
        d = _path(line, transform)
        if d:
            drawn.append(f'<path d="{d}" fill="none" stroke="#9ecae1" stroke-width="4" stroke-linecap="round" stroke-linejoin="round"/>')
    for f in spec.features:
        if f.geometry.geom_type == "Point":
            x, y = transform(f.geometry.x, f.geometry.y)
            drawn.append(f'<circle cx="{_n(x)}" cy="{_n(y)}" r="{_n(f.radius or 3)}" fill="{f.fill}" fill-opacity="{_n(f.opacity)}"/>')
            continue
        d = _path(f.geometry, transform)
        if d:
            drawn.append(f'<path d="{d}" fill="{f.fill}" fill-opacity="{_n(f.opacity)}" fill-rule="evenodd" stroke="{f.stroke}" stroke-width="{_n(f.stroke_width)}"/>')
    for outline in spec.outlines:
        d = _path(outline, transform)
        if d:
            drawn.append(f'<path d="{d}" fill="none" stroke="#52606d" stroke-width="0.8"/>')
    for x, y, text in spec.names:
        px, py = transform(x, y)
        drawn.append(_text(px, py + 4, text, size=12, anchor="middle", weight="bold", fill="#1f2933").replace("<text ", HALO, 1))
    drawn.append("</g>")
    body += drawn

    # Legend, right of the map.
    lx = ox + map_w + 24
    ly = top + 4
    if spec.legend_title:
        for line in _wrap(spec.legend_title, 30):
            ly += 14
            body.append(_text(lx, ly, line, size=12, weight="bold"))
        ly += 6
    for colour, label in spec.legend:
        body.append(f'<rect x="{_n(lx)}" y="{_n(ly)}" width="16" height="12" fill="{colour}" fill-opacity="{_n(spec.legend_opacity)}" stroke="#888" stroke-width="0.5"/>')
        for k, line in enumerate(_wrap(label, 34)):
            body.append(_text(lx + 22, ly + 10 + 13 * k, line, size=11))
        ly += 18 + 13 * (len(_wrap(label, 34)) - 1)
    # A scale bar: 1 km (or 2 km on wide extents), so the printed map keeps its distances.
    km = 1000.0 if span_x < 12_000 else 2000.0
    bar = km * scale
    sy = top + map_h - 10
    body.append(f'<path d="M{_n(margin + 4)},{_n(sy)}L{_n(margin + 4 + bar)},{_n(sy)}" stroke="#333" stroke-width="2"/>')
    body.append(_text(margin + 4 + bar / 2, sy - 5, f"{int(km / 1000)} km", size=10, anchor="middle", fill="#333"))

    # Footer: source, notes, date.
    y = max(top + map_h, ly) + 10
    for line in [f"Source : {spec.source}"] * bool(spec.source) + list(spec.notes) + [spec.stamp] * bool(spec.stamp):
        for part in _wrap(line, int((width - 2 * margin) / 5.6)):  # ~5.6 px per character at 10 px
            y += 14
            body.append(_text(margin, y, part, size=10, fill="#444"))
    return _svg(width, y + margin, body, spec.title)
