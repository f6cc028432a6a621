"""Snapshots of canonical incidents: Parquet + manifest, atomic publish, ingest ledger, quarantine.

Layout under ``settings.processed_dir``::

    CURRENT                         one line: the id of the current snapshot (replaced atomically)
    snapshots/<id>/manifest.json    snapshot id, parent, files with sha256 and rows, per-file accounting, ledger
    snapshots/<id>/incidents/year=YYYY/part-0.parquet   zstd, sorted by occurred_at
    snapshots/<id>/quarantine/<batch>.parquet           quarantined rows of every accepted file so far
    snapshots/.tmp-<id>/            a snapshot being written (removed on the next ingest if a crash left it)
    refused.jsonl                   files refused as a whole (nothing published for them)
    .lock                           held by the ingest that is writing

The ledger (checksums of every ingested file) lives in the manifest, so it changes atomically with the data it
describes: a crash can never leave a file recorded as ingested without its incidents, or the reverse.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from observatory.fileio import sha256_file as _sha256_file
from observatory.config import Settings
from observatory.schema import INCIDENT_SCHEMA, OCCURRED_AT, SCHEMA_VERSION

CURRENT_FILE = "CURRENT"
SNAPSHOTS_DIR = "snapshots"
MANIFEST_FILE = "manifest.json"
REFUSED_FILE = "refused.jsonl"
LOCK_FILE = ".lock"
TMP_PREFIX = ".tmp-"
ZSTD_LEVEL = 1  # measured: level 1 writes faster than the default 3 for a few % more bytes
ROW_GROUP_SIZE = 100_000
# Dictionary pages only for low-cardinality columns (on ids and coordinates they are built then dropped: measured
# 1.09 s → 0.75 s and 49 → 38 MB for 1e6 incidents with the statistics below); min/max statistics on the
# columns queries filter on, so DuckDB can skip row groups.
DICTIONARY_COLUMNS = [
    "source", "time_precision", "category", "family", "raw_label", "place_type", "place_name", "location_quality",
    "arrondissement", "declared_arrondissement", "iris", "zones", "grid_cell", "n_facts", "year", "extracted_at",
    "batch_id", "source_file", "arrondissement_mismatch",
]
# Coordinates are near-random doubles: byte-stream-split lets zstd see their similar high bytes (measured: write
# 6 % faster and 5 % smaller files; read by pyarrow and DuckDB).
BYTE_STREAM_SPLIT_COLUMNS = ["lon", "lat", "x", "y"]
STATISTICS_COLUMNS = ["occurred_at", "year", "source", "category", "family", "arrondissement", "location_quality", "time_precision", "extracted_at"]  # small enough for DuckDB to skip row groups on date filters, large enough to compress well

QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("batch_id", pa.string()),
        pa.field("source", pa.string()),
        pa.field("source_file", pa.string()),
        pa.field("source_row", pa.int64()),
        pa.field("column", pa.string()),
        pa.field("reason", pa.string()),
        pa.field("original", pa.string()),
        pa.field("quarantined_at", pa.timestamp("us", tz="UTC")),
    ]
)

HISTORY_COLUMNS = [
    "snapshot_id", "ingested_at", "source", "source_file", "sha256", "rows_read", "accepted", "quarantined",
    "duplicates", "revisions", "unmapped_labels", "refused", "message", "unpublished", "profile_digest",
]


class StoreError(RuntimeError):
    """The store on disk cannot be used as it is; the message says what is wrong."""


@dataclass(frozen=True)
class Snapshot:
    id: str
    path: Path
    created_at: datetime
    manifest: dict

    @property
    def incident_files(self) -> list[Path]:
        return [self.path / f["path"] for f in self.manifest.get("files", [])]

    @property
    def incidents_glob(self) -> str:
        """Glob of the incident Parquet files (hive-partitioned by year), e.g. for DuckDB ``read_parquet``."""
        return str(self.path / "incidents" / "*" / "*.parquet")

    @property
    def row_count(self) -> int:
        return int(sum(f["rows"] for f in self.manifest.get("files", [])))

    @property
    def ledger(self) -> list[dict]:
        return list(self.manifest.get("ledger", []))

    def read_incidents(self, columns: list[str] | None = None, filters: Any = None) -> pa.Table:
        """All incidents of the snapshot as one Arrow table with the canonical schema."""
        return read_incident_files(self.incident_files, columns=columns, filters=filters)


def read_incident_files(files: list[Path], columns: list[str] | None = None, filters: Any = None) -> pa.Table:
    schema = INCIDENT_SCHEMA if columns is None else pa.schema([INCIDENT_SCHEMA.field(c) for c in columns])
    if not files:
        return schema.empty_table()
    tables = [pq.read_table(f, columns=columns, filters=filters, schema=None) for f in files]
    return pa.concat_tables([t.cast(schema) for t in tables])


# Paths --------------------------------------------------------------------------------------------------------
def snapshots_dir(settings: Settings) -> Path:
    return settings.processed_dir / SNAPSHOTS_DIR


def _load_snapshot(path: Path) -> Snapshot | None:
    manifest_path = path / MANIFEST_FILE
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    created = datetime.fromisoformat(manifest["created_at"])
    return Snapshot(id=manifest["snapshot_id"], path=path, created_at=created, manifest=manifest)


def current_snapshot_id(settings: Settings) -> str | None:
    pointer = settings.processed_dir / CURRENT_FILE
    try:
        text = pointer.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return text or None


def current_snapshot(settings: Settings) -> Snapshot | None:
    """The snapshot the pointer file names, or None before the first ingest."""
    sid = current_snapshot_id(settings)
    if sid is None:
        return None
    snap = _load_snapshot(snapshots_dir(settings) / sid)
    if snap is None:
        raise StoreError(f"{settings.processed_dir / CURRENT_FILE} names snapshot {sid!r} but its manifest is missing or unreadable")
    return snap


def list_snapshots(settings: Settings) -> list[Snapshot]:
    """Every complete snapshot on disk, oldest first (ids sort by creation time)."""
    base = snapshots_dir(settings)
    if not base.exists():
        return []
    out = []
    for child in sorted(base.iterdir()):
        if child.name.startswith(".") or not child.is_dir():
            continue
        snap = _load_snapshot(child)
        if snap is not None:
            out.append(snap)
    return out


def snapshot_as_of(settings: Settings, when: datetime) -> Snapshot | None:
    """The latest snapshot created at or before ``when`` (to reproduce a diagnostic as it was)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    candidates = [s for s in list_snapshots(settings) if s.created_at <= when]
    return candidates[-1] if candidates else None


