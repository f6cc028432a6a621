"""``observatory means``: list (actions without means said), check (located problems), ingest (aggregate sources), show."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from observatory.cli import app
from observatory.demo.actions import actions_csv

runner = CliRunner()

MEANS = (
    "means_id,action_id,arrondissement,service,start,end,staff_hours,fte,patrols,cameras_installed,cameras_in_service,"
    "budget_investment_eur,budget_running_eur,notes\n"
    "M1,A2023-01,,videoprotection,2023-03-01,2023-03-31,,,,6,6,126000,,\n"
    "M2,,3e,pm,2023-01-01,2023-12-31,26000,16,4300,,,,,\n"
)


def _setup(tmp_path: Path) -> dict[str, str]:
    data = tmp_path / "data"
    (data / "raw" / "actions").mkdir(parents=True)
    (data / "raw" / "actions" / "actions.csv").write_text(actions_csv(), encoding="utf-8")
    (data / "raw" / "moyens").mkdir(parents=True)
    (data / "raw" / "moyens" / "moyens.csv").write_text(MEANS, encoding="utf-8")
    return {"OBSERVATORY_DATA_DIR": str(data), "COLUMNS": "200"}


def test_list_names_the_actions_without_means(tmp_path):
    result = runner.invoke(app, ["means", "list"], env=_setup(tmp_path))
    assert result.exit_code == 0, result.output
    assert "M1" in result.output and "M2" in result.output
    assert "Action A2021-01 (GLTD Moncey) : aucun moyen déclaré." in result.output


def test_check_reports_file_line_column(tmp_path):
    env = _setup(tmp_path)
    bad = tmp_path / "moyens_a_verifier.csv"
    bad.write_text(MEANS + "M3,A2099-01,,pm,2023-01-01,2023-12-31,10,,,,,,,\n", encoding="utf-8")
    result = runner.invoke(app, ["means", "check", str(bad)], env=env)
    assert result.exit_code == 1
    assert "moyens_a_verifier.csv, ligne 4, colonne « action_id » : action « A2099-01 » absente du registre des actions" in result.output
    assert "Traceback" not in result.output


def test_ingest_then_show(tmp_path):
    env = _setup(tmp_path)
    extract = tmp_path / "mjd_20240115.csv"
    rows = ["Mois;Arrondissement;Activité;Nombre"] + [f"{m:02d}/2023;3e;Rappel à l'ordre;2" for m in range(1, 13)]
    extract.write_bytes(("\n".join(rows) + "\n").encode("cp1252"))
    result = runner.invoke(app, ["means", "ingest", str(extract), "--source", "mjd"], env=env)
    assert result.exit_code == 0, result.output
    assert "Version publiée" in result.output
    again = runner.invoke(app, ["means", "ingest", str(extract), "--source", "mjd"], env=env)
    assert again.exit_code == 0 and "Rien de nouveau à publier." in again.output
    shown = runner.invoke(app, ["means", "show", "--year", "2023", "--arrondissement", "3e"], env=env)
    assert shown.exit_code == 0, shown.output
    assert "Moyens engagés en 2023" in shown.output and "Rappels à l'ordre" in shown.output
    # No incident snapshot: the rate says why there is none instead of a figure.
    assert "pas de taux" in shown.output


def test_ingest_unknown_source_is_a_french_error(tmp_path):
    env = _setup(tmp_path)
    extract = tmp_path / "x.csv"
    extract.write_text("a\n1\n", encoding="utf-8")
    result = runner.invoke(app, ["means", "ingest", str(extract), "--source", "inconnue"], env=env)
    assert result.exit_code == 1 and "source agrégée inconnue 'inconnue'" in result.output
