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
"""

from __future__ import annotations

import hashlib
import html as html_lib
import ipaddress
import json
import logging
import threading
from datetime import timedelta
from urllib.parse import urlencode, urlsplit

from observatory import auth
from observatory.auth import User, sessions
from observatory.dashboard import access

log = logging.getLogger(__name__)

ROLES = auth.ROLES
ANALYST_ROLES = ("analyste", "admin")
LOGIN_PATH = "/connexion"
LOGOUT_PATH = "/deconnexion"
LOCAL_USER = User(name="analyste-local", role="analyste")
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")

# Which roles may open which page. A path not listed here is analyst-only (secure default for pages added later).
# Matching is by path prefix on whole segments: "/bilan" also covers "/bilan/69381".
PAGE_ACCESS: dict[str, tuple[str, ...]] = {
    LOGIN_PATH: ("", *ROLES),  # "" = anonymous
    "/": ROLES,
    "/bilan": ROLES,
    "/zones": ROLES,
    "/officielles": ROLES,
    "/actions": ROLES,  # read-only for élus: edit callbacks check is_analyst() and their ids are registered
}
ADMIN_PAGES = ("/utilisateurs",)  # reserved for a future user-management page; users are managed by the CLI

# Registry of analyst-only component ids. An entry ending in "*" is a prefix. Other pages extend it with
# require_analyst(); pattern-matching (dict) ids match on their "type" key.
_analyst_only_exact: set[str] = set()
_analyst_only_prefixes: set[str] = set()
# Non-Dash Flask routes (downloads) an élu may call; every other such route is analyst-only.
_elu_routes: set[str] = set()
# Non-Dash Flask routes that serve third-party static files (no data) to everyone, the sign-in page included.
_public_routes: set[str] = {"/vendor/"}
_registry_lock = threading.Lock()



def require_analyst(*component_ids: str) -> None:
    """Declare components whose callbacks serve analyst-only data (points, unprotected exports, uploads, edits).

    ``"map-points"`` matches that id exactly; ``"upload*"`` every id starting with ``upload``. A callback with any
    such output, input or state is refused (HTTP 403) to an élu. Call at import time of the page module.
    """
    with _registry_lock:
        for cid in component_ids:
            if not isinstance(cid, str) or not cid.strip("*"):
                raise ValueError(f"require_analyst: invalid component id {cid!r}")
            if cid.endswith("*"):
                _analyst_only_prefixes.add(cid[:-1])
            else:
                _analyst_only_exact.add(cid)


def analyst_only_outputs() -> frozenset[str]:
    """The registry as declared (prefixes keep their trailing ``*``)."""
    return frozenset(_analyst_only_exact | {p + "*" for p in _analyst_only_prefixes})


def allow_elu_page(*paths: str) -> None:
    """Open more page paths to élus (every role). Call at import time of the page module."""
    for path in paths:
        PAGE_ACCESS[_norm_path(path)] = ROLES


def allow_elu_route(*prefixes: str) -> None:
    """Let élus call these non-Dash Flask routes (protected downloads). Paths are relative to the app prefix."""
    with _registry_lock:
        _elu_routes.update(_norm_path(p) for p in prefixes)


def allow_public_route(*prefixes: str) -> None:
    """Serve these Flask routes without a session: only for static files that hold no data (CSS, fonts)."""
    with _registry_lock:
        _public_routes.update(prefixes)


def is_analyst_only_id(component_id: object) -> bool:
    if isinstance(component_id, dict):
        component_id = component_id.get("type", "")
    if not isinstance(component_id, str):
        return False
    return component_id in _analyst_only_exact or any(component_id.startswith(p) for p in _analyst_only_prefixes)


def _norm_path(path: str) -> str:
    path = "/" + (path or "").strip("/")
    return path


def page_roles(path: str) -> tuple[str, ...]:
    """Roles allowed on a page path ("" = anonymous); unlisted paths are for analysts and admins."""
    path = _norm_path(path.split("?")[0])
    if any(path == p or path.startswith(p + "/") for p in ADMIN_PAGES):
        return ("admin",)
    best = None
    for prefix in PAGE_ACCESS:
        if path == prefix or (prefix != "/" and path.startswith(prefix + "/")):
            if best is None or len(prefix) > len(best):
                best = prefix
    return PAGE_ACCESS[best] if best is not None else ANALYST_ROLES


def can_open(role: str, path: str) -> bool:
    return role in page_roles(path)


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


# Startup ------------------------------------------------------------------------------------------------------

def _is_loopback(host: str) -> bool:
    host = (host or "").strip().strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def security_mode(settings) -> str:  # noqa: ANN001 - Settings
    """``proxy`` when ``auth_header`` is set, ``users`` when the user store has users, else ``local``."""
    if settings.auth_header:
        return "proxy"
    return "users" if auth.has_users(settings) else "local"


def check_startup(settings, host: str | None = None) -> str | None:  # noqa: ANN001 - Settings
    """None when it is safe to serve on ``host`` (default ``settings.host``); else the French reason to refuse."""
    host = settings.host if host is None else host
    try:
        mode = security_mode(settings)
    except auth.AuthError as exc:
        return str(exc)
    add = "observatory users add NOM --role analyste   (rôles : analyste, elu, admin)"
    if mode == "proxy" and not auth.has_users(settings):
        return (f"mode en-tête de proxy ({settings.auth_header}) sans aucun utilisateur : les rôles viennent du fichier "
                f"des utilisateurs ; ajoutez-en un avec « {add} --sso ».")
    if mode == "local" and not _is_loopback(host):
        return (f"aucun utilisateur n'est configuré et le tableau de bord devrait écouter sur {host} : refus de démarrer "
                f"sans contrôle d'accès. Ajoutez un utilisateur avec « {add} », ou écoutez sur 127.0.0.1.")
    return None


def startup_notice(settings) -> str:  # noqa: ANN001 - Settings
    """One line for the console saying how access is controlled."""
    mode = security_mode(settings)
    if mode == "local":
        return ("Aucun utilisateur configuré : accès sans connexion, en analyste local, depuis cette machine seulement "
                "(ajoutez des comptes avec « observatory users add »).")
    if mode == "proxy":
        return f"Connexion déléguée au proxy de confiance (en-tête {settings.auth_header}, depuis {settings.trusted_proxies})."
    return f"Connexion obligatoire ({len(auth.list_users(settings))} utilisateur(s) dans {auth.users_path(settings)})."


# Installation -------------------------------------------------------------------------------------------------

class _LoginUser:
    """Flask-Login's view of a stored user. Its id carries the store's fingerprint of the user (password and role)
    and the user's session generation: a password or role change, or a sign-out anywhere, ends the session."""

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def __init__(self, user: User, fingerprint: str, generation: int) -> None:
        self.user = user
        self._id = f"{user.name}|{fingerprint}|{generation}"

    def get_id(self) -> str:
        return self._id


