"""The yearly diagnostic: every number, sentence, table and figure of the annual page and of the report.

Two halves:
- :func:`build_diagnostic` is pure: aggregated counts in (:class:`DiagnosticInputs`), a :class:`Diagnostic` out.
  Every count it publishes went through :func:`observatory.analytics.privacy.protect` first (through the thin
  adapter :func:`observatory.reports.protection.protect_table`), so the page, the PDF and the publication
  exports cannot show a value below the threshold nor one a published total would give back.
- :func:`load_inputs` gathers the aggregates of the current snapshot (and the optional official statistics and
  action evaluations). It is the only place here that reads data.

Two calls on the same snapshot give the same Diagnostic (no clock inside; ``generated_on`` is the only date that
changes between runs and it is printed on the cover, never inside a figure or a table).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pandas as pd

from observatory import labels, schema
from observatory.reports import narrative, svgcharts
from observatory.reports import protection
from observatory.reports.protection import cell_text, hidden as _hidden, protect_table, published_value

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
    exposure: dict | None = None  # zone kind -> [(zone_id, sentence)]: rates per exposure (observatory.exposure.report)


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
# Also "−118 [−196 ; −40]" or "+111 % [+27 % ; +252 %]": a figure with its interval is a number column too.
_NUMBER_CELL = re.compile(r"^(?:(?=.*\d)[\d\u00a0\u202f +−\-,%\[\];±]+|< ?\d+|s|n\.d\.|–|-)$")


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


# Statistics -----------------------------------------------------------------------------------------------------
def compare(frame: pd.DataFrame, keys: list[str], year: int, previous_year: int) -> pd.DataFrame:
    """Counts of two years side by side per key, with difference, ratio and the Poisson test.

    The test and its flags come from ``observatory.analytics.compare.compare_counts`` (one test for the whole
    product: exact conditional binomial test of two Poisson counts; ``unreliable`` marks small counts).
    The rows of one comparison are tested together: ``p_adjusted`` is the Benjamini–Hochberg correction across
    them (:func:`benjamini_hochberg`) and ``significant`` means ``p_adjusted < 0.05`` (one row: no change).
    """
    from observatory.analytics.compare import ALPHA, benjamini_hochberg, compare_counts

    cur = frame[frame["year"] == year].groupby(keys, dropna=False)["n"].sum().rename("current")
    prev = frame[frame["year"] == previous_year].groupby(keys, dropna=False)["n"].sum().rename("previous")
    both = pd.concat([cur, prev], axis=1).fillna(0).astype("int64")
    if both.empty:
        return pd.DataFrame(columns=keys + ["current", "previous", "diff", "ratio", "p_value", "p_adjusted", "significant", "unreliable"])
    stats = compare_counts(both["current"], both["previous"])
    out = stats.reset_index()
    out = out.rename(columns={"pct_change": "ratio"}).drop(columns=["z"])
    out["ratio"] = out["ratio"].astype("float64")
    out["p_adjusted"] = benjamini_hochberg(out["p_value"], (out["current"] + out["previous"]) > 0)
    out["significant"] = (out["p_adjusted"] < ALPHA).astype(bool)
    out["unreliable"] = out["unreliable"].astype(bool)
    return out


# Building -------------------------------------------------------------------------------------------------------
def _change_of(label: str, row: pd.Series, prev_label: str, who: str = "") -> narrative.Change:
    return narrative.Change(
        subject=who,
        label=label,
        current=int(row["current"]),
        previous=int(row["previous"]),
        previous_label=prev_label,
        p_value=row["p_value"],
        significant=bool(row["significant"]),
        unreliable=bool(row["unreliable"]),
        hidden=_hidden(row["current_status"]) or _hidden(row["previous_status"]),
        secondary=protection.PRIMARY not in (row["current_status"], row["previous_status"]),
    )


def _evolution_cells(row: pd.Series) -> tuple[str, str, str]:
    """(difference, percent, significance) as displayed; empty when a hidden count would leak through them."""
    if _hidden(row["current_status"]) or _hidden(row["previous_status"]):
        return "", "", ""
    ratio = row["ratio"]
    pct = labels.fmt_pct(ratio) if not (isinstance(ratio, float) and math.isnan(ratio)) else "–"
    if row["unreliable"]:
        sig = "effectif faible"
    else:
        sig = "significative" if row["significant"] else "non significative"
    if row["diff"] == 0:
        sig = "stable" if not row["unreliable"] else sig
    return labels.fmt_signed(int(row["diff"])), pct, sig


def comparison_table(
    cmp: pd.DataFrame, key: str, key_label: str, name_of, year: int, previous_year: int, min_count: int, with_total: bool = True,
    geography: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Protect a comparison and shape it for display and for export.

    Returns (protected comparison with *_status columns, display frame, export frame). The export frame keeps
    the published counts as integers and the hidden ones as their text ("< 5", "s", "n.d."), like
    ``privacy.protect(as_text=True)``; derived values of a row with a hidden count are empty.
    ``geography``: the arrondissement the table is restricted to (None for the city).
    """
    prot = protect_table(cmp, ["current", "previous"], min_count, with_total=with_total, geography=geography)
    display_rows = []
    data_rows = []
    for _, row in prot.iterrows():
        diff, pct, sig = _evolution_cells(row)
        display_rows.append(
            {
                key_label: name_of(row[key]),
                str(previous_year): cell_text(row["previous"], row["previous_status"], min_count),
                str(year): cell_text(row["current"], row["current_status"], min_count),
                "Évolution": diff,
                "Évolution (%)": pct,
                "Test": sig,
            }
        )
        leak = _hidden(row["current_status"]) or _hidden(row["previous_status"])
        data_rows.append(
            {
                key_label: name_of(row[key]),
                "code": row[key],
                f"faits_{previous_year}": published_value(row["previous"], row["previous_status"], min_count),
                f"faits_{year}": published_value(row["current"], row["current_status"], min_count),
                "evolution": None if leak else int(row["diff"]),
                "evolution_pct": None if leak or math.isnan(row["ratio"]) else round(float(row["ratio"]) * 100, 1),
                "p_value": None if leak or pd.isna(row["p_value"]) else round(float(row["p_value"]), 4),
                "p_ajustee_bh": None if leak or pd.isna(row.get("p_adjusted")) else round(float(row["p_adjusted"]), 4),
                "significative": None if leak else ("oui" if row["significant"] else "non"),
            }
        )
    if with_total and len(prot):
        cur_total, prev_total = int(cmp["current"].sum()), int(cmp["previous"].sum())
        total_row = pd.DataFrame([{"current": cur_total, "previous": prev_total}])
        tprot = protect_table(total_row, ["current", "previous"], min_count, with_total=False).iloc[0]
        display_rows.append(
            {
                key_label: "Total",
                str(previous_year): cell_text(prev_total, tprot["previous_status"], min_count),
                str(year): cell_text(cur_total, tprot["current_status"], min_count),
                "Évolution": "",
                "Évolution (%)": "",
                "Test": "",
            }
        )
        data_rows.append(
            {
                key_label: "Total",
                "code": "total",
                f"faits_{previous_year}": published_value(prev_total, tprot["previous_status"], min_count),
                f"faits_{year}": published_value(cur_total, tprot["current_status"], min_count),
                "evolution": None, "evolution_pct": None, "p_value": None, "p_ajustee_bh": None, "significative": None,
            }
        )
    data = pd.DataFrame(data_rows)
    if len(data):
        # A difference stays an integer when some rows are blank (hidden), instead of becoming a float.
        data["evolution"] = data["evolution"].astype("Int64")
    return prot, pd.DataFrame(display_rows), data


