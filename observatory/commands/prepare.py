"""``observatory prepare``: what ``make run`` does before serving."""

from __future__ import annotations

import importlib

import typer

from observatory.commands.common import console, settings_or_fail


def prepare() -> None:
    """Get the embedded default ready: boundaries (cached or shipped), then the demo data on first run only."""
    from observatory.commands.territory import ensure

    ensure()
    settings = settings_or_fail()
    try:
        store = importlib.import_module("observatory.store")
        demo = importlib.import_module("observatory.demo")
    except ModuleNotFoundError:
        console.print("Pas encore de générateur de démonstration : le tableau de bord démarre sans données.")
        return
    if store.current_snapshot(settings) is not None:
        return
    console.print("Premier lancement : génération et intégration des données de démonstration…")
    demo.prepare_default(settings)


def register(app: typer.Typer) -> None:
    app.command("prepare")(prepare)
