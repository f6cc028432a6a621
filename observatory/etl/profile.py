"""Source profiles: how to read one partner's extracts (TOML + label CSV, see data/raw/sources/README.md)."""

from __future__ import annotations

import codecs
import csv
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from observatory.config import Settings
from observatory.schema import TIME_PRECISIONS, categories

SUPPORTED_CRS = ("EPSG:4326", "EPSG:2154", "none")


class ProfileError(ValueError):
    """A profile that cannot be used; the message names the file and the key."""


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
    time_column: str = ""
    time_format: str = ""
    clock_column: str | None = None
    clock_format: str | None = None
    precision: str = "day"
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

    @property
    def required_columns(self) -> list[str]:
        """Columns the file must have: without any of them no row can be mapped."""
        cols = [self.id_column] if self.id_column else list(self.build_from)
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


def _check_encoding(name: str, where: str) -> str:
    try:
        codecs.lookup(name)
    except LookupError:
        raise ProfileError(f"{where}: encodage inconnu {name!r} (utf-8, utf-8-sig ou cp1252)") from None
    return name


def load_profile_file(path: Path) -> Profile:
    """Read and check one profile TOML and its label CSV."""
    where = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProfileError(f"{where}: profil introuvable") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProfileError(f"{where}: TOML invalide ({exc})") from None

    def sect(name: str) -> dict:
        value = data.get(name, {})
        if not isinstance(value, dict):
            raise ProfileError(f"{where}: [{name}] doit être une section")
        return value

    src, fil, idd, tim, loc, col, lab, ext = (sect(n) for n in ("source", "file", "id", "time", "location", "columns", "labels", "extraction"))
    name = src.get("name") or path.stem
    fmt = str(fil.get("format", "csv")).lower()
    if fmt not in ("csv", "xlsx"):
        raise ProfileError(f"{where}: [file] format = {fmt!r} ; attendu csv ou xlsx")
    header = fil.get("header_row", 1)
    if not (header == "auto" or (isinstance(header, int) and header >= 1)):
        raise ProfileError(f"{where}: [file] header_row doit être un entier ≥ 1 ou \"auto\"")
    delimiter = str(fil.get("delimiter", ","))
    if len(delimiter) != 1:
        raise ProfileError(f"{where}: [file] delimiter doit être un seul caractère")
    if not idd.get("column") and not idd.get("build_from"):
        raise ProfileError(f"{where}: [id] column ou build_from est requis")
    if not tim.get("column") or not tim.get("format"):
        raise ProfileError(f"{where}: [time] column et format sont requis")
    precision = tim.get("precision", "day")
    if precision not in TIME_PRECISIONS:
        raise ProfileError(f"{where}: [time] precision = {precision!r} ; attendu {', '.join(TIME_PRECISIONS)}")
    crs = str(loc.get("crs", "none"))
    if crs not in SUPPORTED_CRS:
        raise ProfileError(f"{where}: [location] crs = {crs!r} ; attendu {', '.join(SUPPORTED_CRS)}")
    if crs != "none" and (not loc.get("x") or not loc.get("y")):
        raise ProfileError(f"{where}: [location] x et y sont requis quand crs = {crs}")
    if not col.get("label"):
        raise ProfileError(f"{where}: [columns] label est requis")
    for key, rx in (("prefix_from_filename", idd.get("prefix_from_filename")), ("filename_pattern", ext.get("filename_pattern"))):
        if rx:
            try:
                re.compile(rx)
            except re.error as exc:
                raise ProfileError(f"{where}: {key} n'est pas une expression régulière valide ({exc})") from None
    labels = load_labels(path.parent / lab["file"]) if lab.get("file") else {}
    return Profile(
        name=str(name),
        label=str(src.get("label", name)),
        path=path,
        format=fmt,
        encoding=_check_encoding(str(fil.get("encoding", "utf-8")), where),
        fallback_encoding=_check_encoding(str(fil["fallback_encoding"]), where) if fil.get("fallback_encoding") else None,
        delimiter=delimiter,
        decimal=str(fil.get("decimal", ".")),
        header_row=header,
        sheet=str(fil.get("sheet", "") or ""),
        id_column=idd.get("column") or None,
        build_from=tuple(idd.get("build_from", ()) or ()),
        prefix_from_filename=idd.get("prefix_from_filename") or None,
        time_column=tim["column"],
        time_format=tim["format"],
        clock_column=tim.get("time_column") or None,
        clock_format=tim.get("time_format") or None,
        precision=precision,
        crs=crs,
        x=loc.get("x") or None,
        y=loc.get("y") or None,
        arrondissement=loc.get("arrondissement") or None,
        address=loc.get("address") or None,
        place_name=loc.get("place_name") or None,
        site=loc.get("site") or None,
        site_kind=loc.get("site_kind") or None,
        quarter=loc.get("quarter") or None,
        label_column=col["label"],
        place_type=col.get("place_type") or None,
        n_facts=col.get("n_facts") or None,
        labels=labels,
        filename_pattern=ext.get("filename_pattern") or None,
    )


def load_labels(path: Path) -> dict[str, str]:
    """label → category code; every category must exist in the nomenclature."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ProfileError(f"{path}: table des libellés introuvable") from None
    except UnicodeDecodeError:
        raise ProfileError(f"{path}: la table des libellés doit être en UTF-8") from None
    reader = csv.DictReader(text.splitlines())
    if reader.fieldnames is None or not {"label", "category"} <= set(reader.fieldnames):
        raise ProfileError(f"{path}: colonnes attendues label,category")
    known = categories()
    out: dict[str, str] = {}
    for i, row in enumerate(reader, start=2):
        label, cat = (row.get("label") or "").strip(), (row.get("category") or "").strip()
        if not label:
            continue
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