UNKNOWN_ARRONDISSEMENT = "inconnu"
SENSITIVE_NOTE = (
    "Les violences sexuelles et les violences intrafamiliales ne sont publiées qu'à l'échelle de la ville : elles ne "
    "sont pas comptées dans les chiffres d'un arrondissement (ni dans son total, ni dans ses familles)."
)


def _arrondissement_name(code: str) -> str:
    if code == UNKNOWN_ARRONDISSEMENT:
        return "Non réparti (violences sexuelles et intrafamiliales, faits sans arrondissement connu)"
    return labels.arrondissement_label(code)


def _place(arrondissement: str | None) -> str:
    return labels.arrondissement_label(arrondissement or schema.CITY_CODE)


def build_diagnostic(
    inputs: DiagnosticInputs,
    year: int,
    arrondissement: str | None = None,
    min_count: int = 5,
    generated_on: date | None = None,
) -> Diagnostic:
    """Assemble the diagnostic of ``year`` for the city (``arrondissement=None``) or one arrondissement."""
    prev = year - 1
    years = list(range(year - TREND_YEARS + 1, year + 1))
    if len(inputs.counts):
        # Years before the first extract of the snapshot are "no data", not "zero facts": left out of the trend.
        first = int(inputs.counts["year"].min())
        years = [y for y in years if y >= min(first, prev)]
    place = _place(arrondissement)
    counts = inputs.counts
    zone_counts = inputs.zone_counts
    if arrondissement:
        counts = counts[counts["arrondissement"] == arrondissement]
        zone_counts = zone_counts[zone_counts["arrondissement"] == arrondissement]
    counts = counts[counts["year"].isin(years)]
    if arrondissement:
        # The privacy layer's rule for sensitive categories: below the city their counts lose their geography
        # (privacy.protect moves them to 69123). An arrondissement's bilan therefore counts them nowhere; hiding
        # them as "n.d." inside its tables would not do, since a family total of one category gives them back.
        counts = counts[~counts["category"].isin(schema.sensitive_categories())]
    num = _Numbering()
    pop = inputs.arrondissements.set_index("code")["population"]
    population = int(pop.get(arrondissement, 0)) if arrondissement else int(pop.sum())
    vintage = int(inputs.arrondissements["vintage"].iloc[0]) if "vintage" in inputs.arrondissements and len(inputs.arrondissements) else None

    # Key figures: the total and each family, year against previous year ------------------------------------
    fam_codes = list(schema.families())
    trend_families = [f for f in fam_codes if f in set(counts["family"])] + sorted(set(counts["family"]) - set(fam_codes))
    fam_cmp = compare(counts, ["family"], year, prev)
    if len(fam_cmp):
        # The same rows in the same order as the five-year table: protect decides column by column, so both
        # tables (and the key figures) then hide exactly the same cells of the two years.
        fam_cmp = pd.DataFrame({"family": trend_families}).merge(fam_cmp, how="left")
        fam_cmp = fam_cmp.fillna({"current": 0, "previous": 0, "diff": 0, "significant": False, "unreliable": True})
        fam_cmp = fam_cmp.astype({"current": "int64", "previous": "int64", "diff": "int64", "significant": bool, "unreliable": bool})
    fam_prot, fam_display, fam_data = comparison_table(fam_cmp, "family", "Famille", labels.family_label, year, prev, min_count)
    total_cmp = compare(counts.assign(all="all"), ["all"], year, prev)
    if total_cmp.empty:
        total_cmp = pd.DataFrame([{"all": "all", "current": 0, "previous": 0, "diff": 0, "ratio": math.nan, "p_value": None, "significant": False, "unreliable": True}])
    total_prot = protect_table(total_cmp, ["current", "previous"], min_count, with_total=False).iloc[0]
    total_change = _change_of("Faits enregistrés", total_prot, str(prev))
    total_now = int(total_prot["current"])
    key_figures = [
        KeyFigure(
            label="Faits enregistrés",
            value=cell_text(total_now, total_prot["current_status"], min_count),
            change=_change_badge(total_prot),
            sentence=narrative.change_sentence(total_change),
            significant=bool(total_prot["significant"]) and not total_change.hidden,
            direction=_direction(total_prot),
        )
    ]
    if population and not _hidden(total_prot["current_status"]):
        key_figures.append(
            KeyFigure(
                label="Taux pour 1 000 habitants",
                value=labels.fmt_number(1000 * total_now / population, 1),
                change="",
                sentence=f"Population légale INSEE {vintage} : {labels.fmt_int(population)} habitants." if vintage else "",
            )
        )
    for _, row in fam_prot.iterrows():
        ch = _change_of(labels.family_label(row["family"]), row, str(prev))
        key_figures.append(
            KeyFigure(
                label=labels.family_label(row["family"]),
                value=cell_text(row["current"], row["current_status"], min_count),
                change=_change_badge(row),
                sentence=narrative.change_sentence(ch),
                significant=bool(row["significant"]) and not ch.hidden,
                direction=_direction(row),
            )
        )

    # Categories: priorities = significant, publishable increases ---------------------------------------------
    cat_cmp = compare(counts, ["category"], year, prev)
    cat_cmp["family"] = [schema.category_family(c) for c in cat_cmp["category"]]
    cat_prot = protect_table(cat_cmp, ["current", "previous"], min_count, with_total=True, group_by="family", geography=arrondissement)
    rising = cat_prot[
        cat_prot["significant"]
        & (cat_prot["diff"] > 0)
        & ~cat_prot["current_status"].map(_hidden)
        & ~cat_prot["previous_status"].map(_hidden)
    ].sort_values(["diff", "category"], ascending=[False, True])
    priorities = [narrative.change_sentence(_change_of(labels.category_label(r["category"]), r, str(prev))) for _, r in rising.iterrows()]
    priorities_sentence = narrative.priorities_sentence([labels.category_label(c) for c in rising["category"]], year, prev)

    # Trend: five years per family ------------------------------------------------------------------------------
    trend_counts = counts.groupby(["family", "year"])["n"].sum().unstack("year").reindex(columns=years).fillna(0).astype("int64")
    trend_counts = trend_counts.reindex(trend_families)
    # Families × years, each year's total assumed published (it is, for the current year, as a key figure):
    # one hidden family must not stand alone in its year.
    wide = trend_counts.copy()
    wide.columns = [str(y) for y in years]
    trend_prot = protect_table(wide.reset_index(), [str(y) for y in years], min_count, with_total=True)
    series = []
    trend_display = {"Famille": []}
    for y in years:
        trend_display[str(y)] = []
    trend_data = []
    for _, row in trend_prot.iterrows():
        fam = row["family"]
        values = [None if _hidden(row[f"{y}_status"]) else int(row[str(y)]) for y in years]
        series.append((labels.family_label(fam), values))
        trend_display["Famille"].append(labels.family_label(fam))
        for y in years:
            trend_display[str(y)].append(cell_text(row[str(y)], row[f"{y}_status"], min_count))
        trend_data.append({"Famille": labels.family_label(fam), "code": fam,
                           **{f"faits_{y}": published_value(row[str(y)], row[f"{y}_status"], min_count) for y in years}})
    trend = Section(title=f"Évolution sur {'cinq' if len(years) == 5 else len(years)} ans ({years[0]}–{year})", key="tendance")
    trend.figures.append(
        num.figure(
            f"Faits enregistrés par famille, {years[0]}–{year}, {place}",
            svgcharts.line_chart([str(y) for y in years], series, f"Évolution par famille — {place}"),
            note="Un point absent signale un nombre masqué par la règle de confidentialité.",
            key="tendance-familles",
            data=pd.DataFrame(trend_data),
        )
    )
    trend.tables.append(
        num.table(f"Faits enregistrés par famille et par année, {place}", pd.DataFrame(trend_display), pd.DataFrame(trend_data), key="tendance-familles-tableau")
    )

    # Themes: one section per family ---------------------------------------------------------------------------
    themes = []
    fam_table = num.table(f"Faits enregistrés par famille, {prev} et {year}, {place}", fam_display, fam_data, key="familles")
    for fam in fam_codes:
        sub = cat_cmp[cat_cmp["family"] == fam].drop(columns="family")
        if sub.empty or (sub["current"].sum() == 0 and sub["previous"].sum() == 0):
            continue
        prot, display, data = comparison_table(sub, "category", "Catégorie", labels.category_label, year, prev, min_count, geography=arrondissement)
        sec = Section(title=labels.family_label(fam), key=f"theme-{fam}")
        frow = fam_prot[fam_prot["family"] == fam]
        if len(frow):
            sec.sentences.append(narrative.change_sentence(_change_of(labels.family_label(fam), frow.iloc[0], str(prev))))
        for _, r in prot.iterrows():
            ch = _change_of(labels.category_label(r["category"]), r, str(prev))
            if not ch.hidden and r["significant"]:
                sec.sentences.append(narrative.change_sentence(ch))
        bars = prot.sort_values(["current", "category"], ascending=[False, True])
        sec.figures.append(
            num.figure(
                f"{labels.family_label(fam)} : faits enregistrés par catégorie en {year}, {place}",
                svgcharts.bar_chart(
                    [labels.category_label(c) for c in bars["category"]],
                    [None if _hidden(s) else int(v) for v, s in zip(bars["current"], bars["current_status"])],
                    f"{labels.family_label(fam)} — {year}",
                    display=[cell_text(v, s, min_count) for v, s in zip(bars["current"], bars["current_status"])],
                ),
                key=f"theme-{fam}",
                data=pd.DataFrame({
                    "Catégorie": [labels.category_label(c) for c in bars["category"]],
                    "code": list(bars["category"]),
                    f"faits_{year}": [published_value(v, s, min_count) for v, s in zip(bars["current"], bars["current_status"])],
                }),
            )
        )
        sec.tables.append(num.table(f"{labels.family_label(fam)} : catégories, {prev} et {year}, {place}", display, data, key=f"theme-{fam}-tableau"))
        themes.append(sec)

    # Arrondissements: table and map ------------------------------------------------------------------------------
    all_counts = inputs.counts[inputs.counts["year"].isin([year, prev])]
    # Facts without a known arrondissement get their own row: the table's total is then the city total printed
    # as a key figure, and their count goes through the same protection instead of being the difference of two
    # published totals.
    # Sensitive categories lose their geography (privacy rule): one row of their own, at the city level.
    located = all_counts["arrondissement"].isin(schema.ARRONDISSEMENT_CODES)
    sensitive = all_counts["category"].isin(schema.sensitive_categories())
    arr_keys = list(schema.ARRONDISSEMENT_CODES)
    if not arrondissement:
        # One row for what is counted at the city level only (sensitive categories and facts without a known
        # arrondissement): a handful of the latter alone would be a "< 5" whose complement hides an arrondissement.
        arr_keys += [UNKNOWN_ARRONDISSEMENT] if (~located | sensitive).any() else []
    else:
        all_counts = all_counts[~sensitive]
        located, sensitive = located[~sensitive], sensitive[~sensitive]
    arr_key = all_counts["arrondissement"].where(located & ~sensitive, UNKNOWN_ARRONDISSEMENT)
    arr_cmp = compare(all_counts.assign(arrondissement=arr_key), ["arrondissement"], year, prev)
    arr_cmp = pd.DataFrame({"arrondissement": arr_keys}).merge(arr_cmp, how="left")
    arr_cmp = arr_cmp.fillna({"current": 0, "previous": 0, "diff": 0, "significant": False, "unreliable": True})
    arr_cmp = arr_cmp.astype({"current": "int64", "previous": "int64", "diff": "int64", "significant": bool, "unreliable": bool})
    arr_prot, arr_display, arr_data = comparison_table(arr_cmp, "arrondissement", "Arrondissement", _arrondissement_name, year, prev, min_count)
    unknown_row = arr_prot[arr_prot["arrondissement"] == UNKNOWN_ARRONDISSEMENT]
    arr_prot = arr_prot[arr_prot["arrondissement"].isin(schema.ARRONDISSEMENT_CODES)]
    rates: dict[str, float | None] = {}
    map_text: dict[str, str] = {}
    for _, r in arr_prot.iterrows():
        code = r["arrondissement"]
        p = int(pop.get(code, 0))
        ok = not _hidden(r["current_status"]) and p > 0
        rates[code] = 1000 * int(r["current"]) / p if ok else None
        map_text[code] = labels.arrondissement_label(code).replace("Lyon ", "")
    arr_display.insert(3, "Taux ‰ hab.", [labels.fmt_number(rates.get(c), 1) if rates.get(c) is not None else "" for c in arr_data["code"]])
    arr_data["taux_pour_1000"] = [round(rates[c], 2) if rates.get(c) is not None else None for c in arr_data["code"]]
    arr_section = Section(title="Les arrondissements", key="arrondissements")
    if "geometry" in inputs.arrondissements:
        import geopandas as gpd

        gdf = gpd.GeoDataFrame(inputs.arrondissements, geometry="geometry", crs="EPSG:4326").to_crs("EPSG:2154")
        shapes = [(c, g.simplify(15)) for c, g in zip(gdf["code"], gdf.geometry)]
        arr_section.figures.append(
            num.figure(
                f"Faits enregistrés pour 1 000 habitants par arrondissement en {year}",
                svgcharts.choropleth(shapes, rates, map_text, f"Taux par arrondissement — {year}", "Faits pour 1 000 hab.", highlight=arrondissement),
                note=("Arrondissement du bilan entouré en rouge. " if arrondissement else "") + (inputs.boundary_source and f"Contours : {inputs.boundary_source}."),
                key="carte-arrondissements",
                data=pd.DataFrame({
                    "Arrondissement": [labels.arrondissement_label(c) for c in arr_prot["arrondissement"]],
                    "code": list(arr_prot["arrondissement"]),
                    f"faits_{year}": [published_value(v, s, min_count) for v, s in zip(arr_prot["current"], arr_prot["current_status"])],
                    "population": [int(pop.get(c, 0)) or None for c in arr_prot["arrondissement"]],
                    "taux_pour_1000": [round(rates[c], 2) if rates.get(c) is not None else None for c in arr_prot["arrondissement"]],
                }),
            )
        )
    arr_section.tables.append(num.table(f"Faits enregistrés par arrondissement, {prev} et {year}", arr_display, arr_data, key="arrondissements"))
    arr_section.sentences.append(
        "Les taux rapportent les faits localisés dans l'arrondissement à sa population ; l'hypercentre et les grands "
        "pôles de transport attirent des visiteurs qui ne sont pas des habitants, ce qui élève le taux des arrondissements centraux."
    )
    arr_section.sentences.append(SENSITIVE_NOTE)
    if len(unknown_row) and int(unknown_row["current"].iloc[0]):
        arr_section.sentences.append(
            "La ligne « Non réparti » compte, dans le total de la ville et dans aucun arrondissement, les violences sexuelles "
            "et intrafamiliales et les faits dont l'arrondissement n'est pas connu."
        )

    arr_sections = []
    if not arrondissement:
        for _, r in arr_prot.iterrows():
            code = r["arrondissement"]
            name = labels.arrondissement_label(code)
            sec = Section(title=name, key=f"arr-{code}")
            sec.sentences.append(
                narrative.total_sentence(name, year, int(r["current"]), _hidden(r["current_status"]), min_count, r["current_status"] != protection.PRIMARY)
            )
            sec.sentences.append(narrative.change_sentence(_change_of("Faits enregistrés", r, str(prev), f"Les faits enregistrés à {name}")))
            sub = all_counts[all_counts["arrondissement"] == code]
            sub_cmp = compare(sub, ["category"], year, prev)
            sub_cmp["family"] = [schema.category_family(c) for c in sub_cmp["category"]]
            # Grouped by family like the theme tables (their totals are the published lines); the sentences cite
            # only categories publishable for this arrondissement.
            sub_prot = protect_table(sub_cmp, ["current", "previous"], min_count, with_total=True, group_by="family", geography=code)
            sig = sub_prot[sub_prot["significant"] & ~sub_prot["current_status"].map(_hidden) & ~sub_prot["previous_status"].map(_hidden)]
            # The five largest significant changes: an arrondissement page is read, not searched.
            sig = sig.assign(_abs=sig["diff"].abs()).sort_values(["_abs", "category"], ascending=[False, True]).head(5)
            for _, s in sig.iterrows():
                sec.sentences.append(narrative.change_sentence(_change_of(labels.category_label(s["category"]), s, str(prev))))
            if sig.empty:
                sec.sentences.append("Aucune catégorie n'y évolue de façon significative.")
            arr_sections.append(sec)

    # Zones: hypercentre, pools, QPV ------------------------------------------------------------------------------
    zone_sections = []
    zmeta = inputs.zones.set_index("zone_id")
    kind_titles = {"hypercentre": "Hypercentre", "piscine": "Piscines municipales", "qpv": "Quartiers prioritaires (QPV)"}
    for kind in ZONE_KINDS_IN_REPORT:
        ids = [z for z in inputs.zones.loc[inputs.zones["kind"] == kind, "zone_id"]]
        zc = zone_counts[zone_counts["zone_id"].isin(ids) & zone_counts["year"].isin([year, prev])]
        if arrondissement:
            ids = sorted(set(zc["zone_id"]))
        if not ids:
            continue
        z_cmp = compare(zc, ["zone_id"], year, prev)
        z_cmp = pd.DataFrame({"zone_id": ids}).merge(z_cmp, how="left").fillna({"current": 0, "previous": 0, "diff": 0, "significant": False, "unreliable": True})
        z_cmp = z_cmp.astype({"current": "int64", "previous": "int64", "diff": "int64", "significant": bool, "unreliable": bool})
        z_prot, z_display, z_data = comparison_table(
            z_cmp, "zone_id", "Zone", lambda z: str(zmeta.at[z, "name"]) if z in zmeta.index else z, year, prev, min_count,
            with_total=False,  # an incident can fall in two zones: a sum would double count
        )
        sec = Section(title=kind_titles[kind], key=f"zone-{kind}")
        for _, r in z_prot.iterrows():
            name = str(zmeta.at[r["zone_id"], "name"]) if r["zone_id"] in zmeta.index else r["zone_id"]
            sec.sentences.append(narrative.change_sentence(_change_of(name, r, str(prev), f"Les faits enregistrés dans la zone « {name} »")))
        sec.sentences.extend(text for zone, text in (inputs.exposure or {}).get(kind, []) if zone in ids)
        if kind == "piscine":
            sec.sentences.append("Les piscines d'été ne sont ouvertes que de juin à août : les comparaisons se font d'une saison à l'autre.")
        if arrondissement:
            sec.sentences.append(f"Seuls les faits situés dans {place} sont comptés ici.")
        sec.tables.append(num.table(f"{kind_titles[kind]} : faits enregistrés, {prev} et {year}", z_display, z_data, key=f"zone-{kind}"))
        zone_sections.append(sec)

    # Actions and official statistics (published elsewhere, quoted as they are) ------------------------------
    actions_sec = None
    if inputs.actions is not None and len(inputs.actions):
        actions_sec = Section(title=f"Actions du plan évaluées en {year}", key="actions")
        actions_sec.sentences.extend(ACTIONS_NOTES)
        actions_sec.tables.append(num.table(f"Actions du plan d'actions évaluées en {year}", inputs.actions, inputs.actions, key="actions"))
    official_sec = None
    if inputs.official is not None and len(inputs.official):
        official_sec = Section(title="Statistiques officielles (SSMSI)", key="officiel")
        if inputs.official_note:
            official_sec.sentences.append(inputs.official_note)
        official_sec.tables.append(num.table("Indicateurs officiels de la délinquance enregistrée (SSMSI)", inputs.official, inputs.official, key="officiel"))

    # Data quality and methods ---------------------------------------------------------------------------------
    quality = Section(title="Qualité des données", key="qualite")
    year_total = int(counts.loc[counts["year"] == year, "n"].sum())
    if inputs.location is not None and len(inputs.location):
        loc = inputs.location[inputs.location["year"] == year].groupby("location_quality")["n"].sum()
        tot = int(loc.sum())
        rows = [
            {"Localisation": labels.LOCATION_QUALITY_LABELS.get(q, q), "Part": labels.fmt_pct(int(loc.get(q, 0)) / tot if tot else math.nan, 1, signed=False)}
            for q in schema.LOCATION_QUALITIES
        ]
        located = (int(loc.get("point", 0)) + int(loc.get("address", 0))) / tot if tot else math.nan
        quality.sentences.append(f"Part des faits localisés précisément (coordonnées ou adresse) en {year} : {labels.fmt_pct(located, 1, signed=False)}.")
        frame = pd.DataFrame(rows)
        quality.tables.append(num.table(f"Précision de la localisation des faits de {year} (toute la ville)", frame, frame, key="localisation"))
    if inputs.sources is not None and len(inputs.sources):
        src = inputs.sources
        src_prot = protect_table(src[["n"]].astype("int64"), ["n"], min_count)
        frame = pd.DataFrame(
            {
                "Source": [labels.source_label(s) for s in src["source"]],
                "Premier fait": [labels.fmt_date(d) for d in src["first"]],
                "Dernier fait": [labels.fmt_date(d) for d in src["last"]],
                "Faits (tout l'historique)": [cell_text(v, st, min_count) for v, st in zip(src_prot["n"], src_prot["n_status"])],
            }
        )
        quality.tables.append(num.table("Couverture des sources dans l'instantané", frame, frame, key="sources"))
    non_classe = int(counts.loc[(counts["year"] == year) & (counts["category"] == schema.NON_CLASSE), "n"].sum())
    nc = protect_table(pd.DataFrame({"n": [non_classe]}), ["n"], min_count, with_total=False).iloc[0]
    quality.sentences.append(
        f"Faits au libellé non reconnu (« non classé ») en {year} : "
        + cell_text(non_classe, nc["n_status"], min_count)
        + (f" sur {key_figures[0].value}." if not _hidden(total_prot["current_status"]) else ".")
    )
    if inputs.revisions is not None:
        quality.sentences.append(f"Révisions enregistrées (faits remplacés par un extrait plus récent) : {labels.fmt_int(inputs.revisions)}.")
    if inputs.quarantined is not None:
        quality.sentences.append(
            f"Lignes mises en quarantaine (rejetées avec leur motif) dans les fichiers intégrés à l'instantané : {labels.fmt_int(inputs.quarantined)}."
        )
    if inputs.refused_files:
        names = sorted(inputs.refused_files)
        shown = ", ".join(names[:10]) + (f" et {len(names) - 10} autre(s)" if len(names) > 10 else "")
        quality.sentences.append(
            f"Fichiers refusés en entier (rien n'en est publié, leurs lignes ne sont pas comptées ci-dessus) : {labels.fmt_int(len(names))} — {shown}."
        )

    methods = [
        ("Sources", "Extraits des partenaires de l'observatoire intégrés dans l'instantané " + (inputs.snapshot_id or "–")
         + (f" du {labels.fmt_datetime(inputs.snapshot_date)}" if inputs.snapshot_date else "") + "."),
        ("Comptage", "Un fait enregistré compte pour le nombre de faits qu'il porte ; un fait situé dans plusieurs zones compte dans chacune, "
         "c'est pourquoi les tableaux de zones n'ont pas de total ; les catégories sensibles n'y sont pas comptées. Un fait sans localisation compte dans son arrondissement s'il est connu et dans le total de la ville."),
        ("Territoire", inputs.boundary_source or "–"),
        ("Population", labels.population_note(vintage) if vintage else "–"),
        ("Règle de confidentialité", f"Les nombres de 1 à {min_count - 1} sont remplacés par « < {min_count} » ; lorsqu'un total publié permettrait "
         "de retrouver une case masquée par différence, la plus petite autre case du même tableau est masquée aussi (« s »). "
         "Les catégories sensibles (violences sexuelles, violences intrafamiliales) ne sont publiées qu'à l'échelle de la ville : elles ne sont comptées ni dans les arrondissements ni dans les zones. "
         "Les évolutions d'une ligne masquée ne sont pas publiées." + f" Mise en œuvre : la même {protection.rule_name(min_count)} pour toutes les sorties publiques (page, rapport, exports), "
         "qui applique la suppression primaire puis complémentaire (aucune case masquée ne se déduit d'un total publié, ni d'une combinaison de totaux)."),
        ("Test statistique", "Comparaison de deux années : test exact de l'égalité de deux taux de Poisson (test binomial conditionnel au total, "
         "bilatéral). Chaque tableau compare plusieurs lignes à la fois (jusqu'à une trentaine de catégories) : au seuil de 5 %, "
         "environ une ligne sur vingt paraîtrait significative par le seul hasard si rien n'avait changé. Les p-valeurs d'un même "
         "tableau sont donc corrigées par la procédure de Benjamini–Hochberg (les catégories de la ville ou d'un arrondissement "
         "forment un seul ensemble ; de même les familles, les arrondissements, les zones d'un même type) ; une évolution est dite "
         "significative si la p-valeur corrigée est inférieure à 0,05 (les exports donnent les deux p-valeurs). Cette correction "
         "a été préférée à celle de Bonferroni, qui masquerait la plupart des évolutions réelles d'un tableau de 25 lignes. "
         "Limite : le modèle de Poisson suppose des faits indépendants ; d'une année sur l'autre, les comptes varient souvent "
         "davantage (faits en série, changements de pratiques d'enregistrement ou de périmètre des partenaires), ce que le test "
         "ne mesure pas : une évolution significative peut encore relever de cette variabilité, et une évolution non significative "
         "signifie seulement que les données ne permettent pas de conclure. Une évolution en pourcentage est jugée peu fiable "
         f"si l'année précédente compte moins de {UNRELIABLE_PREVIOUS} faits ou l'année courante moins de {UNRELIABLE_ANY} : "
         "les phrases ne citent alors pas de pourcentage et, sans résultat significatif, ne tirent aucune conclusion."),
        ("Quarantaine", "Le nombre de lignes en quarantaine est celui que donne la commande « observatory quarantine » pour cet instantané : "
         "les lignes écartées, avec leur motif, des fichiers effectivement intégrés. Un fichier refusé en entier (format, encodage, "
         "coordonnées hors de Lyon…) n'est pas intégré : il est listé à part, une seule fois même s'il a été soumis plusieurs fois, "
         "et ses lignes ne sont pas comptées. Les révisions sont comptées sur les mêmes fichiers intégrés."),
        ("Reproductibilité", "Deux éditions produites sur le même instantané donnent les mêmes chiffres et les mêmes figures ; seule la date d'édition change."),
    ]

    summary = [narrative.total_sentence(place, year, total_now, _hidden(total_prot["current_status"]), min_count, total_prot["current_status"] != protection.PRIMARY),
               narrative.change_sentence(total_change)]
    summary.append(priorities_sentence)

    official_summary = [narrative.official_line(r, prev) for r in (inputs.official_rows or [])]
    if official_summary:
        official_source = f"Source : {inputs.official_note}." if inputs.official_note else ""
    else:
        official_source = inputs.official_coverage

    title = f"Bilan annuel {year} — {place}"
    residents = _residents_section(inputs.survey, year, arrondissement, num)
    return Diagnostic(
        year=year,
        previous_year=prev,
        arrondissement=arrondissement,
        place=place,
        title=title,
        min_count=min_count,
        snapshot_id=inputs.snapshot_id,
        snapshot_date=inputs.snapshot_date,
        generated_on=generated_on or date.today(),
        summary=summary,
        key_figures=key_figures,
        priorities=priorities,
        priorities_sentence=priorities_sentence,
        how_to_read=narrative.how_to_read(min_count) + (" " + SENSITIVE_NOTE if arrondissement else ""),
        trend=trend,
        themes=[Section(title="Vue d'ensemble par famille", tables=[fam_table], key="familles")] + themes,
        arrondissements=arr_section,
        arrondissement_sections=arr_sections,
        zones=zone_sections,
        actions=actions_sec,
        official=official_sec,
        quality=quality,
        methods=methods,
        figures=num.figures,
        tables=num.tables,
        empty=year_total == 0,
        official_summary=official_summary,
        official_source=official_source,
        residents=residents,
    )


