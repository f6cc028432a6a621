"""The six partner profiles read their files; a new partner is onboarded by a profile only."""

from __future__ import annotations

import importlib.util
from datetime import datetime, time

import pandas as pd
import pytest

from observatory import schema as S
from observatory import store
from observatory.etl import ingest, load_profile
from observatory.etl.profile import ProfileError, load_profile_file
from tests.etl_helpers import L93_POINTS, conservation_holds, settings_for

SIX = ("police_nationale", "police_municipale", "tcl", "bailleurs", "piscines", "mediateurs")


def _df(settings) -> pd.DataFrame:
    return store.current_snapshot(settings).read_incidents().to_pandas().set_index(S.INCIDENT_KEY)


@pytest.mark.parametrize("name", SIX)
def test_example_profiles_load(tmp_path, name):
    p = load_profile(settings_for(tmp_path), name)
    assert p.name == name and p.labels and all(c in S.categories() for c in p.labels.values())
    assert p.required_columns


def test_tcl_utf8_bom_two_time_columns(tmp_path):
    s = settings_for(tmp_path)
    f = tmp_path / "tcl_incidents_20240301.csv"
    text = ("id_incident,date,heure,type_incident,ligne,station,lon,lat\n"
            "T1,2024-02-10,18:45,Vol à la tire,Métro A,Bellecour,4.83246,45.75787\n"
            "T2,2024-02-11,,Incivilité,Métro D,Saxe-Gambetta,4.84797,45.75183\n")
    f.write_bytes(text.encode("utf-8-sig"))
    r = ingest(s, [f], "tcl")
    assert r.exit_code == 0 and conservation_holds(r) and r.files[0].accepted == 2
    df = _df(s)
    t1, t2 = df.loc["tcl:T1"], df.loc["tcl:T2"]
    assert t1[S.OCCURRED_AT].strftime("%d/%m/%Y %H:%M") == "10/02/2024 18:45" and t1[S.TIME_PRECISION] == "hour"
    assert t2[S.TIME_PRECISION] == "day"  # no time given: known to the day only
    assert t1[S.PLACE_NAME] == "Bellecour" and t1[S.PLACE_TYPE] == "Métro A" and t1[S.ARRONDISSEMENT] == "69382"
    assert t1[S.CATEGORY] == "vols_sans_violence_personnes"


def test_bailleurs_no_id_builds_a_stable_one(tmp_path):
    s = settings_for(tmp_path)
    body = ("Bailleur;Date constat;Adresse;Code INSEE;Nature;Résidence\n"
            "Grand Lyon Habitat;03/02/2024;12 rue Marietton;69009;Squat de hall;Résidence Vaise\n"
            "Lyon Métropole Habitat;04/02/2024;5 avenue Mermoz;69388;Feu de poubelles;Mermoz Nord\n")
    f1 = tmp_path / "bailleurs_20240301.csv"
    f1.write_text(body, encoding="utf-8")
    ingest(s, [f1], "bailleurs")
    # The next month repeats both rows: the built ids are the same, so they are duplicates, not new incidents.
    f2 = tmp_path / "bailleurs_20240401.csv"
    f2.write_text(body + "Grand Lyon Habitat;20/03/2024;1 rue X;Lyon 3;Nuisances;Résidence Moncey\n", encoding="utf-8")
    r = ingest(s, [f2], "bailleurs")
    assert (r.files[0].accepted, r.files[0].duplicates) == (1, 2)
    df = _df(s)
    assert len(df) == 3 and df[S.SOURCE_ID].str.fullmatch(r"[0-9a-f]{16}").all()
    assert sorted(df[S.ARRONDISSEMENT]) == ["69383", "69388", "69389"]  # 69009 postal code and « Lyon 3 » understood
    assert set(df[S.LOCATION_QUALITY]) == {"sector"} and set(df[S.TIME_PRECISION]) == {"day"}
    assert df[S.X].isna().all()  # never a default point


def test_piscines_xlsx_site_locates_and_season_prefixes_ids(tmp_path):
    import openpyxl

    s = settings_for(tmp_path)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["N°", "Date", "Heure", "Piscine", "Type d'incident"])
    ws.append([1, datetime(2024, 7, 14), time(15, 30), "Piscine Garibaldi", "Bagarre"])
    ws.append([2, datetime(2024, 7, 15), None, "piscine de vaise", "Vol en vestiaire"])
    ws.append([3, datetime(2024, 7, 16), time(11, 0), "Piscine inconnue", "Intrusion"])
    f = tmp_path / "piscines_2024.xlsx"
    wb.save(f)
    r = ingest(s, [f], "piscines")
    assert r.exit_code == 0 and r.files[0].accepted == 3
    df = _df(s)
    g = df.loc["piscines:2024-1"]
    assert g[S.LOCATION_QUALITY] == "address" and "piscine_garibaldi" in list(g[S.ZONES]) and g[S.ARRONDISSEMENT] == "69383"
    assert g[S.OCCURRED_AT].strftime("%d/%m/%Y %H:%M") == "14/07/2024 15:30"
    assert df.loc["piscines:2024-2", S.TIME_PRECISION] == "day" and "piscine_vaise" in list(df.loc["piscines:2024-2", S.ZONES])
    assert df.loc["piscines:2024-3", S.LOCATION_QUALITY] == "none"  # unknown pool: counted, not placed
    assert any("Piscine inconnue" in n for n in r.files[0].notes)


