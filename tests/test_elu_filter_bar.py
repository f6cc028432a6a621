"""The shared filter bar as an élu sees it (issue 15): no control the publication cannot honour.

An élu's views are cut from the year's publication (closed calendar years; no partner, zone, hour or weekday);
the server drops the rest (``elu_views.scope``) and names it in the cards' notes. The bar offers élus one
« Année » (closed years only) instead of « Du »/« Au », and no partner, zone, hour or weekday control: those are
not shown (a plain-French note says why) and stay only hidden and disabled, so that the shell's callbacks keep
their ids. Analysts see the full bar. A crafted address still reaches the server, which keeps dropping the values
and naming them.
"""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from observatory import schema
from observatory.analytics.filters import Filters
from observatory.config import get_settings
from observatory.dashboard import components, elu_views, ids, security

UNPUBLISHED = set(ids.ELU_UNPUBLISHED_FILTERS)


@pytest.fixture(scope="module")
def store(tmp_path_factory):  # noqa: ANN001, ANN201
    from observatory.analytics.engine import Analytics
    from observatory.dashboard.app import create_app
    from tests.conftest import REPO
    from tests.incident_factory import random_incidents, write_snapshot

    settings = get_settings(root=REPO, env={}, data_dir=tmp_path_factory.mktemp("bar") / "data")
    app = create_app(settings)
    table = random_incidents(800, seed=3, start_year=2023, end_year=2025)
    local = pc.cast(pc.local_timestamp(table.column(schema.OCCURRED_AT)), pa.timestamp("us"))
    table = table.filter(pc.less(local, pa.scalar(datetime(2025, 7, 1), pa.timestamp("us"))))  # 2025 is still filling
    files = write_snapshot(table, tmp_path_factory.mktemp("snap"))
    return app, settings, Analytics.from_files(files, settings, snapshot_id="snap-bar")


def _shell(store, monkeypatch, role: str):  # noqa: ANN001, ANN202
    from observatory.dashboard.app import shell_layout

    app, settings, an = store
    monkeypatch.setattr(components, "analytics", lambda: an)
    monkeypatch.setattr(components, "settings", lambda: settings)
    monkeypatch.setattr(security, "current_role", lambda: role)
    with app.server.test_request_context("/"):
        return shell_layout()


def _controls(node, hidden: bool = False, out: dict | None = None) -> dict:  # noqa: ANN001
    """id -> (component, inside a hidden container) for every component with a plain id."""
    out = {} if out is None else out
    if isinstance(node, (list, tuple)):
        for n in node:
            _controls(n, hidden, out)
        return out
    if not hasattr(node, "to_plotly_json"):
        return out
    classes = (getattr(node, "className", None) or "").split()
    hidden = hidden or "d-none" in classes or getattr(node, "hidden", None) is True
    cid = getattr(node, "id", None)
    if isinstance(cid, str):
        out[cid] = (node, hidden)
    _controls(getattr(node, "children", None), hidden, out)
    return out


def _disabled(component) -> bool:  # noqa: ANN001
    if getattr(component, "disabled", None) is True:
        return True
    options = getattr(component, "options", None) or []  # a checklist is disabled option by option
    return bool(options) and all(isinstance(o, dict) and o.get("disabled") for o in options)


def _label_texts(node, hidden: bool = False, out: list | None = None) -> list[str]:  # noqa: ANN001
    out = [] if out is None else out
    if isinstance(node, (list, tuple)):
        for n in node:
            _label_texts(n, hidden, out)
        return out
    if not hasattr(node, "to_plotly_json"):
        return out
    hidden = hidden or "d-none" in (getattr(node, "className", None) or "").split()
    if type(node).__name__ == "Label" and not hidden:
        out.append(str(node.children))
    _label_texts(getattr(node, "children", None), hidden, out)
    return out


def test_elu_bar_hides_and_disables_what_the_publication_cannot_honour(store, monkeypatch):  # noqa: ANN001
    from observatory.dashboard.app import ELU_FILTERS_NOTE

    shell = _shell(store, monkeypatch, "elu")
    found = _controls(shell)
    for cid in ids.FILTER_INPUTS:  # every id the shell's callbacks read and write is still in the page
        assert cid in found, cid
    for cid in UNPUBLISHED:
        component, hidden = found[cid]
        assert hidden and _disabled(component), cid
    for cid in set(ids.FILTER_INPUTS) - UNPUBLISHED - {ids.F_START, ids.F_END}:
        component, hidden = found[cid]
        assert not hidden and not _disabled(component), cid
    shown = _label_texts(shell)
    assert {"Année", "Famille", "Catégorie", "Arrondissement"} <= set(shown)
    assert not {"Du", "Au", "Partenaires", "Zones", "Heures", "Jours"} & set(shown)
    # One family, one category, one arrondissement: the publication's nodes, never a sum the élu would compose.
    for cid in (ids.F_FAMILIES, ids.F_CATEGORIES, ids.F_ARRONDISSEMENTS):
        assert found[cid][0].multi is False, cid
    assert found[ids.F_ARRONDISSEMENTS][0].placeholder == "toute la ville"
    # One « Année » (the end bound's year, no month): closed years only, never the year still filling.
    year, hidden = found[ids.F_END_YEAR]
    assert not hidden and [o["value"] for o in year.options] == [2024, 2023]
    assert found[ids.F_END_MONTH][1] and found[ids.F_START_YEAR][1] and found[ids.F_START_MONTH][1]
    note, hidden = found[ids.F_ELU_NOTE]
    assert not hidden and note.children == ELU_FILTERS_NOTE
    assert all(word in ELU_FILTERS_NOTE for word in ("Mois", "partenaires", "zones", "heures", "jours", "élus"))