def _residents_section(tabs, year: int, arrondissement: str | None, num: _Numbering) -> Section | None:  # noqa: ANN001 - SurveyTables
    from observatory.survey.report import residents_content

    content = residents_content(tabs, year, arrondissement)
    if content is None:
        return None
    table = num.table("Ce que disent les habitants : estimations de l'enquête", content.frame, content.data, content.note, key="habitants")
    return Section(title=content.title, sentences=content.sentences, tables=[table], key="habitants")


def _direction(row: pd.Series) -> int:
    if _hidden(row["current_status"]) or _hidden(row["previous_status"]):
        return 0
    d = int(row["diff"])
    return (d > 0) - (d < 0)


def _change_badge(row: pd.Series) -> str:
    """The short evolution next to a key figure: "−12 % (−85)"; empty when it would reveal a hidden count."""
    if _hidden(row["current_status"]) or _hidden(row["previous_status"]):
        return ""
    if row["unreliable"]:
        # Same rule as the sentences: on small counts a percentage swings wildly, give the difference only.
        return f"{labels.fmt_signed(int(row['diff']))} fait{'s' if abs(int(row['diff'])) > 1 else ''}"
    ratio = row["ratio"]
    pct = labels.fmt_pct(ratio) if not (isinstance(ratio, float) and math.isnan(ratio)) else "nouveau"
    return f"{pct} ({labels.fmt_signed(int(row['diff']))})"


