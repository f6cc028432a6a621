"""Large CSV extracts in chunks: read, map, validate and locate a file chunk by chunk, keeping its candidate
incidents on disk (Arrow IPC, one file per chunk, split by time bucket) instead of in memory.

What stays in memory for the whole file is small per row: an 8-byte hash of each candidate's key (to find the
keys that repeat, within the file, with other files or with the published snapshot) and the quarantine. The
accounting, the quarantine (file order, malformed lines last), the notes and the rows published are the ones
the one-shot path gives (``prepare.prepare_rows`` runs on each chunk); ``tests/test_ingest_chunks.py`` compares
both on a file forced into several chunks.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import threading
from contextlib import nullcontext
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from observatory import schema as S
from observatory import store
from observatory.config import Settings
from observatory.etl.places import TerritoryIndex
from observatory.etl.prepare import (
    FileReport,
    Prepared,
    Progress,
    _quarantine_table,
    _reason_key,
    prepare_rows,
)
from observatory.etl.profile import Profile
from observatory.etl.read import (
    ORIGINAL_MAX_CHARS,
    CsvLayout,
    FileScan,
    InputError,
    RawTable,
    _drop_blank_rows,
    csv_layout,
    is_utf8,
)
from observatory.etl.transcode import quiet_decoding_unraisable, transcoded, utf8_widths

# Time buckets of a year partition: UTC months from December of the year before (a local 1 January 00:30 is
# still December in UTC) to December; 0 and 14 catch anything outside. Buckets follow occurred_at, so a year is
# written bucket after bucket in time order.
BUCKETS = 15


class _OneShot(Exception):
    """The streaming reader cannot go on (undecodable bytes, a line longer than a chunk): read the file at once."""


def bucket_keys(occurred: pa.ChunkedArray | pa.Array, year: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """year × BUCKETS + bucket of each row (int64), non-decreasing with occurred_at within a year."""
    utc = pc.cast(occurred, pa.timestamp("us", tz="UTC"))
    months = pc.add(pc.multiply(pc.cast(pc.year(utc), pa.int64()), 12), pc.cast(pc.month(utc), pa.int64())).to_numpy(zero_copy_only=False) - 1
    y = np.asarray(pc.cast(year, pa.int64()).to_numpy(zero_copy_only=False))
    b = np.clip(months - ((y - 1) * 12 + 11) + 1, 0, BUCKETS - 1)
    return y * BUCKETS + b


def bucket_bounds(year: int, b: int) -> tuple[datetime | None, datetime | None]:
    """UTC [start, end) of bucket ``b`` of ``year`` (None: unbounded)."""
    def month_start(k: int) -> datetime:  # k-th month after December of the year before
        m = (year - 1) * 12 + 11 + k
        return datetime(m // 12, m % 12 + 1, 1, tzinfo=UTC)
    lo = None if b == 0 else month_start(b - 1)
    hi = None if b == BUCKETS - 1 else month_start(b)
    return lo, hi


def key_hashes(keys: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A 64-bit hash per key (DuckDB's, ~30× faster than pandas' on strings). Equal keys, equal hashes; a
    collision only makes a unique key a candidate of the exact deduplication."""
    t = pa.table({"k": keys})  # noqa: F841 - read by DuckDB by name
    con = duckdb.connect()
    try:
        return np.asarray(con.execute("select hash(k) as h from t").fetchnumpy()["h"], dtype=np.uint64)
    finally:
        con.close()


