"""Period comparisons, seasonality, zones and data quality on tiny hand-checkable data."""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pytest

from observatory.analytics import Analytics, Filters, periods, poisson_test, sqrt_z
from observatory.analytics.engine import local_time_sql
from observatory.config import get_settings
from tests.incident_factory import incidents, write_snapshot


@pytest.fixture()
def settings(tmp_path):
    return get_settings(data_dir=tmp_path / "data")


def make(tmp_path, settings, **cols):
    return Analytics.from_files(write_snapshot(incidents(**cols), tmp_path / "snap"), settings)


# Tests of two Poisson counts --------------------------------------------------------------------------------------
def test_poisson_test_hand_values():
    assert poisson_test(10, 10) == pytest.approx(1.0)
    assert poisson_test(0, 10) == pytest.approx(2 * 0.5**10)  # both tails of Binomial(10, 1/2)
    # 30 vs 3: P(X >= 30 | n=33, 1/2) = (C(33,30)+C(33,31)+C(33,32)+1) / 2^33, doubled.
    assert poisson_test(30, 3) == pytest.approx(2 * (5456 + 528 + 33 + 1) / 2**33)
    assert poisson_test(20, 10, exposure_ratio=2.0) == pytest.approx(1.0)  # twice the time, twice the count
    assert poisson_test(0, 0) == 1.0
    assert sqrt_z(25, 16) == pytest.approx(2.0)


def test_periods():
    assert periods("year", date(2025, 6, 3)) == ((date(2025, 1, 1), date(2025, 12, 31)), (date(2024, 1, 1), date(2024, 12, 31)))
    assert periods("ytd", date(2024, 2, 29)) == ((date(2024, 1, 1), date(2024, 2, 29)), (date(2023, 1, 1), date(2023, 2, 28)))
    assert periods("28d", date(2025, 3, 28)) == ((date(2025, 3, 1), date(2025, 3, 28)), (date(2025, 2, 1), date(2025, 2, 28)))
    with pytest.raises(ValueError, match="inconnu"):
        periods("week", date(2025, 1, 1))


def test_compare_periods_by_group(tmp_path, settings):
    # The data end on 01/03/2025: the year is compared with the same days of 2024 (01/01–01/03), per day
    # (60 days against 61, 2024 being a leap year). The partner's data start in January 2024: both periods covered.
    an = make(
        tmp_path, settings,
        occurred_at=["2024-01-01"] + ["2024-02-01"] * 3 + ["2024-05-01"] * 4 + ["2025-02-01"] * 30 + ["2025-03-01"],
        arrondissement=["69383"] + ["69381"] * 37 + ["69382"],
    )
    c = an.compare_periods(Filters(), kind="year", by="arrondissement").set_index("arrondissement")
    assert c.loc["69381", ["current", "previous", "diff"]].tolist() == [30, 3, 27]  # May 2024 is outside the aligned period
    assert c.loc["69381", "pct_change"] == pytest.approx(9.0)
    assert c.loc["69381", "exposure_ratio"] == pytest.approx(60 / 61)
    assert c.loc["69381", "p_value"] == pytest.approx(poisson_test(30, 3, 60 / 61))
    assert c.loc["69381", "test"] == "poisson_exact"  # too few months of history to estimate a dispersion
    assert c.loc["69381", "significant"] and c.loc["69381", "unreliable"]  # previous < 20
    assert c.loc["69381", "previous_end"] == date(2024, 3, 1)
    assert np.isnan(c.loc["69382", "pct_change"])
    assert c.loc["69382", "group"] == "69382"
    assert c.attrs["reference"] == date(2025, 3, 1)  # last day in the data, not today
    total = an.compare_periods(Filters(), kind="ytd")
    # YTD to 01/03/2025 vs to 01/03/2024: 31 vs 4.
    assert total.loc[0, ["group", "current", "previous"]].tolist() == ["total", 31, 4]
    # The filter's own period is replaced by the comparison periods, other restrictions kept.
    assert an.compare_periods(Filters(start="2025-03-01", arrondissements=["69382"])).loc[0, "current"] == 1


