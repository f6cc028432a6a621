"""Means and response indicators on hand-computed cases."""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import pytest

from observatory.means import indicators as ind
from observatory.means.register import MEANS_COLUMNS
from observatory.means.sources import (
    response_indicators,
    response_nomenclature_problems,
)

NAN = math.nan


def line(means_id: str, start: date, end: date, action_id: str = "", arrondissement: str | None = "69383", **amounts) -> dict:
    rec = {c: NAN for c in MEANS_COLUMNS}
    rec.update(means_id=means_id, action_id=action_id, arrondissement=arrondissement, service="police_nationale", start=start, end=end, notes="")
    rec.update(amounts)
    return rec


def test_means_by_year_spreads_flows_by_days_and_keeps_investment_in_its_year():
    # 1 July 2023 – 30 June 2024 = 184 days in 2023 + 182 in 2024 (a leap year) = 366 days.
    means = pd.DataFrame([line("M1", date(2023, 7, 1), date(2024, 6, 30), staff_hours=3660, budget_investment_eur=50000,
                               budget_running_eur=36600, fte=2, cameras_in_service=6)])
    out = ind.means_by_year(means).set_index("year")
    assert out.loc[2023, "staff_hours"] == pytest.approx(1840) and out.loc[2024, "staff_hours"] == pytest.approx(1820)
    assert out.loc[2023, "budget_investment_eur"] == 50000 and out.loc[2024, "budget_investment_eur"] == 0
    assert out.loc[2023, "budget_total_eur"] == pytest.approx(50000 + 18400) and out.loc[2024, "budget_total_eur"] == pytest.approx(18200)
    assert out.loc[2023, "fte"] == pytest.approx(2 * 184 / 365) and out.loc[2024, "fte"] == pytest.approx(2 * 182 / 366)
    assert list(out["cameras_in_service"]) == [6, 6]


def test_means_per_inhabitant_and_per_fact():
    means = pd.DataFrame([line("M1", date(2023, 1, 1), date(2023, 12, 31), staff_hours=1840, budget_running_eur=10000),
                          line("M2", date(2023, 1, 1), date(2023, 12, 31), arrondissement=None, staff_hours=160)])
    pops = pd.DataFrame({"code": ["69383", "69387"], "population": [100000, 50000]})
    facts = pd.DataFrame({"arrondissement": ["69383", "69387"], "year": [2023, 2023], "facts": [500, 300]})
    out = ind.means_by_arrondissement(ind.means_by_year(means), pops, facts).set_index("arrondissement")
    assert out.loc["69383", "staff_hours_per_1000"] == pytest.approx(18.4)
    assert out.loc["69383", "staff_hours_per_fact"] == pytest.approx(3.68)
    assert out.loc["69383", "budget_per_fact"] == pytest.approx(20.0)
    # The city adds the line placed in no arrondissement, over the whole population and every fact.
    assert out.loc["69123", "staff_hours"] == pytest.approx(2000)
    assert out.loc["69123", "staff_hours_per_1000"] == pytest.approx(2000 / 150)
    assert out.loc["69123", "staff_hours_per_fact"] == pytest.approx(2.5)


EVAL = {"action_id": "A1", "verdict_code": "decrease", "verdict": "Baisse significative, compatible avec un effet de l'action : ...",
        "wdd": -40.0, "ci_low": -60.0, "ci_high": -20.0, "start": date(2023, 4, 1), "after_end": date(2024, 3, 31), "window_months": 12}
MEANS_A1 = pd.DataFrame([
    line("M1", date(2023, 3, 1), date(2023, 3, 31), action_id="A1", budget_investment_eur=120000, cameras_installed=6),
    line("M2", date(2023, 4, 1), date(2024, 3, 31), action_id="A1", budget_running_eur=36600),
    line("M3", date(2024, 1, 1), date(2024, 12, 31), action_id="A1", budget_running_eur=36600),  # 91 of its 366 days fall in the window
    line("M4", date(2025, 1, 1), date(2025, 12, 31), action_id="A1", budget_investment_eur=99999),  # after the window: not counted
])


def test_cost_per_incident_avoided_with_its_interval():
    out = ind.cost_effectiveness(pd.DataFrame([EVAL]), MEANS_A1).iloc[0]
    cost = 120000 + 36600 + 36600 * 91 / 366
    assert out["status"] == "estimate"
    assert out["cost_eur"] == pytest.approx(cost)
    assert out["cost_per_avoided"] == pytest.approx(cost / 40)
    assert out["cost_low"] == pytest.approx(cost / 60) and out["cost_high"] == pytest.approx(cost / 20)
    assert out["avoided_low"] == 20 and out["avoided_high"] == 60
    assert out["text"].replace("\xa0", " ").startswith("4 142 € par fait évité (IC 95 % : 2 762 € à 8 285 €)")


