"""Source profiles: how to read one partner's extracts (TOML + label CSV, see data/raw/sources/README.md)."""

from __future__ import annotations

import codecs
import csv
import hashlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from functools import cache
from zoneinfo import available_timezones

from observatory import schema as S
from observatory.config import Settings
from observatory.etl.profile_schema import SCHEMA, _check_type, precision_problems, schema_problems
from observatory.schema import TIME_PRECISIONS, categories


class ProfileError(ValueError):
    """A profile that cannot be used; the message names the file and every key at fault (``problems``)."""

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.problems = problems or [message]


@dataclass(frozen=True)
class Profile:
    name: str
    label: str
    path: Path
    format: str = "csv"
    encoding: str = "utf-8"
    fallback_encoding: str | None = None
    delimiter: str = ","
    decimal: str = "."
    header_row: int | str = 1  # 1-based, or "auto"
    sheet: str = ""
    id_column: str | None = None
    build_from: tuple[str, ...] = ()
    prefix_from_filename: str | None = None
    number_identical_rows: bool = False  # rows identical in every build_from column are distinct incidents
    within_file: str = "last_located"  # rule for one id on several lines of a file (see README)
    time_column: str = ""
    time_format: str = ""
    clock_column: str | None = None
    clock_format: str | None = None
    precision: str = "day"
    timezone: str = S.TIMEZONE
    crs: str = "none"
    x: str | None = None
    y: str | None = None
    arrondissement: str | None = None
    address: str | None = None
    place_name: str | None = None
    site: str | None = None
    site_kind: str | None = None
    quarter: str | None = None
    label_column: str = ""
    place_type: str | None = None
    n_facts: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    filename_pattern: str | None = None
    digest: str = ""  # hash of the TOML and the label table: a changed profile re-reads files already ingested

    @property
    def required_columns(self) -> list[str]:
        """Columns the file must have: without any of them no row can be mapped."""
        cols = ([self.id_column] if self.id_column else []) + list(self.build_from)  # build_from: the fallback id too
        cols += [self.time_column, self.label_column]
        if self.clock_column:
            cols.append(self.clock_column)
        if self.crs != "none":
            cols += [self.x, self.y]
        for c in (self.site, self.quarter):
            if c:
                cols.append(c)
        return list(dict.fromkeys(c for c in cols if c))

    @property
    def optional_columns(self) -> list[str]:
        cols = [self.arrondissement, self.address, self.place_name, self.place_type, self.n_facts]
        if self.crs == "none":
            cols += [self.x, self.y]
        return [c for c in dict.fromkeys(cols) if c and c not in self.required_columns]

    @property
    def used_columns(self) -> list[str]:
        return self.required_columns + self.optional_columns


