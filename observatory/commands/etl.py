"""``observatory ingest | status | quarantine | sources check``: partner extracts into the store."""

from __future__ import annotations

import zipfile
from pathlib import Path

import typer
from rich import box
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from observatory.commands.common import console, err_console, fail, fmt_paris, french_typer, settings_or_fail
from observatory.labels import arrondissement_label, fmt_int, source_label

sources_app = french_typer(help="Profils de lecture des partenaires : vérifier un fichier avec un profil avant de l'intégrer.")

PROGRESS_MIN_BYTES = 20 << 20  # below this a file reads in well under a second: no bar
# Below this width the six quarantine columns fold into one word per line: rows are printed as blocks instead.
QUARANTINE_TABLE_MIN_WIDTH = 120

# Short partner names for narrow terminals (the full ones come from labels.SOURCE_LABELS).
SHORT_SOURCE_LABELS = {
    "police_nationale": "Police nat.",
    "police_municipale": "Police mun.",
    "tcl": "TCL",
    "bailleurs": "Bailleurs",
    "piscines": "Piscines",
    "mediateurs": "Médiateurs",
}

_XLSX_MAGIC = b"PK\x03\x04"
_XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def file_kind(path: Path) -> str | None:
    """What a file really is from its first bytes: ``xlsx``, ``xls``, ``zip``, ``text`` or ``binary`` (None if unreadable)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError:
        return None
    if head.startswith(_XLSX_MAGIC):
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, OSError):
            # A zip signature without a readable directory: most often a workbook cut short; the reader says so.
            return "xlsx" if path.suffix.lower() == ".xlsx" else "zip"
        return "xlsx" if any(n.startswith("xl/") for n in names) else "zip"
    if head.startswith(_XLS_MAGIC):
        return "xls"
    if not head:
        return "text"  # empty: the reader's own message (« fichier vide ») is the right one
    return "binary" if b"\x00" in head else "text"


_KIND_LABELS = {
    "xlsx": "un classeur XLSX",
    "xls": "un classeur Excel ancien format (.xls)",
    "zip": "une archive ZIP",
    "binary": "un fichier binaire",
    "text": "un texte (CSV ?)",
}


def format_mismatch(profile, path: Path) -> str | None:
    """One French line when the file's real format is not the one the profile reads, else None.

    Checked here from the magic bytes, before the pipeline, so that the message names both formats instead
    of the reader's generic « ce n'est pas un CSV texte ».
    """
    kind = file_kind(path)
    if kind is None:
        return None
    if profile.format == "csv" and kind in ("xlsx", "xls", "zip"):
        return (f"{path.name} : le profil {profile.name} attend un CSV, le fichier est {_KIND_LABELS[kind]} ; "
                f"exportez-le en CSV ou vérifiez --source")
    if profile.format == "xlsx" and kind in ("xls", "text", "zip"):
        return (f"{path.name} : le profil {profile.name} attend un classeur XLSX, le fichier est {_KIND_LABELS[kind]} ; "
                f"réenregistrez-le en .xlsx ou vérifiez --source")
    return None


def _profile_or_none(settings, name: str):
    """The profile for the format pre-check; None lets the pipeline report an unknown source as it always has."""
    from observatory.etl import ProfileError, load_profile

    try:
        return load_profile(settings, name)
    except (ProfileError, OSError):
        return None


def _missing(value) -> bool:
    """None, NaN or NaT (a row without location has NaN where a string is expected)."""
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN and NaT are not equal to themselves
    except (TypeError, ValueError):
        return False


def _cell(value) -> str:
    return "–" if _missing(value) or value == "" else str(value)


def compact_original(original: str, limit: int, per_value: int = 28) -> str:
    """The original values of a quarantined row as « col: value · … », each value shortened on its own, so that a
    long address never hides the coordinates that follow it."""
    import json

    try:
        data = json.loads(original)
    except (TypeError, ValueError):
        data = None
    if not isinstance(data, dict):
        text = str(original)
        return text if len(text) <= limit else text[: limit - 1] + "…"
    parts = []
    for k, v in data.items():
        v = "" if v is None else str(v)
        parts.append(f"{k}: {v if len(v) <= per_value else v[: per_value - 1] + '…'}")
    text = " · ".join(parts)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _num_col(table: Table, header: str) -> None:
    # Numbers never wrap inside a cell (« 12 3 / 45 » is unreadable): text columns give way instead.
    table.add_column(header, justify="right", no_wrap=True)


def _fits(table: Table) -> bool:
    # Measured without the terminal's limit (rich clamps a measurement to the width it is given).
    return console.measure(table, options=console.options.update_width(1 << 16)).maximum <= console.width


def _summary_table(result) -> Table:
    table = Table(title=f"Intégration — {source_label(result.source)}", box=box.SIMPLE_HEAD)
    table.add_column("Fichier", overflow="fold")
    for col in ("Lues", "Acceptées", "Quarantaine", "Doublons", "Non publiées", "Révisions", "Non classés"):
        _num_col(table, col)
    table.add_column("État")
    for f in result.files:
        state = "refusé" if f.refused else ("rien à faire" if f.skipped else "intégré")
        table.add_row(
            f.source_file, fmt_int(f.rows_read), fmt_int(f.accepted), fmt_int(f.quarantined), fmt_int(f.duplicates),
            fmt_int(f.unpublished), fmt_int(f.revisions), fmt_int(sum(f.unmapped_labels.values())), state,
        )
    if any(f.unpublished for f in result.files):
        table.caption = "Non publiées : lignes valides d'un fichier refusé (rien n'est publié d'un fichier refusé). Lues = Acceptées + Quarantaine + Doublons + Non publiées."
    return table


def _details(result) -> None:
    for f in result.files:
        if f.skipped:
            console.print(f"{f.source_file} : {f.message}", highlight=False, markup=False)
            continue
        if f.quarantine_reasons and not f.refused:
            console.print(f"[bold]{f.source_file}[/] — quarantaine par motif :", highlight=False)
            for reason, count in f.quarantine_reasons.items():
                console.print(f"  {fmt_int(count)} × {reason}", highlight=False, markup=False)
        if f.unmapped_labels:
            console.print(f"[bold]{f.source_file}[/] — libellés non classés (comptés en « non classé ») :", highlight=False)
            for label, count in list(f.unmapped_labels.items())[:20]:
                console.print(f"  {fmt_int(count)} × {label}", highlight=False, markup=False)
        for note in f.notes:
            console.print(f"[bold]{escape(str(f.source_file))}[/] — {escape(note)}", highlight=False)


def ingest_cmd(
    files: list[Path] = typer.Argument(
        ..., metavar="FICHIER", help="Extrait(s) du partenaire à intégrer, au format que déclare son profil (CSV ou XLSX)."
    ),
    source: str = typer.Option(
        ..., "--source", "-s", metavar="PARTENAIRE",
        help="Nom du partenaire, c'est-à-dire du profil data/raw/sources/PARTENAIRE.toml (ex. police_nationale).",
    ),
    reprocess: bool = typer.Option(
        False, "--reprocess",
        help="Relire les fichiers déjà intégrés (après correction du profil ou des libellés) : incidents inchangés comptés en doublons, modifiés en révisions.",
    ),
) -> None:
    """Intégrer des extraits d'un partenaire : lire, classer, contrôler, localiser, dédoublonner, puis publier un nouvel instantané."""
    from observatory.etl import ingest

    settings = settings_or_fail()
    profile = _profile_or_none(settings, source)
    if profile is not None:
        mismatches = [m for m in (format_mismatch(profile, f) for f in files if f.is_file()) if m]
        if mismatches:
            # Nothing is ingested: a workbook handed to a CSV profile is almost always the wrong --source.
            fail(" | ".join(mismatches))
    total = sum(f.stat().st_size for f in files if f.is_file())
    if total >= PROGRESS_MIN_BYTES:
        with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn(), console=console, transient=True) as bar:
            task = bar.add_task("lecture", total=None)

            def progress(stage: str, done: int, size: int) -> None:
                # total 0 means a stage whose length is unknown: an indeterminate bar.
                bar.update(task, description=stage, completed=done, total=size or None)

            result = ingest(settings, files, source, progress=progress, reprocess=reprocess)
    else:
        result = ingest(settings, files, source, reprocess=reprocess)
    if result.failed:
        fail(result.message)
    if result.files:
        console.print(_summary_table(result))
        _details(result)
    refused = [f for f in result.files if f.refused]
    if result.snapshot_id:
        console.print(f"Instantané publié : {result.snapshot_id}", highlight=False)
    elif not refused:
        console.print("Rien à publier : " + "; ".join(f.message for f in result.files if f.message), highlight=False, markup=False)
    if refused:
        # One line per refused file (45 refused files joined on one line made a 20,000-character error).
        for f in refused:
            err_console.print(f"Refusé — {f.message}", highlight=False, markup=False, soft_wrap=True)
        fail(f"{fmt_int(len(refused))} fichier(s) refusé(s) sur {fmt_int(len(result.files))} : rien n'a été publié pour eux (détail ci-dessus)")


