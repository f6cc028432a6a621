"""``observatory privacy audit``: the linear-programming attack on the stored publication of a year.

Prints, per table, every hidden cell (« < t » primary, « s » complementary, and unpublished small counts such as
« non réparti ») with the narrowest interval an attacker finds from everything published; exit 1 when one is
narrower than the rule allows (see :mod:`observatory.analytics.disclosure`). The publication is built first when
the snapshot has none yet. Without ``--year``, every year of the snapshot is built (when absent) and attacked,
and one line per year gives the cells hidden, the share of facts hidden and the build and audit times.
"""

from __future__ import annotations

import math
import time

import typer
from rich.table import Table

from observatory import labels
from observatory.commands.common import console, fail, french_typer, settings_or_fail

privacy_app = french_typer(help="Secret statistique : audit de la publication annuelle destinée aux élus.")

STATUS_TEXT = {"primary": "primaire (« < seuil »)", "secondary": "complémentaire (« s »)", "internal": "non publiée"}


def _bound(v: float) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "infaisable"
    return "+∞" if math.isinf(v) else labels.fmt_int(int(v))


def _geo(code: str) -> str:
    from observatory.analytics import publication

    if code == publication.UNALLOCATED:
        return "Non réparti"
    if code.startswith(publication.ZONE_PREFIX):
        zone, _, arr = code[len(publication.ZONE_PREFIX):].partition("@")
        return f"Zone {zone}" + (f" ∩ {_geo(arr)}" if arr else "")
    if code.startswith(publication.PART_PREFIX):
        territory, _, combination = code[len(publication.PART_PREFIX):].partition(":")
        return f"{_geo(territory)} : " + (f"faits dans {combination.replace('|', ' et ')} seulement" if combination else "faits hors zones")
    return labels.arrondissement_label(code)


def _period(code: str) -> str:
    from observatory.analytics import publication

    return "année" if code == publication.YEAR else labels.month_name(int(code))


def _one_year(settings, an, year: int, rebuild: bool, show_all: bool, verbose: bool) -> tuple[dict, int]:  # noqa: ANN001
    from observatory.analytics import publication

    folder = publication.publication_dir(settings, str(an.snapshot_id))
    pub = None if rebuild else publication.read(folder, year, settings.min_count)
    if pub is None:
        console.print(f"Construction de la publication {year} (seuil {settings.min_count})…")
        pub = publication.publication_for(settings, year, an, rebuild=True)
    t0 = time.perf_counter()
    res = publication.audit_publication(pub)
    audit_seconds = time.perf_counter() - t0
    bad = res[~res["protected"]]
    if verbose:
        for table, part in res.groupby("table", sort=False):
            shown = part if show_all else part[~part["protected"]]
            console.print(f"\n[bold]{table}[/] : {labels.fmt_int(len(part))} cases masquées ou non publiées, "
                          f"{labels.fmt_int(int((~part['protected']).sum()))} insuffisamment protégées")
            if shown.empty:
                continue
            tab = Table("Territoire", "Nomenclature", "Période", "Masquage", "Valeur", "Intervalle", "Protégée")
            for _, r in shown.iterrows():
                tab.add_row(_geo(r["geo"]), str(r["nomenclature"]), _period(r["period"]), STATUS_TEXT.get(r["status"], r["status"]),
                            labels.fmt_int(int(r["value"])), f"[{_bound(r['lower'])} ; {_bound(r['upper'])}]", "oui" if r["protected"] else "NON")
            console.print(tab)
    return {"manifest": pub.manifest, "audit_seconds": audit_seconds, "attacked": len(res)}, len(bad)


@privacy_app.command("audit")
def audit(
    year: int | None = typer.Option(None, "--year", "-y", metavar="ANNÉE", help="Année de la publication à attaquer (toutes par défaut)."),
    rebuild: bool = typer.Option(False, "--rebuild", help="Reconstruire la publication avant l'audit."),
    show_all: bool = typer.Option(False, "--toutes", help="Lister toutes les cases masquées, pas seulement les fautives."),
) -> None:
    """Attaquer la publication d'une année (ou de chaque année) par programmation linéaire."""
    from observatory.analytics.engine import get_analytics
    from observatory.store import current_snapshot

    settings = settings_or_fail()
    if current_snapshot(settings) is None:
        fail("aucun instantané publié : lancez d'abord `observatory demo` ou `observatory ingest`.")
    an = get_analytics(settings)
    if year is not None:
        years = [year]
    else:
        from observatory.analytics import publication

        years = sorted(int(y) for y in publication.year_counts(an)["year"].unique())
    t = settings.min_count
    summary = Table("Année", "Cases", "« < seuil »", "« s »", "Faits masqués (an)", "(mois)", "(zones)", "Construction", "Audit", "Fautives")
    failing = 0
    for y in years:
        info, n_bad = _one_year(settings, an, y, rebuild, show_all, verbose=year is not None)
        m = info["manifest"]
        failing += n_bad
        summary.add_row(str(y), labels.fmt_int(m["cells"]), labels.fmt_int(m["primary"]), labels.fmt_int(m["secondary"]),
                        labels.fmt_pct(m["hidden_share_annual"], 2, signed=False),
                        labels.fmt_pct(m["hidden_share_monthly"], 2, signed=False),
                        labels.fmt_pct(m.get("hidden_share_zones", 0.0), 2, signed=False), f"{labels.fmt_number(m['build_seconds'], 1)} s",
                        f"{labels.fmt_number(info['audit_seconds'], 1)} s", labels.fmt_int(n_bad))
    console.print(summary)
    if failing:
        fail(f"{failing} case(s) masquée(s) ramenée(s) à un intervalle plus étroit que ce que « < {t} » autorise.")
    console.print(f"\nAudit réussi : aucune case masquée n'est ramenée à moins de {t - 1} valeurs possibles.")


def register(app: typer.Typer) -> None:
    app.add_typer(privacy_app, name="privacy")