@dataclass
class Spill:
    """The candidates of one large file on disk: chunk files in file order, each split into time buckets."""

    dir: Path
    files: list[Path] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    hashes: list[np.ndarray] = field(default_factory=list)
    # bucket key → [(chunk, record batch index, first row of the batch in its chunk, rows)], chunks in file order
    segments: dict[int, list[tuple[int, int, int, int]]] = field(default_factory=dict)
    drop: dict[int, np.ndarray] = field(default_factory=dict)  # chunk → sorted positions not to publish (deduplication)
    _readers: dict = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def num_rows(self) -> int:
        return sum(self.rows)

    def add(self, table: pa.Table) -> None:
        """Append one chunk's candidates (already in time order)."""
        c = len(self.files)
        keys = bucket_keys(table[S.OCCURRED_AT], table[S.YEAR]) if table.num_rows else np.array([], np.int64)
        if len(keys) > 1 and (np.diff(keys) < 0).any():
            order = np.argsort(keys, kind="stable")
            table, keys = table.take(pa.array(order)), keys[order]
        path = self.dir / f"chunk-{c:05d}.arrow"
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if len(keys) else np.array([], np.int64)
        ends = np.r_[starts[1:], len(keys)]
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema, options=pa.ipc.IpcWriteOptions(compression="lz4")) as out:
            for i, (lo, hi) in enumerate(zip(starts, ends)):
                out.write_table(table.slice(int(lo), int(hi - lo)), max_chunksize=int(hi - lo))
                self.segments.setdefault(int(keys[lo]), []).append((c, i, int(lo), int(hi - lo)))
        self.files.append(path)
        self.rows.append(table.num_rows)
        self.hashes.append(key_hashes(table[S.INCIDENT_KEY]) if table.num_rows else np.array([], np.uint64))

    def _reader(self, c: int) -> pa.ipc.RecordBatchFileReader:
        # Opened once per chunk: opening parses the footer and the 27-column schema (measured: a fifth of the
        # publish when done per segment).
        with self._lock:
            reader = self._readers.get(c)
            if reader is None:
                # A plain file, not a memory map: mapped pages once read stay in the process's resident size
                # (1e8 rows: a peak of 15 GB, mostly clean spill pages); read batches are freed after use.
                reader = self._readers[c] = pa.ipc.open_file(pa.OSFile(str(self.files[c])))
        return reader

    def chunk_table(self, c: int) -> pa.Table:
        return self._reader(c).read_all()

    def kept(self, c: int, lo: int, n: int) -> np.ndarray | None:
        """Mask of the rows [lo, lo + n) of chunk ``c`` that are published; None: all."""
        drop = self.drop.get(c)
        if drop is None or not len(drop):
            return None
        a, b = np.searchsorted(drop, [lo, lo + n])
        if a == b:
            return None
        mask = np.ones(n, dtype=bool)
        mask[drop[a:b] - lo] = False
        return mask

    def bucket_rows(self, key: int) -> Iterator[pa.Table]:
        """The published rows of one bucket, chunk after chunk."""
        for c, i, lo, _ in self.segments.get(key, []):
            batch = self._reader(c).get_batch(i)
            mask = self.kept(c, lo, batch.num_rows)
            t = pa.Table.from_batches([batch])
            yield t if mask is None else t.filter(pa.array(mask))

    def kept_count(self, key: int) -> int:
        n = 0
        for c, _, lo, size in self.segments.get(key, []):
            mask = self.kept(c, lo, size)
            n += size if mask is None else int(mask.sum())
        return n

    def close(self) -> None:
        self._readers.clear()
        shutil.rmtree(self.dir, ignore_errors=True)


class _AsText(Exception):
    """Read as bytes, the chunk reader met what only the decoding reader handles (a byte undefined in the encoding,
    a malformed line holding non-ASCII bytes): read the file again, decoding."""


