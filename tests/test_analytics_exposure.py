"""Figures an élu quotes first: the home page's « Du » comparison, annualised rates, zone densities per year."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from observatory.analytics import Analytics, Filters
from observatory.dashboard.components import change_text
from tests.incident_factory import incidents, write_snapshot


def _daily(start: str, end: str, per_day: int, skip: tuple[str, ...] = ()) -> list[str]:
    """``per_day`` facts at noon every day from start to end, except in the months listed in ``skip`` (YYYY-MM)."""
    days = pd.date_range(start, end, freq="D")
    return [f"{d:%Y-%m-%d} 12:00" for d in days if f"{d:%Y-%m}" not in skip for _ in range(per_day)]


def _two_partners(tmp_path, settings, skip_tcl: tuple[str, ...] = ()) -> Analytics:
    """Police nationale and TCL at constant rates per day from 2021 to 15/07/2025: no change at all."""
    pn = _daily("2021-01-01", "2025-07-15", 3)
    tcl = _daily("2021-01-01", "2025-07-15", 2, skip=skip_tcl)
    table = incidents(
        occurred_at=pn + tcl,
        source=["police_nationale"] * len(pn) + ["tcl"] * len(tcl),
        source_id=[f"P{i}" for i in range(len(pn))] + [f"T{i}" for i in range(len(tcl))],
    )
    return Analytics.from_files(write_snapshot(table, tmp_path / "snap"), settings)


# 1. The home page's « Du » ----------------------------------------------------------------------------------------
@pytest.fixture
def overview(settings):
    from observatory.dashboard.app import create_app

    create_app(settings)  # Dash pages register only once an app exists
    from observatory.dashboard.pages import overview

    return overview


def test_the_home_page_du_does_not_compare_with_months_a_partner_did_not_deliver(tmp_path, settings, overview):
    # TCL delivered nothing for March and April 2024; the home page is opened with « Du » = 01/03/2025.
    an = _two_partners(tmp_path, settings, skip_tcl=("2024-03", "2024-04"))
    f = Filters(start=date(2025, 3, 1))
    ref = date(2025, 7, 15)
    total = overview.period_compare(an, f, ref, "ytd").iloc[0]
    assert (total["current_start"], total["previous_start"], total["previous_end"]) == (date(2025, 3, 1), date(2024, 3, 1), date(2024, 7, 15))
    assert not total["comparable"] and not total["significant"] and pd.isna(total["p_value"])
    text, tone = change_text(total)
    assert text.startswith("pas de comparaison possible") and "mars 2024" in text and "avril 2024" in text and tone == "neutral"
    by_cat = overview.period_compare(an, f, ref, "ytd", by=("category",))
    assert not by_cat["significant"].any() and not by_cat["comparable"].any()


def test_the_home_page_du_uses_the_test_of_every_other_comparison(tmp_path, settings, overview):
    an = _two_partners(tmp_path, settings)
    total = overview.period_compare(an, Filters(start=date(2025, 3, 1)), date(2025, 7, 15), "ytd").iloc[0]
    # 137 days against 137: both partners covered, same rate per day, the dispersion-aware test says so.
    assert total["comparable"] and total["exposure_ratio"] == pytest.approx(1.0)
    assert total["current"] == total["previous"] == 5 * 137
    assert not total["significant"] and total["test"] != "" and "phi" in total


# 2. Rates per year, whatever the period ---------------------------------------------------------------------------
def test_exposure_counts_each_calendar_year_by_its_own_days():
    from observatory.analytics.exposure import exposure_years, rate_period_note

    assert exposure_years(date(2024, 1, 1), date(2024, 12, 31)) == 1.0  # 366 days: still one year
    assert exposure_years(date(2025, 1, 1), date(2025, 7, 15)) == pytest.approx(196 / 365)
    assert exposure_years(date(2024, 7, 1), date(2025, 6, 30)) == pytest.approx(184 / 366 + 181 / 365)
    assert exposure_years(date(2019, 1, 1), date(2025, 12, 31)) == pytest.approx(7.0)
    assert exposure_years(date(2025, 2, 1), date(2025, 1, 31)) == 0.0
    assert rate_period_note(date(2025, 1, 1), date(2025, 12, 31), 1.0) == "année 2025"
    assert rate_period_note(date(2025, 1, 1), date(2025, 7, 15), 196 / 365) == "taux annualisé : faits du 01/01/2025 au 15/07/2025 (196 jours) ramenés à un an"
    assert rate_period_note(date(2019, 1, 1), date(2025, 12, 31), 7.0).startswith("moyenne annuelle du 01/01/2019 au 31/12/2025 (7")


def _constant(tmp_path, settings, per_day: int = 5) -> Analytics:
    """``per_day`` facts a day in the 3e from 01/01/2024 to 15/07/2025 (the snapshot's last day): one rate."""
    dates = _daily("2024-01-01", "2025-07-15", per_day)
    return Analytics.from_files(write_snapshot(incidents(occurred_at=dates, arrondissement="69383"), tmp_path / "snap"), settings)


def test_rates_are_per_year_for_a_year_still_running_and_for_several_years(tmp_path, settings):
    an = _constant(tmp_path, settings)
    pop = int(an.territory.arrondissements.set_index("code").loc["69383", "population"])
    year_rate = 5 * 365 / pop * 1000  # the same rate per day all along

    def rate(f: Filters) -> tuple[float, pd.DataFrame]:
        r = an.rates_by_arrondissement(f)
        return float(r.set_index("arrondissement").loc["69383", "rate_per_1000"]), r

    r2024, t2024 = rate(Filters(start=date(2024, 1, 1), end=date(2024, 12, 31)))
    assert r2024 == pytest.approx(5 * 366 / pop * 1000) and t2024.attrs["rate_note"] == "année 2024"  # whole year: count / population
    # 2025 asked for, data until 15 July: 196 days, annualised (it read 5 × 196 / pop before, half the 2024 rate).
    r2025, t2025 = rate(Filters(start=date(2025, 1, 1), end=date(2025, 12, 31)))
    assert r2025 == pytest.approx(year_rate)
    assert t2025.attrs["period"] == (date(2025, 1, 1), date(2025, 7, 15)) and "196 jours" in t2025.attrs["rate_note"]
    # The whole snapshot: 1 + 196/365 years, not the sum of both.
    r_all, t_all = rate(Filters())
    assert r_all == pytest.approx(5 * (366 + 196) / (1 + 196 / 365) / pop * 1000)
    assert t_all.attrs["rate_note"].startswith("moyenne annuelle du 01/01/2024 au 15/07/2025")
    assert "Taux annuel" in t_all.attrs["note"]


def test_the_map_of_a_year_still_running_shows_a_yearly_rate(tmp_path, settings, overview):
    from observatory.dashboard.pages import carte

    an = _constant(tmp_path, settings)
    pop = int(an.territory.arrondissements.set_index("code").loc["69383", "population"])
    t = carte.layer_table(an, Filters(), "arr_rate")
    assert t.period == (date(2025, 1, 1), date(2025, 7, 15))
    row = t.df.set_index("arrondissement").loc["69383"]
    assert row["count"] == 5 * 196 and row["rate_per_1000"] == pytest.approx(5 * 365 / pop * 1000)
    assert "ramenés à un an" in t.extra_note


def test_the_bilan_of_a_year_still_running_annualises_its_rates(settings):
    from observatory import schema
    from observatory.reports.diagnostic import DiagnosticInputs, build_diagnostic
    from observatory.territory import load_territory

    terr = load_territory(settings)
    fam = schema.category_family("escroqueries")
    rows = [(y, a, "escroqueries", fam, n) for a in schema.ARRONDISSEMENT_CODES for y, n in ((2024, 366 * 2), (2025, 196 * 2))]
    sources = pd.DataFrame({"source": ["police_nationale"], "n": [1], "first": [date(2024, 1, 1)], "last": [date(2025, 7, 15)]})
    inputs = DiagnosticInputs(
        counts=pd.DataFrame(rows, columns=["year", "arrondissement", "category", "family", "n"]),
        zone_counts=pd.DataFrame(columns=["year", "zone_id", "arrondissement", "family", "n"]),
        zones=pd.DataFrame(terr.zones.drop(columns="geometry")), arrondissements=terr.arrondissements,
        snapshot_id="snap-test", boundary_source=terr.boundary_source, sources=sources,
    )
    population = int(terr.arrondissements["population"].sum())
    d = build_diagnostic(inputs, 2025, None, min_count=5)
    rate = next(k for k in d.key_figures if "pour 1 000 habitants" in k.label)
    assert rate.label == "Taux annuel pour 1 000 habitants"
    # 392 facts per arrondissement in 196 days: per year, 2 × 365 each.
    from observatory import labels

    assert rate.value == labels.fmt_number(1000 * 9 * 2 * 365 / population, 1)
    assert "196 jours" in rate.sentence
    whole = build_diagnostic(inputs, 2024, None, min_count=5)
    rate24 = next(k for k in whole.key_figures if "pour 1 000 habitants" in k.label)
    assert rate24.label == "Taux pour 1 000 habitants" and rate24.value == labels.fmt_number(1000 * 9 * 2 * 366 / population, 1)


# 3. Zone densities per year ---------------------------------------------------------------------------------------
def test_zone_densities_are_per_year_over_the_whole_snapshot_and_a_year_still_running(tmp_path, settings):
    # 2 located facts a day in the hypercentre from 01/01/2024 to 15/07/2025: one density per day all along.
    dates = _daily("2024-01-01", "2025-07-15", 2)
    table = incidents(occurred_at=dates, zones=[["hypercentre"]] * len(dates), location_quality="point")
    an = Analytics.from_files(write_snapshot(table, tmp_path / "snap"), settings)
    area = float(an.territory.zones.set_index("zone_id").loc["hypercentre", "area_km2"])
    per_year = 2 * 365 / area
    everything = an.rates_by_zone(Filters(), kinds=("hypercentre",)).set_index("zone_id")
    # The whole snapshot (the Zones page's default): 1,124 facts over 1 + 196/365 years, not 1,124 per km².
    assert everything.loc["hypercentre", "count"] == 2 * (366 + 196)
    assert everything.loc["hypercentre", "rate_per_km2"] == pytest.approx(2 * (366 + 196) / (1 + 196 / 365) / area)
    running = an.rates_by_zone(Filters(start=date(2025, 1, 1)), kinds=("hypercentre",))
    assert running.set_index("zone_id").loc["hypercentre", "rate_per_km2"] == pytest.approx(per_year)
    assert "196 jours" in running.attrs["rate_note"] and "par an" in running.attrs["note"]


def test_the_zones_page_labels_its_densities_per_year(tmp_path, settings, overview):
    from observatory.dashboard.pages import zones

    dates = _daily("2024-01-01", "2025-07-15", 2)
    table = incidents(occurred_at=dates, zones=[["hypercentre"]] * len(dates), location_quality="point")
    an = Analytics.from_files(write_snapshot(table, tmp_path / "snap"), settings)
    df, _cmp = zones.zone_table(an, Filters(), "hypercentre")
    assert df.attrs["rate_note"].startswith("moyenne annuelle du 01/01/2024 au 15/07/2025")
    area = float(df.set_index("zone_id").loc["hypercentre", "area_km2"])
    assert df.set_index("zone_id").loc["hypercentre", "rate_per_km2"] == pytest.approx(2 * (366 + 196) / (1 + 196 / 365) / area)


# 4. One figure, one definition: the analyst sees both totals ------------------------------------------------------
def _with_sensitive(tmp_path, settings) -> Analytics:
    """The 1er in 2025: 60 frauds and 30 intra-family violences (counted at city level only in publications)."""
    dates = [f"2025-{m:02d}-10 12:00" for m in range(1, 10)] * 10
    cats = ["escroqueries"] * 60 + ["violences_intrafamiliales"] * 30
    table = incidents(occurred_at=dates, category=cats, arrondissement="69381", zones=[["hypercentre"]] * 90, location_quality="point")
    return Analytics.from_files(write_snapshot(table, tmp_path / "snap"), settings)


def test_analyst_maps_show_every_fact_and_the_figure_the_bilan_publishes(tmp_path, settings, overview):
    from observatory.dashboard.pages import carte
    from observatory.reports.diagnostic import build_diagnostic, load_inputs

    an = _with_sensitive(tmp_path, settings)
    year = Filters(start=date(2025, 1, 1), end=date(2025, 12, 31))
    t = carte.layer_table(an, year, "arr_count")
    row = t.df.set_index("arrondissement").loc["69381"]
    assert (row["count"], row["count_published"]) == (90, 60)
    assert "chiffre publié" in t.extra_note and t.columns == {"count_published": "faits_publies_hors_vsif"}
    # The bilan of 2025 prints the second figure for the 1er: the analyst can quote either, knowing which.
    d = build_diagnostic(load_inputs(settings, an, 2025), 2025, None, min_count=5)
    arr = next(tb for tb in d.tables if tb.key == "arrondissements").data.set_index("code")
    assert int(arr.loc["69381", "faits_2025"]) == row["count_published"]
    # The home page's map: analysts get both, élus only the published one (no unprotected second count).
    analyst, _ = overview.arrondissement_table(an, year, analyst=True)
    elu, _ = overview.arrondissement_table(an, year, analyst=False)
    a1 = analyst.set_index("arrondissement").loc["69381"]
    assert (a1["count"], a1["count_published"]) == (90, 60)
    # Élus read closed years of the publication only (issue 15): data up to September leave them no year to read.
    assert elu is None


def test_the_zones_table_shows_both_totals_to_analysts(tmp_path, settings, overview):
    from observatory.dashboard.pages import zones

    an = _with_sensitive(tmp_path, settings)
    df, _ = zones.zone_table(an, Filters(), "hypercentre")
    row = df.set_index("zone_id").loc["hypercentre"]
    assert (row["count"], row["count_published"]) == (90, 60)


def test_the_detail_panel_gives_analysts_the_published_figure_too(tmp_path, settings, overview):
    from observatory.dashboard.panel import published_text

    an = _with_sensitive(tmp_path, settings)
    by_cat = an.counts(Filters(arrondissements=("69381",)), by=("category",))
    assert published_text(an, Filters(), "arrondissement", "69381", by_cat) == (
        "chiffre publié (bilan, exports) : 60 (hors violences sexuelles et intrafamiliales)")
    zone = an.counts(Filters(zones=("hypercentre",)), by=("category",))
    assert "60" in published_text(an, Filters(), "zone", "hypercentre", zone)
    only_frauds = an.counts(Filters(arrondissements=("69381",), categories=("escroqueries",)), by=("category",))
    assert published_text(an, Filters(categories=("escroqueries",)), "arrondissement", "69381", only_frauds) == ""


# 5. The pools' summers on the Zones page ------------------------------------------------------------------------------
def test_a_pool_summer_is_not_compared_with_a_summer_a_partner_did_not_deliver(tmp_path, settings):
    from observatory.analytics.zones import ALL_SUMMER_POOLS

    # Police nationale and TCL at the same rate every day in a pool's perimeter; TCL sent nothing in June 2024.
    pn = _daily("2021-01-01", "2025-12-31", 1)
    tcl = _daily("2021-01-01", "2025-12-31", 1, skip=("2024-06",))
    # Elsewhere in the city too: TCL's June 2024 is a missing delivery (a gap), not a quiet month.
    city_pn = _daily("2021-01-01", "2025-12-31", 2)
    city_tcl = _daily("2021-01-01", "2025-12-31", 2, skip=("2024-06",))
    n_pool = len(pn) + len(tcl)
    table = incidents(
        occurred_at=pn + tcl + city_pn + city_tcl,
        source=["police_nationale"] * (len(pn)) + ["tcl"] * len(tcl) + ["police_nationale"] * len(city_pn) + ["tcl"] * len(city_tcl),
        source_id=[f"S{i}" for i in range(n_pool + len(city_pn) + len(city_tcl))],
        zones=[["piscine_tony_bertrand"]] * n_pool + [[]] * (len(city_pn) + len(city_tcl)),
    )
    an = Analytics.from_files(write_snapshot(table, tmp_path / "snap"), settings)
    ps = an.pool_seasons(Filters(), year=2025, previous_years=1).set_index("zone_id")
    row = ps.loc["piscine_tony_bertrand"]
    assert row["in_season"] == 2 * 92 and row["previous_in_season"] == 2 * 92 - 30  # 30 days of June 2024 missing
    assert not row["comparable"] and not row["significant_vs_previous"] and pd.isna(row["p_value_vs_previous"])
    assert "juin 2024" in row["reason"] and "TCL" in row["reason"]
    # The summer's total row is refused too (its pool's partner), and other pools are tested with their own dispersion.
    assert not ps.loc[ALL_SUMMER_POOLS, "comparable"]
    assert ps.loc[ALL_SUMMER_POOLS, "in_season"] == ps.loc[ps["season"] == "summer", "in_season"].drop(ALL_SUMMER_POOLS).sum()


# 6. The home page and the bilan give one verdict per line ---------------------------------------------------------------
def test_the_home_page_reads_the_bilans_verdicts_for_a_closed_year(tmp_path, settings, overview):
    from observatory.reports.verdicts import lookup, snapshot_verdicts

    # Five years of frauds and burglaries, then +12 % burglaries in 2025; a quieter category for the family.
    rng = np.random.default_rng(3)
    stamps, cats = [], []
    for y in range(2021, 2026):
        for cat, level in (("cambriolages_logement", 3.0), ("escroqueries", 2.0), ("vols_vehicules", 1.0)):
            rate = level * (1.12 if (y == 2025 and cat == "cambriolages_logement") else 1.0)
            for d in pd.date_range(f"{y}-01-01", f"{y}-12-31"):
                n = rng.poisson(rate)
                stamps += [f"{d:%Y-%m-%d} 12:00"] * n
                cats += [cat] * n
    an = Analytics.from_files(write_snapshot(incidents(occurred_at=stamps, category=cats), tmp_path / "snap"), settings)
    home = overview.period_compare(an, Filters(), date(2025, 12, 31), "year", by=("category",)).set_index("category")
    bilan = lookup(snapshot_verdicts(an, 2025), "69123", "category").set_index("code")
    for cat in home.index:
        assert home.loc[cat, "p_adjusted"] == pytest.approx(bilan.loc[cat, "p_adjusted"]), cat
        assert home.loc[cat, "significant"] == bilan.loc[cat, "significant"], cat
        assert home.loc[cat, "current"] == bilan.loc[cat, "current"]
    total = overview.period_compare(an, Filters(), date(2025, 12, 31), "year").iloc[0]
    assert total["p_adjusted"] == pytest.approx(lookup(snapshot_verdicts(an, 2025), "69123", "total").iloc[0]["p_adjusted"])
    # A filtered view is not a line of the bilan: it keeps its own test.
    own = overview.period_compare(an, Filters(categories=("escroqueries",)), date(2025, 12, 31), "year").iloc[0]
    assert own["p_adjusted"] == pytest.approx(an.compare_periods(Filters(categories=("escroqueries",)), kind="year", reference=date(2025, 12, 31)).iloc[0]["p_adjusted"])
