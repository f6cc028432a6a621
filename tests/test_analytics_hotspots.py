"""Gi* validated against esda, BH classes, persistence, PAI, concentration."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from observatory.analytics import Analytics, Filters
from observatory.analytics.concentration import curve, gini, top_share
from observatory.analytics.hotspots import classify, distance_band_weights, gi_star, pai_value
from observatory.config import get_settings
from tests.incident_factory import incidents, write_snapshot

BELLECOUR = (842_150.0, 6_518_350.0)  # Lambert-93, inside the 2e


@pytest.fixture()
def settings(tmp_path):
    return get_settings(data_dir=tmp_path / "data")


def test_gi_star_hand_example():
    # Three cells in a row 200 m apart, band 200 m: weights [[1,1,0],[1,1,1],[0,1,1]]; x = (0, 0, 6).
    w = distance_band_weights(np.array([0.0, 200.0, 400.0]), np.zeros(3), 200.0)
    assert w.toarray().tolist() == [[1, 1, 0], [1, 1, 1], [0, 1, 1]]
    z = gi_star(np.array([0.0, 0.0, 6.0]), w)
    # mean 2, s = √8; cell 3: (6 − 2·2) / (√8 · √((3·2 − 4)/2)) = 1/√2; cell 1: −4/√8 = −√2; cell 2: 0.
    assert z == pytest.approx([-np.sqrt(2), 0.0, 1 / np.sqrt(2)])
    assert gi_star(np.ones(3), w).tolist() == [0, 0, 0]  # no variation, no hot spot


def test_gi_star_matches_esda_to_1e9():
    esda = pytest.importorskip("esda")
    libpysal = pytest.importorskip("libpysal")
    rng = np.random.default_rng(7)
    gx, gy = np.meshgrid(np.arange(14) * 200.0 + 100, np.arange(11) * 200.0 + 100)
    x, y = gx.ravel(), gy.ravel()
    values = rng.poisson(rng.gamma(0.6, 4, len(x))).astype(float)
    ours = gi_star(values, distance_band_weights(x, y, 400.0))
    w = libpysal.weights.DistanceBand(np.column_stack([x, y]), threshold=400.0 * (1 + 1e-9), binary=True, silence_warnings=True)
    ref = esda.G_Local(values, w, transform="B", star=True, permutations=0)
    assert np.max(np.abs(ours - ref.Zs)) < 1e-9
    assert distance_band_weights(x, y, 400.0)[5 * 14 + 7].nnz == 13  # an inner cell: itself, 8 queen, 4 two steps away


def test_classes_with_benjamini_hochberg():
    c = classify(np.array([3.0, 0.1, -2.0]))
    # p = 0.0027, 0.920, 0.0455; BH: 0.0081, 0.920, 0.0683 → hot 99, ns, cold 90.
    assert c["class"].tolist() == ["hot_99", "ns", "cold_90"]
    assert c["p_adjusted"].iloc[2] == pytest.approx(c["p_value"].iloc[2] * 3 / 2)
    raw = classify(np.array([3.0, 0.1, -2.0]), fdr=False)
    assert raw["class"].tolist() == ["hot_99", "ns", "cold_95"]


def test_hotspots_on_the_city_grid(tmp_path, settings):
    rng = np.random.default_rng(1)
    n_bg = 300
    xs = np.concatenate([np.full(60, BELLECOUR[0]), rng.uniform(840_000, 847_000, n_bg)])
    ys = np.concatenate([np.full(60, BELLECOUR[1]), rng.uniform(6_516_000, 6_523_000, n_bg)])
    days = [f"2025-{m:02d}-10" for m in (1, 4, 7, 10)] * 15 + ["2025-05-05"] * n_bg
    an = Analytics.from_files(write_snapshot(incidents(x=xs, y=ys, occurred_at=days), tmp_path / "s"), settings)
    hs = an.hotspots(Filters()).set_index("cell_id")
    assert len(hs) == len(an.grid())  # every city cell, zeros included
    cell = "E4210_N32591"  # 842150 // 200, 6518350 // 200
    assert hs.loc[cell, "count"] >= 60 and hs.loc[cell, "class"] == "hot_99"
    assert hs["count"].sum() + hs.attrs["outside_grid"] == 360
    per = an.persistence(Filters(), n_quarters=4, reference=date(2025, 12, 31)).set_index("cell_id")
    assert per.loc[cell, "quarters_hot"] == 4 and per.loc[cell, "hot_last"]
    assert per["quarters_hot"].max() == 4


def test_pai_hand_value_and_on_data(tmp_path, settings):
    assert pai_value(np.array([True, False, False, False]), np.array([6, 2, 1, 1])) == pytest.approx((0.6, 0.25, 2.4))
    xs = [BELLECOUR[0]] * 30 + [BELLECOUR[0]] * 12 + [845_050.0] * 8
    ys = [BELLECOUR[1]] * 30 + [BELLECOUR[1]] * 12 + [6_520_150.0] * 8
    days = ["2024-06-01"] * 30 + ["2025-06-01"] * 20
    an = Analytics.from_files(write_snapshot(incidents(x=xs, y=ys, occurred_at=days), tmp_path / "s"), settings)
    p = an.predictive_accuracy(Filters(), kind="year").iloc[0]
    assert p["incidents"] == 20 and p["incident_share"] == pytest.approx(12 / 20)
    assert p["pai"] == pytest.approx(0.6 / p["area_share"])
    assert p["hot_cells"] >= 1


def test_concentration_functions_hand_values():
    assert gini(np.array([0, 0, 0, 10])) == pytest.approx(0.75)
    assert gini(np.array([5, 5])) == pytest.approx(0.0)
    assert np.isnan(gini(np.zeros(3)))
    assert top_share(np.array([10, 5, 3, 2] + [0] * 96), 0.01) == pytest.approx(0.5)
    assert top_share(np.array([10, 5, 3, 2] + [0] * 96), 0.05) == pytest.approx(1.0)
    c = curve(np.array([1, 3, 0, 0]))
    assert c["place_share"].tolist() == [0, 0.25, 0.5, 0.75, 1]
    assert c["incident_share"].tolist() == [0, 0.75, 1, 1, 1]


def test_concentration_per_year_includes_zero_cells(tmp_path, settings):
    xs = [BELLECOUR[0]] * 9 + [845_050.0] + [np.nan]
    ys = [BELLECOUR[1]] * 9 + [6_520_150.0] + [np.nan]
    an = Analytics.from_files(write_snapshot(incidents(x=xs, y=ys, occurred_at=["2025-02-01"] * 11), tmp_path / "s"), settings)
    c = an.concentration(Filters()).iloc[0]
    n = len(an.grid())
    assert c["places"] == n and c["places_with_incidents"] == 2 and c["incidents"] == 10
    assert c["top_1pct"] == pytest.approx(1.0 if np.ceil(0.01 * n) >= 2 else 0.9)
    # Gini of (9, 1, 0 × (n−2)) over places weighted by their area a inside the city (A = Σ a): by the trapezoid
    # rule on the ascending Lorenz curve, 1 − (a₁(0 + 0.1) + a₉(0.1 + 1))/A; with every cell whole that is
    # 2(9n + 1(n−1)) / (10 n) − (n+1)/n = 1 − 1.2/n.
    g = an.grid()
    share = g.set_index("cell_id")["share_in_city"]
    cell9, cell1 = an.counts(Filters(), by=("grid_cell",)).dropna().sort_values("count")["grid_cell"].iloc[[1, 0]]
    assert c["gini"] == pytest.approx(1 - (0.1 * share[cell1] + 1.1 * share[cell9]) / share.sum())
    assert an.concentration(Filters()).attrs["unlocated"] == 1
    curve_df = an.concentration_curve(Filters())
    assert curve_df["incident_share"].iloc[-1] == pytest.approx(1.0) and len(curve_df) == n + 1
