"""The means register: what was engaged, per action or per arrondissement and period (staff, patrols, cameras, €).

One file per deployment, ``data/raw/moyens/moyens.csv`` (UTF-8, ``,``, ISO dates; a ``moyens.xlsx`` with the
same columns is accepted instead), documented in ``docs/means.md``. One line = one service's means over one
period, for one action (``action_id``) or for an arrondissement outside any action.

Validation is pure (:func:`validate_means`) and collects every problem at once, each naming the file, the line
(spreadsheet line, header = 1) and the column — the same :class:`~observatory.actions.register.Problem` as the
action register. Only :func:`read_means_file` and the writers touch files; writes are validated first, then
atomic (write beside, fsync, rename) under a lock, the previous file kept in ``.historique/``.
"""

from __future__ import annotations

import fcntl
import math
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from observatory.actions.register import (
    Problem,
    RegisterError,
    _cell_text,
    _fold,
    _parse_iso_date,
    _parse_number,
    read_register_file,
)
from observatory.config import Settings
from observatory.fileio import atomic_write

MEANS_DIR = "moyens"
MEANS_FILE = "moyens.csv"
MEANS_XLSX = "moyens.xlsx"
HISTORY_DIR = ".historique"
HISTORY_KEEP = 20

# The amounts a line may declare; at least one per line. Flows are spread over the period; stocks are levels.
AMOUNT_COLUMNS = (
    "staff_hours",  # hours worked on the action / territory over the period (flow)
    "fte",  # full-time equivalents assigned over the period (stock: an average level)
    "patrols",  # patrols carried out over the period (flow)
    "cameras_installed",  # cameras installed during the period (flow)
    "cameras_in_service",  # cameras in service at the end of the period (stock)
    "budget_investment_eur",  # one-off spending (counted in the year the period starts)
    "budget_running_eur",  # running costs over the period (flow)
)
FLOW_COLUMNS = ("staff_hours", "patrols", "cameras_installed", "budget_running_eur")
STOCK_COLUMNS = ("fte", "cameras_in_service")
MEANS_COLUMNS = ("means_id", "action_id", "arrondissement", "service", "start", "end", *AMOUNT_COLUMNS, "notes")
REQUIRED_COLUMNS = ("means_id", "service", "start", "end")

SERVICES = ("police_nationale", "police_municipale", "mediation", "videoprotection", "ville", "bailleurs", "tcl", "mjd", "aide_victimes", "autre")
SERVICE_LABELS = {
    "police_nationale": "Police nationale",
    "police_municipale": "Police municipale",
    "mediation": "Médiation",
    "videoprotection": "Vidéoprotection (centre de supervision)",
    "ville": "Ville de Lyon (gestion de proximité)",
    "bailleurs": "Bailleurs sociaux",
    "tcl": "TCL",
    "mjd": "Maison de Justice et du Droit",
    "aide_victimes": "Aide aux victimes",
    "autre": "Autre",
}
_SERVICE_ALIASES = {
    "pn": "police_nationale", "police_nat": "police_nationale", "pm": "police_municipale", "police_mun": "police_municipale",
    "mediateurs": "mediation", "mediateur": "mediation", "video": "videoprotection", "video_protection": "videoprotection",
    "csu": "videoprotection", "ville_de_lyon": "ville", "bailleur": "bailleurs", "aide_aux_victimes": "aide_victimes",
}
AMOUNT_LABELS = {
    "staff_hours": "Heures d'agents",
    "fte": "ETP",
    "patrols": "Patrouilles",
    "cameras_installed": "Caméras installées",
    "cameras_in_service": "Caméras en service",
    "budget_investment_eur": "Investissement (€)",
    "budget_running_eur": "Fonctionnement (€)",
}
# Ceilings that catch a typo (an extra zero, cents typed as euros) without judging a real budget.
MAX_AMOUNT = {"staff_hours": 5_000_000, "fte": 5_000, "patrols": 1_000_000, "cameras_installed": 10_000,
              "cameras_in_service": 10_000, "budget_investment_eur": 1e9, "budget_running_eur": 1e9}
_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")


class MeansError(RegisterError):
    """The means register cannot be used; ``problems`` lists every reason."""


# Paths --------------------------------------------------------------------------------------------------------------
def means_dir(settings: Settings) -> Path:
    return settings.raw_dir / MEANS_DIR


