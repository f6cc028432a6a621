"""Large CSV extracts are ingested in chunks (``ingest_chunk_mb``): the snapshot, the accounting and the
quarantine must be exactly those of reading the file at once."""

from __future__ import annotations

import json
import random
from datetime import datetime, timezone

import pyarrow as pa
import pytest

from observatory import store
from observatory.config import SettingsError, get_settings
from observatory.etl import chunked
from observatory.etl.pipeline import ingest
from tests.etl_helpers import L93_POINTS, conservation_holds, pn_row, settings_for, write_pn

NOW = datetime(2026, 2, 1, 12, 0, tzinfo=timezone.utc)
TINY_MB = 3000 / (1 << 20)  # ~3 kB chunks: a 40 kB file is read in a dozen


def _rows(seed: int, n: int, prefix: str = "PN") -> list[list[str]]:
    """``n`` rows in random time order over 2023-2025 (New Year's Eve included: local year ≠ UTC month)."""
    rnd = random.Random(seed)
    labels = ["Coups et blessures volontaires", "Vol à la tire", "Cambriolage de logement", "Libellé jamais vu"]
    rows = []
    for i in range(n):
        if i % 37 == 0:
            when = f"31/12/{rnd.choice([2023, 2024])} 23:{rnd.randint(10, 59):02d}"  # a year's last bucket
        elif i % 41 == 0:
            when = f"01/01/{rnd.choice([2024, 2025])} 00:{rnd.randint(0, 59):02d}"  # local 1 January = 31 December in UTC
        else:
            when = f"{rnd.randint(1, 28):02d}/{rnd.randint(1, 12):02d}/{rnd.choice([2023, 2024, 2025])} {rnd.randint(0, 23):02d}:{rnd.randint(0, 59):02d}"
        arr = rnd.choice(sorted(L93_POINTS))
        rows.append(pn_row(f"{prefix}{i:05d}", when=when, label=rnd.choice(labels), arr=arr))
    return rows


def _big_file(tmp_path, name: str, seed: int):
    rows = _rows(seed, 400)
    # Duplicates and revisions far from their first line (other chunks), one unlocated twin of a located row.
    rows.insert(350, list(rows[3]))
    rows.insert(360, rows[10][:2] + ["Vol à la tire"] + rows[10][3:])
    rows.insert(370, rows[20][:5] + ["", ""] + rows[20][7:])
    # Quarantined rows in later chunks: an unreadable date, and a line with a missing column (malformed).
    rows[300][1] = "31/02/2024 10:00"
    rows.insert(330, ["PNBAD1", "03/01/2024 10:15", "Vol à la tire"])
    path = write_pn(tmp_path / name, rows)
    lines = path.read_bytes().decode("cp1252").split("\r\n")
    malformed_line = next(i for i, ln in enumerate(lines, start=1) if ln.startswith("PNBAD1"))
    bad_date_line = next(i for i, ln in enumerate(lines, start=1) if "31/02/2024" in ln)
    return path, malformed_line, bad_date_line


def _snapshot(settings) -> tuple[pa.Table, list[dict], list[dict]]:
    snap = store.current_snapshot(settings)
    incidents = snap.read_incidents()
    quarantine = store.read_quarantine(settings, snap).to_dict("records")
    reports = [{k: v for k, v in r.items()} for r in snap.manifest["ingest"]]
    return incidents, quarantine, reports


def _ingest_both(tmp_path, files, source="police_nationale"):
    one = settings_for(tmp_path / "one")
    many = settings_for(tmp_path / "many", ingest_chunk_mb=TINY_MB)
    out = []
    for s in (one, many):
        for group in files:
            r = ingest(s, group, source, now=NOW)
            assert not r.failed and r.snapshot_id, r.message
            assert conservation_holds(r)
        out.append(_snapshot(s))
    return out


