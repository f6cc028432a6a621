"""Access control through the real HTTP endpoints (Flask test client): pages, callbacks, download routes.

The app is built here with small pages whose paths mirror the dashboard's, so the role table is tested on its
own; the dashboard's own pages are checked by its tests and by tests/browser/test_login.py.
"""

from __future__ import annotations

import importlib
import logging
import os
from pathlib import Path

import dash
import pytest
from dash import Input, Output, dcc, html

from observatory import auth
from observatory.config import get_settings
from observatory.dashboard import access, security

REPO = Path(__file__).resolve().parents[1]
PASSWORD = "correct-horse-battery"
ORIGIN = {"Origin": "http://localhost"}

# Pages mirroring the dashboard's: (path, ids on the page)
PAGES = {
    "/": ["t-overview-kpis", "t-overview-in"],
    "/bilan": ["t-bilan-kpis", "t-bilan-in", "t-bilan-export-protege"],
    "/zones": ["t-zones-table", "t-zones-in", "test-points-zones"],
    "/officielles": ["t-off-table", "t-off-in"],
    "/actions": ["t-actions-table", "t-actions-in", "test-actions-edit"],
    "/carte": ["t-carte-points", "t-carte-in"],
    "/donnees": ["t-donnees-table", "t-donnees-in"],
    "/qualite": ["t-qualite-table", "t-qualite-in"],
}
ELU_PAGES = ["/", "/bilan", "/bilan/69381", "/zones", "/officielles", "/actions", "/connexion"]
ANALYST_ONLY_PAGES = ["/carte", "/donnees", "/qualite", "/page-inconnue"]

# (output id, input id) → may an élu call it?
CALLBACKS = [
    ("t-overview-kpis", "t-overview-in", True),
    ("t-bilan-export-protege", "t-bilan-in", True),
    ("t-zones-table", "t-zones-in", True),
    ("t-off-table", "t-off-in", True),
    ("t-actions-table", "t-actions-in", True),
    ("test-points-zones", "t-zones-in", False),  # registered with require_analyst, on a page élus open
    ("test-actions-edit", "t-actions-in", False),  # an edit callback of the action plan
    ("t-carte-points", "t-carte-in", False),  # not registered, but lives only on an analyst page
    ("t-donnees-table", "t-donnees-in", False),
    ("t-qualite-table", "t-qualite-in", False),
]


@pytest.fixture
def page_registry():
    """Dash keeps pages in a process-wide registry: give each test a clean one and put the old one back."""
    saved = dict(dash.page_registry)
    dash.page_registry.clear()
    yield dash.page_registry
    dash.page_registry.clear()
    dash.page_registry.update(saved)


def build_app(settings, pages=PAGES):
    app = dash.Dash(__name__, use_pages=True, pages_folder="", suppress_callback_exceptions=True)
    importlib.reload(importlib.import_module("observatory.dashboard.pages.login"))
    for path, ids in pages.items():
        children = [html.Div(id=i) for i in ids if not i.endswith("-in")] + [dcc.Input(id=i) for i in ids if i.endswith("-in")]
        dash.register_page(f"t_page{path.replace('/', '_') or 'home'}", path=path, layout=html.Div(children))
    app.layout = html.Div([html.Nav(id="t-nav"), dash.page_container])
    security.require_analyst("test-points*", "test-actions-edit")
    # The role table: élu callbacks are declared, every other one stays analyst-only (default deny).
    access.allow_callback(access.SIGNED_IN, *(f"{out}.children" for out, _, allowed in CALLBACKS if allowed))
    for out, inp, _ in CALLBACKS:
        app.callback(Output(out, "children"), Input(inp, "value"))(lambda v, _o=out: f"{_o}:{v}")

    @app.server.route("/vendor/test-bootstrap.css")
    def vendor_css():
        return "body{}", 200, {"Content-Type": "text/css"}

    @app.server.route("/telechargement/brut.csv")
    def raw_export():
        return "incident_key;lon;lat\n"

    @app.server.route("/telechargement/bilan-public.csv")
    def public_export():
        return "arrondissement;faits\n"

    security.allow_elu_route("/telechargement/bilan-public.csv")
    security.install_security(app, settings)
    return app


