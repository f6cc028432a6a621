"""Upload of a partner extract through the browser (« Données » page, analysts only).

The file is checked before anything is written: size (browser and server), type by content (CSV = text that
decodes in the partner's encoding, XLSX = a zip with the workbook members), zip-bomb caps (total uncompressed
size, compression ratio, member count) and XML-bomb guard (no DTD, so no entities, checked with defusedxml).
An accepted file is copied under ``data/raw/uploads/<partner>/<stamp>/`` and ingested by the ordinary pipeline
(``observatory.etl.ingest``) in a background thread; the panel polls its progress and shows the report.
A file refused at any step leaves the data folder as it was (the staged copy is removed).

``upload_panel()`` is the layout fragment; ``register_callbacks(app)`` is called by ``install_security``.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import secrets
import shutil
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from observatory.dashboard import security
from observatory.etl import guards
from observatory.labels import fmt_int

PREFIX = "import"
ID_SOURCE = "import-source"
ID_UPLOAD = "import-fichier"
ID_STATUS = "import-etat"
ID_PROGRESS = "import-progression"
ID_REPORT = "import-rapport"
ID_JOB = "import-tache"
ID_TICK = "import-minuterie"

# Every callback of this panel reads or writes partner data: élus never get them.
security.require_analyst(PREFIX + "*")

# Zip/XML bomb caps: those of the command line (observatory.etl.guards), module attributes so tests can lower them.
MAX_UNCOMPRESSED_BYTES = guards.MAX_UNCOMPRESSED_BYTES
MAX_MEMBER_RATIO = guards.MAX_MEMBER_RATIO
MAX_MEMBERS = guards.MAX_MEMBERS
BINARY_MAGICS = {
    b"PK\x03\x04": "archive zip (ou classeur Excel)",
    b"\xd0\xcf\x11\xe0": "fichier Office 97-2003 (.xls/.doc)",
    b"%PDF": "PDF",
    b"\x7fELF": "exécutable",
    b"MZ": "exécutable Windows",
    b"\x1f\x8b": "archive gzip",
    b"\x89PNG": "image PNG",
    b"\xff\xd8\xff": "image JPEG",
}
ALLOWED_CONTROL = {"\t", "\n", "\r"}


class UploadRefused(ValueError):
    """The uploaded file is refused; the message (French, one line) names the file and the reason."""


@dataclass(frozen=True)
class UploadCheck:
    kind: str  # "csv" | "xlsx"
    size: int
    encoding: str = ""


# Pure checks (bytes in, verdict out) -----------------------------------------------------------------------------

def check_upload(data: bytes, filename: str, expected_format: str, max_bytes: int, encodings: tuple[str, ...] = ("utf-8",)) -> UploadCheck:
    """Check an uploaded file by its content; raise :class:`UploadRefused` with the reason, or return what it is."""
    name = Path(filename or "").name or "fichier"
    if len(data) > max_bytes:
        raise UploadRefused(f"{name} : {_mb(len(data))} dépasse la taille maximale de {_mb(max_bytes)}")
    if not data:
        raise UploadRefused(f"{name} : fichier vide")
    ext = Path(name).suffix.lower()
    if ext not in (".csv", ".txt", ".xlsx"):
        raise UploadRefused(f"{name} : extension {ext or '(aucune)'} non acceptée (CSV ou XLSX)")
    declared = "xlsx" if ext == ".xlsx" else "csv"
    if declared != expected_format:
        raise UploadRefused(f"{name} : ce partenaire envoie des fichiers {expected_format.upper()}, pas {declared.upper()}")
    if declared == "xlsx":
        _check_xlsx(data, name)
        return UploadCheck(kind="xlsx", size=len(data))
    encoding = _check_csv(data, name, encodings)
    return UploadCheck(kind="csv", size=len(data), encoding=encoding)


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} Mo".replace(".", ",")


def _check_xlsx(data: bytes, name: str) -> None:
    # The same guards as the command line (observatory.etl.guards), with this module's caps (tests lower them).
    from observatory.etl.guards import GuardError, check_xlsx_archive, open_xlsx_archive

    try:
        with open_xlsx_archive(io.BytesIO(data), name) as archive:
            check_xlsx_archive(archive, name, max_uncompressed=MAX_UNCOMPRESSED_BYTES, max_ratio=MAX_MEMBER_RATIO, max_members=MAX_MEMBERS)
    except GuardError as exc:
        raise UploadRefused(str(exc)) from None


def _check_csv(data: bytes, name: str, encodings: tuple[str, ...]) -> str:
    for magic, what in BINARY_MAGICS.items():
        if data.startswith(magic):
            raise UploadRefused(f"{name} : le contenu est un {what}, pas un fichier texte CSV")
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise UploadRefused(f"{name} : octet nul ligne {line} : fichier binaire, pas un CSV")
    text = None
    errors = []
    for encoding in dict.fromkeys(encodings):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            errors.append(f"{encoding} (ligne {line})")
        except LookupError:
            errors.append(f"{encoding} (encodage inconnu)")
    if text is None:
        raise UploadRefused(f"{name} : texte illisible dans l'encodage du partenaire : {', '.join(errors)}")
    for i, ch in enumerate(text):
        if (ord(ch) < 32 and ch not in ALLOWED_CONTROL) or ch == "\x7f":
            line = text.count("\n", 0, i) + 1
            raise UploadRefused(f"{name} : caractère de contrôle U+{ord(ch):04X} ligne {line} : fichier binaire, pas un CSV")
    if not text.strip():
        raise UploadRefused(f"{name} : fichier sans contenu")
    return encoding


def safe_filename(filename: str, kind: str) -> str:
    """A name safe on any file system, keeping what the partner's filename pattern may need (dates, letters)."""
    stem = Path(Path(filename or "").name).stem
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._") or "extrait"
    return f"{stem[:100]}.{kind}"