def test_chunked_ingest_gives_the_one_shot_snapshot(tmp_path, monkeypatch):
    path, malformed_line, bad_date_line = _big_file(tmp_path, "pn_faits_20260115.csv", seed=7)
    chunks = []
    real_add = chunked.Spill.add
    monkeypatch.setattr(chunked.Spill, "add", lambda self, t: (chunks.append(t.num_rows), real_add(self, t))[1])
    (inc1, q1, rep1), (inc2, q2, rep2) = _ingest_both(tmp_path, [[path]])
    assert len(chunks) >= 5  # the chunked path really ran, in several chunks
    assert inc1.num_rows == inc2.num_rows > 390
    assert inc1.equals(inc2)  # same rows, same order (time order within each year), same values and lineage
    assert q1 == q2
    assert rep1 == rep2
    report = rep2[0]
    assert report["duplicates"] == 1 and report["revisions"] >= 2
    assert report["rows_read"] == report["accepted"] + report["quarantined"] + report["duplicates"]
    # The malformed line and the bad date keep their own line numbers although they are in later chunks.
    rows_by_line = {r["source_row"]: r for r in q2}
    assert "colonne(s) au lieu de" in rows_by_line[malformed_line]["reason"]
    assert rows_by_line[bad_date_line]["column"] == "DATE_HEURE_FAITS"
    assert malformed_line > 300 and bad_date_line > 300


def test_chunked_ingest_over_a_published_snapshot(tmp_path):
    """A second large extract revising and repeating incidents of the first: parent rows are merged bucket by
    bucket, replaced versions leave, stale repeats are duplicates — as the one-shot path does."""
    first, _, _ = _big_file(tmp_path, "pn_faits_20260110.csv", seed=11)
    rows = _rows(11, 400)[:200]  # same ids and content as the first file's first 200 rows (dates and all)
    for i in range(0, 200, 9):
        rows[i][2] = "Cambriolage de logement"  # revisions
    rows += _rows(12, 150, prefix="NEW")
    second = write_pn(tmp_path / "pn_faits_20260120.csv", rows)
    (inc1, q1, rep1), (inc2, q2, rep2) = _ingest_both(tmp_path, [[first], [second]])
    assert inc1.equals(inc2)
    assert q1 == q2
    assert rep1 == rep2
    assert rep2[0]["revisions"] > 0 and rep2[0]["duplicates"] > 0


def test_small_files_are_not_chunked(tmp_path, monkeypatch):
    path = write_pn(tmp_path / "pn_faits_20260115.csv", _rows(3, 20))
    monkeypatch.setattr(chunked, "prepare_chunked", lambda *a, **k: pytest.fail("chunked path used for a small file"))
    r = ingest(settings_for(tmp_path), [path], "police_nationale", now=NOW)
    assert r.snapshot_id and r.files[0].accepted == 20


def test_ingest_chunk_mb_setting(tmp_path):
    assert get_settings(root=tmp_path, env={}).ingest_chunk_mb == 256.0
    assert get_settings(root=tmp_path, env={"OBSERVATORY_INGEST_CHUNK_MB": "64"}).ingest_chunk_mb == 64.0
    with pytest.raises(SettingsError, match="ingest_chunk_mb"):
        get_settings(root=tmp_path, env={"OBSERVATORY_INGEST_CHUNK_MB": "0"})


def test_notes_of_chunks_are_merged_as_one_file_would_say_them():
    merged = chunked.merge_notes([
        ["3 ligne(s) vide(s) ignorée(s)", "site(s) inconnu(s), sans localisation : A (2), B (1)", "un avis"],
        ["2 ligne(s) vide(s) ignorée(s)", "site(s) inconnu(s), sans localisation : B (4)", "un avis"],
    ])
    assert merged == ["5 ligne(s) vide(s) ignorée(s)", "site(s) inconnu(s), sans localisation : B (5), A (2)", "un avis"]


