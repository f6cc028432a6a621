"""The yearly diagnostic and the action evaluations are computed once per snapshot (``observatory.reports.cache``,
``observatory.actions.evaluations_for_year``): a second request is served without recomputing, and a new
snapshot or a changed register / official store / refused-files ledger gives a fresh build."""

from __future__ import annotations

import json
import os
import threading
import time
from types import SimpleNamespace

import pytest

from observatory.reports import cache


@pytest.fixture(autouse=True)
def empty_cache():
    cache.DIAGNOSTICS.clear()
    cache.SHARED_PARTS.clear()
    yield
    cache.DIAGNOSTICS.clear()
    cache.SHARED_PARTS.clear()


@pytest.fixture
def spy(monkeypatch):
    """Replaces the real build: counts calls and returns a new object each time (identity tells builds apart)."""
    from observatory.reports import diagnostic

    calls = []

    def fake(settings, year, arrondissement=None, analytics=None, generated_on=None):  # noqa: ANN001, ANN202
        calls.append((analytics.snapshot_id, year, arrondissement, generated_on))
        return SimpleNamespace(year=year, arrondissement=arrondissement)

    monkeypatch.setattr(diagnostic, "diagnostic_for", fake)
    return calls


def _an(snapshot_id: str) -> SimpleNamespace:
    return SimpleNamespace(snapshot_id=snapshot_id)


def test_second_request_is_served_from_memory(settings, spy):
    an = _an("s1")
    first = cache.diagnostic(settings, 2025, "69383", analytics=an)
    again = cache.diagnostic(settings, 2025, "69383", analytics=an)
    assert again is first and len(spy) == 1
    assert cache.diagnostic(settings, "2025", "69383", analytics=an) is first  # the year as the URL gives it
    city = cache.diagnostic(settings, 2025, None, analytics=an)
    other_year = cache.diagnostic(settings, 2024, "69383", analytics=an)
    assert len({id(first), id(city), id(other_year)}) == 3 and len(spy) == 3
    assert cache.DIAGNOSTICS.hits == 2 and cache.DIAGNOSTICS.builds == 3


def test_new_snapshot_or_other_settings_rebuild(settings, spy):
    first = cache.diagnostic(settings, 2025, None, analytics=_an("s1"))
    assert cache.diagnostic(settings, 2025, None, analytics=_an("s2")) is not first
    stricter = settings.__class__(**{**settings.__dict__, "min_count": settings.min_count + 5})
    cache.diagnostic(stricter, 2025, None, analytics=_an("s2"))
    assert [c[0] for c in spy] == ["s1", "s2", "s2"]
    assert cache.diagnostic(settings, 2025, None, analytics=_an("s1")) is first  # the old key is still valid


def test_generation_date_is_part_of_the_key(settings, spy):
    from datetime import date

    a = cache.diagnostic(settings, 2025, None, analytics=_an("s1"), generated_on=date(2026, 1, 5))
    b = cache.diagnostic(settings, 2025, None, analytics=_an("s1"), generated_on=date(2026, 1, 6))
    assert a is not b and [c[3] for c in spy] == [date(2026, 1, 5), date(2026, 1, 6)]


