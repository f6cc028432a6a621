"""``observatory export`` end to end: a real subprocess on a small published snapshot, files read back.

The snapshot (2025, hand-checkable):
    69381: escroqueries 12, vols avec armes 3
    69382: escroqueries 7, cambriolages de logement 20
    69383: escroqueries 2, violences sexuelles 6 (a sensitive category)
    source "=HYPERLINK(...)" on the 2 escroqueries of 69383 (a formula smuggled through a partner's code)
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from observatory.config import get_settings

REPO = Path(__file__).resolve().parents[1]
OBSERVATORY = Path(sys.executable).parent / "observatory"
EVIL = '=HYPERLINK("http://example.invalid/?leak","clic")'


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    from tests.incident_factory import incidents, publish_snapshot

    rows = (
        [("69381", "escroqueries", "police_nationale")] * 12
        + [("69381", "vols_avec_armes", "police_nationale")] * 3
        + [("69382", "escroqueries", "police_municipale")] * 7
        + [("69382", "cambriolages_logement", "police_nationale")] * 20
        + [("69383", "escroqueries", EVIL)] * 2
        + [("69383", "violences_sexuelles", "police_nationale")] * 6
    )
    table = incidents(
        arrondissement=[r[0] for r in rows], category=[r[1] for r in rows], source=[r[2] for r in rows],
        source_id=[f"E{i:05d}" for i in range(len(rows))], occurred_at=[f"2025-{1 + i % 12:02d}-10 14:00" for i in range(len(rows))],
    )
    data = tmp_path_factory.mktemp("cli") / "data"
    publish_snapshot(table, get_settings(root=REPO, env={}, data_dir=data), snapshot_id="snap-cli")
    return data


def run(data_dir: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    if not OBSERVATORY.exists():
        pytest.skip("the observatory console script is not installed in this venv")
    env = {**os.environ, "OBSERVATORY_DATA_DIR": str(data_dir)}
    return subprocess.run([str(OBSERVATORY), "export", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def read_csv(path: Path) -> tuple[list[list[str]], dict[str, str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "UTF-8 with BOM, for Excel"
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    blank = rows.index([])
    return rows[:blank], {r[0]: r[1] for r in rows[blank + 1 :] if r}


def test_public_csv_semicolon_decimal_comma_and_protected(data_dir, tmp_path):
    out = tmp_path / "arr.csv"
    proc = run(data_dir, tmp_path, "arrondissements", "--year", "2025", "--format", "csv", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    body, meta = read_csv(out)
    assert body[0] == ["code", "arrondissement", "faits", "population", "taux_pour_1000"]
    by_code = {r[0]: r for r in body[1:]}
    # 69383 has 2 publishable facts (its 6 sexual violences are city-level only): "< 5"; alone it would be the
    # difference of the total and the others, so the smallest other count (15, 69381) is hidden too.
    assert by_code["69383"][2] == "< 5" and by_code["69381"][2] == "s"
    assert by_code["69382"][2] == "27"
    assert by_code["69381"][4] == "" and by_code["69383"][4] == ""  # a rate would give the hidden count back
    assert "," in by_code["69382"][4] and "." not in by_code["69382"][4]  # decimal comma
    for r in body[1:]:
        assert r[2] in ("< 5", "s") or int(r[2]) == 0 or int(r[2]) >= 5, r
    assert meta["Instantané"] == "snap-cli" and "2025" in meta["Filtres"]
    # The rule in words a reader understands; no internal module path in a user's file.
    assert meta["Protection"].startswith("règle de secret statistique de l'observatoire (seuil 5, suppression complémentaire)")
    assert "observatory." not in meta["Protection"] and "NON PROTÉGÉ" not in meta["Protection"]


def test_xlsx_reads_back_like_the_csv_with_metadata(data_dir, tmp_path):
    from openpyxl import load_workbook

    assert run(data_dir, tmp_path, "categories", "--year", "2025", "--format", "xlsx", "--out", str(tmp_path / "c.xlsx")).returncode == 0
    assert run(data_dir, tmp_path, "categories", "--year", "2025", "--format", "csv", "--out", str(tmp_path / "c.csv")).returncode == 0
    wb = load_workbook(tmp_path / "c.xlsx")
    ws = wb["Données"]
    assert ws.freeze_panes == "A2"
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    body, _ = read_csv(tmp_path / "c.csv")
    assert rows[0] == body[0] == ["code", "libellé", "faits"]
    assert [[str(v) for v in r] for r in rows[1:]] == body[1:]
    counts = {r[0]: r[2] for r in rows[1:]}
    # The year's publication, protected jointly with the arrondissements (issue 15): the 3 vols avec armes are
    # « < 5 »; escroqueries (12 + 7 + 2) is hidden with them, since with 69383's « < 5 » and the arrondissement
    # table it would pin the hidden cells; sexual violences are published at the city level.
    assert counts["cambriolages_logement"] == 20 and isinstance(counts["cambriolages_logement"], int)
    assert counts["vols_avec_armes"] == "< 5" and counts["escroqueries"] == "s" and counts["violences_sexuelles"] == 6
    meta = dict(wb["Métadonnées"].iter_rows(values_only=True))
    assert meta["Instantané"] == "snap-cli" and "1 à 4" in meta["Protection"]


def test_formula_injection_is_inert(data_dir, tmp_path):
    from openpyxl import load_workbook

    # Partners are not in the élus' publication (issue 15): the analysts' file, where a formula is as inert.
    assert run(data_dir, tmp_path, "sources", "--year", "2025", "--internal", "--format", "csv", "--out", str(tmp_path / "s.csv")).returncode == 0
    assert run(data_dir, tmp_path, "sources", "--year", "2025", "--internal", "--format", "xlsx", "--out", str(tmp_path / "s.xlsx")).returncode == 0
    body, _ = read_csv(tmp_path / "s.csv")
    evil = [r for r in body[1:] if "HYPERLINK" in r[0]]
    assert evil and all(r[0].startswith("'=") and r[1].startswith("'=") for r in evil)
    ws = load_workbook(tmp_path / "s.xlsx")["Données"]
    cells = [c for row in ws.iter_rows(min_row=2) for c in row if "HYPERLINK" in str(c.value)]
    assert cells and all(c.data_type == "s" and str(c.value).startswith("'") for c in cells)


def test_internal_export_is_exact_and_marked_unprotected(data_dir, tmp_path):
    proc = run(data_dir, tmp_path, "arrondissements", "--year", "2025", "--internal")
    assert proc.returncode == 0, proc.stderr
    files = list(tmp_path.glob("*.csv"))
    # French keys in reading order: the period's start before its end.
    assert len(files) == 1 and files[0].name == "faits-et-taux-par-arrondissement_du-2025-01-01_au-2025-12-31_interne-non-protege.csv"
    body, meta = read_csv(files[0])
    by_code = {r[0]: r for r in body[1:]}
    assert by_code["69383"][2] == "8" and by_code["69381"][2] == "15"  # exact, sensitive included
    assert meta["Protection"].startswith("NON PROTÉGÉ")
    # The data of 2025 end before 31 December: the rates are annualised and the file says over which days.
    assert "taux par an : taux annualisé : faits du" in meta["Filtres"] and "ramenés à un an" in meta["Filtres"]


def test_public_export_below_the_city_leaves_sensitive_categories_out(data_dir, tmp_path):
    out = tmp_path / "c3.csv"
    assert run(data_dir, tmp_path, "categories", "--year", "2025", "--arrondissement", "69383", "--out", str(out)).returncode == 0
    body, meta = read_csv(out)
    rows = {r[0]: r[2] for r in body[1:]}
    assert not set(rows) & {"violences_sexuelles", "violences_intrafamiliales"}  # no cell below the city
    # 69383 has 2 publishable facts: its total is « < 5 » and the publication does not split a « < 5 » further
    # (two parts of a small count pin each other), so its categories read « n.d. », as on the élus' pages.
    assert rows.pop("escroqueries") == "n.d." and set(rows.values()) <= {"n.d.", "0"}
    assert "Lyon 3e" in meta["Filtres"] and "violences sexuelles" in meta["Protection"]


def test_bad_option_is_one_clear_line(data_dir, tmp_path):
    proc = run(data_dir, tmp_path, "nimportequoi", "--year", "2025")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr + proc.stdout
    assert "table 'nimportequoi' inconnue" in proc.stderr + proc.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("-c", "pas_une_categorie"), "--category 'pas_une_categorie' : catégorie inconnue ; codes possibles : "),
        (("--family", "pas_une_famille"), "--family 'pas_une_famille' : famille inconnue ; codes possibles : "),
        (("-a", "69399"), "--arrondissement '69399' : arrondissement inconnu ; codes possibles : 69381, 69382"),
        (("--zone", "nulle_part"), "--zone 'nulle_part' : zone inconnue ; codes possibles : "),
        (("--source", "gendarmerie"), "--source 'gendarmerie' : source inconnue ; codes possibles : "),
    ],
)
def test_unknown_code_fails_with_one_french_line_and_writes_nothing(data_dir, tmp_path, args, expected):
    proc = run(data_dir, tmp_path, "categories", "--year", "2025", *args)
    out = proc.stderr + proc.stdout
    assert proc.returncode == 1 and "Traceback" not in out, out
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1 and expected in lines[0], out
    assert not list(tmp_path.iterdir())  # no empty file left behind


def test_known_codes_still_export(data_dir, tmp_path):
    # A partner's own code found only in the snapshot is a known source (the formula one of the fixture too).
    proc = run(data_dir, tmp_path, "categories", "--year", "2025", "-c", "escroqueries", "--source", "police_municipale", "--internal", "--out", str(tmp_path / "ok.csv"))
    assert proc.returncode == 0, proc.stderr
    body, meta = read_csv(tmp_path / "ok.csv")
    assert body[1][:1] == ["escroqueries"] and "Police municipale" in meta["Filtres"]


def test_public_export_is_the_publication_and_free_cuts_are_refused(data_dir, tmp_path):
    """Issue 15: the file an analyst hands to élus holds the publication's cells only (so the LP audit of the
    publication covers it); a window, a sum of categories, a zone or a source is refused with a French line."""
    from observatory.analytics import publication
    from observatory.analytics.engine import get_analytics

    out = tmp_path / "a.csv"
    assert run(data_dir, tmp_path, "arrondissements", "--year", "2025", "-c", "escroqueries", "--out", str(out)).returncode == 0
    body, _meta = read_csv(out)
    settings = get_settings(root=REPO, env={}, data_dir=data_dir)
    pub = publication.publication_for(settings, 2025, get_analytics(settings))
    cells = pub.cells[(pub.cells["period"] == publication.YEAR) & (pub.cells["nomenclature"] == "escroqueries")].set_index("geo")
    text = {"primary": "< 5", "secondary": "s", "internal": "n.d."}
    for code, _name, faits, *_rest in body[1:]:
        st = cells.at[code, "status"] if code in cells.index else "internal"
        assert faits == (str(int(cells.at[code, "n"])) if st == "" else text[st]), code
    assert {"< 5", "s", "n.d."} & {r[2] for r in body[1:]}  # something is hidden, else this proves little
    assert publication.audit_publication(pub)["protected"].all()
    (tmp_path / "refused").mkdir()
    for args, expected in (
        (("categories", "--start", "2025-03-01", "--end", "2025-12-31"), "années civiles entières"),
        (("arrondissements", "--year", "2025", "-c", "escroqueries", "-c", "vols_avec_armes"), "une seule catégorie"),
        (("zones", "--year", "2025"), "n'est pas couvert par la publication"),
        (("categories", "--year", "2025", "--source", "police_nationale"), "n'est pas couvert par la publication"),
    ):
        proc = run(data_dir, tmp_path / "refused", *args)
        assert proc.returncode == 1 and expected in proc.stderr + proc.stdout and "Traceback" not in proc.stderr, proc.stderr
