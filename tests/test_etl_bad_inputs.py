"""Every bad input of issue 3 gets a clear one-line message naming file, row or column; nothing is harmed."""

from __future__ import annotations

import re

import os
from pathlib import Path

import pytest

from observatory import store
from observatory.etl import ingest
from tests.etl_helpers import (
    PN_HEADER, VILLEURBANNE_WGS84, conservation_holds, excel_serial, pn_row, settings_for, to_l93, write_pm_xlsx, write_pn,
)


def _refused(result) -> str:
    assert result.exit_code != 0 and result.snapshot_id is None
    (f,) = result.files
    assert f.refused and "\n" not in f.message and "Traceback" not in f.message
    assert f.source_file in f.message  # the message names the file
    return f.message


def _good_rows(n: int = 3) -> list[list[str]]:
    arrs = ["69381", "69382", "69383", "69384", "69385", "69386", "69387", "69388", "69389"]
    return [pn_row(f"G{i}", f"{(i % 27) + 1:02d}/01/2024 10:00", arr=arrs[i % 9]) for i in range(n)]


def test_refusal_leaves_the_published_snapshot_intact(tmp_path):
    s = settings_for(tmp_path)
    ok = ingest(s, [write_pn(tmp_path / "pn_20240201.csv", _good_rows())], "police_nationale")
    before = store.current_snapshot(s)
    msg = _refused(ingest(s, [write_pn(tmp_path / "pn_20240301.csv", _good_rows(), delimiter=",")], "police_nationale"))
    assert "séparateur" in msg and "« , »" in msg
    after = store.current_snapshot(s)
    assert after.id == ok.snapshot_id == before.id and after.read_incidents().equals(before.read_incidents())
    hist = store.ingest_history(s)
    assert hist["refused"].tolist() == [False, True] and "séparateur" in hist["message"].iloc[1]


def test_utf8_file_declared_cp1252_is_refused_not_misread(tmp_path):
    s = settings_for(tmp_path)
    f = write_pn(tmp_path / "pn_20240201.csv", _good_rows(), encoding="utf-8")  # "République" has an accent
    msg = _refused(ingest(s, [f], "police_nationale"))
    assert "UTF-8" in msg and "cp1252" in msg and "encoding" in msg


def test_cp1252_file_declared_utf8_names_the_line(tmp_path):
    s = settings_for(tmp_path)
    f = tmp_path / "med.csv"
    f.write_bytes("ref,date_intervention,quartier,motif\nM1,01/02/2024 10:00,Vaise,Nuisances\nM2,01/02/2024 11:00,La Duchère,Nuisances\n".encode("cp1252"))
    msg = _refused(ingest(s, [f], "mediateurs"))
    assert "ligne 3" in msg and "utf-8" in msg


def test_declared_fallback_encoding_is_used_and_reported(tmp_path):
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    src = Path(settings_for(tmp_path).sources_dir)
    text = (src / "mediateurs.toml").read_text(encoding="utf-8").replace('encoding = "utf-8"', 'encoding = "utf-8"\nfallback_encoding = "cp1252"')
    (profiles / "mediateurs.toml").write_text(text, encoding="utf-8")
    (profiles / "mediateurs_labels.csv").write_bytes((src / "mediateurs_labels.csv").read_bytes())
    s = settings_for(tmp_path, profiles_dir=profiles)
    f = tmp_path / "med.csv"
    f.write_bytes("ref,date_intervention,quartier,motif\nM1,01/02/2024 10:00,La Duchère,Nuisances\n".encode("cp1252"))
    r = ingest(s, [f], "mediateurs")
    assert r.exit_code == 0 and r.files[0].encoding == "cp1252"
    assert any("repli cp1252" in n for n in r.files[0].notes)
    assert store.current_snapshot(s).read_incidents().column("place_name").to_pylist() == ["La Duchère"]


def test_missing_required_column(tmp_path):
    s = settings_for(tmp_path)
    header = [h for h in PN_HEADER if h != "NUM_FAIT"]
    rows = [r[1:] for r in _good_rows()]
    msg = _refused(ingest(s, [write_pn(tmp_path / "pn_20240201.csv", rows, header=header)], "police_nationale"))
    assert "ligne 1" in msg and "NUM_FAIT" in msg and "absente" in msg


def test_dates_in_another_format_are_refused_with_the_fix(tmp_path):
    s = settings_for(tmp_path)
    rows = [pn_row(f"D{i}", f"2024-01-{i + 1:02d} 10:00") for i in range(5)]
    msg = _refused(ingest(s, [write_pn(tmp_path / "pn_20240201.csv", rows)], "police_nationale"))
    assert "DATE_HEURE_FAITS" in msg and "ISO" in msg and "ligne 2" in msg


