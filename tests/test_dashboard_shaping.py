"""Display shaping, filter ↔ URL round trips, method notes and export naming, on tiny hand-checkable data."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from observatory.analytics.filters import Filters, FiltersError
from observatory.dashboard import shaping
from observatory.dashboard.app import query_from_values, values_from_query
from observatory.dashboard.exporting import describe_filters, file_stem
from observatory.dashboard.geo import cell_centres


def test_coverage_matrix_fills_missing_months_with_zero():
    counts = pd.DataFrame({"source": ["tcl", "tcl", "pn"], "month": pd.to_datetime(["2025-01-01", "2025-03-01", "2025-02-01"]), "count": [4, 2, 7]})
    m = shaping.coverage_matrix(counts, ["pn", "tcl"], date(2025, 1, 1), date(2025, 3, 31))
    assert len(m) == 6
    tcl = m[m["source"] == "tcl"].set_index("month")["count"].tolist()
    assert tcl == [4, 0, 2]
    gaps = shaping.missing_months(m)
    assert sorted(zip(gaps["source"], gaps["mois"])) == [("pn", "janvier 2025"), ("pn", "mars 2025"), ("tcl", "février 2025")]


def test_top_changes_orders_by_absolute_change():
    cmp = pd.DataFrame({"g": list("abc"), "diff": [5, -9, 1], "significant": [True, False, True]})
    assert shaping.top_changes(cmp, 2)["g"].tolist() == ["b", "a"]
    assert shaping.top_changes(cmp, 5, significant_only=True)["g"].tolist() == ["a", "c"]


def test_year_to_date_and_comparison_kind():
    f = Filters()
    assert shaping.comparison_kind(date(2025, 12, 31)) == "year"
    assert shaping.comparison_kind(date(2025, 6, 30)) == "ytd"
    ytd = shaping.year_to_date(f, date(2025, 6, 30))
    assert (ytd.start, ytd.end) == (date(2025, 1, 1), date(2025, 6, 30))
    later = shaping.year_to_date(Filters(start="2025-03-01"), date(2025, 6, 30))
    assert later.start == date(2025, 3, 1)


def test_season_comparison_means_per_month():
    monthly = pd.DataFrame({"month": pd.date_range("2025-01-01", periods=12, freq="MS"), "count": [1] * 5 + [10, 10, 10] + [1] * 4})
    s = shaping.season_comparison(monthly, (6, 7, 8)).set_index("period")["mean_per_month"]
    assert s["saison"] == 10 and s["hors saison"] == 1


def test_zone_summary_pai():
    rates = pd.DataFrame({"zone_id": ["z"], "kind": ["qpv"], "name": ["Z"], "count": [50], "area_km2": [1.0], "rate_per_km2": [50.0], "note": [""]})
    cmp = pd.DataFrame({"zone": ["z"], "current": [30], "previous": [20], "diff": [10], "pct_change": [0.5], "p_value": [0.2], "significant": [False], "unreliable": [False]})
    out = shaping.zone_summary(rates, cmp, city_total=500, city_km2=50.0)
    # 10 % of the facts on 2 % of the area
    assert out.loc[0, "pai"] == pytest.approx(5.0)
    assert out.loc[0, "current"] == 30


def test_inside_outside_splits_the_city_series():
    city = pd.DataFrame({"month": pd.to_datetime(["2025-01-01", "2025-02-01"]), "count": [10, 8]})
    inside = pd.DataFrame({"month": pd.to_datetime(["2025-02-01"]), "count": [3]})
    out = shaping.inside_outside(inside, city)
    assert out[out["where"] == "dedans"]["count"].tolist() == [0, 3]
    assert out[out["where"] == "dehors"]["count"].tolist() == [10, 5]


def test_location_quality_table_shares_and_total_row():
    c = pd.DataFrame({"source": ["a", "a", "b"], "location_quality": ["point", "none", "sector"], "count": [3, 1, 4]})
    t = shaping.location_quality_table(c).set_index("source")
    assert t.loc["a", "point"] == pytest.approx(0.75)
    assert t.loc["a", "sans_point"] == pytest.approx(0.25)
    assert t.loc["__all__", "total"] == 8
    assert t.loc["__all__", "partenaire"] == "Tous partenaires"


def test_quarantine_summary_counts_and_example():
    q = pd.DataFrame({"source": ["tcl"] * 3, "reason": ["date invalide", "date invalide", "hors territoire"], "column": ["date", "date", None], "source_file": ["f.csv"] * 3, "source_row": [4, 9, 12], "original": ['{"date": "32/01"}', "{}", "{}"]})
    s = shaping.quarantine_summary(q)
    assert s.loc[0, "rows"] == 2 and s.loc[0, "reason"] == "date invalide"
    assert s.loc[0, "example"].startswith("f.csv, ligne 4")


def test_filter_controls_round_trip_through_the_url():
    q = query_from_values("2025-01-01", "2025-06-30", ["atteintes_biens"], [], ["tcl"], ["69381"], [], [20, 23], [4, 5])
    assert q == {"start": "2025-01-01", "end": "2025-06-30", "families": "atteintes_biens", "sources": "tcl", "arrondissements": "69381", "hours": "20,21,22,23", "weekdays": "4,5"}
    values = values_from_query(q)
    assert values == ("2025-01-01", "2025-06-30", ["atteintes_biens"], [], ["tcl"], ["69381"], [], [20, 23], [4, 5])
    # The full hour range and every weekday mean "no restriction" and leave the URL clean.
    assert query_from_values(None, None, [], [], [], [], [], [0, 23], list(range(7))) == {}


def test_bad_url_values_raise_a_french_error():
    with pytest.raises(FiltersError):
        values_from_query({"hours": "99"})


def test_export_names_and_metadata_carry_the_filters():
    f = Filters(start="2025-01-01", end="2025-12-31", arrondissements=("69382",), families=("atteintes_biens",))
    stem = file_stem("Faits par mois", f)
    assert stem.startswith("faits-par-mois") and "2025-01-01" in stem and "69382" in stem
    text = describe_filters(f)
    assert "du 01/01/2025 au 31/12/2025" in text and "Lyon 2e" in text and "Atteintes aux biens" in text


def test_cell_centres_are_generalised_to_the_cell_middle():
    centres = cell_centres(pd.Series(["E4215_N32597", None]), 200)
    # E4215 → x = 843 000 + 100, N32597 → y = 6 519 400 + 100 (Lambert-93): central Lyon
    assert 4.83 < centres.loc[0, "lon"] < 4.86 and 45.75 < centres.loc[0, "lat"] < 45.78
    assert round(centres.loc[0, "lon"], 5) == centres.loc[0, "lon"]
    assert pd.isna(centres.loc[1, "lon"])


def test_actions_matching_follows_categories_families_places_and_period():
    acts = pd.DataFrame({
        "action_id": ["a", "b", "c"],
        "title": ["A", "B", "C"],
        "start": pd.to_datetime(["2023-04-01", "2022-10-01", "2025-05-01"]),
        "end": pd.to_datetime([None, "2023-09-30", "2025-09-30"]),
        "arrondissement": ["69383", "69388", "69382"],
        "zone_id": ["", "qpv_mermoz", "hypercentre"],
        "categories": [("vols_sans_violence_personnes",), ("cambriolages_logement",), ("trafic_stupefiants",)],
    })
    ids = lambda f, **kw: shaping.actions_matching(acts, f, **kw)["action_id"].tolist()  # noqa: E731
    assert ids(Filters()) == ["b", "a", "c"]  # sorted by start
    assert ids(Filters(categories=("cambriolages_logement",))) == ["b"]
    assert ids(Filters(arrondissements=("69383", "69382"))) == ["a", "c"]
    assert ids(Filters(zones=("hypercentre",))) == ["c"]
    # b ended 30/09/2023: not active in 2024; a is still running (no end).
    assert ids(Filters(start=date(2024, 1, 1), end=date(2024, 12, 31))) == ["a"]
    from observatory import schema

    fam = schema.categories()["trafic_stupefiants"].family
    assert "c" in ids(Filters(families=(fam,)))
    assert ids(Filters(families=(fam,), categories=("cambriolages_logement",))) == [] or fam == schema.categories()["cambriolages_logement"].family
