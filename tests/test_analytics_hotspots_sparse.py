"""Gi* on sparse counts and under a geographic filter."""

import numpy as np
import pytest

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


# Edge cells in the normal Gi* -------------------------------------------------------------------------------------
def _disc_grid(radius: float = 2900.0, size: float = 200.0, side: int = 30):
    """Cells of a square grid that touch a disc, with their share inside it (edge cells < 1)."""
    import shapely

    ix, iy = np.meshgrid(np.arange(side), np.arange(side))
    x0, y0 = ix.ravel() * size, iy.ravel() * size
    share = shapely.area(shapely.intersection(shapely.box(x0, y0, x0 + size, y0 + size), shapely.Point(side * size / 2, side * size / 2).buffer(radius, 64))) / size**2
    keep = share > 0
    return keep, share[keep], distance_band_weights((x0 + size / 2)[keep], (y0 + size / 2)[keep], 400.0)


def _uniform_in_disc(rng, n: int, keep, radius: float = 2900.0, size: float = 200.0, side: int = 30):
    r, th = radius * np.sqrt(rng.random(n)), rng.random(n) * 2 * np.pi
    px, py = side * size / 2 + r * np.cos(th), side * size / 2 + r * np.sin(th)
    return np.bincount((np.floor(py / size) * side + np.floor(px / size)).astype(int), minlength=side * side)[keep]


def test_uniform_incidents_over_a_territory_give_no_cold_spots_on_its_edge():
    """No change in space: 13,000 incidents uniform over a disc (about 18 per whole cell, every neighbourhood on
    the normal Gi*); its 116 edge cells hold a share of it. Counted as whole cells they came out as cold spots."""
    keep, share, w = _disc_grid()
    runs, before, after, edge_claims = 100, 0, 0, 0
    for seed in range(runs):
        counts = _uniform_in_disc(np.random.default_rng(seed), 13_000, keep)
        old = classify(gi_star(counts, w))  # before: every cell whole, normal p-values
        new = hotspot_classes(counts, w, area_share=share)
        assert (new["test"] == "gi_star_nb").all()
        before += bool((old["confidence"] >= 95).any())
        claimed = new["confidence"] >= 95
        after += bool(claimed.any())
        edge_claims += bool((claimed & (share < 1)).any())
    print(f"\nruns with a hot or cold spot at 95 %: {before / runs:.0%} before, {after / runs:.0%} after; on an edge cell: {edge_claims / runs:.0%}")
    assert before / runs > 0.15
    assert after / runs <= 0.05 and edge_claims / runs <= 0.03
    # Edge cells counted whole, even with the tails of counts, still make cold spots of the edge.
    whole = sum(bool((hotspot_classes(_uniform_in_disc(np.random.default_rng(s), 13_000, keep), w)["confidence"] >= 95).any()) for s in range(20))
    assert whole / 20 > 0.3


@pytest.mark.parametrize("n_incidents", [1_500, 5_000])
def test_uniform_incidents_of_moderate_density_give_no_hot_spot_in_95_percent_of_runs(n_incidents):
    """No change in space, 1.2 or 4 incidents per cell on average (every neighbourhood above MIN_EXPECTED): the
    normal tail of Gi* is too thin at the p-values BH asks of 1,225 cells."""
    before = _runs_with_a_hot_spot(lambda c, w: classify(gi_star(c, w)), runs=100, n_incidents=n_incidents)
    after = _runs_with_a_hot_spot(lambda c, w: hotspot_classes(c, w), runs=100, n_incidents=n_incidents)
    print(f"\n{n_incidents} uniform incidents: a hot spot in {before:.0%} of runs before, {after:.0%} after")
    assert before > 0.08 and after <= 0.05


def test_a_real_cluster_is_found_at_moderate_density():
    x, y = _grid()
    w = distance_band_weights(x, y, 400.0)
    counts = np.bincount(np.random.default_rng(7).integers(0, len(x), 5_000), minlength=len(x))
    counts[600] += 40  # a cell with ten times its expected count
    res = hotspot_classes(counts, w)
    assert res.loc[600, "hotspot"] == "hot" and res.loc[600, "test"] == "gi_star_nb"


def test_whole_cells_give_exactly_the_usual_gi_star():
    rng = np.random.default_rng(5)
    x, y = _grid(side=20)
    w = distance_band_weights(x, y, 400.0)
    counts = rng.poisson(3, len(x))
    assert np.allclose(gi_star(counts, w, np.ones(len(x))), gi_star(counts, w), atol=1e-12)


def test_concentration_weighs_edge_cells_by_their_area_inside():
    from observatory.analytics.concentration import curve, gini, top_share

    # Ten incidents per whole cell everywhere, an edge cell a tenth inside holds one: perfectly even by area.
    area = np.array([1.0] * 8 + [0.1, 0.5])
    counts = 10 * area
    assert gini(counts, area) == pytest.approx(0.0, abs=1e-12)
    assert gini(counts) > 0.1  # as whole cells, the edge cells look like near-empty places
    assert top_share(counts, 4 / 8.6, area) == pytest.approx(4 / 8.6)  # four whole cells: their share of the area
    assert curve(counts, area)["place_share"].iloc[-1] == pytest.approx(1.0)
    # Equal areas give back the usual values.
    assert gini(np.array([0, 0, 0, 10]), np.ones(4)) == pytest.approx(0.75)


