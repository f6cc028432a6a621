"""The « Moyens engagés » page: élus see protected counts, cost per incident avoided only under a concluded effect,
the analysts' declaration form writes the register and is refused to élus, the page's callbacks are declared."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import pytest

from observatory.demo.actions import actions_csv

dash = pytest.importorskip("dash")

MEANS = (
    "means_id,action_id,arrondissement,service,start,end,staff_hours,fte,patrols,cameras_installed,cameras_in_service,"
    "budget_investment_eur,budget_running_eur,notes\n"
    "M1,A2023-01,,videoprotection,2023-03-01,2023-03-31,,,,6,6,126000,,\n"
    "M2,A2023-01,,videoprotection,2023-04-01,2024-03-31,2190,,,,6,,22000,\n"
    "M3,,3e,pm,2023-01-01,2023-12-31,26000,16,4300,,,,,\n"
)


@pytest.fixture(scope="module")
def page():
    from observatory.dashboard.app import create_app

    create_app()
    import observatory.dashboard.pages.moyens as module

    return module


@pytest.fixture
def ctx(settings, page):
    import flask

    from observatory.means.store import ingest_aggregates

    raw = settings.raw_dir
    (raw / "actions").mkdir(parents=True)
    (raw / "actions" / "actions.csv").write_text(actions_csv(), encoding="utf-8")
    (raw / "moyens").mkdir(parents=True)
    (raw / "moyens" / "moyens.csv").write_text(MEANS, encoding="utf-8")
    victims = pd.DataFrame({"Mois": [datetime(2023, 1, 1)] * 4 + [datetime(2023, 2, 1)],
                            "Arrondissement": ["3e", "3e", "7e", "7e", "3e"],
                            "Type de faits": ["Violences sexuelles", "Cambriolage", "Violences sexuelles", "Cambriolage", "Escroquerie"],
                            "Victimes reçues": [6, 2, 4, 30, 12]})
    path = settings.raw_dir / "in" / "aide_victimes_2023-03.xlsx"
    path.parent.mkdir(parents=True)
    victims.to_excel(path, index=False)
    assert ingest_aggregates(settings, [path], "aide_victimes", now=datetime(2024, 1, 1)).published
    server = flask.Flask("moyens-test")
    server.config["OBSERVATORY_SETTINGS"] = settings
    with server.test_request_context("/moyens"):
        yield page


def _text(component) -> str:  # noqa: ANN001
    """Every string of a component tree, cells quoted (so "'2'" is a cell holding exactly 2), spaces normalised."""
    out: list[str] = []

    def walk(node) -> None:  # noqa: ANN001
        if isinstance(node, str):
            out.append(f"'{node}'")
        elif isinstance(node, (list, tuple)):
            for child in node:
                walk(child)
        elif hasattr(node, "children"):
            walk(node.children)

    walk(component)
    return " ".join(out).replace("\xa0", " ").replace("\u202f", " ")


def test_elu_sees_protected_victims_and_sensitive_categories_only_for_the_city(ctx, monkeypatch):
    from observatory.dashboard import security

    monkeypatch.setattr(security, "is_analyst", lambda: False)
    out = dict(zip(ctx.VIEW_OUTPUTS, ctx.means_view(2023, "69383")))
    victims = _text(out["moyens-victims"])
    assert "Violences sexuelles" not in victims  # sensitive: city level only for élus
    assert "< 5" in victims or "'s'" in victims  # the 2 cambriolages of the 3e are hidden
    assert "'2'" not in victims
    city = _text(dict(zip(ctx.VIEW_OUTPUTS, ctx.means_view(2023, "69123")))["moyens-victims"])
    assert "Violences sexuelles" in city and "'10'" in city  # 6 + 4 at city level
    monkeypatch.setattr(security, "is_analyst", lambda: True)
    analyst = _text(dict(zip(ctx.VIEW_OUTPUTS, ctx.means_view(2023, "69383")))["moyens-victims"])
    assert "Violences sexuelles" in analyst and "'2'" in analyst


def test_actions_without_means_and_without_evaluation_say_so(ctx, monkeypatch):
    from observatory.dashboard import security

    monkeypatch.setattr(security, "is_analyst", lambda: False)
    actions = _text(dict(zip(ctx.VIEW_OUTPUTS, ctx.means_view(2023, "69123")))["moyens-actions"])
    assert "GLTD Moncey" in actions and "Aucun moyen déclaré" in actions
    assert "€ par fait évité" not in actions  # no snapshot, no evaluation: no figure


def test_cost_per_incident_avoided_appears_only_with_a_concluded_decrease(ctx, monkeypatch):
    from observatory.means import service

    evaluation = {"action_id": "A2023-01", "verdict_code": "decrease", "verdict": "Baisse significative, compatible avec un effet de l'action : …",
                  "wdd": -50.0, "ci_low": -80.0, "ci_high": -20.0, "start": date(2023, 4, 1), "after_end": date(2024, 3, 31), "window_months": 12}
    monkeypatch.setattr(service, "_evaluations", lambda settings: pd.DataFrame([evaluation]))
    service._cached_tables.cache_clear()
    actions = _text(dict(zip(ctx.VIEW_OUTPUTS, ctx.means_view(2023, "69123")))["moyens-actions"])
    # 126 000 € invested before the start + 22 000 € of running costs over the 12-month window = 148 000 € for 50 facts.
    assert "2 960 € par fait évité (IC 95 % : 1 850 € à 7 400 €)" in actions
    # Élus read the same range in words, and no table of theirs says « IC ».
    from observatory.dashboard import security
    from tests.jargon import jargon_in

    with pytest.MonkeyPatch.context() as elu:
        elu.setattr(security, "is_analyst", lambda: False)
        out = dict(zip(ctx.VIEW_OUTPUTS, ctx.means_view(2023, "69123")))
    # Élus do not get the cost (budget ÷ cost would give the evaluation's −WDD back, outside the publication),
    # nor the rates per 100 facts nor the elucidation (facts outside the publication).
    elu_actions = _text(out["moyens-actions"])
    assert "€ par fait évité" not in elu_actions and "Réservé aux analystes" in elu_actions
    assert "Pour 100 faits" not in _text(out["moyens-response"]) and "Faits des catégories" not in _text(out["moyens-response"])
    assert "Faits enregistrés" not in _text(out["moyens-elucidation"]) and "Réservé aux analystes" in _text(out["moyens-elucidation"])
    tables = " ".join(_text(v) for k, v in out.items() if k not in ("moyens-series", "moyens-map"))
    assert jargon_in(tables) == [], jargon_in(tables)
    monkeypatch.setattr(service, "_evaluations", lambda settings: pd.DataFrame([{**evaluation, "verdict_code": "local_decrease",
                                                                                 "verdict": "Effet net non démontré : …"}]))
    service._cached_tables.cache_clear()
    actions = _text(dict(zip(ctx.VIEW_OUTPUTS, ctx.means_view(2023, "69123")))["moyens-actions"])
    assert "€ par fait évité" not in actions and "Pas de conclusion : effet net non démontré ; aucun coût" in actions
    service._cached_tables.cache_clear()


def test_declaration_form_writes_the_register_and_refuses_elus(ctx, settings, monkeypatch):
    from observatory.dashboard import ids, security
    from observatory.means.register import check_means

    amount_ids = [{"type": ids.MN_FORM_AMOUNT, "col": c} for c in ("staff_hours", "budget_running_eur")]
    monkeypatch.setattr(security, "is_analyst", lambda: False)
    refused = ctx.save_means(1, "", "A2022-01", None, "pn", "2023-01-01", "2023-03-31", ["300", ""], amount_ids, "")
    assert "Réservé aux analystes" in _text(refused)
    assert len(check_means(settings)[0]) == 3
    monkeypatch.setattr(security, "is_analyst", lambda: True)
    saved = ctx.save_means(1, "", "A2022-01", None, "pn", "2023-01-01", "2023-03-31", ["300", ""], amount_ids, "renfort")
    assert "M-A2022-01-1 enregistrée" in _text(saved)
    typed = check_means(settings)[0].set_index("means_id")
    assert typed.loc["M-A2022-01-1", "staff_hours"] == 300 and typed.loc["M-A2022-01-1", "arrondissement"]
    bad = ctx.save_means(1, "", "A2022-01", None, "pn", "2023-05-01", "2023-03-31", ["-3", ""], amount_ids, "")
    text = _text(bad)
    assert "Rien n'a été enregistré" in text and "colonne « end »" in text and "colonne « staff_hours »" in text


def test_an_existing_line_fills_the_form_and_is_corrected_in_place(ctx, settings, monkeypatch):
    from observatory.dashboard import ids, security
    from observatory.means.register import check_means

    monkeypatch.setattr(security, "is_analyst", lambda: True)
    amount_ids = [{"type": ids.MN_FORM_AMOUNT, "col": c} for c in ("staff_hours", "fte", "budget_running_eur")]
    values = ctx.form_values("M3", amount_ids)
    assert values == ("", "69383", "police_municipale", "2023-01-01", "2023-12-31", ["26000", "16", ""], "")
    saved = ctx.save_means(1, "M3", *values[:5], ["26500", "16,5", ""], amount_ids, "corrigé")
    assert "M3 enregistrée" in _text(saved)
    typed = check_means(settings)[0].set_index("means_id")
    assert len(typed) == 3 and typed.loc["M3", "staff_hours"] == 26500 and typed.loc["M3", "fte"] == 16.5 and typed.loc["M3", "notes"] == "corrigé"
    monkeypatch.setattr(security, "is_analyst", lambda: False)
    refused = ctx.form_values("M3", amount_ids)
    assert all(v is dash.no_update for v in refused[:5] + refused[6:]) and refused[5] == [dash.no_update] * 3


def test_page_is_open_to_elus_with_its_callbacks_declared_and_the_form_guarded(page):
    from observatory.dashboard import access, ids, security

    assert "elu" in security.page_roles("/moyens")
    assert "elu" in access.CALLBACK_ACCESS[access.output_key(ids.MN_ARR_TABLE, "children")]
    assert security.is_analyst_only_id(ids.MN_FORM_SAVE) and security.is_analyst_only_id({"type": ids.MN_FORM_AMOUNT, "col": "fte"})


def test_exports_of_the_means_tables(ctx):
    import base64
    import io

    payload = ctx.export_means("arrondissements", "csv")
    text = base64.b64decode(payload["content"]).decode("utf-8-sig")
    assert payload["filename"].endswith(".csv") and "heures_pour_1000_hab" in text and "69383" in text
    payload = ctx.export_means("actions", "xlsx")
    frame = pd.read_excel(io.BytesIO(base64.b64decode(payload["content"])), header=None, engine="openpyxl")
    assert payload["filename"].endswith(".xlsx") and (frame == "cout_par_fait_evite_eur").any().any()
    assert ctx.export_means("inconnu", "csv") is None


def test_method_note_is_plain_french_for_elus_and_technical_for_analysts(ctx, monkeypatch):
    from observatory.dashboard import security
    from tests.jargon import jargon_in

    monkeypatch.setattr(security, "is_analyst", lambda: False)
    elu = _text(ctx.layout())
    assert "Méthode" in elu and "coût par fait évité, les mesures" in elu and "réservés aux analystes" in elu
    assert jargon_in(elu) == [], jargon_in(elu)
    monkeypatch.setattr(security, "is_analyst", lambda: True)
    analyst = _text(ctx.layout())
    assert {"WDD", "Poisson", "docs/"} <= set(jargon_in(analyst)), jargon_in(analyst)


def test_camera_map_legend_sits_under_the_map_not_on_the_city(ctx, settings):
    fig = ctx._camera_map(ctx._tables(), 2023, settings)
    assert any(t.showlegend for t in fig.data), "no legend entry: the check below would say nothing"
    legend = fig.layout.legend
    # Below the map's domain (paper y < 0 = under the plot area), anchored by its top: no legend box over the city.
    assert legend.yanchor == "top" and legend.y <= 0 and legend.orientation == "h"
