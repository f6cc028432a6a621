"""Gi* on sparse counts and under a geographic filter."""

import numpy as np

from observatory.analytics import Analytics, Filters
from observatory.analytics.hotspots import classify, distance_band_weights, gi_star, hotspot_classes
from tests.incident_factory import incidents, write_snapshot


def _grid(side: int = 35, size: float = 200.0):
    ix, iy = np.meshgrid(np.arange(side), np.arange(side))
    return ix.ravel() * size, iy.ravel() * size


def _runs_with_a_hot_spot(classes_of, runs: int = 200, n_incidents: int = 37) -> float:
    x, y = _grid()
    w = distance_band_weights(x, y, 400.0)
    hits = 0
    for seed in range(runs):
        rng = np.random.default_rng(seed)
        counts = np.bincount(rng.integers(0, len(x), n_incidents), minlength=len(x))
        hits += bool((classes_of(counts, w)["hotspot"] == "hot").any())
    return hits / runs


def test_37_uniform_random_incidents_give_no_hot_spot_in_95_percent_of_runs():
    before = _runs_with_a_hot_spot(lambda c, w: classify(gi_star(c, w)))  # normal approximation everywhere
    after = _runs_with_a_hot_spot(lambda c, w: hotspot_classes(c, w))
    assert before > 0.5, before
    assert after <= 0.05, after


def test_a_real_cluster_is_still_found_on_sparse_data():
    x, y = _grid()
    w = distance_band_weights(x, y, 400.0)
    rng = np.random.default_rng(7)
    counts = np.bincount(rng.integers(0, len(x), 37), minlength=len(x))
    counts[600] += 25
    res = hotspot_classes(counts, w)
    assert res.loc[600, "hotspot"] == "hot" and res.loc[600, "test"] == "binomial_exact"


def test_the_study_area_is_the_filtered_arrondissement(tmp_path, settings):
    # Everything in the 2e, nothing elsewhere: under a 2e filter the 2e is the study area, its cells are not all
    # "hot" against an empty city; cells outside it get no verdict.
    an0 = Analytics.from_files(write_snapshot(incidents(occurred_at=["2025-01-01"]), tmp_path / "s0"), settings)
    grid = an0.grid()
    cells2 = grid[grid["arrondissement"] == "69382"]
    rng = np.random.default_rng(3)
    pick = cells2.sample(n=400, replace=True, random_state=3)
    xs, ys = pick["x"].to_numpy() + rng.uniform(-50, 50, 400), pick["y"].to_numpy() + rng.uniform(-50, 50, 400)
    an = Analytics.from_files(write_snapshot(incidents(x=xs, y=ys, occurred_at=["2025-03-01"] * 400), tmp_path / "s"), settings)
    city = an.hotspots(Filters())
    local = an.hotspots(Filters(arrondissements=("69382",)))
    in2 = local["arrondissement"] == "69382"
    assert local.attrs["study_cells"] == int(in2.sum())
    assert (local.loc[~in2, "hotspot"] == "").all()
    share_city = (city.loc[in2, "hotspot"] == "hot").mean()
    share_local = (local.loc[in2, "hotspot"] == "hot").mean()
    assert share_local < share_city


def test_concentration_under_a_filter_counts_only_the_filtered_cells(tmp_path, settings):
    an0 = Analytics.from_files(write_snapshot(incidents(occurred_at=["2025-01-01"]), tmp_path / "s0"), settings)
    grid = an0.grid()
    cells1 = grid[grid["arrondissement"] == "69381"]
    # One incident in every cell of the 1er: perfectly even there.
    an = Analytics.from_files(write_snapshot(incidents(x=cells1["x"].to_numpy(), y=cells1["y"].to_numpy(),
                                                       occurred_at=["2025-03-01"] * len(cells1)), tmp_path / "s"), settings)
    local = an.concentration(Filters(arrondissements=("69381",))).iloc[0]
    city = an.concentration(Filters()).iloc[0]
    assert local["places"] == len(cells1) and city["places"] == len(grid)
    assert local["gini"] < 0.2 < city["gini"]


def test_an_edge_cell_mostly_outside_expects_fewer_incidents():
    # Two incidents in a cell that is 10 % inside the study area: far more than its area predicts.
    x, y = _grid(side=20)
    w = distance_band_weights(x, y, 400.0)
    counts = np.zeros(len(x))
    counts[0] = 3
    rng = np.random.default_rng(2)
    counts += np.bincount(rng.integers(0, len(x), 30), minlength=len(x))
    share = np.ones(len(x))
    share[[0, 1, 20, 21]] = 0.1  # the corner and its neighbours are mostly outside the city
    whole = hotspot_classes(counts, w)
    edge = hotspot_classes(counts, w, area_share=share)
    assert edge.loc[0, "p_value"] < whole.loc[0, "p_value"]
