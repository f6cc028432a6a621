"""``observatory users``: the dashboard's accounts (add, remove, list).

Passwords are typed at a hidden prompt (or read from stdin with ``--password-stdin`` for scripts), never
passed as arguments: command lines end up in shell histories and process lists.
"""

from __future__ import annotations

import sys

import typer
from rich.table import Table

from observatory import auth
from observatory.commands.common import console, fail, fmt_paris, french_typer, settings_or_fail

users_app = french_typer(help="Comptes du tableau de bord : ajouter, supprimer, lister (rôles analyste, elu, admin).")


@users_app.command("add")
def add(
    name: str = typer.Argument(..., metavar="NOM", help="Nom d'utilisateur : minuscules, chiffres et . _ @ -"),
    role: str = typer.Option(..., "--role", "-r", metavar="RÔLE", help="Rôle du compte : analyste, elu ou admin."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Lire le mot de passe sur la première ligne de l'entrée standard (scripts)."),
    sso: bool = typer.Option(False, "--sso", help="Sans mot de passe : l'utilisateur se connecte par le proxy de confiance (réglage auth_header)."),
    replace: bool = typer.Option(False, "--replace", help="Changer le rôle ou le mot de passe d'un utilisateur existant."),
) -> None:
    """Ajouter un utilisateur (le mot de passe est demandé deux fois, sans s'afficher)."""
    settings = settings_or_fail()
    password: str | None
    if sso:
        password = None
    elif password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Mot de passe", hide_input=True, confirmation_prompt=True)
    try:
        user = auth.add_user(settings, name, password, role, replace=replace)
    except auth.AuthError as exc:
        fail(str(exc))
    how = "connexion par le proxy" if user.sso_only else "mot de passe enregistré (haché)"
    console.print(f"Utilisateur « {user.name} » enregistré, rôle {user.role} ({how}) dans {auth.users_path(settings)}.", highlight=False)


@users_app.command("remove")
def remove(name: str = typer.Argument(..., metavar="NOM", help="Nom de l'utilisateur à supprimer.")) -> None:
    """Supprimer un utilisateur ; ses sessions ouvertes prennent fin à sa requête suivante."""
    settings = settings_or_fail()
    try:
        auth.remove_user(settings, name)
    except auth.AuthError as exc:
        fail(str(exc))
    console.print(f"Utilisateur « {name} » supprimé.", highlight=False)


@users_app.command("list")
def list_() -> None:
    """Lister les utilisateurs, leur rôle et leur date de création (jamais leur mot de passe)."""
    settings = settings_or_fail()
    try:
        users = auth.list_users(settings)
    except auth.AuthError as exc:
        fail(str(exc))
    if not users:
        console.print("Aucun utilisateur : le tableau de bord ne sert que cette machine (127.0.0.1), en analyste local.")
        return
    table = Table(title=f"Utilisateurs — {auth.users_path(settings)}")
    for col in ("Nom", "Rôle", "Connexion", "Créé le (heure de Paris)"):
        table.add_column(col)
    for user in users:
        table.add_row(user.name, user.role, "proxy (SSO)" if user.sso_only else "mot de passe", fmt_paris(user.created_at) if user.created_at else "–")
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
