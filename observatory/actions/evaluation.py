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
* A verdict in French that never says more than the test supports (:func:`verdict`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import stats

from observatory import labels, schema

DEFAULT_BUFFER_M = 300.0
MIN_WINDOW_MONTHS = 3
ALPHA = 0.05
WEAK_ALPHA = 0.10
MIN_CONTROL_CELLS = 3
MIN_CELL_SHARE_IN_CITY = 0.5

Pair = tuple[float, float]


# WDD ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class WDDResult:
    """The WDD and its parts. Negative = fewer incidents than the control trend predicts (net of displacement)."""

    local: float  # ΔT − w_c·ΔC
    local_se: float
    displacement: float  # ΔD − w_d·ΔC_d
    displacement_se: float
    wdd: float  # local + displacement
    se: float
    z: float
    p_value: float  # two-sided, normal approximation
    ci_low: float
    ci_high: float


def weighted_displacement_difference(
    treated: Pair,
    control: Pair,
    displacement: Pair | None = None,
    displacement_control: Pair | None = None,
    control_weight: float = 1.0,
    displacement_control_weight: float = 1.0,
    alpha: float = ALPHA,
) -> WDDResult:
    """Weighted Displacement Difference test (Wheeler & Ratcliffe 2018, Crime Science 7:11, doi:10.1186/s40163-018-0085-5).

    Counts are (before, after) pairs over windows of equal length. With T the treated area, C its control,
    D the displacement buffer and Cd the buffer's control, Δ meaning after − before:

        WDD = (ΔT − w_c·ΔC) + (ΔD − w_d·ΔCd)
        Var(WDD) = T0 + T1 + w_c²·(C0 + C1) + D0 + D1 + w_d²·(Cd0 + Cd1)

    each count being Poisson (variance = count) and independent; SE = √Var, z = WDD / SE, two-sided p from the
    normal distribution, and a (1 − alpha) interval WDD ± z_{1−alpha/2}·SE. With w = 1 this is exactly the
    paper's equations (the paper's worked example T = (207, 110), C = (308, 318), D = (178, 157),
    Cd = (150, 140) gives WDD = −118, SE = √1568, z = −2.98). The weights rescale a control to its area's
    level (Wheeler's ``area_weights``, here as multipliers); they are treated as fixed constants.

    When the same control serves both (``displacement_control=None`` with a displacement given), its counts
    enter twice and are perfectly correlated, so the variance uses (w_c + w_d)²·(C0 + C1) instead of the sum
    of the two separate terms. Without a displacement area, the displacement terms are 0.
    """
    t0, t1 = map(float, treated)
    c0, c1 = map(float, control)
    wc, wd = float(control_weight), float(displacement_control_weight)
    local = (t1 - t0) - wc * (c1 - c0)
    local_var = t0 + t1 + wc * wc * (c0 + c1)
    if displacement is None:
        disp, disp_var, total_var = 0.0, 0.0, local_var
    else:
        d0, d1 = map(float, displacement)
        if displacement_control is None:
            disp = (d1 - d0) - wd * (c1 - c0)
            disp_var = d0 + d1 + wd * wd * (c0 + c1)
            total_var = t0 + t1 + d0 + d1 + (wc + wd) ** 2 * (c0 + c1)
        else:
            e0, e1 = map(float, displacement_control)
            disp = (d1 - d0) - wd * (e1 - e0)
            disp_var = d0 + d1 + wd * wd * (e0 + e1)
            total_var = local_var + disp_var
    total = local + disp
    se = math.sqrt(total_var)
    if se > 0:
        z = total / se
        p = float(2 * stats.norm.sf(abs(z)))
    else:
        z, p = math.nan, math.nan
    q = float(stats.norm.ppf(1 - alpha / 2))
    return WDDResult(local, math.sqrt(local_var), disp, math.sqrt(disp_var), total, se, z, p, total - q * se, total + q * se)


# Difference-in-differences ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DiDResult:
    change_treated: float  # T1/T0 − 1
    change_control: float  # C1/C0 − 1
    difference_points: float  # change_treated − change_control (the plain "DiD" of percentages)
    ratio: float  # (T1/T0) / (C1/C0): the treated change net of the control trend
    ratio_ci_low: float
    ratio_ci_high: float
    p_value: float


def difference_in_differences(treated: Pair, control: Pair, alpha: float = ALPHA) -> DiDResult:
    """Simple difference-in-differences of two Poisson counts before/after.

    ``ratio = (T1/T0)/(C1/C0)`` (the ratio of incidence-rate ratios; ``ratio − 1`` is the relative effect net of
    the control's trend); log-scale SE = √(1/T0 + 1/T1 + 1/C0 + 1/C1), z-test on log(ratio), interval
    exp(log ratio ± z·SE). Undefined (NaN) when a count is 0. ``difference_points`` is the plain difference of
    the two percentage changes, shown for readers used to it.
    """
    t0, t1 = map(float, treated)
    c0, c1 = map(float, control)
    ct = t1 / t0 - 1 if t0 > 0 else math.nan
    cc = c1 / c0 - 1 if c0 > 0 else math.nan
    if min(t0, t1, c0, c1) <= 0:
        return DiDResult(ct, cc, ct - cc, math.nan, math.nan, math.nan, math.nan)
    log_ratio = math.log((t1 / t0) / (c1 / c0))
    se = math.sqrt(1 / t0 + 1 / t1 + 1 / c0 + 1 / c1)
    q = float(stats.norm.ppf(1 - alpha / 2))
    p = float(2 * stats.norm.sf(abs(log_ratio / se)))
    return DiDResult(ct, cc, ct - cc, math.exp(log_ratio), math.exp(log_ratio - q * se), math.exp(log_ratio + q * se), p)


# Windows --------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Windows:
    before_start: pd.Timestamp  # naive dates, Europe/Paris local time
    start: pd.Timestamp
    after_end: pd.Timestamp  # exclusive
    months: int
    requested_months: int
    usable: bool
    reason: str | None  # French, why the windows do not allow a conclusion (or were shortened)


def evaluation_windows(start: date, months: int, data_start: date | None, data_end: date | None, min_months: int = MIN_WINDOW_MONTHS) -> Windows:
    """Equal before/after windows of ``months`` months around ``start``, shrunk to the data's coverage.

    ``data_end`` is the last day with data (inclusive). The after window needs ``start + L ≤ data_end + 1 day``
    and the before window ``start − L ≥ data_start``; the largest such ``L ≤ months`` is used. Below
    ``min_months`` the windows are marked unusable with the reason.
    """
    s = pd.Timestamp(start)
    if data_start is None or data_end is None:
        return Windows(s - pd.DateOffset(months=months), s, s + pd.DateOffset(months=months), 0, months, False, "aucune donnée disponible")
    first, last_excl = pd.Timestamp(data_start), pd.Timestamp(data_end) + pd.Timedelta(days=1)
    usable_months = 0
    for m in range(months, 0, -1):
        if s + pd.DateOffset(months=m) <= last_excl and s - pd.DateOffset(months=m) >= first:
            usable_months = m
            break
    before, after = s - pd.DateOffset(months=usable_months), s + pd.DateOffset(months=usable_months)
    if usable_months < min_months:
        if s >= last_excl:
            why = "l'action n'a pas encore commencé dans les données disponibles"
        elif s + pd.DateOffset(months=min_months) > last_excl:
            why = f"moins de {min_months} mois de recul après le début de l'action"
        else:
            why = f"moins de {min_months} mois de données avant le début de l'action"
        return Windows(before, s, after, usable_months, months, False, f"fenêtres trop courtes : {why}")
    reason = None if usable_months == months else f"fenêtres réduites à {usable_months} mois (données disponibles)"
    return Windows(before, s, after, usable_months, months, True, reason)


# Counting -------------------------------------------------------------------------------------------------------
def _weights(incidents: pd.DataFrame) -> np.ndarray:
    # n_facts counts the facts a row stands for; absent, each row is one fact.
    if schema.N_FACTS in incidents.columns:
        return incidents[schema.N_FACTS].fillna(1).to_numpy(dtype="float64")
    return np.ones(len(incidents))


def _period_masks(incidents: pd.DataFrame, windows: Windows) -> tuple[np.ndarray, np.ndarray]:
    if incidents.empty:
        return np.zeros(0, dtype=bool), np.zeros(0, dtype=bool)
    when = incidents[schema.OCCURRED_AT]
    tz = getattr(when.dt, "tz", None)
    b0, s, a1 = windows.before_start, windows.start, windows.after_end
    if tz is not None:
        b0, s, a1 = (t.tz_localize(tz) for t in (b0, s, a1))
    before = ((when >= b0) & (when < s)).to_numpy()
    after = ((when >= s) & (when < a1)).to_numpy()
    return before, after


def area_counts(incidents: pd.DataFrame, area_l93: shapely.Geometry | None, windows: Windows) -> Pair:
    """(before, after) counts of incidents whose Lambert-93 point lies in ``area_l93`` (boundary included).

    Incidents without coordinates cannot be placed in a perimeter and are not counted here (they still count
    in their arrondissement elsewhere).
    """
    if area_l93 is None or area_l93.is_empty or incidents.empty:
        return (0.0, 0.0)
    x = incidents[schema.X].to_numpy(dtype="float64", na_value=np.nan)
    y = incidents[schema.Y].to_numpy(dtype="float64", na_value=np.nan)
    ok = np.isfinite(x) & np.isfinite(y)
    inside = np.zeros(len(incidents), dtype=bool)
    inside[ok] = shapely.intersects_xy(area_l93, x[ok], y[ok])
    before, after = _period_masks(incidents, windows)
    w = _weights(incidents)
    return (float(w[inside & before].sum()), float(w[inside & after].sum()))


def cell_counts(incidents: pd.DataFrame, windows: Windows) -> pd.DataFrame:
    """Per grid cell: before and after counts (cell_id, before, after); incidents without a cell are left out."""
    before, after = _period_masks(incidents, windows)
    w = _weights(incidents)
    frame = pd.DataFrame({"cell_id": incidents[schema.GRID_CELL].to_numpy(dtype=object), "before": np.where(before, w, 0.0), "after": np.where(after, w, 0.0)})
    frame = frame[frame["cell_id"].notna()]
    return frame.groupby("cell_id", as_index=False)[["before", "after"]].sum()


def displacement_ring(perimeter_l93: shapely.Geometry, width_m: float = DEFAULT_BUFFER_M) -> shapely.Geometry:
    """The ring of ``width_m`` metres around a perimeter (the perimeter itself excluded)."""
    return perimeter_l93.buffer(width_m, quad_segs=16).difference(perimeter_l93)


def select_control_cells(
    grid: gpd.GeoDataFrame,
    counts: pd.DataFrame,
    arrondissement: str | None,
    exclusion_l93: shapely.Geometry | None,
    treated_before: float,
    treated_area_m2: float,
    min_cells: int = MIN_CONTROL_CELLS,
) -> list[str]:
    """Default control: comparable grid cells of the same arrondissement, under no action, outside the buffer.

    Candidates are the cells of ``grid`` (cell_id, arrondissement, share_in_city, geometry in Lambert-93) whose
    centre is in ``arrondissement``, mostly inside the city, and that do not touch ``exclusion_l93`` (every
    action perimeter plus this action's displacement buffer). They are ranked by how close their before-window
    count is to the treated area's count per cell-sized area — matching on the before level makes the control
    share the treated area's regression to the mean, since actions target places that were high — and taken
    in that order until their before-window total reaches the treated one (at least ``min_cells``). Ties break
    on the cell id, so the choice is reproducible. An empty list means no control is available.
    """
    cand = grid[grid["arrondissement"] == arrondissement] if arrondissement else grid.iloc[0:0]
    cand = cand[cand["share_in_city"] >= MIN_CELL_SHARE_IN_CITY]
    if exclusion_l93 is not None and not exclusion_l93.is_empty and len(cand):
        cand = cand[~shapely.intersects(cand.geometry.to_numpy(), exclusion_l93)]
    if cand.empty:
        return []
    cell_area = float(cand.geometry.iloc[0].area)
    per_cell_target = treated_before / max(1.0, treated_area_m2 / cell_area)
    table = cand[["cell_id"]].merge(counts, on="cell_id", how="left").fillna({"before": 0.0, "after": 0.0})
    table["distance"] = (table["before"] - per_cell_target).abs()
    table = table.sort_values(["distance", "cell_id"], kind="mergesort")
    chosen, total = [], 0.0
    for cell, before in zip(table["cell_id"], table["before"]):
        if len(chosen) >= min_cells and total >= treated_before:
            break
        chosen.append(cell)
        total += before
    return chosen


# Verdict ----------------------------------------------------------------------------------------------------------
def halving_detectable(treated_before: float, control_before: float, control_weight: float, alpha: float = ALPHA) -> bool:
    """Could these counts show a halving of the treated area as significant?

    Under a halving (T1 = T0/2) with a flat control (C1 = C0), WDD = −T0/2 and Var = T0 + T0/2 + 2·w²·C0.
    If even that is not significant at ``alpha``, the counts are too small to conclude anything: a
    non-significant result would then say nothing about the action.
    """
    if treated_before <= 0 or control_before <= 0:
        return False
    var = 1.5 * treated_before + 2 * control_weight**2 * control_before
    return (treated_before / 2) / math.sqrt(var) >= stats.norm.ppf(1 - alpha / 2)


def _p_text(p: float) -> str:
    if math.isnan(p):
        return "p non calculable"
    return "p < 0,001" if p < 0.001 else f"p = {labels.fmt_number(p, 3)}"


def verdict(
    result: WDDResult | None,
    treated: Pair,
    control: Pair,
    control_weight: float,
    windows: Windows,
    has_control: bool = True,
) -> tuple[str, str]:
    """(code, French sentence). Codes: no_conclusion, decrease, increase, weak_decrease, weak_increase, no_effect.

    Rules, in order (docs/actions.md, "Quand on ne peut pas conclure"):
    1. windows shorter than MIN_WINDOW_MONTHS or not covered by the data → no conclusion;
    2. no control area → no conclusion;
    3. counts so small that even a halving in the perimeter would not be significant → no conclusion;
    4. otherwise the two-sided WDD test: p < 0.05 → significant decrease/increase, "compatible with an effect"
       (an observational design never proves causation); 0.05 ≤ p < 0.10 → an indication only; else no
       significant change — which is not proof of no effect.
    """
    base = "Pas de conclusion possible"
    if not windows.usable:
        return "no_conclusion", f"{base} : {windows.reason}."
    if not has_control:
        return "no_conclusion", f"{base} : aucune zone témoin comparable disponible dans l'arrondissement."
    if result is None or not halving_detectable(treated[0], control[0], control_weight):
        return "no_conclusion", (
            f"{base} : effectifs trop faibles ({labels.fmt_int(treated[0])} faits avant, {labels.fmt_int(treated[1])} après "
            "dans le périmètre) — même une baisse de moitié ne serait pas distinguable du hasard."
        )
    wdd_txt = f"WDD = {labels.fmt_signed(result.wdd, 1)}, {_p_text(result.p_value)}"
    if result.p_value < ALPHA:
        if result.wdd < 0:
            return "decrease", f"Baisse significative dans le périmètre, nette de l'évolution de la zone témoin et du déplacement ({wdd_txt}) : compatible avec un effet de l'action."
        return "increase", f"Hausse significative dans le périmètre par rapport à la zone témoin ({wdd_txt})."
    local_p = float(2 * stats.norm.sf(abs(result.local / result.local_se))) if result.local_se > 0 else math.nan
    local_txt = ""
    if local_p < ALPHA:
        local_txt = (
            f" Dans le seul périmètre, la {'baisse' if result.local < 0 else 'hausse'} par rapport à la zone témoin est significative "
            f"({labels.fmt_signed(result.local, 1)} faits, {_p_text(local_p)}) ; c'est la variation de la zone tampon qui rend le bilan incertain."
        )
    if result.p_value < WEAK_ALPHA:
        if result.wdd < 0:
            return "weak_decrease", f"Indice de baisse, non significatif au seuil de 5 % ({wdd_txt}) : à confirmer sur une période plus longue.{local_txt}"
        return "weak_increase", f"Indice de hausse, non significatif au seuil de 5 % ({wdd_txt}).{local_txt}"
    return "no_effect", f"Pas d'évolution significative par rapport à la zone témoin ({wdd_txt}) ; cela ne prouve pas l'absence d'effet.{local_txt}"


def displacement_note(result: WDDResult | None) -> str:
    """A French note on the buffer: displacement (significant rise) or diffusion of benefits (significant fall)."""
    if result is None or result.displacement_se == 0:
        return ""
    z = result.displacement / result.displacement_se
    p = 2 * stats.norm.sf(abs(z))
    if p >= ALPHA:
        return "Pas de déplacement significatif vers la zone tampon."
    if z > 0:
        return f"Hausse significative dans la zone tampon ({_p_text(p)}) : déplacement possible."
    return f"Baisse significative dans la zone tampon ({_p_text(p)}) : diffusion des bénéfices possible."


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
        result = weighted_displacement_difference(counts.treated, counts.control, counts.buffer, counts.buffer_control, counts.control_weight, counts.buffer_weight)
    did = difference_in_differences(counts.treated, counts.control)
    code, text = verdict(result, counts.treated, counts.control, counts.control_weight, windows, has_control)
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
        "verdict_code": code,
        "verdict": text,
        "displacement_note": displacement_note(result) if code != "no_conclusion" else "",
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
        text = f"{head} : {labels.fmt_pct(actual)} constaté pour {labels.fmt_pct(target_pct / 100)} visé ({gap}, {_p_text(p)})"
        code = ("reached" if reached else "missed") + ("_significant" if p < alpha else "")
        if months < 12:
            text += f", sur les {months} premiers mois de l'année"
        text += "."
    return {"previous": previous, "current": current, "actual_change": actual, "target_change": target_pct / 100, "gap_p_value": p, "months": months, "objective_code": code, "objective_text": text}


def monthly_area_counts(incidents: pd.DataFrame, areas: dict[str, shapely.Geometry], first: pd.Timestamp, last: pd.Timestamp) -> pd.DataFrame:
    """Monthly counts per named area (month, area, count), every month from ``first`` to ``last`` present."""
    months = pd.date_range(first, last, freq="MS")
    frames = []
    x = incidents[schema.X].to_numpy(dtype="float64", na_value=np.nan) if len(incidents) else np.array([])
    y = incidents[schema.Y].to_numpy(dtype="float64", na_value=np.nan) if len(incidents) else np.array([])
    ok = np.isfinite(x) & np.isfinite(y)
    month_of = incidents[schema.OCCURRED_AT].dt.tz_localize(None).dt.to_period("M").dt.to_timestamp() if len(incidents) else pd.Series(dtype="datetime64[ns]")
    w = _weights(incidents)
    for name, geom in areas.items():
        inside = np.zeros(len(incidents), dtype=bool)
        if len(incidents):
            inside[ok] = shapely.intersects_xy(geom, x[ok], y[ok])
        counts = pd.Series(w[inside], index=month_of[inside].to_numpy()).groupby(level=0).sum() if inside.any() else pd.Series(dtype="float64")
        frames.append(pd.DataFrame({"month": months, "area": name, "count": counts.reindex(months, fill_value=0.0).to_numpy()}))
    return pd.concat(frames, ignore_index=True)
