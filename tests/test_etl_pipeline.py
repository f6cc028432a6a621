"""The ETL end to end on tiny files: mapping, location, accounting, idempotency, overlapping extracts."""

from __future__ import annotations

import json
from datetime import datetime

import pandas as pd
import pyarrow.compute as pc
import pytest

from observatory import schema as S
from observatory import store
from observatory.etl import ingest
from tests.etl_helpers import L93_POINTS, RHONE_WGS84, VILLEURBANNE_WGS84, conservation_holds, pn_row, settings_for, to_l93, write_pn


def _incidents(settings):
    snap = store.current_snapshot(settings)
    return snap.read_incidents().to_pandas().set_index(S.INCIDENT_KEY).sort_index()


def test_police_nationale_file_maps_locates_and_accounts(tmp_path):
    s = settings_for(tmp_path, quarantine_max_share=0.5)
    f = write_pn(tmp_path / "pn_20240201.csv", [
        pn_row("A1", "03/01/2024 10:15", arr="69382"),
        pn_row("A2", "04/01/2024 23:00", label="Libellé jamais vu", arr="69381"),
        pn_row("A3", "32/01/2024 10:00"),  # impossible date → quarantine
        pn_row("A4", "05/01/2024 08:00", label="Violences sexuelles", xy=("", ""), arr="69383"),
        pn_row("A5", "06/01/2024 09:30", xy=L93_POINTS["69387"], declared="69382"),  # declared ≠ located
    ])
    r = ingest(s, [f], "police_nationale")
    assert r.exit_code == 0 and r.snapshot_id
    rep = r.files[0]
    assert (rep.rows_read, rep.accepted, rep.quarantined, rep.duplicates) == (5, 4, 1, 0)
    assert rep.unmapped_labels == {"Libellé jamais vu": 1}
    df = _incidents(s)
    assert list(df.index) == ["police_nationale:A1", "police_nationale:A2", "police_nationale:A4", "police_nationale:A5"]
    a1 = df.loc["police_nationale:A1"]
    assert a1[S.CATEGORY] == "violences_physiques_hors_famille" and a1[S.FAMILY] == S.category_family(a1[S.CATEGORY])
    assert a1[S.ARRONDISSEMENT] == "69382" and a1[S.LOCATION_QUALITY] == "point"
    assert a1[S.OCCURRED_AT] == datetime.fromisoformat("2024-01-03T10:15:00+01:00")
    assert a1[S.SOURCE_ROW] == 2 and a1[S.YEAR] == 2024 and a1[S.TIME_PRECISION] == "hour"
    assert a1[S.X] == pytest.approx(842048.0) and 4.7 < a1[S.LON] < 5.0 and 45.6 < a1[S.LAT] < 45.9
    assert a1[S.GRID_CELL] == f"E{842048 // 200}_N{6517994 // 200}"
    assert df.loc["police_nationale:A2", S.CATEGORY] == S.NON_CLASSE
    a4 = df.loc["police_nationale:A4"]  # no coordinates: counted in its declared arrondissement, no point
    assert a4[S.LOCATION_QUALITY] == "sector" and a4[S.ARRONDISSEMENT] == "69383" and pd.isna(a4[S.GRID_CELL])
    a5 = df.loc["police_nationale:A5"]
    assert a5[S.ARRONDISSEMENT] == "69387" and a5[S.DECLARED_ARRONDISSEMENT] == "69382" and bool(a5[S.ARRONDISSEMENT_MISMATCH])
    assert not df.loc["police_nationale:A1", S.ARRONDISSEMENT_MISMATCH]
    q = store.read_quarantine(s)
    assert len(q) == 1
    row = q.iloc[0]
    assert (row["source_file"], row["source_row"], row["column"]) == ("pn_20240201.csv", 4, "DATE_HEURE_FAITS")
    assert "32/01/2024" in row["reason"] and json.loads(row["original"])["NUM_FAIT"] == "A3"
    man = store.current_snapshot(s).manifest
    assert man["ingest"][0]["rows_read"] == 5 and man["schema_version"] == S.SCHEMA_VERSION and man["parent"] is None
    assert all(len(f["sha256"]) == 64 for f in man["files"]) and sum(f["rows"] for f in man["files"]) == 4


