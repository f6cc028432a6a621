"""Who may open which page and which component: the page table and the registries pages extend at import time.

Read by the server gate of :mod:`observatory.dashboard.security` (pages, élu downloads, public static routes)
and by the pages themselves (:func:`require_analyst`, :func:`allow_elu_page`).
"""

from __future__ import annotations

import threading

from observatory import auth

ROLES = auth.ROLES
ANALYST_ROLES = ("analyste", "admin")
LOGIN_PATH = "/connexion"
LOGOUT_PATH = "/deconnexion"

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
