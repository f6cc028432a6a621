"""Access control of the dashboard, enforced on the Flask server (hiding a button is not protection).

`create_app` calls :func:`install_security`; it adds a ``before_request`` gate in front of every route:

* no session → only the sign-in page (``/connexion``), its POST, static assets and Dash's structural routes
  (``/_dash-layout``, ``/_dash-dependencies``, component suites) answer; a page is redirected to the sign-in,
  anything else gets 401;
* every Dash page path is checked against :data:`PAGE_ACCESS` (élus: ``/``, ``/bilan``, ``/zones``,
  ``/officielles``, ``/actions``; analysts and admins: every page);
* every ``/_dash-update-component`` call is identified on the server's own registry and authorised by the
  role table of :mod:`observatory.dashboard.access` (unknown or mismatched: 400; not for this role: 403, or 401
  without a session; undeclared callbacks are analyst-only); the page router is refused a path the role may
  not open; a callback touching a component of :func:`require_analyst` is never an élu's;
* ``/_dash-dependencies`` without a session holds the router only; a Host header outside
  :func:`allowed_hosts` is refused (400);
* every other Flask route (downloads) needs a session and is analyst-only unless :func:`allow_elu_route`.

A page open to élus declares the callbacks an élu's browser fires there with ``access.allow_callback`` (see
:mod:`observatory.dashboard.access` and ``docs/contracts.md``); sign-in failures and sign-outs are shared by all
workers through :mod:`observatory.auth.sessions`.

Modes (see :func:`security_mode`): ``users`` (a user store exists: sign-in required), ``local`` (no users and
bound to the loopback: everyone on this machine is a single local analyst, said in a banner), ``proxy``
(``settings.auth_header``: a trusted reverse proxy names the user). :func:`check_startup` refuses the unsafe
combinations before serving.

The parts live beside this module, and their public names stay importable from here: the page table and the
registries in :mod:`.page_access`, the modes and allowed hosts in :mod:`.serving_mode`, sign-in in
:mod:`.sign_in`, headers, banner and refusal page in :mod:`.response_headers`. This module keeps who is asking
and the gate in front of every route.
"""

from __future__ import annotations

import html as html_lib
import json
import logging
from datetime import timedelta
from urllib.parse import urlencode, urlsplit

from observatory import auth
from observatory.auth import User
from observatory.dashboard import access
from observatory.dashboard.page_access import (  # noqa: F401 - re-exported: pages and tests read them here
    ADMIN_PAGES,
    ANALYST_ROLES,
    LOGIN_PATH,
    LOGOUT_PATH,
    PAGE_ACCESS,
    ROLES,
    _elu_routes,
    _public_routes,
    allow_elu_page,
    allow_elu_route,
    allow_public_route,
    analyst_only_outputs,
    can_open,
    is_analyst_only_id,
    page_roles,
    require_analyst,
)
from observatory.dashboard.response_headers import _inject_banner, denied_page, security_headers
from observatory.dashboard.serving_mode import (  # noqa: F401 - re-exported
    LOOPBACK_HOSTS,
    _is_loopback,
    allowed_hosts,
    check_startup,
    host_allowed,
    security_mode,
    startup_notice,
)
from observatory.dashboard.sign_in import _safe_next, _Store, install_sign_in  # noqa: F401 - _safe_next re-exported

log = logging.getLogger(__name__)

# A module global read at call time: tests swap it to serve the local mode under another role.
LOCAL_USER = User(name="analyste-local", role="analyste")


# Who is asking ------------------------------------------------------------------------------------------------

def current_user() -> User | None:
    """The user of the current request; the local analyst outside a request or when security is not installed."""
    try:
        from flask import current_app, g, has_request_context
    except ImportError:  # pragma: no cover - flask ships with dash
        return LOCAL_USER
    if not has_request_context() or not current_app.config.get("OBSERVATORY_SECURITY"):
        # Command line, notebooks, unit tests of a callback: no web surface, the server gate is not involved.
        return LOCAL_USER
    return g.get("observatory_user")


def current_role() -> str:
    """Role of the user of the current request ("" when nobody is signed in)."""
    user = current_user()
    return user.role if user else ""


def is_analyst() -> bool:
    return current_role() in ANALYST_ROLES


def is_admin() -> bool:
    return current_role() == "admin"


def escape_hover(text: object) -> str:
    """A partner-supplied string made literal for Plotly hover/labels (Plotly interprets a subset of HTML tags)."""
    return html_lib.escape("" if text is None else str(text), quote=False)


# Installation -------------------------------------------------------------------------------------------------

def _app_prefix(app) -> str:  # noqa: ANN001
    return app.config.routes_pathname_prefix or "/"


def _strip_prefix(path: str, prefix: str) -> str:
    if prefix != "/" and path.startswith(prefix):
        return "/" + path[len(prefix):]
    return path