def read_quarantine(settings: Settings, snapshot: Snapshot | None = None) -> pd.DataFrame:
    """Quarantined rows of every file accepted into the current snapshot (empty frame before the first)."""
    snap = snapshot or current_snapshot(settings)
    empty = QUARANTINE_SCHEMA.empty_table().to_pandas()
    if snap is None:
        return empty
    files = sorted((snap.path / "quarantine").glob("*.parquet"))
    if not files:
        return empty
    table = pa.concat_tables([pq.read_table(f).cast(QUARANTINE_SCHEMA) for f in files])
    return table.to_pandas().sort_values(["quarantined_at", "source_file", "source_row"], kind="stable").reset_index(drop=True)


def read_refused(settings: Settings) -> list[dict]:
    path = settings.processed_dir / REFUSED_FILE
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue  # a torn last line after a crash: the refusal will be recorded again on the next attempt
    return out


def ingest_history(settings: Settings) -> pd.DataFrame:
    """One row per ingested (or refused) input file, oldest first."""
    rows: list[dict] = []
    snap = current_snapshot(settings)
    if snap is not None:
        rows.extend(snap.ledger)
    rows.extend(read_refused(settings))
    df = pd.DataFrame([{c: r.get(c) for c in HISTORY_COLUMNS} for r in rows], columns=HISTORY_COLUMNS)
    if df.empty:
        return df.astype({"rows_read": "int64", "refused": "bool"})
    df["ingested_at"] = pd.to_datetime(df["ingested_at"], utc=True, format="ISO8601")
    for col in ("rows_read", "accepted", "quarantined", "duplicates", "revisions", "unmapped_labels", "unpublished"):
        df[col] = df[col].fillna(0).astype("int64")
    df["refused"] = df["refused"].fillna(False).astype(bool)
    return df.sort_values("ingested_at", kind="stable").reset_index(drop=True)


# Crash testing hook ------------------------------------------------------------------------------------------
_KILL_ENV = "OBSERVATORY_TEST_KILL_AT"
_checkpoints_seen = 0


def checkpoint(name: str) -> None:
    """A named point of the write path. No-op unless the crash-safety test sets OBSERVATORY_TEST_KILL_AT=N,
    in which case the process SIGKILLs itself at the N-th checkpoint (a deterministic, seeded crash)."""
    global _checkpoints_seen
    target = os.environ.get(_KILL_ENV)
    if not target:
        return
    _checkpoints_seen += 1
    if _checkpoints_seen == int(target):
        import signal

        os.kill(os.getpid(), signal.SIGKILL)