@pytest.fixture
def users_settings(tmp_path):
    settings = get_settings(root=REPO, env={}, data_dir=tmp_path / "data")
    for name, role in (("marie", "analyste"), ("paul", "elu"), ("ada", "admin")):
        auth.add_user(settings, name, PASSWORD, role)
    return settings


@pytest.fixture
def app(users_settings, page_registry):
    return build_app(users_settings)


def sign_in(client, name, password=PASSWORD, next_="/"):
    return client.post("/connexion", data={"utilisateur": name, "mot_de_passe": password, "next": next_}, headers=ORIGIN)


def call(client, output, input_, value="x", headers=ORIGIN):
    body = {
        "output": f"{output}.children",
        "outputs": {"id": output, "property": "children"},
        "inputs": [{"id": input_, "property": "value", "value": value}],
        "changedPropIds": [f"{input_}.value"],
        "state": [],
    }
    return client.post("/_dash-update-component", json=body, headers=headers)


def route_page(client, pathname):
    """The Dash Pages router callback, as the browser sends it on client-side navigation."""
    body = {
        "output": ".._pages_content.children..._pages_store.data..",
        "outputs": [{"id": "_pages_content", "property": "children"}, {"id": "_pages_store", "property": "data"}],
        "inputs": [{"id": "_pages_location", "property": "pathname", "value": pathname},
                   {"id": "_pages_location", "property": "search", "value": ""}],
        "changedPropIds": ["_pages_location.pathname"],
        "state": [],
    }
    return client.post("/_dash-update-component", json=body, headers=ORIGIN)


# Without a session --------------------------------------------------------------------------------------------

def test_every_page_redirects_to_sign_in_without_session(app):
    client = app.server.test_client()
    for path in [p for p in ELU_PAGES + ANALYST_ONLY_PAGES if p != "/connexion"]:
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/connexion?next="), path


def test_every_callback_and_route_refused_without_session(app):
    client = app.server.test_client()
    for out, inp, _ in CALLBACKS:
        response = call(client, out, inp)
        assert response.status_code == 401, out
        assert out not in response.get_data(as_text=True)
    for path in ("/", "/zones", "/carte"):
        assert route_page(client, path).status_code == 401, path
    for route in ("/telechargement/brut.csv", "/telechargement/bilan-public.csv"):
        assert client.get(route).status_code == 401, route


def test_sign_in_page_and_assets_are_public(app):
    client = app.server.test_client()
    assert client.get("/connexion").status_code == 200
    assert route_page(client, "/connexion").status_code == 200
    assert client.get("/_dash-layout").status_code == 200
    deps = client.get("/_dash-dependencies")
    assert deps.status_code == 200
    # Without a session, the callback graph holds the page router only (the sign-in page is a routed page).
    outputs = [d["output"] for d in deps.get_json()]
    assert any("_pages_content" in o for o in outputs)
    assert not any(o.startswith("t-") for o in outputs), outputs
    assert client.get("/vendor/test-bootstrap.css").status_code == 200  # the sign-in page needs its CSS
    suites = [p for p in (r.rule for r in app.server.url_map.iter_rules()) if "_dash-component-suites" in p]
    assert suites, "Dash serves its scripts from component suites"


def test_wrong_password_and_unknown_user_are_refused(app):
    client = app.server.test_client()
    response = sign_in(client, "marie", "mauvais-mot-de-passe")
    assert response.status_code == 303
    assert "erreur=identifiants" in response.headers["Location"]
    assert call(client, "t-overview-kpis", "t-overview-in").status_code == 401
    assert "erreur=identifiants" in sign_in(client, "inconnu").headers["Location"]