def _touches_analyst_only(cb: dict) -> bool:
    """Whether a registered callback declares a component of :func:`require_analyst` among its outputs, inputs or
    states (a second lock: such a callback stays analyst-only even if the role table were to open it)."""
    declared = [k.rpartition(".")[0] for k in access.declared_outputs(cb)]
    declared += [d["id"] for d in (*cb.get("inputs", []), *cb.get("state", []))]
    for raw in declared:
        cid = json.loads(raw) if raw.startswith("{") else raw
        if is_analyst_only_id(cid):
            return True
    return False


def _bad_value(call) -> str:  # noqa: ANN001 - access.Call
    """A French reason when a value sent is one no page could send (a crafted filter), else ""."""
    from observatory.analytics.filters import Filters, FiltersError
    from observatory.dashboard import ids

    for query in call.values_of(ids.FILTERS, "data"):
        if query is None:
            continue
        if not isinstance(query, dict) or not all(isinstance(v, str) or (isinstance(v, list) and all(isinstance(x, str) for x in v))
                                                  for v in query.values()):
            return "filtres illisibles"
        try:
            Filters.from_query(query)
        except FiltersError as exc:
            return f"filtres refusés : {exc}"
        except (TypeError, ValueError):
            return "filtres illisibles"
    return ""


def install_security(app, settings) -> None:  # noqa: ANN001 - Dash app, Settings
    """Install sign-in, role checks and security headers on the app's Flask server."""
    import flask
    from flask import g, jsonify, redirect, request
    from flask_login import current_user as login_current_user

    server = app.server
    server.config["OBSERVATORY_SECURITY"] = True
    server.config["OBSERVATORY_SETTINGS"] = server.config.get("OBSERVATORY_SETTINGS", settings)
    server.secret_key = auth.secret_key(settings)
    server.config.update(
        SESSION_COOKIE_NAME="observatoire_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=bool(settings.https),
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.session_hours),
        # An upload arrives base64-encoded inside a callback body (4/3 of the file) plus the JSON around it.
        MAX_CONTENT_LENGTH=int(settings.max_upload_mb * 1024 * 1024 * 4 / 3) + 1024 * 1024,
    )

    def cur():  # noqa: ANN202 - the settings the app serves now (a test process swaps them between modules)
        return server.config["OBSERVATORY_SETTINGS"]

    store = _Store(cur)
    prefix = _app_prefix(app)
    login_url = prefix.rstrip("/") + LOGIN_PATH
    install_sign_in(server, cur, store, prefix, login_url)

    dash_rules = None

    def classify() -> str:
        """'static' | 'structure' | 'callback' | 'page' | 'auth' | 'route' for the current request."""
        nonlocal dash_rules
        if dash_rules is None:
            dash_rules = set(app.routes)
        rule = request.url_rule
        endpoint = request.endpoint or ""
        if endpoint in ("observatory_sign_in", "observatory_sign_out", "observatory_sign_out_get"):
            return "auth"
        if endpoint == "static" or endpoint.endswith(".static"):
            return "static"
        if rule is None:
            return "route"  # 404/405: let Flask answer
        r = rule.rule
        if r.startswith(prefix + "_dash-component-suites/") or r in (prefix + "_favicon.ico",):
            return "static"
        if request.method in ("GET", "HEAD") and any(_strip_prefix(request.path, prefix).startswith(p) for p in _public_routes):
            return "static"
        if r in (prefix + "_dash-layout", prefix + "_dash-dependencies", prefix + "_reload-hash"):
            return "structure"
        if r == prefix + "_dash-update-component":
            return "callback"
        if r in (prefix, prefix + "<path:path>"):
            return "page"
        return "route"

    def identify() -> User | None:
        settings = cur()
        trusted = {a.strip() for a in settings.trusted_proxies.split(",") if a.strip()}
        if settings.auth_header and (request.remote_addr or "") in trusted:
            name = (request.headers.get(settings.auth_header) or "").strip()
            if name:
                found = store.get(name)
                return found[0] if found else User(name=name, role="")  # known to the proxy, not to us
        if login_current_user.is_authenticated:
            return login_current_user.user
        if not settings.auth_header and not store.has_users():
            # Local mode serves only this machine, whatever address a WSGI server was bound to.
            if _is_loopback(request.remote_addr or "") and "X-Forwarded-For" not in request.headers:
                return LOCAL_USER
            g.observatory_local_refused = True
        return None

    def deny(status: int, message: str):  # noqa: ANN202
        if classify() == "page":
            return flask.Response(denied_page(message, prefix, login_url), status=status, mimetype="text/html")
        return jsonify({"erreur": message}), status

    @server.before_request
    def gate():  # noqa: ANN202
        kind = classify()
        local = not cur().auth_header and not store.has_users()
        if not host_allowed(request.host, allowed_hosts(cur(), local)):
            # DNS rebinding: a page of another site whose name now resolves to this machine.
            log.warning("request for host %r refused (allowed_hosts)", request.host)
            return jsonify({"erreur": "nom d'hôte non autorisé (réglage allowed_hosts)"}), 400
        if request.method not in ("GET", "HEAD", "OPTIONS") and not _same_origin(request):
            return deny(403, "requête refusée : origine différente de celle du tableau de bord")
        if kind == "static":
            # Static files are served to anyone: who asks does not matter.
            return None
        g.observatory_user = user = identify()
        if kind == "auth":
            return None
        if user is not None and user.role not in ROLES:
            return deny(403, f"l'utilisateur « {user.name} » n'a pas de compte dans l'observatoire")
        role = user.role if user else ""
        if user is None and g.get("observatory_local_refused"):
            return deny(403, "aucun utilisateur configuré : l'accès sans connexion est réservé à cette machine")
        if kind == "structure":
            # The callback graph names every component and callback: only for someone signed in.
            if not role and request.url_rule.rule == prefix + "_dash-dependencies":
                # Someone not signed in gets only the router's part of it (the sign-in page is a routed page).
                from dash._utils import to_json

                return flask.Response(to_json(access.public_dependencies(app)), mimetype="application/json")
            return None
        if kind == "page":
            path = _strip_prefix(request.path, prefix)
            if can_open(role, path):
                return None
            if user is None:
                return redirect(login_url + "?" + urlencode({"next": request.full_path.rstrip("?")}), 302)
            return deny(403, "cette page est réservée aux analystes de l'observatoire")
        if kind == "callback":
            return check_callback(role)
        # Any other Flask route: downloads and the like.
        if user is None:
            return deny(401, "connexion requise")
        path = _strip_prefix(request.path, prefix)
        if role in ANALYST_ROLES or any(path == r or path.startswith(r.rstrip("/") + "/") for r in _elu_routes):
            return None
        return deny(403, "téléchargement réservé aux analystes")

    def check_callback(role: str):  # noqa: ANN202
        """Identify the call on the server's registry (400), then apply the role table (401/403) and the page table."""
        try:
            call, cb = access.identify(app.callback_map, request.get_json(silent=True))
        except access.Refused as refused:
            log.warning("callback request refused (%s) for role %r: output %.200r", refused.message, role,
                        (request.get_json(silent=True) or {}).get("output") if isinstance(request.get_json(silent=True), dict) else None)
            # Someone not signed in learns nothing about the registry: every refusal is "sign in first".
            return deny(401, "connexion requise") if not role else deny(refused.status, refused.message)
        if role not in access.roles_for(cb):
            return deny(401, "connexion requise") if not role else deny(403, "données réservées aux analystes")
        if call.output in app.callback_map and access.ROUTER in call.keys:
            # The router renders the layout of the pathname it is sent: that path must obey the page table.
            for pathname in call.values_of("_pages_location", "pathname"):
                path = _strip_prefix(str(pathname or "/"), app.config.requests_pathname_prefix or "/")
                if not can_open(role, path):
                    return deny(401 if not role else 403, "page non autorisée pour ce profil")
        if role not in ANALYST_ROLES and _touches_analyst_only(cb):
            return deny(403, "données réservées aux analystes")
        problem = _bad_value(call)
        if problem:
            return deny(400, problem)
        return None

    @server.after_request
    def headers(response):  # noqa: ANN001, ANN202
        kind = classify()
        security_headers(response, app, settings, static=kind == "static", path=request.path)
        if kind == "page" and response.mimetype == "text/html" and response.status_code == 200:
            _inject_banner(response, g.get("observatory_user"), prefix, LOCAL_USER)
        return response

    # A crafted component-file path is a missing file (404), not a server error.
    from dash.exceptions import DependencyException, InvalidResourceError

    def _missing_file(_exc):  # noqa: ANN001, ANN202
        return jsonify({"erreur": "fichier introuvable"}), 404

    server.register_error_handler(DependencyException, _missing_file)
    server.register_error_handler(InvalidResourceError, _missing_file)

    # The upload panel's callbacks hang off the app here: create_app always calls this function, and global
    # dash.callback registrations would be taken by whichever app instance starts first.
    from observatory.dashboard import upload

    upload.register_callbacks(app)

    # Local mode is worth a warning on the console: nobody signs in.
    level = logging.WARNING if security_mode(settings) == "local" else logging.INFO
    log.log(level, startup_notice(settings))


def _same_origin(request) -> bool:  # noqa: ANN001 - flask request
    """A state-changing request must come from our own origin (when the browser says where it comes from)."""
    source = request.headers.get("Origin") or request.headers.get("Referer")
    if not source or source == "null":
        # Browsers always send Origin on cross-site POSTs; a client sending none is not a browser form.
        return source != "null"
    return urlsplit(source).netloc == request.host
