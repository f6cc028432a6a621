"""Small vector charts written as SVG text: bars, lines and the arrondissement map.

Why not Plotly + kaleido: kaleido needs a Chrome it can drive and pulls a sizeable dependency, while the report
needs only three simple chart kinds. Writing the SVG directly keeps the figures vector, byte-for-byte
deterministic (coordinates rounded, no ids or timestamps), printable by any renderer and free of JavaScript.
Hidden values (privacy) are never drawn: a bar or a point that would reveal a suppressed count is left out and
labelled "< 5" or "s" instead. Numbers use French formats.
"""

from __future__ import annotations

from html import escape

from observatory.labels import fmt_number

FONT = "DejaVu Sans, Liberation Sans, Arial, sans-serif"
PALETTE = ("#1f4e79", "#c0504d", "#4f8a3c", "#8064a2", "#d08a1e", "#4bacc6", "#7f7f7f", "#9b2d6f", "#2e7d7d")
SEQUENTIAL = ("#eef3f9", "#c6d9ec", "#8fb4d9", "#4f86bd", "#1f4e79")  # light → dark, 5 classes


def _n(value: float) -> str:
    """Coordinates rounded to 0.1 so that two runs write the same bytes."""
    text = f"{value:.1f}"
    return "0" if text in ("-0.0", "0.0") else text.rstrip("0").rstrip(".")


def _text(x: float, y: float, text: str, size: float = 11, anchor: str = "start", weight: str = "normal", fill: str = "#222") -> str:
    return (
        f'<text x="{_n(x)}" y="{_n(y)}" font-size="{_n(size)}" text-anchor="{anchor}" font-weight="{weight}" '
        f'fill="{fill}">{escape(text)}</text>'
    )


def _svg(width: float, height: float, body: list[str], title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_n(width)} {_n(height)}" width="{_n(width)}" '
        f'height="{_n(height)}" font-family="{FONT}" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>" + "".join(body) + "</svg>"
    )


def nice_max(value: float) -> float:
    """A round upper bound for an axis (1, 2, 2.5, 5 × 10^k)."""
    if value <= 0:
        return 1.0
    exp = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * exp:
            return step * exp
    return 10 * exp


def bar_chart(
    labels: list[str],
    values: list[float | None],
    title: str,
    display: list[str] | None = None,
    width: float = 640,
    decimals: int = 0,
) -> str:
    """Horizontal bars, one per label; ``None`` values (hidden) draw no bar and show their ``display`` text."""
    display = display or [fmt_number(v, decimals) if v is not None else "s" for v in values]
    row_h, top, left, right = 22, 10, 250, 70
    height = top + row_h * max(len(labels), 1) + 10
    vmax = nice_max(max([v for v in values if v is not None] or [0]))
    plot_w = width - left - right
    body = []
    for i, (label, value, shown) in enumerate(zip(labels, values, display)):
        y = top + i * row_h
        body.append(_text(left - 8, y + 15, label if len(label) <= 40 else label[:39] + "…", anchor="end"))
        w = 0.0 if value is None else plot_w * max(value, 0) / vmax
        if value is not None and w > 0:
            body.append(f'<rect x="{_n(left)}" y="{_n(y + 3)}" width="{_n(w)}" height="{_n(row_h - 6)}" fill="{PALETTE[0]}"/>')
        body.append(_text(left + w + 5, y + 15, shown, fill="#222" if value is not None else "#777"))
    body.append(f'<line x1="{_n(left)}" y1="{_n(top)}" x2="{_n(left)}" y2="{_n(height - 10)}" stroke="#888" stroke-width="1"/>')
    return _svg(width, height, body, title)