# Loading --------------------------------------------------------------------------------------------------------
ACTIONS_NOTES = [
    "Chaque action active pendant l'année est évaluée avec les données arrêtées au 31 décembre : faits dans son périmètre "
    "et dans une zone tampon de 300 m, comparés à une zone témoin du même arrondissement, sur des fenêtres égales avant et après son début.",
    "WDD (différence pondérée avec déplacement, Wheeler et Ratcliffe 2018) : écart entre les faits constatés après l'action, "
    "périmètre et zone tampon ensemble, et ceux que prévoit l'évolution de la zone témoin ; négatif = moins de faits que prévu. "
    "Intervalle de confiance à 95 % entre crochets.",
    "Différence de différences : évolution du seul périmètre, nette de celle de la zone témoin, en pourcentage (intervalle à 95 %).",
    "Quel résultat retenir : le verdict suit le test WDD, qui tient compte d'un éventuel déplacement des faits vers les rues voisines. "
    "La différence de différences peut être significative quand le WDD ne l'est pas : le périmètre a changé, mais la zone tampon a pu "
    "évoluer en sens inverse, et le WDD additionne les incertitudes de trois zones. Le verdict le dit alors explicitement ; "
    "on ne conclut pas à un effet de l'action sur la seule différence de différences. Une étude observationnelle ne prouve pas la causalité.",
    "« – » : pas de chiffre publié, faute de conclusion possible (action trop récente, fenêtres trop courtes ou effectifs trop faibles).",
]
WDD_COLUMN = "WDD [IC\u00a095\u00a0%]"
DID_COLUMN = "Différence de différences [IC\u00a095\u00a0%]"
_FACTS_BEFORE_AFTER = re.compile(r"(\d[\d\u00a0\u202f]*) faits avant, (\d[\d\u00a0\u202f]*) après")


