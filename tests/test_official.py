"""Official statistics (SSMSI): import quirks from in-code fixtures, storage, report summary, comparison, CLI.

Every fixture is a few hand-written lines whose counts and rates can be checked by hand.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from observatory import official
from observatory.config import get_settings
from observatory.official import OfficialError, indicators
from observatory.official import model as m

REPO = Path(__file__).resolve().parents[1]
SHARED_SSMSI = REPO.parent / "shared" / "reference" / "ssmsi"

HEADER_2026 = (
    '"CODGEO_2026";"annee";"indicateur";"unite_de_compte";"nombre";"taux_pour_mille";"est_diffuse";"insee_pop";'
    '"insee_pop_millesime";"insee_log";"insee_log_millesime";"complement_info_nombre";"complement_info_taux"'
)


def q(value) -> str:
    # As published: every field quoted except the missing ones, written NA without quotes.
    return "NA" if value is None else f'"{value}"'


def line(code, year, label, unit, nombre, taux, status, pop, log, ci_n=None, ci_t=None) -> str:
    return ";".join(q(v) for v in (code, year, label, unit, nombre, taux, status, pop, "2023", log, "2022", ci_n, ci_t))


# Lyon with round populations so that every rate is checkable by hand: city 500,000 inhabitants / 300,000
# dwellings, 1er 20,000 / 20,000, 2e 30,000 / 15,000; Villeurbanne 150,000 / 80,000.
LYON_2026 = [
    line("69123", "2024", "Cambriolages de logement", "Infraction", "3000", "10,0000000", "diff", "500000", "300000"),
    line("69123", "2023", "Cambriolages de logement", "Infraction", "2700", "9,0000000", "diff", "500000", "300000"),
    line("69123", "2024", "Violences sexuelles", "Victime", "500", "1,0000000", "diff", "500000", "300000"),
    line("69381", "2024", "Cambriolages de logement", "Infraction", "100", "5,0000000", "diff", "20000", "20000"),
    line("69381", "2024", "Violences sexuelles", "Victime", None, None, "ndiff", "20000", "20000", "3,5000000", "0,1234567"),
    line("69382", "2024", "Violences sexuelles", "Victime", "30", "1,0000000", "diff", "30000", "15000"),
    line("69266", "2024", "Violences sexuelles", "Victime", "150", "1,0000000", "diff", "150000", "80000"),
]


def write(tmp_path: Path, lines: list[str], name: str = "ssmsi.csv", header: str = HEADER_2026, gz: bool = False, encoding: str = "utf-8") -> Path:
    text = "\n".join([header, *lines]) + "\n"
    path = tmp_path / name
    data = text.encode(encoding)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


@pytest.fixture
def settings(tmp_path):
    return get_settings(root=REPO, env={}, data_dir=tmp_path / "data")


# Import quirks ------------------------------------------------------------------------------------------------
def test_lyon_both_levels_kept_apart_and_other_communes_left_out(tmp_path, settings):
    result = official.import_official(settings, write(tmp_path, LYON_2026))
    assert result.edition == 2026
    assert (result.rows_read, result.rows) == (7, 6)  # Villeurbanne read, not kept
    df = official.read_official(settings)
    levels = df.drop_duplicates(m.CODE).set_index(m.CODE)[m.LEVEL].to_dict()
    assert levels == {"69123": "commune", "69381": "arrondissement", "69382": "arrondissement"}
    burglaries = df[(df[m.INDICATOR] == "cambriolages_logement") & (df[m.YEAR] == 2024)].set_index(m.CODE)[m.COUNT]
    # The city row is the file's own figure, never the sum of its arrondissements (3000, not 3000 + 100).
    assert burglaries.to_dict() == {"69123": 3000, "69381": 100}


def test_other_communes_on_request(tmp_path, settings):
    official.import_official(settings, write(tmp_path, LYON_2026), communes=[*m.LYON_CODES, "69266"])
    df = official.read_official(settings, codes=["69266"])
    assert df[[m.LEVEL, m.COUNT]].values.tolist() == [["commune", 150]]


def test_ndiff_keeps_count_empty_and_never_exposes_complement_info(tmp_path, settings):
    official.import_official(settings, write(tmp_path, LYON_2026))
    df = official.read_official(settings)
    row = df[(df[m.CODE] == "69381") & (df[m.INDICATOR] == "violences_sexuelles")].iloc[0]
    assert not row[m.DIFFUSED]
    assert pd.isna(row[m.COUNT]) and pd.isna(row[m.RATE])
    assert not any(c.startswith("complement") for c in df.columns)
    # The département average 3.5 / 0.1234567 must appear nowhere as this arrondissement's figure.
    numbers = df.select_dtypes("number").astype("Float64")
    assert not numbers.isin([3.5, 0.1234567]).any().any()
    summary = official.report_summary(settings, 2024, code="69381")
    sexual = next(r for r in summary if r["indicator"] == "violences_sexuelles")
    assert (sexual["count"], sexual["rate"], sexual["diffused"]) == (None, None, False)


def test_ndiff_row_with_a_figure_is_blanked_and_reported(tmp_path, settings):
    lines = [line("69123", "2024", "Vols avec armes", "Infraction", "7", "0,0140000", "ndiff", "500000", "300000")]
    result = official.import_official(settings, write(tmp_path, lines))
    assert any("ndiff" in w for w in result.warnings)
    assert official.read_official(settings)[m.COUNT].isna().all()


def test_burglary_rate_per_dwellings_others_per_inhabitants(tmp_path, settings):
    result = official.import_official(settings, write(tmp_path, LYON_2026))
    assert result.rate_mismatches == 0 and result.rate_checked == 5
    df = official.read_official(settings).set_index([m.CODE, m.YEAR, m.INDICATOR])
    burglary = df.loc[("69381", 2024, "cambriolages_logement")]
    assert burglary[m.RATE_BASE] == "logements"
    assert burglary[m.RATE_RECOMPUTED] == pytest.approx(100 * 1000 / 20000)
    sexual = df.loc[("69382", 2024, "violences_sexuelles")]
    assert sexual[m.RATE_BASE] == "habitants"
    assert sexual[m.RATE_RECOMPUTED] == pytest.approx(30 * 1000 / 30000)
    assert official.rate_unit("cambriolages_logement") == "pour 1\u00a0000 logements"


def test_rate_that_does_not_recompute_is_flagged(tmp_path, settings):
    # A burglary rate computed per inhabitant (3000 / 500,000 = 6 ‰) instead of per dwelling (10 ‰).
    lines = [line("69123", "2024", "Cambriolages de logement", "Infraction", "3000", "6,0000000", "diff", "500000", "300000")]
    result = official.import_official(settings, write(tmp_path, lines))
    assert result.rate_mismatches == 1
    assert "ligne 2" in result.warnings[0]
    row = official.read_official(settings).iloc[0]
    assert row[m.RATE] == pytest.approx(6.0) and row[m.RATE_RECOMPUTED] == pytest.approx(10.0)
    assert not row[m.RATE_CONSISTENT]


def test_edition_from_geography_column_and_older_labels_mapped(tmp_path, settings):
    header = "CODGEO_2024;annee;indicateur;unite_de_compte;nombre;taux_pour_mille;est_diffuse;insee_pop;COM_CODE;Nom_clean"
    lines = [
        "69123;2017;Coups et blessures volontaires intrafamiliaux;Victime;701;1,4020000;diff;500000;69123;LYON",
        "69123;2017;Autres coups et blessures volontaires;Victime;1752;3,504;diff;500000;69123;LYON",
        "69123;2017;Coups et blessures volontaires;Victime;2453;4,906;diff;500000;69123;LYON",
        "69123;2017;Vols de véhicules;Véhicule;1801;3,602;diff;500000;69123;LYON",
        "69123;2017;Escroqueries;Victime;3752;7,504;diff;500000;69123;LYON",
        # Empty instead of NA, as a re-user wrote it; no insee_log column so the burglary rate is not checkable.
        "69123;2017;Cambriolages de logement;Infraction;3301;10,95;diff;500000;69123;LYON",
        "69381;2017;Vols avec armes;Infraction;;;ndiff;20000;69381;LYON 1",
    ]
    result = official.import_official(settings, write(tmp_path, lines, header=header))
    assert result.edition == 2024 and result.rate_mismatches == 0 and result.rate_checked == 5
    df = official.read_official(settings).set_index(m.PUBLISHED_LABEL)
    assert df.loc["Coups et blessures volontaires intrafamiliaux", m.INDICATOR] == "violences_physiques_intrafamiliales"
    assert df.loc["Autres coups et blessures volontaires", m.INDICATOR_LABEL] == "Violences physiques hors cadre familial"
    assert df.loc["Vols de véhicules", m.INDICATOR_LABEL] == "Vols de véhicule"
    assert df.loc["Escroqueries", m.INDICATOR] == "escroqueries"
    assert df.loc["Coups et blessures volontaires", m.INDICATOR] == "coups_et_blessures_volontaires"
    assert pd.isna(df.loc["Cambriolages de logement", m.RATE_CONSISTENT])
    assert pd.isna(df.loc["Vols avec armes", m.COUNT])


def test_every_2026_label_and_nomenclature_indicator_is_in_the_stable_list():
    from observatory import schema

    for label in schema.SSMSI_INDICATORS_2026:
        assert indicators.indicator_label(indicators.indicator_code(label)) == label
    assert indicators.indicator_code("  VOLS D’ACCESSOIRES SUR VEHICULES ") == "vols_accessoires_vehicules"
    mapped = indicators.category_indicators()
    assert mapped["cambriolages_logement"] == "cambriolages_logement"
    assert mapped["violences_intrafamiliales"] == "violences_physiques_intrafamiliales"
    assert "menaces_injures" not in mapped


def test_unknown_indicator_is_kept_and_reported(tmp_path, settings):
    lines = [line("69123", "2024", "Atteintes à l'environnement", "Infraction", "12", "0,0240000", "diff", "500000", "300000")]
    result = official.import_official(settings, write(tmp_path, lines))
    assert "Atteintes à l'environnement" in result.warnings[0]
    row = official.read_official(settings).iloc[0]
    assert (row[m.INDICATOR], row[m.COUNT]) == ("autre_atteintes_a_l_environnement", 12)


def test_gzip_and_cp1252_and_decimal_dot(tmp_path, settings):
    lines = [line("69123", "2024", "Destructions et dégradations volontaires", "Infraction", "5000", "10.0", "diff", "500000", "300000")]
    result = official.import_official(settings, write(tmp_path, lines, name="ssmsi.csv.gz", gz=True))
    assert result.rows == 1
    result = official.import_official(settings, write(tmp_path, lines, name="excel.csv", encoding="cp1252"))
    df = official.read_official(settings)
    assert df[m.PUBLISHED_LABEL].tolist() == ["Destructions et dégradations volontaires"]
    assert df[m.RATE].tolist() == [10.0]


# Bad input: one message naming file, line and column -----------------------------------------------------------
@pytest.mark.parametrize(
    ("lines", "header", "expected"),
    [
        ([line("69123", "2024", "Vols avec armes", "Infraction", "1x2", "0,1", "diff", "500000", "300000")], HEADER_2026,
         "bad.csv, ligne 2, colonne « nombre » : « 1x2 »"),
        ([line("69123", "20x4", "Vols avec armes", "Infraction", "12", "0,1", "diff", "500000", "300000")], HEADER_2026,
         "bad.csv, ligne 2, colonne « annee »"),
        ([line("69123", "2024", "Vols avec armes", "Infraction", "12", "0,1", "peut-être", "500000", "300000")], HEADER_2026,
         "bad.csv, ligne 2, colonne « est_diffuse »"),
        ([line("69123", "2024", "Vols avec armes", "Infraction", "12", "abc", "diff", "500000", "300000")], HEADER_2026,
         "bad.csv, ligne 2, colonne « taux_pour_mille »"),
        ([line("69123", "2024", "Vols avec armes", "Infraction", None, None, "diff", "500000", "300000")], HEADER_2026,
         "bad.csv, ligne 2, colonne « nombre » : valeur absente alors que est_diffuse = diff"),
        ([line("69123", "2024", "Vols avec armes", "Infraction", "1", "0,002", "diff", "500000", "300000"), '"69123";"2024"'], HEADER_2026,
         "bad.csv : ligne 3 : 2 champs au lieu de 13"),
        ([line("69123", "2024", "Vols avec armes", "Infraction", "1", "0,002", "diff", "500000", "300000")] * 2, HEADER_2026,
         "bad.csv, lignes 2, 3, colonne « indicateur »"),
        (["69123;2024"], "CODE;annee", "bad.csv, ligne 1 : aucune colonne de géographie"),
        (["69123;2024"], "CODGEO_2026;annee", "bad.csv, ligne 1 : colonne(s) absente(s) : indicateur"),
        ([], HEADER_2026, "bad.csv : aucune ligne de données"),
    ],
)
def test_bad_files_give_one_clear_message(tmp_path, settings, lines, header, expected):
    with pytest.raises(OfficialError) as err:
        official.import_official(settings, write(tmp_path, lines, name="bad.csv", header=header))
    assert expected in str(err.value)
    assert "\n" not in str(err.value)
    assert not (official.official_store_dir(settings) / "manifest.json").exists()


def test_several_problems_are_counted_and_the_first_is_named(tmp_path, settings):
    lines = [
        line("69123", "2024", "Vols avec armes", "Infraction", "12", "0,024", "diff", "500000", "300000"),
        line("69123", "2023", "Vols avec armes", "Infraction", "-3", "0,1", "diff", "500000", "300000"),
        line("69381", "2023", "Vols avec armes", "Infraction", "4", "0,1", "diff", "beaucoup", "300000"),
    ]
    with pytest.raises(OfficialError, match=r"ligne 3, colonne « nombre » : « -3 ».*\(et 1 autre\(s\) problème\(s\)\)"):
        official.import_official(settings, write(tmp_path, lines, name="bad.csv"))


def test_truncated_gzip_and_missing_file(tmp_path, settings):
    # Small (cut inside the header sample) and large (cut while streaming: beyond the 64 kB sample).
    for copies in (50, 2000):
        path = write(tmp_path, LYON_2026 * copies, name="cut.csv.gz", gz=True)
        path.write_bytes(path.read_bytes()[:-40])
        with pytest.raises(OfficialError, match="cut.csv.gz : lecture interrompue"):
            official.import_official(settings, path)
    with pytest.raises(OfficialError, match="absent.csv : fichier introuvable"):
        official.import_official(settings, tmp_path / "absent.csv")


def test_no_wanted_commune_in_file_stores_nothing(tmp_path, settings):
    lines = [line("13055", "2024", "Vols avec armes", "Infraction", "391", "0,782", "diff", "500000", "300000")]
    with pytest.raises(OfficialError, match="aucune ligne pour 69123"):
        official.import_official(settings, write(tmp_path, lines))


def test_normalize_is_pure(tmp_path):
    raw = official.read_ssmsi_file(write(tmp_path, LYON_2026)).frame
    before = raw.copy()
    official.normalize_official(raw, 2026, "x.csv")
    pd.testing.assert_frame_equal(raw, before)


# Storage, manifest, editions -----------------------------------------------------------------------------------
def test_manifest_and_editions(tmp_path, settings):
    official.import_official(settings, write(tmp_path, LYON_2026), production_date="2026-03-12")
    header_2025 = HEADER_2026.replace("CODGEO_2026", "CODGEO_2025")
    older = [line("69123", "2023", "Cambriolages de logement", "Infraction", "2650", "8,8333333", "diff", "500000", "300000")]
    official.import_official(settings, write(tmp_path, older, name="old.csv", header=header_2025))
    manifest = official.official_manifest(settings)
    assert sorted(manifest["editions"]) == ["2025", "2026"]
    entry = manifest["editions"]["2026"]
    assert (entry["production_date"], entry["rows"], entry["rows_read"], entry["years"]) == ("2026-03-12", 6, 7, [2023, 2024])
    assert (official.official_store_dir(settings) / entry["file"]).exists()
    # The newest edition is read by default: 2023 burglaries are 2700 there, 2650 in the 2025 edition.
    city = official.read_official(settings, codes=["69123"], years=[2023])
    assert city[m.COUNT].tolist() == [2700]
    assert official.read_official(settings, edition=2025, codes=["69123"])[m.COUNT].tolist() == [2650]
    with pytest.raises(OfficialError, match="édition 2019 non importée"):
        official.read_official(settings, edition=2019)


def test_reimport_replaces_the_edition_and_removes_the_old_file(tmp_path, settings):
    official.import_official(settings, write(tmp_path, LYON_2026))
    first = official.edition_info(settings)["file"]
    official.import_official(settings, write(tmp_path, LYON_2026[:2], name="v2.csv"))
    second = official.edition_info(settings)["file"]
    assert first != second
    assert sorted(p.name for p in official.official_store_dir(settings).glob("*.parquet")) == [second]
    assert len(official.read_official(settings)) == 2


def test_nothing_imported_reads_empty(settings):
    assert official.read_official(settings).empty
    assert list(official.read_official(settings).columns) == list(m.OFFICIAL_COLUMNS)
    assert official.report_summary(settings, 2024) == []


def test_report_summary(tmp_path, settings):
    official.import_official(settings, write(tmp_path, LYON_2026), production_date="2026-03-12")
    rows = {r["indicator"]: r for r in official.report_summary(settings, 2024)}
    assert set(rows) == {"cambriolages_logement", "violences_sexuelles"}
    burglary = rows["cambriolages_logement"]
    assert (burglary["count"], burglary["previous_count"], burglary["rate"]) == (3000, 2700, 10.0)
    assert burglary["rate_unit"] == "pour 1\u00a0000 logements"
    assert burglary["edition"] == 2026 and burglary["production_date"] == "2026-03-12"
    assert "édition 2026, produite le 12/03/2026" in burglary["source"]
    assert rows["violences_sexuelles"]["previous_count"] is None


# Comparison with the observatory ------------------------------------------------------------------------------
def test_comparison_city_counts_unlocated_and_years_without_data_stay_empty(tmp_path, settings):
    official.import_official(settings, write(tmp_path, LYON_2026))
    counts = pd.DataFrame(
        {
            "year": [2024, 2024, 2024, 2024, 2024],
            "arrondissement": ["69381", "69381", None, "69382", "69382"],
            "category": ["cambriolages_logement", "cambriolages_logement", "cambriolages_logement", "violences_sexuelles", "incivilites"],
            "count": [40, 2, 10, 7, 99],
        }
    )
    obs = official.observatory_indicator_counts(counts)
    out = official.official_vs_observatory(official.read_official(settings), obs).set_index([m.CODE, m.YEAR, m.INDICATOR])
    city = out.loc[("69123", 2024, "cambriolages_logement")]
    # 42 located in the 1er + 10 without arrondissement; incivilités have no SSMSI match and stay out.
    assert (city["official_count"], city["observatory_count"], city["difference"]) == (3000, 52, 52 - 3000)
    assert city["ratio"] == pytest.approx(52 / 3000)
    assert out.loc[("69381", 2024, "cambriolages_logement"), "observatory_count"] == 42
    assert out.loc[("69123", 2024, "violences_sexuelles"), "observatory_count"] == 7
    # No observatory data in 2023: unknown, not zero.
    assert pd.isna(out.loc[("69123", 2023, "cambriolages_logement"), "observatory_count"])
    # A covered year without a fact of the category is a true zero; a non-diffused official figure gives no gap.
    ndiff = out.loc[("69381", 2024, "violences_sexuelles")]
    assert ndiff["observatory_count"] == 0 and pd.isna(ndiff["official_count"]) and pd.isna(ndiff["difference"])
    assert "lieu" in official.DIFFERENCE_NOTE and "requalifi" in official.DIFFERENCE_NOTE


# CLI ---------------------------------------------------------------------------------------------------------
def test_cli_import_show_and_bad_file(tmp_path):
    from observatory.cli import app

    env = {"OBSERVATORY_DATA_DIR": str(tmp_path / "data")}
    runner = CliRunner()
    result = runner.invoke(app, ["official", "import", str(write(tmp_path, LYON_2026))], env=env)
    assert result.exit_code == 0, result.output
    assert "Édition 2026 importée : 6 lignes gardées sur 7 lues" in result.output
    result = runner.invoke(app, ["official", "show", "--code", "69381"], env=env)
    assert result.exit_code == 0, result.output
    assert "non diffusé" in result.output and "Lyon 1er — 2024" in result.output
    bad = write(tmp_path, ['"69123";"2024"'], name="bad.csv")
    result = runner.invoke(app, ["official", "import", str(bad)], env=env)
    assert result.exit_code == 1
    assert "bad.csv : ligne 2 : 2 champs au lieu de 13" in result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)  # a clean exit, not an escaped exception


# Real reference files (../shared/reference/ssmsi) ------------------------------------------------------------
def _reference(name: str) -> Path:
    path = SHARED_SSMSI / name
    if not path.exists():
        pytest.skip(f"reference data not available: shared/reference/ssmsi/{name} (../shared is absent)")
    return path


def test_reference_excerpt_2026(settings):
    path = _reference("ssmsi-communes-excerpt-45rows.csv")
    result = official.import_official(settings, path, communes=None)
    assert (result.edition, result.rows_read, result.rows, result.ndiff_rows) == (2026, 45, 45, 8)
    df = official.read_official(settings)
    ndiff = df[~df[m.DIFFUSED]]
    assert ndiff[m.COUNT].isna().all() and ndiff[m.RATE].isna().all()
    assert set(zip(ndiff[m.CODE], ndiff[m.INDICATOR])) >= {("01071", "violences_sexuelles"), ("13204", "vols_avec_armes")}
    # Every diffused rate recomputes from the count and the population (dwellings for burglaries).
    diffused = df[df[m.DIFFUSED]]
    assert result.rate_checked == len(diffused) == 37 and result.rate_mismatches == 0
    assert diffused[m.RATE_CONSISTENT].all()
    burglary = diffused[(diffused[m.CODE] == "13055") & (diffused[m.INDICATOR] == "cambriolages_logement")].iloc[0]
    assert burglary[m.COUNT] == 4346 and burglary[m.DWELLINGS] == 466276
    assert burglary[m.RATE] == pytest.approx(4346 * 1000 / 466276, abs=1e-4)
    marseille = diffused[(diffused[m.CODE] == "13055") & (diffused[m.INDICATOR] == "violences_sexuelles")].iloc[0]
    assert marseille[m.RATE] == pytest.approx(1658 * 1000 / 886040, abs=1e-6)
    assert set(df[m.INDICATOR]) <= set(indicators.BY_CODE) and df[m.INDICATOR].nunique() == 15


def test_reference_subset_2016_2017_lyon_once(settings):
    path = _reference("ssmsi_cityfighter_communes_gt20k_2016-2017_subset.csv")
    result = official.import_official(settings, path)
    assert (result.edition, result.rows_read) == (2024, 12528)
    df = official.read_official(settings)
    assert set(df[m.CODE]) == {"69123"} and set(df[m.LEVEL]) == {"commune"}
    per_key = df.groupby([m.YEAR, m.INDICATOR]).size()
    assert len(per_key) == 32 and (per_key == 1).all()  # 16 indicators x 2 years, once each
    city = df.set_index([m.YEAR, m.INDICATOR])
    assert city.loc[(2016, "coups_et_blessures_volontaires"), m.COUNT] == 2689
    assert city.loc[(2017, "vols_de_vehicule"), m.PUBLISHED_LABEL] == "Vols de véhicules"
    assert result.rate_mismatches == 0 and result.rate_checked == 30  # burglaries: no insee_log in this file


def test_reference_subset_all_communes(settings):
    path = _reference("ssmsi_cityfighter_communes_gt20k_2016-2017_subset.csv")
    result = official.import_official(settings, path, communes=None)
    assert result.rows == 12528 and result.ndiff_rows == 680 and len(result.codes) == 498
    assert official.edition_info(settings)["codes"] is None  # too many to list in the manifest
    assert json.loads((official.official_store_dir(settings) / "manifest.json").read_text())["editions"]["2024"]["communes"] == 498
