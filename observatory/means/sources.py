"""Partner sources of *aggregated* monthly counts: MJD measures, victim support, elucidation figures.

Why not the incident store: one incident row is one recorded fact, and every count, hot spot, trend and
publication of the observatory sums those rows. A line « 12 rappels à l'ordre in the 3e in March » is not
12 facts of delinquency: stored as incidents it would inflate every total and no place has its point. So these
sources have their own profiles (``data/raw/sources/agregats/*.toml``, format in ``data/raw/sources/README.md``),
are read by the ETL's own reader (:func:`observatory.etl.read.read_file`: strict encodings, header detection,
Excel), mapped and validated here (pure), and published by :mod:`observatory.means.store` as their own Parquet
table under ``data/processed/agregats/`` with the same discipline as snapshots (atomic publish, manifest with
``read = accepted + quarantined`` per file, latest extract wins, same file twice changes nothing).

Each accepted row is a *cell*: (source, indicator, category, arrondissement, month) → count. ``indicator`` is a
code of the response nomenclature (``observatory/data/response_indicators.csv``); ``category`` an incident
category of the observatory nomenclature when the partner breaks the count down by kind of fact (victims
received, facts elucidated), else ``""``. A category marked sensitive there stays sensitive here.
"""

from __future__ import annotations

import csv
import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from observatory import schema
from observatory.config import Settings
from observatory.means.register import normalise_arrondissement

AGGREGATES_SUBDIR = "agregats"
CITY_WORDS = {"lyon", "ville", "commune", "69123", "total", "lyon_(ville)"}
CELL_COLUMNS = ["source", "indicator", "category", "arrondissement", "month", "count", "source_file", "source_row", "extracted_at"]


class AggregateProfileError(ValueError):
    """An aggregate profile that cannot be used; the message names the file and the key."""


# Response nomenclature ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ResponseIndicator:
    code: str
    label: str
    domain: str  # mjd, aide_victimes, elucidation
    measure: bool  # a measure answering facts: counts in the response rate
    categories: tuple[str, ...]  # incident categories a measure answers (its response-rate denominator)


@lru_cache(maxsize=1)
def response_indicators() -> dict[str, ResponseIndicator]:
    """The response nomenclature by code (checked against the incident nomenclature by the tests)."""
    text = resources.files("observatory.data").joinpath("response_indicators.csv").read_text(encoding="utf-8")
    out = {}
    for r in csv.DictReader(text.splitlines()):
        cats = tuple(c for c in (r["categories"] or "").split("|") if c)
        out[r["code"]] = ResponseIndicator(r["code"], r["label"], r["domain"], r["measure"].strip().lower() == "true", cats)
    return out


def response_nomenclature_problems() -> list[str]:
    known = schema.categories()
    problems = []
    for ind in response_indicators().values():
        for c in ind.categories:
            if c not in known:
                problems.append(f"indicator {ind.code}: unknown incident category {c!r}")
        if ind.measure and not ind.categories:
            problems.append(f"indicator {ind.code}: a measure needs the categories it answers")
    return problems


# Profiles -----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AggregateProfile:
    name: str
    label: str
    path: Path
    format: str
    encoding: str
    fallback_encoding: str | None
    delimiter: str
    decimal: str
    header_row: int | str
    sheet: str
    period_column: str
    period_format: str  # strptime format of a month ('%m/%Y', '%Y-%m') or 'excel'
    arrondissement_column: str
    count_column: str
    indicator_column: str | None = None
    indicator_value: str | None = None  # every row is this indicator
    indicator_labels: dict[str, str] = field(default_factory=dict)
    category_column: str | None = None
    category_labels: dict[str, str] = field(default_factory=dict)
    filename_pattern: str | None = None

    @property
    def required_columns(self) -> list[str]:
        cols = [self.period_column, self.arrondissement_column, self.indicator_column, self.category_column, self.count_column]
        return [c for c in dict.fromkeys(cols) if c]

    def reader_profile(self):  # noqa: ANN201 - observatory.etl.profile.Profile
        """The same file description as the ETL reader expects it (the reader only needs how to parse the file)."""
        from observatory.etl.profile import Profile

        return Profile(
            name=self.name, label=self.label, path=self.path, format=self.format, encoding=self.encoding,
            fallback_encoding=self.fallback_encoding, delimiter=self.delimiter, decimal=self.decimal,
            header_row=self.header_row, sheet=self.sheet, build_from=tuple(self.required_columns),
            time_column=self.period_column, time_format="%d/%m/%Y" if self.period_format == "excel" else self.period_format,
        )


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode().lower().strip()
    return re.sub(r"\s+", " ", text)


