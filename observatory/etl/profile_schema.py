"""The schema of a source profile: sections, keys, their types and allowed values.

Validation lists every problem at once (file, ``[section] key``, what is wrong, a « vouliez-vous dire » for a
typo) instead of stopping at the first one: a partner's profile is written by hand, often by someone new to it.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any

from observatory.schema import TIME_PRECISIONS

STR, INT, BOOL, STR_LIST = "texte", "entier", "booléen (true ou false)", "liste de textes"
WITHIN_FILE_RULES = ("last_located", "last")


@dataclass(frozen=True)
class Key:
    kind: str | tuple[str, ...]  # one of STR, INT, BOOL, STR_LIST, or several
    choices: tuple[str, ...] = ()  # allowed values (compared lower-case) for text keys
    regex: bool = False  # must compile as a regular expression


SCHEMA: dict[str, dict[str, Key]] = {
    "source": {"name": Key(STR), "label": Key(STR)},
    "file": {
        "format": Key(STR, ("csv", "xlsx")), "encoding": Key(STR), "fallback_encoding": Key(STR), "delimiter": Key(STR),
        "decimal": Key(STR, (".", ",")), "header_row": Key((INT, STR)), "sheet": Key(STR),
    },
    "id": {
        "column": Key(STR), "build_from": Key(STR_LIST), "prefix_from_filename": Key(STR, regex=True),
        "number_identical_rows": Key(BOOL), "within_file": Key(STR, WITHIN_FILE_RULES),
    },
    "time": {
        "column": Key(STR), "format": Key(STR), "time_column": Key(STR), "time_format": Key(STR),
        "precision": Key(STR, TIME_PRECISIONS), "timezone": Key(STR),
    },
    "location": {
        "crs": Key(STR), "x": Key(STR), "y": Key(STR), "arrondissement": Key(STR), "address": Key(STR), "place_name": Key(STR),
        "site": Key(STR), "site_kind": Key(STR), "quarter": Key(STR),
    },
    "columns": {"label": Key(STR), "place_type": Key(STR), "n_facts": Key(STR)},
    "labels": {"file": Key(STR)},
    "extraction": {"filename_pattern": Key(STR, regex=True)},
}
REQUIRED = (("time", "column"), ("time", "format"), ("columns", "label"))

_TOML_TYPES = {str: STR, int: INT, bool: BOOL, float: "nombre décimal", list: "liste", dict: "section"}


def _type_name(value: Any) -> str:
    return next((name for t, name in _TOML_TYPES.items() if type(value) is t), type(value).__name__)


def _shown(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else f'"{value}"'
    return text if len(text) <= 60 else text[:59] + "…"


def _suggest(word: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return f" ; vouliez-vous dire « {close[0]} » ?" if close else ""


def _check_type(value: Any, key: Key) -> bool:
    kinds = key.kind if isinstance(key.kind, tuple) else (key.kind,)
    for kind in kinds:
        if kind == STR and isinstance(value, str):
            return True
        if kind == INT and isinstance(value, int) and not isinstance(value, bool):
            return True
        if kind == BOOL and isinstance(value, bool):
            return True
        if kind == STR_LIST and isinstance(value, list) and all(isinstance(v, str) for v in value):
            return True
    return False


def schema_problems(data: dict) -> list[str]:
    """Every problem of a parsed profile, each naming ``[section] key`` (empty list: the profile is well formed)."""
    problems: list[str] = []
    sections = list(SCHEMA)
    all_keys = {k: s for s, keys in SCHEMA.items() for k in keys}
    for section, body in data.items():
        if section not in SCHEMA:
            hint = _suggest(section, sections)
            if not hint and section in all_keys:
                hint = f" ; « {section} » est une clé de la section [{all_keys[section]}]"
            problems.append(f"section [{section}] inconnue (sections : {', '.join(sections)}){hint}")
            continue
        if not isinstance(body, dict):
            problems.append(f"[{section}] doit être une section (« [{section}] » sur sa propre ligne), pas {_type_name(body)} {_shown(body)}")
            continue
        for name, value in body.items():
            spec = SCHEMA[section].get(name)
            if spec is None:
                hint = _suggest(name, list(SCHEMA[section]))
                if not hint:
                    elsewhere = [s for s, keys in SCHEMA.items() if name in keys]
                    hint = f" ; cette clé appartient à la section [{elsewhere[0]}]" if elsewhere else ""
                problems.append(f"[{section}] {name} : clé inconnue (clés de [{section}] : {', '.join(SCHEMA[section])}){hint}")
                continue
            if not _check_type(value, spec):
                kinds = spec.kind if isinstance(spec.kind, tuple) else (spec.kind,)
                extra = ""
                if STR_LIST in kinds and isinstance(value, str):
                    extra = f' ; écrivez une liste : build_from = ["{value}"]'
                problems.append(f"[{section}] {name} = {_shown(value)} : {' ou '.join(kinds)} attendu, {_type_name(value)} trouvé{extra}")
                continue
            if spec.choices and isinstance(value, str) and value.lower() not in spec.choices:
                problems.append(f"[{section}] {name} = {_shown(value)} : valeur inconnue (attendu : {', '.join(spec.choices)}){_suggest(value.lower(), list(spec.choices))}")
            if spec.regex and isinstance(value, str):
                try:
                    re.compile(value)
                except re.error as exc:
                    problems.append(f"[{section}] {name} n'est pas une expression régulière valide ({exc})")
    for section, name in REQUIRED:
        body = data.get(section)
        if isinstance(body, dict) and name not in body or body is None:
            problems.append(f"[{section}] {name} est requis")
        elif isinstance(body, dict) and isinstance(body[name], str) and not body[name].strip():
            problems.append(f"[{section}] {name} est vide : un nom de colonne ou un format est requis")
    return problems


def precision_problems(fmt: str, precision: str | None, has_clock: bool) -> list[str]:
    """``precision`` must agree with what ``format`` can say (a month-only format cannot claim days)."""
    if fmt == "excel":
        return []  # a serial date carries the day; whether it has a time is decided per row
    has_day = bool(re.search(r"%[djFDcx]", fmt))
    has_hour = bool(re.search(r"%[HIkTRcX]", fmt)) or has_clock
    has_month = bool(re.search(r"%[mbBhFDcxj]", fmt))
    out = []
    if precision is None:
        if not has_day and has_month:
            out.append(f'[time] precision : le format « {fmt} » ne donne pas le jour ; ajoutez precision = "month"')
        return out
    if precision in ("day", "hour") and not has_day:
        out.append(f'[time] precision = "{precision}" : le format « {fmt} » ne donne pas le jour ; mettez precision = "month"')
    elif precision == "hour" and not has_hour:
        out.append(f'[time] precision = "hour" : le format « {fmt} » ne donne pas l\'heure (et pas de time_column) ; mettez precision = "day"')
    return out
