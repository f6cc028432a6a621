"""Access control of the dashboard (stub: a single local analyst until the access-control issue lands).

`create_app` calls `install_security(app, settings)`; pages and callbacks ask `current_role()` before
offering points or unprotected exports, and the server enforces it.
"""

from __future__ import annotations

ROLES = ("analyste", "elu", "admin")


def install_security(app, settings) -> None:  # noqa: ANN001 - Dash app, Settings
    """Install sign-in, role checks and security headers on the app's Flask server."""


def current_role() -> str:
    """Role of the user of the current request."""
    return "analyste"


def is_analyst() -> bool:
    return current_role() in ("analyste", "admin")