def test_repeated_failures_are_throttled(app):
    client = app.server.test_client()
    for _ in range(5):
        sign_in(client, "paul", "mauvais-mot-de-passe")
    response = sign_in(client, "paul")  # right password, but the pair is blocked for a while
    assert "erreur=bloque" in response.headers["Location"]
    assert call(client, "t-overview-kpis", "t-overview-in").status_code == 401


# Roles --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("role_user", ["marie", "ada"])
def test_analyst_and_admin_reach_everything(app, role_user):
    client = app.server.test_client()
    assert sign_in(client, role_user).status_code == 303
    for path in ELU_PAGES + ANALYST_ONLY_PAGES:
        assert client.get(path).status_code == 200, path
    for path in ("/", "/carte", "/donnees"):
        assert route_page(client, path).status_code == 200, path
    for out, inp, _ in CALLBACKS:
        response = call(client, out, inp, value="v")
        assert response.status_code == 200, out
        assert f"{out}:v" in response.get_data(as_text=True)
    assert client.get("/telechargement/brut.csv").status_code == 200


def test_elu_sees_exactly_the_elu_pages_and_callbacks(app):
    client = app.server.test_client()
    assert sign_in(client, "paul").status_code == 303
    for path in ELU_PAGES:
        assert client.get(path).status_code == 200, path
    for path in ANALYST_ONLY_PAGES:
        response = client.get(path)
        assert response.status_code == 403, path
        assert "réservée aux analystes" in response.get_data(as_text=True)
    assert route_page(client, "/zones").status_code == 200
    assert route_page(client, "/carte").status_code == 403  # client-side navigation is checked too
    for out, inp, allowed in CALLBACKS:
        response = call(client, out, inp, value="v")
        if allowed:
            assert response.status_code == 200, out
            assert f"{out}:v" in response.get_data(as_text=True)
        else:
            assert response.status_code == 403, out
            assert f"{out}:v" not in response.get_data(as_text=True)
    assert client.get("/telechargement/brut.csv").status_code == 403
    assert client.get("/telechargement/bilan-public.csv").status_code == 200


def test_elu_cannot_reach_analyst_data_through_an_input_or_state(app):
    client = app.server.test_client()
    sign_in(client, "paul")
    # A legitimate output, but the request carries a registered analyst-only component as state: the callback
    # declares no such state, so the request is not a call of it (400); nobody signed in learns only "sign in".
    body = {
        "output": "t-overview-kpis.children", "outputs": {"id": "t-overview-kpis", "property": "children"},
        "inputs": [{"id": "t-overview-in", "property": "value", "value": 1}],
        "state": [{"id": "test-points-zones", "property": "children", "value": None}],
        "changedPropIds": ["t-overview-in.value"],
    }
    assert app.server.test_client().post("/_dash-update-component", json=body, headers=ORIGIN).status_code == 401
    assert client.post("/_dash-update-component", json=body, headers=ORIGIN).status_code == 400
    body["state"] = [{"id": {"type": "test-points-layer", "index": 3}, "property": "value", "value": None}]
    assert client.post("/_dash-update-component", json=body, headers=ORIGIN).status_code == 400
    body["state"] = []
    response = client.post("/_dash-update-component", json=body, headers=ORIGIN)
    assert response.status_code == 200 and "t-overview-kpis:1" in response.get_data(as_text=True)


def test_malformed_callback_body_is_refused(app):
    client = app.server.test_client()
    sign_in(client, "paul")
    response = client.post("/_dash-update-component", data="pas du json", content_type="application/json", headers=ORIGIN)
    assert response.status_code == 400


def test_removed_user_loses_the_session_at_the_next_request(app, users_settings):
    client = app.server.test_client()
    sign_in(client, "marie")
    assert call(client, "t-carte-points", "t-carte-in").status_code == 200
    auth.remove_user(users_settings, "marie")
    assert call(client, "t-carte-points", "t-carte-in").status_code == 401


