"""Official downloads of reference geography, cached under ``data/raw/reference/`` with date and checksum."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from observatory.config import Settings
from observatory.territory.geography import OFFICIAL_BOUNDARY_FILE, TerritoryError, read_boundary_file


@dataclass(frozen=True)
class FetchResult:
    path: Path
    origin: str
    sha256: str
    features: int
    area_km2: float


def download(url: str, timeout: float, max_bytes: int = 200_000_000) -> bytes:
    """GET a URL; raise TerritoryError with a one-line reason on any failure."""
    request = urllib.request.Request(url, headers={"User-Agent": "observatory/0.1 (ODS Lyon)"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - URLs come from Settings
            data = response.read(max_bytes + 1)
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise TerritoryError(f"download failed from {url.split('?')[0]}: {reason}") from None
    if len(data) > max_bytes:
        raise TerritoryError(f"download from {url.split('?')[0]} is larger than {max_bytes} bytes; refused")
    return data


def atomic_write(path: Path, data: bytes) -> None:
    """Write beside the target, sync, then rename over it: readers see the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def fetch_arrondissements(settings: Settings, urls: list[str] | None = None) -> FetchResult:
    """Download the official arrondissements, validate them, and replace the cache only if they are sound.

    Tries each URL in turn (Grand Lyon WFS, then Etalab); the previous cache is untouched on any failure.
    """
    urls = urls or [settings.boundary_url, settings.boundary_fallback_url]
    errors: list[str] = []
    target = settings.reference_dir / OFFICIAL_BOUNDARY_FILE
    for url in urls:
        try:
            data = download(url, settings.download_timeout_s)
            if data[:2] == b"\x1f\x8b":
                data = gzip.decompress(data)
            with tempfile.TemporaryDirectory() as tmp:
                candidate = Path(tmp) / "candidate.geojson"
                candidate.write_bytes(data)
                gdf = read_boundary_file(candidate, origin=url.split("?")[0])
                # Keep only Lyon's nine features: the Etalab file covers all of France.
                compact = gdf.to_json(drop_id=True).encode("utf-8")
        except (TerritoryError, gzip.BadGzipFile, EOFError) as exc:
            errors.append(str(exc))
            continue
        digest = hashlib.sha256(data).hexdigest()
        area = float(gdf.to_crs("EPSG:2154").area.sum() / 1e6)
        atomic_write(target, compact)
        meta = {
            "origin": url.split("?")[0],
            "url": url,
            "downloaded_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "sha256": digest,
            "features": len(gdf),
            "area_km2": round(area, 3),
        }
        atomic_write(target.with_suffix(".json"), json.dumps(meta, indent=2).encode("utf-8"))
        return FetchResult(target, meta["origin"], digest, len(gdf), area)
    raise TerritoryError("; ".join(errors) + " — the previous cache is untouched")
