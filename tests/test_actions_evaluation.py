"""Evaluation of actions: WDD and DiD against hand-computed values, windows, verdict rules, synthetic effects."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest
import shapely

from observatory.actions import evaluate_actions, evaluations_for_year, objectives, upsert_action
from observatory.actions import evaluation as ev
from observatory.territory import LAMBERT93, grid_cell_ids, load_territory


# WDD ------------------------------------------------------------------------------------------------------------
def test_wdd_reproduces_the_paper_example():
    # Wheeler & Ratcliffe (2018), worked example: T (207, 110), C (308, 318), D (178, 157), Cd (150, 140).
    r = ev.weighted_displacement_difference((207, 110), (308, 318), (178, 157), (150, 140))
    assert r.local == (110 - 207) - (318 - 308) == -107
    assert r.displacement == (157 - 178) - (140 - 150) == -11
    assert r.wdd == -118
    assert r.se == pytest.approx(math.sqrt(207 + 110 + 308 + 318 + 178 + 157 + 150 + 140))  # √1568
    assert round(r.z, 2) == -2.98
    assert r.p_value == pytest.approx(0.00288, abs=1e-4)


def test_wdd_small_hand_example_without_displacement():
    # T 20 → 10, C 20 → 20: WDD = −10, Var = 20 + 10 + 20 + 20 = 70.
    r = ev.weighted_displacement_difference((20, 10), (20, 20))
    assert r.wdd == -10
    assert r.se == pytest.approx(math.sqrt(70))
    assert r.z == pytest.approx(-10 / math.sqrt(70))
    assert r.ci_low == pytest.approx(-10 - 1.959964 * math.sqrt(70), rel=1e-5)


def test_wdd_shared_control_counts_the_covariance():
    # Same control for T and D, weights 0.5 and 0.25: WDD = ΔT + ΔD − 0.75·ΔC; Var = T + D + 0.75²·C.
    r = ev.weighted_displacement_difference((40, 30), (80, 100), (20, 25), None, 0.5, 0.25)
    assert r.wdd == pytest.approx(-10 + 5 - 0.75 * 20)
    assert r.se == pytest.approx(math.sqrt(70 + 45 + 0.5625 * 180))
    assert r.local_se == pytest.approx(math.sqrt(70 + 0.25 * 180))
    assert r.displacement_se == pytest.approx(math.sqrt(45 + 0.0625 * 180))


def test_wdd_all_zero_has_no_z():
    r = ev.weighted_displacement_difference((0, 0), (0, 0))
    assert math.isnan(r.z) and math.isnan(r.p_value)


def test_difference_in_differences_by_hand():
    d = ev.difference_in_differences((100, 60), (200, 220))
    assert d.change_treated == pytest.approx(-0.4)
    assert d.change_control == pytest.approx(0.1)
    assert d.difference_points == pytest.approx(-0.5)
    assert d.ratio == pytest.approx(0.6 / 1.1)
    se = math.sqrt(1 / 100 + 1 / 60 + 1 / 200 + 1 / 220)
    assert d.ratio_ci_low == pytest.approx(math.exp(math.log(0.6 / 1.1) - 1.959964 * se), rel=1e-5)
    # z = log(0.545) / 0.1903 = −3.185 → p = 0.00145
    assert d.p_value == pytest.approx(0.00145, abs=2e-5)
    assert math.isnan(ev.difference_in_differences((0, 5), (10, 10)).ratio)


# Windows and verdict rules --------------------------------------------------------------------------------------
def test_windows_full_shortened_and_too_short():
    full = ev.evaluation_windows(date(2024, 3, 1), 12, date(2022, 1, 1), date(2025, 6, 30))
    assert (full.months, full.usable, full.reason) == (12, True, None)
    assert full.before_start == pd.Timestamp("2023-03-01") and full.after_end == pd.Timestamp("2025-03-01")
    short = ev.evaluation_windows(date(2025, 1, 1), 12, date(2022, 1, 1), date(2025, 6, 30))
    assert short.months == 6 and short.usable and "6 mois" in short.reason
    too_short = ev.evaluation_windows(date(2025, 5, 1), 12, date(2022, 1, 1), date(2025, 6, 30))
    assert not too_short.usable and too_short.months == 2 and "trop courtes" in too_short.reason
    no_before = ev.evaluation_windows(date(2022, 2, 1), 12, date(2022, 1, 1), date(2025, 6, 30))
    assert not no_before.usable and "avant" in no_before.reason


def test_halving_rule_by_hand():
    # T0 = 20, C0 = 20, w = 1: z = 10 / √(30 + 40) = 1.195 < 1.96 → not detectable.
    assert not ev.halving_detectable(20, 20, 1.0)
    # T0 = 100, C0 = 100: z = 50 / √(150 + 200) = 2.67 → detectable.
    assert ev.halving_detectable(100, 100, 1.0)


def test_verdicts_never_overstate():
    ok = ev.evaluation_windows(date(2024, 3, 1), 12, date(2022, 1, 1), date(2025, 6, 30))
    big_drop = ev.weighted_displacement_difference((200, 100), (200, 200))
    assert ev.verdict(big_drop, (200, 100), (200, 200), 1.0, ok)[0] == "decrease"
    assert "compatible" in ev.verdict(big_drop, (200, 100), (200, 200), 1.0, ok)[1]
    flat = ev.weighted_displacement_difference((200, 195), (200, 200))
    code, text = ev.verdict(flat, (200, 195), (200, 200), 1.0, ok)
    assert code == "no_effect" and "ne prouve pas" in text
    tiny = ev.weighted_displacement_difference((6, 0), (6, 6))
    code, text = ev.verdict(tiny, (6, 0), (6, 6), 1.0, ok)
    assert code == "no_conclusion" and text.startswith("Pas de conclusion possible") and "effectifs" in text
    short = ev.evaluation_windows(date(2025, 5, 1), 12, date(2022, 1, 1), date(2025, 6, 30))
    assert ev.verdict(big_drop, (200, 100), (200, 200), 1.0, short)[0] == "no_conclusion"
    assert ev.verdict(big_drop, (200, 100), (0, 0), 1.0, ok, has_control=False)[0] == "no_conclusion"


def test_objective_progress_by_hand():
    got = ev.objective_progress(100, 85, -10, 12)
    assert got["actual_change"] == pytest.approx(-0.15)
    assert got["objective_code"] == "reached"  # not significant: the binomial test of 85/185 vs 0.9/1.9
    missed = ev.objective_progress(400, 420, -10, 6)
    assert missed["objective_code"] == "missed_significant" and "6 premiers mois" in missed["objective_text"]


# Counting in perimeters -----------------------------------------------------------------------------------------
def _frame(points, when):
    x, y = np.array([p[0] for p in points], float), np.array([p[1] for p in points], float)
    return pd.DataFrame(
        {
            "occurred_at": pd.to_datetime(when).tz_localize("Europe/Paris"),
            "category": "vols_sans_violence_personnes",
            "x": x,
            "y": y,
            "grid_cell": grid_cell_ids(x, y, 200),
            "arrondissement": "69383",
        }
    )


def test_area_counts_and_ring_by_hand():
    square = shapely.box(0, 0, 100, 100)
    w = ev.evaluation_windows(date(2024, 1, 1), 12, date(2022, 1, 1), date(2025, 1, 31))
    df = _frame(
        [(50, 50), (50, 50), (150, 50), (50, 450), (float("nan"), 1)],
        ["2023-06-01", "2024-02-01", "2023-07-01", "2024-03-01", "2024-03-01"],
    )
    assert ev.area_counts(df, square, w) == (1.0, 1.0)
    ring = ev.displacement_ring(square, 300)
    assert ev.area_counts(df, ring, w) == (1.0, 0.0)  # (150, 50) is in the ring, (50, 450) is beyond 300 m
    assert not ring.contains(shapely.Point(50, 50))


# Synthetic actions through the adapter --------------------------------------------------------------------------
CENTRE = (4.8600, 45.7600)  # Lyon 3e, Part-Dieu side


def _synthetic(settings, effect: float, seed: int) -> pd.DataFrame:
    """Uniform incidents over the 3e for 2023–2024; inside 250 m of CENTRE, from 2024-01-01, keep 1 − effect."""
    rng = np.random.default_rng(seed)
    arr = load_territory(settings).arrondissements_l93().set_index("code").geometry["69383"]
    x0, y0, x1, y1 = arr.bounds
    n = rng.poisson(300 * (x1 - x0) * (y1 - y0) / 1e6 * 24)
    x, y = rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)
    # Whole days at noon: no ambiguous local time at the October DST change.
    when = pd.Timestamp("2023-01-01 12:00") + pd.to_timedelta(rng.integers(0, 731, n), unit="D")
    centre = pd.Series(shapely.points([CENTRE]), dtype=object)
    cx, cy = __import__("geopandas").GeoSeries(centre, crs="EPSG:4326").to_crs(LAMBERT93).iloc[0].coords[0]
    inside = np.hypot(x - cx, y - cy) <= 250
    dropped = inside & (when >= pd.Timestamp("2024-01-01")) & (rng.uniform(size=n) < effect)
    keep = ~dropped
    df = pd.DataFrame(
        {
            "occurred_at": when[keep].tz_localize("Europe/Paris"),
            "category": "vols_sans_violence_personnes",
            "x": x[keep],
            "y": y[keep],
            "grid_cell": grid_cell_ids(x[keep], y[keep], settings.grid_size_m),
            "arrondissement": "69383",
            "n_facts": 1,
        }
    )
    return df.reset_index(drop=True)


def _register_action(settings):
    upsert_action(
        settings,
        {
            "action_id": "A1",
            "title": "Patrouilles pédestres Part-Dieu",
            "type": "patrouilles",
            "partner": "Police municipale",
            "lon": str(CENTRE[0]),
            "lat": str(CENTRE[1]),
            "radius_m": "250",
            "start": "2024-01-01",
            "categories": "vols_sans_violence_personnes",
            "objective": "−20 % de vols sans violence en 2024",
            "target_change_pct": "-20",
            "objective_year": "2024",
            "status": "en_cours",
        },
    )


def test_known_effect_is_detected_and_null_is_not(settings):
    _register_action(settings)
    effect = evaluate_actions(settings, incidents=_synthetic(settings, 0.5, seed=1)).iloc[0]
    assert effect["window_months"] == 12
    assert effect["verdict_code"] == "decrease" and effect["significant"]
    assert effect["change_treated"] == pytest.approx(-0.5, abs=0.12)
    assert effect["did_ratio"] == pytest.approx(0.5, abs=0.12)
    assert effect["control_cells"] >= 3 and effect["control_before"] >= effect["treated_before"]
    null = evaluate_actions(settings, incidents=_synthetic(settings, 0.0, seed=2)).iloc[0]
    assert null["verdict_code"] in ("no_effect", "weak_decrease", "weak_increase")
    assert not null["significant"]
    assert abs(null["change_treated"]) < 0.2


def test_too_little_data_gives_no_conclusion(settings):
    _register_action(settings)
    sparse = _synthetic(settings, 0.5, seed=3).sample(frac=0.02, random_state=0)
    row = evaluate_actions(settings, incidents=sparse).iloc[0]
    assert row["verdict_code"] == "no_conclusion" and "effectifs trop faibles" in row["verdict"]


def test_yearly_report_and_objectives(settings):
    _register_action(settings)
    data = _synthetic(settings, 0.5, seed=4)
    year = evaluations_for_year(settings, 2024, incidents=data)
    assert list(year["action_id"]) == ["A1"] and year["objective_text"].iloc[0].startswith("Objectif atteint")
    assert evaluations_for_year(settings, 2021, incidents=data).empty
    obj = objectives(settings, incidents=data).iloc[0]
    assert obj["months"] == 12 and obj["actual_change"] < -0.3


def test_docs_detectability_threshold_matches_the_code_for_the_default_control():
    """docs/actions.md quotes the smallest T0 for which halving is detectable with w = T0/C0 ≈ 1 (the default
    control): it must be the code's (it said « roughly T0 < 25 », the value for a very large control)."""
    import re
    from pathlib import Path

    from observatory.actions.evaluation import halving_detectable

    text = (Path(__file__).resolve().parent.parent / "docs" / "actions.md").read_text(encoding="utf-8")
    quoted = int(re.search(r"T0 < (\d+) when the control is about as large", text).group(1))
    first = next(t for t in range(1, 500) if halving_detectable(t, t, 1.0))
    assert quoted == first


