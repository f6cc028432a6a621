"""The Gi* layer's shortcuts (issue 18) give what the general code gives."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from observatory.analytics import Analytics, Filters
from observatory.analytics.hotspots import _cell_counts, hotspots
from observatory.analytics.indicators import counts
from observatory.config import get_settings
from tests.incident_factory import incidents, write_snapshot


def _reference_counts(an, filters):
    c = counts(an, filters, ("grid_cell",))
    unlocated = int(c.loc[c["grid_cell"].isna(), "count"].sum())
    c = c[c["grid_cell"].notna()]
    pos = pd.Index(an.grid()["cell_id"]).get_indexer(c["grid_cell"])  # independent of the product's lookup
    n = c["count"].to_numpy()
    count = np.zeros(len(an.grid()), dtype="int64")
    count[pos[pos >= 0]] = n[pos >= 0]
    return count, {"unlocated": unlocated, "outside_grid": int(n[pos < 0].sum())}


def test_cell_counts_are_the_grouped_counts_and_hotspots_repeat_exactly(tmp_path):
    rng = np.random.default_rng(18)
    n = 900
    xs = rng.uniform(838_000, 850_000, n)  # some beyond the city grid
    ys = rng.uniform(6_514_000, 6_526_000, n)
    xs[:40] = np.nan  # unlocated
    days = [f"2024-{m:02d}-{d:02d}" for m, d in zip(rng.integers(1, 13, n), rng.integers(1, 28, n))]
    cats = rng.choice(["vols_sans_violence_personnes", "cambriolages_logement"], n)
    settings = get_settings(data_dir=tmp_path / "data")
    an = Analytics.from_files(write_snapshot(incidents(x=xs, y=ys, occurred_at=days, category=cats), tmp_path / "s"), settings, cache_size=0)
    cases = [Filters(), Filters(start=date(2024, 3, 1), end=date(2024, 8, 31)), Filters(categories=("cambriolages_logement",)),
             Filters(arrondissements=("69382", "69383"))]
    for f in cases:
        got, info = _cell_counts(an, f)
        want, want_info = _reference_counts(an, f)
        assert got.tolist() == want.tolist() and info == want_info
        assert info["unlocated"] > 0 or f.arrondissements  # the cases do hold unlocated rows
        first = hotspots(an, f)
        again = hotspots(an, f)  # served from the per-study-area cache
        pd.testing.assert_frame_equal(first, again)
        assert first.attrs == again.attrs
    assert _cell_counts(an, Filters())[1]["outside_grid"] > 0


def test_study_area_is_computed_once_and_handed_out_as_copies(tmp_path):
    from observatory.analytics import hotspots as H

    settings = get_settings(data_dir=tmp_path / "data")
    an = Analytics.from_files(write_snapshot(incidents(x=[842_150.0], y=[6_518_350.0]), tmp_path / "s"), settings)
    zone = str(an.territory.zones_l93()["zone_id"].iloc[0])
    for f in (Filters(), Filters(arrondissements=("69382",)), Filters(zones=(zone,))):
        first = H.study_area(an, f)
        assert np.array_equal(first, H._study_area(an, f))
        first[:] = -1.0  # a caller's change stays its own
        assert np.array_equal(H.study_area(an, f), H._study_area(an, f))
    assert 0 < (H.study_area(an, Filters(zones=(zone,))) > 0).sum() < (H.study_area(an, Filters()) > 0).sum()
    assert len(H._STUDY_AREAS[an]) == 3
