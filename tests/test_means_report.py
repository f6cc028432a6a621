"""« Déclinaison des moyens » in the yearly diagnostic: totals, per-action costs (or why none), protected MJD counts."""

from __future__ import annotations

from datetime import date

import pandas as pd

from observatory.means import indicators as ind
from observatory.means.register import MEANS_COLUMNS
from observatory.means.report import means_content
from observatory.means.service import MeansTables
from observatory.means.sources import response_indicators
from observatory.reports.diagnostic import DiagnosticInputs, build_diagnostic
from observatory.reports.render import render_html
from observatory.territory import load_territory, populations

NAN = float("nan")


def _line(mid, action_id, arr, start, end, **amounts):  # noqa: ANN001, ANN202
    rec = {c: NAN for c in MEANS_COLUMNS}
    rec.update(means_id=mid, action_id=action_id, arrondissement=arr, service="police_municipale", start=start, end=end, notes="")
    return {**rec, **amounts}


def _tables(settings) -> MeansTables:  # noqa: ANN001
    means = pd.DataFrame([
        _line("M1", "A1", "69383", date(2023, 1, 1), date(2023, 12, 31), staff_hours=3650, budget_running_eur=73000),
        _line("M2", "", "69387", date(2023, 1, 1), date(2023, 12, 31), staff_hours=1000, patrols=200),
    ])
    actions = pd.DataFrame({"action_id": ["A1", "A2"], "title": ["Caméras Guillotière", "GLTD"], "type": ["videoprotection", "gltd"],
                            "arrondissement": ["69383", "69387"]})
    evaluations = pd.DataFrame([{"action_id": "A1", "verdict_code": "decrease", "verdict": "Baisse significative, compatible avec un effet de l'action : …",
                                 "wdd": -73.0, "ci_low": -146.0, "ci_high": -36.5, "start": date(2023, 1, 1), "after_end": date(2023, 12, 31), "window_months": 12},
                                {"action_id": "A2", "verdict_code": "no_effect", "verdict": "Pas d'évolution significative : …"}])
    by_year = ind.means_by_year(means)
    facts = pd.DataFrame({"arrondissement": ["69383", "69387"], "year": [2023, 2023], "facts": [1000, 500]})
    cost = ind.cost_effectiveness(evaluations, means).drop(columns="means_lines")
    per_action = ind.means_per_action(actions, means).merge(cost, on="action_id").merge(evaluations[["action_id", "verdict_code", "verdict"]], on="action_id")
    cells = pd.DataFrame([{"source": "mjd", "indicator": "tig", "category": "", "arrondissement": a, "month": pd.Timestamp(2023, m, 1), "count": n}
                          for m in range(1, 13) for a, n in (("69383", 1 if m == 1 else 0), ("69387", 2))])
    rec_facts = pd.DataFrame({"arrondissement": ["69383", "69387"], "year": [2023, 2023], "category": ["destructions_degradations"] * 2, "facts": [50, 80]})
    response = ind.response_rates(cells, rec_facts, response_indicators())
    return MeansTables(means, [], by_year, ind.means_by_arrondissement(by_year, populations(settings), facts), per_action, response,
                       ind.elucidation_rates(cells, rec_facts), ind.victims_by_category(cells), [2023])


def test_section_in_the_city_diagnostic_with_cost_and_protected_counts(settings):
    terr = load_territory(settings)
    counts = pd.DataFrame([(2023, "69383", "cambriolages_logement", "atteintes_biens", 120), (2022, "69383", "cambriolages_logement", "atteintes_biens", 110)],
                          columns=["year", "arrondissement", "category", "family", "n"])
    inputs = DiagnosticInputs(counts=counts, zone_counts=pd.DataFrame(columns=["year", "zone_id", "arrondissement", "family", "n"]),
                              zones=pd.DataFrame(terr.zones.drop(columns="geometry")), arrondissements=terr.arrondissements,
                              snapshot_id="snap-test", boundary_source=terr.boundary_source, means=_tables(settings))
    d = build_diagnostic(inputs, 2023, None, min_count=5)
    assert d.means is not None and d.means.title == "Déclinaison des moyens"
    assert d.means.sentences[0].startswith("Moyens déclarés pour Lyon en 2023 : 4\xa0650 heures d'agents")
    keys = [t.key for t in d.means.tables]
    assert keys == ["moyens-arrondissements", "moyens-actions", "moyens-reponse"]
    actions = d.means.tables[1].frame.set_index("Action")
    # 73 000 € over the year for 73 facts avoided [36,5 ; 146] → 1 000 € per fact [500 ; 2 000].
    assert actions.loc["A1 — Caméras Guillotière", "Coût par fait évité"].startswith("1\xa0000 € par fait évité (IC 95 % : 500 € à 2\xa0000 €)")
    assert actions.loc["A2 — GLTD", "Coût par fait évité"].startswith("Aucun moyen déclaré")
    html = render_html(d)
    assert "Déclinaison des moyens" in html and "par fait évité" in html
    # The 3e's single TIG is a small count: in an arrondissement report it reads « < 5 », never 1.
    d3 = build_diagnostic(inputs, 2023, "69383", min_count=5)
    response = d3.means.tables[-1].frame.set_index("Mesure")
    assert response.loc["Travaux d'intérêt général (TIG)", "Mesures"] in ("< 5", "s")
    assert response.loc["Travaux d'intérêt général (TIG)", "Pour 100 faits (IC 95 %)"] == "non publié (petit effectif)"
    assert list(d3.means.tables[1].frame["Territoire"].unique()) == ["Lyon 3e"]


def test_no_section_for_a_year_without_means(settings):
    assert means_content(_tables(settings), 2021, None, 5) is None
    assert means_content(None, 2023, None, 5) is None


def test_diagnostic_cache_key_sees_the_means_register_and_the_aggregates(settings):
    from datetime import datetime

    from observatory.means.store import ingest_aggregates
    from observatory.reports.cache import inputs_stamp

    before = inputs_stamp(settings)
    path = settings.raw_dir / "moyens" / "moyens.csv"
    path.parent.mkdir(parents=True)
    path.write_text("means_id,arrondissement,service,start,end,staff_hours\nM1,3,pm,2023-01-01,2023-12-31,10\n", encoding="utf-8")
    with_means = inputs_stamp(settings)
    assert with_means != before
    extract = settings.raw_dir / "mjd_20240115.csv"
    extract.write_text("Mois;Arrondissement;Activité;Nombre\n01/2023;3e;TIG;2\n", encoding="utf-8")
    assert ingest_aggregates(settings, [extract], "mjd", now=datetime(2024, 2, 1)).published
    assert inputs_stamp(settings) != with_means
