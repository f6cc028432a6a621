"""The published table of aggregated partner counts (MJD, victim support, elucidation), under ``data/processed/agregats/``.

Same promises as the incident snapshots (DESIGN.md §5), on their own table:

* a version is a folder ``versions/<id>/`` (``cells.parquet``, ``quarantine.parquet``, ``manifest.json``)
  written aside under a temporary name, fsynced, renamed, and only then made current by atomically rewriting
  the pointer ``CURRENT``: a crash at any moment leaves the previous version readable;
* every input row ends in exactly one place: ``read = accepted + quarantined`` per file, in the manifest;
* the same file twice (same checksum, same source) changes nothing; a newer extract that repeats a cell
  (source, indicator, category, arrondissement, month) replaces it — latest extraction wins — and the
  replacement is counted;
* a file with more than ``quarantine_max_share`` of quarantined rows is refused as a whole, nothing published;
* the last ``keep_snapshots`` versions are kept.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timezone
from pathlib import Path

import pandas as pd

from observatory.config import Settings
from observatory.fileio import atomic_write, sha256_file
from observatory.means import sources as src

STORE_DIR = "agregats"
POINTER = "CURRENT"
KEY = ["source", "indicator", "category", "arrondissement", "month"]


@dataclass
class AggregateFileReport:
    file: str
    sha256: str
    read: int = 0
    accepted: int = 0
    quarantined: int = 0
    replaced: int = 0
    unmapped_categories: dict = field(default_factory=dict)
    status: str = "accepted"  # accepted, already_ingested, refused
    message: str = ""

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class AggregateIngestResult:
    source: str
    version: str | None
    files: list[AggregateFileReport]

    @property
    def published(self) -> bool:
        return self.version is not None


def store_dir(settings: Settings) -> Path:
    return settings.processed_dir / STORE_DIR


def current_version(settings: Settings) -> str | None:
    pointer = store_dir(settings) / POINTER
    if not pointer.exists():
        return None
    vid = pointer.read_text(encoding="utf-8").strip()
    return vid if vid and (store_dir(settings) / "versions" / vid / "manifest.json").exists() else None


def _empty_cells() -> pd.DataFrame:
    return pd.DataFrame({"source": pd.Series(dtype=str), "indicator": pd.Series(dtype=str), "category": pd.Series(dtype=str),
                         "arrondissement": pd.Series(dtype=str), "month": pd.Series(dtype="datetime64[us]"),
                         "count": pd.Series(dtype="int64"), "source_file": pd.Series(dtype=str), "source_row": pd.Series(dtype="int64"),
                         "extracted_at": pd.Series(dtype="datetime64[us]")})


def _empty_quarantine() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=str) for c in ("source", "file", "column", "reason", "original")}).assign(row=pd.Series(dtype="int64"))


def read_cells(settings: Settings, version: str | None = None) -> pd.DataFrame:
    """The published cells (empty frame with the columns when nothing was published)."""
    version = version or current_version(settings)
    if version is None:
        return _empty_cells()
    df = pd.read_parquet(store_dir(settings) / "versions" / version / "cells.parquet")
    df["month"] = pd.to_datetime(df["month"])
    return df


def read_quarantine(settings: Settings) -> pd.DataFrame:
    version = current_version(settings)
    if version is None:
        return _empty_quarantine()
    return pd.read_parquet(store_dir(settings) / "versions" / version / "quarantine.parquet")


def read_manifest(settings: Settings, version: str | None = None) -> dict:
    version = version or current_version(settings)
    if version is None:
        return {"version": None, "files": []}
    return json.loads((store_dir(settings) / "versions" / version / "manifest.json").read_text(encoding="utf-8"))


@contextmanager
def _lock(settings: Settings) -> Iterator[None]:
    folder = store_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def merge_cells(current: pd.DataFrame, new: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Latest extraction wins per cell key; returns (merged, number of current cells replaced). Pure."""
    if new.empty:
        return current, 0
    if current.empty:
        return new.reset_index(drop=True), 0
    both = pd.concat([current.assign(_new=False), new.assign(_new=True)], ignore_index=True)
    # Ties go to the new file: a corrected extract sent with the same date replaces the first one.
    both = both.sort_values(["extracted_at", "_new"], kind="stable")
    dup = both.duplicated(KEY, keep="last")
    replaced = int((dup & ~both["_new"]).sum())
    merged = both[~dup].drop(columns="_new").sort_values(KEY).reset_index(drop=True)
    return merged, replaced


