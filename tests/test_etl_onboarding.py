"""Done-when of issue 17: three public open-data formats from outside this project, recreated from their
published documentation as small files with points placed in Lyon, onboarded with ``sources new`` plus a few
edits of the draft (no code), with exact row conservation.

- UK police street-level crime CSV (data.police.uk archive): Crime ID blank for anti-social behaviour, Month
  ``YYYY-MM``, WGS84 snap points, « No Location » rows without coordinates.
- Chicago « Crimes - 2001 to present » export: ``MM/DD/YYYY hh:mm:ss AM/PM`` dates in Chicago time, X/Y in
  Illinois East state plane (NAD83, US feet, EPSG:3435).
- A Grand Lyon-style CSV (UTF-8 with BOM, ``;``, ISO dates) with coordinates in RGF93 CC46 (EPSG:3946).
"""

from __future__ import annotations

import re

from pyproj import Transformer
from typer.testing import CliRunner

from observatory import schema as S
from observatory import store
from observatory.cli import app
from observatory.etl import ingest, load_profile
from tests.etl_helpers import settings_for

# Points in Lyon (WGS84), one per arrondissement used.
P = {"69381": (4.8357, 45.7675), "69382": (4.8320, 45.7578), "69383": (4.8500, 45.7600), "69386": (4.8500, 45.7700), "69387": (4.8420, 45.7450)}


def _new(tmp_path, file, name):
    profiles = tmp_path / "profiles"
    env = {"OBSERVATORY_DATA_DIR": str(tmp_path / "data"), "OBSERVATORY_PROFILES_DIR": str(profiles), "COLUMNS": "200"}
    out = CliRunner().invoke(app, ["sources", "new", str(file), "--name", name], env=env)
    assert out.exit_code == 0, out.output
    return profiles, out.output


def _map_labels(profiles, name, mapping: dict[str, str]) -> None:
    """The analyst's work: fill the category column of the drafted label table."""
    path = profiles / f"{name}_labels.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    out = [lines[0]]
    for ln in lines[1:]:
        label, _, n = ln.rsplit(",", 2)
        out.append(f"{label},{mapping.get(label.strip(chr(34)), '')},{n}")
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


def _edit(profiles, name, *pairs: tuple[str, str]) -> None:
    path = profiles / f"{name}.toml"
    text = path.read_text(encoding="utf-8")
    for old, new in pairs:
        assert old in text, (old, text)
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")


def _conserved(result) -> None:
    for f in result.files:
        assert f.rows_read == f.accepted + f.quarantined + f.duplicates + f.unpublished, f.as_dict()


def test_uk_police_street_level_crime(tmp_path):
    header = "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,Last outcome category,Context"
    force = "Metropolitan Police Service,Metropolitan Police Service"
    rows = []
    for i, (code, (lon, lat)) in enumerate(P.items()):
        cid = f"{i:02d}" + "a" * 62
        rows.append(f"{cid},2024-03,{force},{lon},{lat},On or near Rue Test {i},E0100{i},Lyon {code},Burglary,Under investigation,")
    asb = f",2024-03,{force},{P['69383'][0]},{P['69383'][1]},On or near Cours Gambetta,E01003,Lyon 3,Anti-social behaviour,,"
    rows += [asb, asb, asb]  # identical in every column: three incidents
    twin = "ff" + "b" * 62
    rows.append(f"{twin},2024-03,{force},{P['69382'][0]},{P['69382'][1]},On or near Place Bellecour,E01002,Lyon 2,Vehicle crime,Unable to prosecute suspect,")
    rows.append(f"{twin},2024-03,{force},,,No Location,,,Vehicle crime,Unable to prosecute suspect,")
    rows.append(f"{'ee' + 'c' * 62},2024-03,{force},,,No Location,,,Shoplifting,Under investigation,")
    f = tmp_path / "2024-03-metropolitan-street.csv"
    f.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")

    profiles, output = _new(tmp_path, f, "uk_police")
    draft = (profiles / "uk_police.toml").read_text(encoding="utf-8")
    assert 'column = "Month"' in draft and 'format = "%Y-%m"' in draft and 'precision = "month"' in draft
    assert 'crs = "EPSG:4326"' in draft and 'x = "Longitude"' in draft and 'y = "Latitude"' in draft
    assert 'column = "Crime ID"' in draft and "build_from" in draft and "number_identical_rows = true" in draft
    assert 'label = "Crime type"' in draft and "filename_pattern = '(\\d{4})-(\\d{2})'" in draft
    assert "4 libellé(s) distinct(s)" in output
    # Edits: the label table only (and the partner's French name).
    _map_labels(profiles, "uk_police", {"Burglary": "cambriolages_logement", "Anti-social behaviour": "incivilites",
                                        "Vehicle crime": "vols_vehicules", "Shoplifting": "vols_sans_violence_personnes"})
    _edit(profiles, "uk_police", ('label = "Uk police"', 'label = "Police britannique (format data.police.uk)"'))

    s = settings_for(tmp_path, profiles_dir=profiles)
    r = ingest(s, [f], "uk_police")
    assert r.exit_code == 0, [x.message for x in r.files]
    _conserved(r)
    f0 = r.files[0]
    assert (f0.rows_read, f0.accepted, f0.quarantined, f0.duplicates, f0.revisions) == (11, 11, 0, 0, 1)
    df = store.current_snapshot(s).read_incidents().to_pandas()
    assert len(df) == 10  # 11 rows, the unlocated twin a revision of the located one
    assert (df[S.RAW_LABEL] == "Anti-social behaviour").sum() == 3
    twin_row = df[df[S.SOURCE_ID] == twin].iloc[0]
    assert twin_row[S.ARRONDISSEMENT] == "69382" and twin_row[S.TIME_PRECISION] == "month"
    assert (df[S.LOCATION_QUALITY] == "none").sum() == 1  # the shoplifting « No Location »


