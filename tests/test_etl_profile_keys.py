"""Profile keys for real open-data extracts: id fallback, identical rows kept apart, same id twice in a file,
any EPSG code, the source time zone."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyproj import Transformer

from observatory import schema as S
from observatory import store
from observatory.etl import ingest
from tests.etl_helpers import conservation_holds, settings_for

LYON = {"69382": (4.8320, 45.7578), "69383": (4.8500, 45.7600), "69386": (4.8500, 45.7700), "69387": (4.8420, 45.7450)}


def partner(tmp_path: Path, body: str, labels: str = "label,category\nTheft,vols_sans_violence_personnes\nBurglary,cambriolages_logement\n") -> Path:
    d = tmp_path / "profiles"
    d.mkdir(exist_ok=True)
    (d / "p.toml").write_text('[source]\nname = "p"\nlabel = "Partenaire"\n[labels]\nfile = "p_labels.csv"\n' + body, encoding="utf-8")
    (d / "p_labels.csv").write_text(labels, encoding="utf-8")
    return d


def incidents(s):
    return store.current_snapshot(s).read_incidents().to_pandas().set_index(S.INCIDENT_KEY).sort_index()


BASIC = """
[file]
format = "csv"
[id]
column = "Crime ID"
build_from = ["Month", "Longitude", "Latitude", "Crime type"]
number_identical_rows = true
[time]
column = "Month"
format = "%Y-%m"
precision = "month"
[location]
crs = "EPSG:4326"
x = "Longitude"
y = "Latitude"
[columns]
label = "Crime type"
"""


def test_blank_id_falls_back_to_built_id_and_identical_rows_stay_distinct(tmp_path):
    s = settings_for(tmp_path, profiles_dir=partner(tmp_path, BASIC))
    lon, lat = LYON["69382"]
    rows = ["Crime ID,Month,Longitude,Latitude,Crime type",
            f"abc1,2024-03,{lon},{lat},Theft",
            f",2024-03,{lon},{lat},Burglary",
            f",2024-03,{lon},{lat},Burglary",  # identical to the line above: a second incident, not a duplicate
            f",2024-03,{lon},{lat},Burglary"]
    f = tmp_path / "street_2024-03.csv"
    f.write_text("\n".join(rows) + "\n", encoding="utf-8")
    r = ingest(s, [f], "p")
    f0 = r.files[0]
    assert r.exit_code == 0 and conservation_holds(r)
    assert (f0.rows_read, f0.accepted, f0.quarantined, f0.duplicates) == (4, 4, 0, 0)
    df = incidents(s)
    built = sorted(k for k in df.index if k != "p:abc1")
    assert len(built) == 3 and built[0] + "-2" in built and built[0] + "-3" in built
    assert any("sans Crime ID" in n for n in f0.notes) and any("number_identical_rows" in n for n in f0.notes)
    # The same extract again under another name: the same ids, so duplicates, not three new incidents.
    g = tmp_path / "street_2024-03_bis.csv"
    g.write_bytes(("\r\n".join(rows) + "\r\n").encode("utf-8"))  # other bytes (not skipped as already ingested), same rows
    r2 = ingest(s, [g], "p")
    assert (r2.files[0].accepted, r2.files[0].duplicates) == (0, 4) and len(incidents(s)) == 4


@pytest.mark.parametrize("rule", ["last_located", "last"])
def test_same_id_located_then_unlocated_follows_the_documented_rule(tmp_path, rule):
    body = BASIC.replace("number_identical_rows = true", f'within_file = "{rule}"')
    s = settings_for(tmp_path, profiles_dir=partner(tmp_path, body))
    lon, lat = LYON["69383"]
    f = tmp_path / "street_2024-03.csv"
    f.write_text(f"Crime ID,Month,Longitude,Latitude,Crime type\nX9,2024-03,{lon},{lat},Theft\nX9,2024-03,,,Theft\n", encoding="utf-8")
    r = ingest(s, [f], "p")
    f0 = r.files[0]
    assert conservation_holds(r) and (f0.rows_read, f0.accepted, f0.duplicates, f0.revisions) == (2, 2, 0, 1)
    row = incidents(s).loc["p:X9"]
    (note,) = [n for n in f0.notes if "plusieurs lignes" in n]
    if rule == "last_located":
        assert row[S.SOURCE_ROW] == 2 and row[S.ARRONDISSEMENT] == "69383"
        assert "plutôt qu'une ligne suivante sans localisation" in note
    else:
        assert row[S.SOURCE_ROW] == 3 and row[S.LOCATION_QUALITY] == "none"
        assert "une ligne sans localisation a remplacé une ligne localisée" in note


@pytest.mark.parametrize("crs", ["EPSG:3946", "EPSG:3435", "EPSG:2232"])  # CC46; Illinois East and Colorado Central (US feet)
def test_any_epsg_round_trips_to_the_right_arrondissement(tmp_path, crs):
    body = f"""
