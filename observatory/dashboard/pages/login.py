"""Sign-in page (« Connexion »).

A plain HTML form posted to the server (``POST /connexion``, see ``security.install_security``): it works
without JavaScript and the password never travels through a Dash callback. ``nav=False`` in the registry
tells the navigation to leave this page out.
"""

from __future__ import annotations

import dash
from dash import dcc, html

from observatory.dashboard import security

# Fixed messages chosen by a code in the query string: nothing the visitor typed is ever echoed back.
ERRORS = {
    "identifiants": "Nom d'utilisateur ou mot de passe incorrect.",
    "bloque": "Trop d'essais infructueux : réessayez dans un quart d'heure.",
}


def layout(next: str | None = None, erreur: str | None = None, **_ignored) -> html.Div:  # noqa: A002 - query key
    user = security.current_user()
    children: list = [html.H1("Connexion", className="h3 mb-3")]
    if user is not None and user.role:
        children.append(html.P(
            f"Vous êtes connecté·e en tant que {user.name} ({user.role}).",
            id="connexion-deja", className="alert alert-info",
        ))
    if erreur in ERRORS:
        children.append(html.P(ERRORS[erreur], id="connexion-erreur", className="alert alert-danger", role="alert"))
    children.append(html.Form(
        [
            html.Div([
                html.Label("Nom d'utilisateur", htmlFor="connexion-utilisateur", className="form-label"),
                dcc.Input(id="connexion-utilisateur", name="utilisateur", type="text", required=True,
                           autoComplete="username", className="form-control", maxLength=64),
            ], className="mb-3"),
            html.Div([
                html.Label("Mot de passe", htmlFor="connexion-mot-de-passe", className="form-label"),
                dcc.Input(id="connexion-mot-de-passe", name="mot_de_passe", type="password", required=True,
                           autoComplete="current-password", className="form-control"),
            ], className="mb-3"),
            dcc.Input(type="hidden", name="next", value=_next_value(next)),
            html.Button("Se connecter", id="connexion-valider", type="submit", className="btn btn-primary"),
        ],
        id="connexion-formulaire",
        method="post",
        action=dash.get_relative_path(security.LOGIN_PATH),
    ))
    children.append(html.P(
        "Comptes créés par l'administrateur de l'observatoire (commande « observatory users add »).",
        className="text-muted small mt-3",
    ))
    return html.Div(children, className="container", style={"maxWidth": "28rem"})


def _next_value(target: str | None) -> str:
    # Checked again on the server; only same-site paths survive.
    return security._safe_next(target or "", dash.get_relative_path("/"))


# Registered with the layout given explicitly, so that the page works whether Dash imports it from a pages
# folder or the app factory imports it.
dash.register_page(
    __name__, path=security.LOGIN_PATH, name="Connexion", title="Connexion — Observatoire", order=99, nav=False, layout=layout,
)
