"""``observatory actions``: the CLS action plan — list the register, check a register file, evaluate actions."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer
from rich.table import Table

from observatory.commands.common import console, fail, french_typer, settings_or_fail
from observatory.labels import arrondissement_label, fmt_date, fmt_int, fmt_pct, fmt_signed

actions_app = french_typer(help="Plan d'actions du CLS : lister le registre, vérifier un fichier de registre, évaluer les actions.")


@actions_app.command("list")
def list_actions() -> None:
    """Lister les actions du registre (data/raw/actions/actions.csv) et signaler les lignes invalides."""
    from observatory.actions import STATUS_LABELS, TYPE_LABELS, register_path
    from observatory.actions.service import load_plan

    settings = settings_or_fail()
    plan = load_plan(settings)
    reg = plan.register
    table = Table(title=f"Plan d'actions — {register_path(settings).name} ({fmt_int(len(reg))} actions valides)")
    for col in ("Id", "Intitulé", "Type", "Arrondissement", "Début", "Fin", "Statut", "Catégories"):
        table.add_column(col)
    for rec in reg.sort_values(["start", "action_id"]).to_dict("records") if not reg.empty else []:
        table.add_row(
            rec["action_id"], rec["title"], TYPE_LABELS[rec["type"]], arrondissement_label(rec["arrondissement"]),
            fmt_date(rec["start"]), fmt_date(rec["end"]), STATUS_LABELS[rec["status"]], ", ".join(rec["categories"]),
        )
    console.print(table)
    for problem in plan.problems:
        console.print(f"[yellow]Ligne ignorée[/] — {problem}", highlight=False, soft_wrap=True)


@actions_app.command("check")
def check(
    file: Path = typer.Argument(..., metavar="FICHIER", help="Fichier de registre à vérifier (CSV ou XLSX, colonnes décrites dans docs/actions.md)."),
) -> None:
    """Vérifier un fichier de registre sans l'installer : chaque problème avec son fichier, sa ligne et sa colonne."""
    from observatory.actions import check_register

    settings = settings_or_fail()
    if not file.exists():
        fail(f"{file} : fichier introuvable")
    typed, problems = check_register(settings, file)
    for problem in problems:
        console.print(f"[red]✗[/] {problem}", highlight=False, soft_wrap=True)
    if problems:
        fail(f"{file.name} : {len(problems)} problème(s) ; {len(typed)} ligne(s) valide(s)")
    console.print(f"[green]✓[/] {file.name} : {len(typed)} action(s) valide(s), aucun problème.")


@actions_app.command("evaluate")
def evaluate(
    action_id: list[str] = typer.Argument(None, metavar="ACTION", help="Identifiant(s) d'action (ex. A2023-01) ; sans identifiant, toutes les actions valides."),
    as_of: str = typer.Option(None, "--as-of", metavar="DATE", help="N'utiliser que les données jusqu'à cette date (AAAA-MM-JJ)."),
    control_zone: str = typer.Option(
        None, "--control-zone", metavar="ZONE", help="Identifiant de la zone témoin à utiliser à la place des mailles choisies par défaut."
    ),
) -> None:
    """Évaluer les actions : avant/après comparé à une zone témoin et à une zone tampon de déplacement (WDD, DiD, verdict)."""
    from observatory.actions import RegisterError, evaluate_actions

    settings = settings_or_fail()
    cutoff = None
    if as_of:
        try:
            cutoff = date.fromisoformat(as_of)
        except ValueError:
            fail(f"--as-of : date « {as_of} » invalide (format AAAA-MM-JJ)")
    try:
        result = evaluate_actions(settings, action_id or None, as_of=cutoff, control_zone=control_zone)
    except RegisterError as exc:
        fail(str(exc))
    if result.empty:
        console.print("Aucune action à évaluer.")
        return
    table = Table(title=f"Évaluation des actions (fenêtres de {settings.eval_window_months} mois au plus)")
    for col in ("Id", "Fenêtres", "Périmètre avant → après", "Témoin avant → après", "Zone tampon avant → après", "WDD (± ET)", "DiD", "Verdict"):
        table.add_column(col)
    for rec in result.to_dict("records"):
        wdd = "–" if rec["wdd"] != rec["wdd"] else f"{fmt_signed(rec['wdd'], 1)} (± {fmt_signed(rec['wdd_se'], 1).lstrip('+')})"
        table.add_row(
            rec["action_id"],
            f"{rec['window_months']} mois",
            f"{fmt_int(rec['treated_before'])} → {fmt_int(rec['treated_after'])}",
            f"{fmt_int(rec['control_before'])} → {fmt_int(rec['control_after'])}",
            f"{fmt_int(rec['buffer_before'])} → {fmt_int(rec['buffer_after'])}",
            wdd,
            fmt_pct(rec["did_ratio"] - 1 if rec["did_ratio"] == rec["did_ratio"] else None),
            " ".join(x for x in (rec["verdict"], rec["displacement_note"], rec["window_note"]) if x),
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(actions_app, name="actions")
