"""The app in-process (Flask test client): every page callback answers through the real callback endpoint,
pages without data show how to load some, exports carry French CSV."""

from __future__ import annotations

import json

import pytest

from observatory.config import get_settings


@pytest.fixture(scope="module")
def app_and_settings(tmp_path_factory):  # noqa: ANN001, ANN201
    from tests.dashboard_data import publish_random_store, shared_app

    settings = publish_random_store(get_settings(data_dir=tmp_path_factory.mktemp("dash") / "data"), n=4_000, seed=3)
    # One Dash app per process (Dash Pages registers page callbacks globally); settings are swapped per module.
    app = shared_app(settings)
    app.server.config["OBSERVATORY_SETTINGS"] = settings
    return app, settings


def test_every_page_callback_answers(app_and_settings):  # noqa: ANN001
    from tests.dashboard_data import callback_requests

    app, _settings = app_and_settings
    client = app.server.test_client()
    assert client.get("/").status_code == 200
    deps = json.loads(client.get("/_dash-dependencies").data)
    requests = callback_requests(deps, {"families": "atteintes_biens"})
    names = {n for n, _ in requests}
    for expected in ("overview-kpis", "trends-monthly", "zones-table", "data-coverage", "panel[arrondissement]", "panel[cell]"):
        assert any(n.startswith(expected) for n in names), expected
    assert sum(n.startswith('{"page": "carte"') for n in names) == 8  # one per map layer
    for name, body in requests:
        r = client.post("/_dash-update-component", json=body)
        assert r.status_code in (200, 204), f"{name}: {r.status_code} {r.data[:300]!r}"


def test_panel_of_an_arrondissement_names_it_and_its_categories(app_and_settings):  # noqa: ANN001
    from tests.dashboard_data import callback_requests

    app, _settings = app_and_settings
    client = app.server.test_client()
    deps = json.loads(client.get("/_dash-dependencies").data)
    body = dict(callback_requests(deps, {}))["panel[arrondissement]"]
    out = json.loads(client.post("/_dash-update-component", json=body).data)["response"]
    assert out["detail-panel"]["is_open"] is True
    assert out["detail-panel-title"]["children"] == "Lyon 2e"
    assert "Principales catégories" in json.dumps(out["detail-panel-body"], ensure_ascii=False)


def test_pages_without_a_snapshot_explain_how_to_load_data(app_and_settings, tmp_path):  # noqa: ANN001
    import dash

    app, settings = app_and_settings
    empty = get_settings(data_dir=tmp_path / "empty")
    app.server.config["OBSERVATORY_SETTINGS"] = empty
    try:
        with app.server.test_request_context("/"):
            for page in dash.page_registry.values():
                if page["path"] not in ("/", "/carte", "/tendances", "/zones", "/donnees"):
                    continue
                text = json.dumps(page["layout"]().to_plotly_json(), default=str, ensure_ascii=False)
                assert "Aucune donnée intégrée" in text and "observatory ingest" in text and "make run" in text, page["path"]
    finally:
        app.server.config["OBSERVATORY_SETTINGS"] = settings


def _export(app, target: str, fmt: str, query: dict, options: dict | None = None) -> dict:  # noqa: ANN001
    """What the export server callback answers for a click recorded by the browser (format + address options)."""
    from observatory.dashboard import ids

    client = app.server.test_client()
    deps = json.loads(client.get("/_dash-dependencies").data)
    # One export callback per card: the server's registry names it by the card's download id.
    key = json.dumps(ids.export_download(target), separators=(",", ":"), sort_keys=True) + ".data"
    pattern = next(d for d in deps if d["output"] == key)
    body = {
        "output": pattern["output"],
        "outputs": {"id": ids.export_download(target), "property": "data"},
        "inputs": [{"id": ids.export_request(target), "property": "data", "value": {"fmt": fmt, "options": options or {}}}],
        "state": [{"id": ids.FILTERS, "property": "data", "value": query}],
        "changedPropIds": [json.dumps(ids.export_request(target), separators=(",", ":"), sort_keys=True) + ".data"],
    }
    r = client.post("/_dash-update-component", json=body)
    assert r.status_code == 200, r.data[:300]
    return json.loads(r.data)["response"][json.dumps(ids.export_download(target), separators=(",", ":"), sort_keys=True)]["data"]


def _text(data: dict) -> str:
    import base64

    raw = base64.b64decode(data["content"]) if data.get("base64") else data["content"].encode()
    return raw.decode("utf-8-sig")


