"""Exposure profiles: how to read one denominator file (TOML, see ``data/raw/exposure/README.md``).

A profile names the series (its kind, source and vintage), how the file is read (CSV or XLSX, encoding,
delimiter, decimal comma), which columns hold the unit, the period, the value and, for an ambient population,
the hour band, and how the file's unit labels map to the observatory's units (zone ids, arrondissement or IRIS
codes). Every problem is listed at once with the profile file and the key, in French.
"""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from observatory.exposure.format import FLOW, KINDS, UNIT_TYPES, Kind

FORMATS = ("csv", "xlsx")
PERIODS = ("day", "month", "year")
ABSENT = ("missing", "zero")
_KEYS: dict[str, tuple[str, ...]] = {
    "series": ("name", "label", "kind", "source", "vintage", "unit_type", "categories", "sources", "absent", "note"),
    "file": ("format", "encoding", "delimiter", "decimal", "thousands", "sheet"),
    "columns": ("unit", "period", "period_format", "period_kind", "value", "hour_band"),
    "units": (),
}
_DEFAULT_FORMATS = {"day": "%d/%m/%Y", "month": "%m/%Y", "year": "%Y"}


class ExposureProfileError(ValueError):
    """A profile that cannot be used; the message names the file and lists every problem with its key."""


@dataclass(frozen=True)
class ExposureProfile:
    name: str
    label: str
    kind: str
    source: str
    vintage: str
    path: Path
    unit_type: str = "zone"
    categories: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    absent: str = "missing"
    note: str = ""
    format: str = ""
    encoding: str = "utf-8"
    delimiter: str = ","
    decimal: str = "."
    thousands: str = ""
    sheet: str = ""
    unit_column: str = ""
    period_column: str = ""
    period_format: str = ""
    period_kind: str = "month"
    value_column: str = ""
    hour_band_column: str | None = None
    units: dict[str, str] = field(default_factory=dict)

    @property
    def spec(self) -> Kind:
        return KINDS[self.kind]

    @property
    def effective_categories(self) -> tuple[str, ...]:
        """The incident categories this denominator fits: the profile's, else the kind's (empty = all)."""
        return self.categories or self.spec.categories

    def file_format(self, path: Path) -> str:
        if self.format:
            return self.format
        return "xlsx" if path.suffix.lower() in (".xlsx", ".xlsm") else "csv"

    @property
    def columns(self) -> list[str]:
        return [c for c in (self.unit_column, self.period_column, self.value_column, self.hour_band_column) if c]

    def as_meta(self) -> dict[str, Any]:
        """What the store keeps beside the values: rates need the definition, not the TOML file."""
        return {"name": self.name, "label": self.label, "kind": self.kind, "source": self.source, "vintage": self.vintage,
                "unit_type": self.unit_type, "categories": list(self.effective_categories), "sources": list(self.sources),
                "absent": self.absent, "note": self.note, "period_kind": self.period_kind}


def _suggest(key: str, allowed: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1)
    return f" (vouliez-vous dire « {close[0]} » ?)" if close else f" (clés possibles : {', '.join(allowed)})"


