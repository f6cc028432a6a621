"""Tests that fit crime counts: dispersion from the monthly history, quasi-Poisson, coverage, exposure."""

import calendar

import numpy as np
import pandas as pd
import pytest

from observatory.analytics.compare import compare_counts
from observatory.analytics.inference import POISSON_EXACT, QUASI_POISSON, dispersion, rate_tests
from observatory.analytics.verdicts import year_verdicts

YEARS = [2021, 2022, 2023, 2024, 2025]


def _simulate(seed: int, units: int = 400, phi: float = 3.0, level: float = 80.0):
    """Monthly counts with no change at all: negative binomial with variance phi × mean, a seasonal profile,
    a mean proportional to the days of each month (2024 is a leap year), and missing deliveries."""
    rng = np.random.default_rng(seed)
    season = 1 + 0.3 * np.sin(np.arange(12) / 12 * 2 * np.pi)
    rows, cov = [], []
    for u in range(units):
        scale = level * rng.uniform(0.5, 2.0)
        for y in YEARS:
            for m in range(1, 13):
                mu = scale * season[m - 1] * calendar.monthrange(y, m)[1] / 30.4
                k = mu / (phi - 1)  # NB: var = mu + mu²/k = phi·mu
                n = int(rng.negative_binomial(k, k / (k + mu)))
                # A few months without delivery (partner "p" missing); 2 % of them in the compared years.
                missing = rng.random() < (0.02 if y >= 2024 else 0.08)
                cov.append((f"p{u}", y, m, not missing))
                if not missing:
                    rows.append((str(u), y, m, f"p{u}", n))
    uc = pd.DataFrame(rows, columns=["code", "year", "month", "source", "n"]).assign(geography="69123", dimension="category")
    return uc, pd.DataFrame(cov, columns=["source", "year", "month", "covered"])


def _false_alarm_rates(seed: int) -> tuple[float, float]:
    uc, cov = _simulate(seed)
    v = year_verdicts(uc, 2025, cov)
    # After: a line is claimed "significative" on its own p-value (before the BH correction, the harder case).
    after = float(((v["p_value"] < 0.05) & v["comparable"]).mean())
    # Before: exact Poisson test on the two annual totals, equal exposures, missing months read as zeros.
    tot = uc.groupby(["code", "year"])["n"].sum().unstack()
    before = float((compare_counts(tot[2025], tot[2024])["p_value"] < 0.05).mean())
    return before, after


def test_no_change_overdispersed_counts_are_called_significant_in_at_most_5_percent():
    before, after = _false_alarm_rates(seed=20251)
    assert before > 0.3, before  # the Poisson test over-claims on these counts (≈ 0.5)
    assert after <= 0.05, after


def test_dispersion_matches_a_poisson_glm_with_year_and_month_effects():
    sm = pytest.importorskip("statsmodels.api")
    rng = np.random.default_rng(3)
    cube = rng.negative_binomial(20, 20 / (20 + 60), size=(1, 4, 12)).astype(float)
    observed = np.ones_like(cube, dtype=bool)
    observed[0, 1, 3] = observed[0, 2, 7] = False  # two months without data
    phi, df = dispersion(cube, observed)
    yy, mm = np.nonzero(observed[0])
    X = pd.get_dummies(pd.DataFrame({"y": yy.astype(str), "m": mm.astype(str)}), drop_first=True).astype(float)
    fit = sm.GLM(cube[0][observed[0]], sm.add_constant(X), family=sm.families.Poisson()).fit()
    assert df[0] == fit.df_resid
    assert phi[0] == pytest.approx(max(fit.pearson_chi2 / fit.df_resid, 1.0), rel=1e-6)


def test_small_counts_keep_the_exact_poisson_test_and_say_so():
    cube = np.ones((1, 5, 12))  # one fact a month: too few to estimate a dispersion
    phi, df = dispersion(cube)
    assert np.isnan(phi[0]) and df[0] == 0
    p, test = rate_tests([3], [12], 1.0, phi, df)
    assert test[0] == POISSON_EXACT
    p2, test2 = rate_tests([300], [360], 1.0, [2.5], [44])
    assert test2[0] == QUASI_POISSON and p2[0] > rate_tests([300], [360])[0][0]


def _two_years(first_year_data: bool, gap: bool = False) -> pd.DataFrame:
    rows = []
    for y in (2024, 2025):
        for m in range(1, 13):
            for src in ("police_nationale", "tcl"):
                if y == 2024 and not first_year_data:
                    continue
                if gap and y == 2024 and src == "tcl" and m in (3, 4):
                    continue
                rows.append(("69123", "total", "all", y, m, src, 100))
    return pd.DataFrame(rows, columns=["geography", "dimension", "code", "year", "month", "source", "n"])


def test_a_year_without_data_gives_no_comparison():
    v = year_verdicts(_two_years(first_year_data=False), 2025).iloc[0]
    assert not v["comparable"] and not v["significant"] and pd.isna(v["p_value"])
    assert v["reason"].startswith("pas de comparaison possible : pas de données") and "2024" in v["reason"]


def test_a_partner_missing_two_months_blocks_the_comparison_and_is_named():
    uc = _two_years(first_year_data=True, gap=True)
    cov = uc[["source", "year", "month"]].drop_duplicates().assign(covered=True)
    v = year_verdicts(uc, 2025, cov).iloc[0]
    assert not v["comparable"]
    assert "TCL" in v["reason"] or "tcl" in v["reason"].lower()
    assert "mars 2024" in v["reason"] and "avril 2024" in v["reason"]


