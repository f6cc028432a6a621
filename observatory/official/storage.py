"""Parquet storage of the official statistics, beside the incidents, with its own manifest.

Layout under ``settings.processed_dir / "official"``: one Parquet file per edition, named with the checksum of
its source (``ssmsi_2026_<sha12>.parquet``), and ``manifest.json`` pointing at the file of each edition.
The Parquet file is written first, then the manifest swapped atomically: a crash leaves the previous state
readable. Reading defaults to the newest edition, because each edition republishes (and may revise) the
whole history: years are never mixed across editions.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Iterable

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from observatory.fileio import sha256_file as _sha256_file
from observatory.config import Settings
from observatory.fileio import atomic_write as _atomic_write
from observatory.official import model as m
from observatory.official.model import OfficialError

MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1


def official_store_dir(settings: Settings) -> Path:
    return settings.processed_dir / "official"


file_sha256 = _sha256_file  # observatory.fileio.sha256_file


def read_manifest(settings: Settings) -> dict[str, Any]:
    """The manifest (``{"format": 1, "editions": {"2026": {...}}}``); an empty one when nothing is imported."""
    path = official_store_dir(settings) / MANIFEST
    if not path.exists():
        return {"format": MANIFEST_FORMAT, "editions": {}}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise OfficialError(f"{path.name} : manifeste des statistiques officielles illisible ({exc})") from None
    data.setdefault("editions", {})
    return data


def editions(settings: Settings) -> list[int]:
    """Imported editions, oldest first."""
    return sorted(int(e) for e in read_manifest(settings)["editions"])


def edition_info(settings: Settings, edition: int | None = None) -> dict[str, Any] | None:
    """Manifest entry of one edition (the newest by default), or None when nothing is imported."""
    manifest = read_manifest(settings)["editions"]
    if not manifest:
        return None
    key = str(edition if edition is not None else max(int(e) for e in manifest))
    return manifest.get(key)


def write_edition(settings: Settings, frame: pd.DataFrame, entry: dict[str, Any]) -> Path:
    """Store one edition's rows and record ``entry`` (edition, production date, rows…) in the manifest."""
    edition = int(entry["edition"])
    folder = official_store_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"ssmsi_{edition}_{entry['sha256'][:12]}.parquet"
    table = pa.Table.from_pandas(frame.loc[:, list(m.OFFICIAL_COLUMNS)], schema=m.OFFICIAL_SCHEMA, preserve_index=False)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
    os.close(fd)
    try:
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, folder / name)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    manifest = read_manifest(settings)
    manifest["format"] = MANIFEST_FORMAT
    manifest["editions"][str(edition)] = {**entry, "file": name}
    _atomic_write(folder / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False, default=str).encode("utf-8"))
    # Files no edition points to any more (an edition re-imported from a newer file) are removed last.
    referenced = {e["file"] for e in manifest["editions"].values()}
    for old in folder.glob("ssmsi_*.parquet"):
        if old.name not in referenced:
            old.unlink(missing_ok=True)
    return folder / name


def empty_official() -> pd.DataFrame:
    return _typed(m.OFFICIAL_SCHEMA.empty_table().to_pandas())


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    # Nullable integers keep "not diffused" as <NA> instead of turning counts into floats.
    casts = {m.COUNT: "Int64", m.POPULATION: "Int64", m.DWELLINGS: "Int64", m.POPULATION_YEAR: "Int16",
             m.DWELLINGS_YEAR: "Int16", m.RATE_CONSISTENT: "boolean", m.YEAR: "int16", m.EDITION: "int16"}
    return frame.astype({k: v for k, v in casts.items() if k in frame.columns})


def read_official(
    settings: Settings,
    edition: int | None = None,
    codes: Iterable[str] | None = None,
    years: Iterable[int] | None = None,
    indicators: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Official rows of one edition (the newest by default), optionally restricted; empty when nothing is imported.

    Columns: ``model.OFFICIAL_COLUMNS``. ``count`` and ``rate`` are <NA> where the SSMSI does not diffuse.
    """
    info = edition_info(settings, edition)
    if info is None:
        if edition is not None and editions(settings):
            raise OfficialError(f"édition {edition} non importée (éditions disponibles : {', '.join(map(str, editions(settings)))})")
        return empty_official()
    path = official_store_dir(settings) / info["file"]
    frame = _read_parquet_cached(str(path), path.stat().st_mtime_ns if path.exists() else 0)
    if frame is None:
        raise OfficialError(f"{path.name} : fichier des statistiques officielles absent ; relancez « observatory official import »")
    mask = pd.Series(True, index=frame.index)
    if codes is not None:
        mask &= frame[m.CODE].isin([str(c) for c in codes])
    if years is not None:
        mask &= frame[m.YEAR].isin([int(y) for y in years])
    if indicators is not None:
        mask &= frame[m.INDICATOR].isin(list(indicators))
    return frame.loc[mask].reset_index(drop=True)


_CACHE: dict[str, tuple[int, pd.DataFrame]] = {}


def _read_parquet_cached(path: str, mtime: int) -> pd.DataFrame | None:
    # The dashboard reads the same small file on every callback: keep it per (path, mtime).
    hit = _CACHE.get(path)
    if hit and hit[0] == mtime:
        return hit[1].copy()
    if not os.path.exists(path):
        return None
    frame = _typed(pq.read_table(path).to_pandas())
    _CACHE.clear()
    _CACHE[path] = (mtime, frame)
    return frame.copy()


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def iso_date(value: date | datetime | str | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, (date, datetime)):
        return value.strftime("%Y-%m-%d")
    return str(value)[:10]
