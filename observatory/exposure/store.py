"""Where exposure series live: ``data/processed/exposure/<series>.parquet`` beside ``<series>.json``.

Importing a file replaces the periods it holds for its series (a newer delivery of a month wins) and keeps the
others. Both files are written aside and renamed over the old ones (Parquet first, then the JSON that points to
what it holds), so a crash leaves the previous import readable. The JSON keeps the profile's definition (kind,
source, vintage, categories: the rates need them, not the TOML) and each imported file with its checksum and its
row accounting (``read = kept + ignored``).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from observatory.config import Settings
from observatory.exposure.format import COLUMNS
from observatory.exposure.profiles import ExposureProfile
from observatory.exposure.validation import ReadResult
from observatory.fileio import atomic_write, sha256_file


@dataclass(frozen=True)
class ImportResult:
    series: str
    file: str
    read: int
    kept: int
    ignored: int
    first: str
    last: str
    replaced_rows: int = 0
    unchanged: bool = False


def exposure_dir(settings: Settings) -> Path:
    return settings.processed_dir / "exposure"


def series_names(settings: Settings) -> list[str]:
    folder = exposure_dir(settings)
    return sorted(p.stem for p in folder.glob("*.json")) if folder.exists() else []


def read_meta(settings: Settings, series: str) -> dict:
    path = exposure_dir(settings) / f"{series}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def read_series(settings: Settings, series: str) -> pd.DataFrame:
    path = exposure_dir(settings) / f"{series}.parquet"
    if not path.exists():
        return pd.DataFrame(columns=list(COLUMNS))
    frame = pd.read_parquet(path)
    for col in ("period_start", "period_end"):
        frame[col] = pd.to_datetime(frame[col]).dt.date
    return frame


def read_all(settings: Settings) -> tuple[pd.DataFrame, dict[str, dict]]:
    """Every stored series in one canonical table, and each series' definition by name."""
    metas = {name: read_meta(settings, name) for name in series_names(settings)}
    frames = [read_series(settings, name) for name in metas]
    frames = [f for f in frames if len(f)]
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(COLUMNS))
    return table, metas


def save_import(settings: Settings, profile: ExposureProfile, path: Path, result: ReadResult,
                now: datetime | None = None) -> ImportResult:
    """Store a validated file: its periods replace the stored ones of the same series."""
    digest = sha256_file(path)
    meta = read_meta(settings, profile.name)
    table = result.table
    first, last = str(min(table["period_start"])), str(max(table["period_end"]))
    files = meta.get("files", [])
    if any(f["sha256"] == digest and meta.get("definition") == profile.as_meta() for f in files):
        return ImportResult(profile.name, path.name, result.read, len(table), result.ignored, first, last, unchanged=True)
    previous = read_series(settings, profile.name)
    periods = set(table["period_start"])
    replaced = previous[previous["period_start"].isin(periods)]
    kept = previous[~previous["period_start"].isin(periods)]
    combined = pd.concat([kept, table], ignore_index=True) if len(kept) else table
    combined = combined.sort_values(["unit", "detail", "period_start", "hour_band"], kind="stable").reset_index(drop=True)
    buffer = io.BytesIO()
    combined.to_parquet(buffer, index=False)
    folder = exposure_dir(settings)
    atomic_write(folder / f"{profile.name}.parquet", buffer.getvalue())
    stamp = (now or datetime.now(timezone.utc)).isoformat(timespec="seconds")
    files = [f for f in files if f.get("file") != path.name or f.get("sha256") == digest] + [
        {"file": path.name, "sha256": digest, "read": result.read, "kept": len(table), "ignored": result.ignored,
         "first": first, "last": last, "imported_at": stamp}
    ]
    new_meta = {"definition": profile.as_meta(), "files": files}
    atomic_write(folder / f"{profile.name}.json", json.dumps(new_meta, ensure_ascii=False, indent=2).encode("utf-8"))
    return ImportResult(profile.name, path.name, result.read, len(table), result.ignored, first, last, replaced_rows=len(replaced))
