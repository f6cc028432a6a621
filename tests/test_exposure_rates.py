"""Exposure rates: hand-computed intervals and tests, exposure over windows, and the comparison's false-alarm rate."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from observatory.exposure.format import FLOW, STOCK, hour_band_hours
from observatory.exposure.rates import compare_rates, rate_interval, shifted_year, window_exposure
from observatory.exposure.tables import holm


def test_zero_count_interval_is_minus_log_alpha_over_exposure():
    # k = 0: P(X = 0) = exp(-μ) = 0.025 → μ = −ln 0.025 = 3.6889; the lower bound is 0.
    r = rate_interval(0, 1000.0, per=1000)
    assert r.rate == 0 and r.low == 0
    assert r.high == pytest.approx(-math.log(0.025), rel=1e-9)


def test_one_count_interval_by_hand():
    # k = 1: lower μ with P(X ≥ 1) = 0.025 → 1 − e^{−μ} = 0.025 → μ = −ln 0.975 = 0.025318;
    # upper μ with P(X ≤ 1) = 0.025 → e^{−μ}(1 + μ) = 0.025, solved by bisection here, not by the library.
    lo, hi = 0.0, 20.0
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if math.exp(-mid) * (1 + mid) > 0.025 else (lo, mid)
    r = rate_interval(1, 2.0)
    assert r.rate == 0.5
    assert r.low == pytest.approx(-math.log(0.975) / 2, rel=1e-9)
    assert r.high == pytest.approx(lo / 2, rel=1e-9)
    assert lo == pytest.approx(5.5716, abs=1e-4)  # Garwood's table


def test_pool_rate_per_100000_entries_matches_the_chi_square_form():
    # 10 incidents for 50,000 entries: 20 per 100,000; Garwood bounds χ²(0.025; 20)/2 = 4.795 and χ²(0.975; 22)/2 = 18.390.
    r = rate_interval(10, 50_000, per=100_000)
    assert r.rate == pytest.approx(20.0)
    assert r.low == pytest.approx(stats.chi2.ppf(0.025, 20) / 2 * 2, rel=1e-9)
    assert r.high == pytest.approx(stats.chi2.ppf(0.975, 22) / 2 * 2, rel=1e-9)
    assert (r.low, r.high) == pytest.approx((9.591, 36.78), abs=0.01)


def test_no_exposure_gives_no_rate():
    assert math.isnan(rate_interval(3, 0).rate)


@pytest.mark.parametrize("c1,e1,c2,e2,p", [
    (0, 1.0, 5, 1.0, 2 * 0.5 ** 5),  # all five in the second unit: P(0) + P(5) under Bin(5, ½)
    (2, 1.0, 0, 1.0, 0.5),  # P(X = 2) + P(X = 0) = ¼ + ¼
    (10, 2.0, 5, 1.0, 1.0),  # equal rates (10/2 = 5/1): the observed count is the binomial's mode
])
def test_conditional_test_by_hand(c1, e1, c2, e2, p):
    assert compare_rates(c1, e1, c2, e2).p_value == pytest.approx(p, rel=1e-9)


def test_exposure_is_the_offset_of_the_comparison():
    # Twice the incidents with twice the attendance: same risk, ratio 1, nothing to report.
    same = compare_rates(60, 200_000, 30, 100_000)
    assert same.ratio == pytest.approx(1.0) and same.p_value > 0.9
    # The same counts read without exposure would look like a doubling.
    naive = compare_rates(60, 1, 30, 1)
    assert naive.ratio == 2.0 and naive.p_value < 0.01


def test_ratio_interval_is_clopper_pearson_transformed():
    c1, e1, c2, e2 = 10, 2.0, 5, 3.0
    n = c1 + c2
    pl, pu = stats.beta.ppf(0.025, c1, n - c1 + 1), stats.beta.ppf(0.975, c1 + 1, n - c1)
    cmp = compare_rates(c1, e1, c2, e2)
    assert cmp.ratio == pytest.approx((10 / 2) / (5 / 3))
    assert cmp.low == pytest.approx(pl / (1 - pl) * e2 / e1, rel=1e-7)
    assert cmp.high == pytest.approx(pu / (1 - pu) * e2 / e1, rel=1e-7)
    assert cmp.low < cmp.ratio < cmp.high
    ci = stats.binomtest(c1, n, e1 / (e1 + e2)).proportion_ci(method="exact")
    assert cmp.low == pytest.approx(ci.low / (1 - ci.low) * e2 / e1, rel=1e-7)
    assert cmp.change == pytest.approx(cmp.ratio - 1)


def test_false_alarm_rate_under_no_change_with_varying_exposure():
    """Same risk in both periods, attendance varying from half to double: the test alarms at most 5 % of the time
    (it is exact, hence a little conservative), while ignoring exposure alarms most of the time."""
    rng = np.random.default_rng(2326)
    n = 3000
    risk = 15 / 100_000  # incidents per entry
    e1 = rng.uniform(50_000, 400_000, n)
    e2 = e1 * np.exp(rng.uniform(np.log(0.5), np.log(2.0), n))
    c1, c2 = rng.poisson(risk * e1), rng.poisson(risk * e2)
    alarms = np.array([compare_rates(a, x, b, y).p_value < 0.05 for a, x, b, y in zip(c1, e1, c2, e2)])
    naive = np.array([compare_rates(a, 1.0, b, 1.0).p_value < 0.05 for a, b in zip(c1, c2)])
    se = math.sqrt(0.05 * 0.95 / n)
    assert alarms.mean() <= 0.05 + 3 * se
    assert alarms.mean() >= 0.02  # conservative, not blind
    assert naive.mean() > 0.2  # measured 0.30 with this seed


def test_holm_by_hand():
    adjusted = holm(pd.Series([0.01, 0.04, 0.03, np.nan]))
    # sorted 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 = 0.04 → running maximum 0.06
    assert adjusted.iloc[:3].tolist() == pytest.approx([0.03, 0.06, 0.06])
    assert math.isnan(adjusted.iloc[3])


def _rows(*rows):
    return pd.DataFrame([{"detail": d, "period_start": a, "period_end": b, "hour_band": band, "value": v} for d, a, b, band, v in rows])


def test_flow_exposure_sums_months_and_prorates_the_edges():
    rows = _rows(("A", date(2024, 1, 1), date(2024, 1, 31), "00-24", 310.0), ("A", date(2024, 2, 1), date(2024, 2, 29), "00-24", 290.0))
    assert window_exposure(rows, date(2024, 1, 1), date(2024, 2, 29), FLOW).value == pytest.approx(600.0)
    # 16 days of January (10 a day) and 14 days of February (10 a day)
    assert window_exposure(rows, date(2024, 1, 16), date(2024, 2, 14), FLOW).value == pytest.approx(300.0)


def test_a_missing_month_refuses_the_rate_and_names_it():
    rows = _rows(("Bellecour", date(2024, 1, 1), date(2024, 1, 31), "00-24", 310.0))
    exp = window_exposure(rows, date(2024, 1, 1), date(2024, 2, 29), FLOW)
    assert not exp.known and "Bellecour" in exp.reason and "01/02/2024" in exp.reason and "29/02/2024" in exp.reason
    # A pool log lists open months only: within a year it covers, an absent month is a closure.
    closed = window_exposure(rows, date(2024, 1, 1), date(2024, 2, 29), FLOW, absent="zero", covered_years={2024})
    assert closed.known and closed.value == pytest.approx(310.0)
    outside = window_exposure(rows, date(2024, 1, 1), date(2025, 1, 31), FLOW, absent="zero", covered_years={2024})
    assert not outside.known


def test_stations_of_a_zone_add_up_and_each_must_be_complete():
    rows = _rows(("A", date(2024, 3, 1), date(2024, 3, 31), "00-24", 100.0), ("B", date(2024, 3, 1), date(2024, 3, 31), "00-24", 50.0))
    assert window_exposure(rows, date(2024, 3, 1), date(2024, 3, 31), FLOW).value == pytest.approx(150.0)


def test_stock_exposure_is_unit_years_and_a_vintage_holds_until_the_next():
    one = _rows(("69381", date(2021, 1, 1), date(2021, 12, 31), "00-24", 1000.0))
    assert window_exposure(one, date(2024, 1, 1), date(2024, 12, 31), STOCK).value == pytest.approx(1000 * 366 / 365.25)
    assert window_exposure(one, date(2019, 1, 1), date(2019, 12, 31), STOCK).value == pytest.approx(1000 * 365 / 365.25)
    two = _rows(("69381", date(2021, 1, 1), date(2021, 12, 31), "00-24", 1000.0), ("69381", date(2023, 1, 1), date(2023, 12, 31), "00-24", 1200.0))
    assert window_exposure(two, date(2022, 1, 1), date(2023, 12, 31), STOCK).value == pytest.approx((1000 * 365 + 1200 * 365) / 365.25)


def test_hour_bands_of_people_present():
    rows = _rows(("HC", date(2025, 1, 1), date(2025, 12, 31), "07-19", 120.0), ("HC", date(2025, 1, 1), date(2025, 12, 31), "19-24", 48.0),
                 ("HC", date(2025, 1, 1), date(2025, 12, 31), "00-07", 24.0))
    # all day: 120·12/24 + 48·5/24 + 24·7/24 = 60 + 10 + 7 = 77 people present on average, over 365 days
    assert window_exposure(rows, date(2025, 1, 1), date(2025, 12, 31), STOCK).value == pytest.approx(77 * 365 / 365.25)
    assert window_exposure(rows, date(2025, 1, 1), date(2025, 12, 31), STOCK, hour_band="07-19").value == pytest.approx(60 * 365 / 365.25)
    partial = rows.iloc[:2]
    exp = window_exposure(partial, date(2025, 1, 1), date(2025, 12, 31), STOCK)
    assert not exp.known and "tranches horaires incomplètes" in exp.reason


def test_hour_band_wraps_midnight_and_leap_day_shifts():
    assert hour_band_hours("22-06") == (22, 30)
    assert hour_band_hours("25-03") is None
    assert shifted_year(date(2024, 2, 29)) == date(2023, 2, 28)


def test_pearson_dispersion_and_the_quasi_poisson_comparison_by_hand():
    from observatory.exposure.rates import pearson_dispersion

    # (4−2)²/2 + (0−2)²/2 + (2−2)²/2 + (6−2)²/2 + (0−2)²/2 + (0−2)²/2 = 2 + 2 + 0 + 8 + 2 + 2 = 16, over 6 − 2 = 4 cells
    assert pearson_dispersion([4, 0, 2, 6, 0, 0], [2, 2, 2, 2, 2, 2]) == pytest.approx(4.0)
    assert pearson_dispersion([1, 2], [1, 2]) == 1.0  # too few cells to estimate anything
    cmp = compare_rates(40, 2.0, 20, 2.0, dispersion=4.0)
    se = math.sqrt(4.0 * (1 / 40 + 1 / 20))
    assert cmp.ratio == pytest.approx(2.0)
    assert cmp.p_value == pytest.approx(2 * stats.norm.sf(math.log(2.0) / se))
    assert (cmp.low, cmp.high) == pytest.approx((2.0 * math.exp(-1.959964 * se), 2.0 * math.exp(1.959964 * se)), rel=1e-5)
    assert compare_rates(40, 2.0, 20, 2.0).p_value < 0.05 < cmp.p_value  # the exact test alone would conclude
    with_t = compare_rates(40, 2.0, 20, 2.0, dispersion=4.0, dispersion_df=22)  # φ estimated from 24 months
    assert with_t.p_value == pytest.approx(2 * stats.t(22).sf(math.log(2.0) / se)) and with_t.p_value > cmp.p_value


def test_overdispersed_months_need_the_quasi_poisson_test():
    """Same risk both years, but monthly counts vary more than Poisson (a gamma-distributed monthly rate): the exact
    test on the yearly sums raises far too many alarms; with φ estimated from the 24 months it stays near its level."""
    from observatory.exposure.rates import pearson_dispersion

    rng = np.random.default_rng(23)
    n, shape = 1500, 4.0  # gamma shape 4: monthly rate varies ±50 %
    exposure = rng.uniform(5_000, 40_000, (n, 2, 12))  # entries per month, each year
    risk = 15 / 100_000
    counts = rng.poisson(risk * exposure * rng.gamma(shape, 1 / shape, (n, 2, 12)))
    exact, quasi = [], []
    for c, e in zip(counts, exposure):
        k, x = c.sum(axis=1), e.sum(axis=1)
        expected = e * (k / x)[:, None]
        phi = max(1.0, pearson_dispersion(c.ravel(), expected.ravel()))
        exact.append(compare_rates(k[0], x[0], k[1], x[1]).p_value < 0.05)
        quasi.append(compare_rates(k[0], x[0], k[1], x[1], dispersion=phi, dispersion_df=22).p_value < 0.05)
    assert np.mean(exact) > 0.12  # measured 0.168 with this seed
    assert np.mean(quasi) < 0.08  # measured 0.065: Wald on the log ratio is a little liberal at ~40 counts a year
