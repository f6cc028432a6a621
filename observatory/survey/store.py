"""Where survey microdata live: ``data/processed/survey/<survey>.parquet`` beside ``<survey>.json``.

The respondents never leave this folder (they are personal data): pages, reports and exports only ever read the
weighted estimates of :mod:`observatory.survey.tables`. Importing a file replaces the waves it holds (a newer
delivery of a wave wins) and keeps the other waves; both files are replaced atomically, the Parquet first, so
a crash leaves the previous import readable. The JSON keeps the profile's definitions (estimation needs them,
not the TOML) and the list of imported files with their checksums.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from observatory.config import Settings
from observatory.fileio import atomic_write, sha256_file
from observatory.survey.profile import SurveyProfile


@dataclass(frozen=True)
class ImportResult:
    survey: str
    file: str
    respondents: int
    waves: tuple[int, ...]
    replaced_waves: tuple[int, ...]
    unchanged: bool = False


def survey_dir(settings: Settings) -> Path:
    return settings.processed_dir / "survey"


def surveys(settings: Settings) -> list[str]:
    folder = survey_dir(settings)
    return sorted(p.stem for p in folder.glob("*.json")) if folder.exists() else []


def read_meta(settings: Settings, survey: str) -> dict:
    path = survey_dir(settings) / f"{survey}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def read_respondents(settings: Settings, survey: str) -> pd.DataFrame:
    path = survey_dir(settings) / f"{survey}.parquet"
    return pd.read_parquet(path) if path.exists() else pd.DataFrame()


def save_import(settings: Settings, profile: SurveyProfile, path: Path, respondents: pd.DataFrame,
                now: datetime | None = None) -> ImportResult:
    """Store a validated file's respondents: its waves replace the stored ones of the same survey."""
    digest = sha256_file(path)
    meta = read_meta(settings, profile.name)
    waves = tuple(sorted(int(w) for w in respondents["wave"].unique()))
    files = meta.get("files", [])
    if any(f["sha256"] == digest and f.get("profile") == profile.as_dict() for f in files):
        return ImportResult(profile.name, path.name, len(respondents), waves, (), unchanged=True)
    previous = read_respondents(settings, profile.name)
    replaced: tuple[int, ...] = ()
    if not previous.empty:
        replaced = tuple(sorted(set(int(w) for w in previous["wave"].unique()) & set(waves)))
        previous = previous[~previous["wave"].isin(waves)]
        combined = pd.concat([previous, respondents], ignore_index=True, sort=False)
    else:
        combined = respondents
    combined = combined.sort_values(["wave", "respondent_id"], kind="stable").reset_index(drop=True)
    buffer = io.BytesIO()
    combined.to_parquet(buffer, index=False)
    folder = survey_dir(settings)
    atomic_write(folder / f"{profile.name}.parquet", buffer.getvalue(), mode=0o600)
    stamp = (now or datetime.now(timezone.utc)).isoformat(timespec="seconds")
    files = [f for f in files if not set(f.get("waves", [])) <= set(waves)] + [
        {"file": path.name, "sha256": digest, "waves": list(waves), "respondents": len(respondents), "imported_at": stamp,
         "profile": profile.as_dict()}
    ]
    meta = {**profile.as_dict(), "files": files}
    atomic_write(folder / f"{profile.name}.json", json.dumps(meta, ensure_ascii=False, indent=2).encode("utf-8"), mode=0o600)
    return ImportResult(profile.name, path.name, len(respondents), waves, replaced)
