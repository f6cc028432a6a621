"""The bilan's action evaluations as élus get them: the verdict, never the windows' counts nor the estimates.

The evaluation windows are not cells of the year's protected publication (issue 15): the élu's page, PDF and
downloads (replayed through the real callback) carry neither « 12 faits avant, 2 après », nor a WDD, nor a
difference of differences; an analyst still gets them.
"""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from observatory.dashboard import components
from observatory.reports.diagnostic_actions import DID_COLUMN, WDD_COLUMN, actions_display, elu_verdict, for_elus

EVALUATIONS = pd.DataFrame({
    "title": ["Patrouilles Part-Dieu", "Caméras Guillotière", "Médiation Mermoz"],
    "arrondissement": ["69383", "69387", "69388"],
    "start": [pd.Timestamp("2025-02-01")] * 3, "end": [None] * 3,
    "categories": ["vols_sans_violence_personnes"] * 3,
    "verdict": [
        "Pas de conclusion possible : effectifs trop faibles (12 faits avant, 7 après dans le périmètre) — même une baisse de "
        "moitié ne serait pas distinguable du hasard.",
        "Baisse significative, compatible avec un effet de l'action : baisse dans le périmètre par rapport à la zone témoin "
        "(différence de différences −27 % [−39 % ; −13 %], p = 0,002) et au total zone tampon comprise (WDD −47,3 faits, p = 0,01).",
        "Pas de conclusion possible : moins de 6 mois de recul après le début de l'action.",
    ],
    "verdict_code": ["no_conclusion", "decrease", "no_conclusion"],
    "window_months": [10, 10, 3],
    "wdd": [float("nan"), -47.3, float("nan")], "ci_low": [float("nan"), -80.1, float("nan")], "ci_high": [float("nan"), -12.4, float("nan")],
    "did_ratio": [float("nan"), 0.73, float("nan")], "did_ci_low": [float("nan"), 0.61, float("nan")], "did_ci_high": [float("nan"), 0.87, float("nan")],
})
LEAKS = ("12 faits avant", "7 après", "WDD", "47", "différence de différences", "27 %", WDD_COLUMN, DID_COLUMN)


def test_elu_verdicts_keep_the_conclusion_only():
    v = list(EVALUATIONS["verdict"])
    assert elu_verdict(v[0]) == "Pas de conclusion possible : effectif trop faible."
    assert elu_verdict(v[1]) == "Baisse significative, compatible avec un effet de l'action."
    assert elu_verdict(v[2]) == v[2]  # the reason quotes no count


@pytest.fixture(scope="module")
def diagnostic_with_actions(tmp_path_factory):  # noqa: ANN201
    from observatory.analytics.engine import Analytics
    from observatory.config import get_settings
    from observatory.dashboard.app import create_app
    from observatory.reports.diagnostic import build_diagnostic, load_inputs
    from tests.conftest import REPO
    from tests.incident_factory import random_incidents, write_snapshot

    settings = get_settings(root=REPO, env={}, data_dir=tmp_path_factory.mktemp("bilan-actions") / "data")
    app = create_app(settings)
    files = write_snapshot(random_incidents(1_500, seed=3, start_year=2024, end_year=2025), settings.data_dir / "snap")
    an = Analytics.from_files(files, settings, snapshot_id="snap-bilan-actions")
    # The tables' statuses do not matter here: the diagnostic without its publications (seconds, not tens).
    d = build_diagnostic(load_inputs(settings, an, 2025), 2025, None, settings.min_count)
    # The actions chapter exactly as build_diagnostic makes it from inputs.actions.
    display = actions_display(EVALUATIONS, settings.min_count)
    from observatory.reports.diagnostic_actions import ACTIONS_NOTES
    from observatory.reports.diagnostic_model import Section, Table, numeric_columns

    table = Table(len(d.tables) + 1, "Actions du plan d'actions évaluées en 2025", display, display, key="actions", numeric=numeric_columns(display))
    # The means chapter's table per action (observatory.means.views.action_table): its cost per incident avoided
    # is the declared budget over −WDD.
    means_frame = pd.DataFrame({"Action": ["A1 — Caméras Guillotière"], "Territoire": ["Lyon 7e"], "Moyens déclarés": ["120 000 € de budget"],
                                "Évaluation": ["Baisse significative, compatible avec un effet de l'action"],
                                "Coût par fait évité": ["2 537 € par fait évité (1 498 à 9 677 €)"]})
    means_table = Table(len(d.tables) + 2, "Moyens par action et coût par fait évité", means_frame, means_frame, key="moyens-actions")
    # The MJD table (observatory.means.views.response_table): measures × 100 ÷ rate gives the facts back.
    mjd = pd.DataFrame({"Mesure": ["Rappels à la loi"], "Mesures": ["37"], "Faits des catégories concernées": ["2 113"],
                        "Pour 100 faits (IC 95 %)": ["1,8 (1,2 – 2,4)"]})
    mjd_table = Table(len(d.tables) + 3, "Réponse pénale de proximité (MJD) en 2025", mjd, mjd, key="moyens-reponse")
    means = Section(title="Déclinaison des moyens", sentences=["1 action(s) ont un coût par fait évité : il n'est calculé que lorsque…"],
                    tables=[means_table, mjd_table], key="moyens")
    d = dataclasses.replace(d, actions=Section(title="Actions du plan évaluées en 2025", sentences=list(ACTIONS_NOTES), tables=[table], key="actions"),
                            means=means, tables=d.tables + [table, means_table, mjd_table])
    return app, settings, an, d


