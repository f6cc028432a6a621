"""Survey profiles: how to read one survey institute's microdata (TOML, see ``data/raw/surveys/README.md``).

A profile names the design columns (respondent id, wave, weight, stratum, PSU), the residence columns
(arrondissement, QPV, hypercentre, quarter) and, per indicator, the question column, the answer codes counted as
« oui » (proportions) or read as numbers (means), the valid codes and the non-answer codes (« ne sait pas »,
refus → missing; any other code is an error naming the row), and optionally the sub-population it is asked of (``among``) and the recorded-crime
categories it matches (for the reporting rate). Every problem is listed at once with the profile file and key.
"""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from observatory.schema import categories

FORMATS = ("csv", "xlsx", "sav", "dta")
KINDS = ("proportion", "mean")
UNITS = ("individu", "menage")
REFERENCES = ("annee_precedente", "meme_annee")

_KEYS: dict[str, tuple[str, ...]] = {
    "survey": ("name", "label", "population", "adult_share", "persons_per_household", "reference"),
    "file": ("format", "encoding", "delimiter", "decimal", "sheet"),
    "design": ("id", "wave", "weight", "stratum", "psu"),
    "residence": ("arrondissement", "qpv", "hypercentre", "quarter"),
    "indicators": (),
}
_INDICATOR_KEYS = ("label", "question", "kind", "yes", "valid", "missing", "among", "categories", "unit", "short")


class SurveyProfileError(ValueError):
    """A profile that cannot be used; the message lists every problem with the file and the key."""


@dataclass(frozen=True)
class Indicator:
    code: str
    label: str
    question: str
    kind: str = "proportion"
    yes: tuple[str, ...] = ()
    valid: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    among: str | None = None
    categories: tuple[str, ...] = ()
    unit: str = "individu"
    short: str = ""

    @property
    def proportion(self) -> bool:
        return self.kind == "proportion"

    def as_dict(self) -> dict[str, Any]:
        """Every field, JSON-ready: tuples as lists (the store compares this with the profile it saved as JSON)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


@dataclass(frozen=True)
class SurveyProfile:
    name: str
    label: str
    path: Path
    population: str = "habitants"
    adult_share: float = 1.0
    persons_per_household: float = 1.9
    reference: str = "annee_precedente"
    format: str = ""
    encoding: str = "utf-8"
    delimiter: str = ","
    decimal: str = "."
    sheet: str = ""
    id: str = ""
    wave: str = ""
    weight: str = ""
    stratum: str | None = None
    psu: str | None = None
    arrondissement: str | None = None
    qpv: str | None = None
    hypercentre: str | None = None
    quarter: str | None = None
    indicators: tuple[Indicator, ...] = field(default_factory=tuple)

    def file_format(self, path: Path) -> str:
        if self.format:
            return self.format
        ext = path.suffix.lower().lstrip(".")
        return {"xls": "xlsx", "xlsx": "xlsx", "sav": "sav", "zsav": "sav", "dta": "dta"}.get(ext, "csv")

    @property
    def columns(self) -> list[str]:
        cols = [self.id, self.wave, self.weight, self.stratum, self.psu, self.arrondissement, self.qpv, self.hypercentre, self.quarter]
        cols += [i.question for i in self.indicators]
        return list(dict.fromkeys(c for c in cols if c))

    def as_dict(self) -> dict[str, Any]:
        """What the store keeps beside the respondents (estimation needs the definitions, not the TOML file)."""
        return {"name": self.name, "label": self.label, "population": self.population, "adult_share": self.adult_share,
                "persons_per_household": self.persons_per_household, "reference": self.reference,
                "indicators": [i.as_dict() for i in self.indicators]}


def _codes(value: Any) -> tuple[str, ...]:
    return tuple(_code_text(v) for v in value)


def _code_text(value: Any) -> str:
    """Answer codes compare as text: 1, 1.0 and "1" are the same code."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _suggest(key: str, allowed: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1)
    return f" (vouliez-vous dire « {close[0]} » ?)" if close else f" (clés possibles : {', '.join(allowed)})"