def test_the_city_with_incidents_in_proportion_to_area_is_not_called_concentrated(tmp_path, settings):
    an0 = Analytics.from_files(write_snapshot(incidents(occurred_at=["2025-01-01"]), tmp_path / "s0"), settings)
    grid = an0.grid()
    k = np.rint(20 * grid["share_in_city"].to_numpy()).astype(int)  # 20 incidents per whole cell, fewer on the edge
    xs, ys = np.repeat(grid["x"].to_numpy(), k), np.repeat(grid["y"].to_numpy(), k)
    an = Analytics.from_files(write_snapshot(incidents(x=xs, y=ys, occurred_at=["2025-03-01"] * len(xs)), tmp_path / "s"), settings)
    c = an.concentration(Filters()).iloc[0]
    v = an.counts(Filters(), by=("grid_cell",)).set_index("grid_cell")["count"].reindex(grid["cell_id"], fill_value=0).to_numpy()
    from observatory.analytics.concentration import gini

    print(f"\nGini of incidents in proportion to area: {gini(v):.3f} with whole cells, {c['gini']:.3f} by area")
    assert c["gini"] < 0.02 < gini(v)


def _uniform_in_zone(an, zone_id: str, n: int, seed: int):
    """``n`` points uniform over a zone (Lambert-93), by rejection."""
    import shapely

    geom = an.territory.zones_l93().set_index("zone_id").loc[zone_id, "geometry"]
    xmin, ymin, xmax, ymax = geom.bounds
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    while len(xs) < n:
        px, py = rng.uniform(xmin, xmax, 4 * n), rng.uniform(ymin, ymax, 4 * n)
        ok = shapely.contains_xy(geom, px, py)
        xs.extend(px[ok]), ys.extend(py[ok])
    return np.array(xs[:n]), np.array(ys[:n])


def test_a_zone_filter_makes_the_zone_the_study_area(tmp_path, settings):
    # 600 incidents uniform over the hypercentre, nothing elsewhere: filtered on the hypercentre, its cells are
    # not « hot » against an empty city; cells outside get no verdict, and the Gini is that of the zone's cells.
    an0 = Analytics.from_files(write_snapshot(incidents(occurred_at=["2025-01-01"]), tmp_path / "s0"), settings)
    xs, ys = _uniform_in_zone(an0, "hypercentre", 600, seed=4)
    an = Analytics.from_files(write_snapshot(incidents(x=xs, y=ys, occurred_at=["2025-03-01"] * 600, zones=[["hypercentre"]] * 600), tmp_path / "s"), settings)
    f = Filters(zones=("hypercentre",))
    hs = an.hotspots(f)
    study = hs["test"] != "outside_study_area"
    zone_km2 = float(an.territory.zones.set_index("zone_id").loc["hypercentre", "area_km2"])
    # The study area is the zone's cells: about its area in 200 m cells (edge cells partly), not the city's ~1,400.
    assert zone_km2 / 0.04 <= study.sum() <= 2.5 * zone_km2 / 0.04
    hot = (hs["hotspot"] == "hot").sum()
    whole_city = (an.hotspots(Filters())["hotspot"] == "hot").sum()
    print(f"\nhot cells with the hypercentre filter: {whole_city} with the city as study area, {hot} with the zone")
    assert hot <= 2 < whole_city
    assert (hs.loc[~study, "hotspot"] == "").all()
    conc = an.concentration(f).iloc[0]
    assert conc["places"] == study.sum() and conc["gini"] < 0.5 < an.concentration(Filters()).iloc[0]["gini"]
    assert (an.hotspots(Filters(zones=("pas_une_zone",)))["hotspot"] == "").all()


def test_the_tails_are_scipy_stats_negative_binomial_and_poisson_tails():
    """Gi*'s p-values call the incomplete beta and gamma functions directly (10× faster): the same two-sided
    tails as scipy.stats' nbinom and poisson, over counts from 0 to far in the tails, both models."""
    from scipy import stats

    from observatory.analytics.hotspots import _tail_p

    rng = np.random.default_rng(18)
    mean = np.concatenate([rng.uniform(0.05, 400, 3000), [0.0, 1e-9]])
    phi = np.where(rng.random(len(mean)) < 0.5, 1.0, rng.uniform(1.0, 4.0, len(mean)))
    var = mean * phi
    s = np.rint(rng.uniform(0, 2, len(mean)) * mean + rng.integers(0, 3, len(mean)))
    s[:50] = 0
    got = _tail_p(s, mean, var)
    mu = np.maximum(mean, 1e-12)
    ph = np.maximum(var / mu, 1.0)
    over = ph > 1 + 1e-9
    k = np.where(over, mu / np.where(over, ph - 1, 1.0), 1.0)
    pp = np.where(over, 1 / ph, 0.5)
    hi = np.where(over, stats.nbinom.sf(s - 1, k, pp), stats.poisson.sf(s - 1, mu))
    lo = np.where(over, stats.nbinom.cdf(s, k, pp), stats.poisson.cdf(s, mu))
    want = np.where(mean > 0, np.minimum(1.0, 2 * np.minimum(hi, lo)), 1.0)
    assert over.sum() > 1000 and (~over).sum() > 1000 and (want < 1e-6).sum() > 100
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-300)


def test_confidence_labels_follow_the_adjusted_p_value_and_the_side():
    from observatory.analytics.hotspots import classify

    z = np.array([5.0, -5.0, 2.2, -2.2, 1.7, 0.0, 3.0])
    out = classify(z, fdr=False)
    assert out["confidence"].tolist() == [99, 99, 95, 95, 90, 0, 99]
    assert out["class"].tolist() == ["hot_99", "cold_99", "hot_95", "cold_95", "hot_90", "ns", "hot_99"]
    assert out["hotspot"].tolist() == ["hot", "cold", "hot", "cold", "hot", "", "hot"]
