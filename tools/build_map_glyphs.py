"""Build the map glyphs the dashboard serves (dev-time tool, run once; its output is committed as package data).

MapLibre draws map text (arrondissement names) from signed-distance-field glyphs fetched by ranges of 256 code
points from the style's ``glyphs`` URL. Plotly's offline style points that URL at a font server on the internet;
the dashboard serves its own instead (``observatory/dashboard/glyphs.py``), built here from Open Sans (SIL Open
Font License 1.1), as shipped by the npm package ``@fontsource/open-sans`` (its ``latin`` and ``latin-ext`` WOFF
subsets, whose licence file is copied beside the glyphs)::

    npm install --prefix /tmp/fonts @fontsource/open-sans@5.3.0
    .venv/bin/pip install fonttools
    .venv/bin/python tools/build_map_glyphs.py /tmp/fonts/node_modules/@fontsource/open-sans

The format is the one of ``fontnik`` (Mapbox's glyph builder, a native module whose prebuilt binaries are not
reachable here): glyphs rendered at 24 px, a 3 px buffer around each, distances of ±8 px mapped to bytes with
the outline at 192 (``255 - clamp(32·d + 64)``, d signed, negative inside), ``top`` measured from the ascender.
Distances are exact distances to the flattened outline (not to a rasterised bitmap), as fontnik computes them.
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
from pathlib import Path

import numpy as np

SIZE = 24  # px: MapLibre's ONE_EM
BUFFER = 3  # px of SDF around each glyph
RADIUS = 8.0  # px of distance the bytes can express
CUTOFF = 0.25
RANGES = ((0, 255), (256, 511), (8192, 8447))  # Basic Latin + Latin-1, Latin Extended-A/B, punctuation (’ – … €)
FACES = {"Open Sans Regular": "400", "Open Sans Semibold": "600", "Open Sans Bold": "700"}
# Map text is place names: every letter is kept, but Latin-1's signs (¡ ¢ £ ¤ ¥ ¦ § ¨ © ª ¬ ® ¯ ± ² ³ ´ µ ¶ ¸ ¹ º
# ¼ ½ ¾ ¿ × ÷, the soft hyphen) are left out, except the French « » ° ·: 29 glyphs fewer in the range every map
# page fetches first (0-255: 39.5 → 32.4 kB at brotli 11). A sign left out is not drawn; the name around it is.
LEFT_OUT = set(range(0xA1, 0xC0)) - {ord(c) for c in "«»°·"} | {0xD7, 0xF7}
OUT = Path(__file__).resolve().parents[1] / "observatory" / "data" / "glyphs"
CURVE_STEPS = 8  # segments per quadratic/cubic curve: ≤ 0.05 px from the true curve at 24 px


# Outline → polygon rings (pixels, y up) --------------------------------------------------------------------------
def _rings(glyph_set, name: str, scale: float) -> list[np.ndarray]:
    from fontTools.pens.basePen import BasePen

    class FlatteningPen(BasePen):
        def __init__(self, gs) -> None:  # noqa: ANN001
            super().__init__(gs)  # BasePen decomposes composite glyphs (é = e + ´) through the glyph set
            self.rings: list[list[tuple[float, float]]] = []

        def _moveTo(self, pt) -> None:  # noqa: ANN001, N802
            self.rings.append([pt])

        def _lineTo(self, pt) -> None:  # noqa: ANN001, N802
            self.rings[-1].append(pt)

        def _curveToOne(self, p1, p2, p3) -> None:  # noqa: ANN001, N802
            p0 = self.rings[-1][-1]
            for i in range(1, CURVE_STEPS + 1):
                t = i / CURVE_STEPS
                u = 1 - t
                self.rings[-1].append(tuple(u**3 * a + 3 * u * u * t * b + 3 * u * t * t * c + t**3 * d for a, b, c, d in zip(p0, p1, p2, p3)))

        def _qCurveToOne(self, p1, p2) -> None:  # noqa: ANN001, N802
            p0 = self.rings[-1][-1]
            for i in range(1, CURVE_STEPS + 1):
                t = i / CURVE_STEPS
                u = 1 - t
                self.rings[-1].append(tuple(u * u * a + 2 * u * t * b + t * t * c for a, b, c in zip(p0, p1, p2)))

        def _closePath(self) -> None:  # noqa: N802
            pass

        def _endPath(self) -> None:  # noqa: N802
            pass

    pen = FlatteningPen(glyph_set)
    glyph_set[name].draw(pen)
    out = []
    for ring in pen.rings:
        pts = np.asarray(ring, dtype=np.float64) * scale
        if len(pts) >= 3:
            if not np.allclose(pts[0], pts[-1]):
                pts = np.vstack([pts, pts[:1]])
            out.append(pts)
    return out


def sdf(rings: list[np.ndarray], left: int, top: int, width: int, height: int) -> bytes:
    """The SDF bitmap ((width + 6) × (height + 6) bytes, rows from the top) of the outline ``rings``."""
    w, h = width + 2 * BUFFER, height + 2 * BUFFER
    xs = left - BUFFER + np.arange(w) + 0.5
    ys = top + BUFFER - np.arange(h) - 0.5
    px, py = np.meshgrid(xs, ys)
    px, py = px.ravel()[:, None], py.ravel()[:, None]
    a = np.vstack([r[:-1] for r in rings])
    b = np.vstack([r[1:] for r in rings])
    ax, ay, bx, by = a[:, 0][None], a[:, 1][None], b[:, 0][None], b[:, 1][None]
    dx, dy = bx - ax, by - ay
    length2 = np.where(dx * dx + dy * dy == 0, 1.0, dx * dx + dy * dy)
    t = np.clip(((px - ax) * dx + (py - ay) * dy) / length2, 0.0, 1.0)
    dist = np.sqrt((px - ax - t * dx) ** 2 + (py - ay - t * dy) ** 2).min(axis=1)
    # Non-zero winding rule (TrueType's): count signed crossings of a ray towards +x.
    upward = (ay <= py) & (by > py)
    downward = (ay > py) & (by <= py)
    cross = (bx - ax) * (py - ay) - (px - ax) * (by - ay)
    winding = (upward & (cross > 0)).sum(axis=1) - (downward & (cross < 0)).sum(axis=1)
    signed = np.where(winding != 0, -dist, dist)
    n = np.clip(signed * (256 / RADIUS) + CUTOFF * 256, 0, 255).astype(np.int64)  # C's truncation, as fontnik
    return bytes((255 - n).astype(np.uint8).tolist())


# Protocol buffers (glyphs.proto: glyphs{1: fontstack{1: name, 2: range, 3: glyph{1 id, 2 bitmap, 3 width,
# 4 height, 5 left (sint32), 6 top (sint32), 7 advance}}}) -------------------------------------------------------
def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _zigzag(n: int) -> int:
    return (n << 1) ^ (n >> 31)


def _field(number: int, value: int | bytes) -> bytes:
    if isinstance(value, bytes):
        return _varint(number << 3 | 2) + _varint(len(value)) + value
    return _varint(number << 3) + _varint(value)


def encode(fontstack: str, start: int, end: int, glyphs: list[dict]) -> bytes:
    body = _field(1, fontstack.encode()) + _field(2, f"{start}-{end}".encode())
    for g in glyphs:
        msg = _field(1, g["id"])
        if g["bitmap"]:
            msg += _field(2, g["bitmap"])
        msg += _field(3, g["width"]) + _field(4, g["height"]) + _field(5, _zigzag(g["left"])) + _field(6, _zigzag(g["top"])) + _field(7, g["advance"])
        body += _field(3, msg)
    return _field(1, body)


def _read_varint(data: bytes, i: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, i


def _fields(data: bytes):  # noqa: ANN202 - yields (number, int | bytes)
    i = 0
    while i < len(data):
        key, i = _read_varint(data, i)
        if key & 7 == 2:
            n, i = _read_varint(data, i)
            yield key >> 3, data[i : i + n]
            i += n
        else:
            value, i = _read_varint(data, i)
            yield key >> 3, value


def decode(data: bytes) -> dict:
    """{"name", "range", "glyphs": {code point: {...}}} of a glyph PBF (for checks and tests)."""
    out: dict = {"name": None, "range": None, "glyphs": {}}
    for number, stack in _fields(data):
        if number != 1:
            continue
        for key, value in _fields(stack):
            if key == 1:
                out["name"] = value.decode()
            elif key == 2:
                out["range"] = value.decode()
            elif key == 3:
                g = {"bitmap": b"", "width": 0, "height": 0, "left": 0, "top": 0, "advance": 0}
                names = {1: "id", 2: "bitmap", 3: "width", 4: "height", 5: "left", 6: "top", 7: "advance"}
                for k, v in _fields(value):
                    g[names.get(k, str(k))] = v
                for k in ("left", "top"):
                    g[k] = (g[k] >> 1) ^ -(g[k] & 1)
                out["glyphs"][g["id"]] = g
    return out


# Fonts → ranges -------------------------------------------------------------------------------------------------
def glyph_range(fonts: list, start: int, end: int) -> list[dict]:  # noqa: ANN001 - fontTools TTFont
    """Glyphs of the code points start..end found in ``fonts`` (first font holding a code point wins)."""
    glyphs = []
    for code in range(start, end + 1):
        if code in LEFT_OUT:
            continue
        font = next((f for f in fonts if code in f.getBestCmap()), None)
        if font is None:
            continue
        name = font.getBestCmap()[code]
        upem = font["head"].unitsPerEm
        scale = SIZE / upem
        # FreeType's size metrics (what fontnik subtracts): the ascender rounded up to whole pixels.
        ascender = math.ceil(font["hhea"].ascent * scale)
        advance = round(font["hmtx"][name][0] * scale)
        rings = _rings(font.getGlyphSet(), name, scale)
        if not rings:
            glyphs.append({"id": code, "bitmap": b"", "width": 0, "height": 0, "left": 0, "top": -ascender, "advance": advance})
            continue
        pts = np.vstack(rings)
        left, bottom = math.floor(pts[:, 0].min()), math.floor(pts[:, 1].min())
        right, top = math.ceil(pts[:, 0].max()), math.ceil(pts[:, 1].max())
        width, height = right - left, top - bottom
        glyphs.append({"id": code, "bitmap": sdf(rings, left, top, width, height), "width": width, "height": height,
                       "left": left, "top": top - ascender, "advance": advance})
    return glyphs


def folder_name(fontstack: str) -> str:
    return fontstack.lower().replace(" ", "-")


def build(package_dir: Path, out: Path = OUT, faces: dict[str, str] = FACES, ranges=RANGES) -> list[Path]:  # noqa: ANN001
    from fontTools.ttLib import TTFont

    files = package_dir / "files"
    written = []
    for fontstack, weight in faces.items():
        fonts = [TTFont(files / f"open-sans-{subset}-{weight}-normal.woff") for subset in ("latin", "latin-ext")]
        target = out / folder_name(fontstack)
        target.mkdir(parents=True, exist_ok=True)
        for start, end in ranges:
            path = target / f"{start}-{end}.pbf"
            path.write_bytes(encode(fontstack, start, end, glyph_range(fonts, start, end)))
            written.append(path)
    shutil.copyfile(package_dir / "LICENSE", out / "OFL.txt")
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package_dir", type=Path, help="folder of the npm package @fontsource/open-sans")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    for path in build(args.package_dir, args.out):
        print(f"{path.relative_to(args.out)}: {path.stat().st_size:,} octets, {len(decode(path.read_bytes())['glyphs'])} glyphes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
