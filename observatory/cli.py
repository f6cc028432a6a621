"""The ``observatory`` command.

Each group of commands lives in ``observatory/commands/<name>.py`` and exposes ``register(app)``; this module
only assembles them, so that adding a command never means editing a shared file. ``app`` is a
:class:`~observatory.commands.common.FrenchTyper`: every command registered on it prints French help.
"""

from __future__ import annotations

import importlib

from observatory.commands.common import FrenchTyper, install_french_help_chrome

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
    "survey",
    "veille",
    "privacy",
    "means",
    "exposure",
)

# French one-line help for commands whose docstring is still English (their module belongs to another area);
# an explicit ``help=`` given at registration wins over this.
FRENCH_HELP = {
    "report": "Produire le diagnostic annuel (PDF ou HTML) : synthèse, thèmes, arrondissements, zones, actions, méthodes.",
    "export": "Exporter un tableau (CSV, XLSX) ou une couche cartographique agrégée (GeoJSON), filtres inscrits dans le fichier et dans son nom.",
}

install_french_help_chrome()

app = FrenchTyper(
    name="observatory",
    help="Observatoire de la délinquance et de la sécurité de Lyon : intégrer les extraits des partenaires, "
    "analyser, produire les rapports et servir le tableau de bord.",
    no_args_is_help=True,
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
    for info in app.registered_commands:
        if info.help is None and info.name in FRENCH_HELP:
            info.help = FRENCH_HELP[info.name]


_register_all()


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover - `python -m observatory.cli`
    main()