class _Store:
    """The user store of the app's current settings, re-read when its file changes (a `users remove` takes
    effect on the next request)."""

    def __init__(self, settings_fn) -> None:  # noqa: ANN001 - () -> Settings
        self.settings_fn = settings_fn
        self._stamp: tuple | None = None
        self._users: dict[str, tuple[User, str]] = {}
        self._lock = threading.Lock()

    def _refresh(self) -> None:
        settings = self.settings_fn()
        path = auth.users_path(settings)
        try:
            st = path.stat()
            stamp = (str(path), st.st_mtime_ns, st.st_size, st.st_ino)
        except FileNotFoundError:
            stamp = None
        with self._lock:
            if stamp == self._stamp and (stamp is not None or not self._users):
                return
            users = {}
            if stamp is not None:
                raw = json.loads(path.read_text(encoding="utf-8"))["users"]
                for user in auth.list_users(settings):
                    rec = raw.get(user.name, {})
                    fp = hashlib.sha256(f"{rec.get('password', '')}|{rec.get('role', '')}".encode()).hexdigest()[:16]
                    users[user.name] = (user, fp)
            self._users, self._stamp = users, stamp

    def has_users(self) -> bool:
        self._refresh()
        return bool(self._users)

    def get(self, name: str) -> tuple[User, str] | None:
        self._refresh()
        return self._users.get(name)


def allowed_hosts(settings, local: bool | None = None) -> tuple[str, ...]:  # noqa: ANN001 - Settings
    """Host names the dashboard answers to: ``settings.allowed_hosts`` (comma-separated, ``*`` = any), else in
    local mode the loopback names only (a DNS-rebinding page would reach the local analyst otherwise), else any
    (signed-in modes: the session cookie is not sent to another name, and a sign-in is needed anyway)."""
    configured = tuple(h.strip().lower() for h in (settings.allowed_hosts or "").split(",") if h.strip())
    if configured:
        return configured
    if local is None:
        local = security_mode(settings) == "local"
    if local:
        return LOOPBACK_HOSTS
    return ("*",)