def test_chicago_crimes_state_plane_feet_and_12_hour_dates(tmp_path):
    header = ("ID,Case Number,Date,Block,IUCR,Primary Type,Description,Location Description,Arrest,Domestic,Beat,District,Ward,"
              "Community Area,FBI Code,X Coordinate,Y Coordinate,Year,Updated On")
    to = Transformer.from_crs("EPSG:4326", "EPSG:3435", always_xy=True)
    times = ["03/05/2024 10:30:00 PM", "03/06/2024 01:05:00 AM", "03/07/2024 12:00:00 PM", "03/08/2024 07:45:00 AM", "03/09/2024 11:59:00 PM"]
    rows = []
    for i, ((code, (lon, lat)), when) in enumerate(zip(P.items(), times)):
        x, y = to.transform(lon, lat)
        primary, desc = (("THEFT", "$500 AND UNDER"), ("BATTERY", "SIMPLE"), ("BURGLARY", "FORCIBLE ENTRY"), ("THEFT", "OVER $500"),
                         ("CRIMINAL DAMAGE", "TO VEHICLE"))[i]
        rows.append(f"{13400000 + i},JH{200000 + i},{when},001XX W MADISON ST,0820,{primary},{desc},STREET,false,false,"
                    f"0{111 + i},001,42,32,06,{round(x)},{round(y)},2024,03/16/2024 03:40:51 PM")
    f = tmp_path / "Crimes_-_2024.csv"
    f.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")

    profiles, output = _new(tmp_path, f, "chicago")
    draft = (profiles / "chicago.toml").read_text(encoding="utf-8")
    assert 'column = "Date"' in draft and 'format = "%m/%d/%Y %I:%M:%S %p"' in draft and 'precision = "hour"' in draft
    assert 'x = "X Coordinate"' in draft and 'crs = "A_COMPLETER"' in draft and "aucun système usuel" in output
    assert 'column = "ID"' in draft and "build_from" not in draft and 'label = "Primary Type"' in draft
    # Edits: the CRS the city documents, its time zone, the labels.
    _edit(profiles, "chicago", ('crs = "A_COMPLETER"', 'crs = "EPSG:3435"'),
          ('# timezone = "Europe/Paris"', 'timezone = "America/Chicago"'))
    _map_labels(profiles, "chicago", {"THEFT": "vols_sans_violence_personnes", "BATTERY": "violences_physiques_hors_famille",
                                      "BURGLARY": "cambriolages_logement", "CRIMINAL DAMAGE": "destructions_degradations"})
    s = settings_for(tmp_path, profiles_dir=profiles)
    assert load_profile(s, "chicago").timezone == "America/Chicago"
    r = ingest(s, [f], "chicago")
    assert r.exit_code == 0, [x.message for x in r.files]
    _conserved(r)
    assert (r.files[0].rows_read, r.files[0].accepted, r.files[0].quarantined) == (5, 5, 0)
    df = store.current_snapshot(s).read_incidents().to_pandas().set_index(S.SOURCE_ID)
    for i, code in enumerate(P):
        assert df.loc[str(13400000 + i), S.ARRONDISSEMENT] == code  # a foot of rounding stays in the arrondissement
    first = df.loc["13400000", S.OCCURRED_AT].tz_convert("Europe/Paris")
    assert first.strftime("%d/%m/%Y %H:%M") == "06/03/2024 05:30"  # 10:30 PM CST


