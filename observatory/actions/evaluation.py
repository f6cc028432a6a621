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
    weights_estimated: bool = False,
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
    level (Wheeler's ``area_weights``, here as multipliers); fixed constants by default.

    ``weights_estimated``: the weights are w_c = T0/C0 and w_d = D0/Cd0 (D0/C0 with a shared control), estimated
    from the same counts; the variance is then the delta-method variance of T1 − T0·C1/C0 + D1 − D0·Cd1/Cd0 (each
    count Poisson, the shared control's gradients summed). It equals the constant-weight variance when the
    controls do not change, and is larger when they do.

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
    if weights_estimated and c0 > 0:
        # Delta method: gradient of the WDD with respect to each Poisson count, variance Σ grad²·count.
        grads = {"t0": (t0, -c1 / c0), "t1": (t1, 1.0), "c0": (c0, t0 * c1 / c0**2), "c1": (c1, -t0 / c0)}
        if displacement is not None:
            if displacement_control is None:
                grads["c0"] = (c0, grads["c0"][1] + d0 * c1 / c0**2)
                grads["c1"] = (c1, grads["c1"][1] - d0 / c0)
                grads.update({"d0": (d0, -c1 / c0), "d1": (d1, 1.0)})
            elif e0 > 0:
                grads.update({"d0": (d0, -e1 / e0), "d1": (d1, 1.0), "e0": (e0, d0 * e1 / e0**2), "e1": (e1, -d0 / e0)})
        total_var = sum(g * g * n for n, g in grads.values())
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


def p_text(p: float) -> str:
    """A p-value as the tables and verdicts print it (« p = 0,012 », « p < 0,001 »)."""
    if math.isnan(p):
        return "p non calculable"
    return "p < 0,001" if p < 0.001 else f"p = {labels.fmt_number(p, 3)}"


def _two_sided_p(estimate: float, se: float) -> float:
    return float(2 * stats.norm.sf(abs(estimate / se))) if se > 0 else math.nan


@dataclass(frozen=True)
class LocalTest:
    """The perimeter-only answer: did the perimeter change differently from its control?

    The difference-in-differences (rate ratio) when it is defined, else — a count of 0 — the WDD's local term
    ``ΔT − w·ΔC`` with its Poisson SE. ``text`` quotes the figure the evaluation table shows.
    """

    direction: int  # −1 significant decrease, +1 significant increase, 0 not significant at ALPHA
    p_value: float
    text: str


def local_test(result: WDDResult, did: DiDResult | None, alpha: float = ALPHA) -> LocalTest:
    """Perimeter vs control: the DiD's log-ratio z-test (its 95 % interval excludes 0 exactly when p < 0.05)."""
    if did is not None and not math.isnan(did.ratio) and not math.isnan(did.p_value):
        p = did.p_value
        estimate = did.ratio - 1
        text = f"différence de différences {labels.fmt_pct(estimate)} [{labels.fmt_pct(did.ratio_ci_low - 1)} ; {labels.fmt_pct(did.ratio_ci_high - 1)}]"
    else:
        p = _two_sided_p(result.local, result.local_se)
        estimate = result.local
        text = f"{labels.fmt_signed(result.local, 1)} faits par rapport à la zone témoin, {p_text(p)}"
    direction = 0 if math.isnan(p) or p >= alpha else (-1 if estimate < 0 else 1)
    return LocalTest(direction, p, text)


def buffer_direction(result: WDDResult, alpha: float = ALPHA) -> int:
    """−1 / +1 when the buffer's term ``ΔD − w_d·ΔCd`` is significant at ``alpha`` (fewer / more), else 0."""
    p = _two_sided_p(result.displacement, result.displacement_se)
    return 0 if math.isnan(p) or p >= alpha else (-1 if result.displacement < 0 else 1)


# The overall verdict codes (the page colours them; docs/actions.md, "Un seul verdict"): the strong ones need the
# perimeter and the net total to agree; the "local_" ones are a perimeter effect the net total does not confirm;
# the "weak_" ones a net change carried by the buffer, or only an indication (0.05 ≤ p < 0.10).
VERDICT_CODES = ("no_conclusion", "decrease", "increase", "local_decrease", "local_increase", "weak_decrease", "weak_increase", "no_effect")


def verdict(
    result: WDDResult | None,
    treated: Pair,
    control: Pair,
    control_weight: float,
    windows: Windows,
    has_control: bool = True,
    did: DiDResult | None = None,
) -> tuple[str, str]:
    """(code, French sentence): ONE overall verdict from the two tests, which answer different questions.

    * Perimeter question — did the perimeter change differently from its control? The difference-in-differences
      ``(T1/T0)/(C1/C0)`` (:func:`local_test`; computed from ``treated``/``control`` when ``did`` is None).
    * Net question — counting the 300 m buffer, where crime may have moved (displacement) or also fallen
      (diffusion of benefits), are there fewer incidents than the controls predict? The WDD test.

    Rules, in order (docs/actions.md, "Quand on ne peut pas conclure" and "Un seul verdict"):
    1. windows shorter than MIN_WINDOW_MONTHS or not covered by the data → no_conclusion;
    2. no control area → no_conclusion;
    3. counts so small that even a halving in the perimeter would not be significant → no_conclusion;
    4. net significant (WDD p < 0.05) and the perimeter significant the same way → decrease / increase
       ("compatible with an effect": an observational design never proves causation);
    5. perimeter significant but the net total not (or the other way) → local_decrease / local_increase:
       "effet net non démontré", saying whether the buffer compensated;
    6. net significant but the perimeter not (or against it) → weak_decrease / weak_increase: carried by the buffer;
    7. neither significant: 0.05 ≤ WDD p < 0.10 → weak_* ("indice"); else no_effect, which is not proof of no effect.
    The sentence starts with the conclusion (before the first " : "), then quotes both figures.
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
    if did is None:
        did = difference_in_differences(treated, control)
    local = local_test(result, did)
    buffer = buffer_direction(result)
    net = 0 if math.isnan(result.p_value) or result.p_value >= ALPHA else (-1 if result.wdd < 0 else 1)
    wdd_txt = f"WDD {labels.fmt_signed(result.wdd, 1)} faits, {p_text(result.p_value)}"
    in_perimeter = f"dans le périmètre par rapport à la zone témoin ({local.text})"
    net_total = f"au total zone tampon comprise ({wdd_txt})"
    word = {-1: "baisse", 1: "hausse"}
    if net and local.direction == net:
        head = "Baisse significative, compatible avec un effet de l'action" if net < 0 else "Hausse significative"
        return ("decrease" if net < 0 else "increase"), f"{head} : {word[net]} {in_perimeter} et {net_total}."
    if local.direction:
        w = word[local.direction]
        # Only a perimeter fall with a buffer rise reads as displacement; a perimeter rise with a buffer fall gets
        # no interpretation (concentration, or more recording where the action put more eyes).
        moved = " (déplacement possible)" if local.direction < 0 else ""
        if net:  # the buffer moved the other way, more than the perimeter: the net total goes against it
            why = f"{word[net]} plus forte dans la zone tampon{moved} : {word[net]} significative {net_total}"
        elif buffer == -local.direction:
            why = f"compensée par une {word[buffer]} dans la zone tampon{moved} ; pas d'évolution significative {net_total}"
        else:
            why = f"non confirmée une fois la zone tampon comptée ; pas d'évolution significative {net_total}"
        return f"local_{'decrease' if local.direction < 0 else 'increase'}", (
            f"Effet net non démontré : {w} significative {in_perimeter}, mais {why}."
        )
    if net:
        w = word[net]
        return f"weak_{'decrease' if net < 0 else 'increase'}", (
            f"{w.capitalize()} nette portée par la zone tampon, pas par le périmètre : {w} significative {net_total}, "
            f"mais pas d'évolution significative {in_perimeter} ; effet de l'action non démontré."
        )
    if result.p_value < WEAK_ALPHA:
        w = word[-1 if result.wdd < 0 else 1]
        return f"weak_{'decrease' if result.wdd < 0 else 'increase'}", (
            f"Indice de {w}, non significatif au seuil de 5 % : {net_total}, pas d'évolution significative {in_perimeter} ; à confirmer sur une période plus longue."
        )
    return "no_effect", (
        f"Pas d'évolution significative : ni {in_perimeter}, ni {net_total} ; cela ne prouve pas l'absence d'effet."
    )


def displacement_note(result: WDDResult | None, local_direction: int = 0) -> str:
    """A French note on the buffer's own term ``ΔD − w_d·ΔCd``, with its figure so the reader can weigh it.

    A significant rise reads as possible displacement and a significant fall as possible diffusion of benefits
    only when the perimeter itself did not rise significantly (``local_direction`` of :func:`local_test`): when
    both rose, or the perimeter rose while the buffer fell, neither word applies.
    """
    if result is None or result.displacement_se == 0:
        return ""
    p = _two_sided_p(result.displacement, result.displacement_se)
    figure = f"{labels.fmt_signed(result.displacement, 1)} faits par rapport à sa zone témoin, {p_text(p)}"
    if p >= ALPHA:
        return f"Zone tampon : {figure} ; pas de déplacement ni de diffusion significatifs."
    meaning = ""
    if local_direction <= 0:
        meaning = " : déplacement possible" if result.displacement > 0 else " : diffusion des bénéfices possible"
    return f"Zone tampon : {'hausse' if result.displacement > 0 else 'baisse'} significative ({figure}){meaning}."


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