def host_allowed(host_header: str, allowed: tuple[str, ...]) -> bool:
    """Whether the Host header (with or without its port) names an allowed host; ``.example.org`` allows subdomains."""
    if "*" in allowed:
        return True
    host = (host_header or "").strip().lower()
    if host.startswith("["):
        host = host[: host.find("]") + 1] if "]" in host else host
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    host = host.rstrip(".")
    for name in allowed:
        if host == name or (name.startswith(".") and (host.endswith(name) or host == name[1:])):
            return True
    return False


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
    from flask import g, jsonify, redirect, request, session
    from flask_login import LoginManager, login_user, logout_user
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

    manager = LoginManager()
    manager.session_protection = "basic"
    manager.init_app(server)

    @manager.user_loader
    def _load(user_id: str):  # noqa: ANN202
        name, fingerprint, gen = (user_id.split("|") + ["", ""])[:3]
        found = store.get(name)
        if found is None or found[1] != fingerprint:
            return None  # removed, or password/role changed since sign-in
        current = sessions.generation(cur(), name)
        if gen != str(current):
            return None  # signed out since (in any worker): every earlier cookie of this user is dead
        return _LoginUser(found[0], found[1], current)

    # Sign-in and sign-out: plain form posts (work without JavaScript, and a password never crosses a callback).
    def sign_in():  # noqa: ANN202
        name = (request.form.get("utilisateur") or "").strip()
        password = request.form.get("mot_de_passe") or ""
        target = _safe_next(request.form.get("next", ""), prefix)
        address = request.remote_addr or ""
        # Counted before the password is checked, in state shared by every worker (see auth.sessions).
        if not sessions.begin_attempt(cur(), address, name):
            log.warning("sign-in throttled for %r from %s", name, request.remote_addr)
            return redirect(login_url + "?" + urlencode({"erreur": "bloque", "next": target}), 303)
        user = auth.authenticate(cur(), name, password)
        if user is None:
            log.info("failed sign-in for %r from %s", name, request.remote_addr)
            return redirect(login_url + "?" + urlencode({"erreur": "identifiants", "next": target}), 303)
        sessions.attempt_succeeded(cur(), address, name)
        session.clear()  # no state carried over from before the sign-in
        session.permanent = True
        found = store.get(user.name)
        login_user(_LoginUser(user, found[1] if found else "", sessions.generation(cur(), user.name)))
        log.info("sign-in %s (%s) from %s", user.name, user.role, request.remote_addr)
        return redirect(target, 303)

    def sign_out():  # noqa: ANN202
        if login_current_user.is_authenticated:
            # Every cookie of this user issued so far stops working, in every worker (a copied cookie included).
            sessions.sign_out_everywhere(cur(), login_current_user.user.name)
        logout_user()
        session.clear()
        return redirect(login_url, 303)

    server.add_url_rule(login_url, "observatory_sign_in", sign_in, methods=["POST"])
    server.add_url_rule(prefix.rstrip("/") + LOGOUT_PATH, "observatory_sign_out", sign_out, methods=["POST"])

    def sign_out_by_get():  # noqa: ANN202
        # A link or an <img> elsewhere must not sign anyone out: sign-out is the banner's POST form only.
        return flask.Response("Déconnexion : utilisez le bouton « Se déconnecter » (requête POST).", status=405,
                              headers={"Allow": "POST"}, mimetype="text/plain")

    server.add_url_rule(prefix.rstrip("/") + LOGOUT_PATH, "observatory_sign_out_get", sign_out_by_get, methods=["GET"])

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
            # The app's own look (Bootstrap served locally, the dark navigation bar), a sentence and two ways out.
            body = (f"<!doctype html><html lang='fr'><head><meta charset='utf-8'><meta name='viewport' content='width=device-width, initial-scale=1'>"
                    f"<title>Accès refusé — Observatoire</title><link rel='stylesheet' href='{html_lib.escape(prefix)}vendor/bootstrap.min.css'></head>"
                    f"<body style='background:#f5f7fa'><nav class='navbar navbar-dark bg-dark mb-4'><div class='container-fluid'>"
                    f"<a class='navbar-brand fw-semibold' href='{html_lib.escape(prefix)}'>Observatoire de la délinquance et de la sécurité — Lyon</a></div></nav>"
                    f"<main class='container' style='max-width:42rem'><div class='card shadow-sm access-denied'><div class='card-body p-4'>"
                    f"<h1 class='h4 mb-3'>Accès refusé</h1><p class='mb-4'>{html_lib.escape(message[:1].upper() + message[1:])}.</p>"
                    f"<a class='btn btn-primary btn-sm me-2' href='{html_lib.escape(prefix)}'>Retour à l'accueil</a>"
                    f"<a class='btn btn-outline-secondary btn-sm' href='{html_lib.escape(login_url)}'>Changer d'utilisateur</a>"
                    f"</div></div></main></body></html>")
            return flask.Response(body, status=status, mimetype="text/html")
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
        g.observatory_user = user = identify()
        if kind in ("static", "auth"):
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
        response.headers.setdefault("Content-Security-Policy", _csp(app, settings))
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        if kind != "static":
            response.headers["Cache-Control"] = "no-store"
        if kind == "page" and response.mimetype == "text/html" and response.status_code == 200:
            _inject_banner(response, g.get("observatory_user"), prefix, login_url)
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


