"""Design-based estimates from survey microdata: weighted proportions and means with Taylor-linearised variance.

Every estimate is a ratio ``R = Σ w·y·d / Σ w·d`` over a domain ``d`` (a territory, a wave, the victims of a
category): a proportion when ``y`` is 0/1, a mean otherwise. Its variance is that of the linearised variable
``z = w·d·(y − R) / Σ w·d`` under a stratified design whose primary sampling units (PSUs) are drawn with
replacement — the estimator R's ``survey`` package uses by default (``svydesign(ids=~psu, strata=~stratum,
weights=~w)``, ``svymean``/``svyratio``)::

    V(R) = Σ_h  n_h / (n_h − 1) · Σ_c (z_hc − z̄_h)²

with ``z_hc`` the sum of ``z`` over the respondents of PSU ``c`` of stratum ``h`` and ``n_h`` that stratum's
number of PSUs. Without a PSU column each respondent is its own PSU; without a stratum column there is one
stratum. A stratum with a single PSU is centred on the overall PSU mean (R's ``lonely.psu = "adjust"``) rather
than dropped, which would understate the variance. Domains are estimated with the whole design (respondents
outside the domain contribute z = 0), never by subsetting the sample, which would drop PSUs and misstate the
variance.

The interval is Wald's on the logit scale for proportions (it stays inside [0, 1] and behaves for small
proportions, like ``svyciprop(method = "logit")``) and Wald's on the natural scale for means. The design
effect compares the variance with that of a simple random sample of the same size.

Publication rule (:func:`publishable`): an estimate is published only when its unweighted number of
respondents reaches ``min_n`` and its coefficient of variation is at most ``max_cv``; otherwise it is shown as
« effectif insuffisant ». Microdata never leave the store: every function here returns aggregates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

Z95 = float(stats.norm.ppf(0.975))


@dataclass(frozen=True)
class Estimate:
    """One weighted estimate with its design-based standard error (``n`` = unweighted respondents in the domain)."""

    value: float
    se: float
    n: int
    weighted_n: float
    proportion: bool
    deff: float = float("nan")

    @property
    def cv(self) -> float:
        return self.se / abs(self.value) if self.value else float("inf")

    def interval(self, level: float = 0.95) -> tuple[float, float]:
        z = float(stats.norm.ppf(0.5 + level / 2))
        if not np.isfinite(self.value) or not np.isfinite(self.se):
            return (float("nan"), float("nan"))
        if self.proportion:
            p = self.value
            if p <= 0.0 or p >= 1.0 or self.se == 0:
                return (p, p) if self.se == 0 else ((0.0, 0.0) if p <= 0 else (1.0, 1.0))
            logit = np.log(p / (1 - p))
            half = z * self.se / (p * (1 - p))  # delta method: se(logit p) = se(p) / (p (1 − p))
            lo, hi = logit - half, logit + half
            return (float(1 / (1 + np.exp(-lo))), float(1 / (1 + np.exp(-hi))))
        return (self.value - z * self.se, self.value + z * self.se)


def _psu_ids(frame: pd.DataFrame, stratum: str | None, psu: str | None) -> tuple[np.ndarray, np.ndarray]:
    n = len(frame)
    strata = frame[stratum].astype(str).to_numpy() if stratum else np.zeros(n, dtype=object).astype(str)
    psus = frame[psu].astype(str).to_numpy() if psu else np.arange(n).astype(str)
    # PSU labels are nested in strata: the same label in two strata is two PSUs.
    s_codes, s_idx = np.unique(strata, return_inverse=True)
    p_codes, p_idx = np.unique(np.char.add(np.char.add(strata.astype(str), "\x1f"), psus.astype(str)), return_inverse=True)
    # The stratum of each PSU.
    psu_stratum = np.empty(len(p_codes), dtype=np.int64)
    psu_stratum[p_idx] = s_idx
    return p_idx, psu_stratum


def linearised_variance(z: np.ndarray, psu_index: np.ndarray, psu_stratum: np.ndarray) -> float:
    """Σ_h n_h/(n_h−1) Σ_c (z_hc − z̄_h)² for PSU totals ``z_hc`` (with-replacement PSUs, no finite population correction)."""
    totals = np.bincount(psu_index, weights=z, minlength=len(psu_stratum))
    n_h = np.bincount(psu_stratum, minlength=psu_stratum.max() + 1 if len(psu_stratum) else 0)
    sums_h = np.bincount(psu_stratum, weights=totals, minlength=len(n_h))
    means_h = np.divide(sums_h, n_h, out=np.zeros_like(sums_h, dtype=float), where=n_h > 0)
    lonely = n_h[psu_stratum] == 1
    # Lonely PSUs are centred on the mean of all PSU totals ("adjust").
    centre = np.where(lonely, totals.mean() if len(totals) else 0.0, means_h[psu_stratum])
    dev2 = (totals - centre) ** 2
    factor = np.where(n_h > 1, n_h / np.maximum(n_h - 1, 1), 1.0)
    return float(np.sum(factor[psu_stratum] * dev2))


@dataclass(frozen=True)
class Design:
    """The sampling design of one wave: weights and each respondent's PSU (nested in strata), computed once."""

    weights: np.ndarray
    psu_index: np.ndarray
    psu_stratum: np.ndarray

    @classmethod
    def of(cls, frame: pd.DataFrame, weight: str, stratum: str | None = None, psu: str | None = None) -> "Design":
        psu_index, psu_stratum = _psu_ids(frame, stratum, psu)
        return cls(pd.to_numeric(frame[weight], errors="coerce").to_numpy(dtype=float), psu_index, psu_stratum)