def load_survey_profile(path: Path) -> SurveyProfile:
    """Read and validate a survey profile; :class:`SurveyProfileError` lists every problem at once."""
    name = path.name
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SurveyProfileError(f"{name} : profil d'enquête introuvable") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SurveyProfileError(f"{name} : fichier TOML illisible ({exc})") from None
    problems: list[str] = []

    def text(section: str, key: str, required: bool = False) -> str | None:
        value = data.get(section, {}).get(key)
        if value is None or value == "":
            if required:
                problems.append(f"[{section}] {key} : obligatoire")
            return None
        if not isinstance(value, str):
            problems.append(f"[{section}] {key} : texte attendu, trouvé {value!r}")
            return None
        return value

    def number(section: str, key: str, default: float, low: float, high: float) -> float:
        value = data.get(section, {}).get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= float(value) <= high:
            problems.append(f"[{section}] {key} : nombre entre {low:g} et {high:g} attendu, trouvé {value!r}")
            return default
        return float(value)

    for section, value in data.items():
        if section not in _KEYS:
            problems.append(f"[{section}] : section inconnue{_suggest(section, tuple(_KEYS))}")
            continue
        if not isinstance(value, dict):
            problems.append(f"{section} : une section [{section}] est attendue")
            continue
        if section != "indicators":
            for key in value:
                if key not in _KEYS[section]:
                    problems.append(f"[{section}] {key} : clé inconnue{_suggest(key, _KEYS[section])}")

    fmt = text("file", "format") or ""
    if fmt and fmt not in FORMATS:
        problems.append(f"[file] format : « {fmt} » inconnu (possibles : {', '.join(FORMATS)})")
    reference = text("survey", "reference") or "annee_precedente"
    if reference not in REFERENCES:
        problems.append(f"[survey] reference : « {reference} » inconnu (possibles : {', '.join(REFERENCES)})")

    indicators: list[Indicator] = []
    raw_indicators = data.get("indicators", {})
    if not isinstance(raw_indicators, dict) or not raw_indicators:
        problems.append("[indicators] : au moins un indicateur est attendu ([indicators.CODE] avec question et label)")
        raw_indicators = {}
    known_categories = set(categories()) if raw_indicators else set()
    for code, spec in raw_indicators.items():
        where = f"[indicators.{code}]"
        if not isinstance(spec, dict):
            problems.append(f"{where} : une table est attendue")
            continue
        for key in spec:
            if key not in _INDICATOR_KEYS:
                problems.append(f"{where} {key} : clé inconnue{_suggest(key, _INDICATOR_KEYS)}")
        label, question, kind = spec.get("label"), spec.get("question"), spec.get("kind", "proportion")
        for key, value in (("label", label), ("question", question)):
            if not isinstance(value, str) or not value.strip():
                problems.append(f"{where} {key} : texte obligatoire, trouvé {value!r}")
        if kind not in KINDS:
            problems.append(f"{where} kind : « {kind} » inconnu (possibles : {', '.join(KINDS)})")
        lists = {}
        for key in ("yes", "valid", "missing", "categories"):
            value = spec.get(key, [])
            if not isinstance(value, list) or any(isinstance(v, (list, dict, bool)) for v in value):
                problems.append(f"{where} {key} : liste attendue (par exemple [1, 2]), trouvé {value!r}")
                value = []
            lists[key] = value
        yes, valid = _codes(lists["yes"]), _codes(lists["valid"])
        if kind == "proportion" and not yes:
            problems.append(f"{where} yes : les codes de réponse comptés « oui » sont obligatoires pour une proportion")
        if set(_codes(lists["missing"])) & set(valid):
            problems.append(f"{where} missing : un code ne peut être à la fois valide et non-réponse")
        if valid and not set(yes) <= set(valid):
            problems.append(f"{where} yes : les codes {sorted(set(yes) - set(valid))} ne sont pas dans valid")
        unknown = [c for c in lists["categories"] if str(c) not in known_categories]
        if unknown:
            problems.append(f"{where} categories : catégories inconnues de la nomenclature : {', '.join(map(str, unknown))}")
        unit = spec.get("unit", "individu")
        if unit not in UNITS:
            problems.append(f"{where} unit : « {unit} » inconnu (possibles : {', '.join(UNITS)})")
        among = spec.get("among")
        if among is not None and (not isinstance(among, str) or among not in raw_indicators or among == code):
            problems.append(f"{where} among : doit nommer un autre indicateur du profil, trouvé {among!r}")
        short = spec.get("short", "")
        if not isinstance(short, str):
            problems.append(f"{where} short : texte attendu, trouvé {short!r}")
            short = ""
        if isinstance(label, str) and isinstance(question, str) and kind in KINDS:
            indicators.append(Indicator(code=str(code), label=label, question=question, kind=kind, yes=yes, valid=valid, missing=_codes(lists["missing"]),
                                        among=among if isinstance(among, str) else None,
                                        categories=tuple(str(c) for c in lists["categories"]), unit=unit if unit in UNITS else "individu",
                                        short=short or label))

    profile = SurveyProfile(
        name=text("survey", "name", required=True) or path.stem,
        label=text("survey", "label") or path.stem,
        path=path,
        population=text("survey", "population") or "habitants",
        adult_share=number("survey", "adult_share", 1.0, 0.01, 1.0),
        persons_per_household=number("survey", "persons_per_household", 1.9, 1.0, 10.0),
        reference=reference,
        format=fmt,
        encoding=text("file", "encoding") or "utf-8",
        delimiter=text("file", "delimiter") or ",",
        decimal=text("file", "decimal") or ".",
        sheet=text("file", "sheet") or "",
        id=text("design", "id", required=True) or "",
        wave=text("design", "wave", required=True) or "",
        weight=text("design", "weight", required=True) or "",
        stratum=text("design", "stratum"),
        psu=text("design", "psu"),
        arrondissement=text("residence", "arrondissement"),
        qpv=text("residence", "qpv"),
        hypercentre=text("residence", "hypercentre"),
        quarter=text("residence", "quarter"),
        indicators=tuple(indicators),
    )
    if problems:
        raise SurveyProfileError(f"{name} : " + " ; ".join(problems))
    return profile
