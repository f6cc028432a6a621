"""The demo's own register (actions with and without objectives) goes through every view of the action plan."""

from __future__ import annotations

import pandas as pd

from observatory.actions import dashboard_views, objectives
from observatory.actions.register import load_register
from observatory.actions.service import register_path
from observatory.demo import actions as demo_actions
from tests.incident_factory import publish_snapshot, random_incidents


def _install_demo_register(settings):
    path = register_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(demo_actions.actions_csv(), encoding="utf-8")
    return path


def test_demo_register_mixes_actions_with_and_without_objectives(settings):
    _install_demo_register(settings)
    register = load_register(settings)
    assert register["objective_year"].isna().any() and register["objective_year"].notna().any()


def test_objectives_of_the_demo_register_are_computed(settings):
    _install_demo_register(settings)
    table = objectives(settings, incidents=random_incidents(2_000, seed=3, settings=settings).to_pandas())
    with_objective = load_register(settings)["objective_year"].notna().sum()
    assert len(table) == with_objective
    assert table["objective_year"].map(type).eq(int).all()


def test_dashboard_views_on_a_published_snapshot_with_the_demo_register(settings):
    _install_demo_register(settings)
    publish_snapshot(random_incidents(3_000, seed=4, settings=settings), settings)
    views = dashboard_views(settings)
    assert isinstance(views["objectives"], pd.DataFrame) and not views["objectives"].empty


def test_map_layer_of_an_empty_register_is_empty(settings):
    from observatory.actions import actions_layer

    path = register_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(demo_actions.actions_csv().splitlines()[0] + "\n", encoding="utf-8")
    layer = actions_layer(settings)
    assert len(layer) == 0 and layer.crs.to_epsg() == 4326
