"""Evaluation of an action: before/after in its perimeter, against a control area and a displacement buffer.

Everything here is pure (DataFrames and numbers in, results out, no I/O); the adapter that pulls incidents from
the current snapshot lives in :mod:`observatory.actions.service`.

Method (written out in docs/actions.md, "Évaluation"):

* Windows: ``L`` months before the start ``[start − L, start)`` and ``L`` months after ``[start, start + L)``,
  ``L = settings.eval_window_months``; when the data do not cover both windows, ``L`` shrinks to what they
  cover (equal lengths are kept); under :data:`MIN_WINDOW_MONTHS` months there is no conclusion.
* Areas (Lambert-93): the treated perimeter T; the displacement buffer D, a ring of
  :data:`DEFAULT_BUFFER_M` metres around it; a control area C chosen by the analyst or, by default, grid cells
  of the same arrondissement under no action and outside the buffer, matched on their before-window count
  (see :func:`select_control_cells`).
* Weighted Displacement Difference (Wheeler & Ratcliffe 2018) with its Poisson standard error and a z-test,
  and the simple difference-in-differences as a rate ratio with its confidence interval.
* ONE verdict in French from both (:func:`verdict`): the DiD answers "did the perimeter change differently from
  its control?", the WDD "counting the buffer, are there fewer incidents than predicted?"; the verdict says which
  agreed and never says more than the tests support.

The parts live beside this module and stay importable from here: the tests in :mod:`.significance`, windows,
counts and control cells in :mod:`.before_after`, the verdict in :mod:`.verdicts`. This module puts them
together for one action (:func:`evaluate_incidents`, :func:`evaluate_counts`) and checks objectives.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
import shapely
from scipy import stats

from observatory import labels, schema
from observatory.actions.before_after import (  # noqa: F401 - re-exported: pages, reports and tests read them here
    DEFAULT_BUFFER_M,
    MIN_CELL_SHARE_IN_CITY,
    MIN_CONTROL_CELLS,
    MIN_WINDOW_MONTHS,
    Pair,
    Windows,
    area_counts,
    cell_counts,
    displacement_ring,
    evaluation_windows,
    monthly_area_counts,
    select_control_cells,
)
from observatory.actions.significance import (  # noqa: F401 - halving_detectable and p_text re-exported
    ALPHA,
    _two_sided_p,
    difference_in_differences,
    halving_detectable,
    local_test,
    p_text,
    weighted_displacement_difference,
)
from observatory.actions.verdicts import VERDICT_CODES, WEAK_ALPHA, displacement_note, verdict  # noqa: F401 - re-exported


@dataclass(frozen=True)
class AreaCounts:
    treated: Pair
    control: Pair
    buffer: Pair
    control_weight: float  # T0 / C0: scales the control to the treated level
    buffer_weight: float  # D0 / Cd0 (or D0 / C0 when the control is shared)
    buffer_control: Pair | None = None  # the buffer's own control; None = shared with the perimeter


def evaluate_counts(counts: AreaCounts, windows: Windows, has_control: bool = True) -> dict:
    """WDD, DiD and verdicts for counts already computed; the row the evaluation table shows."""
    result = None
    if has_control:
        # The weights are T0/C0 and D0/Cd0, estimated from the counts themselves: their uncertainty enters the variance.
        result = weighted_displacement_difference(counts.treated, counts.control, counts.buffer, counts.buffer_control, counts.control_weight,
                                                  counts.buffer_weight, weights_estimated=True)
    did = difference_in_differences(counts.treated, counts.control)
    code, text = verdict(result, counts.treated, counts.control, counts.control_weight, windows, has_control, did)
    local = local_test(result, did) if result else None
    nan = math.nan
    return {
        "window_months": windows.months,
        "before_start": windows.before_start.date(),
        "after_end": (windows.after_end - pd.Timedelta(days=1)).date(),
        "treated_before": counts.treated[0],
        "treated_after": counts.treated[1],
        "control_before": counts.control[0],
        "control_after": counts.control[1],
        "control_weight": counts.control_weight,
        "buffer_before": counts.buffer[0],
        "buffer_after": counts.buffer[1],
        "buffer_control_before": counts.buffer_control[0] if counts.buffer_control else nan,
        "buffer_control_after": counts.buffer_control[1] if counts.buffer_control else nan,
        "buffer_weight": counts.buffer_weight,
        "local_effect": result.local if result else nan,
        "local_se": result.local_se if result else nan,
        "displacement_effect": result.displacement if result else nan,
        "displacement_se": result.displacement_se if result else nan,
        "wdd": result.wdd if result else nan,
        "wdd_se": result.se if result else nan,
        "z": result.z if result else nan,
        "p_value": result.p_value if result else nan,
        "ci_low": result.ci_low if result else nan,
        "ci_high": result.ci_high if result else nan,
        "change_treated": did.change_treated,
        "change_control": did.change_control,
        "did_points": did.difference_points,
        "did_ratio": did.ratio,
        "did_ci_low": did.ratio_ci_low,
        "did_ci_high": did.ratio_ci_high,
        "did_p_value": did.p_value,
        "local_p_value": local.p_value if local else nan,  # the test behind the perimeter answer
        "buffer_p_value": _two_sided_p(result.displacement, result.displacement_se) if result else nan,
        "verdict_code": code,
        "verdict": text,
        "displacement_note": displacement_note(result, local.direction if local else 0) if code != "no_conclusion" else "",
        "significant": code in ("decrease", "increase"),
        "unreliable": code == "no_conclusion",
        "window_note": (windows.reason or "") if windows.usable else "",  # an unusable window's reason is in the verdict
    }


def evaluate_incidents(
    incidents: pd.DataFrame,
    perimeter_l93: shapely.Geometry,
    windows: Windows,
    *,
    control_l93: shapely.Geometry | None = None,
    control_cells: list[str] | None = None,
    buffer_control_cells: list[str] | None = None,
    buffer_m: float = DEFAULT_BUFFER_M,
) -> dict:
    """Evaluate one perimeter from incidents (already restricted to the targeted categories).

    The control is either a geometry (an analyst's choice, then shared by the perimeter and the buffer) or
    lists of grid cell ids (the default choice, :func:`select_control_cells`): ``control_cells`` matched to
    the perimeter and, when available, disjoint ``buffer_control_cells`` matched to the buffer, as in the
    paper's design with a control per area. Without buffer controls the perimeter's control is shared.
    """
    ring = displacement_ring(perimeter_l93, buffer_m)
    treated = area_counts(incidents, perimeter_l93, windows)
    buffer = area_counts(incidents, ring, windows)

    def cells_total(cells: list[str] | None) -> Pair:
        if not cells:
            return (0.0, 0.0)
        sub = incidents[incidents[schema.GRID_CELL].isin(set(cells))]
        counts = cell_counts(sub, windows) if len(sub) else pd.DataFrame({"before": [0.0], "after": [0.0]})
        return (float(counts["before"].sum()), float(counts["after"].sum()))

    buffer_control = None
    if control_l93 is not None:
        control = area_counts(incidents, control_l93, windows)
        has_control = not control_l93.is_empty
    else:
        control = cells_total(control_cells)
        has_control = bool(control_cells)
        if buffer_control_cells:
            buffer_control = cells_total(buffer_control_cells)
            # Too few comparable cells left for the buffer: a tiny control scaled up by a huge weight would
            # swamp the test, so the perimeter's control is shared instead (with the covariance accounted for).
            if buffer_control[0] < 0.5 * buffer[0]:
                buffer_control, buffer_control_cells = None, []
    wc = treated[0] / control[0] if control[0] > 0 else 1.0
    reference = buffer_control if buffer_control is not None else control
    wb = buffer[0] / reference[0] if reference[0] > 0 else 1.0
    row = evaluate_counts(AreaCounts(treated, control, buffer, wc, wb, buffer_control), windows, has_control)
    row["control_cells"] = len(control_cells or ()) if control_l93 is None else None
    row["buffer_control_cells"] = len(buffer_control_cells or ()) if control_l93 is None else None
    return row


# Objectives -------------------------------------------------------------------------------------------------------
def objective_progress(previous: float, current: float, target_pct: float, months: int, alpha: float = ALPHA) -> dict:
    """Target vs actual for an objective "X % in year Y" on counts of the same months of Y−1 and Y.

    actual = current/previous − 1. The gap is tested with the conditional binomial test of two Poisson counts:
    given n = previous + current, current ~ Binomial(n, r/(1+r)) under H0 "the ratio is the target"
    r = 1 + target/100. Reached: actual ≤ target for a reduction target (< 0), actual ≥ target otherwise.
    """
    r = 1 + target_pct / 100
    actual = current / previous - 1 if previous > 0 else math.nan
    n = int(round(previous + current))
    p = math.nan
    if n > 0 and r > 0:
        p = float(stats.binomtest(int(round(current)), n, r / (1 + r)).pvalue)
    reached = (actual <= target_pct / 100) if target_pct < 0 else (actual >= target_pct / 100)
    if math.isnan(actual):
        text, code = "Pas de conclusion possible : aucun fait l'année précédente sur la même période.", "no_conclusion"
    elif months == 0:
        text, code = "Année de l'objectif pas encore couverte par les données.", "no_conclusion"
    else:
        gap = "écart significatif" if p < alpha else "écart non significatif"
        head = "Objectif atteint" if reached else "Objectif non atteint"
        text = f"{head} : {labels.fmt_pct(actual)} constaté pour {labels.fmt_pct(target_pct / 100)} visé ({gap}, {p_text(p)})"
        code = ("reached" if reached else "missed") + ("_significant" if p < alpha else "")
        if months < 12:
            text += f", sur les {months} premiers mois de l'année"
        text += "."
    return {"previous": previous, "current": current, "actual_change": actual, "target_change": target_pct / 100, "gap_p_value": p, "months": months, "objective_code": code, "objective_text": text}