def test_hypercentre_zone_and_partition_layout(tmp_path):
    s = settings_for(tmp_path)
    f = write_pn(tmp_path / "pn_20250110.csv", [pn_row("B1", "31/12/2024 23:30", arr="69381"), pn_row("B2", "01/01/2025 00:30", arr="69389")])
    assert ingest(s, [f], "police_nationale").snapshot_id
    snap = store.current_snapshot(s)
    assert sorted(p.parent.name for p in snap.incident_files) == ["year=2024", "year=2025"]
    df = _incidents(s)
    # 23:30 on 31 December in Paris is 2024 even though it is 22:30 UTC.
    assert df.loc["police_nationale:B1", S.YEAR] == 2024 and df.loc["police_nationale:B2", S.YEAR] == 2025
    assert list(df.loc["police_nationale:B1", S.ZONES]) == ["hypercentre"]
    assert list(df.loc["police_nationale:B2", S.ZONES]) == []


def test_same_file_twice_changes_nothing(tmp_path):
    s = settings_for(tmp_path)
    f = write_pn(tmp_path / "pn_20240201.csv", [pn_row("A1"), pn_row("A2", arr="69383")])
    first = ingest(s, [f], "police_nationale")
    second = ingest(s, [f], "police_nationale")
    assert first.snapshot_id and second.snapshot_id is None and second.exit_code == 0
    assert second.files[0].skipped and "déjà intégré" in second.files[0].message
    assert store.current_snapshot(s).id == first.snapshot_id and len(store.list_snapshots(s)) == 1


def _month(tmp_path, name, rows):
    return write_pn(tmp_path / name, rows)


def _three_extracts(tmp_path):
    jan = _month(tmp_path, "pn_20240201.csv", [pn_row("A", "10/01/2024 10:00"), pn_row("B", "11/01/2024 11:00", arr="69383")])
    # February repeats B unchanged, requalifies A and adds C.
    feb = _month(tmp_path, "pn_20240301.csv", [
        pn_row("A", "10/01/2024 10:00", label="Violences sexuelles"), pn_row("B", "11/01/2024 11:00", arr="69383"),
        pn_row("C", "12/02/2024 12:00", arr="69384")])
    # March repeats C, corrects the place of B, adds D, and repeats D (a duplicate inside the file).
    mar = _month(tmp_path, "pn_20240401.csv", [
        pn_row("C", "12/02/2024 12:00", arr="69384"), pn_row("B", "11/01/2024 11:00", arr="69386"),
        pn_row("D", "01/03/2024 08:00", arr="69385"), pn_row("D", "01/03/2024 08:00", arr="69385")])
    return jan, feb, mar


def test_overlap_and_revisions_across_three_monthly_extracts(tmp_path):
    s = settings_for(tmp_path)
    jan, feb, mar = _three_extracts(tmp_path)
    r1, r2, r3 = (ingest(s, [f], "police_nationale") for f in (jan, feb, mar))
    assert [(f.accepted, f.duplicates, f.revisions) for f in (r1.files[0], r2.files[0], r3.files[0])] == [(2, 0, 0), (2, 1, 1), (2, 2, 1)]
    assert all(conservation_holds(r) for r in (r1, r2, r3))
    df = _incidents(s)
    assert list(df.index) == [f"police_nationale:{k}" for k in "ABCD"]
    assert df.loc["police_nationale:A", S.CATEGORY] == "violences_sexuelles"  # latest extraction wins
    assert df.loc["police_nationale:B", S.ARRONDISSEMENT] == "69386"
    assert df.loc["police_nationale:B", S.SOURCE_FILE] == "pn_20240401.csv"
    hist = store.ingest_history(s)
    assert hist["revisions"].tolist() == [0, 1, 1] and hist["rows_read"].tolist() == [2, 3, 4]
    assert r3.snapshot_id and store.current_snapshot(s).manifest["parent"] == r2.snapshot_id


def test_three_extracts_in_one_call_in_any_order_give_the_same_snapshot(tmp_path):
    jan, feb, mar = _three_extracts(tmp_path)
    one_by_one = settings_for(tmp_path / "a")
    for f in (jan, feb, mar):
        ingest(one_by_one, [f], "police_nationale")
    together = settings_for(tmp_path / "b")
    r = ingest(together, [mar, jan, feb], "police_nationale")
    assert r.snapshot_id and len(store.list_snapshots(together)) == 1
    a = store.current_snapshot(one_by_one).read_incidents().sort_by(S.INCIDENT_KEY)
    b = store.current_snapshot(together).read_incidents().sort_by(S.INCIDENT_KEY)
    assert a.equals(b)


