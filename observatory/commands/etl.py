"""``observatory ingest | status | quarantine | sources check``: partner extracts into the store."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from observatory.commands.common import console, fail, settings_or_fail
from observatory.labels import arrondissement_label, fmt_datetime, fmt_int, source_label

sources_app = typer.Typer(help="Source profiles of the partners: check a file against a profile.", no_args_is_help=True)

PROGRESS_MIN_BYTES = 20 << 20  # below this a file reads in well under a second: no bar


def _summary_table(result) -> Table:
    table = Table(title=f"Intégration — {source_label(result.source)}")
    for col in ("Fichier", "Lues", "Acceptées", "Quarantaine", "Doublons", "Révisions", "Libellés non classés", "État"):
        table.add_column(col, justify="right" if col not in ("Fichier", "État") else "left")
    for f in result.files:
        state = "refusé" if f.refused else ("rien à faire" if f.skipped else "intégré")
        table.add_row(
            f.source_file, fmt_int(f.rows_read), fmt_int(f.accepted), fmt_int(f.quarantined), fmt_int(f.duplicates),
            fmt_int(f.revisions), fmt_int(sum(f.unmapped_labels.values())), state,
        )
    return table


def _details(result) -> None:
    for f in result.files:
        if f.skipped:
            console.print(f"{f.source_file} : {f.message}", highlight=False)
            continue
        if f.quarantine_reasons and not f.refused:
            console.print(f"[bold]{f.source_file}[/] — quarantaine par motif :", highlight=False)
            for reason, count in f.quarantine_reasons.items():
                console.print(f"  {fmt_int(count)} × {reason}", highlight=False)
        if f.unmapped_labels:
            console.print(f"[bold]{f.source_file}[/] — libellés non classés (comptés en « non classé ») :", highlight=False)
            for label, count in list(f.unmapped_labels.items())[:20]:
                console.print(f"  {fmt_int(count)} × {label}", highlight=False)
        for note in f.notes:
            console.print(f"[bold]{f.source_file}[/] — {note}", highlight=False)


def ingest_cmd(
    files: list[Path] = typer.Argument(..., help="Partner extract(s) to ingest (CSV or XLSX as the profile says)."),
    source: str = typer.Option(..., "--source", "-s", help="Partner name: the profile data/raw/sources/<NAME>.toml."),
) -> None:
    """Ingest partner extracts: read, map, validate, locate, deduplicate and publish a new snapshot."""
    from observatory.etl import ingest

    settings = settings_or_fail()
    total = sum(f.stat().st_size for f in files if f.is_file())
    if total >= PROGRESS_MIN_BYTES:
        with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn(), console=console, transient=True) as bar:
            task = bar.add_task("lecture", total=None)

            def progress(stage: str, done: int, size: int) -> None:
                # total 0 means a stage whose length is unknown: an indeterminate bar.
                bar.update(task, description=stage, completed=done, total=size or None)

            result = ingest(settings, files, source, progress=progress)
    else:
        result = ingest(settings, files, source)
    if result.failed:
        fail(result.message)
    if result.files:
        console.print(_summary_table(result))
        _details(result)
    refused = [f for f in result.files if f.refused]
    if result.snapshot_id:
        console.print(f"Instantané publié : {result.snapshot_id}", highlight=False)
    elif not refused:
        console.print("Rien à publier : " + "; ".join(f.message for f in result.files if f.message), highlight=False)
    if refused:
        fail(" | ".join(f.message for f in refused))


def status() -> None:
    """Current snapshot, counts by source and year, last ingests."""
    from observatory import store

    settings = settings_or_fail()
    try:
        snap = store.current_snapshot(settings)
    except store.StoreError as exc:
        fail(str(exc))
    if snap is None:
        console.print("Aucun instantané publié : lancez « observatory ingest FICHIER --source NOM » ou « observatory demo ».")
        return
    console.print(f"Instantané courant : [bold]{snap.id}[/] du {fmt_datetime(snap.created_at.astimezone())} — {fmt_int(snap.row_count)} incidents "
                  f"({len(store.list_snapshots(settings))} instantané(s) conservé(s))", highlight=False)
    t = snap.read_incidents(columns=["source", "year"])
    counts = t.group_by(["source", "year"]).aggregate([("source", "count")]).to_pandas()
    counts = counts.rename(columns={"source_count": "n"})
    years = sorted(counts["year"].unique().tolist())
    table = Table(title="Incidents par source et par année")
    table.add_column("Source")
    for y in years:
        table.add_column(str(y), justify="right")
    table.add_column("Total", justify="right")
    for src, grp in counts.groupby("source"):
        by_year = dict(zip(grp["year"], grp["n"]))
        table.add_row(source_label(src), *[fmt_int(by_year.get(y, 0)) for y in years], fmt_int(grp["n"].sum()))
    console.print(table)
    hist = store.ingest_history(settings).tail(10)
    if len(hist):
        h = Table(title="Dernières intégrations")
        for col in ("Date", "Source", "Fichier", "Lues", "Acceptées", "Quarantaine", "Doublons", "Révisions", "État"):
            h.add_column(col)
        for r in hist.itertuples():
            h.add_row(fmt_datetime(r.ingested_at.tz_convert("Europe/Paris")), source_label(r.source), r.source_file, fmt_int(r.rows_read), fmt_int(r.accepted),
                      fmt_int(r.quarantined), fmt_int(r.duplicates), fmt_int(r.revisions), "refusé" if r.refused else "intégré")
        console.print(h)


def quarantine(
    source: str = typer.Option(None, "--source", "-s", help="Only this partner."),
    reason: str = typer.Option(None, "--reason", "-r", help="Only reasons containing this text."),
    limit: int = typer.Option(50, "--limit", "-n", help="Rows shown (0 = all)."),
) -> None:
    """Rows kept aside by the ingests of the current snapshot, with file, row, column, reason and original values."""
    from observatory import store

    settings = settings_or_fail()
    try:
        df = store.read_quarantine(settings)
    except store.StoreError as exc:
        fail(str(exc))
    if source:
        df = df[df["source"] == source]
    if reason:
        df = df[df["reason"].str.contains(reason, case=False, regex=False)]
    if df.empty:
        console.print("Aucune ligne en quarantaine" + (" pour ce filtre." if source or reason else "."))
        return
    table = Table(title=f"Quarantaine — {fmt_int(len(df))} ligne(s)")
    for col in ("Source", "Fichier", "Ligne", "Colonne", "Motif", "Valeurs d'origine"):
        table.add_column(col, overflow="fold")
    shown = df if limit == 0 else df.head(limit)
    for r in shown.itertuples():
        original = r.original if len(r.original) <= 160 else r.original[:160] + "…"
        table.add_row(source_label(r.source), r.source_file, fmt_int(r.source_row), r.column, r.reason, original)
    console.print(table)
    if limit and len(df) > limit:
        console.print(f"… {fmt_int(len(df) - limit)} ligne(s) de plus (--limit 0 pour tout voir)")


@sources_app.command("check")
def sources_check(
    profile: str = typer.Argument(..., help="Partner name or path to a profile TOML."),
    file: Path = typer.Argument(..., help="A file to read with this profile."),
    rows: int = typer.Option(10, "--rows", help="Rows previewed."),
) -> None:
    """Preview a file as the profile reads it and list what would be quarantined; publishes nothing."""
    from observatory.etl import ProfileError, check_file

    settings = settings_or_fail()
    try:
        prep, refusal, preview = check_file(settings, profile, file, rows)
    except ProfileError as exc:
        fail(str(exc))
    if prep is None:
        fail(refusal or "fichier illisible")
    rep = prep.report
    console.print(f"{rep.source_file} : {fmt_int(rep.rows_read)} ligne(s) lue(s), {fmt_int(rep.rows_read - rep.quarantined)} valide(s), "
                  f"{fmt_int(rep.quarantined)} en quarantaine (encodage {rep.encoding or 'xlsx'})", highlight=False)
    if not preview.empty:
        table = Table(title="Aperçu (comme le profil les lit)")
        cols = ["source_id", "occurred_at", "time_precision", "raw_label", "category", "location_quality", "arrondissement", "zones"]
        for c in cols:
            table.add_column(c)
        for r in preview[cols].itertuples(index=False):
            table.add_row(str(r.source_id), fmt_datetime(r.occurred_at), r.time_precision, r.raw_label, r.category, r.location_quality,
                          arrondissement_label(r.arrondissement) if r.arrondissement else "–", ", ".join(r.zones))
        console.print(table)
    q = prep.quarantine.to_pandas() if prep.quarantine is not None else None
    if q is not None and len(q):
        table = Table(title="Lignes qui iraient en quarantaine")
        for c in ("Ligne", "Colonne", "Motif", "Valeurs d'origine"):
            table.add_column(c, overflow="fold")
        for r in q.head(50).itertuples():
            table.add_row(fmt_int(r.source_row), r.column, r.reason, r.original[:160])
        console.print(table)
    if rep.unmapped_labels:
        console.print("Libellés non classés : " + ", ".join(f"{k} ({fmt_int(v)})" for k, v in rep.unmapped_labels.items()), highlight=False)
    for note in rep.notes:
        console.print(note, highlight=False)
    if refusal:
        fail(f"ce fichier serait refusé : {refusal}")
    console.print("Le fichier serait accepté.")


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest_cmd)
    app.command("status")(status)
    app.command("quarantine")(quarantine)
    app.add_typer(sources_app, name="sources")