def means_path(settings: Settings) -> Path:
    """The register in use: ``moyens.csv``, or ``moyens.xlsx`` when only that one exists."""
    folder = means_dir(settings)
    csv_path, xlsx_path = folder / MEANS_FILE, folder / MEANS_XLSX
    if not csv_path.exists() and xlsx_path.exists():
        return xlsx_path
    return csv_path


# Reading ------------------------------------------------------------------------------------------------------------
def empty_means_frame() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in MEANS_COLUMNS})


def typed_empty_means() -> pd.DataFrame:
    cols = list(MEANS_COLUMNS) + ["source_row"]
    return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})


def read_means_file(path: Path) -> pd.DataFrame:
    """Read a means file as text cells (no type guessing); raises MeansError when unreadable."""
    try:
        return read_register_file(path)
    except RegisterError as exc:
        raise MeansError(exc.problems) from None


def normalise_arrondissement(text: str) -> str | None:
    """'69383', '69003', '3', '3e', 'Lyon 3', 'Lyon 3e' → '69383'; None when it is not one of Lyon's nine."""
    folded = _fold(text).replace("_", "")
    match = re.fullmatch(r"(?:lyon)?0?([1-9])(?:e|er|eme|ème)?", folded)
    if match:
        return f"6938{match.group(1)}"
    match = re.fullmatch(r"69(?:38|00)([1-9])", folded)
    if match:
        return f"6938{match.group(1)}"
    return None


