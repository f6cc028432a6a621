"""Sign-in and sign-out on the Flask server (Flask-Login): the user store as the server sees it, the session's
user, the form posts and the safe redirect after sign-in. Failed attempts are throttled, and sign-outs shared
by all workers, through :mod:`observatory.auth.sessions`."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from urllib.parse import urlencode, urlsplit

from observatory import auth
from observatory.auth import User, sessions
from observatory.dashboard.page_access import LOGIN_PATH, LOGOUT_PATH, _norm_path

log = logging.getLogger("observatory.dashboard.security")


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


def install_sign_in(server, cur, store: _Store, prefix: str, login_url: str) -> None:  # noqa: ANN001 - Flask app, () -> Settings
    """The session manager and the sign-in / sign-out routes of ``server``."""
    import flask
    from flask import redirect, request, session
    from flask_login import LoginManager, login_user, logout_user
    from flask_login import current_user as login_current_user

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


def _safe_next(target: str, prefix: str) -> str:
    """Only redirect to a path of this app after sign-in (never to another site)."""
    target = (target or "").strip()
    parts = urlsplit(target)
    if not target.startswith("/") or target.startswith("//") or parts.scheme or parts.netloc or "\\" in target:
        return prefix
    if _norm_path(parts.path) in (LOGIN_PATH, LOGOUT_PATH):
        return prefix
    return target
