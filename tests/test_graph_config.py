"""No chart can reach a remote host: every ``dcc.Graph`` of every page (layouts and callback answers) uses the one
config of ``figures.graph_config``, whose Plotly Cloud / Chart Studio switches are off, and no figure or config
names an http(s) address (a map style, a tile source, a topojson or image URL would all be requests out)."""

from __future__ import annotations

import json
import re

import pytest

from observatory import figures
from observatory.config import get_settings

URL = re.compile(r"(?:https?|wss?)://|//[a-z0-9.-]+\.[a-z]{2,}/", re.IGNORECASE)


def _remote_strings(node, path: str = "") -> list[str]:  # noqa: ANN001
    """Every string under ``node`` that looks like an address of another host, with where it was found."""
    found = []
    if isinstance(node, dict):
        for k, v in node.items():
            found += _remote_strings(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            found += _remote_strings(v, f"{path}[{i}]")
    elif isinstance(node, str) and URL.search(node):
        found.append(f"{path}: {node[:120]}")
    return found


def _graphs(node) -> list[dict]:  # noqa: ANN001
    """Every serialised dcc.Graph (``{"type": "Graph", "namespace": "dash_core_components", "props": …}``)."""
    out = []
    if isinstance(node, dict):
        if node.get("type") == "Graph" and node.get("namespace") == "dash_core_components":
            out.append(node["props"])
        for v in node.values():
            out += _graphs(v)
    elif isinstance(node, list):
        for v in node:
            out += _graphs(v)
    return out


def _figures(node) -> list[dict]:  # noqa: ANN001
    """Every Plotly figure (a dict with ``data`` and ``layout``) in a callback answer or a layout."""
    out = []
    if isinstance(node, dict):
        if isinstance(node.get("layout"), dict) and isinstance(node.get("data"), list):
            out.append(node)
        for v in node.values():
            out += _figures(v)
    elif isinstance(node, list):
        for v in node:
            out += _figures(v)
    return out


def assert_safe_config(config: dict, where: str) -> None:
    assert config, f"{where}: a dcc.Graph without the house config (Plotly's defaults show « Share chart »)"
    for key, off in figures.REMOTE_CONFIG_OFF.items():
        assert config.get(key) == off, f"{where}: config[{key!r}] = {config.get(key)!r}"
    assert config.get("displaylogo") is False and config.get("locale") == "fr", where
    buttons = [b for group in config.get("modeBarButtons") or [] for b in group]
    assert "sendChartToCloud" not in buttons and "editInChartStudio" not in buttons, where
    assert not _remote_strings(config), f"{where}: {_remote_strings(config)}"


def test_graph_config_turns_every_remote_switch_off():
    for cfg in (figures.graph_config("x"), figures.graph_config(modebar=False), figures.image_export_config("x")):
        assert_safe_config(cfg, "graph_config")
    assert figures.graph_config()["displayModeBar"] == "hover"
    assert figures.graph_config(modebar=False)["displayModeBar"] is False


def test_the_checker_catches_a_remote_config():
    bad = {**figures.graph_config("x"), "plotlyServerURL": "https://cloud.plotly.com/newchart"}
    with pytest.raises(AssertionError):
        assert_safe_config(bad, "bad")
    with pytest.raises(AssertionError):
        assert_safe_config({"displaylogo": False}, "default")
    assert _remote_strings({"layout": {"map": {"style": "https://tiles.example.org/style.json"}}})


@pytest.fixture(scope="module")
def app_and_settings(tmp_path_factory):  # noqa: ANN001, ANN201
    from tests.dashboard_data import publish_random_store, shared_app

    settings = publish_random_store(get_settings(data_dir=tmp_path_factory.mktemp("cfg") / "data"), n=3_000, seed=5)
    app = shared_app(settings)
    app.server.config["OBSERVATORY_SETTINGS"] = settings
    return app, settings


def test_no_graph_of_any_page_can_reach_a_remote_host(app_and_settings, monkeypatch):  # noqa: ANN001
    import dash

    from observatory.dashboard import security

    from tests.dashboard_data import callback_requests

    app, _settings = app_and_settings
    n_graphs = n_figures = 0
    monkeypatch.setattr(security, "current_role", lambda: "analyste")  # the layouts as an analyst sees them (all graphs)
    with app.server.test_request_context("/"):
        for page in dash.page_registry.values():
            layout = page["layout"]() if callable(page["layout"]) else page["layout"]
            tree = json.loads(json.dumps(layout.to_plotly_json(), default=lambda o: o.to_plotly_json() if hasattr(o, "to_plotly_json") else str(o)))
            for g in _graphs(tree):
                n_graphs += 1
                assert_safe_config(g.get("config") or {}, f"{page['path']} {g.get('id')}")
            for fig in _figures(tree):
                n_figures += 1
                assert not _remote_strings(fig), f"{page['path']}: {_remote_strings(fig)}"
    client = app.server.test_client()
    deps = json.loads(client.get("/_dash-dependencies").data)
    for name, body in callback_requests(deps, {}):
        r = client.post("/_dash-update-component", json=body)
        assert r.status_code in (200, 204), name
        if r.status_code == 204:
            continue
        answer = json.loads(r.data)
        for g in _graphs(answer):
            n_graphs += 1
            assert_safe_config(g.get("config") or {}, name)
        for fig in _figures(answer):
            n_figures += 1
            assert not _remote_strings(fig), f"{name}: {_remote_strings(fig)}"
    assert n_graphs >= 10 and n_figures >= 10, (n_graphs, n_figures)


def _components(node, kind: str) -> list[dict]:  # noqa: ANN001
    out = []
    if isinstance(node, dict):
        if node.get("type") == kind and node.get("namespace") == "dash_core_components":
            out.append(node["props"])
        for v in node.values():
            out += _components(v, kind)
    elif isinstance(node, list):
        for v in node:
            out += _components(v, kind)
    return out


def test_every_dropdown_of_the_shell_and_pages_speaks_french(app_and_settings, monkeypatch):  # noqa: ANN001
    import dash

    from observatory.dashboard import components, security
    from observatory.dashboard.app import shell_layout

    app, _settings = app_and_settings
    default = lambda o: o.to_plotly_json() if hasattr(o, "to_plotly_json") else str(o)  # noqa: E731
    monkeypatch.setattr(security, "current_role", lambda: "analyste")
    with app.server.test_request_context("/"):
        trees = [json.loads(json.dumps(shell_layout().to_plotly_json(), default=default))]
        for page in dash.page_registry.values():
            layout = page["layout"]() if callable(page["layout"]) else page["layout"]
            trees.append(json.loads(json.dumps(layout.to_plotly_json(), default=default)))
    dropdowns = [d for t in trees for d in _components(t, "Dropdown")]
    assert len(dropdowns) >= 10
    for d in dropdowns:
        assert d.get("labels") == components.DROPDOWN_LABELS, d.get("id")
        assert d.get("maxHeight", 200) >= 300, d.get("id")
