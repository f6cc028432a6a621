"""Coordinates shared by many rows are projected and placed once per distinct pair: the rows must get exactly
what projecting and placing each of them gives, problems, notes and time order included, in every CRS branch."""

from __future__ import annotations

import dataclasses

import numpy as np
import pyarrow as pa
import pytest

from observatory.config import get_settings
from observatory.etl import places
from observatory.etl.locate import project_points
from observatory.etl.places import _zone_lists, distinct_pairs, spatial, territory_index
from observatory.etl.profile import load_profile
from observatory.territory import load_territory
from tests.etl_helpers import L93_POINTS


def _fr(v: float | str) -> str:
    return v if isinstance(v, str) else repr(v).replace(".", ",")


def test_distinct_pairs_number_pairs_in_order_of_first_appearance():
    a = np.array([1.0, 2.0, 1.0, np.nan, np.nan, -0.0, 0.0, 2.0] * 3)
    b = np.array([5.0, 5.0, 5.0, 1.0, 1.0, 0.0, 0.0, 5.0] * 3)
    codes, first = distinct_pairs(a, b)
    assert first.tolist() == [0, 1, 3, 5, 6]  # -0.0 and 0.0 differ by their bits: two pairs, same answers anyway
    assert np.array_equal(a[first][codes], a, equal_nan=True) and np.array_equal(b[first][codes], b)
    assert codes.tolist()[:8] == [0, 1, 0, 2, 2, 3, 4, 1]


def test_distinct_pairs_declines_when_rows_are_mostly_distinct_or_the_mix_collides(monkeypatch):
    rng = np.random.default_rng(3)
    assert distinct_pairs(rng.uniform(size=1000), rng.uniform(size=1000)) is None
    assert distinct_pairs(np.array([]), np.array([])) is None
    # A mix that ignores x: pairs sharing y collide; every row is checked against its pair, so no wrong answer.
    monkeypatch.setattr(places, "_MIX", np.uint64(0))
    a, b = np.array([1.0, 2.0] * 10), np.array([5.0, 5.0] * 10)
    assert distinct_pairs(a, b) is None


CASES = {
    # crs: values as a partner writes them (repeats, swapped pairs, out-of-range, empty, unreadable, 0,0)
    "EPSG:4326": [(4.835, 45.764), (45.764, 4.835), (4.835, 45.764), (842_000.0, 6_519_000.0), (400.0, 12.0), ("", ""), ("abc", "45,7"),
                  (0.0, 0.0), (4.85, 45.75), (-0.0, 45.75)],
    "EPSG:2154": [L93_POINTS["69381"], L93_POINTS["69387"], (4.835, 45.764), L93_POINTS["69381"], ("", "6519000"), (0.0, 0.0),
                  (L93_POINTS["69383"][0], "x")],
    "EPSG:3946": [(1_842_000.0, 5_175_000.0), (1_845_500.5, 5_173_000.0), (1_842_000.0, 5_175_000.0), ("", ""), ("1,2,3", "5175000")],
    "EPSG:27572": [(600_000.0, 2_000_000.0), (601_000.0, 2_001_000.0)],  # far from Lyon: the CRS hint note
}


def _points(crs: str, share: float, monkeypatch, seed: int):
    monkeypatch.setattr(places, "DISTINCT_MAX_SHARE", share)
    profile = load_profile(get_settings(env={}), "police_nationale")
    profile = dataclasses.replace(profile, crs=crs)
    rng = np.random.default_rng(seed)
    pairs = [CASES[crs][i] for i in rng.integers(0, len(CASES[crs]), 600)]
    table = pa.table({profile.x: [_fr(p[0]) for p in pairs], profile.y: [_fr(p[1]) for p in pairs]})
    return project_points(table, profile)


@pytest.mark.parametrize("crs", sorted(CASES))
def test_projecting_distinct_pairs_gives_each_rows_projection(crs, monkeypatch):
    once = _points(crs, 0.5, monkeypatch, seed=1)
    each = _points(crs, -1.0, monkeypatch, seed=1)  # never deduplicated
    assert once.codes is not None and each.codes is None
    for f in ("x", "y", "lon", "lat", "ok"):
        assert np.array_equal(getattr(once, f), getattr(each, f), equal_nan=True), f
    assert once.problems.per_row() == each.problems.per_row() and once.notes == each.notes
    assert each.problems.per_row() or crs == "EPSG:27572"  # the cases do exercise the checks
    if crs in ("EPSG:4326", "EPSG:27572"):
        assert each.notes  # swapped pairs (WGS84), points far from Lyon
    order = np.random.default_rng(2).permutation(600)
    p1, p2 = once.permuted(order), each.permuted(order)
    for f in ("x", "y", "lon", "lat", "ok"):
        assert np.array_equal(getattr(p1, f), getattr(p2, f), equal_nan=True), f
    assert p1.problems.per_row() == p2.problems.per_row()


def test_placing_distinct_points_gives_each_rows_place():
    index = territory_index(load_territory(get_settings(env={})))
    rng = np.random.default_rng(4)
    xs = np.r_[[p[0] for p in L93_POINTS.values()], 842_000.0, np.nan, 700_000.0]
    ys = np.r_[[p[1] for p in L93_POINTS.values()], 6_519_000.0, np.nan, 6_400_000.0]
    pick = rng.integers(0, len(xs), 2_000)
    x, y = xs[pick], ys[pick]
    codes, first = distinct_pairs(x, y)
    once = spatial(x, y, index, 200, (codes, x[first], y[first]))
    each = spatial(x, y, index, 200)
    assert np.array_equal(once.arrondissement, each.arrondissement)
    assert (each.arrondissement >= 0).sum() > 1_000 and (each.arrondissement < 0).any()
    assert once.zone_codes is not None and once.grid.equals(each.grid)
    assert len(once.zone_masks) == len(each.zone_masks) and all(np.array_equal(m1[codes], m2) for m1, m2 in zip(once.zone_masks, each.zone_masks))
    # Zone lists from the distinct points' masks are each row's (validity dates by the row's day, site names added).
    wall = pa.array((np.datetime64("2019-01-01T00:00") + rng.integers(0, 8 * 365 * 1440, len(x)).astype("timedelta64[m]")).astype("datetime64[us]"))
    extra = np.array([None] * len(x), dtype=object)
    extra[::7] = index.zone_ids[0]
    for ex in (None, extra):
        got = _zone_lists(index, once.zone_masks, wall, ex, once.zone_codes)
        assert got.equals(_zone_lists(index, each.zone_masks, wall, ex))
    assert sum(len(v) for v in got.to_pylist()) > len(x) // 7  # rows in zones besides the named ones
