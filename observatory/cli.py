"""The ``observatory`` command.

Each group of commands lives in ``observatory/commands/<name>.py`` and exposes ``register(app)``; this module
only assembles them, so that adding a command never means editing a shared file.
"""

from __future__ import annotations

import importlib

import typer

COMMAND_MODULES = (
    "prepare",
    "territory",
    "etl",
    "demo",
    "serve",
    "official",
    "report",
    "users",
    "actions",
)

app = typer.Typer(
    name="observatory",
    help="Observatoire de la délinquance et de la sécurité de Lyon: ingest partner extracts, analyse, serve the dashboard.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)


def _register_all() -> None:
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"observatory.commands.{name}")
        except ModuleNotFoundError as exc:
            # A command group not written yet is simply absent; a missing dependency inside one is a real error.
            if exc.name == f"observatory.commands.{name}":
                continue
            raise
        module.register(app)


_register_all()


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover - `python -m observatory.cli`
    main()
