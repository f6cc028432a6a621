"""Display shaping, filter ↔ URL round trips, method notes and export naming, on tiny hand-checkable data."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from observatory.analytics.filters import Filters, FiltersError
from observatory.labels import NBSP
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
    # analytics.location_quality output: partner a has 3 points and 1 none, b has 4 sector-only facts.
    lq = pd.DataFrame({
        "source": ["a", "b", "total"], "incidents": [4, 4, 8], "without_point": [1, 4, 5], "share_without_point": [0.25, 1.0, 0.625],
        "point": [3, 0, 3], "address": [0, 0, 0], "sector": [0, 4, 4], "none": [1, 0, 1],
    })
    t = shaping.location_quality_table(lq)
    assert t["source"].tolist() == ["a", "b", "total"]  # the total row last
    t = t.set_index("source")
    assert t.loc["a", "point"] == pytest.approx(0.75)
    assert t.loc["a", "sans_point"] == pytest.approx(0.25)
    assert t.loc["b", "sector"] == pytest.approx(1.0)
    assert t.loc["total", "total"] == 8
    assert t.loc["total", "partenaire"] == "Tous partenaires"


def test_location_quality_table_of_an_empty_selection_has_no_division_by_zero():
    lq = pd.DataFrame({"source": ["total"], "incidents": [0], "without_point": [0], "share_without_point": [float("nan")], "point": [0], "address": [0], "sector": [0], "none": [0]})
    t = shaping.location_quality_table(lq)
    assert t.loc[0, "total"] == 0 and pd.isna(t.loc[0, "point"])


def test_reason_kind_drops_the_row_specific_details():
    assert shaping.reason_kind("point hors du territoire (à 1\u202f310 m de Lyon ; tolérance 500 m)") == "point hors du territoire"
    assert shaping.reason_kind("date illisible « le 14 juillet » (format attendu %d/%m/%Y)") == "date illisible"
    assert shaping.reason_kind("date manquante") == "date manquante"
    assert shaping.reason_kind(None) == "–"


def test_quarantine_summary_groups_reasons_by_kind_with_one_example():
    q = pd.DataFrame({
        "source": ["tcl"] * 4,
        "reason": ["date illisible « 32/01 »", "date illisible « 45/02 »", "hors territoire", "date illisible « x »"],
        "column": ["date", "date", None, "date"],
        "source_file": ["f.csv", "f.csv", "f.csv", "g.csv"],
        "source_row": [4, 9, 12, 3],
        "original": ['{"date": "32/01"}', "{}", "{}", "{}"],
    })
    s = shaping.quarantine_summary(q)
    assert len(s) == 2
    assert s.loc[0, "rows"] == 3 and s.loc[0, "reason"] == "date illisible" and s.loc[0, "files"] == 2
    assert s.loc[0, "example"].startswith("f.csv, ligne 4 : date illisible « 32/01 » — {")
    assert s.loc[1, "column"] == "–" and s.loc[1, "example"] == "f.csv, ligne 12 : {}"
    assert shaping.quarantine_summary(q.iloc[0:0]).empty


def _history() -> pd.DataFrame:
    return pd.DataFrame({
        "ingested_at": pd.to_datetime(["2025-01-05 08:00", "2025-02-05 08:00", "2025-02-06 09:00"], utc=True),
        "source": ["tcl", "tcl", "police_nationale"],
        "source_file": ["t1.csv", "t2.csv", "pn.csv"],
        "rows_read": [10, 20, 5], "accepted": [8, 17, 0], "quarantined": [1, 1, 0], "duplicates": [1, 2, 0],
        "revisions": [0, 3, 0], "unmapped_labels": [2, 0, 0], "refused": [False, False, True], "message": [None, None, "colonne manquante"],
    })


def test_ingest_by_partner_sums_the_accounting_and_counts_refused_files():
    t = shaping.ingest_by_partner(_history()).set_index("source")
    assert t.loc["tcl", "files"] == 2 and t.loc["tcl", "rows_read"] == 30 and t.loc["tcl", "accepted"] == 25
    assert t.loc["tcl", "rows_read"] == t.loc["tcl", "accepted"] + t.loc["tcl", "quarantined"] + t.loc["tcl", "duplicates"]
    assert t.loc["police_nationale", "refused_files"] == 1 and t.loc["tcl", "refused_files"] == 0
    assert t.loc["tcl", "last_ingest"] == pd.Timestamp("2025-02-05 08:00", tz="UTC")
    assert list(t.index) == ["police_nationale", "tcl"]  # most recent ingest first
    assert shaping.ingest_by_partner(_history().iloc[0:0]).empty


def test_latest_files_and_last_ingest():
    latest = shaping.latest_files(_history(), 2)
    assert latest["source_file"].tolist() == ["pn.csv", "t2.csv"]
    assert latest["partenaire"].iloc[1].startswith("TCL")
    assert shaping.last_ingest(_history()) == pd.Timestamp("2025-02-06 09:00", tz="UTC").to_pydatetime()
    assert shaping.last_ingest(_history().iloc[0:0]) is None


def _coverage() -> pd.DataFrame:
    # analytics.coverage output: tcl (about 50 a month) misses March 2025 and stops after April; pools (seasonal,
    # median 0) have empty months that are not gaps.
    months = pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-01", "2025-04-01"])
    tcl = pd.DataFrame({"source": "tcl", "month": months, "count": pd.array([50, 48, pd.NA, 52], dtype="Int64"), "expected": 49.0, "status": ["ok", "ok", "gap", "ok"]})
    pools = pd.DataFrame({"source": "piscines", "month": months[:2], "count": pd.array([3, 0], dtype="Int64"), "expected": 0.0, "status": ["ok", "zero"]})
    return pd.concat([tcl, pools], ignore_index=True)


def test_coverage_gaps_lists_gaps_and_late_months_but_not_seasonal_zeros():
    g = shaping.coverage_gaps(_coverage(), date(2025, 6, 30))
    assert list(zip(g["source"], g["mois"], g["status"])) == [("tcl", "mars 2025", "lacune"), ("tcl", "mai 2025", "retard"), ("tcl", "juin 2025", "retard")]
    assert shaping.coverage_gaps(_coverage(), date(2025, 6, 30), start=date(2025, 5, 1))["mois"].tolist() == ["mai 2025", "juin 2025"]
    assert shaping.coverage_gaps(_coverage().iloc[0:0], date(2025, 6, 30)).empty


def test_recent_gaps_one_line_per_partner_over_the_last_months():
    r = shaping.recent_gaps(_coverage(), date(2025, 5, 31), months=3)  # mars, avril, mai
    assert r.to_dict("records") == [{"partenaire": "TCL (transports en commun)", "mois": "mars 2025, mai 2025 (en retard)", "n": 2}]
    # Across new year: the 6 months up to February 2026 start in September 2025 (no gap of tcl's March).
    assert shaping.recent_gaps(_coverage(), date(2026, 2, 28), months=6)["mois"].iloc[0].startswith("septembre 2025 (en retard)")


def test_unmapped_table_names_partners_and_the_period_seen():
    u = pd.DataFrame({"source": ["tcl", "tcl"], "raw_label": ["Tags", "Bruit"], "count": [3, 1],
                      "first_seen": pd.to_datetime(["2025-01-02", "2025-03-04"]), "last_seen": pd.to_datetime(["2025-02-10", "2025-03-04"])})
    t = shaping.unmapped_table(u)
    assert t["periode"].tolist() == ["02/01/2025 – 10/02/2025", "04/03/2025"]
    assert t["partenaire"].iloc[0].startswith("TCL")


def test_snapshots_table_newest_first_with_the_current_one_marked():
    from datetime import datetime
    from types import SimpleNamespace

    snaps = [SimpleNamespace(id="a", created_at=datetime(2025, 1, 1), manifest={"files": [{"rows": 3}, {"rows": 4}]}),
             SimpleNamespace(id="b", created_at=datetime(2025, 2, 1), manifest={})]
    t = shaping.snapshots_table(snaps, "a")
    assert t["id"].tolist() == ["b", "a"] and t["rows"].tolist() == [0, 7] and t["current"].tolist() == ["", "en service"]
    assert shaping.snapshots_table([], "a").empty


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


def test_french_frame_headers_rounding_booleans_dates_and_places():
    """Review #3: French headers shared by every dashboard export, sensible rounding, « oui/non », French
    months and dates, « dans la zone / reste de la ville », no duplicated column."""
    from datetime import date

    from observatory.dashboard.exporting import french_frame

    cmp = pd.DataFrame({
        "category": ["vols_avec_armes"], "group": ["vols_avec_armes"], "current": [12], "previous": [8], "diff": [4],
        "pct_change": [0.5], "p_value": [0.38647], "z": [1.1547005], "significant": [False], "unreliable": [True],
        "current_start": [pd.Timestamp("2025-01-01")], "rate_per_1000": [297.8723404255319], "area_km2": [0.07023251592577359],
        "libelle": ["Vols avec armes"],
    })
    out = french_frame(cmp)
    assert list(out.columns) == ["code_categorie", "categorie", "periode_en_cours", "periode_precedente", "evolution_faits", "evolution_pct",
                                 "p_valeur", "z", "significatif", "effectifs_faibles", "debut_periode_en_cours", "taux_pour_1000", "surface_km2"]
    row = out.iloc[0].to_dict()
    assert row["categorie"] == "Vols avec armes" and row["evolution_pct"] == 50.0 and row["p_valeur"] == 0.386 and row["z"] == 1.15
    assert row["significatif"] == "non" and row["effectifs_faibles"] == "oui" and row["debut_periode_en_cours"] == "01/01/2025"
    assert row["taux_pour_1000"] == 297.9 and row["surface_km2"] == 0.07
    inout = french_frame(pd.DataFrame({"month": [pd.Timestamp("2025-03-01"), date(2025, 3, 1)], "where": ["dedans", "dehors"], "count": [3, 10]}))
    assert list(inout.columns) == ["mois", "emplacement", "faits"]
    assert inout["mois"].tolist() == ["mars 2025", "mars 2025"] and inout["emplacement"].tolist() == ["dans la zone", "reste de la ville"]
    arr = french_frame(pd.DataFrame({"arrondissement": ["69381", None], "count": [5, 6], "vintage": [2023, 2023]}))
    assert list(arr.columns) == ["code_arrondissement", "arrondissement", "faits", "millesime_population"]
    assert arr["arrondissement"].tolist() == ["Lyon 1er", "Arrondissement inconnu"]
    # Times are Europe/Paris wall time (a ledger's UTC 08:00 in January is 09:00 in Lyon).
    led = french_frame(pd.DataFrame({"ingested_at": [pd.Timestamp("2025-01-05 08:00", tz="UTC")]}))
    assert led["integre_le"].tolist() == ["05/01/2025 09:00"]


def test_suppression_labels_and_grammar_an_elu_understands():
    """Review #16: « < 5 » and « secret » instead of a bare « s »; 0 fait / 1 fait / 2 faits; no « 0 faits – (0 faits) »;
    a table of overlapping zones hides only its small counts, never a zero as a complement."""
    from observatory.dashboard import shaping
    from observatory.dashboard.components import change_text

    assert [shaping.facts_text(v, "") for v in (0, 1, 2, 1234)] == ["0 fait", "1 fait", "2 faits", f"1{NBSP}234 faits"]
    assert shaping.facts_text(float("nan"), "< 5") == "< 5 faits"
    assert shaping.facts_text(float("nan"), "secret") == "nombre masqué (secret)"
    text, _tone = change_text({"current": 0, "previous": 0, "diff": 0, "pct_change": float("nan"), "significant": False})
    assert text == "aucun fait ni sur cette période ni sur la précédente"
    text, _tone = change_text({"current": 1, "previous": 0, "diff": 1, "pct_change": float("nan"), "significant": False, "unreliable": True})
    assert text.startswith("+1 fait (aucun fait sur la période précédente)") and "peu fiable" in text
    zones = pd.DataFrame({"name": ["Hypercentre", "Piscines", "QPV"], "current": [0, 3, 40], "previous": [0, 12, 38], "diff": [0, -9, 2]})
    plain = shaping.protected_view(zones, ["current", "previous"], 5, analyst=False, derived=("diff",))
    assert "secret" in plain["current_text"].tolist() + plain["previous_text"].tolist()  # the column rule hides a complement
    cell = shaping.cellwise_view(zones, ["current", "previous"], 5, analyst=False, derived=("diff",))
    assert cell["current_text"].tolist() == ["0", "< 5", "40"] and cell["previous_text"].tolist() == ["0", "12", "38"]
    assert cell["diff"].isna().tolist() == [False, True, False]  # the hidden 3 is not given back by −9


def test_ingest_by_partner_accounting_holds_with_refused_files():
    """Review #11: TCL read 23 964 ≠ 21 299 + 39 + 2 228 because a refused file (199 rows, refused twice) was
    counted in « Lues » and « Quarantaine »; refused rows are now apart, once per distinct file."""
    t = pd.Timestamp("2025-01-05 08:00", tz="UTC")
    h = pd.DataFrame({
        "source": ["tcl"] * 4, "source_file": ["a.csv", "b.csv", "l93.csv", "l93.csv"], "sha256": ["1", "2", "3", "3"],
        "ingested_at": [t] * 4, "rows_read": [100, 50, 199, 199], "accepted": [90, 45, 0, 0], "quarantined": [4, 1, 199, 199],
        "duplicates": [6, 4, 0, 0], "revisions": [0, 0, 0, 0], "unmapped_labels": [0, 0, 0, 0], "refused": [False, False, True, True],
    })
    row = shaping.ingest_by_partner(h).iloc[0]
    assert (row["rows_read"], row["accepted"], row["quarantined"], row["duplicates"]) == (150, 135, 5, 10)
    assert row["rows_read"] == row["accepted"] + row["quarantined"] + row["duplicates"]
    assert (row["files"], row["refused_files"], row["refused_rows"]) == (2, 1, 199)
