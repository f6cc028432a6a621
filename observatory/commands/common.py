"""Helpers shared by command modules: one console, one way to fail with a clear message."""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console

from observatory.config import Settings, SettingsError, get_settings

console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print a one-line error on stderr and exit with ``code`` (never a traceback)."""
    err_console.print(f"[bold red]Erreur[/] : {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def settings_or_fail() -> Settings:
    try:
        return get_settings()
    except SettingsError as exc:
        fail(str(exc))
