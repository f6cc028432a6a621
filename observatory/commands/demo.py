"""``observatory demo``: generate the fictitious partner extracts of the embedded default, then ingest them."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.table import Table

from observatory.commands.common import console, fail, settings_or_fail
from observatory.labels import DEMO_NOTICE, fmt_int, fmt_number, source_label


def demo(
    years: str = typer.Option("2019-2025", "--years", metavar="ANNÉES", help="Années à générer, par exemple 2019-2025 ou 2024."),
    scale: float = typer.Option(
        1.0, "--scale", metavar="FACTEUR", show_default=False,
        help="Multiplicateur de volume : 1 ≈ 63 000 lignes par an (≈ 53 000 incidents distincts) ; 22,5 ≈ 10 millions de lignes sur 2019-2025 ; par défaut 1.",
    ),
    seed: int = typer.Option(42, "--seed", metavar="GRAINE", help="Graine du hasard : la même graine redonne les mêmes fichiers, octet pour octet."),
    out: Path = typer.Option(None, "--out", metavar="DOSSIER", help="Dossier où écrire les fichiers (par défaut : data/raw/demo)."),
    no_ingest: bool = typer.Option(False, "--no-ingest", help="Écrire seulement les fichiers, sans les intégrer."),
    source: list[str] = typer.Option(
        None, "--source", metavar="PARTENAIRE", help="Seulement ce partenaire (option répétable) ; par défaut les six."
    ),
) -> None:
    """Écrire des extraits fictifs mais réalistes des six partenaires, dans leurs formats d'origine, puis les intégrer."""
    from observatory import demo as demo_mod
    from observatory.demo.partners import PARTNER_NAMES

    settings = settings_or_fail()
    try:
        span = demo_mod.parse_years(years)
    except ValueError as exc:
        fail(str(exc))
    if scale <= 0:
        fail(f"--scale doit être positif (reçu {scale})")
    unknown = sorted(set(source or []) - set(PARTNER_NAMES))
    if unknown:
        fail(f"partenaire(s) inconnu(s) : {', '.join(unknown)} ; connus : {', '.join(PARTNER_NAMES)}")
    out_dir = out if out is not None else demo_mod.demo_dir(settings)
    if not out_dir.is_absolute():
        out_dir = Path.cwd() / out_dir
    started = time.perf_counter()
    try:
        result = demo_mod.generate(settings, out_dir, span, scale, seed, sources=source or None, progress=lambda m: console.print(m, highlight=False))
    except OSError as exc:
        fail(f"écriture impossible dans {out_dir} : {exc.strerror or exc}")
    elapsed = time.perf_counter() - started
    table = Table(title=f"{DEMO_NOTICE} — {out_dir}")
    for col in ("Partenaire", "Fichiers", "Lignes", "Répétées", "Requalifiées", "Défauts"):
        table.add_column(col)
    for name in PARTNER_NAMES:
        recs = [f for f in result.files if f.source == name]
        if not recs:
            continue
        defects = sum(sum(f.defects.values()) for f in recs)
        table.add_row(source_label(name), fmt_int(len(recs)), fmt_int(sum(f.rows for f in recs)), fmt_int(sum(f.repeated for f in recs)),
                      fmt_int(sum(f.requalified for f in recs)), fmt_int(defects))
    console.print(table)
    console.print(f"{fmt_int(result.rows)} lignes écrites en {fmt_number(elapsed, 1)} s ({fmt_int(result.rows / max(elapsed, 1e-9))} lignes/s).", highlight=False)
    if out is None:
        register = demo_mod.install_register(settings, result)
        console.print(f"Plan d'actions : {register}", highlight=False)
    if no_ingest:
        return
    try:
        import observatory.etl as etl
    except ImportError as exc:  # pragma: no cover - the ETL ships with the package
        fail(f"ETL indisponible ({exc}) ; relancez avec --no-ingest")
    if not hasattr(etl, "ingest"):
        fail("l'intégration (observatory.etl.ingest) n'est pas encore disponible ; relancez avec --no-ingest")
    results = demo_mod.ingest_demo(settings, result, progress=lambda m: console.print(m, highlight=False))
    refused = []
    for name, res in results.items():
        for f in getattr(res, "files", []) or []:
            if getattr(f, "refused", False):
                refused.append(f"{Path(str(getattr(f, 'path', getattr(f, 'source_file', '?')))).name} : {getattr(f, 'message', '')}")
    if refused:
        fail(f"{len(refused)} fichier(s) refusé(s) à l'intégration, dont {refused[0]}")
    console.print("Données de démonstration intégrées.")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