def _fsync_tree(folder: Path) -> None:
    for path in folder.iterdir():
        with open(path, "rb") as fh:
            os.fsync(fh.fileno())
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _publish(settings: Settings, cells: pd.DataFrame, quarantine: pd.DataFrame, manifest: dict, now: datetime) -> str:
    versions = store_dir(settings) / "versions"
    versions.mkdir(parents=True, exist_ok=True)
    vid = now.strftime("%Y%m%dT%H%M%S%fZ")
    while (versions / vid).exists():
        vid += "b"
    tmp = versions / f".{vid}.tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    cells.to_parquet(tmp / "cells.parquet", index=False)
    quarantine.to_parquet(tmp / "quarantine.parquet", index=False)
    (tmp / "manifest.json").write_text(json.dumps({**manifest, "version": vid}, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    _fsync_tree(tmp)
    os.replace(tmp, versions / vid)
    atomic_write(store_dir(settings) / POINTER, vid.encode("utf-8"))
    kept = sorted(p for p in versions.iterdir() if p.is_dir() and not p.name.startswith("."))
    for stale in kept[: -max(1, settings.keep_snapshots)]:
        shutil.rmtree(stale, ignore_errors=True)
    return vid


def ingest_aggregates(settings: Settings, files: list[Path], source: str, *, now: datetime | None = None) -> AggregateIngestResult:
    """Read, map, validate and publish aggregated extracts of one source (see the module docstring)."""
    from observatory.etl.read import InputError, read_file

    profile = src.load_aggregate_profile(settings, source)
    now = now or datetime.now(UTC).replace(tzinfo=None)
    reports: list[AggregateFileReport] = []
    with _lock(settings):
        manifest = read_manifest(settings)
        ledger = {(f["source"], f["sha256"]) for f in manifest.get("files", []) if f.get("status") == "accepted"}
        cells = read_cells(settings)
        quarantine = read_quarantine(settings)
        new_files = []
        changed = False
        for path in files:
            path = Path(path)
            report = AggregateFileReport(file=path.name, sha256=sha256_file(path))
            reports.append(report)
            if (profile.name, report.sha256) in ledger:
                report.status, report.message = "already_ingested", "fichier déjà intégré (même contenu) : rien à faire"
                continue
            try:
                raw = read_file(path, profile.reader_profile())
            except InputError as exc:
                report.status, report.message = "refused", f"{path.name} : {exc}"
                continue
            table = raw.table.to_pandas() if raw.table.num_rows else pd.DataFrame(columns=raw.header)
            mapped, bad = src.map_rows(table, raw.lines, profile, path.name)
            malformed = pd.DataFrame([{"file": path.name, "row": int(m["row"]), "column": "", "reason": m["reason"], "original": m.get("original", "")}
                                      for m in raw.malformed], columns=bad.columns)
            bad = pd.concat([bad, malformed], ignore_index=True) if len(malformed) else bad
            report.read, report.accepted, report.quarantined = raw.rows_read, len(mapped), len(bad)
            unmapped = mapped.loc[mapped["category"] == "non_classe", "raw_category"]
            report.unmapped_categories = {str(k): int(v) for k, v in unmapped.value_counts().items()}
            if report.read and report.quarantined / report.read > settings.quarantine_max_share:
                first = bad.iloc[0]
                report.status = "refused"
                report.message = (f"{path.name} refusé : {report.quarantined} ligne(s) sur {report.read} en quarantaine "
                                  f"(plus de {settings.quarantine_max_share * 100:g} %) ; première : ligne {first['row']}, colonne « {first['column']} » : {first['reason']}")
                continue
            mapped = mapped.drop(columns="raw_category").assign(extracted_at=pd.Timestamp(src.extraction_date(path, profile, now)))
            cells, replaced = merge_cells(cells, mapped)
            report.replaced = replaced
            if len(bad):
                quarantine = pd.concat([quarantine, bad.assign(source=profile.name)], ignore_index=True)
            ledger.add((profile.name, report.sha256))
            new_files.append(report)
            changed = True
        version = None
        if changed:
            entries = manifest.get("files", []) + [{**r.as_dict(), "source": profile.name, "ingested_at": now.isoformat()} for r in new_files]
            cells = cells.astype({"count": "int64", "source_row": "int64"})
            version = _publish(settings, cells, quarantine.astype({"row": "int64"}), {"files": entries, "published_at": now.isoformat()}, now)
    return AggregateIngestResult(profile.name, version, reports)