def test_mediateurs_quarter_gives_sector_and_zone(tmp_path):
    s = settings_for(tmp_path)
    f = tmp_path / "mediateurs_2024.csv"
    f.write_text("ref,date_intervention,quartier,motif\nM1,01/02/2024 10:00,La Duchère,Regroupement de jeunes\nM2,02/02/2024 11:00,Monplaisir,Autre chose\n", encoding="utf-8")
    r = ingest(s, [f], "mediateurs")
    assert r.files[0].unmapped_labels == {"Autre chose": 1}
    df = _df(s)
    m1 = df.loc["mediateurs:M1"]
    assert m1[S.ARRONDISSEMENT] == "69389" and list(m1[S.ZONES]) == ["qpv_duchere"] and m1[S.LOCATION_QUALITY] == "sector"
    assert df.loc["mediateurs:M2", S.CATEGORY] == S.NON_CLASSE


def test_new_partner_onboarded_by_a_profile_only(tmp_path):
    """A CSV with its own columns, Lambert-93 coordinates and dd/mm/yyyy dates: no code, a profile and labels."""
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "gardiens_parcs.toml").write_text(
        """
[source]
name = "gardiens_parcs"
label = "Gardiens des parcs"

[file]
format = "csv"
encoding = "cp1252"
delimiter = "|"
decimal = ","
header_row = "auto"

[id]
column = "Référence"

[time]
column = "Jour"
format = "%d/%m/%Y"
precision = "day"

[location]
crs = "EPSG:2154"
x = "Est"
y = "Nord"

[columns]
label = "Constat"
place_type = "Parc"

[labels]
file = "gardiens_parcs_labels.csv"

[extraction]
filename_pattern = '(\\d{4})-(\\d{2})'
""", encoding="utf-8")
    (profiles / "gardiens_parcs_labels.csv").write_text("label,category\nDégradation de banc,destructions_degradations\n", encoding="utf-8")
    x, y = L93_POINTS["69386"]
    text = (f"Export parcs\n\nRéférence|Jour|Constat|Parc|Est|Nord\n"
            f"P-1|14/07/2024|Dégradation de banc|Parc de la Tête d'Or|{x},5|{y},5\n"
            f"P-2|15/07/2024|Feu de broussailles|Parc de la Tête d'Or|{x}|{y}\n")
    f = tmp_path / "parcs_2024-08.csv"
    f.write_bytes(text.encode("cp1252"))
    s = settings_for(tmp_path, profiles_dir=profiles)
    r = ingest(s, [f], "gardiens_parcs")
    assert r.exit_code == 0 and conservation_holds(r) and r.files[0].accepted == 2
    assert r.files[0].unmapped_labels == {"Feu de broussailles": 1}
    df = _df(s)
    p1 = df.loc["gardiens_parcs:P-1"]
    assert p1[S.ARRONDISSEMENT] == "69386" and p1[S.X] == pytest.approx(x + 0.5) and p1[S.SOURCE_ROW] == 4
    assert p1[S.CATEGORY] == "destructions_degradations" and p1[S.TIME_PRECISION] == "day"
    assert p1[S.EXTRACTED_AT].strftime("%Y-%m") == "2024-08"


def test_profile_errors_name_the_file_and_key(tmp_path):
    bad = tmp_path / "x.toml"
    bad.write_text('[source]\nname="x"\n[time]\ncolumn="d"\nformat="%d"\n[columns]\nlabel="l"\n', encoding="utf-8")
    with pytest.raises(ProfileError, match=r"(?s)x\.toml.*\[id\]"):
        load_profile_file(bad)
    bad.write_text('[source]\nname="x"\n[id]\ncolumn="i"\n[time]\ncolumn="d"\nformat="%d"\n[location]\ncrs="EPSG:999999"\n[columns]\nlabel="l"\n', encoding="utf-8")
    with pytest.raises(ProfileError, match="crs"):
        load_profile_file(bad)
    labels = tmp_path / "l.csv"
    labels.write_text("label,category\nTruc,categorie_inexistante\n", encoding="utf-8")
    bad.write_text('[source]\nname="x"\n[id]\ncolumn="i"\n[time]\ncolumn="d"\nformat="%d"\n[columns]\nlabel="l"\n[labels]\nfile="l.csv"\n', encoding="utf-8")
    with pytest.raises(ProfileError, match=r"(?s)ligne 2.*categorie_inexistante"):
        load_profile_file(bad)


@pytest.mark.skipif(importlib.util.find_spec("observatory.demo") is None, reason="the demo generator is not in this tree")
def test_demo_files_of_the_six_partners_ingest(tmp_path):
    from observatory import demo

    s = settings_for(tmp_path)
    res = demo.generate(s, tmp_path / "raw", years=(2024, 2024), scale=0.05)
    sources = list(dict.fromkeys(f.source for f in res.files))
    assert set(sources) == set(SIX)
    for src in sources:
        r = ingest(s, sorted(res.files_of(src)), src)
        assert r.exit_code == 0, [f.message for f in r.files if f.refused]
        assert conservation_holds(r) and r.snapshot_id
    counts = store.current_snapshot(s).read_incidents(columns=[S.SOURCE]).to_pandas()[S.SOURCE].value_counts()
    assert set(counts.index) == set(SIX) and (counts > 0).all()