def test_contributions_to_change(tmp_path, settings):
    an = make(
        tmp_path, settings,
        occurred_at=["2024-06-01"] * 20 + ["2025-06-01"] * 25,
        category=["escroqueries"] * 10 + ["incivilites"] * 10 + ["escroqueries"] * 20 + ["incivilites"] * 5,
    )
    c = an.contributions(Filters(), by="category").set_index("category")
    assert c.loc["escroqueries", "diff"] == 10 and c.loc["incivilites", "diff"] == -5
    assert c.loc["escroqueries", "share_of_change"] == pytest.approx(2.0)
    assert c.loc["incivilites", "share_of_change"] == pytest.approx(-1.0)
    assert c.attrs["total_diff"] == 5


# Time zone --------------------------------------------------------------------------------------------------------
def test_paris_hours_across_daylight_saving(tmp_path, settings):
    an = make(tmp_path, settings, occurred_at=pd.to_datetime(["2025-03-30 00:30", "2025-03-30 01:30", "2025-10-26 00:30", "2025-10-26 01:30"], utc=True))
    h = an.counts(Filters(), by=("hour",))
    # UTC 00:30 → 01:30 CET, 01:30 → 03:30 CEST (after the switch); in October 00:30 → 02:30 CEST, 01:30 → 02:30 CET.
    assert h.set_index("hour")["count"].to_dict() == {1: 1, 2: 2, 3: 1}


@pytest.mark.parametrize("icu", [True, False])
def test_arithmetic_local_time_matches_icu(icu):
    con = duckdb.connect()
    con.execute("LOAD icu")
    # Every 37 minutes over 1975–2030 (before, across and after the table's range), plus each change ± 1 µs.
    instants = pd.date_range("1975-01-01", "2030-12-31", freq="37min", tz="UTC")
    edges = pd.to_datetime(["2025-03-30 01:00", "2025-10-26 01:00", "1996-10-27 01:00"], utc=True)
    edges = edges.append([edges - pd.Timedelta("1us"), edges + pd.Timedelta("1us")])
    df = pd.DataFrame({"occurred_at": instants.append(edges).astype("datetime64[us, UTC]")})  # noqa: F841
    inside = "occurred_at >= TIMESTAMPTZ '1981-01-01 00:00:00+00'"
    where = "TRUE" if icu else inside  # without ICU, times before 1981 are approximated (CET)
    bad = con.execute(f"SELECT count(*) FROM df WHERE {where} AND {local_time_sql(icu)} <> timezone('Europe/Paris', occurred_at)").fetchone()[0]
    assert bad == 0


# Seasonality ------------------------------------------------------------------------------------------------------
def test_monthly_profile_same_month_and_hour_weekday(tmp_path, settings):
    an = make(
        tmp_path, settings,
        occurred_at=["2024-01-08 10:00"] * 4 + ["2025-01-06 10:00", "2025-01-07 23:00", "2025-03-05 12:00"],
        time_precision=["hour"] * 6 + ["month"],
    )
    p = an.monthly_profile(Filters()).set_index(["year", "month_of_year"])
    assert len(p) == 24
    assert p.loc[(2025, 1), "count"] == 2 and p.loc[(2025, 2), "count"] == 0
    # Per observed day: the data end on 05/03/2025, so 2025 has 31 + 28 + 5 = 64 observed days (not 12 months).
    assert p.loc[(2025, 1), "seasonal_index"] == pytest.approx((2 / 31) / (3 / 64))
    assert pd.isna(p.loc[(2025, 4), "seasonal_index"]) and p.loc[(2025, 4), "days"] == 0  # April 2025 not observed yet
    assert p.loc[(2024, 1), "days"] == 24  # the data start on 08/01/2024
    s = an.same_month(Filters(), month=1)
    assert s[["year", "current", "previous", "diff"]].values.tolist() == [[2025, 2, 4, -2]]
    hw = an.hour_weekday(Filters())
    assert len(hw) == 168 and hw["count"].sum() == 6
    assert hw.set_index(["weekday", "hour"]).loc[(0, 10), "count"] == 5  # Mondays 08/01/2024 ×4 and 06/01/2025
    assert hw.attrs["excluded_imprecise"] == 1


# Zones ------------------------------------------------------------------------------------------------------------
def test_inside_outside(tmp_path, settings):
    an = make(
        tmp_path, settings,
        occurred_at=["2024-04-01"] * 20 + ["2025-04-01"] * 40,
        zones=[["hypercentre"]] * 10 + [[]] * 10 + [["hypercentre"]] * 30 + [["qpv_moncey"]] * 10,
    )
    io = an.inside_outside(Filters(zones=["hypercentre"])).set_index("area")  # the zone filter is dropped
    assert io.loc["inside", ["current", "previous"]].tolist() == [30, 10]
    assert io.loc["outside", ["current", "previous"]].tolist() == [10, 10]
    assert io.loc["inside", "share_current"] == pytest.approx(0.75)
    assert io.loc["inside", "p_value_vs_outside"] == pytest.approx(poisson_test(30, 10))
    assert io.loc["inside", "significant_vs_outside"]