def ratio_estimate(values: np.ndarray, design: Design, domain: np.ndarray | None = None, proportion: bool = True) -> Estimate:
    """The weighted mean of ``values`` over ``domain`` (missing values leave the domain) under ``design``."""
    w = design.weights
    d = np.ones(len(values), dtype=bool) if domain is None else np.asarray(domain, dtype=bool)
    d = d & np.isfinite(values) & np.isfinite(w)
    n = int(d.sum())
    wd = np.where(d, w, 0.0)
    total_w = float(wd.sum())
    if n == 0 or total_w <= 0:
        return Estimate(float("nan"), float("nan"), n, total_w, proportion)
    yv = np.where(d, values, 0.0)
    r = float((wd * yv).sum() / total_w)
    z = wd * (yv - r) / total_w
    var = linearised_variance(z, design.psu_index, design.psu_stratum)
    # Design effect against simple random sampling of n respondents (with the domain's own variance of y).
    srs_var = float(np.var(values[d], ddof=1) / n) if n > 1 else float("nan")
    deff = var / srs_var if srs_var and np.isfinite(srs_var) and srs_var > 0 else float("nan")
    return Estimate(r, float(np.sqrt(max(var, 0.0))), n, total_w, proportion, deff)


def weighted_ratio(
    frame: pd.DataFrame,
    y: str,
    weight: str,
    domain: pd.Series | np.ndarray | None = None,
    stratum: str | None = None,
    psu: str | None = None,
    proportion: bool = True,
) -> Estimate:
    """The weighted mean of ``y`` over ``domain`` (rows where ``y`` is missing leave the domain), with its SE.

    ``frame`` is the whole sample of the design (one wave); ``domain`` a boolean mask over it.
    """
    values = pd.to_numeric(frame[y], errors="coerce").to_numpy(dtype=float)
    return ratio_estimate(values, Design.of(frame, weight, stratum, psu), domain, proportion)


def publishable(est: Estimate, min_n: int, max_cv: float) -> bool:
    """Published only with ``min_n`` respondents or more and a coefficient of variation at most ``max_cv``.

    For a proportion the CV is taken on the smaller of p and 1 − p: a rare answer (3 %) is as precise as its
    complement (97 %) and must not pass because it is read from the other side.
    """
    if est.n < min_n or not np.isfinite(est.value) or not np.isfinite(est.se):
        return False
    base = min(est.value, 1 - est.value) if est.proportion else abs(est.value)
    if base <= 0:
        return False  # 0 % or 100 %: no variance to judge the precision by, and a « 0 victime » would be read literally
    return est.se / base <= max_cv


def change_between_waves(a: Estimate, b: Estimate) -> tuple[float, float, float]:
    """Difference b − a between two waves (independent samples), its SE and the two-sided p-value (Wald)."""
    diff = b.value - a.value
    se = float(np.hypot(a.se, b.se))
    if not np.isfinite(se) or se == 0:
        return diff, se, float("nan")
    p = float(2 * stats.norm.sf(abs(diff) / se))
    return diff, se, p


def reporting_rate(recorded: int, victims: Estimate, population: float) -> tuple[float, float, float]:
    """Recorded complaints per estimated victim: ``recorded / (p̂ · population)`` with a 95 % interval.

    ``victims`` is the proportion of residents who declare being victims over the reference period; the
    interval inverts the proportion's own interval (the records are a census of what partners recorded, so their
    count carries no sampling error). Returns (rate, low, high); NaN when the survey finds no victim.
    """
    if not np.isfinite(victims.value) or victims.value <= 0 or population <= 0:
        return (float("nan"), float("nan"), float("nan"))
    lo_p, hi_p = victims.interval()
    rate = recorded / (victims.value * population)
    high = recorded / (lo_p * population) if lo_p > 0 else float("inf")
    low = recorded / (hi_p * population)
    return (float(rate), float(low), float(high))
