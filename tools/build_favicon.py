"""Build the dashboard's favicon (dev-time tool, run once; its output is committed).

Dash serves its own 15 kB icon at ``/_favicon.ico`` unless ``assets/favicon.ico`` exists, and Chromium fetches it
on every first visit (twice: the page's link and the tab). This one is a 32 × 32 PNG inside an ICO: the house's
blue disc with a white ring (an observatory's lens), drawn with anti-aliased edges, ~0.5 kB::

    .venv/bin/python tools/build_favicon.py
"""

from __future__ import annotations

import math
import struct
import zlib
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "observatory" / "dashboard" / "assets" / "favicon.ico"
SIZE = 32
BLUE, WHITE = (0x1F, 0x5F, 0x99), (0xFF, 0xFF, 0xFF)


def _coverage(d: float) -> float:
    """Share of a pixel inside an edge at signed distance ``d`` (px, negative inside)."""
    return min(1.0, max(0.0, 0.5 - d))


def pixels() -> bytes:
    rows = []
    c = (SIZE - 1) / 2
    for y in range(SIZE):
        row = bytearray([0])  # PNG filter type 0 for the row
        for x in range(SIZE):
            r = math.hypot(x - c, y - c)
            disc = _coverage(r - 15.5)
            ring = _coverage(abs(r - 8.5) - 2.5)  # a white ring 5 px wide
            rgb = tuple(round(b * (1 - ring) + w * ring) for b, w in zip(BLUE, WHITE))
            row += bytes([*rgb, round(255 * disc)])
        rows.append(bytes(row))
    return b"".join(rows)


def png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(pixels(), 9)) + chunk(b"IEND", b"")


def ico(image: bytes) -> bytes:
    # ICONDIR (reserved, type 1 = icon, one image) + ICONDIRENTRY (32 × 32, PNG payload right after the header).
    return struct.pack("<HHH", 0, 1, 1) + struct.pack("<BBBBHHII", SIZE, SIZE, 0, 0, 1, 32, len(image), 22) + image


def main() -> None:
    OUT.write_bytes(ico(png()))
    print(f"{OUT.name}: {OUT.stat().st_size} bytes")


if __name__ == "__main__":
    main()
