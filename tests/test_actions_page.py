"""The "Plan d'actions" page: figures, layout, and the server-side refusal of edits by an élu."""

from __future__ import annotations

import pytest

from observatory.actions import load_register, register_path, upsert_action

dash = pytest.importorskip("dash")

FORM = {
    "action_id": "A9", "title": "Médiation gare", "type": "mediation", "partner": "Médiateurs", "zone_id": "hypercentre",
    "lon": "", "lat": "", "radius_m": "", "start": "2025-01-15", "end": "", "categories": "incivilites",
    "objective": "", "target_change_pct": "", "objective_year": "", "status": "en_cours", "notes": "",
}


@pytest.fixture(scope="module")
def page_module():
    from observatory.dashboard.app import create_app

    create_app()  # Dash Pages needs an app before page modules register
    import observatory.dashboard.pages.actions as page

    return page


@pytest.fixture
def app_ctx(settings, page_module):
    import flask

    server = flask.Flask("actions-test")
    server.config["OBSERVATORY_SETTINGS"] = settings
    with server.test_request_context("/actions"):
        yield page_module


def _values(page, record):
    from observatory.actions import ACTION_COLUMNS

    return [record[c] for c in ACTION_COLUMNS]


def test_elu_edit_is_refused_on_the_server(app_ctx, settings, monkeypatch):
    page = app_ctx
    from observatory.dashboard import security

    monkeypatch.setattr(security, "is_analyst", lambda: False)
    message, version = page.save_action(1, 0, *_values(page, FORM))
    assert "refusée" in str(message.children) and version is dash.no_update
    assert not register_path(settings).exists()
    upsert_action(settings, FORM)
    before = register_path(settings).read_bytes()
    message, version = page.close_action_from_form(1, 0, "A9", "2025-06-30")
    assert "refusée" in str(message.children) and version is dash.no_update
    assert register_path(settings).read_bytes() == before


def test_analyst_creates_and_closes(app_ctx, settings, monkeypatch):
    page = app_ctx
    from observatory.dashboard import security

    monkeypatch.setattr(security, "is_analyst", lambda: True)
    message, version = page.save_action(1, 3, *_values(page, FORM))
    assert version == 4 and "enregistrée" in str(message.children)
    bad = {**FORM, "action_id": "A10", "start": "2025-02-31"}
    message, version = page.save_action(1, 4, *_values(page, bad))
    assert version is dash.no_update and "ligne 3" in str(message.children)
    message, version = page.close_action_from_form(1, 4, "A9", "2025-06-30")
    assert version == 5
    assert load_register(settings).set_index("action_id").loc["A9", "status"] == "terminee"


def test_layout_and_figures_without_data(app_ctx, settings, monkeypatch):
    page = app_ctx
    from observatory.actions import actions_layer
    from observatory.actions.service import load_plan
    from observatory.dashboard import security

    upsert_action(settings, FORM)
    upsert_action(settings, {**FORM, "action_id": "B1", "zone_id": "", "lon": "4.86", "lat": "45.76", "radius_m": "200", "start": "2024-03-01", "end": "2024-12-31", "status": "terminee"})
    monkeypatch.setattr(security, "is_analyst", lambda: False)
    tree = str(page.layout())
    assert "Plan d'actions" in tree and page.EDIT_SAVE not in tree  # no form for an élu
    monkeypatch.setattr(security, "is_analyst", lambda: True)
    assert page.EDIT_SAVE in str(page.layout())
    plan = load_plan(settings)
    timeline = page.timeline_figure(plan.register, "arrondissement", None, "A9")
    assert {t.type for t in timeline.data} == {"bar"} and len(timeline.data[0].y) + len(timeline.data[-1].y) >= 2
    fmap = page.map_figure(actions_layer(settings), "B1", settings.tile_source)
    assert fmap.data[0].type == "choroplethmap" and fmap.layout.map.style == settings.tile_source
    assert list(fmap.data[0].z) == [0, 1] or list(fmap.data[0].z) == [1, 0]


def test_small_counts_hidden_from_elus(page_module):
    assert page_module._count(3, analyst=False, min_count=5) == "<\u00a05"
    assert page_module._count(3, analyst=True, min_count=5) == "3"
    assert page_module._count(0, analyst=False, min_count=5) == "0"
