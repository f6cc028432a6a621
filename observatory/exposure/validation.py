"""Read an exposure file (CSV or XLSX) into the canonical exposure table, or refuse it with every problem named.

A file with any invalid row is refused as a whole, each problem with its file, row and column: a denominator
with a silent hole would inflate a rate. Rows whose unit the profile maps to ``""`` (a station outside every
followed zone, say) are counted as ignored, never dropped silently: ``read = kept + ignored``.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from observatory import schema
from observatory.exposure.format import ALL_DAY, COLUMNS, band_length, hour_band_hours
from observatory.exposure.profiles import ExposureProfile

MAX_LISTED = 20
_IRIS = re.compile(r"6938[1-9]\d{4}")


class ExposureInputError(ValueError):
    """An exposure file that cannot be used; the message names the file, the rows and the columns."""


@dataclass(frozen=True)
class ReadResult:
    table: pd.DataFrame  # canonical columns (format.COLUMNS)
    read: int
    ignored: int


def read_raw(path: Path, profile: ExposureProfile) -> pd.DataFrame:
    """The file as text columns (empty cells as ""), whatever its format."""
    fmt = profile.file_format(path)
    try:
        if fmt == "xlsx":
            frame = pd.read_excel(path, sheet_name=profile.sheet or 0, dtype=object, engine="openpyxl")
            # A date Excel stored as a date reads as the profile's period format says (a month cell as 07/2025…).
            return frame.map(lambda v: v.strftime(profile.period_format) if isinstance(v, datetime) else _cell_text(v))
        return pd.read_csv(path, sep=profile.delimiter, encoding=profile.encoding, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise ExposureInputError(f"{path.name} : fichier introuvable") from None
    except UnicodeDecodeError as exc:
        raise ExposureInputError(f"{path.name} : encodage {profile.encoding} incorrect (octet {exc.start}) — corrigez [file] encoding du profil") from None
    except ValueError as exc:
        if fmt == "xlsx" and "Worksheet" in str(exc):
            raise ExposureInputError(f"{path.name} : feuille « {profile.sheet} » absente du classeur") from None
        raise ExposureInputError(f"{path.name} : fichier {fmt.upper()} illisible ({exc})") from None
    except Exception as exc:  # noqa: BLE001 - every reader's own error becomes one French message naming the file
        raise ExposureInputError(f"{path.name} : fichier {fmt.upper()} illisible ({type(exc).__name__} : {exc})") from None


def _cell_text(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _number(text: str, profile: ExposureProfile) -> float | None:
    t = text.strip().replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
    if profile.thousands:
        t = t.replace(profile.thousands, "")
    if profile.decimal != ".":
        t = t.replace(profile.decimal, ".")
    try:
        value = float(t)
    except ValueError:
        return None
    return value if np.isfinite(value) else None


def _period(text: str, profile: ExposureProfile) -> tuple[date, date] | None:
    """The period a cell names: a day, a month (first to last day) or a calendar year."""
    try:
        when = datetime.strptime(text.strip(), profile.period_format).date()
    except ValueError:
        return None
    if profile.period_kind == "day":
        return when, when
    if profile.period_kind == "month":
        return date(when.year, when.month, 1), date(when.year, when.month, calendar.monthrange(when.year, when.month)[1])
    return date(when.year, 1, 1), date(when.year, 12, 31)


def _unit_id(text: str, unit_type: str, known_zones: set[str] | None) -> str | None:
    """The observatory unit a label names, or None when it names none."""
    t = text.strip()
    if unit_type == "arrondissement":
        t = re.sub(r"\.0$", "", t)
        if re.fullmatch(r"[1-9]", t):
            t = "6938" + t
        return t if t in schema.ARRONDISSEMENT_CODES else None
    if unit_type == "iris":
        return t if _IRIS.fullmatch(t) else None
    return t if known_zones is None or t in known_zones else None


def _expected(unit_type: str) -> str:
    return {"arrondissement": "1 à 9 ou 69381 à 69389", "iris": "code IRIS à 9 chiffres, 69381xxxx à 69389xxxx",
            "zone": "identifiant de zone du référentiel (piscine_…, hypercentre, qpv_…)"}[unit_type]


def to_exposure(raw: pd.DataFrame, profile: ExposureProfile, file_name: str, known_zones: set[str] | None = None,
                first_row: int = 2) -> ReadResult:
    """Map and validate a raw file; :class:`ExposureInputError` lists every problem (file, row, column)."""
    raw = raw.rename(columns=lambda c: str(c).strip())
    missing = [c for c in profile.columns if c not in raw.columns]
    if missing:
        raise ExposureInputError(
            f"{file_name} : colonnes absentes : {', '.join(missing)} (colonnes du fichier : {', '.join(map(str, raw.columns[:30]))})")
    if raw.empty:
        raise ExposureInputError(f"{file_name} : aucune ligne de données")
    problems: list[tuple[int, str, str]] = []
    rows: list[dict] = []
    ignored = 0
    for i, rec in enumerate(raw[profile.columns].astype(str).itertuples(index=False, name=None)):
        line = i + first_row
        cells = dict(zip(profile.columns, rec))
        label = cells[profile.unit_column].strip()
        bad = False
        if not label:
            problems.append((line, profile.unit_column, "unité manquante"))
            continue
        if profile.units:
            if label not in profile.units:
                problems.append((line, profile.unit_column, f"unité « {label} » absente de la section [units] du profil "
                                 "(ajoutez-la, avec \"\" pour l'ignorer délibérément)"))
                continue
            target = profile.units[label]
            if target == "":
                ignored += 1
                continue
        else:
            target = label
        unit = _unit_id(target, profile.unit_type, known_zones)
        if unit is None:
            problems.append((line, profile.unit_column, f"unité « {target} » inconnue (attendu : {_expected(profile.unit_type)})"))
            bad = True
        period = _period(cells[profile.period_column], profile)
        if period is None:
            problems.append((line, profile.period_column, f"période « {cells[profile.period_column]} » illisible "
                             f"(format attendu {profile.period_format}, par exemple {date(2025, 7, 14).strftime(profile.period_format)})"))
            bad = True
        value = _number(cells[profile.value_column], profile)
        if value is None:
            problems.append((line, profile.value_column, f"valeur « {cells[profile.value_column]} » illisible (nombre attendu)"))
            bad = True
        elif value < 0:
            problems.append((line, profile.value_column, f"valeur « {cells[profile.value_column]} » négative"))
            bad = True
        band = ALL_DAY
        if profile.hour_band_column:
            band = cells[profile.hour_band_column].strip().replace("h", "").replace(" ", "") or ALL_DAY
            if hour_band_hours(band) is None:
                problems.append((line, profile.hour_band_column, f"tranche horaire « {cells[profile.hour_band_column]} » illisible (attendu par exemple 07-19)"))
                bad = True
        if not bad:
            rows.append({"series": profile.name, "kind": profile.kind, "unit_type": profile.unit_type, "unit": unit, "detail": label,
                         "period_start": period[0], "period_end": period[1], "hour_band": band, "value": float(value), "source_row": line})
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    if len(table):
        dup = table.duplicated(["unit", "detail", "period_start", "hour_band"], keep="first")
        for r in table[dup].itertuples():
            problems.append((int(r.source_row), profile.period_column, f"ligne en double : « {r.detail} », même période et même tranche qu'une ligne précédente"))
        if profile.hour_band_column:
            single = table[~dup]
            hours = single.assign(h=single["hour_band"].map(band_length)).groupby(["unit", "detail", "period_start"])["h"].sum()
            over = single.merge(hours[hours > 24].reset_index()[["unit", "detail", "period_start"]], on=["unit", "detail", "period_start"])
            for r in over.drop_duplicates(["unit", "detail", "period_start"], keep="last").itertuples():
                problems.append((int(r.source_row), profile.hour_band_column,
                                 f"tranches horaires de « {r.detail} » qui se recouvrent (plus de 24 heures pour la même période)"))
    if problems:
        problems.sort()
        listed = "\n".join(f"  ligne {row}, colonne « {col} » : {msg}" for row, col, msg in problems[:MAX_LISTED])
        more = f"\n  … et {len(problems) - MAX_LISTED} autres problèmes" if len(problems) > MAX_LISTED else ""
        raise ExposureInputError(f"{file_name} : {len(problems)} problème(s), fichier refusé (un dénominateur incomplet fausserait les taux) :\n{listed}{more}")
    if table.empty:
        raise ExposureInputError(f"{file_name} : toutes les lignes ({ignored}) sont ignorées par la section [units] du profil ; rien à importer")
    table["period_start"] = pd.to_datetime(table["period_start"]).dt.date
    table["period_end"] = pd.to_datetime(table["period_end"]).dt.date
    return ReadResult(table.reset_index(drop=True), read=len(raw), ignored=ignored)


def read_exposure_file(path: Path, profile: ExposureProfile, known_zones: set[str] | None = None) -> ReadResult:
    return to_exposure(read_raw(path, profile), profile, path.name, known_zones)