def _mask_small_counts(text: str, min_count: int) -> str:
    """A verdict quoting "3 faits avant, 12 après" must not print a count from 1 to min_count − 1 (public report)."""
    def cell(digits: str) -> str:
        n = int(re.sub(r"\D", "", digits))
        return f"< {min_count}" if 0 < n < min_count else digits

    return _FACTS_BEFORE_AFTER.sub(lambda m: f"{cell(m.group(1))} faits avant, {cell(m.group(2))} après", text)


def _finite(value) -> bool:  # noqa: ANN001
    try:
        return value is not None and not pd.isna(value) and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def actions_display(evaluations: pd.DataFrame, min_count: int = 5) -> pd.DataFrame:
    """The plan's evaluations as the report prints them: what, where, when, verdict, WDD and difference of differences.

    No counts in the perimeter (they can be small); the verdict's own "N faits avant, M après" is masked below the
    threshold. An action whose windows are unusable (too recent, no data before it) gets "–": a WDD of 0 ± 0 from
    empty windows would read as a measured null effect.
    """
    from observatory.actions.evaluation import MIN_WINDOW_MONTHS

    def col(name: str) -> pd.Series:
        return evaluations[name] if name in evaluations else pd.Series([None] * len(evaluations), index=evaluations.index)

    period = [
        f"{labels.fmt_date(s) if pd.notna(s) else '–'} → {labels.fmt_date(e) if e is not None and pd.notna(e) else 'en cours'}"
        for s, e in zip(col("start"), col("end"))
    ]
    wdd, did = [], []
    nb = "\u00a0"  # an interval never breaks inside; the cell may break between the value and its interval
    for months, code, w, lo, hi, r, rlo, rhi in zip(col("window_months"), col("verdict_code"), col("wdd"), col("ci_low"), col("ci_high"),
                                                     col("did_ratio"), col("did_ci_low"), col("did_ci_high")):
        # "Pas de conclusion possible" (windows too short, counts too small): figures would invite the conclusion
        # the verdict refuses, and they rest on small counts; "–" instead, as for unusable windows.
        usable = _finite(months) and int(months) >= MIN_WINDOW_MONTHS and code != "no_conclusion"
        if usable and _finite(w):
            interval = f" [{labels.fmt_signed(lo, 0)}{nb};{nb}{labels.fmt_signed(hi, 0)}]" if _finite(lo) and _finite(hi) else ""
            wdd.append(labels.fmt_signed(w, 0) + interval)
        else:
            wdd.append("–")
        if usable and _finite(r):
            interval = f" [{labels.fmt_pct(rlo - 1)}{nb};{nb}{labels.fmt_pct(rhi - 1)}]" if _finite(rlo) and _finite(rhi) else ""
            did.append(labels.fmt_pct(r - 1) + interval)
        else:
            did.append("–")
    out = pd.DataFrame(
        {
            "Action": col("title").fillna("").astype(str).to_numpy(),
            "Arrondissement": [labels.arrondissement_label(a) if a else "" for a in col("arrondissement")],
            "Période": period,
            "Catégories": [", ".join(labels.category_label(c) for c in (v if isinstance(v, (list, tuple)) else str(v or "").split("|")) if c)
                           for v in col("categories")],
            "Verdict": [_mask_small_counts(str(v), min_count) if v is not None and not pd.isna(v) else "" for v in col("verdict")],
            WDD_COLUMN: wdd,
            DID_COLUMN: did,
        }
    )
    if "objective_text" in evaluations and evaluations["objective_text"].fillna("").astype(str).str.strip().any():
        out["Objectif"] = evaluations["objective_text"].fillna("").astype(str).to_numpy()
    return out.reset_index(drop=True)


