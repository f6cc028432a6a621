"""Exposure series as data: profiles, validation messages (file, row, column), the store, the command, the setting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from observatory import exposure
from observatory.config import get_settings
from observatory.exposure import store
from observatory.exposure.profiles import ExposureProfileError, load_exposure_profile
from observatory.exposure.validation import ExposureInputError, read_exposure_file
from tests.conftest import REPO

PROFILE = """
[series]
name = "frequentation_test"
label = "Fréquentation test"
kind = "entrees_piscine"
source = "Direction des Sports"
vintage = 2025
unit_type = "zone"
absent = "zero"

[file]
delimiter = ";"
decimal = ","
thousands = "."

[columns]
unit = "Piscine"
period = "Mois"
period_format = "%m/%Y"
value = "Entrées"

[units]
"Piscine de Vaise" = "piscine_vaise"
"Piscine Mermoz" = "piscine_mermoz"
"Piscine privée" = ""
"""


def _write(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = folder / name
    path.write_text(text, encoding=encoding)
    return path


def test_the_setting_has_a_default_and_moves_the_profiles(tmp_path):
    assert get_settings(root=REPO, env={}).exposure_profiles_path == REPO / "data" / "raw" / "exposure"
    moved = get_settings(root=REPO, env={"OBSERVATORY_EXPOSURE_PROFILES_DIR": str(tmp_path)})
    assert moved.exposure_profiles_path == tmp_path
    _write(tmp_path, "p.toml", PROFILE)
    assert exposure.load_profile(moved, "p").name == "frequentation_test"


def test_a_profile_lists_every_problem_at_once_with_the_key(tmp_path):
    bad = _write(tmp_path, "bad.toml", """
[series]
name = "x"
kind = "logements"
unit_typ = "zone"
absent = "zero"
categories = ["cambriolages", "cambriolages_logement"]

[colonnes]
unit = "a"

[columns]
unit = "CODGEO"
value = "LOG"
hour_band = "tranche"
""")
    with pytest.raises(ExposureProfileError) as err:
        load_exposure_profile(bad, known_categories={"cambriolages_logement"})
    msg = str(err.value)
    assert msg.startswith("bad.toml : ")
    for part in ("[series] unit_typ : clé inconnue (vouliez-vous dire « unit_type » ?)", "[colonnes] : section inconnue (vouliez-vous dire « columns » ?)",
                 "[series] source : obligatoire", "[series] vintage : obligatoire", "[columns] period : obligatoire",
                 "« zero » n'a de sens que pour un flux", "tranches horaires ne valent que pour population_presente",
                 "[series] categories : catégories inconnues de la nomenclature : cambriolages ;"):
        assert part in msg, part


def test_the_demo_profiles_are_valid(settings):
    names = sorted(p.stem for p in settings.exposure_profiles_path.glob("*.toml"))
    assert len(names) == 6
    kinds = {exposure.load_profile(settings, n).kind for n in names}
    assert kinds == set(exposure.KINDS)


def test_bad_rows_refuse_the_file_with_file_row_and_column(tmp_path):
    profile = load_exposure_profile(_write(tmp_path, "p.toml", PROFILE))
    data = _write(tmp_path, "frequentation.csv", "Piscine;Mois;Entrées\n"
                  "Piscine de Vaise;07/2025;12.345\n"
                  "Piscine Mermoz;13/2025;100\n"
                  "Piscine de Vaize;07/2025;100\n"
                  "Piscine Mermoz;08/2025;beaucoup\n"
                  "Piscine Mermoz;09/2025;-5\n"
                  "Piscine de Vaise;07/2025;1\n"
                  ";07/2025;1\n")
    with pytest.raises(ExposureInputError) as err:
        read_exposure_file(data, profile, known_zones={"piscine_vaise", "piscine_mermoz"})
    msg = str(err.value)
    assert msg.startswith("frequentation.csv : 6 problème(s), fichier refusé")
    assert "ligne 3, colonne « Mois » : période « 13/2025 » illisible (format attendu %m/%Y, par exemple 07/2025)" in msg
    assert "ligne 4, colonne « Piscine » : unité « Piscine de Vaize » absente de la section [units] du profil" in msg
    assert "ligne 5, colonne « Entrées » : valeur « beaucoup » illisible (nombre attendu)" in msg
    assert "ligne 6, colonne « Entrées » : valeur « -5 » négative" in msg
    assert "ligne 7, colonne « Mois » : ligne en double" in msg
    assert "ligne 8, colonne « Piscine » : unité manquante" in msg


def test_columns_missing_and_unknown_units_are_named(tmp_path):
    profile = load_exposure_profile(_write(tmp_path, "p.toml", PROFILE.replace('"Piscine Mermoz" = "piscine_mermoz"', '"Piscine Mermoz" = "piscine_mermouz"')))
    with pytest.raises(ExposureInputError, match=r"f\.csv : colonnes absentes : Entrées \(colonnes du fichier : Piscine, Mois, Entrees\)"):
        read_exposure_file(_write(tmp_path, "f.csv", "Piscine;Mois;Entrees\nPiscine Mermoz;07/2025;1\n"), profile)
    with pytest.raises(ExposureInputError, match=r"ligne 2, colonne « Piscine » : unité « piscine_mermouz » inconnue"):
        read_exposure_file(_write(tmp_path, "g.csv", "Piscine;Mois;Entrées\nPiscine Mermoz;07/2025;1\n"), profile, known_zones={"piscine_mermoz"})


def test_rows_mapped_to_nothing_are_counted_as_ignored_and_numbers_read_the_french_way(tmp_path):
    profile = load_exposure_profile(_write(tmp_path, "p.toml", PROFILE))
    data = _write(tmp_path, "f.csv", "Piscine;Mois;Entrées\nPiscine de Vaise;07/2025;12.345\nPiscine privée;07/2025;999\nPiscine Mermoz;07/2025;1 234,5\n")
    result = read_exposure_file(data, profile, known_zones={"piscine_vaise", "piscine_mermoz"})
    assert (result.read, len(result.table), result.ignored) == (3, 2, 1)
    assert result.table["value"].tolist() == [12345.0, 1234.5]
    assert result.table["unit"].tolist() == ["piscine_vaise", "piscine_mermoz"]
    assert str(result.table["period_start"].iloc[0]) == "2025-07-01" and str(result.table["period_end"].iloc[0]) == "2025-07-31"


def test_arrondissements_iris_and_hour_bands(tmp_path):
    prof = _write(tmp_path, "pres.toml", """