def test_month_day_order_is_detected_never_guessed(tmp_path):
    s = settings_for(tmp_path)
    # US order: 01/13, 01/14 ... cannot be dd/mm; the profile is not second-guessed, the file is refused.
    rows = [pn_row(f"U{i}", f"01/{13 + i}/2024 10:00") for i in range(5)]
    msg = _refused(ingest(s, [write_pn(tmp_path / "pn_20240201.csv", rows)], "police_nationale"))
    assert "mois/jour" in msg


def test_ambiguous_day_month_follows_the_profile(tmp_path):
    s = settings_for(tmp_path)
    r = ingest(s, [write_pn(tmp_path / "pn_20240501.csv", [pn_row("AMB", "02/03/2024 10:00")])], "police_nationale")
    assert r.exit_code == 0
    ts = store.current_snapshot(s).read_incidents().column("occurred_at")[0].as_py()
    assert (ts.month, ts.day) == (3, 2)  # 2 March, as %d/%m/%Y says


def test_empty_file(tmp_path):
    f = tmp_path / "pn_20240201.csv"
    f.write_bytes(b"")
    assert "vide" in _refused(ingest(settings_for(tmp_path), [f], "police_nationale"))


def test_header_only_is_nothing_to_do(tmp_path):
    s = settings_for(tmp_path)
    r = ingest(s, [write_pn(tmp_path / "pn_20240201.csv", [])], "police_nationale")
    assert r.exit_code == 0 and r.snapshot_id is None and r.files[0].skipped and "en-tête seul" in r.files[0].message


def test_binary_garbage(tmp_path):
    f = tmp_path / "pn_20240201.csv"
    f.write_bytes(os.urandom(4096) + b"\x00\x01\x02")
    assert "binaire" in _refused(ingest(settings_for(tmp_path), [f], "police_nationale"))
    g = tmp_path / "g.csv"
    g.write_bytes(bytes(range(0x80, 0x100)) * 8)
    msg = _refused(ingest(settings_for(tmp_path), [g], "mediateurs"))
    assert "ligne 1" in msg and "utf-8" in msg


def test_a_100_mb_line(tmp_path):
    f = tmp_path / "pn_20240201.csv"
    with open(f, "wb") as fh:
        fh.write((";".join(PN_HEADER) + "\r\n").encode())
        fh.write((";".join(_good_rows(1)[0]) + "\r\n").encode("cp1252"))
        block = b"x" * (1 << 20)
        for _ in range(100):
            fh.write(block)
        fh.write(b"\r\n")
    msg = _refused(ingest(settings_for(tmp_path), [f], "police_nationale"))
    assert "ligne 3" in msg and "Mo" in msg


def test_rows_with_a_wrong_number_of_columns_are_quarantined_with_their_line(tmp_path):
    s = settings_for(tmp_path)
    rows = _good_rows(40)
    rows.insert(10, ["BROKEN", "01/01/2024 10:00"])
    r = ingest(s, [write_pn(tmp_path / "pn_20240201.csv", rows)], "police_nationale")
    assert r.exit_code == 0 and conservation_holds(r)
    assert (r.files[0].rows_read, r.files[0].quarantined) == (41, 1)
    q = store.read_quarantine(s)
    assert q["source_row"].tolist() == [12] and "colonne" in q["reason"].iloc[0] and "BROKEN" in q["original"].iloc[0]
    # Rows after the broken one keep their true line numbers.
    inc = store.current_snapshot(s).read_incidents().to_pandas().set_index("source_id")
    assert inc.loc["G10", "source_row"] == 13 and inc.loc["G9", "source_row"] == 11


def test_villeurbanne_points_are_quarantined(tmp_path):
    s = settings_for(tmp_path)
    rows = _good_rows(30) + [pn_row("VIL", xy=to_l93(*VILLEURBANNE_WGS84), declared="")]
    r = ingest(s, [write_pn(tmp_path / "pn_20240201.csv", rows)], "police_nationale")
    assert r.exit_code == 0 and r.files[0].quarantined == 1
    q = store.read_quarantine(s).iloc[0]
    assert "hors du territoire" in q["reason"] and q["column"] == "X_L93" and q["source_row"] == 32
    # The sentence keeps its punctuation; only thousands are separated (review: « de Lyon  tolérance »).
    assert re.fullmatch(r"point hors du territoire \(à \d{1,3}(\u00a0\d{3})* m de Lyon, tolérance 500 m\)", q["reason"]), q["reason"]


