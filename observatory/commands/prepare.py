"""``observatory prepare``: what ``make run`` does before serving."""

from __future__ import annotations

import importlib

import typer

from observatory.commands.common import console, fmt_paris, settings_or_fail
from observatory.labels import fmt_int


class StepBars:
    """One rich progress bar per step of the first start (generation, ingestion), advanced by the demo's
    progress messages (« police_nationale : génération 2019–2025 »): a partner is done when the next starts."""

    STEPS = (("génération", "Génération des extraits"), ("intégration", "Intégration dans l'entrepôt"))

    def __init__(self, partners: int) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(TextColumn("{task.description:<30}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[item]}"),
                                 TimeElapsedColumn(), console=console, transient=False)
        self.tasks = {key: self.progress.add_task(label, total=partners, item="") for key, label in self.STEPS}
        self.current: int | None = None

    def message(self, text: str) -> None:
        if self.current is not None:
            self.progress.advance(self.current)
        key = next((k for k, _ in self.STEPS if f" : {k}" in text), None)
        self.current = self.tasks.get(key) if key else None
        if self.current is not None:
            # The ingestion also integrates the aggregate sources (MJD, victim support…), more items than
            # partners: the bar's total grows with them, so that it never reads « 9/6 ».
            task = self.progress.tasks[self.current]
            total = max(task.total or 0, task.completed + 1)
            self.progress.update(self.current, item=text.split(" : ")[0], total=total)

    def __enter__(self) -> "StepBars":
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        if self.current is not None and exc[0] is None:
            self.progress.advance(self.current)
        for task in self.tasks.values():
            self.progress.update(task, item="")
        self.progress.stop()


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
        from observatory.demo.partners import PARTNERS

        with StepBars(len(PARTNERS)) as bars:
            demo.prepare_default(settings, progress=bars.message)
    elif demo.is_demo(settings):
        # An install prepared before the demo had its official edition gets it now (a real one is never replaced).
        demo.install_demo_official(settings)
        demo.install_demo_exposure(settings)  # and its exposure series (pool attendance, validations, dwellings…)
    snap = store.current_snapshot(settings)
    if snap is None:
        console.print("Aucune donnée intégrée : le tableau de bord démarre vide (voir « observatory ingest »).")
        return
    # The yearly publications (what élus read, protected jointly) are built once per snapshot, here rather than
    # at the first bilan an élu opens; the « données prêtes » line stays the last one (make run ends on it).
    from observatory.analytics import publication
    from observatory.analytics.engine import get_analytics

    built = publication.ensure_all(settings, get_analytics(settings))
    if built:
        console.print(f"Publications annuelles protégées : {', '.join(str(y) for y in built)}.", highlight=False)
    console.print(f"Données prêtes : {fmt_int(snap.row_count)} incidents, instantané {snap.id} du {fmt_paris(snap.created_at)}.",
                  highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("prepare")(prepare)