def _read_label_table(path: Path, value_column: str, known: set[str], where: str) -> dict[str, str]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise AggregateProfileError(f"{where}: table des libellés {path.name} introuvable") from None
    reader = csv.DictReader(text.splitlines())
    if reader.fieldnames is None or not {"label", value_column} <= set(reader.fieldnames):
        raise AggregateProfileError(f"{path.name}: colonnes attendues label,{value_column}")
    out = {}
    for i, row in enumerate(reader, start=2):
        label, value = (row.get("label") or "").strip(), (row.get(value_column) or "").strip()
        if not label:
            continue
        if value not in known:
            raise AggregateProfileError(f"{path.name}, ligne {i}, colonne {value_column} : code inconnu {value!r}")
        out[label] = value
    return out


def aggregate_profiles_dir(settings: Settings) -> Path:
    return settings.sources_dir / AGGREGATES_SUBDIR


def load_aggregate_profile_file(path: Path) -> AggregateProfile:
    where = str(path.name)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AggregateProfileError(f"{where}: profil introuvable") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise AggregateProfileError(f"{where}: TOML invalide ({exc})") from None
    src, fil, per, loc, col, lab, ext = (data.get(n, {}) for n in ("source", "file", "period", "location", "columns", "labels", "extraction"))
    fmt = str(fil.get("format", "csv")).lower()
    if fmt not in ("csv", "xlsx"):
        raise AggregateProfileError(f"{where}: [file] format = {fmt!r} ; attendu csv ou xlsx")
    header = fil.get("header_row", 1)
    if not (header == "auto" or (isinstance(header, int) and header >= 1)):
        raise AggregateProfileError(f"{where}: [file] header_row doit être un entier ≥ 1 ou \"auto\"")
    if not per.get("column") or not per.get("format"):
        raise AggregateProfileError(f"{where}: [period] column et format sont requis")
    if not loc.get("arrondissement"):
        raise AggregateProfileError(f"{where}: [location] arrondissement est requis (colonne du code ou du nom d'arrondissement)")
    if not col.get("count"):
        raise AggregateProfileError(f"{where}: [columns] count est requis (colonne du nombre)")
    indicators = response_indicators()
    ind_col, ind_value = col.get("indicator") or None, col.get("indicator_value") or None
    if bool(ind_col) == bool(ind_value):
        raise AggregateProfileError(f"{where}: [columns] indiquer soit indicator (colonne de libellés), soit indicator_value (un code)")
    if ind_value and ind_value not in indicators:
        raise AggregateProfileError(f"{where}: [columns] indicator_value = {ind_value!r} inconnu ; codes : {', '.join(indicators)}")
    ind_labels = {}
    if ind_col:
        if not lab.get("indicators"):
            raise AggregateProfileError(f"{where}: [labels] indicators est requis avec [columns] indicator")
        ind_labels = _read_label_table(path.parent / lab["indicators"], "indicator", set(indicators), where)
    cat_col = col.get("category") or None
    cat_labels = {}
    if cat_col:
        if not lab.get("categories"):
            raise AggregateProfileError(f"{where}: [labels] categories est requis avec [columns] category")
        cat_labels = _read_label_table(path.parent / lab["categories"], "category", set(schema.categories()), where)
    pattern = ext.get("filename_pattern") or None
    if pattern:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise AggregateProfileError(f"{where}: filename_pattern invalide ({exc})") from None
    return AggregateProfile(
        name=str(src.get("name") or path.stem), label=str(src.get("label") or path.stem), path=path, format=fmt,
        encoding=str(fil.get("encoding", "utf-8")), fallback_encoding=fil.get("fallback_encoding") or None,
        delimiter=str(fil.get("delimiter", ",")), decimal=str(fil.get("decimal", ".")), header_row=header,
        sheet=str(fil.get("sheet", "") or ""), period_column=str(per["column"]), period_format=str(per["format"]),
        arrondissement_column=str(loc["arrondissement"]), count_column=str(col["count"]), indicator_column=ind_col,
        indicator_value=ind_value, indicator_labels=ind_labels, category_column=cat_col, category_labels=cat_labels,
        filename_pattern=pattern,
    )


def load_aggregate_profile(settings: Settings, name_or_path: str | Path) -> AggregateProfile:
    p = Path(name_or_path)
    if p.suffix == ".toml" and p.exists():
        return load_aggregate_profile_file(p)
    folder = aggregate_profiles_dir(settings)
    path = folder / f"{name_or_path}.toml"
    if not path.exists():
        known = sorted(q.stem for q in folder.glob("*.toml")) if folder.exists() else []
        raise AggregateProfileError(f"source agrégée inconnue {str(name_or_path)!r} : aucun profil {path.name} dans {folder} (connues : {', '.join(known) or 'aucune'})")
    return load_aggregate_profile_file(path)


def aggregate_source_names(settings: Settings) -> list[str]:
    folder = aggregate_profiles_dir(settings)
    return sorted(p.stem for p in folder.glob("*.toml")) if folder.exists() else []