def test_a_leap_year_is_compared_per_day():
    uc = _two_years(first_year_data=True)
    v = year_verdicts(uc, 2025).iloc[0]
    assert v["days_current"] == 365 and v["days_previous"] == 366
    assert v["exposure_ratio"] == pytest.approx(365 / 366)


# compare_periods on a snapshot ------------------------------------------------------------------------------------
def _daily(start: str, end: str, per_day: int = 3):
    days = pd.date_range(start, end, freq="D")
    return [d.strftime("%Y-%m-%d") for d in days for _ in range(per_day)]


def test_a_snapshot_ending_mid_july_compares_aligned_periods_by_default(tmp_path, settings):
    from observatory.analytics import Analytics, Filters
    from tests.incident_factory import incidents, write_snapshot

    # The same rate every day from 2024 to 15/07/2025: no change at all.
    dates = _daily("2024-01-01", "2025-07-15")
    an = Analytics.from_files(write_snapshot(incidents(occurred_at=dates), tmp_path / "snap"), settings)
    c = an.compare_periods(Filters()).iloc[0]
    assert (c["current_start"], c["current_end"]) == (pd.Timestamp("2025-01-01").date(), pd.Timestamp("2025-07-15").date())
    assert (c["previous_start"], c["previous_end"]) == (pd.Timestamp("2024-01-01").date(), pd.Timestamp("2024-07-15").date())
    # 196 days against 197 (2024 is a leap year): the same rate per day, no change claimed.
    assert c["exposure_ratio"] == pytest.approx(196 / 197)
    assert c["comparable"] and not c["significant"] and c["p_value"] > 0.5


def test_the_first_year_of_data_has_no_previous_year_on_the_analyst_screens(tmp_path, settings):
    from observatory.analytics import Analytics, Filters
    from tests.incident_factory import incidents, write_snapshot

    an = Analytics.from_files(write_snapshot(incidents(occurred_at=_daily("2019-01-01", "2019-12-31")), tmp_path / "snap"), settings)
    c = an.compare_periods(Filters(), kind="year").iloc[0]
    assert c["current"] > 1000 and c["previous"] == 0
    assert not c["comparable"] and not c["significant"] and pd.isna(c["p_value"])
    assert c["reason"].startswith("pas de comparaison possible : pas de données") and "2018" in c["reason"]


def test_same_month_compares_a_half_observed_june_per_day(tmp_path, settings):
    from observatory.analytics import Analytics, Filters
    from tests.incident_factory import incidents, write_snapshot

    # 4 facts a day every day of June 2024 and of 1–15 June 2025: the same rate, half the days.
    dates = _daily("2024-06-01", "2024-06-30", 4) + _daily("2025-06-01", "2025-06-15", 4)
    an = Analytics.from_files(write_snapshot(incidents(occurred_at=dates), tmp_path / "snap"), settings)
    s = an.same_month(Filters()).iloc[-1]
    assert (s["current"], s["previous"], s["days_current"], s["days_previous"]) == (60, 120, 15, 30)
    assert not s["significant"] and s["p_value"] > 0.9 and abs(s["z"]) < 0.5


def test_a_pool_season_still_running_is_compared_per_observed_day(tmp_path, settings):
    from observatory.analytics import Analytics, Filters
    from tests.incident_factory import incidents, write_snapshot

    # One fact a day in the pool's buffer, from 01/01/2024 to 15/07/2025: the same rate in and out of season.
    dates = _daily("2024-01-01", "2025-07-15", 1)
    an = Analytics.from_files(write_snapshot(incidents(occurred_at=dates, zones=[["piscine_tony_bertrand"]] * len(dates)),
                                             tmp_path / "snap"), settings)
    row = an.pool_seasons(Filters(), year=2025, previous_years=1).set_index("zone_id").loc["piscine_tony_bertrand"]
    assert (row["in_season"], row["in_days"], row["out_days"], row["previous_days"]) == (45, 45, 151, 92)
    assert row["ratio"] == pytest.approx(1.0)
    assert not row["significant"] and not row["significant_vs_previous"]  # before: "significant" falls (45 vs 92)


def test_the_all_pools_row_sums_summer_pools_only(tmp_path, settings):
    from observatory.dashboard.shaping import pool_summer_table

    seasons = pd.DataFrame({
        "zone_id": ["a", "b", "w"], "name": ["A", "B", "W"], "season": ["summer", "summer", "winter"],
        "in_season": [30, 10, 50], "previous_in_season": [20, 10, 40], "out_season": [10, 5, 5],
        "in_months": [3, 3, 9], "out_months": [9, 9, 3], "in_days": [92, 92, 273], "out_days": [273, 273, 92],
        "previous_days": [92, 92, 273], "ratio": [1.0] * 3, "p_value": [0.5] * 3, "significant": [False] * 3,
        "p_value_vs_previous": [0.5] * 3, "significant_vs_previous": [False] * 3,
    })
    t = pool_summer_table(seasons)
    assert t["name"].tolist() == ["Toutes les piscines", "A", "B"]  # the winter pool is not under « Été »
    total = t.iloc[0]
    assert (total["in_season"], total["out_season"], total["previous_in_season"]) == (40, 15, 30)
    assert total["ratio"] == pytest.approx((40 / 92) / (15 / 273))
