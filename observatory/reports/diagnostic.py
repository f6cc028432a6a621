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

The parts live in modules named for what they hold: ``diagnostic_model`` (inputs and output), ``diagnostic_tables``
(comparison lines), ``diagnostic_sections`` (the chapters that stand alone: arrondissement pages, zones, quality,
methods, residents, means), ``diagnostic_actions``, ``diagnostic_loading``, ``diagnostic_exports``; this module
builds the key figures, categories, trend, themes and arrondissements and assembles the diagnostic.
"""

from __future__ import annotations

import math
from datetime import date

import pandas as pd

from observatory import labels, schema
from observatory.analytics.exposure import rate_period_note
from observatory.reports import narrative, protection, svgcharts
from observatory.reports.diagnostic_actions import (  # noqa: F401
    ACTIONS_NOTES,
    DID_COLUMN,
    WDD_COLUMN,
    actions_display,
)
from observatory.reports.diagnostic_exports import (  # noqa: F401
    EXPORT_FORMATS,
    export_item,
    export_name,
    filters_text,
)
from observatory.reports.diagnostic_loading import (  # noqa: F401
    load_inputs,
    monthly_inputs,
    official_display,
    official_for,
    quarantine_summary,
)
from observatory.reports.diagnostic_model import (  # noqa: F401
    COUNT_COLUMNS,
    TREND_YEARS,
    UNRELIABLE_ANY,
    UNRELIABLE_PREVIOUS,
    ZONE_COUNT_COLUMNS,
    ZONE_KINDS_IN_REPORT,
    Diagnostic,
    DiagnosticInputs,
    Figure,
    KeyFigure,
    Section,
    Table,
    _Numbering,
    numeric_columns,
)
from observatory.reports.diagnostic_sections import (
    arrondissement_pages,
    means_section,
    methods_rows,
    quality_section,
    residents_section,
    year_span,
    zone_sections_of,
)
from observatory.reports.diagnostic_tables import (  # noqa: F401
    _ABSENT,
    _ABSENT_TYPES,
    SENSITIVE_NOTE,
    UNKNOWN_ARRONDISSEMENT,
    _arrondissement_name,
    _change_badge,
    _change_of,
    _direction,
    _place,
    compare,
    comparison_table,
)
from observatory.reports.protection import cell_text, protect_table, published_value
from observatory.reports.protection import hidden as _hidden
from observatory.reports.verdicts import CITY, lookup, publication_verdicts


def build_diagnostic(
    inputs: DiagnosticInputs,
    year: int,
    arrondissement: str | None = None,
    min_count: int = 5,
    generated_on: date | None = None,
) -> Diagnostic:
    """Assemble the diagnostic of ``year`` for the city (``arrondissement=None``) or one arrondissement."""
    prev = year - 1
    # One verdict per line for the whole year's publication (city and arrondissements tested together).
    verdicts = inputs.verdicts if inputs.verdicts is not None else publication_verdicts(inputs, year)
    geo = arrondissement or CITY
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
    fam_cmp = compare(counts, ["family"], year, prev, lookup(verdicts, geo, "family"))
    if len(fam_cmp):
        # The same rows in the same order as the five-year table: protect decides column by column, so both
        # tables (and the key figures) then hide exactly the same cells of the two years.
        fam_cmp = pd.DataFrame({"family": trend_families}).merge(fam_cmp, how="left")
        fam_cmp = fam_cmp.fillna(_ABSENT)
        fam_cmp = fam_cmp.astype(_ABSENT_TYPES)
    fam_prot, fam_display, fam_data = comparison_table(fam_cmp, "family", "Famille", labels.family_label, year, prev, min_count)
    total_cmp = compare(counts.assign(all="all"), ["all"], year, prev, lookup(verdicts, geo, "total"))
    if total_cmp.empty:
        total_cmp = pd.DataFrame([{"all": "all", "current": 0, "previous": 0, "diff": 0, "ratio": math.nan, "p_value": None, "significant": False,
                                   "unreliable": True, "comparable": True, "reason": "", "test": "none", "phi": math.nan}])
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
    # Rates are yearly: a year still running (snapshot ending mid-year) is annualised on its days of data.
    rate_start, rate_end, rate_years = year_span(inputs, year)
    partial_year = rate_years < 1
    rate_note = rate_period_note(rate_start, rate_end, rate_years) if partial_year else ""
    if population and not _hidden(total_prot["current_status"]) and rate_years > 0:
        key_figures.append(
            KeyFigure(
                label="Taux annuel pour 1 000 habitants" if partial_year else "Taux pour 1 000 habitants",
                value=labels.fmt_number(1000 * total_now / population / rate_years, 1),
                change="",
                sentence=" ".join(t for t in (f"Population légale INSEE {vintage} : {labels.fmt_int(population)} habitants." if vintage else "",
                                               f"{rate_note[0].upper()}{rate_note[1:]}." if rate_note else "") if t),
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
    cat_cmp = compare(counts, ["category"], year, prev, lookup(verdicts, geo, "category"))
    cat_cmp["family"] = [schema.category_family(c) for c in cat_cmp["category"]]
    cat_prot = protect_table(cat_cmp, ["current", "previous"], min_count, with_total=True, group_by="family", geography=arrondissement)
    rising = cat_prot[
        cat_prot["significant"]
        & (cat_prot["diff"] > 0)
        & ~cat_prot["current_status"].map(_hidden)
        & ~cat_prot["previous_status"].map(_hidden)
    ].sort_values(["diff", "category"], ascending=[False, True])
    priorities = [narrative.change_sentence(_change_of(labels.category_label(r["category"]), r, str(prev))) for _, r in rising.iterrows()]
    priorities_sentence = narrative.priorities_sentence([labels.category_label(c) for c in rising["category"]], year, prev,
                                                        no_comparison="" if total_change.comparable else total_change.reason)

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
    # An arrondissement's line is its own total (the same unit as its bilan's key figure): one verdict for both.
    arr_totals = verdicts[(verdicts["dimension"] == "total") & verdicts["geography"].isin(schema.ARRONDISSEMENT_CODES)]
    arr_v = pd.concat([arr_totals.assign(code=arr_totals["geography"]).drop(columns=["geography", "dimension"]),
                       lookup(verdicts, CITY, "arrondissement")], ignore_index=True)
    arr_cmp = compare(all_counts.assign(arrondissement=arr_key), ["arrondissement"], year, prev, arr_v)
    arr_cmp = pd.DataFrame({"arrondissement": arr_keys}).merge(arr_cmp, how="left")
    arr_cmp = arr_cmp.fillna(_ABSENT)
    arr_cmp = arr_cmp.astype(_ABSENT_TYPES)
    # An arrondissement's bilan leaves out « non réparti » and the sensitive categories: its nine rows add up to no
    # published figure, and printing their sum would give « non réparti » back against the city's total.
    arr_prot, arr_display, arr_data = comparison_table(arr_cmp, "arrondissement", "Arrondissement", _arrondissement_name, year, prev, min_count,
                                                       with_total=not arrondissement)
    unknown_row = arr_prot[arr_prot["arrondissement"] == UNKNOWN_ARRONDISSEMENT]
    arr_prot = arr_prot[arr_prot["arrondissement"].isin(schema.ARRONDISSEMENT_CODES)]
    rates: dict[str, float | None] = {}
    map_text: dict[str, str] = {}
    for _, r in arr_prot.iterrows():
        code = r["arrondissement"]
        p = int(pop.get(code, 0))
        ok = not _hidden(r["current_status"]) and p > 0 and rate_years > 0
        rates[code] = 1000 * int(r["current"]) / p / rate_years if ok else None
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
                svgcharts.choropleth(shapes, rates, map_text, f"Taux par arrondissement — {year}", "Faits par an pour 1 000 hab." if partial_year else "Faits pour 1 000 hab.", highlight=arrondissement),
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
    if partial_year:
        arr_section.sentences.append(f"Taux par an : {rate_note}.")
    if len(unknown_row) and int(unknown_row["current"].iloc[0]):
        arr_section.sentences.append(
            "La ligne « Non réparti » compte, dans le total de la ville et dans aucun arrondissement, les violences sexuelles "
            "et intrafamiliales et les faits dont l'arrondissement n'est pas connu."
        )

    arr_sections = [] if arrondissement else arrondissement_pages(arr_prot, all_counts, verdicts, year, prev, min_count)

    # Zones: hypercentre, pools, QPV ------------------------------------------------------------------------------
    zone_sections = zone_sections_of(inputs, zone_counts, verdicts, geo, year, min_count, arrondissement, num)

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
    total_text = None if _hidden(total_prot["current_status"]) else key_figures[0].value
    quality = quality_section(inputs, counts, year, min_count, arrondissement, total_text, num)
    year_total = int(counts.loc[counts["year"] == year, "n"].sum())

    methods = methods_rows(inputs, vintage, min_count)

    summary = [narrative.total_sentence(place, year, total_now, _hidden(total_prot["current_status"]), min_count, total_prot["current_status"] != protection.PRIMARY),
               narrative.change_sentence(total_change)]
    summary.append(priorities_sentence)

    official_summary = [narrative.official_line(r, prev) for r in (inputs.official_rows or [])]
    if official_summary:
        official_source = f"Source : {inputs.official_note}." if inputs.official_note else ""
    else:
        official_source = inputs.official_coverage

    title = f"Bilan annuel {year} — {place}"
    residents = residents_section(inputs.survey, year, arrondissement, num)
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
        means=means_section(inputs.means, year, arrondissement, min_count, num),
    )


def diagnostic_for(settings, year: int, arrondissement: str | None = None, analytics=None, generated_on: date | None = None) -> Diagnostic:  # noqa: ANN001
    """Load the current snapshot's aggregates and build the diagnostic (what the CLI and the page call).

    Its tables read their statuses from the stored publications of the years they show (one publication per
    year, protected jointly: see :class:`observatory.reports.protection.PublishedCounts`).
    """
    from observatory.analytics.engine import get_analytics

    an = analytics or get_analytics(settings)
    inputs = load_inputs(settings, an, year, arrondissement)
    years = [y for y in range(year - TREND_YEARS + 1, year + 1)] + [year - 1]
    with_data = set(int(y) for y in inputs.counts["year"].unique()) if len(inputs.counts) else set()
    source = protection.publication_source(settings, an, year, [y for y in years if y in with_data] + [year, year - 1], arrondissement)
    with protection.published_counts(source):
        return build_diagnostic(inputs, year, arrondissement, settings.min_count, generated_on)