def line_chart(
    x_labels: list[str],
    series: list[tuple[str, list[float | None]]],
    title: str,
    width: float = 640,
    height: float = 260,
) -> str:
    """One line per series over the same x positions; ``None`` points (hidden) break the line."""
    left, right, top, bottom = 60, 200, 12, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    all_values = [v for _, vals in series for v in vals if v is not None]
    vmax = nice_max(max(all_values or [0]))
    n = max(len(x_labels), 1)
    step = plot_w / max(n - 1, 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        return left + i * step, top + plot_h * (1 - v / vmax)

    body = []
    for k in range(5):
        v = vmax * k / 4
        y = top + plot_h * (1 - k / 4)
        body.append(f'<line x1="{_n(left)}" y1="{_n(y)}" x2="{_n(left + plot_w)}" y2="{_n(y)}" stroke="#e3e3e3" stroke-width="1"/>')
        body.append(_text(left - 6, y + 4, fmt_number(v, 0 if vmax >= 8 else 1), size=10, anchor="end", fill="#555"))
    for i, lab in enumerate(x_labels):
        body.append(_text(left + i * step, height - 10, lab, size=10, anchor="middle", fill="#555"))
    for s_i, (name, values) in enumerate(series):
        color = PALETTE[s_i % len(PALETTE)]
        segment: list[str] = []
        segments: list[list[str]] = []
        for i, v in enumerate(values):
            if v is None:
                if segment:
                    segments.append(segment)
                segment = []
                continue
            x, y = xy(i, v)
            segment.append(f"{_n(x)},{_n(y)}")
            body.append(f'<circle cx="{_n(x)}" cy="{_n(y)}" r="2.5" fill="{color}"/>')
        if segment:
            segments.append(segment)
        for seg in segments:
            if len(seg) > 1:
                body.append(f'<polyline points="{" ".join(seg)}" fill="none" stroke="{color}" stroke-width="2"/>')
        ly = top + 8 + s_i * 18
        body.append(f'<rect x="{_n(width - right + 12)}" y="{_n(ly - 8)}" width="12" height="4" fill="{color}"/>')
        body.append(_text(width - right + 30, ly, name if len(name) <= 28 else name[:27] + "…", size=10))
    return _svg(width, height, body, title)


def _ring_path(coords, transform) -> str:  # noqa: ANN001 - shapely coordinate sequence, callable
    pts = [transform(x, y) for x, y in coords]
    return "M" + "L".join(f"{_n(px)},{_n(py)}" for px, py in pts) + "Z"


def choropleth(
    shapes: list[tuple[str, object]],
    values: dict[str, float | None],
    display: dict[str, str],
    title: str,
    legend_title: str,
    highlight: str | None = None,
    width: float = 520,
) -> str:
    """Polygons (projected, metres) filled by class of value; the legend gives the class bounds.

    ``shapes`` is a list of (code, shapely geometry in a projected CRS); ``display`` gives the text written on
    each polygon (the label and the protected value).
    """
    import shapely

    geoms = [g for _, g in shapes]
    minx, miny, maxx, maxy = shapely.GeometryCollection(geoms).bounds if geoms else (0, 0, 1, 1)
    legend_w = 150
    map_w = width - legend_w
    scale = map_w / max(maxx - minx, 1e-9)
    height = (maxy - miny) * scale + 20

    def transform(x: float, y: float) -> tuple[float, float]:
        return (x - minx) * scale, (maxy - y) * scale + 10

    known = sorted(v for v in values.values() if v is not None)
    bounds: list[float] = []
    if known:
        lo, hi = known[0], known[-1]
        bounds = [lo + (hi - lo) * k / len(SEQUENTIAL) for k in range(len(SEQUENTIAL) + 1)]

    def colour(v: float | None) -> str:
        if v is None or not bounds:
            return "#ffffff"
        for k in range(len(SEQUENTIAL)):
            if v <= bounds[k + 1] or k == len(SEQUENTIAL) - 1:
                return SEQUENTIAL[k]
        return SEQUENTIAL[-1]

    body = []
    labels = []
    for code, geom in shapes:
        parts = list(geom.geoms) if hasattr(geom, "geoms") else [geom]
        d = "".join(_ring_path(p.exterior.coords, transform) + "".join(_ring_path(r.coords, transform) for r in p.interiors) for p in parts)
        stroke, sw = ("#c00000", "3") if code == highlight else ("#555", "1")
        body.append(f'<path d="{d}" fill="{colour(values.get(code))}" fill-rule="evenodd" stroke="{stroke}" stroke-width="{sw}"/>')
        point = geom.representative_point()
        px, py = transform(point.x, point.y)
        # A white halo keeps the label readable on the darkest class.
        labels.append(_text(px, py, display.get(code, ""), size=10, anchor="middle", weight="bold").replace(
            "<text ", '<text paint-order="stroke" stroke="#fff" stroke-width="3" ', 1))
    body.extend(labels)  # labels after every polygon so no fill covers them
    lx = map_w + 10
    body.append(_text(lx, 24, legend_title, size=10, weight="bold"))
    for k, fill in enumerate(SEQUENTIAL if bounds else ()):
        y = 34 + k * 18
        body.append(f'<rect x="{_n(lx)}" y="{_n(y)}" width="14" height="12" fill="{fill}" stroke="#888" stroke-width="0.5"/>')
        body.append(_text(lx + 20, y + 10, f"{fmt_number(bounds[k], 1)} – {fmt_number(bounds[k + 1], 1)}", size=9))
    return _svg(width, max(height, 140), body, title)