# Validation ---------------------------------------------------------------------------------------------------------
def validate_means(
    raw: pd.DataFrame,
    actions: pd.DataFrame | None = None,
    file_name: str = MEANS_FILE,
) -> tuple[pd.DataFrame, list[Problem]]:
    """Check a raw means register (text cells) against the valid actions; return (typed register, problems).

    ``actions``: the valid action register with its ``arrondissement`` (``load_plan(settings).register``); a line
    naming an action takes that action's arrondissement when it declares none, and must fall inside the action's
    dates. Typed columns: amounts float (NaN when empty), ``start``/``end`` ``datetime.date``, ``service`` a code
    of :data:`SERVICES`, ``arrondissement`` an INSEE code (None for an action whose perimeter is in none).
    Lines with a problem are kept out of the typed register.
    """
    problems: list[Problem] = []
    missing = [c for c in REQUIRED_COLUMNS if c not in raw.columns]
    for col in missing:
        problems.append(Problem(file_name, 1, col, "colonne obligatoire absente de l'en-tête"))
    if missing:
        return typed_empty_means(), problems
    raw = raw.reindex(columns=list(MEANS_COLUMNS)).fillna("").astype(object)
    action_index = {}
    if actions is not None and not actions.empty:
        action_index = {r["action_id"]: r for r in actions.to_dict("records")}
    seen: dict[str, int] = {}
    rows: list[dict] = []
    for i, rec in enumerate(raw.to_dict("records")):
        line = i + 2
        row_problems: list[Problem] = []

        def bad(column: str, message: str) -> None:
            row_problems.append(Problem(file_name, line, column, message))

        rec = {k: _cell_text(v) for k, v in rec.items()}
        if not any(rec.values()):
            continue
        mid = rec["means_id"]
        if not mid:
            bad("means_id", "identifiant vide")
        elif not _ID_PATTERN.match(mid):
            bad("means_id", f"identifiant « {mid} » invalide (lettres, chiffres, « _ », « - », « . » ; 64 caractères au plus)")
        elif mid in seen:
            bad("means_id", f"identifiant « {mid} » en double (déjà utilisé ligne {seen[mid]})")
        else:
            seen[mid] = line
        service = _SERVICE_ALIASES.get(_fold(rec["service"]), _fold(rec["service"]))
        if service not in SERVICES:
            bad("service", f"service « {rec['service']} » inconnu ; services possibles : {', '.join(SERVICES)}")
        start = _parse_iso_date(rec["start"])
        if start is None:
            bad("start", f"date de début « {rec['start']} » invalide (format AAAA-MM-JJ, date existante)")
        end = _parse_iso_date(rec["end"])
        if end is None:
            bad("end", f"date de fin « {rec['end']} » invalide (format AAAA-MM-JJ, date existante ; une période de moyens est toujours bornée)")
        elif start is not None and end < start:
            bad("end", f"la fin ({rec['end']}) précède le début ({rec['start']})")
        action = None
        if rec["action_id"]:
            action = action_index.get(rec["action_id"])
            if action is None:
                bad("action_id", f"action « {rec['action_id']} » absente du registre des actions (ou invalide : voir « observatory actions list »)")
            elif start is not None and end is not None:
                a_start, a_end = action["start"], action.get("end")
                a_end = None if a_end is None or pd.isna(a_end) else a_end
                span = f"({a_start.isoformat()} – {a_end.isoformat() if a_end else 'en cours'})"
                # Equipment is bought and installed before an action starts; hours and running costs are not.
                preparation = any(rec[c] for c in ("budget_investment_eur", "cameras_installed")) and not any(
                    rec[c] for c in ("staff_hours", "fte", "patrols", "budget_running_eur"))
                if end < a_start and not preparation:
                    bad("start", f"période {rec['start']} – {rec['end']} avant le début de l'action {rec['action_id']} {span} ; "
                                 "seuls un investissement ou des installations peuvent la précéder")
                elif a_end is not None and start > a_end:
                    bad("start", f"période {rec['start']} – {rec['end']} après la fin de l'action {rec['action_id']} {span}")
        arrondissement = None
        if rec["arrondissement"]:
            arrondissement = normalise_arrondissement(rec["arrondissement"])
            if arrondissement is None:
                bad("arrondissement", f"arrondissement « {rec['arrondissement']} » inconnu (ex. 69383, 3, 3e, Lyon 3)")
            elif action is not None and action.get("arrondissement") and action["arrondissement"] != arrondissement:
                bad("arrondissement", f"l'action {rec['action_id']} est dans le {_arr_text(action['arrondissement'])}, pas dans le {_arr_text(arrondissement)}")
        elif action is not None:
            arrondissement = action.get("arrondissement") or None
        elif not rec["action_id"]:
            bad("arrondissement", "ni action ni arrondissement : indiquer action_id, ou l'arrondissement des moyens hors action")
        amounts: dict[str, float] = {}
        for col in AMOUNT_COLUMNS:
            if not rec[col]:
                amounts[col] = math.nan
                continue
            value = _parse_number(rec[col].replace("€", ""))
            if value is None:
                bad(col, f"valeur « {rec[col]} » non numérique")
            elif value < 0:
                bad(col, f"valeur {rec[col]} négative")
            elif value > MAX_AMOUNT[col]:
                bad(col, f"valeur {rec[col]} invraisemblable (plus de {MAX_AMOUNT[col]:,.0f}) ; faute de frappe ?".replace(",", "\u202f"))
            elif col in ("patrols", "cameras_installed", "cameras_in_service") and not value.is_integer():
                bad(col, f"valeur {rec[col]} non entière (un nombre de {AMOUNT_LABELS[col].lower()})")
            amounts[col] = value if value is not None else math.nan
        if all(not rec[c] for c in AMOUNT_COLUMNS):
            bad("staff_hours", f"aucun moyen chiffré : renseigner au moins une colonne parmi {', '.join(AMOUNT_COLUMNS)}")
        if row_problems:
            problems.extend(row_problems)
            continue
        rows.append({"means_id": mid, "action_id": rec["action_id"], "arrondissement": arrondissement, "service": service,
                     "start": start, "end": end, **amounts, "notes": rec["notes"], "source_row": line})
    if not rows:
        return typed_empty_means(), problems
    return pd.DataFrame(rows, columns=list(MEANS_COLUMNS) + ["source_row"]), problems


def _arr_text(code: str) -> str:
    from observatory.labels import arrondissement_label

    return arrondissement_label(code)


def means_to_raw(typed: pd.DataFrame) -> pd.DataFrame:
    """Typed register → text cells in the file format (inverse of :func:`validate_means`)."""

    def num(value: object) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return ""
        return str(int(value)) if float(value).is_integer() else repr(float(value))

    out = []
    for rec in typed.to_dict("records"):
        row = {
            "means_id": rec["means_id"], "action_id": rec.get("action_id") or "", "arrondissement": rec.get("arrondissement") or "",
            "service": rec["service"], "start": rec["start"].isoformat(), "end": rec["end"].isoformat(),
        }
        row.update({c: num(rec.get(c)) for c in AMOUNT_COLUMNS})
        row["notes"] = rec.get("notes") or ""
        out.append(row)
    return pd.DataFrame(out, columns=list(MEANS_COLUMNS)) if out else empty_means_frame()


# Loading with the action plan ---------------------------------------------------------------------------------------
def _valid_actions(settings: Settings) -> pd.DataFrame:
    from observatory.actions.service import load_plan

    return load_plan(settings).register