def _bump(path) -> None:  # noqa: ANN001 - Path
    """Rewrite a file with a later mtime (whatever the filesystem's timestamp granularity)."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))


def test_changed_inputs_beside_the_snapshot_rebuild(settings, spy):
    from observatory import store
    from tests.dashboard_data import install_actions

    an = _an("s1")
    first = cache.diagnostic(settings, 2025, None, analytics=an)
    install_actions(settings)  # a register appears
    second = cache.diagnostic(settings, 2025, None, analytics=an)
    assert second is not first
    assert cache.diagnostic(settings, 2025, None, analytics=an) is second
    from observatory.actions.register import register_path

    _bump(register_path(settings))  # the register is edited
    third = cache.diagnostic(settings, 2025, None, analytics=an)
    refused = settings.processed_dir / store.REFUSED_FILE
    refused.parent.mkdir(parents=True, exist_ok=True)
    refused.write_text(json.dumps({"source_file": "x.csv", "sha256": "0"}) + "\n", encoding="utf-8")  # a file refused
    fourth = cache.diagnostic(settings, 2025, None, analytics=an)
    assert len({id(first), id(second), id(third), id(fourth)}) == 4 and len(spy) == 4
    from observatory.survey.store import survey_dir

    survey_dir(settings).mkdir(parents=True, exist_ok=True)
    (survey_dir(settings) / "cadre.json").write_text("{}", encoding="utf-8")  # a resident survey is imported
    fifth = cache.diagnostic(settings, 2025, None, analytics=an)
    assert fifth is not fourth and cache.diagnostic(settings, 2025, None, analytics=an) is fifth


def test_concurrent_requests_share_one_build(settings, monkeypatch):
    from observatory.reports import diagnostic

    release = threading.Event()
    calls = []

    def slow(settings, year, arrondissement=None, analytics=None, generated_on=None):  # noqa: ANN001, ANN202
        calls.append(year)
        release.wait(10)
        return SimpleNamespace(year=year)

    monkeypatch.setattr(diagnostic, "diagnostic_for", slow)
    results = []
    threads = [threading.Thread(target=lambda: results.append(cache.diagnostic(settings, 2025, None, analytics=_an("s1")))) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.2)  # synchronisation only (let the threads queue behind the first build), nothing is timed
    release.set()
    for t in threads:
        t.join(10)
    assert len(calls) == 1 and len(results) == 4 and len({id(r) for r in results}) == 1


def test_bilan_page_builds_the_diagnostic_once(settings, monkeypatch):
    """The real page: a second visit and the downloads reuse the first visit's diagnostic."""
    from observatory.analytics.engine import Analytics
    from observatory.dashboard import components
    from observatory.dashboard.app import create_app
    from observatory.reports import diagnostic
    from tests.incident_factory import random_incidents, write_snapshot

    files = write_snapshot(random_incidents(3_000, seed=5, start_year=2024, end_year=2025), settings.data_path / "snap")
    an = Analytics.from_files(files, settings, snapshot_id="snap-cache")
    monkeypatch.setattr(components, "analytics", lambda: an)
    real, builds = diagnostic.diagnostic_for, []

    def counting(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        builds.append(args[1:3])
        return real(*args, **kwargs)

    monkeypatch.setattr(diagnostic, "diagnostic_for", counting)
    app = create_app(settings)
    import observatory.dashboard.pages.bilan as bilan

    with app.server.test_request_context("/bilan?annee=2025"):
        first = json.dumps(bilan.layout(annee="2025").to_plotly_json(), default=str)
        second = json.dumps(bilan.layout(annee="2025").to_plotly_json(), default=str)
        bilan.layout(annee="2025", arrondissement="69383")
    assert first == second
    assert builds == [(2025, None), (2025, "69383")]


def test_action_evaluations_once_per_snapshot_and_register(settings, monkeypatch):
    from observatory.actions import evaluations_for_year, service
    from observatory.actions.register import register_path
    from tests.dashboard_data import publish_random_store

    publish_random_store(settings, n=3_000, seed=3)
    real, calls = service.evaluate_plan, []

    def counting(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(service, "evaluate_plan", counting)
    first = evaluations_for_year(settings, 2025)
    n = len(calls)
    assert n >= 1 and len(first)
    again = evaluations_for_year(settings, 2025)
    assert len(calls) == n and again.equals(first)
    _bump(register_path(settings))
    evaluations_for_year(settings, 2025)
    assert len(calls) == 2 * n
    publish_random_store(settings, n=3_000, seed=4, actions=False)  # a new snapshot
    evaluations_for_year(settings, 2025)
    assert len(calls) == 3 * n


def test_plan_read_once_per_register_version(settings, monkeypatch):
    """The Plan d'actions callback and the Carte's action layer: the register is read and the perimeters built once
    per version of the register, and each action's monthly series once per snapshot."""
    from observatory.actions import actions_for_markers, actions_layer, dashboard_views, service, upsert_action
    from observatory.dashboard.action_plan import context
    from tests.dashboard_data import publish_random_store

    publish_random_store(settings, n=3_000, seed=3)
    real_plan, real_series, plans, series = service.load_plan, service.monthly_series, [], []
    monkeypatch.setattr(service, "load_plan", lambda s: plans.append(1) or real_plan(s))
    monkeypatch.setattr(service, "monthly_series", lambda *a, **k: series.append(a[3]) or real_series(*a, **k))
    layer = actions_layer(settings)
    markers = actions_for_markers(settings)
    n = len(plans)
    layer.loc[:, "title"] = "modifié"  # a caller's copy: the cached layer is untouched
    assert actions_layer(settings)["title"].iloc[0] != "modifié" and actions_for_markers(settings).equals(markers)
    assert len(plans) == n
    views = dashboard_views(settings)
    context.action_series(settings, views, "A2025-01")
    context.action_series(settings, dashboard_views(settings), "A2025-01")
    assert series == ["A2025-01"]
    upsert_action(settings, {**{c: "" for c in ("lon", "lat", "radius_m", "end", "objective", "target_change_pct", "objective_year", "notes")},
                             "action_id": "A9", "title": "Médiation gare", "type": "mediation", "partner": "Médiateurs", "zone_id": "hypercentre",
                             "start": "2025-01-15", "categories": "incivilites", "status": "en_cours"})
    assert "A9" in set(actions_layer(settings)["action_id"]) and len(plans) > n
    context.action_series(settings, dashboard_views(settings), "A2025-01")
    assert series == ["A2025-01", "A2025-01"]  # a new register version: the series is recomputed


def test_territory_free_parts_are_built_once_for_the_city_and_its_arrondissements(settings, monkeypatch):
    """The means chapter, the zones' exposure sentences and the survey do not depend on the territory: the city's
    diagnostic builds them, an arrondissement's reuses them (as its own copy), and the documents are the same as
    when each territory builds its own."""
    from datetime import date

    from observatory.analytics.engine import Analytics
    from observatory.reports import diagnostic_loading
    from observatory.reports.diagnostic import diagnostic_for
    from observatory.reports.render import render_html
    from tests.incident_factory import random_incidents, write_snapshot

    files = write_snapshot(random_incidents(3_000, seed=5, start_year=2024, end_year=2025), settings.data_path / "snap")
    an = Analytics.from_files(files, settings, snapshot_id="snap-shared")
    calls = []
    for name in ("_means_tables", "_exposure_sentences", "_survey_tables"):
        real = getattr(diagnostic_loading, name)

        def counting(*args, _real=real, _name=name):  # noqa: ANN002, ANN202
            calls.append(_name)
            return _real(*args)

        monkeypatch.setattr(diagnostic_loading, name, counting)
    day = date(2026, 1, 15)
    shared = [render_html(diagnostic_for(settings, 2025, arr, analytics=an, generated_on=day)) for arr in (None, "69383", "69381")]
    assert sorted(calls) == ["_exposure_sentences", "_means_tables", "_survey_tables"]  # once each, for three territories
    a = diagnostic_loading.load_inputs(settings, an, 2025, "69383")
    b = diagnostic_loading.load_inputs(settings, an, 2025, "69381")
    assert a.exposure == b.exposure and a.exposure is not b.exposure  # each caller gets its own copy
    cache.SHARED_PARTS.clear()
    alone = render_html(diagnostic_for(settings, 2025, "69381", analytics=an, generated_on=day))
    assert alone == shared[2]
