"""CLI: exit code 0 when published or nothing to do, 1 when refused, one-line message, never a traceback."""

from __future__ import annotations

from typer.testing import CliRunner

from observatory.cli import app
from tests.etl_helpers import pn_row, write_pn

runner = CliRunner()


def _run(tmp_path, *args):
    return runner.invoke(app, list(args), env={"OBSERVATORY_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"})


def test_ingest_status_quarantine_and_check(tmp_path):
    rows = [pn_row(f"C{i}", arr="69381") for i in range(30)] + [pn_row("BAD", "99/99/2024 10:00")]
    f = write_pn(tmp_path / "pn_20240201.csv", rows)
    r = _run(tmp_path, "sources", "check", "police_nationale", str(f))
    assert r.exit_code == 0 and "serait accepté" in r.output and "99/99/2024" in r.output
    assert not (tmp_path / "data" / "processed" / "CURRENT").exists()  # check publishes nothing
    r = _run(tmp_path, "ingest", str(f), "--source", "police_nationale")
    assert r.exit_code == 0, r.output
    assert "Instantané publié" in r.output and "31" in r.output and "date illisible" in r.output
    again = _run(tmp_path, "ingest", str(f), "--source", "police_nationale")
    assert again.exit_code == 0 and "déjà intégré" in again.output
    st = _run(tmp_path, "status")
    assert st.exit_code == 0 and "Police nationale" in st.output and "30" in st.output
    q = _run(tmp_path, "quarantine", "--source", "police_nationale", "--reason", "date")
    assert q.exit_code == 0 and "99/99/2024" in q.output and "pn_20240201.csv" in q.output
    none = _run(tmp_path, "quarantine", "--reason", "introuvable")
    assert none.exit_code == 0 and "Aucune ligne" in none.output


def test_refused_file_exits_non_zero_with_one_line(tmp_path):
    f = tmp_path / "pn_20240201.csv"
    f.write_bytes(b"")
    r = _run(tmp_path, "ingest", str(f), "--source", "police_nationale")
    assert r.exit_code == 1 and "Traceback" not in r.output and (r.exception is None or isinstance(r.exception, SystemExit))
    err_lines = [ln for ln in r.output.splitlines() if ln.startswith("Erreur")]
    assert len(err_lines) == 1 and "vide" in r.output
    r = _run(tmp_path, "ingest", str(f), "--source", "nope")
    assert r.exit_code == 1 and "source inconnue" in r.output
    r = _run(tmp_path, "sources", "check", "police_nationale", str(f))
    assert r.exit_code == 1 and "vide" in r.output


def test_status_before_any_ingest(tmp_path):
    r = _run(tmp_path, "status")
    assert r.exit_code == 0 and "Aucun instantané" in r.output


def test_many_refused_files_one_line_each_and_reprocess(tmp_path):
    files = []
    for i in range(5):
        f = tmp_path / f"pn_2024020{i + 1}.csv"
        f.write_bytes(b"")
        files.append(str(f))
    r = _run(tmp_path, "ingest", *files, "--source", "police_nationale")
    assert r.exit_code == 1
    refused = [ln for ln in r.output.splitlines() if ln.startswith("Refusé — ")]
    assert len(refused) == 5 and all(len(ln) < 300 for ln in refused)
    assert "5 fichier(s) refusé(s) sur 5" in r.output
    ok = write_pn(tmp_path / "pn_20240301.csv", [pn_row("C1")])
    assert _run(tmp_path, "ingest", str(ok), "--source", "police_nationale").exit_code == 0
    again = _run(tmp_path, "ingest", str(ok), "--source", "police_nationale", "--reprocess")
    assert again.exit_code == 0 and "relu (--reprocess)" in again.output


def test_quarantine_listing_keeps_the_coordinates_after_a_long_value(tmp_path):
    from observatory.commands.etl import compact_original

    row = '{"NUM_FAIT": "B1", "LIEU": "' + "rue " * 100 + '", "X_L93": "842545,0", "Y_L93": "6520368,0"}'
    text = compact_original(row, 240)
    assert "X_L93: 842545,0" in text and "Y_L93: 6520368,0" in text and len(text) <= 240
    assert compact_original("pas du json " * 50, 40).endswith("…")


def test_check_counts_duplicates_and_preview_has_no_nan(tmp_path):
    f = write_pn(tmp_path / "pn_20240201.csv", [pn_row(f"C{i}") for i in range(20)] + [pn_row("C0")] + [pn_row("NOLOC", xy=("", ""), declared="")])
    r = _run(tmp_path, "sources", "check", "police_nationale", str(f), "--rows", "30")
    assert r.exit_code == 0, r.output
    assert "NOLOC" in r.output and "1 doublon(s)" in r.output and "nan" not in r.output.lower().replace("nanterre", "")
    assert _run(tmp_path, "ingest", str(f), "--source", "police_nationale").exit_code == 0
    g = write_pn(tmp_path / "pn_20240301.csv", [pn_row(f"C{i}") for i in range(20)])
    again = _run(tmp_path, "sources", "check", "police_nationale", str(g))
    assert "20 doublon(s)" in again.output
