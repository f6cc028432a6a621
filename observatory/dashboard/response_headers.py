"""What the server adds to its answers: the security headers (Content-Security-Policy and friends), the
banner saying who is signed in, and the page shown when access is refused."""

from __future__ import annotations

import html as html_lib
from urllib.parse import urlsplit

from observatory import auth
from observatory.auth import User
from observatory.dashboard.page_access import LOGOUT_PATH


def security_headers(response, app, settings, static: bool, path: str = "") -> None:  # noqa: ANN001 - Flask response, Dash app, Settings
    """The policy headers of every answer (``static``: a file that may be cached, served at ``path``)."""
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    # Flask's send_file dates its answers and the HTTP server dates every answer again: one Date is enough.
    response.headers.pop("Date", None)
    if static and response.mimetype != "text/html":  # an HTML answer (an error page) is a document: full policy
        _lighten_static(response, app, settings, path)
        return
    # The inline-script hashes (~600 bytes) only concern HTML documents: other answers carry the same policy
    # without them (a worker script keeps its connect-src), lighter on each of a page's ~40 requests.
    response.headers.setdefault("Content-Security-Policy", _csp(app, settings, hashes=response.mimetype == "text/html"))
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"


def _lighten_static(response, app, settings, path: str) -> None:  # noqa: ANN001
    """A page's ~35 static files (scripts, styles, glyphs, icons) carry only the headers that act on them.

    The policy headers (CSP, X-Frame-Options, Cross-Origin-Opener-Policy) act on documents and workers only: a
    script or a stylesheet runs under the policy of the page that loads it. The one exception is a worker script
    fetched by URL (MapLibre's), which runs under its own answer's policy: it keeps the CSP. Without them, a first
    visit is ~15 kB lighter (~430 bytes × the page's static files). Nosniff stays: it makes the browser refuse a
    script or a style served under another type."""
    if response.mimetype in ("text/javascript", "application/javascript") and "worker" in path.rsplit("/", 1)[-1]:
        response.headers.setdefault("Content-Security-Policy", _csp(app, settings, hashes=False))
    # send_from_directory names the file for a download; the browser loads it, never saves it.
    response.headers.pop("Content-Disposition", None)


def denied_page(message: str, prefix: str, login_url: str) -> str:
    """The HTML of a refused page: the app's own look (Bootstrap served locally, the dark navigation bar), a
    sentence and two ways out."""
    return (f"<!doctype html><html lang='fr'><head><meta charset='utf-8'><meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>Accès refusé — Observatoire</title><link rel='stylesheet' href='{html_lib.escape(prefix)}vendor/bootstrap.min.css'></head>"
            f"<body style='background:#f5f7fa'><nav class='navbar navbar-dark bg-dark mb-4'><div class='container-fluid'>"
            f"<a class='navbar-brand fw-semibold' href='{html_lib.escape(prefix)}'>Observatoire de la délinquance et de la sécurité — Lyon</a></div></nav>"
            f"<main class='container' style='max-width:42rem'><div class='card shadow-sm access-denied'><div class='card-body p-4'>"
            f"<h1 class='h4 mb-3'>Accès refusé</h1><p class='mb-4'>{html_lib.escape(message[:1].upper() + message[1:])}.</p>"
            f"<a class='btn btn-primary btn-sm me-2' href='{html_lib.escape(prefix)}'>Retour à l'accueil</a>"
            f"<a class='btn btn-outline-secondary btn-sm' href='{html_lib.escape(login_url)}'>Changer d'utilisateur</a>"
            f"</div></div></main></body></html>")


def _csp(app, settings, hashes: bool = True) -> str:  # noqa: ANN001
    # Dash's renderer bootstraps with one inline script (and clientside callbacks add more): allow exactly those
    # by hash. Plotly/MapLibre build their map worker from a blob: URL. Styles: React and Plotly set inline styles.
    scripts = " ".join(["'self'", *(app.csp_hashes() if hashes else ())])
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


def _inject_banner(response, user: User | None, prefix: str, local_user: User) -> None:  # noqa: ANN001
    """Say who is signed in (or that this is the local single-analyst mode, ``local_user``) at the top of every page."""
    if user is None:
        return
    if user is local_user:
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
