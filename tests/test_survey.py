"""Resident surveys: design-based estimates checked by hand and by simulation, validation, the publication rule,
the reporting rate, import/storage, the command line and the page (as analyst and as élu)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from observatory import survey
from observatory.survey import tables
from observatory.survey.estimate import Design, Estimate, linearised_variance, publishable, ratio_estimate, reporting_rate, weighted_ratio
from observatory.survey.profile import SurveyProfileError, load_survey_profile
from observatory.survey.read import SurveyInputError

REPO = Path(__file__).resolve().parents[1]
DEMO_PROFILE = REPO / "data" / "raw" / "surveys" / "cadre_de_vie_demo.toml"


# Estimates ------------------------------------------------------------------------------------------------------
def _hand_design() -> pd.DataFrame:
    # Two strata of two PSUs; worked out by hand in the test below.
    return pd.DataFrame({
        "stratum": ["A", "A", "A", "B", "B", "B"],
        "psu": ["a1", "a1", "a2", "b1", "b2", "b2"],
        "w": [1.0, 1.0, 2.0, 1.0, 3.0, 1.0],
        "y": [1.0, 0.0, 1.0, 0.0, 1.0, 0.0],
    })


def test_weighted_proportion_and_its_standard_error_by_hand():
    # R = Σwy / Σw = 6 / 9. z = w (y − R) / 9 summed per PSU: a1 −1/27, a2 2/27, b1 −2/27, b2 1/27.
    # Per stratum: n_h/(n_h−1) · Σ (z_hc − z̄_h)² = 2 · 2 · (1/18)² = 1/81, twice: V = 2/81, SE = √2 / 9.
    est = weighted_ratio(_hand_design(), "y", "w", stratum="stratum", psu="psu")
    assert est.value == pytest.approx(2 / 3)
    assert est.se == pytest.approx(math.sqrt(2) / 9)
    assert est.n == 6 and est.weighted_n == pytest.approx(9)


def test_a_domain_uses_the_whole_design_not_a_subset():
    frame = _hand_design()
    domain = frame["stratum"].eq("A") | frame["psu"].eq("b2")
    est = weighted_ratio(frame, "y", "w", domain=domain, stratum="stratum", psu="psu")
    # Domain: a1 (1,1), (1,0); a2 (2,1); b2 (3,1), (1,0): R = 6 / 8.
    assert est.value == pytest.approx(0.75)
    # z over the whole sample (0 outside the domain): a1 (0.25 − 0.75)/8, a2 0.5/8, b1 0, b2 (0.75 − 0.75)/8 = 0.
    z_psu = {"a1": -0.5 / 8, "a2": 0.5 / 8, "b1": 0.0, "b2": 0.0}
    by_hand = 2 * ((z_psu["a1"] - 0) ** 2 + (z_psu["a2"] - 0) ** 2) + 2 * 2 * 0.0 ** 2
    assert est.se ** 2 == pytest.approx(by_hand)
    # Subsetting the sample instead would drop b1 and change the variance: the domain estimator must not.
    subset = weighted_ratio(frame[domain].reset_index(drop=True), "y", "w", stratum="stratum", psu="psu")
    assert subset.value == pytest.approx(est.value)


def test_a_lonely_psu_is_centred_on_the_overall_mean_not_dropped():
    z = np.array([1.0, -1.0, 3.0])
    psu_index = np.array([0, 1, 2])
    psu_stratum = np.array([0, 0, 1])  # stratum 1 has a single PSU
    v = linearised_variance(z, psu_index, psu_stratum)
    # Stratum 0: 2 · ((1 − 0)² + (−1 − 0)²) = 4; stratum 1: (3 − mean(1, −1, 3))² = (3 − 1)² = 4.
    assert v == pytest.approx(8.0)


def test_without_design_columns_each_respondent_is_its_own_psu():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"y": rng.integers(0, 2, 400).astype(float), "w": np.ones(400)})
    est = weighted_ratio(frame, "y", "w")
    p = frame["y"].mean()
    # Equal weights, one stratum: the linearised variance is p(1 − p)/(n − 1) (the n/(n−1) factor on Σ z²).
    assert est.se ** 2 == pytest.approx(p * (1 - p) / (len(frame) - 1))
    assert est.deff == pytest.approx(1.0, rel=1e-9)


def test_intervals_cover_the_true_proportion_95_times_in_100_under_a_clustered_design():
    """Simulation: a population of 40 strata-blocks with clustered answers; repeated stratified cluster samples."""
    rng = np.random.default_rng(20261205)
    n_strata, blocks_per_stratum, block_size = 4, 60, 40
    block_p = np.clip(rng.normal(0.25, 0.10, (n_strata, blocks_per_stratum)), 0.01, 0.99)
    pop = [(h, b, rng.random(block_size) < block_p[h, b]) for h in range(n_strata) for b in range(blocks_per_stratum)]
    truth = np.mean(np.concatenate([ans for _h, _b, ans in pop]))
    covered, runs = 0, 400
    for _ in range(runs):
        parts = []
        for h in range(n_strata):
            chosen = rng.choice(blocks_per_stratum, 8, replace=False)
            for b in chosen:
                ans = pop[h * blocks_per_stratum + b][2]
                take = rng.choice(block_size, 10, replace=False)
                # Weight = stratum's people / sampled people (equal-size blocks): 60·40 / (8·10).
                parts.append(pd.DataFrame({"stratum": h, "psu": f"{h}-{b}", "w": 30.0, "y": ans[take].astype(float)}))
        sample = pd.concat(parts, ignore_index=True)
        lo, hi = weighted_ratio(sample, "y", "w", stratum="stratum", psu="psu").interval()
        covered += lo <= truth <= hi
    rate = covered / runs
    print(f"\ncoverage of the 95 % interval over {runs} clustered samples: {rate:.3f}")
    assert 0.92 <= rate <= 0.98


def test_logit_interval_stays_inside_zero_one():
    lo, hi = Estimate(0.02, 0.015, 100, 100.0, True).interval()
    assert 0 < lo < 0.02 < hi < 1
    lo, hi = Estimate(5.0, 0.5, 100, 100.0, False).interval()
    assert (lo, hi) == pytest.approx((5 - 1.959964 * 0.5, 5 + 1.959964 * 0.5), rel=1e-6)


@pytest.mark.parametrize(
    "est, published",
    [
        (Estimate(0.30, 0.03, 29, 29.0, True), False),   # fewer than 30 respondents
        (Estimate(0.30, 0.03, 30, 30.0, True), True),
        (Estimate(0.05, 0.02, 400, 400.0, True), False),  # CV on min(p, 1 − p) = 0.4 > 0.3
        (Estimate(0.95, 0.02, 400, 400.0, True), False),  # the same estimate read from the other side
        (Estimate(0.0, 0.0, 400, 400.0, True), False),    # 0 %: no precision to judge
        (Estimate(6.0, 0.3, 50, 50.0, False), True),
    ],
)
def test_publication_rule(est, published):
    assert publishable(est, min_n=30, max_cv=0.3) is published


def test_reporting_rate_by_hand():
    # 2 % of 10,000 households victims = 200; 60 recorded → 0.30, interval from the proportion's interval.
    victims = Estimate(0.02, 0.004, 1500, 1500.0, True)
    rate, low, high = reporting_rate(60, victims, 10_000)
    lo_p, hi_p = victims.interval()
    assert rate == pytest.approx(0.30)
    assert (low, high) == pytest.approx((60 / (hi_p * 10_000), 60 / (lo_p * 10_000)))
    assert low < rate < high
    assert all(math.isnan(x) for x in reporting_rate(10, Estimate(0.0, 0.0, 100, 100.0, True), 1000))


def test_wave_changes_are_corrected_together_and_unpublished_pairs_get_no_verdict():
    rows = []
    for wave, value in ((2021, 0.30), (2023, 0.20)):
        rows.append({"wave": wave, "indicator": "x", "indicator_label": "X", "territory": "69123", "territory_label": "Lyon", "kind": "proportion",
                     "value": value, "se": 0.01, "low": 0, "high": 1, "n": 1000, "weighted_n": 1000.0, "cv": 0.05, "deff": 1.0,
                     "published": True, "reason": ""})
        rows.append({**rows[-1], "territory": "69381", "territory_label": "Lyon 1er", "published": wave == 2021, "n": 20 if wave == 2023 else 500})
    ch = tables.changes(pd.DataFrame(rows))
    city = ch[ch["territory"] == "69123"].iloc[0]
    assert city["difference"] == pytest.approx(-0.10) and city["se"] == pytest.approx(math.hypot(0.01, 0.01))
    assert city["verdict"] == "baisse significative"
    first = ch[ch["territory"] == "69381"].iloc[0]
    assert first["verdict"].startswith("pas de comparaison") and math.isnan(first["difference"])


# Profiles and files ---------------------------------------------------------------------------------------------
def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_profile_lists_every_problem_at_once_with_the_key(tmp_path):
    path = _write(tmp_path, "p.toml", """
