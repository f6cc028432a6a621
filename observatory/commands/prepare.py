"""``observatory prepare``: what ``make run`` does before serving."""

from __future__ import annotations

import importlib

import typer

from observatory.commands.common import console, fmt_paris, settings_or_fail
from observatory.labels import fmt_int


def prepare() -> None:
    """Préparer les données du tableau de bord : contours (en cache ou fournis), puis données de démonstration au premier lancement."""
    from observatory.commands.territory import ensure

    ensure()
    settings = settings_or_fail()
    try:
        store = importlib.import_module("observatory.store")
        demo = importlib.import_module("observatory.demo")
    except ModuleNotFoundError:
        console.print("Pas encore de générateur de démonstration : le tableau de bord démarre sans données.")
        return
    if store.current_snapshot(settings) is None:
        console.print("Premier lancement : génération et intégration des données de démonstration…")
        demo.prepare_default(settings)
    elif demo.is_demo(settings):
        # An install prepared before the demo had its official edition gets it now (a real one is never replaced).
        demo.install_demo_official(settings)
    snap = store.current_snapshot(settings)
    if snap is None:
        console.print("Aucune donnée intégrée : le tableau de bord démarre vide (voir « observatory ingest »).")
        return
    console.print(f"Données prêtes : {fmt_int(snap.row_count)} incidents, instantané {snap.id} du {fmt_paris(snap.created_at)}.",
                  highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("prepare")(prepare)