# Mapping (pure) -----------------------------------------------------------------------------------------------------
def _parse_month(text: str, fmt: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    if fmt == "excel":
        try:
            serial = float(text.replace(",", "."))
        except ValueError:
            serial = None
        if serial is not None:
            day = (pd.Timestamp("1899-12-30") + pd.Timedelta(days=serial)).date()
            return day.replace(day=1)
        fmt = "%d/%m/%Y"  # the reader writes a date-formatted cell as text
    try:
        return datetime.strptime(text, fmt).date().replace(day=1)
    except ValueError:
        return None


def _parse_count(text: str, decimal: str) -> int | None:
    cleaned = text.strip().replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
    if decimal == ",":
        cleaned = cleaned.replace(".", "") if re.fullmatch(r"\d{1,3}(\.\d{3})+", cleaned) else cleaned.replace(",", ".")
    try:
        value = float(cleaned)
    except ValueError:
        return None
    if not np.isfinite(value) or value < 0 or not value.is_integer():
        return None
    return int(value)


def _label_lookup(labels: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    return labels, {_fold(k): v for k, v in labels.items()}


def map_rows(rows: pd.DataFrame, lines: np.ndarray, profile: AggregateProfile, file_name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Text rows of one file → (cells, quarantine). Pure; every input row ends in exactly one of the two.

    Quarantine columns: file, row (line as an editor shows it), column, reason, original (the row as text).
    A category label nobody mapped becomes ``non_classe`` (kept, reported), as for incidents; an indicator label
    nobody mapped is quarantined (the count cannot be placed in any table).
    """
    exact_i, folded_i = _label_lookup(profile.indicator_labels)
    exact_c, folded_c = _label_lookup(profile.category_labels)
    cells, bad = [], []
    seen: dict[tuple, int] = {}
    for rec, line in zip(rows.to_dict("records"), lines):
        line = int(line)

        def quarantine(column: str, reason: str) -> None:
            original = "; ".join(f"{k}={v}" for k, v in rec.items() if v not in (None, ""))
            bad.append({"file": file_name, "row": line, "column": column, "reason": reason, "original": original})

        text = {k: "" if v is None else str(v).strip() for k, v in rec.items()}
        month = _parse_month(text.get(profile.period_column, ""), profile.period_format)
        if month is None:
            quarantine(profile.period_column, f"mois « {text.get(profile.period_column, '')} » illisible (format attendu {profile.period_format})")
            continue
        arr_text = text.get(profile.arrondissement_column, "")
        if _fold(arr_text).replace(" ", "_") in CITY_WORDS:
            arrondissement = schema.CITY_CODE
        else:
            arrondissement = normalise_arrondissement(arr_text)
        if arrondissement is None:
            quarantine(profile.arrondissement_column, f"arrondissement « {arr_text} » inconnu (ex. 69383, 3e, Lyon 3 ; « Lyon » pour la ville entière)")
            continue
        if profile.indicator_value:
            indicator = profile.indicator_value
        else:
            label = text.get(profile.indicator_column, "")
            indicator = exact_i.get(label) or folded_i.get(_fold(label))
            if indicator is None:
                quarantine(profile.indicator_column, f"libellé « {label} » absent de la table des indicateurs du profil")
                continue
        category = ""
        if profile.category_column:
            label = text.get(profile.category_column, "")
            category = exact_c.get(label) or folded_c.get(_fold(label)) or schema.NON_CLASSE
        count = _parse_count(text.get(profile.count_column, ""), profile.decimal)
        if count is None:
            quarantine(profile.count_column, f"nombre « {text.get(profile.count_column, '')} » invalide (un entier positif ou nul)")
            continue
        key = (indicator, category, arrondissement, month)
        if key in seen:
            quarantine(profile.count_column, f"cellule en double : même mois, arrondissement et indicateur que la ligne {seen[key]}")
            continue
        seen[key] = line
        cells.append({"source": profile.name, "indicator": indicator, "category": category, "arrondissement": arrondissement,
                      "month": pd.Timestamp(month), "count": count, "source_file": file_name, "source_row": line, "raw_category": text.get(profile.category_column or "", "")})
    cell_frame = pd.DataFrame(cells, columns=[c for c in CELL_COLUMNS if c != "extracted_at"] + ["raw_category"])
    cell_frame["count"] = cell_frame["count"].astype("int64")
    cell_frame["month"] = pd.to_datetime(cell_frame["month"])
    return cell_frame, pd.DataFrame(bad, columns=["file", "row", "column", "reason", "original"])


def extraction_date(path: Path, profile: AggregateProfile, fallback: datetime) -> datetime:
    """The extract's date from its file name (``filename_pattern`` groups year, month[, day]); else ``fallback``."""
    if profile.filename_pattern:
        m = re.search(profile.filename_pattern, path.name)
        if m:
            groups = [int(g) for g in m.groups() if g]
            try:
                return datetime(groups[0], groups[1] if len(groups) > 1 else 1, groups[2] if len(groups) > 2 else 1)
            except (ValueError, IndexError):
                pass
    return fallback