def test_an_older_extract_ingested_late_does_not_overwrite_a_newer_one(tmp_path):
    s = settings_for(tmp_path)
    jan, feb, _ = _three_extracts(tmp_path)
    ingest(s, [feb], "police_nationale")
    late = ingest(s, [jan], "police_nationale")
    rep = late.files[0]
    assert (rep.rows_read, rep.accepted, rep.duplicates, rep.revisions) == (2, 0, 2, 0)
    assert _incidents(s).loc["police_nationale:A", S.CATEGORY] == "violences_sexuelles"


def test_unchanged_years_are_hard_linked_not_rewritten(tmp_path):
    s = settings_for(tmp_path)
    ingest(s, [write_pn(tmp_path / "pn_20230201.csv", [pn_row("Y1", "05/01/2023 10:00")])], "police_nationale")
    first = store.current_snapshot(s)
    ingest(s, [write_pn(tmp_path / "pn_20240201.csv", [pn_row("Y2", "05/01/2024 10:00")])], "police_nationale")
    second = store.current_snapshot(s)
    old = first.path / "incidents" / "year=2023" / "part-0.parquet"
    new = second.path / "incidents" / "year=2023" / "part-0.parquet"
    assert old.stat().st_ino == new.stat().st_ino
    assert second.row_count == 2


def test_point_in_the_rhone_is_kept_and_located(tmp_path):
    s = settings_for(tmp_path)
    f = write_pn(tmp_path / "pn_20240201.csv", [pn_row("R1", xy=to_l93(*RHONE_WGS84), declared="69387")])
    r = ingest(s, [f], "police_nationale")
    assert r.files[0].accepted == 1
    assert _incidents(s).loc["police_nationale:R1", S.ARRONDISSEMENT] == "69387"


def test_point_just_outside_within_tolerance_is_kept_with_nearest_arrondissement(tmp_path):
    s = settings_for(tmp_path)
    from observatory.etl.places import territory_index
    from observatory.territory import load_territory

    idx = territory_index(load_territory(s))
    minx, miny, maxx, maxy = idx.city.bounds
    # 200 m north of the northernmost point of the city: outside, inside the 500 m tolerance.
    import shapely

    top = shapely.get_coordinates(idx.city.boundary)
    x0, y0 = top[top[:, 1].argmax()]
    f = write_pn(tmp_path / "pn_20240201.csv", [pn_row("T1", xy=(x0, y0 + 200), declared="")])
    r = ingest(s, [f], "police_nationale")
    assert r.files[0].accepted == 1 and any("juste hors des limites" in n for n in r.files[0].notes)
    assert _incidents(s).loc["police_nationale:T1", S.ARRONDISSEMENT] in S.ARRONDISSEMENT_CODES


def test_keep_snapshots_prunes_old_ones(tmp_path):
    s = settings_for(tmp_path, keep_snapshots=2)
    ids = []
    for m in range(1, 5):
        f = write_pn(tmp_path / f"pn_2024{m:02d}15.csv", [pn_row(f"K{m}", f"0{m}/0{m}/2024 10:00")])
        ids.append(ingest(s, [f], "police_nationale").snapshot_id)
    assert [x.id for x in store.list_snapshots(s)] == ids[-2:]
    assert store.current_snapshot(s).row_count == 4
    assert pc.sum(store.current_snapshot(s).read_incidents()[S.N_FACTS]).as_py() == 4


def test_progress_reports_reading_and_publishing(tmp_path):
    s = settings_for(tmp_path)
    seen = []
    f = write_pn(tmp_path / "pn_20240201.csv", [pn_row("P1")])
    ingest(s, [f], "police_nationale", progress=lambda stage, done, total: seen.append((stage, done, total)))
    size = f.stat().st_size
    assert ("lecture pn_20240201.csv", size, size) in seen
    assert seen[-1][0] == "publication de l'instantané"


def test_one_refused_file_does_not_block_the_others(tmp_path):
    s = settings_for(tmp_path)
    good = write_pn(tmp_path / "pn_20240201.csv", [pn_row("G1"), pn_row("G2", arr="69383")])
    bad = tmp_path / "pn_20240301.csv"
    bad.write_bytes(b"")
    r = ingest(s, [good, bad], "police_nationale")
    assert r.snapshot_id and r.exit_code == 1
    assert [f.refused for f in r.files] == [False, True]
    assert store.current_snapshot(s).row_count == 2
    # The refused file can be fixed and sent again: it was not recorded as ingested.
    write_pn(bad, [pn_row("G3", "02/02/2024 10:00")])
    again = ingest(s, [good, bad], "police_nationale")
    assert again.exit_code == 0 and again.files[0].skipped and again.files[1].accepted == 1
    assert store.current_snapshot(s).row_count == 3