[survey]
name = "x"
lable = "typo"
[design]
id = 5
wave = "V"
[indicators.a]
label = "A"
question = "Q1"
kind = "ratio"
yes = "1"
[indicators.b]
label = "B"
question = "Q2"
yes = [1]
among = "zzz"
categories = ["pas_une_categorie"]
""")
    with pytest.raises(SurveyProfileError) as err:
        load_survey_profile(path)
    text = str(err.value)
    for expected in ("p.toml", "[survey] lable : clé inconnue (vouliez-vous dire « label » ?)", "[design] id : texte attendu",
                     "[design] weight : obligatoire", "[indicators.a] kind : « ratio » inconnu", "[indicators.a] yes : liste attendue",
                     "[indicators.b] among", "pas_une_categorie"):
        assert expected in text


def test_the_demo_profile_is_valid():
    prof = load_survey_profile(DEMO_PROFILE)
    assert prof.weight == "POIDS" and len(prof.indicators) == 8
    assert {i.code for i in prof.indicators if i.among} == {"plainte_cambriolage", "plainte_vol"}


def _csv_profile(tmp_path: Path) -> Path:
    return _write(tmp_path, "mini.toml", """
[survey]
name = "mini"
label = "Mini"
[file]
delimiter = ";"
decimal = ","
[design]
id = "ID"
wave = "VAGUE"
weight = "POIDS"
[residence]
arrondissement = "ARR"
qpv = "QPV"
[indicators.peur]
label = "Peur le soir"
question = "Q1"
yes = [3, 4]
valid = [1, 2, 3, 4]
missing = [9]
""")


def test_bad_rows_refuse_the_file_with_file_row_and_column(tmp_path):
    prof = load_survey_profile(_csv_profile(tmp_path))
    data = _write(tmp_path, "reponses.csv", "ID;VAGUE;POIDS;ARR;QPV;Q1\n1;2023;1,5;3;0;1\n2;2023;abc;3;0;4\n3;2023;2;12;0;7\n3;2023;1;1;peut-être;9\n")
    with pytest.raises(SurveyInputError) as err:
        survey.import_survey(get_settings_tmp(tmp_path), prof, data)
    text = str(err.value)
    assert text.startswith("reponses.csv : 5 problème(s), fichier refusé")
    for expected in ("ligne 3, colonne « POIDS » : poids « abc » illisible", "ligne 4, colonne « ARR » : arrondissement « 12 » inconnu",
                     "ligne 4, colonne « Q1 » : code de réponse « 7 » inconnu", "ligne 5, colonne « ID » : répondant « 3 » en double",
                     "ligne 5, colonne « QPV » : valeur « peut-être »"):
        assert expected in text
    assert not (get_settings_tmp(tmp_path).processed_dir / "survey").exists()  # nothing stored


def get_settings_tmp(tmp_path: Path):  # noqa: ANN201
    from observatory.config import get_settings

    return get_settings(root=REPO, env={}, data_dir=tmp_path / "data")


def test_import_stores_respondents_apart_and_a_new_delivery_replaces_its_wave(tmp_path):
    settings = get_settings_tmp(tmp_path)
    prof = load_survey_profile(_csv_profile(tmp_path))
    rows = "\n".join(f"{i};2023;1;{1 + i % 9};{i % 2};{1 + i % 4}" for i in range(60))
    first = _write(tmp_path, "v2023.csv", "ID;VAGUE;POIDS;ARR;QPV;Q1\n" + rows + "\n")
    result = survey.import_survey(settings, prof, first)
    assert (result.respondents, result.waves, result.unchanged) == (60, (2023,), False)
    assert survey.import_survey(settings, prof, first).unchanged  # the same file twice changes nothing
    heavier = "\n".join(f"{i};2023;2;{1 + i % 9};{i % 2};{1 + i % 4}" for i in range(60))
    again = _write(tmp_path, "v2023b.csv", "ID;VAGUE;POIDS;ARR;QPV;Q1\n" + heavier + "\n1000;2023;1;1;0;9\n")
    replaced = survey.import_survey(settings, prof, again)
    assert replaced.replaced_waves == (2023,)
    stored = pd.read_parquet(settings.processed_dir / "survey" / "mini.parquet")
    assert len(stored) == 61 and set(stored["wave"]) == {2023}
    tabs = survey.survey_tables(settings)
    city = tabs.estimates[(tabs.estimates["territory"] == "69123")].iloc[0]
    # Q1 = 1 + i % 4 over i < 60: codes 3 and 4 are half the 60 valid answers (the 61st answered 9: missing).
    assert city["value"] == pytest.approx(0.5) and city["n"] == 60


def test_spss_and_stata_files_read_like_the_csv(tmp_path):
    pyreadstat = pytest.importorskip("pyreadstat")
    from observatory.survey.read import read_survey_file

    frame = pd.DataFrame({"ID": [f"r{i}" for i in range(40)], "VAGUE": 2025, "POIDS": np.linspace(0.5, 2, 40), "ARR": 1 + np.arange(40) % 9,
                          "QPV": np.arange(40) % 2, "Q1": 1 + np.arange(40) % 4})
    csv_prof = load_survey_profile(_csv_profile(tmp_path))
    estimates = {}
    for ext, writer in (("sav", pyreadstat.write_sav), ("dta", pyreadstat.write_dta)):
        path = tmp_path / f"r.{ext}"
        writer(frame, str(path))
        respondents = read_survey_file(path, csv_prof)
        assert len(respondents) == 40
        estimates[ext] = weighted_ratio(respondents, "ind_peur", "weight").value
    expected = np.average((frame["Q1"] >= 3).astype(float), weights=frame["POIDS"])
    assert estimates == pytest.approx({"sav": expected, "dta": expected})


# The demo survey, the command line and the page ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo_survey_settings(tmp_path_factory):  # noqa: ANN001, ANN201
    from observatory.config import get_settings
    from observatory.demo.survey import write_survey
    from observatory.territory import populations

    settings = get_settings(root=REPO, env={}, data_dir=tmp_path_factory.mktemp("survey") / "data")
    prof = load_survey_profile(DEMO_PROFILE)
    for path in write_survey(settings.raw_dir / "demo" / "enquetes", populations(settings)):
        survey.import_survey(settings, prof, path)
    return settings


def test_demo_survey_shows_what_it_was_built_to_show(demo_survey_settings):
    tabs = survey.survey_tables(demo_survey_settings)
    est = tabs.estimates
    assert tabs.waves == (2021, 2023, 2025)
    soir = est[(est["indicator"] == "insecurite_soir")].set_index(["wave", "territory"])
    for wave in tabs.waves:
        assert soir.loc[(wave, "qpv"), "value"] > soir.loc[(wave, "hors_qpv"), "value"]  # higher in the QPV
        assert soir.loc[(wave, "69123"), "n"] > 1800
    assert soir.loc[(2025, "qpv"), "value"] < soir.loc[(2021, "qpv"), "value"]
    # QPV over-sampled: about a third of the sample, far less of the weighted population.
    city = soir.loc[(2025, "69123")]
    assert soir.loc[(2025, "qpv"), "n"] / city["n"] > 0.25 > soir.loc[(2025, "qpv"), "weighted_n"] / city["weighted_n"]
    # Clustered answers: the design effect of the city estimate is above 1.
    assert city["deff"] > 1.0
    # Complaint questions are asked of victims only.
    plainte = est[(est["indicator"] == "plainte_cambriolage") & (est["territory"] == "69123")]
    assert (plainte["n"] < 120).all()
    # Unpublished estimates carry no value out of the store.
    hidden = est[~est["published"]]
    assert len(hidden) and hidden[["value", "low", "high", "se"]].isna().all().all()


def test_cli_import_refuses_a_bad_file_in_french_and_show_prints_the_estimates(demo_survey_settings, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from observatory.cli import app

    from observatory.commands import common

    monkeypatch.setenv("OBSERVATORY_DATA_DIR", str(demo_survey_settings.data_path))
    monkeypatch.setattr(common.console, "width", 200)  # one table row per line, whatever the terminal
    runner = CliRunner()
    bad = _write(tmp_path, "vague.csv", "ID_REPONDANT;VAGUE\n1;2025\n")
    res = runner.invoke(app, ["survey", "import", str(bad), "--profil", "cadre_de_vie_demo"])
    assert res.exit_code == 1
    assert "vague.csv : colonnes absentes : POIDS" in res.output and "Traceback" not in res.output
    res = runner.invoke(app, ["survey", "show", "--indicateur", "insecurite_soir", "--vague", "2025"])
    assert res.exit_code == 0, res.output
    assert "Quartiers prioritaires" in res.output and "IC 95 %" in res.output
    res = runner.invoke(app, ["survey", "show", "--indicateur", "nope"])
    assert res.exit_code == 1 and "indicateur « nope » inconnu" in res.output


def test_page_answers_elus_and_analysts_with_estimates_only(demo_survey_settings, monkeypatch):
    from observatory.auth import User
    from observatory.dashboard import security
    from tests.dashboard_data import shared_app

    app = shared_app(demo_survey_settings)
    app.server.config["OBSERVATORY_SETTINGS"] = demo_survey_settings
    client = app.server.test_client()
    deps = json.loads(client.get("/_dash-dependencies").data)
    dep = next(d for d in deps if "sentiment-bars.figure" in d["output"])
    body = {"output": dep["output"], "outputs": [{"id": o.split(".")[0], "property": o.split(".")[1]} for o in dep["output"].strip(".").split("...")],
            "inputs": [{"id": "sentiment-indicator", "property": "value", "value": "insecurite_soir"},
                       {"id": "sentiment-wave", "property": "value", "value": 2025}],
            "changedPropIds": ["sentiment-indicator.value"]}
    for role in ("analyste", "elu"):
        monkeypatch.setattr(security, "LOCAL_USER", User(name="x", role=role))
        r = client.post("/_dash-update-component", json=body)
        assert r.status_code == 200, (role, r.data[:300])
        text = r.data.decode("utf-8")
        # Intervals are always there: as « IC 95 % » for analysts, in words (« entre … et … ») for élus.
        assert "Quartiers prioritaires" in text and ("IC 95 %" in text) == (role == "analyste") and ("(entre " in text) == (role == "elu")
        assert "2025-0" not in text  # no respondent id ("2025-00001"…) ever leaves the store
        page = client.get("/sentiment")
        assert page.status_code == 200


def test_the_yearly_diagnostic_has_what_residents_say(demo_survey_settings):
    from observatory.reports import diagnostic
    from observatory.survey.report import residents_content

    tabs = survey.survey_tables(demo_survey_settings)
    assert residents_content(tabs, 2020) is None  # no wave fielded yet: no section rather than an empty one
    content = residents_content(tabs, 2024)  # the latest wave fielded in or before the year: 2023
    assert "menée en 2023" in content.sentences[0]
    assert list(content.frame.columns) == ["Indicateur", "Lyon", "Quartiers prioritaires (QPV)", "Hors quartiers prioritaires", "Depuis la vague précédente"]
    assert "A porté plainte" not in " ".join(content.frame["Indicateur"])  # complaint questions: only in the dark-figure lines
    arr = residents_content(tabs, 2025, "69388")
    assert list(arr.frame.columns)[1] == "Lyon 8e" and "Lyon 8e :" in " ".join(arr.sentences)
    # In the built document (section, numbered table, HTML).
    from datetime import date

    from observatory.reports.render import render_html
    from observatory.territory import load_territory

    empty = pd.DataFrame(columns=diagnostic.COUNT_COLUMNS)

    terr = load_territory(demo_survey_settings)
    inputs = diagnostic.DiagnosticInputs(counts=empty, zone_counts=pd.DataFrame(columns=diagnostic.ZONE_COUNT_COLUMNS),
                                         zones=pd.DataFrame(terr.zones.drop(columns="geometry")), arrondissements=terr.arrondissements, survey=tabs)
    d = diagnostic.build_diagnostic(inputs, 2025, generated_on=date(2026, 1, 15))
    assert d.residents is not None and d.residents.tables[0].key == "habitants"

    html_text = render_html(d)
    assert "Ce que disent les habitants" in html_text and "Quartiers prioritaires (QPV)" in html_text


def test_sentiment_method_is_plain_french_for_elus_and_technical_for_analysts(demo_survey_settings, monkeypatch):
    from observatory.dashboard import security
    from tests.dashboard_data import shared_app
    from tests.jargon import jargon_in, text_of

    app = shared_app(demo_survey_settings)
    app.server.config["OBSERVATORY_SETTINGS"] = demo_survey_settings
    import observatory.dashboard.pages.sentiment as page

    with app.server.test_request_context("/sentiment"):
        monkeypatch.setattr(security, "is_analyst", lambda: False)
        elu = text_of(page.layout())
        monkeypatch.setattr(security, "is_analyst", lambda: True)
        analyst = text_of(page.layout())
    assert "Méthode" in elu and "marge d'erreur" in elu
    assert jargon_in(elu) == [], jargon_in(elu)
    # The tables of estimates too: « 20,3 % (entre 18,1 et 22,7) » for élus, the « IC 95 % » for analysts.
    with app.server.test_request_context("/sentiment"):
        monkeypatch.setattr(security, "is_analyst", lambda: False)
        elu_tables = text_of(list(page.sentiment_view("insecurite_soir", 2025)[3:5]))
        monkeypatch.setattr(security, "is_analyst", lambda: True)
        analyst_tables = text_of(list(page.sentiment_view("insecurite_soir", 2025)[3:5]))
    assert "(entre " in elu_tables and jargon_in(elu_tables) == [], jargon_in(elu_tables)
    assert "IC" in jargon_in(analyst_tables)
    # …and the figures' labels and hovers.
    with app.server.test_request_context("/sentiment"):
        monkeypatch.setattr(security, "is_analyst", lambda: False)
        elu_figures = " ".join(f.to_json() for f in page.sentiment_view("insecurite_soir", 2025)[:3])
    assert "(entre " in elu_figures and jargon_in(elu_figures) == [], jargon_in(elu_figures)
    assert {"Taylor", "linéarisation", "Benjamini", "coefficient de variation"} <= set(jargon_in(analyst)), jargon_in(analyst)


def test_indicator_as_dict_keeps_every_field_json_ready():
    from dataclasses import fields

    from observatory.survey.profile import Indicator

    ind = Indicator(code="peur", label="Peur", question="Q1", yes=("3", "4"), valid=("1", "2", "3", "4"), missing=("9",),
                    among="victime", categories=("cambriolage",), short="Peur le soir")
    out = ind.as_dict()
    assert list(out) == [f.name for f in fields(Indicator)]  # a field added later is stored too
    assert out["yes"] == ["3", "4"] and out["missing"] == ["9"] and out["categories"] == ["cambriolage"] and out["among"] == "victime"
    assert json.loads(json.dumps(out)) == out  # equal to what the store reads back from its JSON