def _safe_next(target: str, prefix: str) -> str:
    """Only redirect to a path of this app after sign-in (never to another site)."""
    target = (target or "").strip()
    parts = urlsplit(target)
    if not target.startswith("/") or target.startswith("//") or parts.scheme or parts.netloc or "\\" in target:
        return prefix
    if _norm_path(parts.path) in (LOGIN_PATH, LOGOUT_PATH):
        return prefix
    return target


def _csp(app, settings) -> str:  # noqa: ANN001
    # Dash's renderer bootstraps with one inline script (and clientside callbacks add more): allow exactly those
    # by hash. Plotly/MapLibre build their map worker from a blob: URL. Styles: React and Plotly set inline styles.
    scripts = " ".join(["'self'", *app.csp_hashes()])
    connect = "'self'"
    img = "'self' data: blob:"
    tiles = _tile_origins(settings.tile_source)
    if tiles:
        connect += " " + tiles
        img += " " + tiles
    return (
        f"default-src 'self'; script-src {scripts}; style-src 'self' 'unsafe-inline'; img-src {img}; "
        f"font-src 'self' data:; connect-src {connect}; worker-src 'self' blob:; child-src 'self' blob:; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )


def _tile_origins(style: str) -> str:
    """Hosts a MapLibre basemap style needs (none for 'white-bg', the default that sends nothing off the machine)."""
    known = {
        "carto-positron": "https://*.basemaps.cartocdn.com https://basemaps.cartocdn.com",
        "carto-darkmatter": "https://*.basemaps.cartocdn.com https://basemaps.cartocdn.com",
        "carto-voyager": "https://*.basemaps.cartocdn.com https://basemaps.cartocdn.com",
        "open-street-map": "https://*.tile.openstreetmap.org",
    }
    if style in known:
        return known[style]
    if style.startswith("https://"):
        return "https://" + urlsplit(style).netloc
    return ""


_BANNER_STYLE = ("font:13px sans-serif;padding:4px 12px;background:#f1f3f5;border-bottom:1px solid #dee2e6;"
                 "display:flex;gap:12px;justify-content:flex-end;align-items:center")


def _inject_banner(response, user: User | None, prefix: str, login_url: str) -> None:  # noqa: ANN001
    """Say who is signed in (or that this is the local single-analyst mode) at the top of every page."""
    if user is None:
        return
    if user is LOCAL_USER:
        text = "Mode local : aucun compte configuré, vous êtes l'analyste de cette machine"
        action = ""
    else:
        label = auth.store.ROLE_LABELS.get(user.role, user.role)
        text = f"Connecté·e : {html_lib.escape(user.name)} ({label})"
        action = (f"<form method='post' action='{html_lib.escape(prefix.rstrip('/') + LOGOUT_PATH)}' style='margin:0'>"
                  "<button type='submit' id='securite-deconnexion' class='btn btn-link btn-sm p-0'>Se déconnecter</button></form>")
    banner = f"<div id='securite-bandeau' role='status' style='{_BANNER_STYLE}'><span>{text}</span>{action}</div>"
    body = response.get_data(as_text=True)
    if "<body>" in body:
        response.set_data(body.replace("<body>", "<body>" + banner, 1))