def test_wdd_variance_with_estimated_weights_is_the_delta_method_variance():
    import math

    import numpy as np

    from observatory.actions.evaluation import weighted_displacement_difference

    T, C, D, E = (40.0, 30.0), (100.0, 160.0), (50.0, 55.0), (80.0, 70.0)
    wc, wd = T[0] / C[0], D[0] / E[0]
    fixed = weighted_displacement_difference(T, C, D, E, wc, wd)
    est = weighted_displacement_difference(T, C, D, E, wc, wd, weights_estimated=True)
    assert est.wdd == pytest.approx(fixed.wdd)

    def wdd(v):  # v = t0, t1, c0, c1, d0, d1, e0, e1
        t0, t1, c0, c1, d0, d1, e0, e1 = v
        return t1 - t0 * c1 / c0 + d1 - d0 * e1 / e0

    v = np.array([*T, *C, *D, *E])
    h = 1e-6
    grad = np.array([(wdd(v + h * np.eye(8)[i]) - wdd(v - h * np.eye(8)[i])) / (2 * h) for i in range(8)])
    assert est.se == pytest.approx(math.sqrt((grad**2 * v).sum()), rel=1e-6)
    assert est.se > fixed.se  # the control moved: the estimated weight adds uncertainty
    # Controls that do not change: the two variances coincide.
    same = weighted_displacement_difference(T, (100.0, 100.0), weights_estimated=True, control_weight=0.4)
    assert same.se == pytest.approx(weighted_displacement_difference(T, (100.0, 100.0), control_weight=0.4).se)
