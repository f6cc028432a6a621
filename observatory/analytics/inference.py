"""Tests of a change between two periods that fit crime counts: overdispersion, exposure, coverage.

Crime counts vary more than a Poisson model says (series of facts, recording practices, weather): a Poisson
test on two annual totals calls changes of 1 % "significant". Here each compared series gets its own
dispersion ``phi``, estimated from its monthly history (the last :data:`HISTORY_YEARS` years, months without
data left out) by a Poisson log-linear model with one level per year and one per month of the year (the Poisson
MLE of that quasi-independence model, fitted by iterative proportional fitting): ``phi`` is Pearson's χ² over its
residual degrees of freedom, floored at 1 (the product never claims counts are *less* variable than Poisson).
The year levels absorb any change between years, so the change being tested does not inflate ``phi``.

The test (``quasi_poisson``): conditional on the total n = a + b, a is binomial(n, p) with
p = r / (1 + r), r the exposure ratio (days current / days previous); its variance is inflated by ``phi``:
z = (a − n·p) / √(phi · n · p · (1 − p)), two-sided p-value from Student's t with the dispersion's degrees of
freedom (``phi`` is estimated). The p-value is never below the exact Poisson test's (small counts: the normal
approximation is not trusted). Where the dispersion cannot be estimated (fewer than :data:`MIN_DF` residual
degrees of freedom, or fewer than :data:`MIN_MEAN` facts per month on average), the exact conditional Poisson
test is kept (``poisson_exact``) and said so.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

HISTORY_YEARS = 5
MIN_DF = 10
MIN_MEAN = 2.0
_IPF_ITERATIONS = 100

QUASI_POISSON = "quasi_poisson"
POISSON_EXACT = "poisson_exact"
NO_TEST = "none"
TEST_LABELS = {
    QUASI_POISSON: "quasi-Poisson (dispersion estimée sur l'historique mensuel)",
    POISSON_EXACT: "Poisson exact (dispersion non estimable)",
    NO_TEST: "pas de test",
}


def dispersion(cube: np.ndarray, observed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(phi, df) per series of ``cube`` (shape series × years × 12, monthly counts); ``observed`` (same shape,
    bool) marks the months with data (default: all). ``phi`` is NaN where it cannot be estimated (see module)."""
    y = np.asarray(cube, dtype="float64")
    if y.ndim != 3:
        raise ValueError("cube attendu : séries × années × 12 mois")
    m = np.ones_like(y, dtype=bool) if observed is None else np.asarray(observed, dtype=bool)
    y = np.where(m, np.nan_to_num(y), 0.0)
    # A year (or month) with no fact at all is fitted exactly by a zero level: it carries no information on the
    # dispersion and must not count in the degrees of freedom (a category that did not exist yet, a closed pool).
    m = m & (y.sum(axis=2) > 0)[:, :, None] & (y.sum(axis=1) > 0)[:, None, :]
    mf = m.astype("float64")
    # Quasi-independence model mu_ij = a_i * b_j on the observed cells, fitted by alternating the margins.
    a = np.ones(y.shape[:2])
    b = np.ones((y.shape[0], y.shape[2]))
    row_tot, col_tot = y.sum(axis=2), y.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        for _ in range(_IPF_ITERATIONS):
            a = np.where(row_tot > 0, row_tot / (mf * b[:, None, :]).sum(axis=2), 0.0)
            b = np.where(col_tot > 0, col_tot / (mf * a[:, :, None]).sum(axis=1), 0.0)
        mu = a[:, :, None] * b[:, None, :] * mf
        chi2 = np.where((mu > 0) & m, (y - mu) ** 2 / mu, 0.0).sum(axis=(1, 2))
    n_obs = m.sum(axis=(1, 2))
    rows = m.any(axis=2).sum(axis=1)
    cols = m.any(axis=1).sum(axis=1)
    df = n_obs - (rows + cols - 1)
    mean = y.sum(axis=(1, 2)) / np.maximum(n_obs, 1)
    ok = (df >= MIN_DF) & (mean >= MIN_MEAN)
    with np.errstate(divide="ignore", invalid="ignore"):
        phi = np.where(ok, np.maximum(chi2 / np.maximum(df, 1), 1.0), np.nan)
    return phi, np.where(ok, df, 0).astype("int64")


def rate_tests(current, previous, exposure_ratio=1.0, phi=None, df=None) -> tuple[np.ndarray, np.ndarray]:
    """(p-values, test codes) for pairs of counts; ``exposure_ratio`` current/previous (scalar or per pair),
    ``phi``/``df`` from :func:`dispersion` (NaN or None: exact Poisson test)."""
    from observatory.analytics.compare import poisson_tests

    a = np.asarray(current, dtype="int64")
    b = np.asarray(previous, dtype="int64")
    r = np.broadcast_to(np.asarray(exposure_ratio, dtype="float64"), a.shape)
    phi = np.full(a.shape, np.nan) if phi is None else np.broadcast_to(np.asarray(phi, dtype="float64"), a.shape)
    df = np.zeros(a.shape, dtype="int64") if df is None else np.broadcast_to(np.asarray(df), a.shape)
    exact = poisson_tests(a, b, r)
    n = a + b
    p = r / (1.0 + r)
    quasi = ~np.isnan(phi) & (n > 0)
    out = exact.copy()
    if quasi.any():
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (a - n * p) / np.sqrt(phi * n * p * (1 - p))
        pt = 2 * stats.t.sf(np.abs(z), np.maximum(df, 1))
        out = np.where(quasi, np.maximum(pt, exact), exact)
    codes = np.where(n == 0, NO_TEST, np.where(quasi, QUASI_POISSON, POISSON_EXACT))
    return np.minimum(out, 1.0), codes