def test_role_change_ends_the_session(app, users_settings):
    client = app.server.test_client()
    sign_in(client, "marie")
    auth.add_user(users_settings, "marie", PASSWORD, "elu", replace=True)
    assert call(client, "t-carte-points", "t-carte-in").status_code == 401
    sign_in(client, "marie")
    assert call(client, "t-carte-points", "t-carte-in").status_code == 403


def test_sign_out(app):
    client = app.server.test_client()
    sign_in(client, "marie")
    assert client.post("/deconnexion", headers=ORIGIN).status_code == 303
    assert call(client, "t-overview-kpis", "t-overview-in").status_code == 401


def test_next_only_redirects_inside_the_app(app):
    client = app.server.test_client()
    assert sign_in(client, "paul", next_="/zones?annee=2025").headers["Location"] == "/zones?annee=2025"
    for evil in ("https://exemple.org/", "//exemple.org/x", "/\\exemple.org", "javascript:alert(1)"):
        assert sign_in(app.server.test_client(), "paul", next_=evil).headers["Location"] == "/", evil


def test_unit_page_roles_table():
    assert security.page_roles("/bilan/69381") == security.ROLES
    assert security.page_roles("/bilans") == security.ANALYST_ROLES  # whole segments only
    assert security.page_roles("/utilisateurs") == ("admin",)
    assert "" in security.page_roles("/connexion")
    assert not security.can_open("elu", "/carte")


# Hardening ----------------------------------------------------------------------------------------------------

def test_security_headers_and_cookie_flags(app):
    client = app.server.test_client()
    response = sign_in(client, "marie")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
    page = client.get("/")
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    script_src = csp.split("script-src")[1].split(";")[0]
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    assert "'sha256-" in script_src  # Dash's inline renderer bootstrap, allowed by hash only
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "same-origin"
    data = call(client, "t-carte-points", "t-carte-in")
    assert data.headers["Cache-Control"] == "no-store"
    assert client.get("/telechargement/brut.csv").headers["Cache-Control"] == "no-store"


def test_secure_cookie_behind_https(users_settings, page_registry):
    app = build_app(users_settings.replace(https=True))
    response = sign_in(app.server.test_client(), "marie")
    assert "Secure" in response.headers["Set-Cookie"]


def test_cross_origin_post_is_refused(app):
    client = app.server.test_client()
    sign_in(client, "marie")
    evil = {"Origin": "https://attaquant.example"}
    assert call(client, "t-overview-kpis", "t-overview-in", headers=evil).status_code == 403
    assert client.post("/connexion", data={"utilisateur": "marie", "mot_de_passe": PASSWORD}, headers=evil).status_code == 403
    assert call(client, "t-overview-kpis", "t-overview-in", headers={"Origin": "null"}).status_code == 403


def test_banner_names_the_user_as_text(users_settings, page_registry):
    auth.add_user(users_settings, "o.brien", PASSWORD, "elu")
    app = build_app(users_settings)
    client = app.server.test_client()
    sign_in(client, "o.brien")
    text = client.get("/").get_data(as_text=True)
    assert "Connecté·e : o.brien (élu·e)" in text
    assert "securite-deconnexion" in text


# Modes and startup ----------------------------------------------------------------------------------------------

def test_local_mode_serves_this_machine_only(tmp_path, page_registry):
    settings = get_settings(root=REPO, env={}, data_dir=tmp_path / "data")
    app = build_app(settings)
    client = app.server.test_client()
    page = client.get("/carte")
    assert page.status_code == 200
    assert "Mode local" in page.get_data(as_text=True)
    assert call(client, "t-carte-points", "t-carte-in").status_code == 200
    remote = {"REMOTE_ADDR": "192.0.2.10"}
    assert client.get("/carte", environ_base=remote).status_code == 403
    assert client.post("/_dash-update-component", json={"outputs": {"id": "t-carte-points", "property": "children"}},
                       environ_base=remote, headers=ORIGIN).status_code == 403
    assert client.get("/carte", headers={"X-Forwarded-For": "192.0.2.10"}).status_code == 403