def official_display(rows: list[dict]) -> tuple[pd.DataFrame, str]:
    """Official SSMSI figures (already public, quoted as published: "n.d." where the SSMSI did not diffuse)."""
    if not rows:
        return pd.DataFrame(), ""
    frame = pd.DataFrame(
        {
            "Indicateur": [r.get("label", "") for r in rows],
            str(rows[0].get("year", "")): [labels.fmt_int(r["count"]) if r.get("count") is not None else "n.d." for r in rows],
            "Année précédente": [labels.fmt_int(r["previous_count"]) if r.get("previous_count") is not None else "n.d." for r in rows],
            "Taux": [f"{labels.fmt_number(r['rate'], 1)} {r.get('rate_unit', '')}" if r.get("rate") is not None else "n.d." for r in rows],
        }
    )
    return frame, str(rows[0].get("source", ""))


def official_for(settings, year: int, code: str) -> tuple[list[dict], pd.DataFrame | None, str, str]:  # noqa: ANN001
    """SSMSI figures of ``code`` for ``year`` from the newest imported edition.

    Returns (rows of ``official.report_summary``, display table or None, citation, coverage note). The coverage
    note says why there is nothing when an edition is imported but does not hold the year (the SSMSI publishes
    a year in the following spring; a reference subset may hold older years only).
    """
    from observatory.official import official_manifest, report_summary, source_citation

    rows = report_summary(settings, year, code)
    if rows:
        frame, citation = official_display(rows)
        return rows, frame, citation, ""
    editions = official_manifest(settings).get("editions") or {}
    if not editions:
        return [], None, "", ""
    info = editions[str(max(int(e) for e in editions))]
    years = sorted(int(y) for y in info.get("years") or [])
    span = f"{years[0]}–{years[-1]}" if len(years) > 1 else (str(years[0]) if years else "–")
    note = (f"Statistiques officielles : l'édition importée ({source_citation(info)}) couvre les années {span} ; "
            f"elle ne donne pas de chiffre pour {labels.arrondissement_label(code)} en {year}.")
    return [], None, "", note