@pytest.mark.parametrize("code", ["local_decrease", "weak_decrease", "no_effect", "increase", "no_conclusion"])
def test_no_cost_figure_without_a_concluded_effect(code):
    # Same counts as above: only the verdict differs. A non-significant (or not confirmed) effect gives no figure.
    out = ind.cost_effectiveness(pd.DataFrame([{**EVAL, "verdict_code": code, "verdict": "Effet net non démontré : ..."}]), MEANS_A1).iloc[0]
    assert out["status"] == "no_conclusion"
    assert math.isnan(out["cost_per_avoided"]) and math.isnan(out["cost_low"]) and math.isnan(out["avoided"])
    assert out["text"].startswith("Pas de conclusion")
    assert "€ par fait évité" not in out["text"]


def test_action_without_means_says_so():
    out = ind.cost_effectiveness(pd.DataFrame([{**EVAL, "action_id": "A2"}]), MEANS_A1).iloc[0]
    assert out["status"] == "no_means" and out["text"].startswith("Aucun moyen déclaré")
    actions = pd.DataFrame({"action_id": ["A1", "A2"], "title": ["a", "b"], "type": ["videoprotection", "patrouilles"], "arrondissement": ["69387", "69388"]})
    per = ind.means_per_action(actions, MEANS_A1).set_index("action_id")
    assert bool(per.loc["A1", "declared"]) and not bool(per.loc["A2", "declared"])
    assert per.loc["A1", "budget_total_eur"] == 120000 + 99999 + 2 * 36600 and per.loc["A1", "means_lines"] == 4


def _mjd_cells() -> pd.DataFrame:
    rows = [{"source": "mjd", "indicator": "rappels_ordre", "category": "", "arrondissement": "69383", "month": pd.Timestamp(2023, m, 1), "count": 1}
            for m in range(1, 13)]
    rows.append({"source": "mjd", "indicator": "tig", "category": "", "arrondissement": "69383", "month": pd.Timestamp(2023, 1, 1), "count": 2})
    rows += [{"source": "mjd", "indicator": "tig", "category": "", "arrondissement": "69383", "month": pd.Timestamp(2024, m, 1), "count": 1} for m in (1, 2, 3)]
    return pd.DataFrame(rows)


def test_response_rate_per_100_facts_of_matching_categories():
    facts = pd.DataFrame({"arrondissement": ["69383"] * 4, "year": [2023] * 4,
                          "category": ["incivilites", "destructions_degradations", "vols_sans_violence_personnes", "cambriolages_logement"],
                          "facts": [100, 20, 30, 999]})
    out = ind.response_rates(_mjd_cells(), facts, response_indicators())
    got = out[(out["arrondissement"] == "69383") & (out["year"] == 2023)].set_index("indicator")
    assert got.loc["rappels_ordre", "facts"] == 120 and got.loc["rappels_ordre", "rate"] == pytest.approx(10.0)
    assert got.loc["tig", "facts"] == 50 and got.loc["tig", "rate"] == pytest.approx(4.0)
    assert got.loc[ind.ALL_MEASURES, "measures"] == 14 and got.loc[ind.ALL_MEASURES, "rate"] == pytest.approx(14 / 150 * 100)
    # Exact Poisson interval of 12 events: (6.2006, 20.9616) → per 100 of 120 facts.
    assert got.loc["rappels_ordre", "low"] == pytest.approx(6.2006 / 1.2, abs=1e-3) and got.loc["rappels_ordre", "high"] == pytest.approx(20.9616 / 1.2, abs=1e-3)
    partial = out[out["year"] == 2024].iloc[0]
    assert math.isnan(partial["rate"]) and partial["reason"] == "année incomplète : 3 mois transmis par la MJD"
    # Facts that do not cover the year: no rate either.
    assert out.pipe(lambda o: ind.response_rates(_mjd_cells(), facts, response_indicators(), fact_years={2022})).query("year == 2023")["rate"].isna().all()


def test_response_nomenclature_is_sound():
    assert response_nomenclature_problems() == []
    assert {"rappels_ordre", "mesures_reparation", "tig"} <= {c for c, i in response_indicators().items() if i.measure}
