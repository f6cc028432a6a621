"""The CLS action register: read, validate, save (atomically), edit.

The register is one file per deployment, ``data/raw/actions/actions.csv`` (UTF-8, ``,``, ISO dates, categories
separated by ``|``; an ``actions.xlsx`` with the same columns is accepted instead), plus an optional GeoJSON
``data/raw/actions/perimetres_actions.geojson`` of polygon perimeters keyed by ``action_id``. The format is
documented in ``docs/actions.md``.

Validation is pure (:func:`validate_register`) and collects every problem at once; each problem names the
file, the row (spreadsheet line, header = line 1) and the column. Only :func:`read_register_file`,
:func:`read_perimeter_file` and :func:`save_register` touch files.
"""

from __future__ import annotations

import fcntl
import math
import os
import re
import shutil
import tempfile
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Iterator

import pandas as pd

from observatory import schema
from observatory.config import Settings

ACTIONS_DIR = "actions"
REGISTER_FILE = "actions.csv"
REGISTER_XLSX = "actions.xlsx"
PERIMETERS_FILE = "perimetres_actions.geojson"
HISTORY_DIR = ".historique"
HISTORY_KEEP = 20

ACTION_COLUMNS = (
    "action_id",
    "title",
    "type",
    "partner",
    "zone_id",
    "lon",
    "lat",
    "radius_m",
    "start",
    "end",
    "categories",
    "objective",
    "target_change_pct",
    "objective_year",
    "status",
    "notes",
)
REQUIRED_COLUMNS = ("action_id", "title", "type", "start", "categories", "status")

ACTION_TYPES = ("patrouilles", "videoprotection", "mediation", "amenagement", "gltd", "prevention")
ACTION_STATUSES = ("prevue", "en_cours", "terminee")
TYPE_LABELS = {
    "patrouilles": "Patrouilles",
    "videoprotection": "Vidéoprotection",
    "mediation": "Médiation",
    "amenagement": "Aménagement, éclairage",
    "gltd": "GLTD",
    "prevention": "Prévention",
}
STATUS_LABELS = {"prevue": "Prévue", "en_cours": "En cours", "terminee": "Terminée"}
CATEGORY_SEPARATOR = "|"

# Lyon's extent with a generous margin: a point outside is a typo (swapped lon/lat, missing decimal point).
LON_RANGE = (4.70, 5.00)
LAT_RANGE = (45.68, 45.85)
MAX_RADIUS_M = 5000.0
_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")


@dataclass(frozen=True)
class Problem:
    """One thing wrong in the register, located as a user finds it in a spreadsheet."""

    file: str
    row: int | None  # spreadsheet line (header = 1); None for whole-file problems
    column: str | None
    message: str

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"ligne {self.row}")
        if self.column:
            where.append(f"colonne « {self.column} »")
        return f"{', '.join(where)} : {self.message}"


class RegisterError(ValueError):
    """The register cannot be used; ``problems`` lists every reason, ``str()`` is a readable summary."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        head = "; ".join(str(p) for p in self.problems[:5])
        more = f" (et {len(self.problems) - 5} autre(s) problème(s))" if len(self.problems) > 5 else ""
        super().__init__(head + more)


# Paths ------------------------------------------------------------------------------------------------------------
def actions_dir(settings: Settings) -> Path:
    return settings.raw_dir / ACTIONS_DIR


def register_path(settings: Settings) -> Path:
    """The register in use: ``actions.csv``, or ``actions.xlsx`` when only that one exists."""
    folder = actions_dir(settings)
    csv_path, xlsx_path = folder / REGISTER_FILE, folder / REGISTER_XLSX
    if not csv_path.exists() and xlsx_path.exists():
        return xlsx_path
    return csv_path


def perimeters_path(settings: Settings) -> Path:
    return actions_dir(settings) / PERIMETERS_FILE


# Reading ----------------------------------------------------------------------------------------------------------
def empty_register_frame() -> pd.DataFrame:
    """A raw register with the expected columns and no rows."""
    return pd.DataFrame({c: pd.Series(dtype=object) for c in ACTION_COLUMNS})


def _cell_text(value: object) -> str:
    """Spreadsheet cell → text; Excel dates become ISO dates, integral floats lose their '.0'."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return ""
    if isinstance(value, (datetime, pd.Timestamp)):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_register_file(path: Path) -> pd.DataFrame:
    """Read a register file as text cells (no type guessing); raises RegisterError when unreadable."""
    name = path.name
    if not path.exists():
        raise RegisterError([Problem(name, None, None, f"fichier introuvable ({path})")])
    try:
        if path.suffix.lower() in (".xlsx", ".xlsm"):
            raw = pd.read_excel(path, dtype=object, engine="openpyxl")
        else:
            raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig", sep=",")
    except UnicodeDecodeError:
        raise RegisterError([Problem(name, None, None, "le fichier n'est pas en UTF-8 (enregistrer en « CSV UTF-8 »)")]) from None
    except (pd.errors.ParserError, ValueError, OSError) as exc:
        raise RegisterError([Problem(name, None, None, f"fichier illisible ({exc.__class__.__name__} : {exc})")]) from None
    raw.columns = [str(c).strip() for c in raw.columns]
    return raw.map(_cell_text).astype(object)