[file]
format = "csv"
delimiter = ";"
[id]
column = "id"
[time]
column = "date"
format = "%d/%m/%Y"
[location]
crs = "{crs}"
x = "X"
y = "Y"
[columns]
label = "type"
"""
    s = settings_for(tmp_path, profiles_dir=partner(tmp_path, body))
    to = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    lines = ["id;date;X;Y;type"]
    for code, (lon, lat) in LYON.items():
        x, y = to.transform(lon, lat)
        lines.append(f"{code};03/02/2024;{x:.3f};{y:.3f};Theft")
    f = tmp_path / "faits.csv"
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    r = ingest(s, [f], "p")
    assert r.exit_code == 0 and conservation_holds(r) and r.files[0].accepted == len(LYON)
    df = incidents(s)
    for code, (lon, lat) in LYON.items():
        row = df.loc[f"p:{code}"]
        assert row[S.ARRONDISSEMENT] == code
        assert row[S.LON] == pytest.approx(lon, abs=1e-6) and row[S.LAT] == pytest.approx(lat, abs=1e-6)


def test_wrong_crs_names_the_one_that_fits(tmp_path):
    from observatory.etl import check_file

    body = BASIC.replace('crs = "EPSG:4326"', 'crs = "EPSG:3946"').replace("Longitude", "X").replace("Latitude", "Y")
    prof = partner(tmp_path, body)
    s = settings_for(tmp_path, profiles_dir=prof)
    to = Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True)  # Lambert-93 values declared as CC46
    lines = ["Crime ID,Month,X,Y,Crime type"] + [f"c{i},2024-03,{to.transform(*p)[0]:.1f},{to.transform(*p)[1]:.1f},Theft" for i, p in enumerate(LYON.values())]
    f = tmp_path / "f.csv"
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    prep, refusal, _ = check_file(s, prof / "p.toml", f)
    assert any("EPSG:2154 les placerait à Lyon" in n for n in prep.report.notes), prep.report.notes
    assert refusal and "EPSG:2154" in refusal


def test_timezone_converts_times_of_day_not_dates(tmp_path):
    body = """