def test_villeurbanne_only_file_is_refused(tmp_path):
    rows = [pn_row(f"V{i}", xy=to_l93(*VILLEURBANNE_WGS84), declared="") for i in range(3)]
    msg = _refused(ingest(settings_for(tmp_path), [write_pn(tmp_path / "pn_20240201.csv", rows)], "police_nationale"))
    assert "hors du territoire" in msg and "seuil" in msg


def _pm_row(i: int, lon: float = 4.82717, lat: float = 45.74675, arr: str = "69382") -> list:
    return [f"PM{i}", excel_serial(2024, 3, 1 + i % 28, 14, 30), lon, lat, arr, "Place Bellecour", "Rixe", "Voie publique"]


def test_excel_with_merged_title_rows_is_read_with_auto_header(tmp_path):
    s = settings_for(tmp_path)
    f = write_pm_xlsx(tmp_path / "pm_interventions_2024-04-03.xlsx", [_pm_row(i) for i in range(4)])
    r = ingest(s, [f], "police_municipale")
    assert r.exit_code == 0 and r.files[0].accepted == 4
    df = store.current_snapshot(s).read_incidents().to_pandas().set_index("source_id")
    assert df.loc["PM0", "source_row"] == 5  # 3 title rows, header on row 4
    assert df.loc["PM0", "occurred_at"].strftime("%d/%m/%Y %H:%M") == "01/03/2024 14:30"
    assert df.loc["PM0", "category"] == "rixes_regroupements" and df.loc["PM0", "arrondissement"] == "69382"


def test_excel_header_row_declared_wrong_says_where_the_header_is(tmp_path):
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    src = settings_for(tmp_path).sources_dir
    text = (src / "police_municipale.toml").read_text(encoding="utf-8").replace('header_row = "auto"', "header_row = 1")
    (profiles / "police_municipale.toml").write_text(text, encoding="utf-8")
    (profiles / "police_municipale_labels.csv").write_bytes((src / "police_municipale_labels.csv").read_bytes())
    s = settings_for(tmp_path, profiles_dir=profiles)
    f = write_pm_xlsx(tmp_path / "pm_interventions_2024-04-03.xlsx", [_pm_row(i) for i in range(4)])
    msg = _refused(ingest(s, [f], "police_municipale"))
    assert "header_row = 4" in msg


def test_lambert93_declared_as_wgs84(tmp_path):
    s = settings_for(tmp_path)
    rows = [_pm_row(i, lon=842545.0 + i, lat=6520368.0) for i in range(5)]
    msg = _refused(ingest(s, [write_pm_xlsx(tmp_path / "pm_interventions_2024-04-03.xlsx", rows)], "police_municipale"))
    assert "Lambert-93" in msg and "crs" in msg


def test_swapped_lat_lon_is_repaired_and_reported(tmp_path):
    s = settings_for(tmp_path)
    rows = [_pm_row(i) for i in range(3)] + [_pm_row(9, lon=45.74675, lat=4.82717)]
    r = ingest(s, [write_pm_xlsx(tmp_path / "pm_interventions_2024-04-03.xlsx", rows)], "police_municipale")
    assert r.files[0].accepted == 4 and any("inversées" in n for n in r.files[0].notes)
    df = store.current_snapshot(s).read_incidents().to_pandas().set_index("source_id")
    assert df.loc["PM9", "lon"] == pytest.approx(4.82717)


def test_not_an_excel_file(tmp_path):
    f = tmp_path / "pm_interventions_2024-04-03.xlsx"
    f.write_bytes(b"PK\x03\x04 this is not a zip at all" * 10)
    assert "Excel" in _refused(ingest(settings_for(tmp_path), [f], "police_municipale"))


def test_unknown_source_is_a_clear_failure(tmp_path):
    r = ingest(settings_for(tmp_path), [tmp_path / "x.csv"], "inconnu")
    assert r.failed and r.exit_code == 1 and "source inconnue" in r.message


def test_a_fact_dated_after_its_extraction_is_quarantined(tmp_path):
    s = settings_for(tmp_path)
    rows = _good_rows(30) + [pn_row("LATE", "05/06/2024 10:00")]  # extract of 1 February: June is impossible
    r = ingest(s, [write_pn(tmp_path / "pn_20240201.csv", rows)], "police_nationale")
    assert r.files[0].quarantined == 1
    q = store.read_quarantine(s).iloc[0]
    assert "postérieure à l'extraction" in q["reason"] and q["source_row"] == 32
