"""Filters, the engine and the simplest indicators on tiny hand-checkable data."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from observatory.analytics import Analytics, Filters, FiltersError, get_analytics
from observatory.config import get_settings

from tests.incident_factory import incidents, write_snapshot


@pytest.fixture()
def settings(tmp_path):
    return get_settings(data_dir=tmp_path / "data")


def make(tmp_path, settings, **cols):
    files = write_snapshot(incidents(**cols), tmp_path / "snap")
    return Analytics.from_files(files, settings)


# Filters --------------------------------------------------------------------------------------------------------
def test_filters_normalise_and_round_trip_through_query():
    f = Filters(start="2025-01-01", end=date(2025, 3, 31), categories=["b", "a", "a"], hours="22,3", weekdays=[6])
    assert f.categories == ("a", "b")
    assert f.hours == (3, 22)
    q = f.to_query()
    assert q == {"start": "2025-01-01", "end": "2025-03-31", "categories": "a,b", "hours": "3,22", "weekdays": "6"}
    assert Filters.from_query(q) == f
    assert Filters.from_query({"start": ["2025-01-01"], "page": "x"}) == Filters(start=date(2025, 1, 1))
    assert hash(f) == hash(Filters.from_query(q))


@pytest.mark.parametrize(
    "query, word",
    [({"start": "01/02/2025"}, "start"), ({"hours": "25"}, "hours"), ({"weekdays": "lundi"}, "weekdays"),
     ({"start": "2025-02-01", "end": "2025-01-01"}, "période")],
)
def test_filters_bad_values_raise_one_clear_error(query, word):
    with pytest.raises(FiltersError, match=word):
        Filters.from_query(query)


def test_filters_apply_in_sql(tmp_path, settings):
    an = make(
        tmp_path, settings,
        occurred_at=["2024-12-31 23:30", "2025-01-01 00:10", "2025-01-06 22:00", "2025-02-01 09:00"],
        category=["escroqueries", "escroqueries", "vols_avec_armes", "incivilites"],
        arrondissement=["69381", "69382", "69382", None],
        zones=[["hypercentre"], [], ["hypercentre", "qpv_moncey"], []],
        time_precision=["hour", "hour", "hour", "month"],
    )
    total = lambda f: int(an.counts(f, by=())["count"].sum())  # noqa: E731
    assert total(Filters()) == 4
    # Days are Paris days: 23:30 on 31/12 belongs to 2024 even though it is 22:30 UTC.
    assert total(Filters(start="2025-01-01")) == 3
    assert total(Filters(end="2024-12-31")) == 1
    assert total(Filters(categories=["escroqueries"])) == 2
    assert total(Filters(families=["atteintes_biens"])) == 1
    assert total(Filters(arrondissements=["69382"])) == 2
    assert total(Filters(zones=["qpv_moncey", "qpv_mermoz"])) == 1
    assert total(Filters(zones=["hypercentre"])) == 2
    assert total(Filters(hours=[22, 23])) == 2  # the month-precision row is never in an hour view
    assert total(Filters(weekdays=[0])) == 1  # 06/01/2025 is a Monday; 01/01/2025 a Wednesday
    assert total(Filters(weekdays=[1, 2, 3, 4, 5, 6])) == 2  # month-precision row excluded


def test_user_values_are_parameters_not_sql(tmp_path, settings):
    an = make(tmp_path, settings, category=["escroqueries"])
    evil = Filters(categories=["x') OR TRUE --"])
    assert an.counts(evil, by=()).loc[0, "count"] == 0
    with pytest.raises(ValueError, match="regroupement inconnu"):
        an.counts(Filters(), by=("category; DROP TABLE x",))


# Counts and rates -----------------------------------------------------------------------------------------------
def test_counts_by_keys_and_hour_exclusion(tmp_path, settings):
    an = make(
        tmp_path, settings,
        occurred_at=["2025-03-03 08:15", "2025-03-03 08:45", "2025-03-04 21:00", "2025-03-05 12:00"],
        time_precision=["hour", "hour", "hour", "day"],
        n_facts=[1, 3, 1, 1],
        zones=[["a", "b"], ["a"], [], []],
    )
    by_hour = an.counts(Filters(), by=("hour",))
    assert by_hour[["hour", "count"]].to_dict("list") == {"hour": [8, 21], "count": [2, 1]}
    assert by_hour.attrs["excluded_imprecise"] == 1
    assert an.counts(Filters(), by=()).loc[0, "facts"] == 6
    wd = an.counts(Filters(), by=("weekday",))
    assert wd[["weekday", "count"]].to_dict("list") == {"weekday": [0, 1, 2], "count": [2, 1, 1]}
    z = an.counts(Filters(), by=("zone",))
    assert z[["zone", "count"]].to_dict("list") == {"zone": ["a", "b"], "count": [2, 1]}


def test_rates_by_arrondissement_per_1000(tmp_path, settings):
    an = make(tmp_path, settings, arrondissement=["69381"] * 3 + ["69382"] + [None])
    pops = an.territory.arrondissements.set_index("code")["population"]
    r = an.rates_by_arrondissement(Filters()).set_index("arrondissement")
    assert len(r) == 10  # nine arrondissements with zeros, and the city
    assert r.loc["69381", "count"] == 3
    # Every fact on 15/01/2025, the only day of data: one day observed, so the yearly rate is 365 times the day's.
    assert r.attrs["years"] == pytest.approx(1 / 365)
    assert r.loc["69381", "rate_per_1000"] == pytest.approx(3 / pops["69381"] * 1000 * 365)
    assert r.loc["69383", "count"] == 0
    assert r.loc["69123", "count"] == 5  # the unknown arrondissement still counts in the city
    assert r.loc["69123", "population"] == pops.sum()
    assert "visiteurs" in r.loc["69382", "note"]


def test_rates_by_zone_per_km2(tmp_path, settings):
    an = make(tmp_path, settings, zones=[["hypercentre"], ["hypercentre"], ["qpv_mermoz"], ["qpv_mermoz"]],
              location_quality=["point", "address", "point", "sector"])
    z = an.rates_by_zone(Filters(), kinds=("hypercentre", "qpv")).set_index("zone_id")
    area = an.territory.zones.set_index("zone_id")["area_km2"]
    assert z.loc["hypercentre", "rate_per_km2"] == pytest.approx(2 / area["hypercentre"] * 365)  # one day of data, per year
    # A record attached to Mermoz by its quarter name only (no point) is shown apart, not counted inside.
    assert (z.loc["qpv_mermoz", "count"], z.attrs["placed_by_name"]["qpv_mermoz"]) == (1, 1)
    assert z.loc["qpv_duchere", "count"] == 0
    assert set(z["kind"]) == {"hypercentre", "qpv"}


def test_monthly_series_fills_missing_months(tmp_path, settings):
    an = make(tmp_path, settings, occurred_at=["2025-01-10", "2025-01-20", "2025-04-02"], category=["escroqueries", "incivilites", "escroqueries"])
    s = an.monthly_series(Filters())
    assert s["month"].dt.strftime("%Y-%m").tolist() == ["2025-01", "2025-02", "2025-03", "2025-04"]
    assert s["count"].tolist() == [2, 0, 0, 1]
    by = an.monthly_series(Filters(start="2025-01-01", end="2025-02-28"), by="category")
    assert len(by) == 4 and by["count"].sum() == 2


def test_cache_returns_equal_results_that_callers_cannot_corrupt(tmp_path, settings):
    an = make(tmp_path, settings, arrondissement=["69381", "69382"])
    a = an.counts(Filters())
    a.loc[0, "count"] = 999
    a["extra"] = 1
    b = an.counts(Filters())
    assert b["count"].tolist() == [1, 1] and "extra" not in b
    assert an.cache_info()["entries"] == 1


def test_empty_and_missing_snapshot(tmp_path, settings):
    an = Analytics(settings)  # no store, no snapshot: every indicator answers with zeros
    assert an.snapshot_id == "empty"
    assert an.rates_by_arrondissement(Filters()).loc[:, "count"].sum() == 0
    assert an.compare_periods(Filters(), reference=date(2025, 6, 1)).loc[0, "current"] == 0
    assert get_analytics(settings) is get_analytics(settings)


def test_from_files_names_a_missing_file(tmp_path, settings):
    with pytest.raises(Exception, match="introuvable"):
        Analytics.from_files([tmp_path / "nope.parquet"], settings)


def test_get_analytics_follows_the_current_snapshot(tmp_path, settings):
    from tests.incident_factory import publish_snapshot

    publish_snapshot(incidents(arrondissement=["69381", "69382"]), settings, snapshot_id="20250101T000000000000Z")
    first = get_analytics(settings)
    assert first.snapshot_id == "20250101T000000000000Z"
    assert first.counts(Filters(), by=())["count"].iloc[0] == 2
    assert get_analytics(settings) is first
    publish_snapshot(incidents(arrondissement=["69381"] * 5, source_id=[str(i) for i in range(5)]), settings, snapshot_id="20250102T000000000000Z")
    second = get_analytics(settings)
    assert second is not first and second.snapshot_id == "20250102T000000000000Z"
    assert second.counts(Filters(), by=())["count"].iloc[0] == 5  # nothing stale served


def test_year_only_in_path_is_read_too(tmp_path, settings):
    files = write_snapshot(incidents(occurred_at=["2024-06-01", "2025-06-01"]), tmp_path / "s", year_in_file=False)
    an = Analytics.from_files(files, settings)
    assert an.counts(Filters(start="2025-01-01"), by=("year",))[["year", "count"]].values.tolist() == [[2025, 1]]


def test_concurrent_queries_share_one_instance(tmp_path, settings):
    from concurrent.futures import ThreadPoolExecutor

    an = make(tmp_path, settings, arrondissement=["69381", "69382", "69383"] * 10, source_id=[str(i) for i in range(30)])
    filters = [Filters(arrondissements=[a]) for a in ("69381", "69382", "69383")] * 8
    with ThreadPoolExecutor(max_workers=8) as pool:
        totals = list(pool.map(lambda f: int(an.counts(f, by=())["count"].iloc[0]), filters))
    assert totals == [10] * 24


def test_zone_grouping_respects_the_zone_filter_and_unknown_groups_stay(tmp_path, settings):
    an = make(tmp_path, settings, zones=[["hypercentre", "qpv_moncey"], ["qpv_moncey"], []],
              arrondissement=["69381", None, "69382"], occurred_at=["2025-01-05", "2025-01-06", "2025-02-07"])
    z = an.counts(Filters(zones=["qpv_moncey"]), by=("zone",))
    assert z[["zone", "count"]].values.tolist() == [["qpv_moncey", 2]]
    s = an.monthly_series(Filters(), by="arrondissement")
    assert s["count"].sum() == 3  # the incident without arrondissement is not lost
    unknown = s[s["arrondissement"].isna()]
    assert unknown["count"].tolist() == [1, 0]


def test_corrupt_parquet_gives_one_line_naming_the_file(tmp_path, settings):
    from observatory.analytics import AnalyticsError

    files = write_snapshot(incidents(occurred_at=["2024-01-01", "2025-01-01"]), tmp_path / "snap")
    raw = files[1].read_bytes()
    files[1].write_bytes(raw[: len(raw) // 2] + raw[-8:])
    with pytest.raises(AnalyticsError) as err:
        Analytics.from_files(files, settings).counts(Filters())
    msg = str(err.value)
    assert "\n" not in msg and "year=2025" in msg and "part-0.parquet" in msg
    # A file that goes bad after opening: every way the layer reads (DataFrame, numpy columns for maps and Gi*, one
    # value) says it the same way.
    files = write_snapshot(incidents(occurred_at=["2024-01-01", "2025-01-01"]), tmp_path / "snap2")
    an = Analytics.from_files(files, settings)
    raw = files[1].read_bytes()
    files[1].write_bytes(raw[: len(raw) // 2] + raw[-8:])
    for read in (lambda: an.rates_by_arrondissement(Filters()), lambda: an.hotspots(Filters()),
                 lambda: an.scalar("SELECT count(*) FROM incidents")):
        with pytest.raises(AnalyticsError, match="year=2025.*part-0.parquet"):
            read()


def test_rates_by_arrondissement_and_category(tmp_path, settings):
    an = make(tmp_path, settings, arrondissement=["69381", "69381", "69382", None],
              category=["escroqueries", "incivilites", "escroqueries", "escroqueries"], source_id=list("abcd"))
    r = an.rates_by_arrondissement(Filters(), by="category").set_index(["arrondissement", "category"])
    assert len(r) == 10 * 2  # nine arrondissements and the city, × the two categories present
    assert r.loc[("69381", "escroqueries"), "count"] == 1 and r.loc[("69383", "incivilites"), "count"] == 0
    assert r.loc[("69123", "escroqueries"), "count"] == 3
    pops = an.territory.arrondissements.set_index("code")["population"]
    assert r.loc[("69382", "escroqueries"), "rate_per_1000"] == pytest.approx(1000 / pops["69382"] * 365)  # one day of data, per year
    only = an.rates_by_arrondissement(Filters(arrondissements=["69381"]))
    assert only["arrondissement"].tolist() == ["69381", "69123"] and only["population"].tolist() == [pops["69381"]] * 2
    # An empty selection by category: no category present, so no row at all (was a merge error on the empty levels).
    empty = an.rates_by_arrondissement(Filters(categories=["vols_violents"]), by="category")
    assert empty.empty and list(empty.columns) == ["arrondissement", "category", "count", "population", "vintage", "rate_per_1000", "note"]


def test_grouped_comparison_is_corrected_for_multiple_tests():
    """Twenty groups, one with p ≈ 0.01 alone: significant uncorrected, not after Benjamini–Hochberg."""
    from observatory.analytics.compare import benjamini_hochberg, compare_counts

    current = pd.Series([140] + [100] * 19)
    previous = pd.Series([100] * 20)
    raw = compare_counts(current, previous)
    assert raw.loc[0, "p_value"] < 0.05 and raw.loc[0, "significant"]
    adjusted = benjamini_hochberg(raw["p_value"])
    # BH by hand: the smallest of 20 p-values is multiplied by 20 / 1.
    assert adjusted[0] == pytest.approx(min(1.0, raw.loc[0, "p_value"] * 20))
    assert adjusted[0] > 0.05
