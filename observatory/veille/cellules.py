"""The cellules de veille and what each follows, read from ``data/raw/reference/cellules_veille.csv``.

Format (UTF-8, comma-separated, one cellule per row)::

    cellule_id,name,units,families
    presquile,Cellule Presqu'île,arr:69382|zone:hypercentre,atteintes_biens|tranquillite
    piscines,Piscines d'été,zone:piscine_*,

``units``: ``|``-separated unit ids — ``ville``, ``arr:<INSEE code>``, ``zone:<zone_id>`` (a trailing ``*``
matches every id with that prefix). ``families``: ``|``-separated family codes of the nomenclature; empty =
every family. Without the file, one cellule ``toutes`` follows every unit and family.
"""

from __future__ import annotations

import csv
import fnmatch
from dataclasses import dataclass
from pathlib import Path

from observatory import schema
from observatory.veille.model import ALL_FAMILIES, VeilleError

CELLULES_FILE = "cellules_veille.csv"
ALL_CELLULE = "toutes"


@dataclass(frozen=True)
class Cellule:
    cellule_id: str
    name: str
    units: tuple[str, ...]  # patterns
    families: tuple[str, ...]  # empty = all

    def follows(self, unit_id: str, family: str) -> bool:
        unit_ok = any(fnmatch.fnmatchcase(unit_id, p) for p in self.units)
        fam_ok = not self.families or family in self.families or family == ALL_FAMILIES
        return unit_ok and fam_ok


def default_cellule() -> Cellule:
    return Cellule(ALL_CELLULE, "Toute la ville (tous périmètres)", ("*",), ())


def read_cellules(path: Path) -> list[Cellule]:
    """The cellules of ``path`` (the default one first); a clear French error naming the row otherwise."""
    out = [default_cellule()]
    if not path.exists():
        return out
    known = set(schema.families())
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise VeilleError(f"{path} : fichier illisible ({exc.__class__.__name__}) ; attendu un CSV UTF-8") from None
    for i, row in enumerate(rows, start=2):
        missing = [c for c in ("cellule_id", "name", "units") if not (row.get(c) or "").strip()]
        if missing:
            raise VeilleError(f"{path}, ligne {i} : colonne(s) {', '.join(missing)} vide(s) ou absente(s)")
        fams = tuple(f.strip() for f in (row.get("families") or "").split("|") if f.strip())
        bad = [f for f in fams if f not in known]
        if bad:
            raise VeilleError(f"{path}, ligne {i}, colonne families : famille(s) inconnue(s) {', '.join(bad)} ; possibles : {', '.join(sorted(known))}")
        units = tuple(u.strip() for u in row["units"].split("|") if u.strip())
        out.append(Cellule(row["cellule_id"].strip(), row["name"].strip(), units, fams))
    ids = [c.cellule_id for c in out]
    dupes = sorted({c for c in ids if ids.count(c) > 1})
    if dupes:
        raise VeilleError(f"{path} : identifiant(s) de cellule en double {', '.join(dupes)}")
    return out