def _chunks(path: Path, profile: Profile, layout: CsvLayout, block: int, malformed: list[dict], as_bytes: bool) -> Iterator[pa.Table]:
    """Tables of about ``block`` bytes of the file; malformed lines go to ``malformed`` (numbered: the
    streaming reader parses in one thread, which knows line numbers, and calls the handler before yielding the
    rows that follow).

    ``as_bytes`` (a single-byte encoding, see ``transcode``): the cells are read as bytes and each chunk's columns
    holding non-ASCII bytes decoded, instead of pyarrow sending the whole file through Python's codec (measured:
    1.2–2.2 s of CPU per 256 MB chunk as text, 0.5–0.7 s as bytes plus 0.3–0.4 s of decoding)."""
    def on_invalid(row) -> str:
        text = row.text
        if len(text) > ORIGINAL_MAX_CHARS:
            text = text[:ORIGINAL_MAX_CHARS] + "…"
        malformed.append({"row": row.number if row.number is not None else -1,
                          "reason": f"{row.actual_columns} colonne(s) au lieu de {row.expected_columns}", "original": text})
        return "skip"

    names = layout.names
    read_opts = pacsv.ReadOptions(skip_rows=layout.header_line, column_names=names, block_size=block, use_threads=False,
                                  encoding="utf8" if as_bytes or is_utf8(layout.encoding) else layout.encoding)
    parse_opts = pacsv.ParseOptions(delimiter=profile.delimiter, invalid_row_handler=on_invalid, ignore_empty_lines=False)
    cell = pa.binary() if as_bytes else pa.string()
    conv_opts = pacsv.ConvertOptions(column_types={n: cell for n in names}, strings_can_be_null=False, check_utf8=not as_bytes)
    try:
        with quiet_decoding_unraisable() if as_bytes else nullcontext():
            reader = pacsv.open_csv(path, read_options=read_opts, parse_options=parse_opts, convert_options=conv_opts)

            def read_next() -> pa.Table:
                table = pa.Table.from_batches([reader.read_next_batch()])
                if as_bytes:
                    table = transcoded(table, layout.encoding)
                    if table is None:
                        raise _AsText
                return table

            # The next chunk is parsed (and decoded) in a worker thread while this one is processed: pyarrow and
            # the decoding's kernels release the GIL.
            with ThreadPoolExecutor(max_workers=1) as pool:
                nxt = pool.submit(read_next)
                while True:
                    try:
                        table = nxt.result()
                    except StopIteration:
                        return
                    nxt = pool.submit(read_next)
                    yield table
    except UnicodeDecodeError:
        if as_bytes:
            raise _AsText from None
        raise _OneShot from None
    except (pa.ArrowInvalid, OSError) as exc:
        msg = str(exc).splitlines()[0][:300]
        if "straddl" in msg:
            raise _OneShot from None  # a line longer than a chunk: so it would be in the decoding pass too
        if as_bytes:
            # Read as bytes, a malformed line with non-ASCII bytes cannot be handed to the handler and ends the
            # read with a parse error: the decoding pass handles it or names the real error.
            raise _AsText from None
        if "UTF8" in msg or "utf8" in msg or "decode" in msg.lower():
            raise _OneShot from None
        raise InputError(f"lecture CSV impossible : {msg}") from None


def _lines(first: int, done: int, n: int, malformed: list[dict]) -> np.ndarray:
    """File line numbers of valid rows ``done … done + n - 1`` (0-based among the valid rows): the k-th valid row
    is on line first + k + (number of malformed lines before it)."""
    bad = np.sort(np.array([m["row"] for m in list(malformed)], dtype=np.int64))
    k = np.arange(done, done + n, dtype=np.int64)
    if not len(bad):
        return first + k
    valid_before = bad - np.arange(len(bad)) - first  # valid rows before each malformed line
    return first + k + np.searchsorted(valid_before, k, side="right")


_LEADING_COUNT = re.compile(r"^(\d+) ")
_LISTED = re.compile(r"^((?:site|quartier)\(s\) inconnu\(s\), sans localisation) : (.*)$")


def merge_notes(parts: list[list[str]]) -> list[str]:
    """The notes of several chunks as the whole file would give them: « 12 ligne(s) … » notes with the same text
    after the count are summed, « site(s) inconnu(s) … : A (3), B (1) » lists merged, others said once."""
    order: list[str] = []
    counts: dict[str, int] = {}
    listed: dict[str, dict[str, int]] = {}
    for notes in parts:
        for note in notes:
            m = _LEADING_COUNT.match(note)
            lm = _LISTED.match(note)
            if m:
                key = "#" + note[m.end():]
                counts[key] = counts.get(key, 0) + int(m.group(1))
            elif lm:
                key = "@" + lm.group(1)
                d = listed.setdefault(key, {})
                for item in re.finditer(r"(.+?) \((\d+)\)(?:, |$)", lm.group(2)):
                    d[item.group(1)] = d.get(item.group(1), 0) + int(item.group(2))
            else:
                key = note
            if key not in order:
                order.append(key)
    out = []
    for key in order:
        if key.startswith("#"):
            out.append(f"{counts[key]} {key[1:]}")
        elif key.startswith("@"):
            items = sorted(listed[key].items(), key=lambda kv: (-kv[1], kv[0]))
            out.append(f"{key[1:]} : " + ", ".join(f"{k} ({v})" for k, v in items))
        else:
            out.append(key)
    return out


