"""Official recorded-crime statistics (SSMSI communal base) beside the observatory's own figures.

Writers: :func:`fetch_official` (data.gouv.fr dataset API → ``settings.official_dir``), :func:`import_official`
(CSV/CSV.gz of any edition → Parquet under ``settings.processed_dir / "official"`` with a manifest).
Readers (dashboard, report, notebooks): :func:`read_official`, :func:`official_manifest`,
:func:`edition_info`, :func:`report_summary`, :func:`comparison`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from observatory import schema
from observatory.config import Settings
from observatory.official import indicators
from observatory.official import model as m
from observatory.official.compare import DIFFERENCE_NOTE, observatory_indicator_counts, official_vs_observatory
from observatory.official.fetch import FetchResult, cached_files, commune_resource, fetch_official
from observatory.official.indicators import INDICATORS, Indicator, indicator_code, indicator_label, rate_unit
from observatory.official.model import LYON_CODES, OFFICIAL_COLUMNS, OfficialError
from observatory.official.reader import normalize_official, read_ssmsi_file
from observatory.official.storage import (
    edition_info,
    editions,
    file_sha256,
    iso_date,
    now_iso,
    official_store_dir,
    read_manifest,
    read_official,
    write_edition,
)

SOURCE_NAME = "SSMSI, base statistique communale de la délinquance enregistrée par la police et la gendarmerie nationales"


@dataclass
class ImportResult:
    edition: int
    rows_read: int
    rows: int
    codes: list[str]
    years: tuple[int, int] | None
    ndiff_rows: int
    rate_checked: int
    rate_mismatches: int
    production_date: str | None
    production_date_origin: str
    parquet: Path
    warnings: list[str] = field(default_factory=list)


def _production_date(path: Path, given: date | str | None) -> tuple[str | None, str]:
    if given is not None:
        return iso_date(given), "indiquée à l'import"
    sidecar = path.with_name(path.name + ".json")
    if sidecar.exists():
        try:
            meta = json.loads(sidecar.read_text(encoding="utf-8"))
            if meta.get("production_date"):
                return iso_date(meta["production_date"]), "data.gouv.fr (date de mise à jour de la ressource)"
        except (OSError, json.JSONDecodeError):
            pass
    return iso_date(datetime.fromtimestamp(path.stat().st_mtime)), "date de modification du fichier"


def import_official(
    settings: Settings,
    path: Path,
    communes: Iterable[str] | None = LYON_CODES,
    production_date: date | str | None = None,
) -> ImportResult:
    """Import one SSMSI communal file (CSV or CSV.gz, any edition) and store it as that edition's Parquet.

    ``communes`` are the INSEE codes kept (default: Lyon 69123 and its arrondissements; None = all). Raises
    :class:`OfficialError` (one French line naming file, line and column) and stores nothing on bad input.
    """
    path = Path(path)
    raw = read_ssmsi_file(path, communes)
    result = normalize_official(raw.frame, raw.edition, path.name)
    frame = result.frame
    wanted = None if communes is None else sorted({str(c).strip() for c in communes})
    warnings = list(result.warnings)
    if wanted is not None:
        absent = [c for c in wanted if c not in set(frame[m.CODE])]
        if absent and len(absent) == len(wanted):
            raise OfficialError(f"{path.name} : aucune ligne pour {', '.join(absent)} sur {raw.rows_read} lignes lues — rien n'est importé")
        if absent:
            warnings.append(f"code(s) absent(s) du fichier : {', '.join(absent)}")
    prod, origin = _production_date(path, production_date)
    years = (int(frame[m.YEAR].min()), int(frame[m.YEAR].max())) if len(frame) else None
    entry = {
        "edition": raw.edition,
        "geo_column": raw.geo_column,
        "production_date": prod,
        "production_date_origin": origin,
        "rows": int(len(frame)),
        "rows_read": raw.rows_read,
        "rows_other_communes": raw.rows_read - int(len(frame)),
        "source_file": path.name,
        "sha256": file_sha256(path),
        "encoding": raw.encoding,
        "imported_at": now_iso(),
        "communes": int(frame[m.CODE].nunique()),
        # A national import keeps tens of thousands of codes: list them only when they are few.
        "codes": sorted(set(frame[m.CODE])) if frame[m.CODE].nunique() <= 100 else None,
        "years": list(years) if years else None,
        "ndiff_rows": result.ndiff_rows,
        "rate_checked": result.rate_checked,
        "rate_mismatches": result.rate_mismatches,
        "unknown_labels": result.unknown_labels,
        "warnings": warnings,
    }
    parquet = write_edition(settings, frame, entry)
    return ImportResult(
        edition=raw.edition, rows_read=raw.rows_read, rows=len(frame), codes=sorted(set(frame[m.CODE])), years=years,
        ndiff_rows=result.ndiff_rows, rate_checked=result.rate_checked, rate_mismatches=result.rate_mismatches,
        production_date=prod, production_date_origin=origin, parquet=parquet, warnings=warnings,
    )


def official_manifest(settings: Settings) -> dict[str, Any]:
    """The manifest of imported editions (see ``storage.read_manifest``)."""
    return read_manifest(settings)


def is_demo_edition(info: dict[str, Any] | None) -> bool:
    """True for the fictitious edition the demo installs (``observatory.demo.official``): it must say so."""
    return bool(info) and str(info.get("source_file", "")).startswith("demo-fictive-ssmsi")


def source_citation(info: dict[str, Any] | None) -> str:
    """French citation of an edition, e.g. for a figure caption or the report."""
    if not info:
        return SOURCE_NAME
    if is_demo_edition(info):
        return (f"Édition de démonstration {info['edition']} — fictive : chiffres inventés à partir des données de démonstration "
                "de l'observatoire, au format du SSMSI ; ce ne sont pas des statistiques publiées")
    prod = info.get("production_date")
    when = f", produite le {datetime.strptime(prod, '%Y-%m-%d').strftime('%d/%m/%Y')}" if prod else ""
    return f"{SOURCE_NAME}, édition {info['edition']}{when} (data.gouv.fr, Licence Ouverte 2.0)"


def report_summary(settings: Settings, year: int, code: str = schema.CITY_CODE, edition: int | None = None) -> list[dict[str, Any]]:
    """Official figures of one territory and year, one dict per indicator, for the yearly report's summary.

    Keys: ``indicator`` (stable code), ``label`` (French), ``count`` (int or None when not diffused),
    ``rate`` (float per mille or None), ``rate_unit`` ("pour 1 000 habitants" / "pour 1 000 logements"),
    ``previous_count`` (year - 1, or None), ``diffused`` (bool), ``unit`` (unité de compte), ``year``,
    ``code``, ``edition``, ``production_date`` (ISO or None), ``source`` (French citation).
    Empty list when nothing is imported or the year is not in the newest edition.
    """
    info = edition_info(settings, edition)
    if info is None:
        return []
    frame = read_official(settings, edition=info["edition"], codes=[code], years=[year, year - 1])
    current = frame.loc[frame[m.YEAR] == year]
    previous = frame.loc[frame[m.YEAR] == year - 1].set_index(m.INDICATOR)[m.COUNT]
    citation = source_citation(info)
    out: list[dict[str, Any]] = []
    for row in current.itertuples(index=False):
        row = row._asdict()
        prev = previous.get(row[m.INDICATOR], pd.NA)
        out.append(
            {
                "indicator": row[m.INDICATOR],
                "label": row[m.INDICATOR_LABEL],
                "count": None if pd.isna(row[m.COUNT]) else int(row[m.COUNT]),
                "rate": None if pd.isna(row[m.RATE]) else float(row[m.RATE]),
                "rate_unit": rate_unit(row[m.INDICATOR]),
                "previous_count": None if pd.isna(prev) else int(prev),
                "diffused": bool(row[m.DIFFUSED]),
                "unit": None if pd.isna(row[m.UNIT]) else str(row[m.UNIT]),
                "year": int(year),
                "code": str(code),
                "edition": int(info["edition"]),
                "production_date": info.get("production_date"),
                "source": citation,
            }
        )
    return out


def observatory_counts(settings: Settings, years: Iterable[int] | None = None) -> pd.DataFrame | None:
    """Observatory counts per (year, arrondissement, category) from the current snapshot, or None without one.

    Goes through ``observatory.analytics``; the comparison itself is the pure :func:`official_vs_observatory`.
    """
    from observatory.official.observatory_side import counts_by_year_arrondissement_category

    return counts_by_year_arrondissement_category(settings, years)


def comparison(settings: Settings, codes: Iterable[str] | None = None, edition: int | None = None) -> pd.DataFrame | None:
    """Official counts beside the observatory's for the matching categories; None when no snapshot exists."""
    official = read_official(settings, edition=edition, codes=codes)
    if official.empty:
        return None
    counts = observatory_counts(settings, sorted(set(official[m.YEAR].astype(int))))
    if counts is None:
        return None
    return official_vs_observatory(official, observatory_indicator_counts(counts))


__all__ = [
    "DIFFERENCE_NOTE",
    "FetchResult",
    "INDICATORS",
    "ImportResult",
    "Indicator",
    "LYON_CODES",
    "OFFICIAL_COLUMNS",
    "OfficialError",
    "SOURCE_NAME",
    "cached_files",
    "commune_resource",
    "comparison",
    "edition_info",
    "is_demo_edition",
    "editions",
    "fetch_official",
    "import_official",
    "indicator_code",
    "indicator_label",
    "indicators",
    "normalize_official",
    "observatory_counts",
    "observatory_indicator_counts",
    "official_manifest",
    "official_store_dir",
    "official_vs_observatory",
    "rate_unit",
    "read_official",
    "read_ssmsi_file",
    "report_summary",
    "source_citation",
]
