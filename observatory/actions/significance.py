"""The two tests of an action's evaluation and their perimeter/buffer readings: the Weighted Displacement
Difference (Wheeler & Ratcliffe 2018) and the difference-in-differences of Poisson counts, with the power
check under which no conclusion is drawn. Pure numbers in, results out."""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats

from observatory import labels

ALPHA = 0.05

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
