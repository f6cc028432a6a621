"""The means register: validation messages (file, line, column), link to actions, atomic write-back, round trip."""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import pytest

from observatory.means import register as reg

ACTIONS = pd.DataFrame([
    {"action_id": "A1", "start": date(2023, 4, 1), "end": None, "arrondissement": "69387"},
    {"action_id": "A2", "start": date(2022, 10, 1), "end": date(2023, 9, 30), "arrondissement": "69388"},
])


def raw(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame([{c: r.get(c, "") for c in reg.MEANS_COLUMNS} for r in rows], columns=list(reg.MEANS_COLUMNS)).astype(object)


GOOD = {"means_id": "M1", "action_id": "A1", "service": "videoprotection", "start": "2023-04-01", "end": "2023-12-31",
        "cameras_installed": "6", "cameras_in_service": "6", "budget_investment_eur": "120 000", "budget_running_eur": "18000,5"}


def test_valid_line_is_typed_and_takes_the_action_arrondissement():
    typed, problems = reg.validate_means(raw(GOOD), ACTIONS)
    assert problems == []
    row = typed.iloc[0]
    assert row["arrondissement"] == "69387"
    assert row["start"] == date(2023, 4, 1) and row["end"] == date(2023, 12, 31)
    assert row["budget_investment_eur"] == 120000.0 and row["budget_running_eur"] == 18000.5
    assert math.isnan(row["staff_hours"])


def test_every_problem_is_located_in_french():
    bad = [
        {**GOOD, "means_id": "M2", "action_id": "A9"},  # unknown action
        {**GOOD, "means_id": "M3", "service": "gendarmerie"},  # unknown service
        {**GOOD, "means_id": "M4", "end": "2023-02-30"},  # impossible date
        {**GOOD, "means_id": "M5", "budget_running_eur": "-3"},  # negative
        {"means_id": "M6", "service": "pm", "start": "2023-01-01", "end": "2023-01-31"},  # neither action nor arrondissement, no amount
        {**GOOD, "means_id": "M7", "arrondissement": "3e"},  # action A1 is in the 7e
        {**GOOD, "means_id": "M8", "start": "2022-01-01", "end": "2022-12-31"},  # before the action started
        {**GOOD, "means_id": "M1"},  # duplicate of line 2
        {**GOOD, "means_id": "M9", "patrols": "2,5"},  # not a whole number of patrols
        {**GOOD, "means_id": "M10", "action_id": "A2", "start": "2023-10-01", "end": "2023-12-31"},  # after A2 ended
    ]
    typed, problems = reg.validate_means(raw(GOOD, *bad), ACTIONS, "moyens.csv")
    assert list(typed["means_id"]) == ["M1"]
    where = {(p.row, p.column) for p in problems}
    assert (3, "action_id") in where and (4, "service") in where and (5, "end") in where
    assert (6, "budget_running_eur") in where and (7, "arrondissement") in where and (7, "staff_hours") in where
    assert (8, "arrondissement") in where and (9, "start") in where and (10, "means_id") in where and (11, "patrols") in where
    assert (12, "start") in where
    text = "\n".join(str(p) for p in problems)
    assert "moyens.csv, ligne 3, colonne « action_id » : action « A9 » absente du registre des actions" in text
    assert "ligne 10, colonne « means_id » : identifiant « M1 » en double (déjà utilisé ligne 2)" in text
    assert "ni action ni arrondissement" in text and "aucun moyen chiffré" in text


def test_equipment_may_precede_the_action_but_not_hours():
    before = {"action_id": "A1", "service": "videoprotection", "start": "2023-03-01", "end": "2023-03-31"}
    typed, problems = reg.validate_means(raw({**before, "means_id": "P1", "budget_investment_eur": "120000", "cameras_installed": "6"},
                                             {**before, "means_id": "P2", "staff_hours": "100"}), ACTIONS)
    assert list(typed["means_id"]) == ["P1"]
    assert [(p.row, p.column) for p in problems] == [(3, "start")] and "avant le début de l'action A1" in problems[0].message


def test_missing_required_column_is_reported_on_the_header():
    typed, problems = reg.validate_means(pd.DataFrame({"means_id": ["M1"]}), ACTIONS, "moyens.csv")
    assert typed.empty
    assert {p.column for p in problems} == {"service", "start", "end"} and all(p.row == 1 for p in problems)


@pytest.mark.parametrize("text,code", [("69383", "69383"), ("69003", "69383"), ("3", "69383"), ("3e", "69383"), ("Lyon 3e", "69383"),
                                       ("1er", "69381"), ("Lyon 9", "69389"), ("10", None), ("69123", None), ("Villeurbanne", None)])
def test_arrondissement_spellings(text, code):
    assert reg.normalise_arrondissement(text) == code


def test_upsert_writes_atomically_keeps_history_and_refuses_bad_lines(settings):
    typed = reg.upsert_means(settings, GOOD, actions=ACTIONS)
    path = reg.means_path(settings)
    assert path.exists() and list(typed["means_id"]) == ["M1"]
    first = path.read_bytes()
    reg.upsert_means(settings, {**GOOD, "budget_running_eur": "20000"}, actions=ACTIONS)  # replaces by means_id
    again = reg.check_means(settings, actions=ACTIONS)[0]
    assert len(again) == 1 and again.iloc[0]["budget_running_eur"] == 20000.0
    assert [p.read_bytes() for p in (path.parent / reg.HISTORY_DIR).iterdir()] == [first]
    with pytest.raises(reg.MeansError) as err:
        reg.upsert_means(settings, {**GOOD, "means_id": "M2", "end": "2020-01-01"}, actions=ACTIONS)
    assert "moyens.csv, ligne 3, colonne « end »" in str(err.value)
    assert len(reg.check_means(settings, actions=ACTIONS)[0]) == 1  # nothing written
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_round_trip_file_format(settings):
    typed, _ = reg.validate_means(raw(GOOD, {"means_id": "M2", "arrondissement": "Lyon 8", "service": "PN", "start": "2023-01-01",
                                             "end": "2023-12-31", "staff_hours": "1 520", "fte": "0,9", "patrols": "210"}), ACTIONS)
    reg.save_means(settings, typed, actions=ACTIONS)
    back, problems = reg.check_means(settings, actions=ACTIONS)
    assert problems == []
    cols = ["means_id", "arrondissement", "service", "staff_hours", "fte", "patrols", "budget_investment_eur"]
    pd.testing.assert_frame_equal(back[cols], typed[cols])


def test_next_means_id():
    typed, _ = reg.validate_means(raw(GOOD, {**GOOD, "means_id": "M-A1-7"}), ACTIONS)
    assert reg.next_means_id(typed, "A1", date(2024, 1, 1)) == "M-A1-8"
    assert reg.next_means_id(typed, None, date(2024, 1, 1)) == "M-2024-1"