def test_csv_export_through_the_callback(app_and_settings):  # noqa: ANN001
    from observatory.dashboard import ids

    app, _settings = app_and_settings
    data = _export(app, ids.TR_MONTHLY, "csv", {"arrondissements": "69381"})
    assert data["filename"].endswith(".csv") and "69381" in data["filename"]
    raw = base64_bytes(data)
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    assert text.splitlines()[0] == "mois;faits"
    assert text.splitlines()[1].startswith(("janvier 2022;", "janvier 2023;"))  # months in French, not 2022-01-01
    assert "Lyon 1er" in text


def base64_bytes(data: dict) -> bytes:
    import base64

    return base64.b64decode(data["content"]) if data.get("base64") else data["content"].encode()


def test_exports_follow_the_page_options(app_and_settings):  # noqa: ANN001
    from observatory.dashboard import ids

    app, _settings = app_and_settings
    # Carte: the layer in the address is the layer exported.
    grid = json.loads(_text(_export(app, ids.MAP_GRAPH, "geojson", {}, {"couche": "grid"})))
    assert grid["features"] and all(f["id"].startswith("E") and f["properties"]["faits"] > 0 for f in grid["features"])
    arr = json.loads(_text(_export(app, ids.MAP_GRAPH, "geojson", {}, {})))
    assert {f["id"] for f in arr["features"]} == {f"6938{i}" for i in range(1, 10)}
    actions = _text(_export(app, ids.MAP_GRAPH, "csv", {}, {"couche": "actions"}))
    assert "A2025-01" in actions and "Actions du plan" in actions
    # Zones: the kind of zone shown; Tendances: the comparison shown.
    pools = _text(_export(app, ids.ZN_TABLE, "csv", {}, {"type": "piscine"}))
    centre = _text(_export(app, ids.ZN_TABLE, "csv", {}, {"type": "hypercentre"}))
    assert "piscine_" in pools and "piscine_" not in centre
    by_arr = _text(_export(app, ids.TR_COMPARE, "csv", {}, {"comparaison": "year", "par": "arrondissement"}))
    assert by_arr.splitlines()[0].startswith("code_arrondissement;arrondissement;")
    assert _text(_export(app, ids.TR_COMPARE, "csv", {}, {})).splitlines()[0].startswith("code_famille;famille;")


def test_demo_banner_shows_when_the_data_are_the_demo(app_and_settings, monkeypatch):  # noqa: ANN001
    import observatory.demo as demo
    from observatory import labels
    from observatory.dashboard.app import shell_layout

    app, _settings = app_and_settings
    with app.server.test_request_context("/"):
        monkeypatch.setattr(demo, "is_demo", lambda s: True)
        assert labels.DEMO_NOTICE in json.dumps(shell_layout().to_plotly_json(), default=str, ensure_ascii=False)
        monkeypatch.setattr(demo, "is_demo", lambda s: False)
        assert labels.DEMO_NOTICE not in json.dumps(shell_layout().to_plotly_json(), default=str, ensure_ascii=False)


def test_points_layer_never_shows_sensitive_categories_and_only_cell_centres(app_and_settings, monkeypatch):  # noqa: ANN001
    import sys

    from observatory import schema
    from observatory.analytics.filters import Filters
    from observatory.dashboard import components

    app, settings = app_and_settings
    # The points layer is the analysts' (an élu's cell layers are withheld, issue 15).
    monkeypatch.setattr(components, "is_analyst", lambda: True)
    carte = sys.modules["observatory.dashboard.pages.carte"]
    with app.server.test_request_context("/"):
        an = components.analytics()
        sensitive = tuple(sorted(schema.sensitive_categories()))
        only_sensitive = carte.layer_table(an, Filters(categories=sensitive), "points").df
        assert only_sensitive.empty
        allowed = carte.layer_table(an, Filters(), "points").df
        everything = an.counts(Filters(), by=("grid_cell",)).dropna(subset=["grid_cell"])
        not_sensitive = an.counts(Filters(categories=tuple(c for c in schema.categories() if c not in sensitive)), by=("grid_cell",)).dropna(subset=["grid_cell"])
        assert allowed["count"].sum() == not_sensitive["count"].sum() < everything["count"].sum()
        # Coordinates are cell centres: (x - 100) is a multiple of the 200 m cell size in Lambert-93.
        from pyproj import Transformer

        x, y = Transformer.from_crs(4326, 2154, always_xy=True).transform(allowed["lon"].to_numpy(), allowed["lat"].to_numpy())
        assert (abs(((x - 100) / settings.grid_size_m) - ((x - 100) / settings.grid_size_m).round()) < 0.01).all()


