"""``observatory users``: the dashboard's accounts (add, remove, list).

Passwords are typed at a hidden prompt (or read from stdin with ``--password-stdin`` for scripts), never
passed as arguments: command lines end up in shell histories and process lists.
"""

from __future__ import annotations

import sys

import typer
from rich.table import Table

from observatory import auth
from observatory.commands.common import console, fail, settings_or_fail

users_app = typer.Typer(help="Dashboard accounts: roles analyste, elu, admin.", no_args_is_help=True)


@users_app.command("add")
def add(
    name: str = typer.Argument(..., help="user name (lower case, digits, . _ @ -)"),
    role: str = typer.Option(..., "--role", "-r", help="analyste, elu or admin"),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="read the password from the first line of stdin"),
    sso: bool = typer.Option(False, "--sso", help="no password: the user signs in through the trusted proxy (auth_header)"),
    replace: bool = typer.Option(False, "--replace", help="change the role or password of an existing user"),
) -> None:
    """Add a user (asks for the password twice, hidden)."""
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
def remove(name: str = typer.Argument(..., help="user name")) -> None:
    """Remove a user; their open sessions end at their next request."""
    settings = settings_or_fail()
    try:
        auth.remove_user(settings, name)
    except auth.AuthError as exc:
        fail(str(exc))
    console.print(f"Utilisateur « {name} » supprimé.", highlight=False)


@users_app.command("list")
def list_() -> None:
    """List the users and their roles (never their passwords)."""
    settings = settings_or_fail()
    try:
        users = auth.list_users(settings)
    except auth.AuthError as exc:
        fail(str(exc))
    if not users:
        console.print("Aucun utilisateur : le tableau de bord ne sert que cette machine (127.0.0.1), en analyste local.")
        return
    table = Table(title=f"Utilisateurs — {auth.users_path(settings)}")
    for col in ("Nom", "Rôle", "Connexion", "Créé le"):
        table.add_column(col)
    for user in users:
        table.add_row(user.name, user.role, "proxy (SSO)" if user.sso_only else "mot de passe", user.created_at.replace("T", " "))
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