[series]
name = "presence"
kind = "population_presente"
source = "capteurs"
vintage = "2025"
unit_type = "arrondissement"
[columns]
unit = "arr"
period = "annee"
period_kind = "year"
value = "n"
hour_band = "tranche"
""")
    profile = load_exposure_profile(prof)
    ok = read_exposure_file(_write(tmp_path, "ok.csv", "arr,annee,tranche,n\n1,2025,07-19,100\n69381,2025,19h-24h,50\n"), profile)
    assert ok.table["unit"].tolist() == ["69381", "69381"] and ok.table["hour_band"].tolist() == ["07-19", "19-24"]
    with pytest.raises(ExposureInputError) as err:
        read_exposure_file(_write(tmp_path, "bad.csv", "arr,annee,tranche,n\n10,2025,07-19,1\n2,2025,matin,1\n3,2025,00-20,1\n3,2025,12-24,1\n"), profile)
    msg = str(err.value)
    assert "ligne 2, colonne « arr » : unité « 10 » inconnue (attendu : 1 à 9 ou 69381 à 69389)" in msg
    assert "ligne 3, colonne « tranche » : tranche horaire « matin » illisible" in msg
    assert "ligne 5, colonne « tranche » : tranches horaires de « 3 » qui se recouvrent" in msg


def test_xlsx_and_encoding_errors_are_french(tmp_path):
    import pandas as pd

    profile = load_exposure_profile(_write(tmp_path, "p.toml", PROFILE.replace('delimiter = ";"', 'delimiter = ";"\nsheet = "Fréquentation"')))
    xlsx = tmp_path / "f.xlsx"
    from datetime import datetime

    # One month typed as text, one stored by Excel as a date (the first of the month).
    pd.DataFrame({"Piscine": ["Piscine de Vaise", "Piscine Mermoz"], "Mois": ["07/2025", datetime(2025, 8, 1)],
                  "Entrées": [1200, 800]}).to_excel(xlsx, sheet_name="Fréquentation", index=False)
    table = read_exposure_file(xlsx, profile).table
    assert table["value"].tolist() == [1200.0, 800.0]
    assert [str(d) for d in table["period_start"]] == ["2025-07-01", "2025-08-01"]
    other = load_exposure_profile(_write(tmp_path, "q.toml", PROFILE.replace('delimiter = ";"', 'delimiter = ";"\nsheet = "Autre"')))
    with pytest.raises(ExposureInputError, match="f.xlsx : feuille « Autre » absente du classeur"):
        read_exposure_file(xlsx, other)
    latin = _write(tmp_path, "latin.csv", "Piscine;Mois;Entrées\nPiscine de Vaise;07/2025;1\n", encoding="cp1252")
    with pytest.raises(ExposureInputError, match="latin.csv : encodage utf-8 incorrect"):
        read_exposure_file(latin, profile)


def test_store_is_idempotent_and_a_new_delivery_replaces_its_periods(settings, tmp_path):
    profile = load_exposure_profile(_write(tmp_path, "p.toml", PROFILE))
    first = _write(tmp_path, "juillet.csv", "Piscine;Mois;Entrées\nPiscine de Vaise;06/2025;100\nPiscine de Vaise;07/2025;200\n")
    r1 = exposure.import_exposure(settings, profile, first)
    assert (r1.kept, r1.unchanged, r1.first, r1.last) == (2, False, "2025-06-01", "2025-07-31")
    assert exposure.import_exposure(settings, profile, first).unchanged
    revised = _write(tmp_path, "revision.csv", "Piscine;Mois;Entrées\nPiscine de Vaise;07/2025;250\nPiscine de Vaise;08/2025;300\n")
    r2 = exposure.import_exposure(settings, profile, revised)
    assert r2.replaced_rows == 1
    table = store.read_series(settings, "frequentation_test")
    assert table["value"].tolist() == [100.0, 250.0, 300.0]
    meta = json.loads((store.exposure_dir(settings) / "frequentation_test.json").read_text(encoding="utf-8"))
    assert meta["definition"]["source"] == "Direction des Sports" and meta["definition"]["vintage"] == "2025"
    assert [f["file"] for f in meta["files"]] == ["juillet.csv", "revision.csv"]
    assert not list(store.exposure_dir(settings).glob(".*.tmp"))  # nothing left aside


def test_a_refused_file_leaves_the_store_as_it_was(settings, tmp_path):
    profile = load_exposure_profile(_write(tmp_path, "p.toml", PROFILE))
    exposure.import_exposure(settings, profile, _write(tmp_path, "a.csv", "Piscine;Mois;Entrées\nPiscine de Vaise;06/2025;100\n"))
    before = (store.exposure_dir(settings) / "frequentation_test.parquet").read_bytes()
    with pytest.raises(ExposureInputError):
        exposure.import_exposure(settings, profile, _write(tmp_path, "b.csv", "Piscine;Mois;Entrées\nPiscine de Vaise;06/2025;x\n"))
    assert (store.exposure_dir(settings) / "frequentation_test.parquet").read_bytes() == before


def test_cli_check_import_and_refusal_in_french(settings, tmp_path, monkeypatch):
    from observatory.cli import app

    monkeypatch.setattr("observatory.commands.exposure.settings_or_fail", lambda: settings)
    prof = _write(tmp_path, "p.toml", PROFILE)
    good = _write(tmp_path, "ok.csv", "Piscine;Mois;Entrées\nPiscine de Vaise;06/2025;100\nPiscine privée;06/2025;5\n")
    bad = _write(tmp_path, "ko.csv", "Piscine;Mois;Entrées\nPiscine de Vaise;06/2025;?\n")
    runner = CliRunner()
    checked = runner.invoke(app, ["exposure", "check", str(good), "--profil", str(prof)])
    assert checked.exit_code == 0, checked.output
    assert "2 lignes lues, 1 retenues, 1 ignorées" in checked.output and "Direction des Sports, millésime 2025" in checked.output
    imported = runner.invoke(app, ["exposure", "import", str(good), str(bad), "--profil", str(prof)])
    assert imported.exit_code == 1
    assert "✓ ok.csv : 2 lignes lues, 1 retenues, 1 ignorées" in imported.output
    assert "ligne 2, colonne « Entrées » : valeur « ? » illisible" in imported.output
    assert "1 fichier(s) refusé(s) sur 2" in imported.output
    assert "Traceback" not in imported.output
    missing = runner.invoke(app, ["exposure", "import", str(good), "--profil", "inexistant"])
    assert missing.exit_code == 1 and "inexistant.toml : profil d'exposition introuvable" in missing.output


def test_an_older_demo_install_gets_the_demo_series_once(settings):
    from observatory import demo

    assert demo.install_demo_exposure(settings) == []  # no demo here: nothing to add
    demo.demo_dir(settings).mkdir(parents=True)
    demo.write_marker(demo.DemoResult(out_dir=demo.demo_dir(settings), seed=42, years=(2024, 2025), scale=1.0))
    results = demo.install_demo_exposure(settings)
    assert len(results) == 6 and all(r.kept > 0 for r in results)
    assert len(store.series_names(settings)) == 6
    assert demo.install_demo_exposure(settings) == []  # already there: left alone


def test_an_exposure_import_makes_the_cached_diagnostic_stale(settings, tmp_path):
    from observatory.reports.cache import inputs_stamp

    before = inputs_stamp(settings)
    profile = load_exposure_profile(_write(tmp_path, "p.toml", PROFILE))
    exposure.import_exposure(settings, profile, _write(tmp_path, "a.csv", "Piscine;Mois;Entrées\nPiscine de Vaise;06/2025;100\n"))
    after = inputs_stamp(settings)
    assert after != before
    exposure.import_exposure(settings, profile, _write(tmp_path, "b.csv", "Piscine;Mois;Entrées\nPiscine de Vaise;06/2025;120\n"))
    assert inputs_stamp(settings) != after  # a new delivery too