def _sum_counts(parts: list[dict[str, int]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for d in parts:
        for k, v in d.items():
            total[k] = total.get(k, 0) + v
    return dict(sorted(total.items(), key=lambda kv: (-kv[1], kv[0])))


def prepare_chunked(path: Path, profile: Profile, settings: Settings, index: TerritoryIndex, now: datetime, scan: FileScan,
                    report: FileReport, prefix: str, progress: Progress | None = None) -> Prepared | None:
    """``prepare_file`` for a large CSV, chunk by chunk; None when only the one-shot reader can go on."""
    layout = csv_layout(path, profile, scan)
    if utf8_widths(layout.encoding) is not None:
        try:
            return _prepare_chunks(path, profile, settings, index, now, scan, report, prefix, progress, layout, as_bytes=True)
        except _AsText:
            pass  # nothing of that pass is kept: its spill is deleted, and ``report`` is written after the last chunk only
    return _prepare_chunks(path, profile, settings, index, now, scan, report, prefix, progress, layout, as_bytes=False)


def _prepare_chunks(path: Path, profile: Profile, settings: Settings, index: TerritoryIndex, now: datetime, scan: FileScan,
                    report: FileReport, prefix: str, progress: Progress | None, layout: CsvLayout, as_bytes: bool) -> Prepared | None:
    block = max(int(settings.ingest_chunk_mb * (1 << 20)), 1)
    batch_id = scan.sha256[:12]
    base = store.snapshots_dir(settings)
    base.mkdir(parents=True, exist_ok=True)
    # Named like an unfinished snapshot: a crash leaves it to store.clean_leftovers.
    spill = Spill(Path(tempfile.mkdtemp(prefix=store.TMP_PREFIX + "spill-", dir=base)))
    malformed: list[dict] = []
    notes: list[list[str]] = []
    unmapped: list[dict[str, int]] = []
    reasons: list[dict[str, int]] = []
    quarantine: list[pa.Table] = []
    quarantined = valid = blank = 0
    first = layout.header_line + 1
    try:
        for table in _chunks(path, profile, layout, block, malformed, as_bytes):
            lines = _lines(first, valid, table.num_rows, malformed)
            valid += table.num_rows
            table, lines, dropped = _drop_blank_rows(table, lines)
            blank += dropped
            if table.num_rows == 0:
                continue
            part = FileReport(path=path, extracted_at=report.extracted_at)
            prep = prepare_rows(RawTable(table, lines, [], layout.names, layout.header_line, layout.encoding), path, profile, settings, index, now,
                                part, prefix, batch_id, check_keys=False)
            del table
            spill.add(prep.incidents)
            quarantine.append(prep.quarantine)
            quarantined += part.quarantined
            notes.append(part.notes)
            unmapped.append(part.unmapped_labels)
            reasons.append(part.quarantine_reasons)
            if progress:
                progress(f"lecture et contrôle de {path.name}", valid, 0)
    except _OneShot:
        spill.close()
        return None
    except _AsText:
        spill.close()
        raise
    except BaseException:
        spill.close()
        raise
    report.encoding = layout.encoding
    report.notes.extend(layout.notes)
    if blank:
        report.notes.append(f"{blank} ligne(s) vide(s) ignorée(s)")
    report.notes.extend(merge_notes(notes))
    report.rows_read = valid - blank + len(malformed)
    report.unmapped_labels = _sum_counts(unmapped)
    reasons.append({})
    for m in malformed:
        k = _reason_key(m["reason"])
        reasons[-1][k] = reasons[-1].get(k, 0) + 1
    report.quarantine_reasons = _sum_counts(reasons)
    report.quarantined = quarantined + len(malformed)
    empty = RawTable(pa.table({}), np.array([], np.int64), malformed, layout.names, layout.header_line)
    quarantine.append(_quarantine_table(empty, {}, report, batch_id, profile.name, now.astimezone(UTC)))
    return Prepared(report, None, pa.concat_tables(quarantine), keys_unique=False, spill=spill)