def read_perimeter_file(path: Path) -> dict[str, object]:
    """Polygon perimeters keyed by action_id (shapely geometries in EPSG:4326); {} when the file is absent."""
    if not path.exists():
        return {}
    import geopandas as gpd

    try:
        gdf = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several types for an unreadable file; all mean the same to a user
        raise RegisterError([Problem(path.name, None, None, f"GeoJSON illisible ({exc.__class__.__name__})")]) from None
    return perimeter_polygons(gdf, path.name)


def perimeter_polygons(gdf, file_name: str) -> dict[str, object]:  # noqa: ANN001 - GeoDataFrame
    """Validate a GeoDataFrame of perimeters (action_id + polygon) and return {action_id: geometry EPSG:4326}."""
    problems: list[Problem] = []
    if "action_id" not in gdf.columns:
        raise RegisterError([Problem(file_name, None, "action_id", "chaque périmètre doit porter une propriété « action_id »")])
    gdf = gdf.set_crs("EPSG:4326") if gdf.crs is None else gdf.to_crs("EPSG:4326")
    out: dict[str, object] = {}
    for i, (aid, geom) in enumerate(zip(gdf["action_id"], gdf.geometry), start=1):
        aid = _cell_text(aid)
        if not aid:
            problems.append(Problem(file_name, i, "action_id", f"périmètre n° {i} sans action_id"))
        elif geom is None or geom.geom_type not in ("Polygon", "MultiPolygon"):
            problems.append(Problem(file_name, i, "geometry", f"le périmètre de {aid} n'est pas un polygone"))
        elif aid in out:
            problems.append(Problem(file_name, i, "action_id", f"deux périmètres pour {aid}"))
        else:
            out[aid] = geom if geom.is_valid else geom.buffer(0)
    if problems:
        raise RegisterError(problems)
    return out


