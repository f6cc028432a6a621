"""How the dashboard may be served: the access mode (users, local, proxy), the refusal of unsafe startups and
the host names it answers to (DNS rebinding)."""

from __future__ import annotations

import ipaddress

from observatory import auth

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")


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


def dev_request_handler():  # noqa: ANN201 - a werkzeug request handler class
    """The request handler of ``python app.py`` (Werkzeug's threaded server): it names itself « observatoire »
    instead of Werkzeug's and Python's versions, which a visitor has no use for (and ~16 bytes lighter on each of
    a first visit's ~40 answers)."""
    from werkzeug.serving import WSGIRequestHandler

    class Handler(WSGIRequestHandler):
        def version_string(self) -> str:
            return "observatoire"

    return Handler