def _as(monkeypatch, store, analyst: bool):  # noqa: ANN001, ANN202
    app, settings, an, d = store
    import observatory.reports.cache as cache

    monkeypatch.setattr(components, "analytics", lambda: an)
    monkeypatch.setattr(components, "settings", lambda: settings)
    monkeypatch.setattr(components, "is_analyst", lambda: analyst)
    monkeypatch.setattr(components, "is_analyst_view", lambda: analyst)
    monkeypatch.setattr(cache, "diagnostic", lambda *a, **k: d)
    return app


def test_bilan_download_and_page_replayed_as_elu_carry_no_action_counts(diagnostic_with_actions, monkeypatch, request):
    import json
    from datetime import datetime, timezone

    import time_machine

    # The export's provenance line gives the time it was made: at 05:47 it read « 47 », one of the leaks looked
    # for below. A fixed clock, whose digits hold none of them.
    traveller = time_machine.travel(datetime(2026, 3, 2, 10, 15, tzinfo=timezone.utc), tick=False)
    traveller.start()
    request.addfinalizer(traveller.stop)

    import dash
    from dash._callback_context import context_value
    from dash._utils import AttributeDict

    import observatory.dashboard.pages.bilan as bilan

    def csv(analyst: bool, key: str = "actions") -> str:
        app = _as(monkeypatch, diagnostic_with_actions, analyst)
        item = {"type": bilan.EXPORT_BUTTON, "item": f"table:{key}", "fmt": "csv"}
        context_value.set(AttributeDict(triggered_inputs=[{"prop_id": json.dumps(item) + ".n_clicks", "value": 1}]))
        with app.server.test_request_context("/bilan"):
            out = bilan.download_item([1], {"annee": 2025, "arrondissement": None})
        return out["content"] if not out.get("base64") else __import__("base64").b64decode(out["content"]).decode("utf-8-sig")

    def page(analyst: bool) -> str:
        app = _as(monkeypatch, diagnostic_with_actions, analyst)
        with app.server.test_request_context("/bilan?annee=2025"):
            layout = bilan.layout(annee="2025")
        return json.dumps(layout.to_plotly_json(), default=lambda o: o.to_plotly_json() if hasattr(o, "to_plotly_json") else str(o), ensure_ascii=False)

    elu_csv, analyst_csv = csv(False), csv(True)
    assert "Patrouilles Part-Dieu" in elu_csv and "effectif trop faible" in elu_csv
    assert "12 faits avant" in analyst_csv and "WDD" in analyst_csv
    for leak in LEAKS:
        assert leak not in elu_csv, leak
    elu_means, analyst_means = csv(False, "moyens-actions"), csv(True, "moyens-actions")
    assert "2 537" in analyst_means and "Caméras Guillotière" in elu_means
    assert "fait évité" not in elu_means and "2 537" not in elu_means
    elu_mjd, analyst_mjd = csv(False, "moyens-reponse"), csv(True, "moyens-reponse")
    assert "2 113" in analyst_mjd and "1,8" in analyst_mjd
    assert "Rappels à la loi" in elu_mjd and "37" in elu_mjd and "2 113" not in elu_mjd and "1,8" not in elu_mjd
    elu_page = page(False)
    assert "2 537" not in elu_page and "réservés aux analystes" in elu_page and "2 113" not in elu_page
    assert "Caméras Guillotière" in elu_page and "Baisse significative" in elu_page
    for leak in ("12 faits avant", "WDD −47", "−47", "−27"):
        assert leak not in elu_page, leak
    assert dash.__version__  # the callback ran through Dash's own wrapper
    # The cached diagnostic itself is untouched (analysts share it).
    assert WDD_COLUMN in diagnostic_with_actions[3].actions.tables[0].frame.columns
    assert for_elus(diagnostic_with_actions[3]).actions.tables[0].frame.columns.tolist() == ["Action", "Arrondissement", "Période", "Catégories", "Verdict"]


def test_report_command_prints_the_elus_version_unless_internal(diagnostic_with_actions, monkeypatch, tmp_path):  # noqa: ANN001
    """`observatory report` makes the document handed to élus: verdicts without counts; `--internal` keeps them."""
    import observatory.reports.diagnostic as diagnostic
    from observatory.commands import report as command

    _app, settings, _an, d = diagnostic_with_actions
    monkeypatch.setattr(command, "settings_or_fail", lambda: settings)
    monkeypatch.setattr(diagnostic, "diagnostic_for", lambda *a, **k: d)

    def html(internal: bool) -> str:
        out = tmp_path / f"bilan-{internal}.html"
        command.report(year=2025, arrondissement=None, fmt="html", out=out, internal=internal)
        return out.read_text(encoding="utf-8")

    public, internal = html(False), html(True)
    assert "Caméras Guillotière" in public and "effectif trop faible" in public
    for leak in ("12 faits avant", "WDD −47", "2 537"):
        assert leak not in public, leak
    assert "12 faits avant" in internal and "2 537" in internal