def test_check_startup(tmp_path):
    settings = get_settings(root=REPO, env={}, data_dir=tmp_path / "data")
    assert security.check_startup(settings) is None  # 127.0.0.1 by default
    assert security.check_startup(settings, host="::1") is None
    message = security.check_startup(settings, host="0.0.0.0")
    assert message and "observatory users add" in message and "0.0.0.0" in message
    assert "analyste local" in security.startup_notice(settings)
    auth.add_user(settings, "marie", PASSWORD, "analyste")
    assert security.check_startup(settings, host="0.0.0.0") is None
    proxy = get_settings(root=REPO, env={}, data_dir=tmp_path / "vide", auth_header="X-Remote-User")
    assert "--sso" in security.check_startup(proxy)


def test_proxy_header_mode(tmp_path, page_registry):
    settings = get_settings(root=REPO, env={}, data_dir=tmp_path / "data", auth_header="X-Remote-User")
    auth.add_user(settings, "paul", None, "elu")
    auth.add_user(settings, "marie", None, "analyste")
    app = build_app(settings)
    client = app.server.test_client()
    as_paul = {**ORIGIN, "X-Remote-User": "paul"}
    as_marie = {**ORIGIN, "X-Remote-User": "marie"}
    assert call(client, "t-overview-kpis", "t-overview-in", headers=as_paul).status_code == 200
    assert call(client, "t-carte-points", "t-carte-in", headers=as_paul).status_code == 403
    assert call(client, "t-carte-points", "t-carte-in", headers=as_marie).status_code == 200
    # A name the store does not know gets nothing; nor does a header from an address that is not the proxy.
    assert call(client, "t-overview-kpis", "t-overview-in", headers={**ORIGIN, "X-Remote-User": "mallory"}).status_code == 403
    far = client.post("/_dash-update-component", json={"outputs": {"id": "t-carte-points", "property": "children"}},
                      headers=as_marie, environ_base={"REMOTE_ADDR": "192.0.2.10"})
    assert far.status_code == 401
    # An SSO-only user cannot sign in with a password (there is none).
    assert "erreur=identifiants" in sign_in(client, "paul", "").headers["Location"]


def test_secret_key_is_generated_once_and_private(tmp_path):
    settings = get_settings(root=REPO, env={}, data_dir=tmp_path / "data")
    key = auth.secret_key(settings)
    path = settings.data_path / auth.store.SECRET_FILE
    assert len(key) == 64 and oct(path.stat().st_mode & 0o777) == "0o600"
    assert auth.secret_key(settings) == key
    assert auth.secret_key(settings.replace(secret_key="configured")) == "configured"


def test_password_never_in_logs(app, caplog):
    client = app.server.test_client()
    with caplog.at_level(logging.DEBUG):
        sign_in(client, "marie")
        sign_in(client, "paul", "un-mauvais-secret-tape")
    text = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert "sign-in marie" in text  # the log records sign-ins…
    assert PASSWORD not in text and "un-mauvais-secret-tape" not in text  # …never what was typed


# Shared sign-in state, hosts, crafted requests (issue 14) -------------------------------------------------------

def test_throttle_also_counts_across_names_from_one_address(users_settings):
    from observatory.auth import sessions

    address = "192.0.2.7"
    for i in range(sessions.ADDRESS_LIMIT):
        assert sessions.begin_attempt(users_settings, address, f"nom-{i}", now=1000.0 + i)
    assert not sessions.begin_attempt(users_settings, address, "marie", now=1100.0)  # a new name: still blocked
    assert sessions.begin_attempt(users_settings, "192.0.2.8", "marie", now=1100.0)  # another address is not
    # The window passes: the address may try again.
    assert sessions.begin_attempt(users_settings, address, "marie", now=1000.0 + sessions.WINDOW_S + 30)