# Writing ------------------------------------------------------------------------------------------------------
def new_snapshot_id(now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    return now.strftime("%Y%m%dT%H%M%S%fZ")


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


sha256_file = _sha256_file  # observatory.fileio.sha256_file


@contextlib.contextmanager
def write_lock(settings: Settings) -> Iterator[None]:
    """Exclusive lock on the store: two ingests never write at the same time (released by the OS on a crash)."""
    settings.processed_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(settings.processed_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StoreError("une autre intégration est en cours sur ce dossier de données ; réessayez quand elle est finie") from None
        yield
    finally:
        os.close(fd)


def clean_leftovers(settings: Settings) -> list[str]:
    """Remove what a crashed ingest left: temp dirs and complete snapshots never made current. Call under the lock."""
    base = snapshots_dir(settings)
    removed: list[str] = []
    if not base.exists():
        return removed
    current = current_snapshot_id(settings)
    for child in base.iterdir():
        if child.name.startswith(TMP_PREFIX) or (child.is_dir() and not child.name.startswith(".") and current is not None and child.name > current):
            shutil.rmtree(child, ignore_errors=True)
            removed.append(child.name)
        elif current is None and child.is_dir() and not child.name.startswith("."):
            # No pointer yet: any snapshot dir is an unpublished leftover.
            shutil.rmtree(child, ignore_errors=True)
            removed.append(child.name)
    tmp_pointer = settings.processed_dir / (CURRENT_FILE + ".tmp")
    if tmp_pointer.exists():
        tmp_pointer.unlink()
    return removed


class SnapshotWriter:
    """Builds a snapshot aside (``snapshots/.tmp-<id>``) and publishes it by swapping the pointer file."""

    def __init__(self, settings: Settings, snapshot_id: str, parent: Snapshot | None):
        self.settings = settings
        self.id = snapshot_id
        self.parent = parent
        self.base = snapshots_dir(settings)
        self.tmp = self.base / (TMP_PREFIX + snapshot_id)
        self.final = self.base / snapshot_id
        self.files: list[dict] = []
        self.tmp.mkdir(parents=True, exist_ok=False)
        (self.tmp / "incidents").mkdir()
        (self.tmp / "quarantine").mkdir()

    # incidents
    def write_year(self, year: int, table: pa.Table, presorted: bool = False) -> None:
        """Write one year partition, sorted by occurred_at, zstd, modest row groups."""
        rel = Path("incidents") / f"year={year}" / "part-0.parquet"
        path = self.tmp / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        table = table.cast(INCIDENT_SCHEMA)
        if not presorted:
            table = table.sort_by([(OCCURRED_AT, "ascending")])
        pq.write_table(table, path, compression="zstd", compression_level=ZSTD_LEVEL, row_group_size=ROW_GROUP_SIZE,
                       use_dictionary=DICTIONARY_COLUMNS, write_statistics=STATISTICS_COLUMNS, use_byte_stream_split=BYTE_STREAM_SPLIT_COLUMNS)
        checkpoint("year_written")
        _fsync_file(path)
        self.files.append({"path": rel.as_posix(), "year": int(year), "rows": table.num_rows, "sha256": sha256_file(path)})
        checkpoint("year_synced")

    def write_year_stream(self, year: int, tables: Iterator[pa.Table]) -> None:
        """Write one year partition from pieces already in time order, one after the other (memory: a piece and
        one row group), with the same row groups and writer settings as :meth:`write_year`."""
        rel = Path("incidents") / f"year={year}" / "part-0.parquet"
        path = self.tmp / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = 0
        pending: list[pa.Table] = []
        held = 0
        with pq.ParquetWriter(path, INCIDENT_SCHEMA, compression="zstd", compression_level=ZSTD_LEVEL, use_dictionary=DICTIONARY_COLUMNS,
                              write_statistics=STATISTICS_COLUMNS, use_byte_stream_split=BYTE_STREAM_SPLIT_COLUMNS) as out:
            for piece in tables:
                if piece.num_rows == 0:
                    continue
                pending.append(piece.cast(INCIDENT_SCHEMA))
                held += piece.num_rows
                if held >= ROW_GROUP_SIZE:
                    # Whole row groups only, so the groups fall where write_year puts them; the rest waits.
                    whole = held - held % ROW_GROUP_SIZE
                    table = pa.concat_tables(pending)
                    out.write_table(table.slice(0, whole), row_group_size=ROW_GROUP_SIZE)
                    rows += whole
                    pending = [table.slice(whole)] if held > whole else []
                    held -= whole
            if held:
                out.write_table(pa.concat_tables(pending), row_group_size=ROW_GROUP_SIZE)
                rows += held
        if rows == 0:  # every row of the year was replaced: no partition, as write_years does
            path.unlink()
            return
        checkpoint("year_written")
        _fsync_file(path)
        self.files.append({"path": rel.as_posix(), "year": int(year), "rows": rows, "sha256": sha256_file(path)})
        checkpoint("year_synced")

    def write_years(self, parts: list[tuple[int, Any]], presorted: bool = False, workers: int = 2) -> None:
        """Write several year partitions, ``workers`` at a time (pyarrow releases the GIL while encoding).

        Each part is a table or a callable returning one (so the building work runs in the threads too).
        """
        def one(year: int, table: Any) -> None:
            table = table() if callable(table) else table
            if table.num_rows:
                self.write_year(year, table, presorted)

        if len(parts) <= 1 or workers <= 1:
            for year, table in parts:
                one(year, table)
            return
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=workers) as pool:
            for fut in [pool.submit(one, year, table) for year, table in parts]:
                fut.result()

    def link_year(self, parent_file: dict) -> None:
        """Reuse an unchanged partition of the parent by hard link (falls back to a copy across filesystems)."""
        assert self.parent is not None
        src = self.parent.path / parent_file["path"]
        dst = self.tmp / parent_file["path"]
        dst.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)
            _fsync_file(dst)
        self.files.append(dict(parent_file))

    # quarantine
    def carry_quarantine(self) -> None:
        if self.parent is None:
            return
        for src in sorted((self.parent.path / "quarantine").glob("*.parquet")):
            try:
                os.link(src, self.tmp / "quarantine" / src.name)
            except OSError:
                shutil.copy2(src, self.tmp / "quarantine" / src.name)

    def write_quarantine(self, name: str, table: pa.Table) -> None:
        path = self.tmp / "quarantine" / f"{name}.parquet"
        # A file read again (--reprocess, corrected profile) replaces its carried quarantine; the carried copy is a
        # hard link to the parent's file, so it is unlinked, never written through.
        path.unlink(missing_ok=True)
        if table.num_rows == 0:
            return
        pq.write_table(table.cast(QUARANTINE_SCHEMA), path, compression="zstd")
        _fsync_file(path)

    # publish
    def publish(self, manifest: dict) -> Snapshot:
        """Manifest, fsync, rename into place, then atomically replace the pointer file."""
        manifest = {
            **manifest,
            "snapshot_id": self.id,
            "parent": self.parent.id if self.parent else None,
            "schema_version": SCHEMA_VERSION,
            "files": sorted(self.files, key=lambda f: f["year"]),
        }
        manifest_path = self.tmp / MANIFEST_FILE
        manifest_path.write_text(json.dumps(manifest, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
        checkpoint("manifest_written")
        _fsync_file(manifest_path)
        for d in [self.tmp, self.tmp / "incidents", self.tmp / "quarantine", *(self.tmp / "incidents").iterdir()]:
            _fsync_dir(d)
        checkpoint("synced")
        os.rename(self.tmp, self.final)
        checkpoint("renamed")
        _fsync_dir(self.base)
        write_pointer(self.settings, self.id)
        snap = _load_snapshot(self.final)
        assert snap is not None
        return snap

    def abandon(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def write_pointer(settings: Settings, snapshot_id: str) -> None:
    """Write temp + fsync + os.replace + fsync dir: readers see the old id or the new one, never a torn file."""
    pointer = settings.processed_dir / CURRENT_FILE
    tmp = settings.processed_dir / (CURRENT_FILE + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(snapshot_id + "\n")
        checkpoint("pointer_tmp_written")
        fh.flush()
        os.fsync(fh.fileno())
    checkpoint("pointer_tmp_synced")
    os.replace(tmp, pointer)
    checkpoint("pointer_replaced")
    _fsync_dir(settings.processed_dir)


def prune_snapshots(settings: Settings) -> list[str]:
    """Keep the last ``settings.keep_snapshots`` snapshots (never the current one); return the removed ids."""
    keep = max(1, int(settings.keep_snapshots))
    snaps = list_snapshots(settings)
    current = current_snapshot_id(settings)
    removed = []
    for snap in snaps[:-keep] if len(snaps) > keep else []:
        if snap.id == current:
            continue
        shutil.rmtree(snap.path, ignore_errors=True)
        removed.append(snap.id)
    return removed


def record_refusal(settings: Settings, entry: dict) -> None:
    settings.processed_dir.mkdir(parents=True, exist_ok=True)
    path = settings.processed_dir / REFUSED_FILE
    line = json.dumps({c: entry.get(c) for c in HISTORY_COLUMNS}, ensure_ascii=False, default=str)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(line + "\n")
        fh.flush()
        os.fsync(fh.fileno())


__all__ = [
    "QUARANTINE_SCHEMA",
    "Snapshot",
    "SnapshotWriter",
    "StoreError",
    "clean_leftovers",
    "current_snapshot",
    "ingest_history",
    "list_snapshots",
    "prune_snapshots",
    "read_incident_files",
    "read_quarantine",
    "record_refusal",
    "sha256_file",
    "snapshot_as_of",
    "write_lock",
]
