"""``observatory veille``: the weekly watch of the cellules de veille (bulletin of one cellule for one week)."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pandas as pd
import typer

from observatory.commands.common import console, fail, french_typer, settings_or_fail

veille_app = french_typer(help="Veille hebdomadaire des cellules : bulletin d'une cellule pour une semaine, alertes et historique.")


def send_bulletin(settings, html_text: str, subject: str, recipients: list[str], pdf: bytes | None = None) -> None:
    """Send the bulletin through ``smtp_host`` (HTML body, PDF attached when given)."""
    import smtplib

    msg = EmailMessage()
    msg["Subject"], msg["From"], msg["To"] = subject, settings.smtp_sender, ", ".join(recipients)
    msg.set_content("Bulletin de veille : ouvrez la version HTML de ce message.")
    msg.add_alternative(html_text, subtype="html")
    if pdf:
        msg.add_attachment(pdf, maintype="application", subtype="pdf", filename="bulletin-veille.pdf")
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.download_timeout_s) as smtp:
        smtp.send_message(msg)


@veille_app.command("bulletin")
def bulletin(
    cellule: str = typer.Option("toutes", "--cellule", help="identifiant de la cellule (data/raw/reference/cellules_veille.csv)"),
    semaine: str = typer.Option(..., "--semaine", help="semaine ISO, par ex. 2025-W14"),
    fmt: str = typer.Option("html", "--format", help="html ou pdf"),
    out: Path = typer.Option(None, "--out", help="fichier produit (par défaut bulletin-<cellule>-<semaine>.<format>)"),
    to: list[str] = typer.Option([], "--to", help="destinataire(s) par courriel, seulement si smtp_host est configuré"),
) -> None:
    """Bulletin d'une cellule pour une semaine : alertes, graphiques et notes à lire en réunion (HTML ou PDF)."""
    from observatory.analytics.engine import Analytics, AnalyticsError
    from observatory.veille.bulletin import render_bulletin
    from observatory.veille.cellules import CELLULES_FILE, read_cellules
    from observatory.veille.model import VeilleError, week_start
    from observatory.veille.watch import watch

    settings = settings_or_fail()
    if fmt not in ("html", "pdf"):
        fail(f"--format {fmt!r} inconnu : html ou pdf")
    try:
        monday = week_start(semaine)
        cells = {c.cellule_id: c for c in read_cellules(settings.reference_dir / CELLULES_FILE)}
    except VeilleError as exc:
        fail(str(exc))
    if cellule not in cells:
        fail(f"cellule {cellule!r} inconnue ; cellules : {', '.join(cells)}")
    if to and not settings.smtp_host:
        fail("aucun serveur de courriel configuré (réglage smtp_host) : le bulletin n'est pas envoyé ; retirez --to ou configurez OBSERVATORY_SMTP_HOST")
    try:
        an = Analytics(settings)
    except AnalyticsError as exc:
        fail(str(exc))
    _, hi = an.date_range()
    if hi is None:
        fail("aucune donnée intégrée : lancez d'abord « observatory demo » ou « observatory ingest »")
    if monday + pd.Timedelta(days=6) > pd.Timestamp(hi):
        fail(f"la semaine {semaine} n'est pas complète dans les données (dernier jour : {hi.strftime('%d/%m/%Y')})")
    res = watch(an, alpha=settings.veille_alpha, last_week=monday)
    from observatory.demo import is_demo

    notice = "Données de démonstration — fictives" if is_demo(settings) else ""
    html_text = render_bulletin(an, res, cells[cellule], settings.min_count, notice)
    target = out or Path(f"bulletin-{cellule}-{semaine}.{fmt}")
    pdf = None
    if fmt == "pdf":
        from observatory.reports.render import RenderError, html_to_pdf

        try:
            pdf = html_to_pdf(html_text)
        except RenderError as exc:
            fail(str(exc))
        target.write_bytes(pdf)
    else:
        target.write_text(html_text, encoding="utf-8")
    console.print(f"Bulletin écrit : {target} ({len(res.alerts)} alerte(s) dans la ville cette semaine)")
    if to:
        try:
            send_bulletin(settings, html_text, f"Bulletin de veille {semaine} — {cells[cellule].name}", to, pdf)
        except OSError as exc:
            fail(f"envoi au serveur {settings.smtp_host}:{settings.smtp_port} impossible : {exc}")
        console.print(f"Envoyé à {', '.join(to)} par {settings.smtp_host}")


@veille_app.command("alertes")
def alertes() -> None:
    """Alertes de la dernière semaine complète, tous périmètres ; les enregistre dans l'historique (data/processed/veille)."""
    from rich.table import Table

    from observatory.analytics.engine import Analytics, AnalyticsError
    from observatory.labels import family_label, fmt_int, fmt_number
    from observatory.veille.model import ALL_FAMILIES, iso_week
    from observatory.veille.watch import record_history, watch

    settings = settings_or_fail()
    try:
        an = Analytics(settings)
    except AnalyticsError as exc:
        fail(str(exc))
    res = watch(an, alpha=settings.veille_alpha)
    if res.last_week is None:
        fail("aucune donnée intégrée : lancez d'abord « observatory demo » ou « observatory ingest »")
    hist = record_history(settings, res, an.snapshot_id)
    table = Table(title=f"Veille — semaine {iso_week(res.last_week)} ({fmt_int(len(res.alerts))} alerte(s))")
    for col in ("Périmètre", "Famille", "Observé", "Attendu", "Borne haute", "Depuis", "Nouvelle"):
        table.add_column(col)
    for r in res.alerts.itertuples():
        table.add_row(str(r.name), "toutes familles" if r.family == ALL_FAMILIES else family_label(r.family), fmt_int(r.count), fmt_number(r.expected, 1), fmt_int(r.upper), r.since, "oui" if r.new else "non")
    console.print(table)
    console.print(f"Historique : {fmt_int(len(hist))} épisode(s) d'alerte enregistré(s) ({fmt_int(int((hist['status'] == 'ouverte').sum()))} en cours).")


def register(app: typer.Typer) -> None:
    app.add_typer(veille_app, name="veille")