def decode_contents(contents: str, max_bytes: int, filename: str) -> bytes:
    """The bytes of a dcc.Upload ``contents`` data URL, refusing oversized payloads before decoding them."""
    name = Path(filename or "").name or "fichier"
    if not isinstance(contents, str) or "," not in contents:
        raise UploadRefused(f"{name} : contenu reçu illisible")
    payload = contents.split(",", 1)[1]
    if len(payload) * 3 // 4 > max_bytes + 3:
        raise UploadRefused(f"{name} : {_mb(len(payload) * 3 // 4)} dépasse la taille maximale de {_mb(max_bytes)}")
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise UploadRefused(f"{name} : contenu reçu mal encodé") from None


# Partners --------------------------------------------------------------------------------------------------------

def partner_options(settings) -> list[dict[str, str]]:  # noqa: ANN001 - Settings
    """Dropdown options from the source profiles (value = profile name, label = partner's French name)."""
    from observatory.etl.profile import ProfileError, load_profile_file

    options = []
    for path in sorted(settings.sources_dir.glob("*.toml")):
        try:
            profile = load_profile_file(path)
        except ProfileError:
            continue  # a broken profile is reported by `observatory ingest`, not offered here
        options.append({"label": profile.label or profile.name, "value": profile.name})
    return options


# Background jobs -------------------------------------------------------------------------------------------------

@dataclass
class Job:
    id: str
    owner: str
    source: str
    filename: str
    state: str = "attente"  # attente | integration | termine | refuse | erreur
    progress: float | None = None
    message: str = ""
    rows: list[dict[str, Any]] = field(default_factory=list)
    snapshot_id: str | None = None
    started: float = field(default_factory=time.monotonic)

    @property
    def done(self) -> bool:
        return self.state in ("termine", "refuse", "erreur")


_jobs: dict[str, Job] = {}
_jobs_lock = threading.Lock()
_ingest_lock = threading.Lock()  # one ingest at a time: the store publishes one snapshot after another