def test_analyst_bar_is_complete(store, monkeypatch):  # noqa: ANN001
    shell = _shell(store, monkeypatch, "analyste")
    found = _controls(shell)
    for cid in ids.FILTER_INPUTS:
        if cid in (ids.F_START, ids.F_END):
            continue  # the ISO dates behind the year/month pickers are hidden for everyone
        component, hidden = found[cid]
        assert not hidden and not _disabled(component), cid
    assert ids.F_ELU_NOTE not in found
    assert [o["value"] for o in found[ids.F_END_YEAR][0].options] == [2025, 2024, 2023]
    assert not found[ids.F_START_YEAR][1] and not found[ids.F_END_MONTH][1]
    assert {"Du", "Au", "Partenaires", "Zones", "Heures", "Jours"} <= set(_label_texts(shell))
    assert all(found[cid][0].multi is True for cid in (ids.F_FAMILIES, ids.F_CATEGORIES, ids.F_ARRONDISSEMENTS))


def test_a_crafted_address_is_still_cut_and_named_on_the_server(store):  # noqa: ANN001
    """The hidden controls are not the guard: values from an address are dropped by the server and named."""
    from observatory.dashboard.app import query_from_values, values_from_query

    _app, _settings, an = store
    query = {"sources": "police", "hours": "20,21,22", "weekdays": "5,6", "zones": "hypercentre"}
    values = values_from_query(query)  # what the hidden controls receive from the address
    filters = Filters.from_query(query_from_values(*values))
    sc = elu_views.scope(an, filters)
    assert sc.year == 2024 and sc.geo == "69123"
    assert "non appliqués ici" in sc.note() and all(w in sc.note() for w in ("sources", "zones", "heures", "jours"))


def test_the_bar_is_hidden_only_where_no_callback_reads_the_filters(store):  # noqa: ANN001
    """A page in NO_FILTER_PAGES must have no server callback reading the shared filters among its own ids."""
    import dash

    from observatory.dashboard import access
    from observatory.dashboard.app import NO_FILTER_PAGES

    app, _settings, _an = store
    app.server.test_client().get("/connexion")  # Dash completes its registry on the first request
    readers = [cb for cb in access.server_callbacks(app.callback_map).values()
               if any(d["id"] == ids.FILTERS for d in (*cb["inputs"], *cb["state"]))]
    prefixes = {"/actions": ("actions-",), "/veille": ("veille-",), "/officielles": ("officielles-",), "/sentiment": ("sentiment-",)}
    assert {"/actions", "/veille"} <= set(NO_FILTER_PAGES)
    for path, names in prefixes.items():
        assert path in {p["path"] for p in dash.page_registry.values()}, path
        for cb in readers:
            outs = list(access.declared_outputs(cb))
            assert not any(n in o for n in names for o in outs), (path, outs)
    # The check can fail: the home page's cards do read the filters.
    assert any("overview-" in o for cb in readers for o in access.declared_outputs(cb))


def test_elu_single_choices_reach_the_filters_and_an_address_with_several_shows_none():
    from observatory.dashboard.app import query_from_values, single_values, values_from_query

    # A single-choice dropdown sends one value, not a list: the filters read it as one.
    query = query_from_values(None, "2024-12-31", "atteintes_biens", None, None, "69383", None, [0, 23], list(range(7)))
    assert query == query_from_values(None, "2024-12-31", ["atteintes_biens"], [], [], ["69383"], [], [0, 23], list(range(7)))
    # An address naming several (crafted, or an analyst's link): the élu's controls show none of them and a sentence
    # under the bar says the choice is not applied; one stays one.
    values, note = single_values(values_from_query({"categories": "cambriolages_logement,vols_vehicules", "arrondissements": "69381"}))
    assert "plusieurs catégories" in note and "n'est pas appliqué" in note and "arrondissements" not in note
    assert single_values(values_from_query({"categories": "cambriolages_logement"}))[1] == ""
    position = {cid: k for k, cid in enumerate(ids.FILTER_INPUTS)}
    assert values[position[ids.F_CATEGORIES]] is None and values[position[ids.F_ARRONDISSEMENTS]] == "69381"
    assert values[position[ids.F_FAMILIES]] is None
    assert values[position[ids.F_WEEKDAYS]] == list(range(7))  # the other controls keep their lists