def test_navigation_offers_only_pages_the_role_may_open(app_and_settings, monkeypatch):  # noqa: ANN001
    from observatory.dashboard import security
    from observatory.dashboard.app import navigation

    app, _settings = app_and_settings

    def hrefs() -> list[str]:
        return [link.children.href for link in navigation().children]

    with app.server.test_request_context("/"):
        monkeypatch.setattr(security, "current_role", lambda: "analyste")
        analyst = hrefs()
        monkeypatch.setattr(security, "current_role", lambda: "elu")
        elu = hrefs()
    assert {"/", "/carte", "/tendances", "/zones", "/donnees"} <= set(analyst)
    assert "/" in elu and "/zones" in elu
    assert not {"/carte", "/tendances", "/donnees"} & set(elu)


def test_app_py_refuses_to_serve_unprotected_on_a_public_address(tmp_path):  # noqa: ANN001
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "OBSERVATORY_DATA_DIR": str(tmp_path / "data"), "OBSERVATORY_HOST": "0.0.0.0"}
    env.pop("OBSERVATORY_USERS_FILE", None)
    env.pop("OBSERVATORY_AUTH_HEADER", None)
    r = subprocess.run([sys.executable, "app.py"], cwd=root, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 1
    assert "aucun utilisateur" in r.stderr and "0.0.0.0" in r.stderr
    assert "Traceback" not in r.stderr


def _answer(app, name: str, query: dict) -> dict:  # noqa: ANN001
    from tests.dashboard_data import callback_requests

    client = app.server.test_client()
    deps = json.loads(client.get("/_dash-dependencies").data)
    body = dict(callback_requests(deps, query))[name]
    r = client.post("/_dash-update-component", json=body)
    assert r.status_code == 200, r.data[:300]
    return json.loads(r.data)["response"]


def test_trend_charts_mark_the_actions_that_match_the_filters(app_and_settings):  # noqa: ANN001
    """Review #18: no action marker on the janvier…décembre overlay (its year was ambiguous); the note points to
    the small multiples, where the periods are shaded on a true time axis. « mois incomplet » only when it is."""
    app, _settings = app_and_settings
    out = _answer(app, "trends-monthly", {"categories": "cambriolages_logement"})
    fig = out["trends-monthly"]["figure"]
    assert not fig["layout"].get("annotations") and not [sh for sh in fig["layout"].get("shapes", []) if sh.get("type") == "line"]
    note = out["note-trends-monthly"]["children"] if "note-trends-monthly" in out else json.dumps(out, ensure_ascii=False)
    assert "ombrées sur « Arrondissements comparés »" in json.dumps(out, ensure_ascii=False)
    assert "incomplet" not in json.dumps(out, ensure_ascii=False)  # the store ends on 31/12/2025: a complete month
    partial = json.dumps(_answer(app, "trends-monthly", {"end": "2025-06-15"}), ensure_ascii=False)
    assert "juin 2025 est incomplet" in partial
    other = _answer(app, "trends-monthly", {"categories": "trafic_stupefiants", "arrondissements": "69381"})
    assert "ombrées" not in json.dumps(other, ensure_ascii=False)
    assert note
    multiples = _answer(app, "trends-multiples", {"categories": "cambriolages_logement"})["trends-multiples"]["figure"]
    rects = [sh for sh in multiples["layout"]["shapes"] if sh["type"] == "rect"]
    assert len(rects) == 2  # Mermoz patrols (8e) and the mediation (2e)


def test_map_layer_of_the_action_plan(app_and_settings):  # noqa: ANN001
    app, _settings = app_and_settings
    out = _answer(app, '{"page": "carte", "type": "clickable-map"}[actions]', {})
    fig = out['{"page":"carte","type":"clickable-map"}']["figure"]
    located = {loc for t in fig["data"] if t.get("hovertemplate", "").startswith("<b>") for loc in t["locations"]}
    assert located == {"A2021-01", "A2022-01", "A2023-01", "A2025-01"}
    names = {t.get("name") for t in fig["data"]}
    assert {"GLTD", "Patrouilles"} & {n.split(" ")[0] for n in names if n}


def test_grid_layer_sends_only_non_zero_cells_and_the_browser_fetches_the_grid_once(app_and_settings):  # noqa: ANN001
    app, _settings = app_and_settings
    out = _answer(app, '{"page": "carte", "type": "clickable-map"}[grid]', {})
    fig = out['{"page":"carte","type":"clickable-map"}']["figure"]
    cells = next(t for t in fig["data"] if t.get("name") == "Faits")
    assert isinstance(cells["geojson"], str) and cells["geojson"].startswith("/geo/grille-")
    served = json.loads(app.server.test_client().get(cells["geojson"]).data)
    known = {f["id"] for f in served["features"]}
    assert set(cells["locations"]) <= known and len(cells["locations"]) < len(known)
    z = cells["z"]
    values = z if isinstance(z, list) else None
    if values is not None:
        assert min(values) > 0


def _texts(node) -> list[str]:  # noqa: ANN001
    """Every string in a callback response (component tree as JSON), in order."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, list):
        return [t for x in node for t in _texts(x)]
    if isinstance(node, dict):
        return [t for k, v in node.items() if k in ("children", "props", "response") or k.startswith("data-") or isinstance(v, (dict, list)) for t in _texts(v)]
    return []


def _answer(app, name_prefix: str, query: dict | None = None):  # noqa: ANN001, ANN202
    from tests.dashboard_data import callback_requests

    client = app.server.test_client()
    deps = json.loads(client.get("/_dash-dependencies").data)
    body = next(b for n, b in callback_requests(deps, query or {}) if n.startswith(name_prefix))
    r = client.post("/_dash-update-component", json=body)
    assert r.status_code == 200
    return json.loads(r.data)["response"]


def test_donnees_summarises_long_histories_and_quarantines(app_and_settings):  # noqa: ANN001
    from observatory import store
    from tests.dashboard_data import LEDGER_SOURCES

    app, settings = app_and_settings
    n_files = len(store.ingest_history(settings))
    assert n_files == 4 * 12 * len(LEDGER_SOURCES)  # 2022–2025, one file per partner and month
    history = _answer(app, "data-history")
    text = " | ".join(_texts(history))
    # One summary row per partner (its file count), then only the latest files behind a disclosure.
    assert "48" in _texts(history) and "Police nationale" in text
    assert f"20 derniers fichiers sur {n_files}" in text
    assert text.count("police_nationale_") + text.count("tcl_") + text.count("bailleurs_") + text.count("police_municipale_") == 20
    quarantine = _texts(_answer(app, "data-quarantine"))
    # 384 quarantined rows with row-specific reasons → one line per partner and kind of problem.
    assert quarantine.count("point hors du territoire") == len(LEDGER_SOURCES)
    assert quarantine.count("date illisible") == len(LEDGER_SOURCES)
    assert any(t.startswith("384 lignes en quarantaine") for t in quarantine)


def test_donnees_gaps_and_overview_freshness_name_the_missing_partner_month(app_and_settings):  # noqa: ANN001
    app, _settings = app_and_settings
    gaps = _texts(_answer(app, "data-gaps"))
    i = gaps.index("mars 2025")
    assert gaps[i - 1].startswith("TCL") and gaps[i + 1] == "lacune"
    # The store ends in December 2025: March is outside the last six months of the overview.
    fresh = " ".join(_texts(_answer(app, "overview-freshness")))
    assert "Tous les partenaires ont transmis chacun des 6 derniers mois" in fresh
    # The ledger's last file (December 2025 extracts, bailleurs) was ingested at 11:00 UTC: 12:00 in Lyon.
    assert "Dernière intégration : 05/12/2025 12:00 (heure de Paris)" in fresh


def test_times_shown_are_paris_time(app_and_settings):  # noqa: ANN001
    """Review #9: « Publié le » and « Intégré le » in Europe/Paris time, not UTC."""
    from datetime import datetime, timezone

    from observatory import store
    from observatory.dashboard.components import fmt_paris

    app, settings = app_and_settings
    snap = store.list_snapshots(settings)[-1]
    assert snap.created_at.tzinfo is not None
    utc = snap.created_at.astimezone(timezone.utc)
    shown = " ".join(_texts(_answer(app, "data-snapshots")))
    assert fmt_paris(snap.created_at) in shown
    assert fmt_paris(snap.created_at) != utc.strftime("%d/%m/%Y %H:%M")  # Paris is never UTC's wall time
    history = " ".join(_texts(_answer(app, "data-history")))
    # Files at 08:00, 09:00, 10:00 and 11:00 UTC (one per partner) read 09:00 … 12:00 in Lyon; no 08:00.
    assert "05/12/2025 12:00" in history and "05/12/2025 08:00" not in history
    assert fmt_paris(datetime(2025, 7, 1, 10, 0, tzinfo=timezone.utc)) == "01/07/2025 12:00"  # summer time


def _map_rates(out: dict, key: str) -> tuple[dict, str]:
    fig = out[key]["figure"]
    trace = fig["data"][0]
    z = trace["z"]
    if isinstance(z, dict):  # typed array
        import base64

        import numpy as np

        z = np.frombuffer(base64.b64decode(z["bdata"]), dtype=z["dtype"]).tolist()
    return dict(zip(trace["locations"], z)), trace["colorbar"]["title"]["text"]


def test_carte_rates_are_annual_like_the_home_page(app_and_settings):  # noqa: ANN001
    """Review #5: without « Du » the Carte shows the current year's rate (the home page's), and a longer period
    is divided by its number of years; every rate is per year and the legend says so."""
    app, _settings = app_and_settings
    carte_key = '{"page":"carte","type":"clickable-map"}'
    carte, legend = _map_rates(_answer(app, '{"page": "carte", "type": "clickable-map"}[arr_rate]'), carte_key)
    home, home_legend = _map_rates(_answer(app, '{"page": "overview"'), '{"page":"overview","type":"clickable-map"}')
    assert legend == home_legend == "Faits par an pour 1 000 hab."
    assert carte == home
    four, legend4 = _map_rates(_answer(app, '{"page": "carte", "type": "clickable-map"}[arr_rate]', {"start": "2022-01-01"}), carte_key)
    assert legend4 == "Faits par an pour 1 000 hab."
    # Four years of a stationary random store: the annual rate is of the order of one year's, not four times it.
    ratio = sum(four.values()) / sum(carte.values())
    assert 0.6 < ratio < 1.6, ratio


def test_overview_kpis_honour_the_start_filter_and_name_the_territory(app_and_settings):  # noqa: ANN001
    """Review #15: « Du » March 2025 → the KPI period starts on 01/03/2025 (not 01/01); filtered to the 4e, the
    caption names it with its own population."""
    app, settings = app_and_settings
    texts = " | ".join(_texts(_answer(app, "overview-kpis", {"start": "2025-03-01"})))
    assert "01/03/2025 – 31/12/2025 par rapport au 01/03/2024 – 31/12/2024" in texts
    assert "01/01/2025 – " not in texts
    texts4 = " | ".join(_texts(_answer(app, "overview-kpis", {"arrondissements": "69384"})))
    from observatory.analytics.engine import get_analytics

    arr = get_analytics(settings).territory.arrondissements
    pop = int(arr.loc[arr["code"] == "69384", "population"].iloc[0])
    from observatory import labels

    assert f"Lyon 4e, {labels.fmt_int(pop)} habitants" in texts4
    assert "Lyon, " not in texts4


def test_zones_without_perimeter_file_say_where_to_put_it_and_pool_card_follows_the_type(app_and_settings):  # noqa: ANN001
    """Review #17 and #23: « Périmètres » with no perimeter file names the file to drop; the pools' summer card
    shows only for the pools."""
    from tests.dashboard_data import callback_requests

    app, _settings = app_and_settings
    client = app.server.test_client()
    deps = json.loads(client.get("/_dash-dependencies").data)
    body = next(b for n, b in callback_requests(deps, {}) if n.startswith("zones-table"))
    for item in body["inputs"]:
        if item["id"] == "zones-kind":
            item["value"] = "autres"
    out = json.dumps(json.loads(client.post("/_dash-update-component", json=body).data), ensure_ascii=False)
    assert "Aucun périmètre défini : déposez data/raw/reference/perimetres.geojson" in out
    vis = next(d for d in deps if d["output"].startswith("zones-pool-card"))
    answers = {}
    for kind in ("piscine", "hypercentre"):
        req = {"output": vis["output"], "outputs": {"id": "zones-pool-card", "property": "style"},
               "inputs": [{"id": "zones-kind", "property": "value", "value": kind}], "changedPropIds": ["zones-kind.value"]}
        answers[kind] = json.loads(client.post("/_dash-update-component", json=req).data)["response"]["zones-pool-card"]["style"]
    assert answers == {"piscine": None, "hypercentre": {"display": "none"}}