def _default_ingest(settings, files, source, progress=None):  # noqa: ANN001, ANN202
    from observatory.etl import ingest

    return ingest(settings, files, source, progress=progress)


def start_upload(settings, contents: str, filename: str, source: str, owner: str,  # noqa: ANN001 - Settings
                 ingest: Callable | None = None, wait: bool = False) -> Job:
    """Check the file, stage it and start the ingest in a thread; raise UploadRefused without touching anything."""
    from observatory.etl.profile import ProfileError, load_profile

    name = Path(filename or "").name or "fichier"
    if not source:
        raise UploadRefused(f"{name} : choisissez d'abord le partenaire qui a envoyé ce fichier")
    known = {o["value"] for o in partner_options(settings)}
    if source not in known:
        raise UploadRefused(f"{name} : partenaire « {source} » inconnu")
    try:
        profile = load_profile(settings, source)
    except ProfileError as exc:
        raise UploadRefused(f"{name} : {exc}") from None
    max_bytes = int(settings.max_upload_mb * 1024 * 1024)
    data = decode_contents(contents, max_bytes, name)
    encodings = tuple(e for e in (profile.encoding, profile.fallback_encoding) if e)
    verdict = check_upload(data, name, profile.format, max_bytes, encodings)
    if not _ingest_lock.acquire(blocking=False):
        raise UploadRefused(f"{name} : une intégration est déjà en cours ; réessayez quand elle sera terminée")
    try:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)
        folder = settings.raw_dir / "uploads" / source / stamp
        folder.mkdir(parents=True, exist_ok=False)
        target = folder / safe_filename(name, verdict.kind)
        target.write_bytes(data)
    except OSError as exc:
        _ingest_lock.release()
        if "folder" in locals():
            shutil.rmtree(folder, ignore_errors=True)
        from observatory.etl.guards import disk_error_message

        raise UploadRefused(f"{name} : {disk_error_message(exc, settings.raw_dir)}") from None
    except BaseException:
        _ingest_lock.release()
        raise
    job = Job(id=secrets.token_urlsafe(16), owner=owner, source=source, filename=name, state="integration", progress=0.0,
              message="Intégration en cours…")
    with _jobs_lock:
        _jobs[job.id] = job
    thread = threading.Thread(target=_run, args=(settings, job, target, ingest or _default_ingest), daemon=True,
                              name=f"upload-{job.id[:6]}")
    thread.start()
    if wait:
        thread.join()
    return job