def load_profile_file(path: Path) -> Profile:
    """Read and check one profile TOML and its label CSV; every problem is listed at once in one ProfileError."""
    where = str(path)
    try:
        raw_bytes = path.read_bytes()
        data = tomllib.loads(raw_bytes.decode("utf-8"))
    except FileNotFoundError:
        raise ProfileError(f"{where}: profil introuvable") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProfileError(f"{where}: TOML invalide ({exc})") from None
    except OSError as exc:
        raise ProfileError(f"{where}: profil illisible ({exc.strerror or exc.__class__.__name__})") from None
    problems = schema_problems(data)

    def sect(name: str) -> dict:
        value = data.get(name, {})
        return value if isinstance(value, dict) else {}

    sections = {n: sect(n) for n in SCHEMA}
    src, fil, idd, tim, loc, col, lab, ext = (sections[n] for n in ("source", "file", "id", "time", "location", "columns", "labels", "extraction"))
    owner = {id(body): n for n, body in sections.items()}

    def v(section: dict, key: str, default=None):
        # A value of the wrong type is already a listed problem: read it as absent so the other checks still run.
        value = section.get(key, default)
        return value if key not in section or _check_type(value, SCHEMA[owner[id(section)]][key]) else default

    name = v(src, "name") or path.stem
    fmt = str(v(fil, "format", "csv")).lower()
    header = v(fil, "header_row", 1)
    if not (header == "auto" or (isinstance(header, int) and not isinstance(header, bool) and header >= 1)):
        problems.append(f"[file] header_row = {header!r} : entier ≥ 1 ou \"auto\" attendu")
        header = 1
    delimiter = str(v(fil, "delimiter", ","))
    if len(delimiter) != 1:
        problems.append(f"[file] delimiter = {delimiter!r} : un seul caractère attendu (« ; », « , », « \\t »…)")
        delimiter = ","
    encoding = str(v(fil, "encoding", "utf-8"))
    fallback = v(fil, "fallback_encoding") or None
    for key, enc in (("encoding", encoding), ("fallback_encoding", fallback)):
        if enc:
            try:
                codecs.lookup(enc)
            except LookupError:
                problems.append(f"[file] {key} = {enc!r} : encodage inconnu (utf-8, utf-8-sig ou cp1252)")
    id_column = v(idd, "column") or None
    build_from = tuple(v(idd, "build_from", ()) or ())
    if not id_column and not build_from:
        problems.append("[id] column ou build_from est requis (l'identifiant du partenaire, ou les colonnes dont on le construit)")
    if v(idd, "number_identical_rows", False) and not build_from:
        problems.append("[id] number_identical_rows n'a de sens qu'avec build_from (les identifiants construits)")
    time_format = v(tim, "format") or ""
    clock_column = v(tim, "time_column") or None
    precision = v(tim, "precision")
    if time_format:
        problems += precision_problems(time_format, precision if precision in TIME_PRECISIONS else None, bool(clock_column))
    if precision not in TIME_PRECISIONS:
        precision = "day"
    tz = v(tim, "timezone", S.TIMEZONE) or S.TIMEZONE
    if tz not in _time_zones():  # ZoneInfo() itself raises half a dozen types on odd names (a folder, a NUL...)
        problems.append(f"[time] timezone = {tz!r} : fuseau horaire inconnu (nom IANA, ex. « Europe/Paris », « America/Chicago »)")
        tz = S.TIMEZONE
    crs = str(v(loc, "crs", "none"))
    if crs.lower() == "none":
        crs = "none"
    else:
        normal = normalise_crs(crs)
        if normal is None:
            problems.append(f"[location] crs = {crs!r} : système de coordonnées inconnu (ex. EPSG:4326, EPSG:2154, EPSG:3946 ou none)")
        else:
            crs = normal
        if not v(loc, "x") or not v(loc, "y"):
            problems.append(f"[location] x et y sont requis quand crs = {crs}")
    labels: dict[str, str] = {}
    label_file = v(lab, "file")
    if label_file:
        try:
            labels = load_labels(path.parent / label_file)
        except ProfileError as exc:
            problems.append(f"[labels] file : {exc}")
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        raise ProfileError(f"{where}: {len(problems)} problème(s) dans le profil :\n{lines}", problems=problems)
    return Profile(
        name=str(name),
        label=str(v(src, "label", name)),
        path=path,
        format=fmt,
        encoding=encoding,
        fallback_encoding=fallback,
        delimiter=delimiter,
        decimal=str(v(fil, "decimal", ".")),
        header_row=header,
        sheet=str(v(fil, "sheet", "") or ""),
        id_column=id_column,
        build_from=build_from,
        prefix_from_filename=v(idd, "prefix_from_filename") or None,
        number_identical_rows=bool(v(idd, "number_identical_rows", False)),
        within_file=str(v(idd, "within_file", "last_located")).lower(),
        time_column=v(tim, "column"),
        time_format=time_format,
        clock_column=clock_column,
        clock_format=v(tim, "time_format") or None,
        precision=precision,
        timezone=tz,
        crs=crs,
        x=v(loc, "x") or None,
        y=v(loc, "y") or None,
        arrondissement=v(loc, "arrondissement") or None,
        address=v(loc, "address") or None,
        place_name=v(loc, "place_name") or None,
        site=v(loc, "site") or None,
        site_kind=v(loc, "site_kind") or None,
        quarter=v(loc, "quarter") or None,
        label_column=v(col, "label"),
        place_type=v(col, "place_type") or None,
        n_facts=v(col, "n_facts") or None,
        labels=labels,
        filename_pattern=v(ext, "filename_pattern") or None,
        digest=_digest(raw_bytes, path.parent / label_file if label_file else None),
    )


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _digest(profile_bytes: bytes, labels_path: Path | None) -> str:
    """What the profile makes of a file depends on the TOML and the label table: a change to either re-reads."""
    h = hashlib.sha256(profile_bytes)
    if labels_path is not None:
        h.update(b"\0" + labels_path.read_bytes())
    return h.hexdigest()[:16]


def normalise_crs(text: str) -> str | None:
    """``EPSG:nnnn`` for any CRS pyproj knows by that text (``epsg:3946``, ``3946``, ``EPSG:3946``), else None."""
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    t = text.strip()
    if t.isdigit():
        t = f"EPSG:{t}"
    try:
        crs = CRS.from_user_input(t)
    except (CRSError, TypeError, ValueError):
        return None
    code = crs.to_epsg()
    return f"EPSG:{code}" if code else None


def load_labels(path: Path) -> dict[str, str]:
    """label → category code; every category must exist in the nomenclature."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ProfileError(f"{path}: table des libellés introuvable") from None
    except UnicodeDecodeError:
        raise ProfileError(f"{path}: la table des libellés doit être en UTF-8") from None
    reader = csv.DictReader(text.splitlines())
    try:
        fields = reader.fieldnames
        rows = list(reader)
    except csv.Error as exc:
        raise ProfileError(f"{path}, ligne {reader.line_num} : CSV illisible ({exc})") from None
    if fields is None or not {"label", "category"} <= set(fields):
        raise ProfileError(f"{path}: colonnes attendues label,category")
    known = categories()
    out: dict[str, str] = {}
    for i, row in enumerate(rows, start=2):
        label, cat = (row.get("label") or "").strip(), (row.get("category") or "").strip()
        if not label or not cat:
            continue  # a label not mapped yet (a draft's table): it stays « non classé » and is listed by ingest
        if cat not in known:
            raise ProfileError(f"{path}, ligne {i}, colonne category : catégorie inconnue {cat!r} (voir observatory/data/nomenclature.csv)")
        out[label] = cat
    return out


def profile_path(settings: Settings, name_or_path: str | Path) -> Path:
    p = Path(name_or_path)
    if p.suffix == ".toml" and p.exists():
        return p
    return settings.sources_dir / f"{name_or_path}.toml"


def load_profile(settings: Settings, name_or_path: str | Path) -> Profile:
    """The profile of a partner, by name (``data/raw/sources/<name>.toml``) or by path to a TOML file."""
    path = profile_path(settings, name_or_path)
    if not path.exists():
        known = sorted(p.stem for p in settings.sources_dir.glob("*.toml")) if settings.sources_dir.exists() else []
        raise ProfileError(f"source inconnue {str(name_or_path)!r} : aucun profil {path.name} dans {settings.sources_dir} (connues : {', '.join(known) or 'aucune'})")
    return load_profile_file(path)