def quarantine_summary(settings, snapshot=None) -> tuple[int | None, int | None, list[str]]:  # noqa: ANN001
    """(quarantined rows, revisions, refused files) as ``observatory quarantine`` and ``status`` count them.

    Quarantined rows are those of the files published in the snapshot (``store.read_quarantine``: what the
    ``quarantine`` command lists); revisions come from the same files (the snapshot's ledger). Refused files
    published nothing: they are listed apart, each file once (by name and checksum) even when it was submitted
    several times, and none once a file of the same name and checksum was accepted. (None, None, []) without a store.
    """
    from observatory import store

    try:
        snap = snapshot or store.current_snapshot(settings)
    except Exception:  # noqa: BLE001 - the ledger is an optional appendix line; a broken store must not stop the report
        return None, None, []
    if snap is None:
        return None, None, []
    quarantined = int(len(store.read_quarantine(settings, snap)))
    ledger = snap.ledger
    revisions = int(sum(int(r.get("revisions") or 0) for r in ledger if not r.get("refused")))
    accepted = {(r.get("source_file"), r.get("sha256")) for r in ledger if not r.get("refused")}
    refused: dict[tuple, str] = {}
    for r in store.read_refused(settings):
        key = (r.get("source_file"), r.get("sha256"))
        if key in accepted:
            continue
        refused.setdefault(key, str(r.get("source_file") or "?"))
    return quarantined, revisions, sorted(refused.values())