def test_french_dataset_in_cc46(tmp_path):
    to = Transformer.from_crs("EPSG:4326", "EPSG:3946", always_xy=True)
    lines = ["identifiant;date_signalement;type_signalement;adresse;code_insee;coord_x;coord_y"]
    kinds = ["Dépôt sauvage", "Tag", "Dépôt sauvage", "Mobilier urbain dégradé", "Tag"]
    for i, ((code, (lon, lat)), kind) in enumerate(zip(P.items(), kinds)):
        x, y = to.transform(lon, lat)
        lines.append(f"SIG-{1000 + i};2024-03-0{i + 1} 14:2{i}:00;{kind};{i + 1} rue Exemple;{code};{x:.2f};{y:.2f}")
    lines.append("SIG-2000;2024-03-31 09:00:00;Tag;quai Test;69382;;")  # no coordinates: declared arrondissement only
    f = tmp_path / "signalements_2024-04-01.csv"
    f.write_bytes(("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8"))

    profiles, output = _new(tmp_path, f, "signalements")
    draft = (profiles / "signalements.toml").read_text(encoding="utf-8")
    assert 'encoding = "utf-8-sig"' in draft and 'delimiter = ";"' in draft
    assert 'crs = "EPSG:3946"' in draft and 'x = "coord_x"' in draft and 'y = "coord_y"' in draft
    assert 'format = "%Y-%m-%d %H:%M:%S"' in draft and 'column = "identifiant"' in draft
    assert 'label = "type_signalement"' in draft and "(\\d{4})-(\\d{2})-(\\d{2})" in draft
    # Edits: the declared arrondissement column, the labels.
    _edit(profiles, "signalements", ('crs = "EPSG:3946"', 'arrondissement = "code_insee"\ncrs = "EPSG:3946"'))
    _map_labels(profiles, "signalements", {"Dépôt sauvage": "destructions_degradations", "Tag": "destructions_degradations",
                                           "Mobilier urbain dégradé": "destructions_degradations"})
    s = settings_for(tmp_path, profiles_dir=profiles)
    r = ingest(s, [f], "signalements")
    assert r.exit_code == 0, [x.message for x in r.files]
    _conserved(r)
    assert (r.files[0].rows_read, r.files[0].accepted, r.files[0].quarantined) == (6, 6, 0)
    df = store.current_snapshot(s).read_incidents().to_pandas().set_index(S.SOURCE_ID)
    for i, code in enumerate(P):
        row = df.loc[f"SIG-{1000 + i}"]
        assert row[S.ARRONDISSEMENT] == code and row[S.LOCATION_QUALITY] == "point"
    assert df.loc["SIG-2000", S.LOCATION_QUALITY] == "sector" and df.loc["SIG-2000", S.ARRONDISSEMENT] == "69382"
    assert r.files[0].extracted_at.strftime("%Y-%m-%d") == "2024-04-01"
    assert not re.search(r"A_COMPLETER", (profiles / "signalements.toml").read_text(encoding="utf-8"))


def test_sources_new_on_a_workbook_with_a_title_block(tmp_path):
    from datetime import datetime

    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Export des interventions"])
    ws.append([])
    ws.append(["Référence", "Date", "Motif", "Longitude", "Latitude"])
    for i, (code, (lon, lat)) in enumerate(P.items()):
        ws.append([f"R{i}", datetime(2024, 3, i + 1, 14, 30), "Tapage" if i % 2 else "Rixe", lon, lat])
    f = tmp_path / "interventions_2024-04-01.xlsx"
    wb.save(f)
    profiles, _ = _new(tmp_path, f, "interventions")
    draft = (profiles / "interventions.toml").read_text(encoding="utf-8")
    assert 'format = "xlsx"' in draft and "header_row = 3" in draft and 'crs = "EPSG:4326"' in draft
    _map_labels(profiles, "interventions", {"Tapage": "nuisances_sonores", "Rixe": "rixes_regroupements"})
    s = settings_for(tmp_path, profiles_dir=profiles)
    r = ingest(s, [f], "interventions")
    assert r.exit_code == 0, [x.message for x in r.files]
    _conserved(r)
    assert r.files[0].accepted == len(P) and not r.files[0].unmapped_labels
    df = store.current_snapshot(s).read_incidents().to_pandas().set_index(S.SOURCE_ID)
    assert df.loc["R0", S.OCCURRED_AT].tz_convert("Europe/Paris").strftime("%d/%m/%Y %H:%M") == "01/03/2024 14:30"
