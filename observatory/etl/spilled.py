"""Deduplicating and publishing when some files were prepared in chunks (their candidates on disk).

Only the candidates whose key hash occurs twice (within the file, in another file of the ingest or in the
published snapshot) are read back for ``dedup.deduplicate``; every other row is new and kept. Year partitions are
then written time bucket by time bucket (``chunked.BUCKETS``), each bucket merged and put in time order as
``partitions._year_table`` does for a whole year, so memory holds one bucket, not one year.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from observatory import schema as S
from observatory import store
from observatory.etl.chunked import (
    BUCKETS,
    Spill,
    bucket_bounds,
    bucket_keys,
    key_hashes,
)
from observatory.etl.partitions import _sorted_by_time
from observatory.etl.prepare import Prepared


def candidate_rows(prepared: list[Prepared], parent_keys: pa.Table) -> dict[int, tuple[pa.Table, list[tuple[int, np.ndarray]]]]:
    """For each spilled file (by index in ``prepared``): its rows whose key may repeat, and where they come from
    ((chunk, positions) in order)."""
    hashes: list[np.ndarray] = []
    for p in prepared:
        if p.spill is None:
            hashes.append(key_hashes(p.incidents[S.INCIDENT_KEY]) if p.incidents.num_rows else np.array([], np.uint64))
        else:
            hashes.extend(p.spill.hashes)
    if parent_keys.num_rows:
        hashes.append(key_hashes(parent_keys[S.INCIDENT_KEY]))
    every = np.concatenate(hashes) if hashes else np.array([], np.uint64)
    every.sort()
    repeated = np.unique(every[1:][every[1:] == every[:-1]]) if len(every) > 1 else np.array([], np.uint64)
    del every
    out = {}
    for i, p in enumerate(prepared):
        if p.spill is None:
            continue
        parts, locs = [], []
        for c, h in enumerate(p.spill.hashes):
            pos = np.flatnonzero(np.isin(h, repeated)) if len(repeated) else np.array([], np.int64)
            if len(pos):
                parts.append(p.spill.chunk_table(c).take(pa.array(pos)))
                locs.append((c, pos))
        out[i] = (pa.concat_tables(parts) if parts else S.INCIDENT_SCHEMA.empty_table(), locs)
    return out


def apply_keep(spill: Spill, locs: list[tuple[int, np.ndarray]], keep: np.ndarray) -> None:
    """Record in ``spill`` the candidates deduplication did not keep."""
    done = 0
    for c, pos in locs:
        k = keep[done:done + len(pos)]
        done += len(pos)
        if not k.all():
            spill.drop[c] = np.sort(pos[~k])


class _InMemory:
    """The kept rows of a file prepared at once, grouped by time bucket (file order within a bucket)."""

    def __init__(self, table: pa.Table):
        self.table = table
        keys = bucket_keys(table[S.OCCURRED_AT], table[S.YEAR]) if table.num_rows else np.array([], np.int64)
        self.order = np.argsort(keys, kind="stable")
        ks = keys[self.order]
        uniq, starts = np.unique(ks, return_index=True)
        ends = np.r_[starts[1:], len(ks)]
        self.groups = {int(u): (int(s), int(e)) for u, s, e in zip(uniq, starts, ends)}

    def bucket_rows(self, key: int) -> Iterator[pa.Table]:
        if key in self.groups:
            s, e = self.groups[key]
            yield self.table.take(pa.array(self.order[s:e]))

    def kept_count(self, key: int) -> int:
        s, e = self.groups.get(key, (0, 0))
        return e - s


def publish_years(writer: store.SnapshotWriter, prepared: list[Prepared], keep: list[np.ndarray], parent: store.Snapshot | None,
                  replaced: pa.Array | None, replaced_years: set[int]) -> None:
    """Write (or link) every year partition of the new snapshot, bucket by bucket."""
    sources: list = []
    for p, k in zip(prepared, keep):
        if p.spill is not None:
            sources.append(p.spill)
        else:
            sources.append(_InMemory(p.incidents if k.all() else p.incidents.filter(pa.array(k))))
    keys = set()
    for s in sources:
        keys |= set(s.segments) if isinstance(s, Spill) else set(s.groups)
    new_years = {k // BUCKETS for k in keys if any(s.kept_count(k) for s in sources)}
    affected = new_years | replaced_years
    parent_files = {f["year"]: f for f in (parent.manifest.get("files", []) if parent else [])}

    def pieces(year: int) -> Iterator[pa.Table]:
        parent_path = parent.path / parent_files[year]["path"] if year in parent_files else None
        for b in range(BUCKETS):
            key = year * BUCKETS + b
            parts: list[pa.Table] = []
            if parent_path is not None:
                lo, hi = bucket_bounds(year, b)
                cond = None
                ts = pc.field(S.OCCURRED_AT)
                if lo is not None:
                    cond = ts >= pa.scalar(lo, pa.timestamp("us", tz="UTC"))
                if hi is not None:
                    upper = ts < pa.scalar(hi, pa.timestamp("us", tz="UTC"))
                    cond = upper if cond is None else cond & upper
                old = store.read_incident_files([parent_path], filters=cond)
                if replaced is not None and old.num_rows:
                    old = old.filter(pc.invert(pc.is_in(old[S.INCIDENT_KEY], value_set=replaced)))
                parts.append(old)
            for s in sources:
                parts.extend(t.cast(S.INCIDENT_SCHEMA) for t in s.bucket_rows(key))
            parts = [t for t in parts if t.num_rows]
            if parts:
                yield _sorted_by_time(pa.concat_tables(parts))

    to_write = []
    for year in sorted(set(parent_files) | affected):
        if year not in affected:
            writer.link_year(parent_files[year])
            store.checkpoint(f"link_{year}")
        else:
            to_write.append(year)
    # Two partitions at a time: Parquet encoding releases the GIL.
    with ThreadPoolExecutor(max_workers=2) as pool:
        for fut in [pool.submit(writer.write_year_stream, year, pieces(year)) for year in to_write]:
            fut.result()