[file]
format = "csv"
[id]
column = "id"
[time]
column = "when"
format = "%m/%d/%Y %I:%M:%S %p"
precision = "hour"
timezone = "America/Chicago"
[columns]
label = "type"
"""
    s = settings_for(tmp_path, profiles_dir=partner(tmp_path, body))
    f = tmp_path / "f.csv"
    f.write_text("id,when,type\nA,01/05/2024 10:30:00 PM,Theft\nB,7/4/2024 1:05:00 AM,Theft\n", encoding="utf-8")
    r = ingest(s, [f], "p")
    assert r.exit_code == 0 and conservation_holds(r)
    df = incidents(s)
    a = df.loc["p:A"][S.OCCURRED_AT].tz_convert("Europe/Paris")
    b = df.loc["p:B"][S.OCCURRED_AT].tz_convert("Europe/Paris")
    assert a.strftime("%d/%m/%Y %H:%M") == "06/01/2024 05:30"  # 22:30 CST = 05:30 CET the next day
    assert b.strftime("%d/%m/%Y %H:%M") == "04/07/2024 08:05"  # 01:05 CDT = 08:05 CEST
    assert df.loc["p:A"][S.YEAR] == 2024


PN_LIKE = """
[file]
format = "csv"
[id]
column = "id"
[time]
column = "date"
format = "%d/%m/%Y"
[columns]
label = "type"
"""


def test_corrected_label_table_rereads_files_with_revisions(tmp_path):
    prof = partner(tmp_path, PN_LIKE)
    s = settings_for(tmp_path, profiles_dir=prof)
    f = tmp_path / "f.csv"
    f.write_text("id,date,type\nA,03/02/2024,Theft\nB,03/02/2024,Vol à l'arraché\n", encoding="utf-8")
    r = ingest(s, [f], "p")
    assert r.files[0].unmapped_labels == {"Vol à l'arraché": 1}
    again = ingest(s, [f], "p")
    assert again.files[0].skipped and "--reprocess" in again.files[0].message
    # The analyst maps the missing label: the same file is read again, B is a revision, A a duplicate.
    (prof / "p_labels.csv").write_text("label,category\nTheft,vols_sans_violence_personnes\nVol à l'arraché,vols_violents_sans_arme\n", encoding="utf-8")
    fixed = ingest(s, [f], "p")
    f0 = fixed.files[0]
    assert not f0.skipped and conservation_holds(fixed)
    assert (f0.rows_read, f0.accepted, f0.duplicates, f0.revisions) == (2, 1, 1, 1)
    assert any("profil modifié" in n for n in f0.notes)
    assert incidents(s).loc["p:B"][S.CATEGORY] == "vols_violents_sans_arme" and len(incidents(s)) == 2
    # --reprocess reads it even with the same profile: nothing changed, everything a duplicate.
    forced = ingest(s, [f], "p", reprocess=True)
    assert (forced.files[0].accepted, forced.files[0].duplicates) == (0, 2)
    assert len(store.read_quarantine(s)) == 0


def test_same_bytes_under_another_source_are_not_skipped(tmp_path):
    prof = partner(tmp_path, PN_LIKE)
    (prof / "q.toml").write_text((prof / "p.toml").read_text(encoding="utf-8").replace('name = "p"', 'name = "q"'), encoding="utf-8")
    s = settings_for(tmp_path, profiles_dir=prof)
    f = tmp_path / "f.csv"
    f.write_text("id,date,type\nA,03/02/2024,Theft\n", encoding="utf-8")
    ingest(s, [f], "p")
    r = ingest(s, [f], "q")
    assert not r.files[0].skipped and r.files[0].accepted == 1


def test_refused_file_reports_its_valid_rows_as_unpublished(tmp_path):
    s = settings_for(tmp_path, profiles_dir=partner(tmp_path, PN_LIKE))
    f = tmp_path / "f.csv"
    rows = ["id,date,type"] + [f"A{i},03/02/2024,Theft" for i in range(18)] + [f"B{i},99/99/2024,Theft" for i in range(2)]
    rows.append("C1,31/02/2024," + "x" * 30000)  # a long bad value must not make the message a 30,000-character line
    f.write_text("\n".join(rows) + "\n", encoding="utf-8")
    r = ingest(s, [f], "p")
    f0 = r.files[0]
    assert f0.refused and conservation_holds(r)
    assert (f0.rows_read, f0.accepted, f0.quarantined, f0.unpublished) == (21, 0, 3, 18)
    assert len(f0.message) <= 600 and "\n" not in f0.message
    hist = store.ingest_history(s)
    assert int(hist["unpublished"].iloc[-1]) == 18


@pytest.mark.parametrize(("name", "expected"), [
    ("pn_faits_10000000_20260101.csv", "2026-01-01"),  # issue 18: the first eight digits are not a date
    ("pn_20250301.csv", "2025-03-01"),
    ("export_20240101_20250215.csv", "2025-02-15"),  # two dates: the last one (the extraction) wins
    ("pn_99999999.csv", None),
])
def test_extraction_date_takes_the_digits_that_form_a_date(tmp_path, name, expected):
    from datetime import datetime, timezone

    from observatory.etl import load_profile
    from observatory.etl.pipeline import extraction_date

    prof = load_profile(settings_for(tmp_path), "police_nationale")
    now = datetime(2030, 5, 5, tzinfo=timezone.utc)
    when, note = extraction_date(Path(name), prof, now)
    if expected is None:
        assert when == now and note
    else:
        assert when.strftime("%Y-%m-%d") == expected and note is None


def test_non_classes_count_neither_quarantined_nor_duplicate_rows(tmp_path):
    s = settings_for(tmp_path, profiles_dir=partner(tmp_path, PN_LIKE))
    f = tmp_path / "f.csv"
    rows = ["id,date,type"] + [f"A{i},03/02/2024,Theft" for i in range(30)]
    rows += ["U1,03/02/2024,Inconnu", "U1,03/02/2024,Inconnu", "U2,99/99/2024,Inconnu"]  # a duplicate, a quarantined row
    f.write_text("\n".join(rows) + "\n", encoding="utf-8")
    r = ingest(s, [f], "p")
    f0 = r.files[0]
    assert (f0.quarantined, f0.duplicates) == (1, 1) and conservation_holds(r)
    assert f0.unmapped_labels == {"Inconnu": 1}


def test_date_hint_only_when_the_format_is_wrong_for_most_rows(tmp_path):
    from observatory.etl.pipeline import _fix_hint, FileReport
    import pyarrow as pa

    q = pa.table({"reason": ["date illisible « 2024-02-03 » (format attendu %d/%m/%Y)"] * 6})
    few = _fix_hint(FileReport(path=Path("f.csv"), rows_read=100), q)
    assert "ISO" not in few and "faites corriger ces lignes" in few
    most = _fix_hint(FileReport(path=Path("f.csv"), rows_read=8), q)
    assert "ISO" in most