def load_exposure_profile(path: Path, known_categories: set[str] | None = None, known_sources: set[str] | None = None) -> ExposureProfile:
    """Read and validate a profile; :class:`ExposureProfileError` lists every problem at once."""
    name = path.name
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ExposureProfileError(f"{name} : profil d'exposition introuvable") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ExposureProfileError(f"{name} : fichier TOML illisible ({exc})") from None
    problems: list[str] = []

    for section, value in data.items():
        if section not in _KEYS:
            problems.append(f"[{section}] : section inconnue{_suggest(section, tuple(_KEYS))}")
        elif not isinstance(value, dict):
            problems.append(f"{section} : une section [{section}] est attendue")
        elif section != "units":
            problems.extend(f"[{section}] {key} : clé inconnue{_suggest(key, _KEYS[section])}" for key in value if key not in _KEYS[section])

    def text(section: str, key: str, required: bool = False, default: str = "") -> str:
        value = data.get(section, {}).get(key) if isinstance(data.get(section), dict) else None
        if value is None or value == "":
            if required:
                problems.append(f"[{section}] {key} : obligatoire")
            return default
        if isinstance(value, int) and not isinstance(value, bool) and key == "vintage":
            return str(value)  # vintage = 2021 is as good as "2021"
        if not isinstance(value, str):
            problems.append(f"[{section}] {key} : texte attendu, trouvé {value!r}")
            return default
        return value

    def choice(section: str, key: str, allowed: tuple[str, ...], default: str) -> str:
        value = text(section, key, default=default)
        if value not in allowed:
            problems.append(f"[{section}] {key} : « {value} » inconnu (possibles : {', '.join(allowed)})")
            return default
        return value

    def text_list(section: str, key: str, known: set[str] | None, what: str) -> tuple[str, ...]:
        value = data.get(section, {}).get(key, []) if isinstance(data.get(section), dict) else []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            problems.append(f"[{section}] {key} : liste de textes attendue (par exemple [\"a\", \"b\"]), trouvé {value!r}")
            return ()
        unknown = [v for v in value if known is not None and v not in known]
        if unknown:
            problems.append(f"[{section}] {key} : {what} : {', '.join(unknown)}")
        return tuple(value)

    kind = choice("series", "kind", tuple(KINDS), "entrees_piscine") if text("series", "kind", required=True) else "entrees_piscine"
    spec = KINDS[kind]
    unit_type = choice("series", "unit_type", UNIT_TYPES, spec.unit_types[0])
    if unit_type not in spec.unit_types:
        problems.append(f"[series] unit_type : « {unit_type} » ne convient pas à « {kind} » (possibles : {', '.join(spec.unit_types)})")
    absent = choice("series", "absent", ABSENT, "missing")
    if absent == "zero" and spec.measure != FLOW:
        problems.append(f"[series] absent : « zero » n'a de sens que pour un flux (entrées, validations), pas pour « {kind} »")
    period_kind = choice("columns", "period_kind", PERIODS, "month")
    hour_band = text("columns", "hour_band") or None
    if hour_band and not spec.hour_bands:
        problems.append(f"[columns] hour_band : les tranches horaires ne valent que pour population_presente, pas pour « {kind} »")

    units_raw = data.get("units", {})
    units: dict[str, str] = {}
    if isinstance(units_raw, dict):
        for label, unit in units_raw.items():
            if not isinstance(unit, str):
                problems.append(f"[units] « {label} » : identifiant d'unité (texte) attendu, trouvé {unit!r} (\"\" pour ignorer cette ligne)")
            else:
                units[str(label).strip()] = unit.strip()

    profile = ExposureProfile(
        name=text("series", "name", required=True, default=path.stem),
        label=text("series", "label", default=path.stem),
        kind=kind,
        source=text("series", "source", required=True),
        vintage=text("series", "vintage", required=True),
        path=path,
        unit_type=unit_type,
        categories=text_list("series", "categories", known_categories, "catégories inconnues de la nomenclature"),
        sources=text_list("series", "sources", known_sources, "sources inconnues (profils de data/raw/sources/)"),
        absent=absent,
        note=text("series", "note"),
        format=choice("file", "format", FORMATS + ("",), ""),
        encoding=text("file", "encoding", default="utf-8"),
        delimiter=text("file", "delimiter", default=","),
        decimal=text("file", "decimal", default="."),
        thousands=text("file", "thousands"),
        sheet=text("file", "sheet"),
        unit_column=text("columns", "unit", required=True),
        period_column=text("columns", "period", required=True),
        period_format=text("columns", "period_format", default=_DEFAULT_FORMATS[period_kind]),
        period_kind=period_kind,
        value_column=text("columns", "value", required=True),
        hour_band_column=hour_band,
        units=units,
    )
    if profile.decimal == profile.thousands and profile.decimal:
        problems.append("[file] thousands : le séparateur de milliers doit différer du séparateur décimal")
    if problems:
        raise ExposureProfileError(f"{name} : " + " ; ".join(problems))
    return profile