def load_inputs(settings, analytics=None, year: int | None = None, arrondissement: str | None = None) -> DiagnosticInputs:  # noqa: ANN001 - Settings, Analytics
    """Aggregates of the current snapshot (or of ``analytics``' snapshot) and the optional official and plan data.

    ``year`` and ``arrondissement`` select the official figures (the arrondissement's own SSMSI rows, or the
    city's, code 69123) and the actions evaluated that year.
    """
    from observatory.analytics import Filters
    from observatory.analytics.engine import get_analytics

    an = analytics or get_analytics(settings)
    f = Filters()
    counts = an.counts(f, by=("year", "arrondissement", "category", "family")).rename(columns={"count": "n"})
    zone_counts = an.counts(f, by=("year", "zone", "arrondissement", "category", "family")).rename(columns={"count": "n", "zone": "zone_id"})
    # Zones are below the city: sensitive categories are not counted there (privacy rule, see build_diagnostic).
    zone_counts = zone_counts[~zone_counts["category"].isin(schema.sensitive_categories())]
    zone_counts = zone_counts.groupby(["year", "zone_id", "arrondissement", "family"], dropna=False, as_index=False)["n"].sum()
    location = an.counts(f, by=("year", "location_quality")).rename(columns={"count": "n"})
    sources = an.query(
        "SELECT source, count(*) AS n, CAST(min(local_ts) AS DATE) AS first, CAST(max(local_ts) AS DATE) AS last "
        "FROM incidents GROUP BY source ORDER BY source"
    )
    for frame in (counts, zone_counts, location):
        frame["year"] = frame["year"].astype("int64")
        frame["n"] = frame["n"].astype("int64")
    counts["arrondissement"] = counts["arrondissement"].astype(object).where(counts["arrondissement"].notna(), None)
    terr = an.territory
    snapshot = getattr(an, "snapshot", None)
    snap_date = getattr(snapshot, "created_at", None)
    # The analytics' own snapshot (a page holds one snapshot for its whole life); an Analytics built from loose
    # files (tests, benchmarks) has no ledger and the quarantine lines are then left out.
    from observatory.store import Snapshot

    published = isinstance(snapshot, Snapshot)
    quarantined, revisions, refused = quarantine_summary(settings, snapshot) if published else (None, None, [])
    official_rows: list[dict] = []
    official = None
    official_note = official_coverage = ""
    actions = None
    if year is not None:
        try:
            official_rows, official, official_note, official_coverage = official_for(settings, year, arrondissement or schema.CITY_CODE)
        except Exception:  # noqa: BLE001 - official statistics are optional: an unreadable store leaves the section out
            official_rows, official = [], None
        try:
            from observatory.actions import evaluations_for_year

            ev = evaluations_for_year(settings, year)
            if arrondissement and len(ev) and "arrondissement" in ev:
                ev = ev[ev["arrondissement"] == arrondissement]
            actions = actions_display(ev, settings.min_count) if len(ev) else None
        except Exception:  # noqa: BLE001 - no action plan (or an invalid one, reported by `observatory actions`) → no section
            actions = None
    return DiagnosticInputs(
        counts=counts[COUNT_COLUMNS],
        zone_counts=zone_counts[ZONE_COUNT_COLUMNS],
        zones=pd.DataFrame(terr.zones.drop(columns="geometry")),
        arrondissements=terr.arrondissements,
        snapshot_id=str(an.snapshot_id),
        snapshot_date=snap_date,
        boundary_source=terr.boundary_source,
        sources=sources,
        location=location,
        revisions=revisions,
        quarantined=quarantined,
        refused_files=refused,
        official=official,
        official_note=official_note,
        official_rows=official_rows,
        official_coverage=official_coverage,
        actions=actions,
        survey=_survey_tables(settings) if year is not None else None,
        exposure=_exposure_sentences(settings, an, year) if year is not None else None,
    )


def _exposure_sentences(settings, an, year: int) -> dict:  # noqa: ANN001
    from observatory.exposure.report import zone_sentences

    return zone_sentences(settings, an, year)


def _survey_tables(settings):  # noqa: ANN001, ANN202
    try:
        from observatory.survey import survey_tables

        return survey_tables(settings)
    except Exception:  # noqa: BLE001 - the survey section is optional: an unreadable survey store leaves it out
        return None


def diagnostic_for(settings, year: int, arrondissement: str | None = None, analytics=None, generated_on: date | None = None) -> Diagnostic:  # noqa: ANN001
    """Load the current snapshot's aggregates and build the diagnostic (what the CLI and the page call)."""
    return build_diagnostic(load_inputs(settings, analytics, year, arrondissement), year, arrondissement, settings.min_count, generated_on)


# Exports of what the page and the report show ------------------------------------------------------------------
EXPORT_FORMATS = {"figure": ("csv", "xlsx", "svg"), "table": ("csv", "xlsx")}


def filters_text(d: Diagnostic) -> str:
    """The Bilan's filters in French, for the content of every file exported from it."""
    return f"année {d.year} (comparée à {d.previous_year}) ; territoire {d.place}" + (f" ({d.arrondissement})" if d.arrondissement else f" ({schema.CITY_CODE})")


def export_name(d: Diagnostic, key: str, ext: str) -> str:
    """``bilan-2025-lyon-3e_<key>.<ext>``: year and territory in every file name."""
    from observatory.reports.exports import slug

    return f"bilan-{d.year}-{slug(d.place)}_{slug(key)}.{ext}"


def export_item(d: Diagnostic, kind: str, key: str, fmt: str) -> tuple[bytes, str] | None:
    """One figure or table of the diagnostic as a file: (payload, file name); None if unknown or not offered.

    CSV/XLSX carry the protected values exactly as shown (hidden cells "< 5", "s"), with the year, the territory,
    the snapshot and the privacy rule in the metadata; SVG is the figure itself with the same metadata in <desc>.
    """
    from html import escape

    from observatory.reports.exports import ExportMeta, to_csv_bytes, to_xlsx_bytes

    if fmt not in EXPORT_FORMATS.get(kind, ()):
        return None
    items = d.figures if kind == "figure" else d.tables
    item = next((i for i in items if i.key == key), None)
    if item is None:
        return None
    label = "Figure" if kind == "figure" else "Tableau"
    meta = ExportMeta(
        title=f"{d.title} — {item.title}",
        source="Observatoire de la délinquance et de la sécurité de Lyon (bilan annuel)",
        filters=filters_text(d),
        snapshot_id=d.snapshot_id,
        privacy=(f"protégé par la {protection.rule_name(d.min_count)} : nombres de 1 à {d.min_count - 1} remplacés par « < {d.min_count} », "
                 "masquage complémentaire « s », violences sexuelles et intrafamiliales à l'échelle de la ville seulement"),
        protected=True,
    )
    if fmt == "svg":
        desc = escape(" ; ".join(f"{k} : {v}" for k, v in meta.rows()))
        svg = item.svg.replace("</title>", f"</title><desc>{desc}</desc>", 1)
        return svg.encode("utf-8"), export_name(d, key, "svg")
    frame = item.data if item.data is not None else item.frame
    if frame is None:
        return None
    payload = to_csv_bytes(frame, meta) if fmt == "csv" else to_xlsx_bytes(frame, meta, sheet=f"{label} {item.number}")
    return payload, export_name(d, key, fmt)
