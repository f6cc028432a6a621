"""The store: pointer file, snapshots as of a date, leftovers of a crash, lock, quarantine and history readers."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from observatory import store
from observatory.etl import ingest
from observatory.etl.places import grid_ids
from observatory.territory import grid_cell_ids
from tests.etl_helpers import pn_row, settings_for, write_pn


def test_empty_store_readers(tmp_path):
    s = settings_for(tmp_path)
    assert store.current_snapshot(s) is None and store.list_snapshots(s) == []
    assert store.read_quarantine(s).empty and list(store.read_quarantine(s).columns) == store.QUARANTINE_SCHEMA.names
    assert store.ingest_history(s).empty and list(store.ingest_history(s).columns) == store.HISTORY_COLUMNS


def test_pointer_names_the_current_snapshot_and_older_ones_stay_readable(tmp_path):
    s = settings_for(tmp_path)
    r1 = ingest(s, [write_pn(tmp_path / "pn_20240201.csv", [pn_row("A")])], "police_nationale")
    r2 = ingest(s, [write_pn(tmp_path / "pn_20240301.csv", [pn_row("B", "05/02/2024 10:00")])], "police_nationale")
    assert (s.processed_dir / "CURRENT").read_text().strip() == r2.snapshot_id
    snaps = store.list_snapshots(s)
    assert [x.id for x in snaps] == [r1.snapshot_id, r2.snapshot_id]
    assert snaps[0].read_incidents().num_rows == 1 and snaps[1].read_incidents().num_rows == 2
    assert store.snapshot_as_of(s, snaps[0].created_at + timedelta(microseconds=1)).id == r1.snapshot_id
    assert store.snapshot_as_of(s, datetime(2000, 1, 1, tzinfo=timezone.utc)) is None
    files = snaps[1].incident_files
    assert all(p.exists() and p.suffix == ".parquet" and p.parent.name.startswith("year=") for p in files)
    import pyarrow.parquet as pq

    md = pq.ParquetFile(files[0]).metadata
    assert md.row_group(0).column(0).compression == "ZSTD"


def test_leftovers_of_a_crash_are_removed_by_the_next_ingest(tmp_path):
    s = settings_for(tmp_path)
    r1 = ingest(s, [write_pn(tmp_path / "pn_20240201.csv", [pn_row("A")])], "police_nationale")
    base = store.snapshots_dir(s)
    (base / ".tmp-99990101T000000000000Z").mkdir()
    orphan = base / "99990101T000000000001Z"  # complete but never made current
    orphan.mkdir()
    (orphan / "manifest.json").write_text(json.dumps({"snapshot_id": orphan.name, "created_at": "2999-01-01T00:00:00+00:00"}))
    (s.processed_dir / "CURRENT.tmp").write_text("garbage")
    assert store.current_snapshot(s).id == r1.snapshot_id  # readers ignore leftovers
    ingest(s, [write_pn(tmp_path / "pn_20240301.csv", [pn_row("B")])], "police_nationale")
    names = sorted(p.name for p in base.iterdir())
    assert ".tmp-99990101T000000000000Z" not in names and orphan.name not in names
    assert not (s.processed_dir / "CURRENT.tmp").exists()


def test_pointer_to_a_missing_snapshot_is_a_clear_error(tmp_path):
    s = settings_for(tmp_path)
    s.processed_dir.mkdir(parents=True)
    (s.processed_dir / "CURRENT").write_text("20990101T000000000000Z\n")
    with pytest.raises(store.StoreError, match="20990101T000000000000Z"):
        store.current_snapshot(s)


def test_second_writer_is_refused_while_the_lock_is_held(tmp_path):
    s = settings_for(tmp_path)
    with store.write_lock(s):
        r = ingest(s, [write_pn(tmp_path / "pn_20240201.csv", [pn_row("A")])], "police_nationale")
    assert r.failed and r.exit_code == 1 and "en cours" in r.message
    assert store.current_snapshot(s) is None


def test_history_lists_accepted_and_refused_files(tmp_path):
    s = settings_for(tmp_path)
    ingest(s, [write_pn(tmp_path / "pn_20240201.csv", [pn_row("A"), pn_row("B")])], "police_nationale")
    empty = tmp_path / "pn_20240301.csv"
    empty.write_bytes(b"")
    ingest(s, [empty], "police_nationale")
    h = store.ingest_history(s)
    assert h["source_file"].tolist() == ["pn_20240201.csv", "pn_20240301.csv"]
    assert h["refused"].tolist() == [False, True] and h["accepted"].tolist() == [2, 0]
    assert h["snapshot_id"].iloc[0] == store.current_snapshot(s).id and h["ingested_at"].dt.tz is not None


def test_fast_grid_ids_match_the_territory_function():
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.uniform(-1000, 900_000, 500), [np.nan, 842_000.0]])
    y = np.concatenate([rng.uniform(-1000, 6_600_000, 500), [6_519_000.0, np.nan]])
    assert grid_ids(x, y, 200).to_pylist() == list(grid_cell_ids(x, y, 200))


def test_fixed_width_grid_ids_match_the_territory_function():
    # Points of one city: every cell index has the same number of digits, so the byte-matrix path builds the ids.
    rng = np.random.default_rng(4)
    x = rng.uniform(838_000, 850_000, 2000)
    y = rng.uniform(6_512_000, 6_526_000, 2000)
    ids = grid_ids(x, y, 200)
    ids.validate(full=True)
    assert ids.to_pylist() == list(grid_cell_ids(x, y, 200))
    assert ids.to_pylist()[:1] == [f"E{int(x[0] // 200)}_N{int(y[0] // 200)}"]