def check_means(settings: Settings, path: Path | None = None, actions: pd.DataFrame | None = None) -> tuple[pd.DataFrame, list[Problem]]:
    """Read and validate a means file (default: the one in use); an absent register is empty, not an error."""
    path = path or means_path(settings)
    if not path.exists() and path == means_path(settings):
        return typed_empty_means(), []
    try:
        raw = read_means_file(path)
    except MeansError as exc:
        return typed_empty_means(), exc.problems
    return validate_means(raw, _valid_actions(settings) if actions is None else actions, path.name)


def load_means(settings: Settings, path: Path | None = None) -> pd.DataFrame:
    """The validated means register; raises MeansError listing every problem."""
    typed, problems = check_means(settings, path)
    if problems:
        raise MeansError(problems)
    return typed


# Writing ------------------------------------------------------------------------------------------------------------
@contextmanager
def _lock(settings: Settings) -> Iterator[None]:
    """Serialise read-modify-write cycles of several dashboard workers on the same file."""
    folder = means_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".moyens.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _encode(raw: pd.DataFrame, path: Path) -> bytes:
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        import io

        buf = io.BytesIO()
        raw.to_excel(buf, index=False, engine="openpyxl")
        return buf.getvalue()
    return raw.to_csv(index=False, lineterminator="\n").encode("utf-8")


def _keep_history(path: Path) -> None:
    """Copy the current file aside before replacing it, so an unwanted edit can be undone by hand."""
    if not path.exists():
        return
    history = path.parent / HISTORY_DIR
    history.mkdir(exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S%f")
    shutil.copy2(path, history / f"{path.stem}-{stamp}{path.suffix}")
    for stale in sorted(history.glob(f"{path.stem}-*{path.suffix}"))[:-HISTORY_KEEP]:
        stale.unlink()


def save_means(settings: Settings, typed: pd.DataFrame, path: Path | None = None, actions: pd.DataFrame | None = None) -> Path:
    """Validate then write the register atomically (previous version kept in ``.historique/``)."""
    path = path or means_path(settings)
    raw = means_to_raw(typed)
    _, problems = validate_means(raw, _valid_actions(settings) if actions is None else actions, path.name)
    if problems:
        raise MeansError(problems)
    with _lock(settings):
        _keep_history(path)
        atomic_write(path, _encode(raw, path))
    return path


def upsert_means(settings: Settings, record: dict, path: Path | None = None, actions: pd.DataFrame | None = None) -> pd.DataFrame:
    """Create or replace one line (by means_id) from text fields; validate the whole register; write it back.

    Raises MeansError with every problem (the new line located where it will be) and writes nothing then.
    """
    path = path or means_path(settings)
    actions = _valid_actions(settings) if actions is None else actions
    with _lock(settings):
        raw = read_means_file(path) if path.exists() else empty_means_frame()
        raw = raw.reindex(columns=list(MEANS_COLUMNS)).fillna("").astype(object)
        line = {c: _cell_text(record.get(c, "")) for c in MEANS_COLUMNS}
        match = raw.index[raw["means_id"] == line["means_id"]].tolist() if line["means_id"] else []
        if match:
            raw.loc[match[0], list(MEANS_COLUMNS)] = [line[c] for c in MEANS_COLUMNS]
        else:
            raw = pd.concat([raw, pd.DataFrame([line], columns=list(MEANS_COLUMNS))], ignore_index=True).astype(object)
        typed, problems = validate_means(raw, actions, path.name)
        if problems:
            raise MeansError(problems)
        _keep_history(path)
        atomic_write(path, _encode(means_to_raw(typed), path))
    return typed


def next_means_id(typed: pd.DataFrame, action_id: str | None, when: date) -> str:
    """A fresh id for a form: ``M-<action or year>-<n>``, n one more than the highest used with that prefix."""
    prefix = f"M-{action_id or when.year}-"
    used = [int(m[len(prefix):]) for m in typed.get("means_id", pd.Series(dtype=object)) if str(m).startswith(prefix) and str(m)[len(prefix):].isdigit()]
    return f"{prefix}{max(used, default=0) + 1}"


__all__ = [
    "AMOUNT_COLUMNS",
    "AMOUNT_LABELS",
    "FLOW_COLUMNS",
    "MEANS_COLUMNS",
    "SERVICES",
    "SERVICE_LABELS",
    "STOCK_COLUMNS",
    "MeansError",
    "check_means",
    "load_means",
    "means_path",
    "means_to_raw",
    "next_means_id",
    "normalise_arrondissement",
    "save_means",
    "upsert_means",
    "validate_means",
]