def _passes(monkeypatch) -> list[bool]:
    """Record each pass of the chunked reader: True read as bytes, False decoding."""
    seen: list[bool] = []
    real = chunked._prepare_chunks
    monkeypatch.setattr(chunked, "_prepare_chunks", lambda *a, **k: (seen.append(k["as_bytes"]), real(*a, **k))[1])
    return seen


def test_single_byte_file_is_chunked_as_bytes_and_gives_the_one_shot_snapshot(tmp_path, monkeypatch):
    """cp1252 labels and places with accents, an ASCII malformed line: one pass as bytes, the snapshot, accounting
    and quarantine (accents included) of the one-shot read."""
    rows = _rows(5, 400)
    rows[250][1] = "31/02/2024 10:00"  # quarantined: its accented original must come back decoded
    rows.insert(300, ["PNBAD2", "03/01/2024 10:15", "Vol simple"])
    path = write_pn(tmp_path / "pn_faits_20260115.csv", rows)
    seen = _passes(monkeypatch)
    (inc1, q1, rep1), (inc2, q2, rep2) = _ingest_both(tmp_path, [[path]])
    assert seen == [True]
    assert inc1.equals(inc2) and q1 == q2 and rep1 == rep2
    assert "Vol à la tire" in inc2.column("raw_label").to_pylist()
    bad = next(r for r in q2 if r["column"] == "DATE_HEURE_FAITS")
    assert "République" in bad["original"]
    assert any("colonne(s) au lieu de" in r["reason"] and "PNBAD2" in r["original"] for r in q2)


def test_accented_malformed_line_sends_the_chunked_read_back_to_decoding(tmp_path, monkeypatch):
    path, malformed_line, _ = _big_file(tmp_path, "pn_faits_20260115.csv", seed=7)  # « PNBAD1;…;Vol à la tire »
    seen = _passes(monkeypatch)
    (inc1, q1, rep1), (inc2, q2, rep2) = _ingest_both(tmp_path, [[path]])
    assert seen == [True, False]
    assert inc1.equals(inc2) and q1 == q2 and rep1 == rep2
    assert {r["source_row"]: r for r in q2}[malformed_line]["original"] == json.dumps({"ligne": "PNBAD1;03/01/2024 10:15;Vol à la tire"}, ensure_ascii=False)
    leftovers = [p.name for p in store.snapshots_dir(settings_for(tmp_path / "many")).iterdir() if p.name.startswith(store.TMP_PREFIX)]
    assert leftovers == []  # the abandoned pass's spill is gone


def test_byte_undefined_in_cp1252_in_a_late_chunk_is_named(tmp_path):
    rows = _rows(9, 300)
    path = write_pn(tmp_path / "pn_faits_20260115.csv", rows)
    data = path.read_bytes()
    cut = data.rindex(b"\r\n", 0, len(data) - 2) + 2  # the last line, in the last chunk
    path.write_bytes(data[:cut] + data[cut:].replace(b"PN", b"P\x81", 1))
    r = ingest(settings_for(tmp_path, ingest_chunk_mb=TINY_MB), [path], "police_nationale", now=NOW)
    assert r.snapshot_id is None
    msg = r.files[0].message
    assert "n'est pas en cp1252 (ligne 301 " in msg and "octets 81 " in msg, msg


def test_line_longer_than_a_chunk_goes_to_the_one_shot_reader_without_a_second_chunked_pass(tmp_path, monkeypatch):
    rows = _rows(13, 200)
    rows[150][8] = "Rue " + "très longue " * 400  # ~5 kB: longer than a TINY_MB chunk
    path = write_pn(tmp_path / "pn_faits_20260115.csv", rows)
    seen = _passes(monkeypatch)
    (inc1, q1, rep1), (inc2, q2, rep2) = _ingest_both(tmp_path, [[path]])
    assert seen == [True]  # the bytes pass meets the long line and hands over to the one-shot read directly
    assert inc1.equals(inc2) and q1 == q2 and rep1 == rep2 and inc2.num_rows == 200
