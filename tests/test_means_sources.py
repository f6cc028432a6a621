"""Aggregated partner sources (MJD, victim support, elucidation): profiles, mapping, publication discipline."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from observatory.means import sources as src
from observatory.means import store

NOW = datetime(2025, 2, 1, 9, 0)
HEADER = "Mois;Arrondissement;Activité;Nombre\n"


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def test_shipped_profiles_load(settings):
    names = src.aggregate_source_names(settings)
    assert names == ["aide_victimes", "elucidation", "mjd"]
    for name in names:
        profile = src.load_aggregate_profile(settings, name)
        assert profile.count_column and profile.period_column
    assert src.load_aggregate_profile(settings, "mjd").indicator_labels["Rappel à l'ordre"] == "rappels_ordre"


def test_mapping_quarantines_each_bad_row_with_line_column_and_reason(settings):
    profile = src.load_aggregate_profile(settings, "mjd")
    rows = pd.DataFrame({"Mois": ["01/2023", "13/2023", "01/2023", "01/2023", "02/2023", "01/2023"],
                         "Arrondissement": ["3e", "3", "Villeurbanne", "69383", "Lyon", "3e"],
                         "Activité": ["RAPPEL A L'ORDRE", "TIG", "TIG", "Jardinage", "Consultations juridiques", "Rappel à l'ordre"],
                         "Nombre": ["12", "2", "1", "4", "1 204", "3"]})
    cells, bad = src.map_rows(rows, [2, 3, 4, 5, 6, 7], profile, "mjd.csv")
    assert len(cells) + len(bad) == len(rows)
    assert list(cells["indicator"]) == ["rappels_ordre", "mjd_consultations"]
    assert list(cells["arrondissement"]) == ["69383", "69123"] and list(cells["count"]) == [12, 1204]
    found = {(r.row, r.column) for r in bad.itertuples()}
    assert found == {(3, "Mois"), (4, "Arrondissement"), (5, "Activité"), (7, "Nombre")}
    assert "cellule en double" in bad.set_index("row").loc[7, "reason"] and "ligne 2" in bad.set_index("row").loc[7, "reason"]


def test_ingest_publishes_atomically_and_is_idempotent(settings):
    path = write(settings.raw_dir / "mjd" / "mjd_20240110.csv", HEADER + "01/2023;3e;Rappel à l'ordre;12\n01/2023;3e;TIG;2\n")
    result = store.ingest_aggregates(settings, [path], "mjd", now=NOW)
    assert result.published
    rep = result.files[0]
    assert (rep.read, rep.accepted, rep.quarantined) == (2, 2, 0)
    cells = store.read_cells(settings)
    assert cells["count"].sum() == 14 and set(cells["source"]) == {"mjd"}
    assert cells["extracted_at"].iloc[0] == pd.Timestamp(2024, 1, 10)
    version = store.current_version(settings)
    again = store.ingest_aggregates(settings, [path], "mjd", now=NOW)
    assert not again.published and again.files[0].status == "already_ingested"
    assert store.current_version(settings) == version
    manifest = store.read_manifest(settings)
    assert [(f["file"], f["read"], f["accepted"], f["quarantined"]) for f in manifest["files"]] == [("mjd_20240110.csv", 2, 2, 0)]


def test_latest_extract_wins_and_replacements_are_counted(settings):
    old = write(settings.raw_dir / "mjd" / "mjd_20240110.csv", HEADER + "01/2023;3e;Rappel à l'ordre;12\n01/2023;3e;TIG;2\n")
    new = write(settings.raw_dir / "mjd" / "mjd_20240210.csv", HEADER + "01/2023;3e;Rappel à l'ordre;15\n02/2023;3e;TIG;1\n")
    store.ingest_aggregates(settings, [old], "mjd", now=NOW)
    result = store.ingest_aggregates(settings, [new], "mjd", now=NOW)
    assert result.files[0].replaced == 1
    cells = store.read_cells(settings).set_index(["indicator", "month"])["count"]
    assert cells[("rappels_ordre", pd.Timestamp(2023, 1, 1))] == 15
    assert cells.sum() == 15 + 2 + 1


def test_refused_file_publishes_nothing_and_says_where(settings):
    good = write(settings.raw_dir / "mjd" / "mjd_20240110.csv", HEADER + "01/2023;3e;TIG;2\n")
    store.ingest_aggregates(settings, [good], "mjd", now=NOW)
    version = store.current_version(settings)
    bad = write(settings.raw_dir / "mjd" / "mjd_20240310.csv", HEADER + "01/2023;3e;TIG;deux\n02/2023;3e;TIG;1\n")
    result = store.ingest_aggregates(settings, [bad], "mjd", now=NOW)
    assert not result.published and result.files[0].status == "refused"
    assert "ligne 2, colonne « Nombre »" in result.files[0].message and "nombre « deux » invalide" in result.files[0].message
    assert store.current_version(settings) == version and store.read_cells(settings)["count"].sum() == 2


def test_strict_encoding_and_missing_columns_are_refused_with_a_message(settings):
    wrong = write(settings.raw_dir / "mjd" / "mjd_20240410.csv", "Mois;Arr;Nombre\n01/2023;3e;2\n")
    result = store.ingest_aggregates(settings, [wrong], "mjd", now=NOW)
    assert result.files[0].status == "refused" and "Activité" in result.files[0].message
    assert store.current_version(settings) is None


def test_victims_from_excel_keep_categories_and_unmapped_labels_are_reported(settings, tmp_path):
    frame = pd.DataFrame({"Mois": [datetime(2023, 1, 1), datetime(2023, 1, 1), datetime(2023, 2, 1)],
                          "Arrondissement": ["Lyon 3e", "Lyon 3e", "Lyon 7e"],
                          "Type de faits": ["Violences sexuelles", "Cambriolage", "Autre chose"],
                          "Victimes reçues": [3, 7, 1]})
    path = tmp_path / "aide_victimes_2023-03.xlsx"
    frame.to_excel(path, index=False)
    result = store.ingest_aggregates(settings, [path], "aide_victimes", now=NOW)
    assert result.published, result.files[0].message
    assert result.files[0].unmapped_categories == {"Autre chose": 1}
    cells = store.read_cells(settings)
    assert sorted(cells["category"]) == ["cambriolages_logement", "non_classe", "violences_sexuelles"]
    assert set(cells["month"]) == {pd.Timestamp(2023, 1, 1), pd.Timestamp(2023, 2, 1)}


def test_bad_profile_is_named(tmp_path):
    path = tmp_path / "x.toml"
    path.write_text('[source]\nname = "x"\n[period]\ncolumn = "Mois"\nformat = "%m/%Y"\n[location]\narrondissement = "A"\n'
                    '[columns]\ncount = "N"\nindicator = "I"\nindicator_value = "tig"\n', encoding="utf-8")
    with pytest.raises(src.AggregateProfileError, match="x.toml: \\[columns\\] indiquer soit indicator"):
        src.load_aggregate_profile_file(path)