def _year_chunks(years: list, make) -> list[Table]:
    """The source × year table split into as few tables as fit the terminal (the last one carries the total)."""
    for parts in range(1, max(len(years), 1) + 1):
        size = -(-len(years) // parts) or 1  # balanced: 8 years in two tables of 4, not 7 + 1
        chunks = [years[i:i + size] for i in range(0, len(years), size)] or [[]]
        tables = [make(chunk, i == len(chunks) - 1) for i, chunk in enumerate(chunks)]
        if all(_fits(t) for t in tables):
            return tables
    return tables


def counts_tables(counts, short: bool | None = None) -> list[Table]:
    """Incidents by source (rows) and year (columns) from a frame ``source, year, n``; split by years when narrow.

    Partner names are abbreviated only when the full ones would not leave room for the numbers.
    """
    years = sorted(counts["year"].unique().tolist())
    per_source = [(src, dict(zip(grp["year"], grp["n"])), int(grp["n"].sum())) for src, grp in counts.groupby("source")]

    def make(chunk: list, with_total: bool, use_short: bool) -> Table:
        first, last = (chunk[0], chunk[-1]) if chunk else ("", "")
        span = "" if len(chunk) == len(years) else f" ({first}–{last})" if first != last else f" ({first})"
        table = Table(title=f"Incidents par source et par année{span}", box=box.SIMPLE_HEAD)
        table.add_column("Source", no_wrap=True)
        for y in chunk:
            _num_col(table, str(y))
        if with_total:
            _num_col(table, "Total")
        for src, by_year, total in per_source:
            name = SHORT_SOURCE_LABELS.get(src, src) if use_short else source_label(src)
            table.add_row(name, *[fmt_int(by_year.get(y, 0)) for y in chunk], *([fmt_int(total)] if with_total else []))
        return table

    if short is None:
        short = not _fits(make(years, True, False))
    return _year_chunks(years, lambda chunk, with_total: make(chunk, with_total, short))


def history_tables(hist) -> list[Table]:
    """The last ingests: one table when it fits, else when/what (date, source, file, state) then the row counts."""
    rows = list(hist.itertuples())
    counts = ("Lues", "Acceptées", "Quarantaine", "Doublons", "Non publiées", "Révisions")

    def numbers(r) -> list[str]:
        unpublished = int(getattr(r, "unpublished", 0) or 0)
        return [fmt_int(r.rows_read), fmt_int(r.accepted), fmt_int(r.quarantined), fmt_int(r.duplicates), fmt_int(unpublished), fmt_int(r.revisions)]

    def state(r) -> str:
        return "refusé" if r.refused else "intégré"

    whole = Table(title="Dernières intégrations (heure de Paris)", box=box.SIMPLE_HEAD)
    whole.add_column("Date", no_wrap=True)
    whole.add_column("Source", no_wrap=True)
    whole.add_column("Fichier", overflow="fold")
    for col in counts:
        _num_col(whole, col)
    whole.add_column("État", no_wrap=True)
    for r in rows:
        whole.add_row(fmt_paris(r.ingested_at), source_label(r.source), r.source_file, *numbers(r), state(r))
    if _fits(whole):
        return [whole]
    when = Table(title="Dernières intégrations (heure de Paris)", box=box.SIMPLE_HEAD)
    when.add_column("Date", no_wrap=True)
    when.add_column("Source", no_wrap=True)
    when.add_column("Fichier", overflow="fold")
    when.add_column("État", no_wrap=True)
    lines = Table(title="Dernières intégrations : lignes par fichier", box=box.SIMPLE_HEAD)
    lines.add_column("Fichier", overflow="fold")
    for col in counts:
        _num_col(lines, col)
    for r in rows:
        when.add_row(fmt_paris(r.ingested_at), SHORT_SOURCE_LABELS.get(r.source, r.source), r.source_file, state(r))
        lines.add_row(r.source_file, *numbers(r))
    return [when, lines]


def status() -> None:
    """Afficher l'instantané courant, les incidents par source et par année, et les dernières intégrations."""
    from observatory import store

    settings = settings_or_fail()
    try:
        snap = store.current_snapshot(settings)
    except store.StoreError as exc:
        fail(str(exc))
    if snap is None:
        console.print("Aucun instantané publié : lancez « observatory ingest FICHIER --source NOM » ou « observatory demo ».")
        return
    console.print(f"Instantané courant : [bold]{snap.id}[/] du {fmt_paris(snap.created_at)} (heure de Paris) — "
                  f"{fmt_int(snap.row_count)} incidents ({len(store.list_snapshots(settings))} instantané(s) conservé(s))", highlight=False)
    t = snap.read_incidents(columns=["source", "year"])
    counts = t.group_by(["source", "year"]).aggregate([("source", "count")]).to_pandas()
    counts = counts.rename(columns={"source_count": "n"})
    for table in counts_tables(counts):
        console.print(table)
    hist = store.ingest_history(settings).tail(10)
    if len(hist):
        for table in history_tables(hist):
            console.print(table)


def quarantine(
    source: str = typer.Option(None, "--source", "-s", metavar="PARTENAIRE", help="N'afficher que les lignes de ce partenaire (ex. tcl)."),
    reason: str = typer.Option(None, "--reason", "-r", metavar="TEXTE", help="N'afficher que les motifs qui contiennent ce texte (sans tenir compte des majuscules)."),
    limit: int = typer.Option(50, "--limit", "-n", metavar="NOMBRE", help="Nombre de lignes affichées ; 0 pour toutes les afficher."),
) -> None:
    """Lister les lignes mises en quarantaine par les intégrations de l'instantané courant : fichier, ligne, colonne, motif, valeurs d'origine."""
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
        if col == "Ligne":
            _num_col(table, col)
        else:
            table.add_column(col, overflow="fold")
    shown = df if limit == 0 else df.head(limit)
    for r in shown.itertuples():
        original = compact_original(r.original, 240)
        table.add_row(source_label(r.source), r.source_file, fmt_int(r.source_row), r.column, r.reason, original)
    if console.width >= QUARANTINE_TABLE_MIN_WIDTH:
        console.print(table)
    else:
        # Six columns folded into a narrow terminal give one word per cell line: one short block per row instead.
        console.print(f"[bold]Quarantaine — {fmt_int(len(df))} ligne(s)[/]", highlight=False)
        room = min(max(console.width - 12, 20), 160)
        for r in shown.itertuples():
            original = compact_original(r.original, room)
            console.print(f"{SHORT_SOURCE_LABELS.get(r.source, r.source)} · {r.source_file} · ligne {fmt_int(r.source_row)} · colonne {r.column}",
                          highlight=False, soft_wrap=True)
            console.print(f"  Motif   : {r.reason}", highlight=False, markup=False)
            console.print(f"  Valeurs : {original}", highlight=False, markup=False)
    if limit and len(df) > limit:
        console.print(f"… {fmt_int(len(df) - limit)} ligne(s) de plus (--limit 0 pour tout voir)")


@sources_app.command("check")
def sources_check(
    profile: str = typer.Argument(..., metavar="PROFIL", help="Nom du partenaire (ex. tcl) ou chemin d'un profil TOML."),
    file: Path = typer.Argument(..., metavar="FICHIER", help="Fichier à lire avec ce profil."),
    rows: int = typer.Option(10, "--rows", metavar="NOMBRE", help="Nombre de lignes montrées dans l'aperçu."),
) -> None:
    """Lire un fichier comme le ferait l'intégration et dire ce qui irait en quarantaine, sans rien publier."""
    from observatory.etl import ProfileError, check_file

    settings = settings_or_fail()
    prof = _profile_or_none(settings, profile)
    if prof is not None and file.is_file():
        mismatch = format_mismatch(prof, file)
        if mismatch:
            fail(mismatch)
    try:
        prep, refusal, preview = check_file(settings, profile, file, rows)
    except ProfileError as exc:
        fail(str(exc))
    if prep is None:
        fail(refusal or "fichier illisible")
    rep = prep.report
    dup = (f", dont {fmt_int(rep.duplicates)} doublon(s) (déjà dans l'instantané courant ou répétés dans le fichier) et "
           f"{fmt_int(rep.revisions)} révision(s)") if rep.duplicates or rep.revisions else ""
    console.print(f"{rep.source_file} : {fmt_int(rep.rows_read)} ligne(s) lue(s), {fmt_int(rep.rows_read - rep.quarantined)} valide(s){dup}, "
                  f"{fmt_int(rep.quarantined)} en quarantaine (encodage {rep.encoding or 'xlsx'})", highlight=False, markup=False)
    if not preview.empty:
        table = Table(title="Aperçu (comme le profil les lit)")
        cols = ["source_id", "occurred_at", "time_precision", "raw_label", "category", "location_quality", "arrondissement", "zones"]
        for c in cols:
            table.add_column(c)
        for r in preview[cols].itertuples(index=False):
            table.add_row(_cell(r.source_id), fmt_paris(r.occurred_at), _cell(r.time_precision), _cell(r.raw_label), _cell(r.category),
                          _cell(r.location_quality), arrondissement_label(r.arrondissement) if not _missing(r.arrondissement) else "–",
                          ", ".join(r.zones) if not _missing(r.zones) and len(r.zones) else "–")
        console.print(table)
    q = prep.quarantine.to_pandas() if prep.quarantine is not None else None
    if q is not None and len(q):
        table = Table(title="Lignes qui iraient en quarantaine")
        _num_col(table, "Ligne")
        for c in ("Colonne", "Motif", "Valeurs d'origine"):
            table.add_column(c, overflow="fold")
        for r in q.head(50).itertuples():
            table.add_row(fmt_int(r.source_row), r.column, r.reason, compact_original(r.original, 240))
        console.print(table)
    if rep.unmapped_labels:
        console.print("Libellés non classés : " + ", ".join(f"{k} ({fmt_int(v)})" for k, v in rep.unmapped_labels.items()), highlight=False, markup=False)
    for note in rep.notes:
        console.print(note, highlight=False, markup=False)
    if refusal:
        fail(f"ce fichier serait refusé : {refusal}")
    console.print("Le fichier serait accepté.")


@sources_app.command("new")
def sources_new(
    file: Path = typer.Argument(..., metavar="FICHIER", help="Extrait du nouveau partenaire (CSV ou XLSX)."),
    name: str = typer.Option(None, "--name", "-n", metavar="NOM", help="Nom du partenaire (défaut : d'après le nom du fichier)."),
    force: bool = typer.Option(False, "--force", help="Remplacer un profil existant du même nom."),
) -> None:
    """Écrire un brouillon de profil d'après un fichier (encodage, séparateur, en-tête, dates, coordonnées et système) et la table de ses libellés à classer."""
    import re

    from observatory.etl.sniff import SniffError, render_labels, render_profile, sniff

    settings = settings_or_fail()
    if not file.is_file():
        fail(f"{file.name} : fichier introuvable")
    name = name or re.sub(r"[^a-z0-9]+", "_", re.sub(r"\d{4,}.*$", "", file.stem.lower())).strip("_") or "partenaire"
    if not re.fullmatch(r"[a-z0-9_]+", name):
        fail(f"nom de partenaire {name!r} : lettres minuscules, chiffres et _ seulement")
    target = settings.sources_dir / f"{name}.toml"
    labels = settings.sources_dir / f"{name}_labels.csv"
    if (target.exists() or labels.exists()) and not force:
        fail(f"{target.name} existe déjà dans {settings.sources_dir} : choisissez un autre --name ou ajoutez --force")
    try:
        draft = sniff(file, name)
    except SniffError as exc:
        fail(str(exc))
    try:
        settings.sources_dir.mkdir(parents=True, exist_ok=True)
        target.write_text(render_profile(draft, file.name), encoding="utf-8")
        labels.write_text(render_labels(draft), encoding="utf-8")
    except OSError as exc:
        from observatory.etl.guards import disk_error_message

        fail(f"{target.name} : {disk_error_message(exc, settings.sources_dir)}")
    enc = f", encodage {draft.encoding}, séparateur « {'tabulation' if draft.delimiter == chr(9) else draft.delimiter} »" if draft.format == "csv" else ""
    console.print(f"Brouillon écrit : {target} ({draft.format}{enc}, en-tête ligne {draft.header_row})", highlight=False, markup=False)
    console.print(f"  dates : {draft.time_column or '?'} au format {draft.time_format or '?'} (précision {draft.precision})", highlight=False, markup=False)
    if draft.x:
        console.print(f"  coordonnées : {draft.x}, {draft.y} en {draft.crs if draft.crs != '?' else 'système à indiquer'}", highlight=False, markup=False)
    console.print(f"  identifiant : {draft.id_column or 'construit'}" + (f" (sinon construit à partir de {len(draft.build_from)} colonnes)" if draft.id_column and draft.build_from else ""),
                  highlight=False, markup=False)
    console.print(f"  libellés : {draft.label_column or '?'} — {fmt_int(len(draft.labels))} libellé(s) distinct(s) à classer dans {labels}",
                  highlight=False, markup=False)
    for note in draft.notes:
        console.print(f"  à vérifier : {note}", highlight=False, markup=False)
    console.print(f"Ensuite : remplissez la colonne category de {labels.name} (codes de observatory/data/nomenclature.csv), puis "
                  f"« observatory sources check {name} {file} ».", highlight=False, markup=False)


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest_cmd)
    app.command("status")(status)
    app.command("quarantine")(quarantine)
    app.add_typer(sources_app, name="sources")
