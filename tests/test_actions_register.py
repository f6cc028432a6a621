"""The action register: validation with file/row/column messages, atomic write-back, CLI."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from observatory.actions import (
    ACTION_COLUMNS,
    RegisterError,
    actions_for_markers,
    actions_layer,
    check_register,
    close_action,
    load_register,
    register_path,
    upsert_action,
    validate_register,
)
from observatory.actions.register import read_register_file

ZONES = frozenset({"hypercentre", "qpv_moncey"})
GOOD = {
    "action_id": "A1", "title": "Patrouilles Terreaux", "type": "patrouilles", "partner": "Police municipale",
    "zone_id": "hypercentre", "lon": "", "lat": "", "radius_m": "", "start": "2025-03-01", "end": "",
    "categories": "vols_sans_violence_personnes|vols_violents_sans_arme", "objective": "−10 % en 2026",
    "target_change_pct": "-10", "objective_year": "2026", "status": "en_cours", "notes": "",
}


def raw(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame([{**GOOD, **r} for r in rows], columns=list(ACTION_COLUMNS)).astype(object)


def test_a_good_line_is_typed():
    typed, problems = validate_register(raw({}), ZONES)
    assert problems == []
    rec = typed.iloc[0]
    assert rec["categories"] == ("vols_sans_violence_personnes", "vols_violents_sans_arme")
    assert str(rec["start"]) == "2025-03-01" and rec["end"] is None
    assert rec["target_change_pct"] == -10 and rec["objective_year"] == 2026 and rec["perimeter_kind"] == "zone"


def test_all_problems_are_collected_with_row_and_column():
    _, problems = validate_register(
        raw(
            {},
            {"action_id": "A2", "start": "2025-02-30"},  # no such day
            {"action_id": "A3", "start": "01/03/2025"},  # not ISO
            {"action_id": "A4", "start": "2025-05-01", "end": "2025-04-01"},
            {"action_id": "A5", "zone_id": "atlantide"},
            {"action_id": "A1"},  # duplicate of line 2
            {"action_id": "A6", "categories": "vols|cambriolages_logement"},
        ),
        ZONES,
        file_name="actions.csv",
    )
    text = [str(p) for p in problems]
    assert "actions.csv, ligne 3, colonne « start » : date de début « 2025-02-30 » invalide (format AAAA-MM-JJ, date existante)" in text
    assert any(t.startswith("actions.csv, ligne 4, colonne « start »") for t in text)
    assert any(t.startswith("actions.csv, ligne 5, colonne « end »") and "précède" in t for t in text)
    assert any(t.startswith("actions.csv, ligne 6, colonne « zone_id »") and "atlantide" in t for t in text)
    assert "actions.csv, ligne 7, colonne « action_id » : identifiant « A1 » en double (déjà utilisé ligne 2)" in text
    assert any(t.startswith("actions.csv, ligne 8, colonne « categories »") and "vols" in t for t in text)
    assert len(problems) == 6


def test_perimeter_rules():
    point = {"zone_id": "", "lon": "4.85", "lat": "45.76", "radius_m": "300"}
    typed, problems = validate_register(raw({**point, "action_id": "P1"}), ZONES)
    assert problems == [] and typed.iloc[0]["perimeter_kind"] == "buffer"
    _, problems = validate_register(raw({"action_id": "P2", "lon": "45.76", "lat": "4.85", "radius_m": "300", "zone_id": ""}), ZONES)
    assert {p.column for p in problems} == {"lon", "lat"}
    _, problems = validate_register(raw({"action_id": "P3", **point, "zone_id": "hypercentre"}), ZONES)
    assert "ambigu" in problems[0].message
    _, problems = validate_register(raw({"action_id": "P4", "zone_id": ""}), ZONES)
    assert problems[0].column == "zone_id" and "aucun périmètre" in problems[0].message
    typed, problems = validate_register(raw({"action_id": "P5", "zone_id": ""}), ZONES, polygon_ids=frozenset({"P5"}))
    assert problems == [] and typed.iloc[0]["perimeter_kind"] == "polygon"


def test_accents_and_case_are_accepted_for_type_and_status():
    typed, problems = validate_register(raw({"type": "Vidéoprotection", "status": "En cours"}), ZONES)
    assert problems == [] and typed.iloc[0]["type"] == "videoprotection" and typed.iloc[0]["status"] == "en_cours"


def test_missing_column_is_named():
    frame = raw({}).drop(columns=["start"])
    _, problems = validate_register(frame, ZONES)
    assert str(problems[0]) == "actions.csv, ligne 1, colonne « start » : colonne obligatoire absente de l'en-tête"


def test_upsert_close_roundtrip_and_history(settings):
    path = register_path(settings)
    upsert_action(settings, GOOD)
    upsert_action(settings, {**GOOD, "action_id": "B2", "zone_id": "", "lon": "4.8601", "lat": "45.7602", "radius_m": "250"})
    assert list(load_register(settings)["action_id"]) == ["A1", "B2"]
    upsert_action(settings, {**GOOD, "title": "Patrouilles renforcées"})
    reg = load_register(settings)
    assert reg.set_index("action_id").loc["A1", "title"] == "Patrouilles renforcées" and len(reg) == 2
    close_action(settings, "A1", pd.Timestamp("2025-09-30").date())
    rec = load_register(settings).set_index("action_id").loc["A1"]
    assert rec["status"] == "terminee" and str(rec["end"]) == "2025-09-30"
    assert read_register_file(path).loc[1, "lon"] == "4.8601"  # text written back as given, no float noise
    assert len(list((path.parent / ".historique").glob("actions-*.csv"))) == 3
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".actions-")]  # no temp file left


def test_invalid_edit_writes_nothing(settings):
    upsert_action(settings, GOOD)
    before = register_path(settings).read_bytes()
    with pytest.raises(RegisterError) as err:
        upsert_action(settings, {**GOOD, "action_id": "C3", "start": "2025-13-01", "zone_id": "nulle_part"})
    assert {p.column for p in err.value.problems} == {"start", "zone_id"}
    assert "ligne 3" in str(err.value)
    assert register_path(settings).read_bytes() == before


def test_xlsx_register_is_read(settings, tmp_path):
    path = tmp_path / "actions.xlsx"
    frame = raw({})
    frame["start"] = [pd.Timestamp("2025-03-01")]  # Excel stores a date cell, not text
    frame.to_excel(path, index=False)
    typed, problems = check_register(settings, path)
    assert problems == [] and str(typed.iloc[0]["start"]) == "2025-03-01"


def test_markers_and_layer(settings):
    upsert_action(settings, GOOD)
    upsert_action(settings, {**GOOD, "action_id": "B2", "zone_id": "", "lon": "4.8601", "lat": "45.7602", "radius_m": "250", "start": "2024-01-01"})
    markers = actions_for_markers(settings)
    assert list(markers["action_id"]) == ["B2", "A1"]  # sorted by start
    assert markers.set_index("action_id").loc["B2", "arrondissement"] == "69383"
    layer = actions_layer(settings)
    assert layer.crs.to_epsg() == 4326 and set(layer["action_id"]) == {"A1", "B2"}
    circle = layer.set_index("action_id").loc["B2", "geometry"]
    area = __import__("geopandas").GeoSeries([circle], crs=4326).to_crs(2154).area.iloc[0]
    assert area == pytest.approx(3.14159 * 250**2, rel=0.01)


def test_cli_check_list_evaluate(settings, tmp_path, monkeypatch):
    from observatory.cli import app
    from observatory.commands import common

    monkeypatch.setattr(common, "get_settings", lambda: settings)
    bad = tmp_path / "bad.csv"
    raw({}, {"action_id": "A1", "end": "2020-01-01"}).to_csv(bad, index=False)
    runner = CliRunner()
    out = runner.invoke(app, ["actions", "check", str(bad)])
    assert out.exit_code == 1 and "ligne 3" in out.output and "en double" in out.output and "Traceback" not in out.output
    upsert_action(settings, GOOD)
    out = runner.invoke(app, ["actions", "list"])
    assert out.exit_code == 0 and "A1" in out.output
    out = runner.invoke(app, ["actions", "evaluate", "ZZ"])
    assert out.exit_code == 1 and "ZZ" in out.output
