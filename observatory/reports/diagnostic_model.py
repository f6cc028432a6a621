"""The yearly diagnostic's data: its inputs (aggregates), its output (sections, figures, tables, key
figures) and the numbering of figures and tables.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pandas as pd

from observatory.reports import protection

TREND_YEARS = 5

try:  # the thresholds live with the test in the analytics layer
    from observatory.analytics.compare import UNRELIABLE_ANY, UNRELIABLE_PREVIOUS
except ImportError:  # pragma: no cover - analytics always ships with the reports
    UNRELIABLE_ANY, UNRELIABLE_PREVIOUS = 10, 20
ZONE_KINDS_IN_REPORT = ("hypercentre", "piscine", "qpv")
COUNT_COLUMNS = ["year", "arrondissement", "category", "family", "n"]
ZONE_COUNT_COLUMNS = ["year", "zone_id", "arrondissement", "family", "n"]


# Inputs ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DiagnosticInputs:
    """Aggregates the diagnostic is built from (no incident rows, no points)."""

    counts: pd.DataFrame  # year, arrondissement (code or None), category, family, n
    zone_counts: pd.DataFrame  # year, zone_id, arrondissement, family, n (an incident in k zones counts in each)
    zones: pd.DataFrame  # zone_id, kind, name, arrondissement, season
    arrondissements: pd.DataFrame  # code, name, population, vintage, (geometry, EPSG:4326, for the map)
    snapshot_id: str = ""
    snapshot_date: datetime | None = None
    boundary_source: str = ""
    sources: pd.DataFrame | None = None  # source, n, first, last (whole snapshot)
    location: pd.DataFrame | None = None  # year, location_quality, n
    revisions: int | None = None
    quarantined: int | None = None  # rows set aside by the published ingests of the snapshot (= `observatory quarantine`)
    refused_files: list[str] | None = None  # files refused as a whole (nothing published), each file once
    official: pd.DataFrame | None = None  # already-published official figures (no privacy issue), display-ready
    official_note: str = ""  # the citation of the edition quoted
    official_rows: list[dict] | None = None  # observatory.official.report_summary(settings, year, code), as returned
    official_coverage: str = ""  # said when an edition is imported but does not cover the year
    actions: pd.DataFrame | None = None  # action evaluations of the year, display-ready columns
    privacy_engine: str = protection.ENGINE
    survey: Any = None  # observatory.survey.SurveyTables (published estimates only), for « Ce que disent les habitants »
    means: Any = None  # observatory.means.service.MeansTables (evaluations as of 31/12), for « Déclinaison des moyens »
    exposure: dict | None = None  # zone kind -> [(zone_id, sentence)]: rates per exposure (observatory.exposure.report)
    # Monthly detail for the tests (coverage by partner and month, dispersion from the monthly history); without
    # it the tests fall back on annual counts (a year without any row is a year without data) and exact Poisson.
    monthly: pd.DataFrame | None = None  # year, month, arrondissement, category, family, source, n
    zone_monthly: pd.DataFrame | None = None  # year, month, zone_id, arrondissement, family, source, n
    coverage: pd.DataFrame | None = None  # source, year, month, covered (data-quality coverage)
    verdicts: pd.DataFrame | None = None  # precomputed reports.verdicts.publication_verdicts (e.g. stored with a publication)


# Output ---------------------------------------------------------------------------------------------------------
@dataclass
class Figure:
    number: int
    title: str
    svg: str
    note: str = ""
    key: str = ""  # stable id for file names and downloads
    data: pd.DataFrame | None = None  # the protected values drawn (typed; hidden cells as "< 5"/"s"/"n.d."), for exports


@dataclass
class Table:
    number: int
    title: str
    frame: pd.DataFrame  # display strings (French formats, protected)
    data: pd.DataFrame  # the same table with typed protected values (None where hidden) for exports
    note: str = ""
    key: str = ""
    numeric: tuple[str, ...] = ()  # display columns holding numbers: right-aligned, header included, never wrapped

    def is_numeric(self, column: str) -> bool:
        return column in self.numeric


# A displayed number: "12 345", "+398", "−5 %", "283,0", or a protected cell ("< 5", "s", "n.d.", "–").
# Also "−118 [−196 ; −40]" or "+111 % [+27 % ; +252 %]": a figure with its interval is a number column too, and so
# is an amount in euros ("26 600 €").
_NUMBER_CELL = re.compile(r"^(?:(?=.*\d)[\d\u00a0\u202f +−\-,%\[\];±€]+|< ?\d+|s|n\.d\.|–|-)$")


def numeric_columns(frame: pd.DataFrame) -> tuple[str, ...]:
    """Display columns whose every non-empty cell is a number (or a protected number), for alignment.

    The first column names the row (always text). A column with no value at all (every change hidden) is
    numeric: its header then sits where its numbers would. Text columns ("Test", "Catégories", "Période")
    stay left-aligned and wrap, so a long list of categories is never cut.
    """
    out = []
    for i, col in enumerate(frame.columns):
        if i == 0:
            continue
        cells = [str(v).strip() for v in frame[col] if v is not None and not (isinstance(v, float) and math.isnan(v)) and str(v).strip()]
        if all(_NUMBER_CELL.match(c) for c in cells):
            out.append(str(col))
    return tuple(out)


@dataclass
class KeyFigure:
    label: str
    value: str
    change: str
    sentence: str
    significant: bool = False
    direction: int = 0  # +1 hausse, -1 baisse, 0 stable or not publishable


@dataclass
class Section:
    title: str
    sentences: list[str] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    key: str = ""


@dataclass
class Diagnostic:
    year: int
    previous_year: int
    arrondissement: str | None
    place: str
    title: str
    min_count: int
    snapshot_id: str
    snapshot_date: datetime | None
    generated_on: date
    summary: list[str]
    key_figures: list[KeyFigure]
    priorities: list[str]
    priorities_sentence: str
    how_to_read: str
    trend: Section
    themes: list[Section]
    arrondissements: Section
    arrondissement_sections: list[Section]
    zones: list[Section]
    actions: Section | None
    official: Section | None
    quality: Section
    methods: list[tuple[str, str]]
    figures: list[Figure]
    tables: list[Table]
    empty: bool = False
    official_summary: list[str] = field(default_factory=list)  # SSMSI figures quoted in the summary, one line each
    official_source: str = ""  # their citation (edition, production date), or why there are none for the year
    residents: Section | None = None  # resident survey estimates (observatory.survey.report), when a wave covers the year
    means: Section | None = None  # « Déclinaison des moyens » (observatory.means.report), when means or response data cover the year


class _Numbering:
    """Figures and tables numbered in order of appearance in the document."""

    def __init__(self) -> None:
        self.figures: list[Figure] = []
        self.tables: list[Table] = []

    def figure(self, title: str, svg: str, note: str = "", key: str = "", data: pd.DataFrame | None = None) -> Figure:
        fig = Figure(len(self.figures) + 1, title, svg, note, key or f"figure-{len(self.figures) + 1}", data)
        self.figures.append(fig)
        return fig

    def table(self, title: str, frame: pd.DataFrame, data: pd.DataFrame, note: str = "", key: str = "") -> Table:
        tab = Table(len(self.tables) + 1, title, frame, data, note, key or f"tableau-{len(self.tables) + 1}", numeric_columns(frame))
        self.tables.append(tab)
        return tab
