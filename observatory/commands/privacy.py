"""``observatory privacy audit``: the linear-programming attack on the stored publication of a year.

Prints, per table, every hidden cell (« < t » primary, « s » complementary) with the narrowest interval an
attacker finds from everything published; exit 1 when one is narrower than the rule allows (see
:mod:`observatory.analytics.disclosure`). The publication is built first when the snapshot has none yet.
"""

from __future__ import annotations

import math

import typer
from rich.table import Table

from observatory import labels
from observatory.commands.common import console, fail, french_typer, settings_or_fail

privacy_app = french_typer(help="Secret statistique : audit de la publication annuelle destinée aux élus.")

STATUS_TEXT = {"primary": "primaire (« < seuil »)", "secondary": "complémentaire (« s »)"}


def _bound(v: float) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "infaisable"
    return "+∞" if math.isinf(v) else labels.fmt_int(int(v))


@privacy_app.command("audit")
def audit(
    year: int = typer.Option(..., "--year", "-y", metavar="ANNÉE", help="Année de la publication à attaquer."),
    rebuild: bool = typer.Option(False, "--rebuild", help="Reconstruire la publication avant l'audit."),
    show_all: bool = typer.Option(False, "--toutes", help="Lister toutes les cases masquées, pas seulement les fautives."),
) -> None:
    """Attaquer la publication d'une année par programmation linéaire et lister les cases masquées."""
    from observatory.analytics import publication
    from observatory.analytics.engine import get_analytics
    from observatory.store import current_snapshot

    settings = settings_or_fail()
    if current_snapshot(settings) is None:
        fail("aucun instantané publié : lancez d'abord `observatory demo` ou `observatory ingest`.")
    an = get_analytics(settings)
    folder = publication.publication_dir(settings, str(an.snapshot_id))
    pub = None if rebuild else publication.read(folder, year, settings.min_count)
    if pub is None:
        console.print(f"Construction de la publication {year} (seuil {settings.min_count})…")
        pub = publication.publication_for(settings, year, an, rebuild=True)
    res = publication.audit_publication(pub)
    t = settings.min_count
    console.print(f"Publication {year}, instantané {pub.manifest.get('snapshot_id', '')}, seuil {t} : "
                  f"{labels.fmt_int(int((res['status'] == 'primary').sum()))} cases primaires, "
                  f"{labels.fmt_int(int((res['status'] == 'secondary').sum()))} complémentaires.")
    bad = res[~res["protected"]]
    for table, part in res.groupby("table", sort=False):
        shown = part if show_all else part[~part["protected"]]
        console.print(f"\n[bold]{table}[/] : {labels.fmt_int(len(part))} cases masquées, {labels.fmt_int(int((~part['protected']).sum()))} insuffisamment protégées")
        if shown.empty:
            continue
        tab = Table("Territoire", "Catégorie", "Période", "Masquage", "Intervalle", "Protégée")
        for _, r in shown.iterrows():
            tab.add_row(labels.arrondissement_label(r["geo"]) if r["geo"] != publication.UNALLOCATED else "Non réparti",
                        str(r["nomenclature"]), "année" if r["period"] == publication.YEAR else labels.month_name(int(r["period"])) if hasattr(labels, "month_name") else str(r["period"]),
                        STATUS_TEXT.get(r["status"], r["status"]), f"[{_bound(r['lower'])} ; {_bound(r['upper'])}]", "oui" if r["protected"] else "NON")
        console.print(tab)
    if len(bad):
        fail(f"{len(bad)} case(s) masquée(s) ramenée(s) à un intervalle plus étroit que ce que « < {t} » autorise.")
    console.print(f"\nAudit réussi : aucune case masquée n'est ramenée à moins de {t - 1} valeurs possibles.")


def register(app: typer.Typer) -> None:
    app.add_typer(privacy_app, name="privacy")