def test_rows_out_of_time_order_publish_sorted_with_their_own_lines(tmp_path):
    # The ingest puts each file's rows in time order before mapping (so publishing needs no permutation): every
    # published row must keep its own line number and fields, and quarantine stays in file order.
    s = settings_for(tmp_path, quarantine_max_share=0.5)
    f = write_pn(tmp_path / "pn_20250301.csv", [
        pn_row("C1", "15/02/2025 10:00", arr="69381"),      # line 2
        pn_row("C2", "31/02/2025 10:00", arr="69382"),      # line 3: impossible date (lenient parse says 03/03)
        pn_row("C3", "02/01/2024 08:00", arr="69383"),      # line 4
        pn_row("C4", "pas une date", arr="69384"),          # line 5
        pn_row("C5", "31/12/2024 23:30", arr="69385"),      # line 6: 2024 in Paris, 22:30 UTC
        pn_row("C6", "01/01/2025 00:30", arr="69386", label="Libellé jamais vu"),  # line 7
        pn_row("C7", "02/01/2024 07:59", arr="69387"),      # line 8
        pn_row("C8", "01/01/2024 12:00", arr="69388")[:5] + ["abc", "6516775,0", "69388", "Rue"],  # line 9: bad x
        pn_row("C9", "03/01/2024 12:00", xy=to_l93(*VILLEURBANNE_WGS84)),  # line 10: outside Lyon
    ])
    r = ingest(s, [f], "police_nationale")
    assert r.snapshot_id and conservation_holds(r)
    assert (r.files[0].accepted, r.files[0].quarantined) == (5, 4)
    snap = store.current_snapshot(s)
    by_year = {p.parent.name: store.read_incident_files([p]).to_pandas() for p in snap.incident_files}
    assert list(by_year["year=2024"][S.SOURCE_ID]) == ["C7", "C3", "C5"]
    assert list(by_year["year=2025"][S.SOURCE_ID]) == ["C6", "C1"]
    df = _incidents(s)
    assert dict(zip(df[S.SOURCE_ID], df[S.SOURCE_ROW])) == {"C1": 2, "C3": 4, "C5": 6, "C6": 7, "C7": 8}
    assert dict(zip(df[S.SOURCE_ID], df[S.ARRONDISSEMENT])) == {"C1": "69381", "C3": "69383", "C5": "69385", "C6": "69386", "C7": "69387"}
    assert df.loc["police_nationale:C6", S.CATEGORY] == S.NON_CLASSE
    q = store.read_quarantine(s)
    assert list(q["source_row"]) == [3, 5, 9, 10]
    assert [json.loads(o)["NUM_FAIT"] for o in q["original"]] == ["C2", "C4", "C8", "C9"]
    assert list(q["column"]) == ["DATE_HEURE_FAITS", "DATE_HEURE_FAITS", "X_L93", "X_L93"]
    assert "coordonnée illisible" in q["reason"].iloc[2] and "hors du territoire" in q["reason"].iloc[3]


def test_same_key_twice_in_one_file_the_later_line_wins_even_if_dated_earlier(tmp_path):
    s = settings_for(tmp_path)
    f = write_pn(tmp_path / "pn_20250301.csv", [
        pn_row("D1", "20/02/2025 10:00", arr="69381"),  # line 2: superseded by line 4 (a correction in the same file)
        pn_row("D2", "10/02/2025 10:00", arr="69382"),  # line 3
        pn_row("D1", "05/02/2025 09:00", arr="69383"),  # line 4: the correction, dated before line 2
    ])
    r = ingest(s, [f], "police_nationale")
    assert r.snapshot_id and conservation_holds(r)
    # Line 4 differs from line 2: a revision within the file (both versions accepted, the later one published).
    f0 = r.files[0]
    assert (f0.rows_read, f0.accepted, f0.duplicates, f0.revisions) == (3, 3, 0, 1)
    assert any("1 identifiant(s) sur plusieurs lignes" in n and "révisions" in n for n in f0.notes)
    d1 = _incidents(s).loc["police_nationale:D1"]
    assert d1[S.SOURCE_ROW] == 4 and d1[S.ARRONDISSEMENT] == "69383"
    assert len(_incidents(s)) == 2
