"""The ``observatory`` command speaks French: help without Python types, Paris times whatever the machine's zone,
tables readable at 80 columns, French one-liners for offline preparation and for a workbook given to a CSV profile."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

from observatory.cli import app
from observatory.labels import NBSP
from tests.etl_helpers import REPO, pn_row, settings_for, write_pn

runner = CliRunner()

# Words that would betray an English help string (none is a French word).
ENGLISH_WORDS = {"the", "and", "with", "from", "into", "this", "only", "instead", "file", "files", "show", "default", "download", "user"}
PYTHON_PLACEHOLDERS = re.compile(r"<(bool|int|float|str|path|Path|list\[[^\]]*\])>|list\[|\{[a-z_]+\}")


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"OBSERVATORY_DATA_DIR": str(tmp_path / "data"), **extra}


def _walk(command: typer.core.TyperGroup | typer.core.TyperCommand, path: tuple[str, ...] = ()):
    yield path, command
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from _walk(sub, (*path, name))


def _english(text: str) -> set[str]:
    return {w for w in re.findall(r"[A-Za-z]+", text)} & ENGLISH_WORDS


# Help ------------------------------------------------------------------------------------------------------------
def test_every_help_is_french_with_french_placeholders():
    root = typer.main.get_command(app)
    seen = 0
    for path, command in _walk(root):
        if path:
            assert command.help and not _english(command.help), f"{' '.join(path)} : aide « {command.help} »"
        for param in command.params:
            label = f"{' '.join(path)} {param.name}"
            assert param.help and not _english(param.help), f"{label} : aide « {param.help} »"
            if not getattr(param, "is_flag", False):
                # A French placeholder in capitals (FICHIER, ANNÉE, CODE_INSEE…), never a Python type.
                assert param.metavar and param.metavar == param.metavar.upper(), f"{label} : metavar {param.metavar!r}"
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "100"})
        assert result.exit_code == 0, result.output
        out = result.output
        assert not PYTHON_PLACEHOLDERS.search(out), f"{' '.join(path)} --help:\n{out}"
        assert "Afficher cette aide et quitter." in out and "Show this message" not in out
        assert "[default" not in out and "[required]" not in out and "Commands" not in out
        seen += 1
    assert seen >= 25  # every group and command of the tree was rendered


def test_help_shows_the_french_placeholders_in_usage_and_rows():
    ingest = runner.invoke(app, ["ingest", "--help"], env={"COLUMNS": "100"}).output
    assert "ingest [OPTIONS] FICHIER..." in ingest
    assert re.search(r"--source\s+-s\s+PARTENAIRE", ingest)
    show = runner.invoke(app, ["official", "show", "--help"], env={"COLUMNS": "100"}).output
    assert re.search(r"--year\s+ANNÉE", show) and re.search(r"--code\s+CODE_INSEE", show)
    assert "[par défaut : 69123]" in show
    demo = runner.invoke(app, ["demo", "--help"], env={"COLUMNS": "100"}).output
    assert "par défaut 1." in demo and "1.0" not in demo  # no English decimal point in a default
    top = runner.invoke(app, ["--help"], env={"COLUMNS": "100"}).output
    assert "Commandes" in top and "COMMANDE [ARGUMENTS]..." in top and "Produire le diagnostic annuel" in top


# Paris time ------------------------------------------------------------------------------------------------------
def _ingest_at(tmp_path: Path, when: datetime, n: int = 30) -> Path:
    """A small Police nationale file ingested at a known instant (the ledger and the snapshot carry it)."""
    from observatory.etl import ingest

    f = write_pn(tmp_path / "pn_20240201.csv", [pn_row(f"C{i}", arr="69381") for i in range(n)])
    result = ingest(settings_for(tmp_path), [f], "police_nationale", now=when)
    assert result.snapshot_id, result.message
    return f


def _cli(tmp_path: Path, tz: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **_env(tmp_path), "TZ": tz, "COLUMNS": "80"}
    return subprocess.run([sys.executable, "-m", "observatory.cli", *args], env=env, capture_output=True, text=True, cwd=REPO)


@pytest.mark.parametrize("when, paris", [
    (datetime(2025, 1, 15, 9, 30, tzinfo=timezone.utc), "15/01/2025 10:30"),  # winter: UTC+1
    (datetime(2025, 7, 15, 22, 45, tzinfo=timezone.utc), "16/07/2025 00:45"),  # summer: UTC+2, next day in Paris
])
def test_status_prints_paris_time_whatever_the_machine_zone(tmp_path, when, paris):
    _ingest_at(tmp_path, when)
    outputs = []
    for tz in ("UTC", "America/New_York", "Asia/Tokyo"):
        run = _cli(tmp_path, tz, "status")
        assert run.returncode == 0, run.stderr
        outputs.append(run.stdout)
        # The snapshot line and the ingest table both say the Paris time, never the machine's or UTC.
        assert f"du {paris} (heure de Paris)" in run.stdout
        assert paris in run.stdout.split("Dernières intégrations", 1)[1]
        assert max(len(line) for line in run.stdout.splitlines()) <= 80
    assert outputs[0] == outputs[1] == outputs[2]


def test_users_list_prints_creation_in_paris_time(tmp_path):
    env = _env(tmp_path)
    assert runner.invoke(app, ["users", "add", "marie", "--role", "analyste", "--sso"], env=env).exit_code == 0
    users_file = tmp_path / "data" / "users.json"
    data = json.loads(users_file.read_text(encoding="utf-8"))
    data["users"]["marie"]["created_at"] = "2026-11-26T02:59:39+00:00"
    users_file.write_text(json.dumps(data), encoding="utf-8")
    for tz in ("UTC", "Pacific/Auckland"):
        run = _cli(tmp_path, tz, "users", "list")
        assert run.returncode == 0, run.stderr
        assert "26/11/2026 03:59" in run.stdout and "2026-11-26" not in run.stdout


def test_to_paris_reads_every_form_of_time():
    from observatory.commands.common import fmt_day, fmt_paris, to_paris

    assert fmt_paris("2025-03-30T00:59:00+00:00") == "30/03/2025 01:59"  # last minute of winter time
    assert fmt_paris("2025-03-30T01:00:00Z") == "30/03/2025 03:00"  # clocks jump forward
    assert fmt_paris(pd.Timestamp("2025-10-26T01:30:00", tz="UTC")) == "26/10/2025 02:30"  # back to winter time
    assert fmt_paris(None) == fmt_paris("") == fmt_paris(pd.NaT) == "–"
    assert to_paris("pas une date") is None
    assert fmt_day("2026-11-25") == "25/11/2026"
    assert fmt_day("2026-11-25T23:30:00+00:00") == "26/11/2026"  # already the 26th in Paris


def test_official_dates_are_french(tmp_path):
    from tests.test_official import LYON_2026, write

    env = _env(tmp_path)
    result = runner.invoke(app, ["official", "import", str(write(tmp_path, LYON_2026)), "--production-date", "2026-11-25"], env=env)
    assert result.exit_code == 0, result.output
    assert "Date de production : 25/11/2026" in result.output
    shown = runner.invoke(app, ["official", "show", "--code", "69381"], env={**env, "COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert "25/11/2026" in shown.output and "2026-11-25" not in shown.output
    assert re.search(r"\d\d/\d\d/\d{4} \d\d:\d\d", shown.output)  # « Importée le » in Paris time


# 80 columns --------------------------------------------------------------------------------------------------------
@pytest.fixture
def narrow(monkeypatch):
    from observatory.commands import etl

    out = io.StringIO()
    console = Console(width=80, file=out, color_system=None, legacy_windows=False)
    monkeypatch.setattr(etl, "console", console)
    return console, out


def test_counts_table_never_wraps_a_number_at_80_columns(narrow):
    from observatory.commands.etl import counts_tables

    console, out = narrow
    sources = ["police_nationale", "police_municipale", "tcl", "bailleurs", "piscines", "mediateurs"]
    years = list(range(2018, 2026))
    rows = [(s, y, 1_234_567 + 1000 * i + y) for i, s in enumerate(sources) for y in years]
    counts = pd.DataFrame(rows, columns=["source", "year", "n"])
    tables = counts_tables(counts)
    assert len(tables) > 1  # eight years of 7-digit counts cannot share one 80-column table
    for table in tables:
        console.print(table)
    text = out.getvalue()
    assert max(len(line) for line in text.splitlines()) <= 80
    for s, y, n in rows:
        assert f"{n:,}".replace(",", NBSP) in text  # every number whole on its line
    assert f"{sum(n for s, _, n in rows if s == 'tcl'):,}".replace(",", NBSP) in text  # the total too
    assert all(str(y) in text for y in years)


def test_counts_table_keeps_full_partner_names_when_they_fit(narrow):
    from observatory.commands.etl import counts_tables

    console, out = narrow
    counts = pd.DataFrame([("tcl", 2025, 12), ("police_nationale", 2025, 30)], columns=["source", "year", "n"])
    (table,) = counts_tables(counts)
    console.print(table)
    assert "TCL (transports en commun)" in out.getvalue() and "Police nationale" in out.getvalue()


def test_history_splits_into_two_tables_at_80_columns_without_wrapping_numbers(narrow):
    from observatory.commands.etl import history_tables

    console, out = narrow
    hist = pd.DataFrame({
        "ingested_at": pd.to_datetime(["2025-01-15T09:30:00Z", "2025-07-15T09:30:00Z"], utc=True),
        "source": ["police_nationale", "tcl"],
        "source_file": ["police_nationale_extraction_mensuelle_2025-01.csv", "tcl_signalements_2025-07.csv"],
        "rows_read": [1_234_567, 23_964], "accepted": [1_234_000, 21_299], "quarantined": [567, 39],
        "duplicates": [0, 2_228], "revisions": [12, 0], "refused": [False, True],
    })
    tables = history_tables(hist)
    assert len(tables) == 2
    for table in tables:
        console.print(table)
    text = out.getvalue()
    assert max(len(line) for line in text.splitlines()) <= 80
    for n in (1_234_567, 1_234_000, 23_964, 21_299, 2_228):
        assert f"{n:,}".replace(",", NBSP) in text
    assert "15/01/2025 10:30" in text and "15/07/2025 11:30" in text and "refusé" in text


# prepare -----------------------------------------------------------------------------------------------------------
def test_prepare_offline_says_one_french_line_and_ends_with_the_data_ready(tmp_path):
    _ingest_at(tmp_path, datetime(2025, 1, 15, 9, 30, tzinfo=timezone.utc))
    env = _env(tmp_path, OBSERVATORY_BOUNDARY_URL="http://127.0.0.1:9/wfs", OBSERVATORY_BOUNDARY_FALLBACK_URL="http://127.0.0.1:9/etalab",
               OBSERVATORY_DOWNLOAD_TIMEOUT_S="2")
    result = runner.invoke(app, ["prepare"], env=env)
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines[0] == "Hors ligne : contours approximatifs utilisés."
    assert "127.0.0.1" not in result.output and "refused" not in result.output.lower()
    assert lines[-1].startswith("Données prêtes : 30 incidents, instantané ") and lines[-1].endswith(" du 15/01/2025 10:30.")


# XLSX given to a CSV profile ---------------------------------------------------------------------------------------
def _workbook(path: Path) -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["NUM_FAIT", "DATE_HEURE_FAITS"])
    wb.active.append(["C1", "03/01/2024 10:15"])
    wb.save(path)
    return path


def test_a_workbook_given_to_a_csv_profile_is_named_as_such(tmp_path):
    book = _workbook(tmp_path / "pn_20240201.csv")  # the extension lies; the bytes do not
    env = _env(tmp_path)
    for args in (["ingest", str(book), "--source", "police_nationale"], ["sources", "check", "police_nationale", str(book)]):
        result = runner.invoke(app, args, env=env)
        assert result.exit_code == 1 and "Traceback" not in result.output
        errors = [line for line in result.output.splitlines() if line.startswith("Erreur")]
        assert len(errors) == 1
        assert "pn_20240201.csv : le profil police_nationale attend un CSV, le fichier est un classeur XLSX" in errors[0]
    assert not (tmp_path / "data" / "processed" / "CURRENT").exists()  # nothing published


def test_a_text_file_given_to_a_workbook_profile_is_named_as_such(tmp_path):
    text = write_pn(tmp_path / "pm_2024.xlsx", [pn_row("C1")])
    result = runner.invoke(app, ["sources", "check", "police_municipale", str(text)], env=_env(tmp_path))
    assert result.exit_code == 1
    assert "le profil police_municipale attend un classeur XLSX, le fichier est un texte (CSV ?)" in result.output


def test_file_kind_reads_the_magic_bytes(tmp_path):
    import zipfile

    from observatory.commands.etl import file_kind

    assert file_kind(_workbook(tmp_path / "a.bin")) == "xlsx"
    with zipfile.ZipFile(tmp_path / "b.xlsx", "w") as z:
        z.writestr("notes.txt", "rien")
    assert file_kind(tmp_path / "b.xlsx") == "zip"
    (tmp_path / "c.xls").write_bytes(bytes.fromhex("d0cf11e0a1b11ae1") + b"\x00" * 100)
    assert file_kind(tmp_path / "c.xls") == "xls"
    (tmp_path / "d.csv").write_text("a;b\n1;2\n", encoding="utf-8")
    assert file_kind(tmp_path / "d.csv") == "text"
    (tmp_path / "e.csv").write_bytes(b"a;b\x00\x01")
    assert file_kind(tmp_path / "e.csv") == "binary"
    assert file_kind(tmp_path / "absent.csv") is None


def test_quarantine_rows_become_blocks_at_80_columns(tmp_path, narrow):
    from observatory.etl import ingest

    console, out = narrow
    f = write_pn(tmp_path / "pn_20240201.csv", [pn_row(f"C{i}", arr="69381") for i in range(20)] + [pn_row("BAD", "99/99/2024 10:00")])
    assert ingest(settings_for(tmp_path), [f], "police_nationale").snapshot_id
    result = runner.invoke(app, ["quarantine"], env=_env(tmp_path))
    assert result.exit_code == 0, result.output
    lines = out.getvalue().splitlines()
    assert lines[0] == "Quarantaine — 1 ligne(s)"
    assert lines[1] == "Police nat. · pn_20240201.csv · ligne 22 · colonne DATE_HEURE_FAITS"  # header + 20 good rows
    assert lines[2].startswith("  Motif   : date illisible") and lines[3].startswith('  Valeurs : NUM_FAIT: BAD · ')
    assert max(len(line) for line in lines) <= 80


def test_messages_quoting_profile_keys_are_not_eaten_as_markup(tmp_path, capsys):
    """« vérifiez [location] crs » must reach the user whole (Rich would read "[location]" as a style tag)."""
    import pytest as _pytest
    import typer as _typer

    from observatory.commands.common import fail

    with _pytest.raises(_typer.Exit):
        fail("coordonnées en Lambert-93 ; vérifiez [location] crs dans le profil")
    assert "vérifiez [location] crs dans le profil" in capsys.readouterr().err