def test_pool_seasons(tmp_path, settings):
    an = make(
        tmp_path, settings,
        occurred_at=["2024-07-10"] * 2 + ["2025-07-10"] * 9 + ["2025-01-10"] * 3 + ["2025-12-31"],
        zones=[["piscine_tony_bertrand"]] * 14 + [[]],  # the last one, elsewhere, closes the year of data
    )
    ps = an.pool_seasons(Filters()).set_index("zone_id")
    row = ps.loc["piscine_tony_bertrand"]
    assert (row["in_season"], row["out_season"], row["in_months"]) == (9, 3, 3)
    assert (row["in_days"], row["out_days"]) == (92, 273)
    assert row["ratio"] == pytest.approx((9 / 92) / (3 / 273))  # per day in season vs per day out of season
    assert row["p_value"] == pytest.approx(poisson_test(9, 3, 92 / 273))
    assert row["previous_in_season"] == 2 and row["previous_years"] == 1
    assert "piscine_delessert" not in ps.index  # open all year: no season to compare


# Data quality -----------------------------------------------------------------------------------------------------
def test_coverage_gaps_zeros_and_low(tmp_path, settings):
    a_months = ["2025-01", "2025-02", "2025-03", "2025-05", "2025-06"]
    occurred = [f"{m}-10" for m in a_months for _ in range(20)] + ["2025-01-03", "2025-03-03"] + ["2025-07-01"] * 4
    source = ["police_nationale"] * 100 + ["mediateurs"] * 2 + ["police_nationale"] * 4
    an = make(tmp_path, settings, occurred_at=occurred, source=source, source_id=[str(i) for i in range(len(occurred))])
    cov = an.coverage(Filters())
    pn = cov[cov["source"] == "police_nationale"].set_index(cov[cov["source"] == "police_nationale"]["month"].dt.strftime("%Y-%m"))
    assert pn.loc["2025-04", "status"] == "gap" and pd.isna(pn.loc["2025-04", "count"])
    assert pn.loc["2025-07", "status"] == "low" and pn.loc["2025-01", "status"] == "ok"
    med = cov[cov["source"] == "mediateurs"]
    assert med["status"].tolist() == ["ok", "zero", "ok"] and med["count"].tolist() == [1, 0, 1]


def test_location_quality_unmapped_and_quarantine(tmp_path, settings):
    an = make(
        tmp_path, settings,
        location_quality=["point", "address", "sector", "none"],
        source=["tcl", "tcl", "tcl", "bailleurs"],
        source_id=["1", "2", "3", "4"],
        category=["non_classe", "non_classe", "escroqueries", "non_classe"],
        raw_label=["Tag", "Tag", "x", "Squat"],
    )
    lq = an.location_quality(Filters()).set_index("source")
    assert lq.loc["tcl", ["incidents", "without_point"]].tolist() == [3, 1]
    assert lq.loc["total", "share_without_point"] == pytest.approx(0.5)
    um = an.unmapped_labels(Filters())
    assert um[["source", "raw_label", "count"]].values.tolist() == [["tcl", "Tag", 2], ["bailleurs", "Squat", 1]]
    q = an.quarantine_counts()
    assert list(q.columns) == ["source", "source_file", "column", "reason", "count"] and q.empty


def test_vectorised_poisson_tests_equal_scipy():
    from scipy import stats

    from observatory.analytics.compare import poisson_tests

    rng = np.random.default_rng(0)
    a = rng.integers(0, 400, 300)
    b = rng.integers(0, 400, 300)
    a[:5], b[:5] = [0, 7, 10, 0, 50], [0, 7, 20, 3, 50]
    for ratio in (1.0, 0.5, 3.0):
        ours = poisson_tests(a, b, ratio)
        ref = [1.0 if x + y == 0 else stats.binomtest(int(x), int(x + y), ratio / (1 + ratio)).pvalue for x, y in zip(a, b)]
        assert np.allclose(ours, ref, rtol=1e-9, atol=1e-15)