def test_a_success_forgets_the_pair_only(users_settings):
    from observatory.auth import sessions

    for _ in range(4):
        sessions.begin_attempt(users_settings, "192.0.2.9", "paul", now=50.0)
    sessions.attempt_succeeded(users_settings, "192.0.2.9", "paul")
    for _ in range(sessions.PAIR_LIMIT):
        assert sessions.begin_attempt(users_settings, "192.0.2.9", "paul", now=60.0)
    assert not sessions.begin_attempt(users_settings, "192.0.2.9", "paul", now=61.0)
    path = sessions.state_path(users_settings)
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_sign_out_ends_a_copied_cookie_and_only_post_signs_out(app):
    client = app.server.test_client()
    sign_in(client, "marie")
    copy = app.server.test_client()
    cookie = client.get_cookie("observatoire_session")
    copy.set_cookie("observatoire_session", cookie.value)
    assert call(copy, "t-carte-points", "t-carte-in").status_code == 200
    assert client.get("/deconnexion").status_code == 405  # a link or an image cannot sign anyone out
    assert call(client, "t-carte-points", "t-carte-in").status_code == 200
    assert client.post("/deconnexion", headers=ORIGIN).status_code == 303
    assert call(copy, "t-carte-points", "t-carte-in").status_code == 401  # the copy made before sign-out
    sign_in(client, "marie")
    assert call(client, "t-carte-points", "t-carte-in").status_code == 200  # a new sign-in works


def test_password_change_ends_earlier_sessions(app, users_settings):
    client = app.server.test_client()
    sign_in(client, "paul")
    assert call(client, "t-overview-kpis", "t-overview-in").status_code == 200
    auth.add_user(users_settings, "paul", "un-autre-mot-de-passe", "elu", replace=True)
    assert call(client, "t-overview-kpis", "t-overview-in").status_code == 401


def test_callback_graph_needs_a_session(app):
    anonymous = app.server.test_client().get("/_dash-dependencies").get_json()
    client = app.server.test_client()
    sign_in(client, "paul")
    full = client.get("/_dash-dependencies").get_json()
    assert len(full) > len(anonymous) >= 1
    assert any(d["output"].startswith("t-overview") for d in full)


def test_crafted_component_paths_are_404(app):
    client = app.server.test_client()
    for path in ("/_dash-component-suites/dash/nope.js", "/_dash-component-suites/inconnu/x.js",
                 "/_dash-component-suites/dash/..%2f..%2fetc/passwd", "/_dash-component-suites/dash/deps/polyfill@7.v4_4_1m1.js"):
        assert client.get(path).status_code == 404, path


def test_allowed_hosts_setting(tmp_path, users_settings):
    local = get_settings(root=REPO, env={}, data_dir=tmp_path / "local")
    assert security.allowed_hosts(local) == security.LOOPBACK_HOSTS
    assert security.allowed_hosts(users_settings) == ("*",)
    configured = get_settings(root=REPO, env={"OBSERVATORY_ALLOWED_HOSTS": "observatoire.lyon.fr, .ville.fr"}, data_dir=tmp_path / "x")
    assert security.allowed_hosts(configured) == ("observatoire.lyon.fr", ".ville.fr")
    allowed = security.allowed_hosts(configured)
    assert security.host_allowed("observatoire.lyon.fr:443", allowed)
    assert security.host_allowed("stats.ville.fr", allowed) and security.host_allowed("ville.fr", allowed)
    assert not security.host_allowed("observatoire.lyon.fr.attaquant.example", allowed)
    assert not security.host_allowed("villeXfr", allowed)
    for host in ("localhost:8050", "127.0.0.1", "[::1]:8050"):
        assert security.host_allowed(host, security.LOOPBACK_HOSTS), host
    assert not security.host_allowed("attacker.example:8050", security.LOOPBACK_HOSTS)


def test_signed_in_mode_refuses_hosts_outside_the_setting(users_settings, page_registry):
    app = build_app(users_settings.replace(allowed_hosts="observatoire.lyon.fr"))
    client = app.server.test_client()
    assert client.get("/connexion", headers={"Host": "observatoire.lyon.fr"}).status_code == 200
    assert client.get("/connexion", headers={"Host": "attaquant.example"}).status_code == 400