def _run(settings, job: Job, target: Path, ingest: Callable) -> None:  # noqa: ANN001
    def progress(*args: Any, **kwargs: Any) -> None:
        # The ETL may report a message, a fraction, or (done, total): show whatever it gives.
        for value in list(args) + list(kwargs.values()):
            if isinstance(value, str):
                job.message = value
            elif isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1 and len(args) == 1:
                job.progress = float(value)
        nums = [v for v in args if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if len(nums) == 2 and nums[1]:
            job.progress = max(0.0, min(1.0, nums[0] / nums[1]))

    try:
        result = ingest(settings, [target], job.source, progress=progress)
        job.rows = report_rows(result)
        job.snapshot_id = getattr(result, "snapshot_id", None)
        refused = [r for r in job.rows if r["refused"]]
        if getattr(result, "failed", False):
            job.state = "refuse"
            job.message = "Intégration impossible : rien n'a été publié. " + str(getattr(result, "message", "") or "")
            shutil.rmtree(target.parent, ignore_errors=True)
        elif refused and len(refused) == len(job.rows):
            job.state = "refuse"
            job.message = "Fichier refusé : rien n'a été publié. " + " ".join(r["message"] for r in refused if r["message"])
            shutil.rmtree(target.parent, ignore_errors=True)
        else:
            job.state = "termine"
            job.message = (f"Intégration terminée : nouvel instantané {job.snapshot_id}." if job.snapshot_id
                           else "Intégration terminée : aucune donnée nouvelle, rien n'a changé.")
            if not job.snapshot_id:
                shutil.rmtree(target.parent, ignore_errors=True)  # nothing published: keep data/ as it was
    except Exception as exc:  # noqa: BLE001 - the ingest promises not to raise; if it does, say so and clean up
        job.state = "erreur"
        job.message = f"Erreur pendant l'intégration ({exc.__class__.__name__}) : rien n'a été publié par ce fichier."
        shutil.rmtree(target.parent, ignore_errors=True)
    finally:
        job.progress = 1.0
        _ingest_lock.release()


def report_rows(result) -> list[dict[str, Any]]:  # noqa: ANN001 - IngestResult
    """Per-file accounting of an IngestResult as plain dicts (tolerant of the dataclass' exact field names)."""
    rows = []
    for f in getattr(result, "files", None) or []:
        get = (lambda k, d=None: f.get(k, d)) if isinstance(f, dict) else (lambda k, d=None: getattr(f, k, d))
        first = lambda *keys: next((get(k) for k in keys if get(k) is not None), None)  # noqa: E731
        unmapped = first("unmapped_labels", "unmapped")
        rows.append({
            "file": Path(str(first("source_file", "file", "path", "name") or "")).name,
            "read": first("rows_read", "read") or 0,
            "accepted": first("accepted") or 0,
            "quarantined": first("quarantined") or 0,
            "duplicates": first("duplicates") or 0,
            "revisions": first("revisions") or 0,
            "unpublished": first("unpublished") or 0,
            "unmapped": len(unmapped) if isinstance(unmapped, (list, tuple, set, dict)) else (unmapped or 0),
            "refused": bool(first("refused")),
            "message": str(first("message", "reason") or ""),
        })
    return rows


def job_for(job_id: str | None, owner: str) -> Job | None:
    """A job, only for the user who started it (job ids are also unguessable)."""
    with _jobs_lock:
        job = _jobs.get(job_id or "")
    return job if job is not None and job.owner == owner else None


# Layout and callbacks ---------------------------------------------------------------------------------------------

def _settings():  # noqa: ANN202
    from flask import current_app

    from observatory.config import get_settings

    return current_app.config.get("OBSERVATORY_SETTINGS") or get_settings()


def upload_panel(settings=None):  # noqa: ANN001, ANN201 - Settings → Dash component
    """The « Importer un extrait » card for the Données page (analysts only: empty for anyone else)."""
    import dash_bootstrap_components as dbc
    from dash import dcc, html

    from observatory.dashboard import components

    if not security.is_analyst():
        return html.Div(id=PREFIX + "-absent")
    settings = settings or _settings()
    max_bytes = int(settings.max_upload_mb * 1024 * 1024)
    return dbc.Card(
        dbc.CardBody([
            html.H2("Importer un extrait de partenaire", className="h5"),
            html.P(
                f"CSV ou XLSX, {fmt_int(settings.max_upload_mb)} Mo au plus. Le fichier est vérifié puis intégré par la "
                "chaîne habituelle ; un fichier refusé ne change rien aux données publiées.",
                className="text-muted small",
            ),
            dbc.Label("Partenaire", html_for=ID_SOURCE),
            components.dropdown(id=ID_SOURCE, options=partner_options(settings), placeholder="Choisir le partenaire…", clearable=False),
            dcc.Upload(
                id=ID_UPLOAD,
                children=html.Div(["Déposer le fichier ici ou ", html.A("le choisir", href="#")]),
                max_size=max_bytes,
                accept=".csv,.txt,.xlsx",
                multiple=False,
                className="border border-2 rounded p-4 my-3 text-center",
                style={"borderStyle": "dashed"},
            ),
            dbc.Progress(id=ID_PROGRESS, value=0, striped=True, animated=True, className="mb-2", style={"display": "none"}),
            html.Div(id=ID_STATUS, role="status"),
            html.Div(id=ID_REPORT),
            dcc.Store(id=ID_JOB),
            dcc.Interval(id=ID_TICK, interval=800, disabled=True),
        ]),
        id=PREFIX + "-carte",
        className="mb-4",
    )


def _report_table(rows: list[dict[str, Any]]):  # noqa: ANN202
    from dash import html

    head = ("Fichier", "Lues", "Acceptées", "En quarantaine", "Doublons", "Non publiées (fichier refusé)", "Révisions", "Libellés inconnus", "Refus")
    body = [
        html.Tr([
            html.Td(r["file"]), html.Td(fmt_int(r["read"])), html.Td(fmt_int(r["accepted"])), html.Td(fmt_int(r["quarantined"])),
            html.Td(fmt_int(r["duplicates"])), html.Td(fmt_int(r.get("unpublished", 0))), html.Td(fmt_int(r["revisions"])),
            html.Td(fmt_int(r["unmapped"])),
            html.Td(r["message"] if r["refused"] else "—"),
        ])
        for r in rows
    ]
    return html.Table([html.Thead(html.Tr([html.Th(h) for h in head])), html.Tbody(body)],
                      className="table table-sm", id=PREFIX + "-tableau")


def register_callbacks(app) -> None:  # noqa: ANN001 - Dash app
    """Attach the panel's callbacks to ``app`` (once); called by ``install_security``."""
    from dash import Input, Output, State, html, no_update

    if getattr(app, "_observatory_upload_callbacks", False):
        return
    app._observatory_upload_callbacks = True

    def alert(text: str, kind: str):  # noqa: ANN202
        return html.Div(text, className=f"alert alert-{kind}")

    @app.callback(
        Output(ID_JOB, "data"), Output(ID_TICK, "disabled"), Output(ID_STATUS, "children"),
        Output(ID_REPORT, "children"), Output(ID_PROGRESS, "style"),
        Input(ID_UPLOAD, "contents"), State(ID_UPLOAD, "filename"), State(ID_SOURCE, "value"),
        prevent_initial_call=True,
    )
    def on_upload(contents, filename, source):  # noqa: ANN001, ANN202
        if not security.is_analyst():  # the server gate already refused; kept so this never serves an élu
            return None, True, alert("Réservé aux analystes.", "danger"), None, {"display": "none"}
        if not contents:
            return no_update, no_update, no_update, no_update, no_update
        user = security.current_user()
        try:
            job = start_upload(_settings(), contents, filename, source, owner=user.name if user else "")
        except UploadRefused as exc:
            return None, True, alert(f"Fichier refusé : {exc}", "danger"), None, {"display": "none"}
        return job.id, False, alert(f"{job.filename} : vérifié, intégration en cours…", "info"), None, {"display": "flex"}

    @app.callback(
        Output(ID_STATUS, "children", allow_duplicate=True), Output(ID_REPORT, "children", allow_duplicate=True),
        Output(ID_PROGRESS, "value"), Output(ID_PROGRESS, "style", allow_duplicate=True), Output(ID_TICK, "disabled", allow_duplicate=True),
        Input(ID_TICK, "n_intervals"), State(ID_JOB, "data"),
        prevent_initial_call=True,
    )
    def on_tick(_n, job_id):  # noqa: ANN001, ANN202
        user = security.current_user()
        job = job_for(job_id, user.name if user else "")
        if job is None:
            return no_update, no_update, no_update, {"display": "none"}, True
        pct = round(100 * (job.progress or 0))
        if not job.done:
            return alert(f"{job.filename} : {job.message}", "info"), no_update, pct, {"display": "flex"}, False
        kind = {"termine": "success", "refuse": "warning", "erreur": "danger"}[job.state]
        return alert(f"{job.filename} : {job.message}", kind), _report_table(job.rows), 100, {"display": "none"}, True