# Validation -------------------------------------------------------------------------------------------------------
def _fold(text: str) -> str:
    """Lower-case, no accents, spaces/hyphens → underscores: 'Vidéo-protection' → 'video_protection'."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower().strip()
    return re.sub(r"[\s\-]+", "_", text)


_TYPE_ALIASES = {"video_protection": "videoprotection", "patrouille": "patrouilles", "amenagements": "amenagement"}
_STATUS_ALIASES = {"prevu": "prevue", "en_cour": "en_cours", "encours": "en_cours", "termine": "terminee", "terminees": "terminee", "close": "terminee"}


def _parse_iso_date(text: str) -> date | None:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _parse_number(text: str) -> float | None:
    cleaned = text.replace("\u2212", "-").replace("%", "").replace("\u00a0", "").replace(" ", "").replace(",", ".")
    try:
        value = float(cleaned)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def validate_register(
    raw: pd.DataFrame,
    zone_ids: set[str] | frozenset[str],
    polygon_ids: set[str] | frozenset[str] = frozenset(),
    file_name: str = REGISTER_FILE,
) -> tuple[pd.DataFrame, list[Problem]]:
    """Check a raw register (text cells) and return (typed register, problems).

    Typed columns: text columns as str ('' when empty), ``lon``/``lat``/``radius_m``/``target_change_pct``
    float (NaN when empty), ``start``/``end`` ``datetime.date`` (end None when open), ``categories`` tuple of
    codes, ``objective_year`` int or None, ``perimeter_kind`` ('zone', 'buffer' or 'polygon'). Rows with a
    problem are kept out of the typed register; the caller decides whether a partial register is usable.
    """
    problems: list[Problem] = []
    missing = [c for c in REQUIRED_COLUMNS if c not in raw.columns]
    for col in missing:
        problems.append(Problem(file_name, 1, col, "colonne obligatoire absente de l'en-tête"))
    if missing:
        return typed_empty_register(), problems
    raw = raw.reindex(columns=list(ACTION_COLUMNS)).fillna("").astype(object)
    known_categories = set(schema.categories())
    seen: dict[str, int] = {}
    rows: list[dict] = []
    for i, rec in enumerate(raw.to_dict("records")):
        line = i + 2
        row_problems: list[Problem] = []

        def bad(column: str, message: str) -> None:
            row_problems.append(Problem(file_name, line, column, message))

        rec = {k: _cell_text(v) for k, v in rec.items()}
        if not any(rec.values()):
            continue  # a blank spreadsheet line is not an action
        aid = rec["action_id"]
        if not aid:
            bad("action_id", "identifiant vide")
        elif not _ID_PATTERN.match(aid):
            bad("action_id", f"identifiant « {aid} » invalide (lettres, chiffres, « _ », « - », « . » ; 64 caractères au plus)")
        elif aid in seen:
            bad("action_id", f"identifiant « {aid} » en double (déjà utilisé ligne {seen[aid]})")
        else:
            seen[aid] = line
        if not rec["title"]:
            bad("title", "intitulé vide")
        kind = _TYPE_ALIASES.get(_fold(rec["type"]), _fold(rec["type"]))
        if kind not in ACTION_TYPES:
            bad("type", f"type « {rec['type']} » inconnu ; types possibles : {', '.join(ACTION_TYPES)}")
        status = _STATUS_ALIASES.get(_fold(rec["status"]), _fold(rec["status"]))
        if status not in ACTION_STATUSES:
            bad("status", f"statut « {rec['status']} » inconnu ; statuts possibles : {', '.join(ACTION_STATUSES)}")
        start = _parse_iso_date(rec["start"])
        if start is None:
            bad("start", f"date de début « {rec['start']} » invalide (format AAAA-MM-JJ, date existante)")
        end = None
        if rec["end"]:
            end = _parse_iso_date(rec["end"])
            if end is None:
                bad("end", f"date de fin « {rec['end']} » invalide (format AAAA-MM-JJ, date existante)")
            elif start is not None and end < start:
                bad("end", f"la fin ({rec['end']}) précède le début ({rec['start']})")
        if status == "terminee" and not rec["end"]:
            bad("end", "une action terminée doit avoir une date de fin")
        cats = tuple(c.strip() for c in rec["categories"].split(CATEGORY_SEPARATOR) if c.strip())
        if not cats:
            bad("categories", "aucune catégorie ciblée (codes séparés par « | »)")
        unknown = [c for c in cats if c not in known_categories]
        if unknown:
            bad("categories", f"catégorie(s) inconnue(s) : {', '.join(unknown)} (voir la nomenclature)")
        # Perimeter: exactly one of zone, own polygon, point + radius.
        has_point = any(rec[c] for c in ("lon", "lat", "radius_m"))
        has_polygon = aid in polygon_ids
        lon = lat = radius = math.nan
        perimeter_kind = None
        if rec["zone_id"]:
            if rec["zone_id"] not in zone_ids:
                bad("zone_id", f"zone « {rec['zone_id']} » inconnue (voir « observatory territory show »)")
            if has_point:
                bad("zone_id", "périmètre ambigu : une zone ET des coordonnées ; n'en garder qu'un")
            perimeter_kind = "zone"
        elif has_point:
            values = {c: _parse_number(rec[c]) if rec[c] else None for c in ("lon", "lat", "radius_m")}
            for col, value in values.items():
                if value is None:
                    bad(col, f"valeur « {rec[col]} » absente ou non numérique (un périmètre ponctuel demande lon, lat et radius_m)")
            if values["lon"] is not None and not LON_RANGE[0] <= values["lon"] <= LON_RANGE[1]:
                bad("lon", f"longitude {rec['lon']} hors de Lyon (WGS84, degrés décimaux ; lon et lat inversées ?)")
            if values["lat"] is not None and not LAT_RANGE[0] <= values["lat"] <= LAT_RANGE[1]:
                bad("lat", f"latitude {rec['lat']} hors de Lyon (WGS84, degrés décimaux ; lon et lat inversées ?)")
            if values["radius_m"] is not None and not 0 < values["radius_m"] <= MAX_RADIUS_M:
                bad("radius_m", f"rayon {rec['radius_m']} m hors de ]0 ; {MAX_RADIUS_M:.0f}]")
            lon, lat, radius = (values[c] if values[c] is not None else math.nan for c in ("lon", "lat", "radius_m"))
            perimeter_kind = "buffer"
            if has_polygon:
                bad("lon", "périmètre ambigu : des coordonnées ET un polygone dans le GeoJSON ; n'en garder qu'un")
        elif has_polygon:
            perimeter_kind = "polygon"
        else:
            bad("zone_id", "aucun périmètre : indiquer zone_id, ou lon + lat + radius_m, ou un polygone dans le GeoJSON")
        target = math.nan
        if rec["target_change_pct"]:
            parsed = _parse_number(rec["target_change_pct"])
            if parsed is None or not -100 <= parsed <= 1000:
                bad("target_change_pct", f"objectif chiffré « {rec['target_change_pct']} » invalide (un pourcentage, ex. -10)")
            else:
                target = parsed
        objective_year = None
        if rec["objective_year"]:
            parsed = _parse_number(rec["objective_year"])
            if parsed is None or not parsed.is_integer() or not 2000 <= parsed <= 2100:
                bad("objective_year", f"année d'objectif « {rec['objective_year']} » invalide")
            else:
                objective_year = int(parsed)
        if rec["target_change_pct"] and not rec["objective_year"]:
            bad("objective_year", "un objectif chiffré demande son année (objective_year)")
        if rec["objective_year"] and not rec["target_change_pct"]:
            bad("target_change_pct", "une année d'objectif demande un objectif chiffré (target_change_pct)")
        if row_problems:
            problems.extend(row_problems)
            continue
        rows.append(
            {
                "action_id": aid,
                "title": rec["title"],
                "type": kind,
                "partner": rec["partner"],
                "zone_id": rec["zone_id"],
                "lon": lon,
                "lat": lat,
                "radius_m": radius,
                "start": start,
                "end": end,
                "categories": cats,
                "objective": rec["objective"],
                "target_change_pct": target,
                "objective_year": objective_year,
                "status": status,
                "notes": rec["notes"],
                "perimeter_kind": perimeter_kind,
                "source_row": line,
            }
        )
    # Polygons for ids the register does not know are almost always a typo in one of the two files.
    for aid in sorted(set(polygon_ids) - {r["action_id"] for r in rows} - set(seen)):
        problems.append(Problem(PERIMETERS_FILE, None, "action_id", f"polygone pour une action « {aid} » absente du registre"))
    if not rows:
        return typed_empty_register(), problems
    return pd.DataFrame(rows, columns=list(ACTION_COLUMNS) + ["perimeter_kind", "source_row"]).astype({"objective_year": object}), problems


def typed_empty_register() -> pd.DataFrame:
    cols = list(ACTION_COLUMNS) + ["perimeter_kind", "source_row"]
    return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})


def register_to_raw(typed: pd.DataFrame) -> pd.DataFrame:
    """Typed register → text cells in the file format (inverse of :func:`validate_register`)."""

    def num(value: float) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return ""
        return str(int(value)) if float(value).is_integer() else repr(float(value))

    out = []
    for rec in typed.to_dict("records"):
        out.append(
            {
                "action_id": rec["action_id"],
                "title": rec["title"],
                "type": rec["type"],
                "partner": rec.get("partner") or "",
                "zone_id": rec.get("zone_id") or "",
                "lon": num(rec.get("lon")),
                "lat": num(rec.get("lat")),
                "radius_m": num(rec.get("radius_m")),
                "start": rec["start"].isoformat() if rec.get("start") else "",
                "end": rec["end"].isoformat() if rec.get("end") else "",
                "categories": CATEGORY_SEPARATOR.join(rec.get("categories") or ()),
                "objective": rec.get("objective") or "",
                "target_change_pct": num(rec.get("target_change_pct")),
                "objective_year": str(rec["objective_year"]) if rec.get("objective_year") else "",
                "status": rec["status"],
                "notes": rec.get("notes") or "",
            }
        )
    return pd.DataFrame(out, columns=list(ACTION_COLUMNS)) if out else empty_register_frame()


# Loading with the territory ---------------------------------------------------------------------------------------
def known_zone_ids(settings: Settings) -> frozenset[str]:
    from observatory.territory import load_territory

    return frozenset(load_territory(settings).zones["zone_id"].astype(str))


def check_register(settings: Settings, path: Path | None = None) -> tuple[pd.DataFrame, list[Problem]]:
    """Read and validate a register file (default: the one in use); returns (typed register, all problems)."""
    path = path or register_path(settings)
    try:
        polygons = read_perimeter_file(perimeters_path(settings))
    except RegisterError as exc:
        return typed_empty_register(), exc.problems
    if not path.exists() and path == register_path(settings):
        return typed_empty_register(), []  # no register yet: an empty plan, not an error
    try:
        raw = read_register_file(path)
    except RegisterError as exc:
        return typed_empty_register(), exc.problems
    return validate_register(raw, known_zone_ids(settings), frozenset(polygons), path.name)


def load_register(settings: Settings, path: Path | None = None) -> pd.DataFrame:
    """The validated register; raises RegisterError listing every problem. An absent register is empty."""
    typed, problems = check_register(settings, path)
    if problems:
        raise RegisterError(problems)
    return typed


def load_perimeter_polygons(settings: Settings) -> dict[str, object]:
    return read_perimeter_file(perimeters_path(settings))


# Writing ----------------------------------------------------------------------------------------------------------
@contextmanager
def _register_lock(settings: Settings) -> Iterator[None]:
    """Serialise read-modify-write cycles of several dashboard workers on the same register."""
    folder = actions_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".actions.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_atomic(raw: pd.DataFrame, path: Path) -> None:
    # Write beside the target, flush to disk, then swap: a crash leaves either the old or the new file, never half.
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".actions-", suffix=path.suffix, dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            if path.suffix.lower() in (".xlsx", ".xlsm"):
                raw.to_excel(handle, index=False, engine="openpyxl")
            else:
                handle.write(raw.to_csv(index=False, lineterminator="\n").encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _keep_history(path: Path) -> None:
    """Copy the current register aside before replacing it, so an unwanted edit can be undone by hand."""
    if not path.exists():
        return
    history = path.parent / HISTORY_DIR
    history.mkdir(exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S%f")
    shutil.copy2(path, history / f"{path.stem}-{stamp}{path.suffix}")
    old = sorted(history.glob(f"{path.stem}-*{path.suffix}"))
    for stale in old[:-HISTORY_KEEP]:
        stale.unlink()


def save_register(settings: Settings, typed: pd.DataFrame, path: Path | None = None) -> Path:
    """Validate then write the register atomically (previous version kept in ``.historique/``)."""
    path = path or register_path(settings)
    raw = register_to_raw(typed)
    polygons = load_perimeter_polygons(settings)
    _, problems = validate_register(raw, known_zone_ids(settings), frozenset(polygons), path.name)
    if problems:
        raise RegisterError(problems)
    with _register_lock(settings):
        _keep_history(path)
        _write_atomic(raw, path)
    return path


def upsert_action(settings: Settings, record: dict, path: Path | None = None) -> pd.DataFrame:
    """Create or replace one action (by action_id) from text fields; validate the whole register; write it back.

    ``record`` holds the file columns as text (what a form or a spreadsheet line gives). Raises RegisterError
    with every problem of the new line (located at the line it will occupy) and writes nothing then.
    """
    path = path or register_path(settings)
    polygons = load_perimeter_polygons(settings)
    zones = known_zone_ids(settings)
    with _register_lock(settings):
        raw = read_register_file(path) if path.exists() else empty_register_frame()
        raw = raw.reindex(columns=list(ACTION_COLUMNS)).fillna("").astype(object)
        line = {c: _cell_text(record.get(c, "")) for c in ACTION_COLUMNS}
        match = raw.index[raw["action_id"] == line["action_id"]].tolist() if line["action_id"] else []
        if match:
            raw.loc[match[0], list(ACTION_COLUMNS)] = [line[c] for c in ACTION_COLUMNS]
        else:
            raw = pd.concat([raw, pd.DataFrame([line], columns=list(ACTION_COLUMNS))], ignore_index=True).astype(object)
        typed, problems = validate_register(raw, zones, frozenset(polygons), path.name)
        if problems:
            raise RegisterError(problems)
        _keep_history(path)
        _write_atomic(register_to_raw(typed), path)
    return typed


def close_action(settings: Settings, action_id: str, end: date, path: Path | None = None) -> pd.DataFrame:
    """Mark an action 'terminee' with its end date, validate, write back atomically."""
    register = load_register(settings, path)
    found = register[register["action_id"] == action_id]
    if found.empty:
        raise RegisterError([Problem((path or register_path(settings)).name, None, "action_id", f"action « {action_id} » introuvable")])
    record = register_to_raw(found).iloc[0].to_dict()
    record.update(end=end.isoformat(), status="terminee")
    return upsert_action(settings, record, path)
