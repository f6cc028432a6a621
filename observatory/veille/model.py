"""Expected weekly counts and alert tests: pure functions over weekly series (no I/O, no Dash).

Input: a long table ``unit_id``, ``family``, ``week`` (Monday, ``datetime64``), ``count`` with every week of
each series present (zeros filled, see :func:`complete_weeks`).

Method (stated in French by :data:`METHOD_NOTE`):

- **Baseline.** For each watched series, a negative-binomial (NB2) regression by maximum likelihood
  (statsmodels; Poisson GLM when no overdispersion) on the weeks *before* the watch window: intercept, a
  linear trend (per year) and two harmonics of the week of the year (seasonality).
- **Predictive distribution** of a watched week: NB2 mixed over the uncertainty of the fitted log-mean and of
  the dispersion (Gauss–Hermite quadrature, see :class:`Predictive`).
- **Two tests per series and week.** *Spike*: p = P(Y ≥ observed). *Drift*: an EWMA (λ = 0.4, reset at the
  window start) of standardised residuals z = Φ⁻¹(mid-PIT), compared with its null standard deviation (the
  residuals' shared estimation error and the history's own EWMA spread included); one-sided p.
- **False alarms.** Bonferroni over the week's tests: with m watched series, each of the 2·m tests is run at
  α/(2·m), so the probability that a week with no real change raises at least one alert anywhere is at most
  α (``veille_alpha``, 5 % by default). The upper bound shown is the spike test's threshold: an observed count
  above it is an alert.
- **Too little history.** A series with fewer than ``min_weeks`` weeks before the window or fewer than one
  fact a week on average is watched at a coarser level (all families of the unit, then its arrondissement,
  then the city), and says so; each coarser series is tested once, however many requests lead to it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

ALL_FAMILIES = "toutes"
EWMA_LAMBDA = 0.4
HARMONICS = 2
WEEKS_PER_YEAR = 365.2425 / 7

METHOD_NOTE = (
    "Attendu : régression binomiale négative (maximum de vraisemblance, statsmodels) ajustée sur l'historique propre "
    "de chaque périmètre et famille, avant la fenêtre de veille de 13 semaines : tendance, saisonnalité (semaine de "
    "l'année, deux harmoniques), surdispersion ; l'incertitude des paramètres est intégrée aux bornes. Alerte : "
    "observé au-dessus de la borne haute, ou hausse durable (EWMA λ = 0,4 des résidus standardisés). Fausses "
    "alertes : correction de Bonferroni sur tous les tests de la semaine (2 par série suivie), si bien qu'une "
    "semaine sans changement réel donne au plus α d'alerte, tous périmètres confondus (mesuré sur séries simulées : "
    "5,9 % pour 5 % visés). Historique insuffisant (moins d'un an ou moins d'un fait par semaine) : le périmètre est "
    "suivi à un niveau plus large, et le dit. Violences sexuelles et intrafamiliales non suivies (publiées à "
    "l'échelle de la ville seulement)."
)


class VeilleError(ValueError):
    """Bad input to the watch; the message is French and names what is wrong."""


@dataclass(frozen=True)
class Fit:
    """A fitted baseline: coefficients, their covariance (already scaled by φ) and φ."""

    params: np.ndarray
    cov: np.ndarray
    phi: float  # NB2 dispersion α (Var = μ + αμ²); 0 = Poisson
    phi_se: float  # its standard error
    origin: pd.Timestamp
    n_weeks: int
    mean_count: float
    harmonics: int = HARMONICS


def design(weeks: pd.Series | pd.DatetimeIndex, origin: pd.Timestamp, harmonics: int = HARMONICS) -> np.ndarray:
    """Columns: 1, years since ``origin``, sin/cos of 2πk·(week of year)/52.18 for k = 1..harmonics."""
    w = pd.DatetimeIndex(weeks)
    t = ((w - origin).days.to_numpy() / 7.0) / WEEKS_PER_YEAR
    doy = w.day_of_year.to_numpy() / 365.2425
    cols = [np.ones(len(w)), t]
    for k in range(1, harmonics + 1):
        cols += [np.sin(2 * np.pi * k * doy), np.cos(2 * np.pi * k * doy)]
    return np.column_stack(cols)


def fit_baseline(weeks: pd.Series | pd.DatetimeIndex, counts: np.ndarray, harmonics: int = HARMONICS) -> Fit:
    """Negative-binomial (NB2) regression of ``counts`` on trend and seasonality, by maximum likelihood
    (statsmodels); a Poisson GLM when the NB fit fails or finds no overdispersion."""
    from statsmodels.discrete.discrete_model import NegativeBinomial
    from statsmodels.genmod import families
    from statsmodels.genmod.generalized_linear_model import GLM

    w = pd.DatetimeIndex(weeks)
    y = np.asarray(counts, dtype=float)
    if len(y) == 0:
        raise VeilleError("série hebdomadaire vide : aucun historique à modéliser")
    origin = w.min()
    x = design(w, origin, harmonics)
    k = x.shape[1]
    mean = float(y.mean())
    if y.sum() == 0:
        # All zeros: the GLM has no finite intercept; a mean of half a fact over the history is a cautious stand-in.
        params = np.zeros(k)
        params[0] = np.log(0.5 / len(y))
        cov = np.zeros((k, k))
        cov[0, 0] = 1.0
        return Fit(params, cov, 0.0, 0.0, origin, len(y), mean, harmonics)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter on sparse series; checked below
        try:
            res = NegativeBinomial(y, x).fit(disp=0, method="newton", maxiter=100)
            params = np.asarray(res.params)
            cov = np.asarray(res.cov_params())
            ok = bool(res.mle_retvals.get("converged")) and np.all(np.isfinite(params)) and np.all(np.isfinite(cov))
        except (np.linalg.LinAlgError, ValueError):
            ok = False
        if ok and params[-1] > 1e-6:
            return Fit(params[:k], cov[:k, :k], float(params[-1]), float(np.sqrt(max(cov[-1, -1], 0.0))), origin, len(y), mean, harmonics)
        res = GLM(y, x, family=families.Poisson()).fit()
    params, cov = np.asarray(res.params), np.asarray(res.cov_params())
    if not np.all(np.isfinite(params)) or not np.all(np.isfinite(cov)):
        raise VeilleError("modèle d'attendu non estimable sur cette série (valeurs non finies)")
    return Fit(params, cov, 0.0, 0.0, origin, len(y), mean, harmonics)


def predictive(fit: Fit, weeks: pd.Series | pd.DatetimeIndex) -> tuple[Predictive, np.ndarray]:
    """The predictive law of each week's count, and the covariance matrix of the fitted log-means (the
    estimation error shared by all the weeks)."""
    x = design(weeks, fit.origin, fit.harmonics)
    eta = x @ fit.params
    cov_eta = x @ fit.cov @ x.T
    return Predictive(np.exp(eta), np.sqrt(np.clip(np.diag(cov_eta), 0, None)), fit.phi, fit.phi_se), cov_eta


_GH_X, _GH_W = np.polynomial.hermite_e.hermegauss(15)
_GH_W = _GH_W / _GH_W.sum()
_GA_X, _GA_W = np.polynomial.hermite_e.hermegauss(5)
_GA_W = _GA_W / _GA_W.sum()


class Predictive:
    """The predictive law of weekly counts: NB2 whose log-mean and dispersion are themselves uncertain,
    η ~ N(η̂, σ²) and α ~ N(α̂, se²) cut at 0 — a mixture integrated by Gauss–Hermite quadrature (15 × 5
    nodes). A single NB with the plug-in parameters has thinner tails: on simulated series with no change it
    gave about twice the nominal rate of p < 0.001, and the drift test too many alarms."""

    def __init__(self, mu: np.ndarray, sigma_eta: np.ndarray, dispersion: float, dispersion_se: float = 0.0) -> None:
        self.mu = np.asarray(mu, dtype=float)
        self.sigma = np.asarray(sigma_eta, dtype=float)
        self.alpha = float(dispersion)
        alphas = np.clip(dispersion + dispersion_se * _GA_X, 0.0, None) if dispersion > 0 else np.zeros(1)
        weights = _GA_W if dispersion > 0 else np.ones(1)
        # Components: every (η node, α node) pair, flattened; one row per week.
        self._mus = np.repeat(self.mu[:, None] * np.exp(self.sigma[:, None] * _GH_X[None, :]), len(alphas), axis=1)
        self._alphas = np.tile(alphas, len(_GH_X))[None, :]
        self._w = np.outer(_GH_W, weights).ravel()

    def _call(self, name: str, k: np.ndarray) -> np.ndarray:
        """``name`` (sf/cdf/pmf/ppf) of every mixture component at ``k`` (one value per row)."""
        k = np.asarray(k, dtype=float)[:, None]
        pois = getattr(stats.poisson, name)(k, self._mus)
        a = np.maximum(self._alphas, 1e-12)
        nb = getattr(stats.nbinom, name)(k, 1 / a, 1 / (1 + a * self._mus))
        return np.where(self._alphas > 1e-9, nb, pois)

    def _mix(self, values: np.ndarray) -> np.ndarray:
        return values @ self._w

    def sf(self, k: np.ndarray) -> np.ndarray:
        return self._mix(self._call("sf", k))

    def cdf(self, k: np.ndarray) -> np.ndarray:
        return self._mix(self._call("cdf", k))

    def pmf(self, k: np.ndarray) -> np.ndarray:
        return self._mix(self._call("pmf", k))

    def variance(self) -> np.ndarray:
        m1 = self._mix(self._mus)
        m2 = self._mix(self._mus + (1 + self._alphas) * self._mus**2)
        return m2 - m1**2

    def upper(self, level: np.ndarray | float) -> np.ndarray:
        """Smallest count u with P(Y > u) ≤ level (an observed count above u is significant at ``level``)."""
        level = np.broadcast_to(np.asarray(level, dtype=float), self.mu.shape)
        lo = np.zeros(self.mu.shape)
        hi = np.ceil(self._call("ppf", 1 - level / 10).max(axis=1)) + 1  # P(Y > hi) ≤ level
        while np.any(hi - lo > 1):  # integer bisection: sf(lo) > level ≥ sf(hi)
            mid = np.floor((lo + hi) / 2)
            ok = self.sf(mid) <= level
            hi = np.where(ok, mid, hi)
            lo = np.where(ok, lo, mid)
        return np.where(self.sf(lo) <= level, lo, hi)

    def lower(self, level: np.ndarray | float) -> np.ndarray:
        """Largest count l with P(Y < l) ≤ level."""
        level = np.broadcast_to(np.asarray(level, dtype=float), self.mu.shape)
        lo = np.zeros(self.mu.shape)
        hi = np.ceil(self.mu * np.exp(4 * self.sigma)) + 1
        while np.any(hi - lo > 1):
            mid = np.floor((lo + hi) / 2)
            ok = self.cdf(mid - 1) <= level
            lo = np.where(ok, mid, lo)
            hi = np.where(ok, hi, mid)
        return lo


def week_tests(observed: np.ndarray, law: Predictive, cov_eta: np.ndarray, level: np.ndarray | float,
               inflation: float = 1.0) -> pd.DataFrame:
    """Spike and drift tests for consecutive weeks of one series (the window, in order).

    ``level`` is the per-test level (α/(2m)). Returns ``p_spike``, ``z``, ``ewma``, ``p_drift``, ``lower``,
    ``upper`` (the counts outside which the spike test at ``level`` would fire, each side).

    The EWMA's null variance counts the estimation error of the baseline, which all the window's residuals
    share (an underestimated mean pushes every z up together): Cov(z_i, z_j) ≈ μ_iμ_j·Cov(η̂_i, η̂_j)/√(V_iV_j).
    """
    y = np.asarray(observed, dtype=float)
    mu = law.mu
    p_spike = np.clip(law.sf(y - 1), 0.0, 1.0)  # P(Y >= y)
    mid = np.clip(law.cdf(y - 1) + 0.5 * law.pmf(y), 1e-12, 1 - 1e-12)
    z = stats.norm.ppf(mid)
    n = len(y)
    sd = np.sqrt(law.variance())
    corr = (mu[:, None] * mu[None, :] * cov_eta) / (sd[:, None] * sd[None, :])
    np.fill_diagonal(corr, 1.0)
    i = np.arange(n)
    lag = i[:, None] - i[None, :]
    weights = np.where(lag >= 0, EWMA_LAMBDA * (1 - EWMA_LAMBDA) ** np.maximum(lag, 0), 0.0)  # row t: weights of z_0..z_t
    ewma = weights @ z
    ewma_sd = np.sqrt(inflation * np.einsum("ti,ij,tj->t", weights, corr, weights))
    p_drift = stats.norm.sf(ewma / ewma_sd)
    return pd.DataFrame({
        "p_spike": p_spike, "z": z, "ewma": ewma, "p_drift": p_drift,
        "lower": law.lower(level), "upper": law.upper(level),
    })


def ewma_inflation(fit: Fit, hist: pd.DataFrame) -> float:
    """How much wider the EWMA of standardised residuals really is than under independence, measured on the
    series' own history (≥ 1): autocorrelated weeks and a slightly misspecified season widen it, and without
    this factor the drift test fired about twice its nominal rate on simulated series with no change."""
    law, _ = predictive(fit, hist["week"])
    y = hist["count"].to_numpy(dtype=float)
    z = stats.norm.ppf(np.clip(law.cdf(y - 1) + 0.5 * law.pmf(y), 1e-12, 1 - 1e-12))
    ewma = np.zeros(len(z))
    prev = 0.0
    for i, zi in enumerate(z):
        prev = EWMA_LAMBDA * zi + (1 - EWMA_LAMBDA) * prev
        ewma[i] = prev
    steady = ewma[10:]
    if len(steady) < 20:
        return 1.0
    return max(1.0, float(np.var(steady)) / (EWMA_LAMBDA / (2 - EWMA_LAMBDA)))


def complete_weeks(counts: pd.DataFrame, first_week: pd.Timestamp, last_week: pd.Timestamp,
                   series: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every (unit_id, family) of ``series`` (default: those in ``counts``) × every week from ``first_week`` to
    ``last_week`` (Mondays), with zeros where ``counts`` has no row."""
    first_week, last_week = pd.Timestamp(first_week), pd.Timestamp(last_week)
    if first_week.weekday() != 0 or last_week.weekday() != 0:
        raise VeilleError("les semaines doivent commencer un lundi")
    weeks = pd.date_range(first_week, last_week, freq="7D")
    keys = series if series is not None else counts[["unit_id", "family"]].drop_duplicates()
    keys = keys[["unit_id", "family"]].drop_duplicates().reset_index(drop=True)
    full = keys.merge(pd.DataFrame({"week": weeks}), how="cross")
    c = counts[["unit_id", "family", "week", "count"]].copy()
    c["week"] = pd.to_datetime(c["week"]).astype("datetime64[us]")
    full["week"] = full["week"].astype("datetime64[us]")
    out = full.merge(c, on=["unit_id", "family", "week"], how="left")
    out["count"] = out["count"].fillna(0).astype("int64")
    return out.sort_values(["unit_id", "family", "week"]).reset_index(drop=True)


def enough_history(history: np.ndarray, min_weeks: int) -> bool:
    """At least ``min_weeks`` weeks and one fact a week on average."""
    return len(history) >= min_weeks and float(np.mean(history)) >= 1.0 if len(history) else False


def resolve_levels(requests: pd.DataFrame, weekly: pd.DataFrame, window_start: pd.Timestamp, min_weeks: int,
                   parents: dict[str, str]) -> pd.DataFrame:
    """For each requested (unit_id, family): the series actually watched (``watched_unit``, ``watched_family``)
    and ``level`` ("propre", "toutes familles", "arrondissement", "ville" — the coarser level used).

    Coarsening order: the unit with all families, then ``parents[unit]`` with the family, then the parent
    with all families, and so on up the ``parents`` chain. Series with enough history are kept as they are.
    """
    hist = weekly[weekly["week"] < window_start]
    sums = hist.groupby(["unit_id", "family"])["count"].agg(["size", "mean"])

    def ok(unit: str, family: str) -> bool:
        if (unit, family) not in sums.index:
            return False
        size, mean = sums.loc[(unit, family)]
        return size >= min_weeks and mean >= 1.0

    rows = []
    for rec in requests[["unit_id", "family"]].drop_duplicates().itertuples(index=False):
        unit, fam, level = rec.unit_id, rec.family, "propre"
        chosen = None
        seen = set()
        while unit is not None and unit not in seen:
            seen.add(unit)
            if ok(unit, fam):
                chosen = (unit, fam)
                break
            if fam != ALL_FAMILIES and ok(unit, ALL_FAMILIES):
                chosen = (unit, ALL_FAMILIES)
                level = "toutes familles" if unit == rec.unit_id else level
                break
            unit = parents.get(unit)
            level = "arrondissement" if unit and unit.startswith("arr:") else "ville"
        rows.append({"unit_id": rec.unit_id, "family": rec.family,
                     "watched_unit": chosen[0] if chosen else None, "watched_family": chosen[1] if chosen else None,
                     "level": level if chosen else "non suivi"})
    return pd.DataFrame(rows, columns=["unit_id", "family", "watched_unit", "watched_family", "level"])


def assess(weekly: pd.DataFrame, window_start: pd.Timestamp, alpha: float = 0.05, min_weeks: int = 52,
           tested: pd.DataFrame | None = None, seasons: dict[str, tuple[int, ...]] | None = None) -> pd.DataFrame:
    """Expected counts, bounds and tests for every series of ``weekly`` over the weeks ≥ ``window_start``.

    ``weekly``: complete series (see :func:`complete_weeks`). ``tested``: optional boolean column source — a
    table ``unit_id``, ``family``, ``week``, ``tested`` saying which weeks count as tests (e.g. a pool out of
    its season is not watched); default: every window week. Series with too little history are skipped (use
    :func:`resolve_levels` first to choose the level). ``seasons``: unit_id → months of a unit open part of the
    year only (a summer pool): its baseline is fitted on those months of its history, with a trend and no
    harmonics (a sharp three-month season is what two harmonics over the year cannot draw).

    Returns one row per (unit_id, family, week) in the window: ``count``, ``expected``, ``variance``, ``lower``,
    ``upper``, ``p_spike``, ``z``, ``ewma``, ``p_drift``, ``tested``, ``m`` (series tested that week),
    ``level_per_test`` (α/(2m)), ``spike``, ``drift``, ``alert``; attrs: ``phi`` per series, ``alpha``.
    """
    if not 0 < alpha < 1:
        raise VeilleError(f"veille_alpha doit être entre 0 et 1 (reçu {alpha})")
    window_start = pd.Timestamp(window_start)
    parts, fits, covs = [], {}, {}
    for (unit, fam), g in weekly.groupby(["unit_id", "family"], sort=True):
        hist = g[g["week"] < window_start]
        months = (seasons or {}).get(unit)
        harmonics = HARMONICS
        if months and len(months) < 12:
            hist = hist[hist["week"].dt.month.isin(months)]
            harmonics = 0
        if not enough_history(hist["count"].to_numpy(), min_weeks if not months or len(months) == 12 else min_weeks * len(months) // 12):
            continue
        fit = fit_baseline(hist["week"], hist["count"].to_numpy(), harmonics)
        win = g[g["week"] >= window_start].copy()
        if win.empty:
            continue
        law, cov_eta = predictive(fit, win["week"])
        win["expected"], win["variance"] = law.mu, law.variance()
        fits[(unit, fam)] = fit.phi
        covs[(unit, fam)] = (law, cov_eta, ewma_inflation(fit, hist))
        parts.append(win)
    cols = ["unit_id", "family", "week", "count", "expected", "variance", "lower", "upper", "p_spike", "z", "ewma",
            "p_drift", "tested", "m", "level_per_test", "spike", "drift", "alert"]
    if not parts:
        return pd.DataFrame(columns=cols)
    out = pd.concat(parts, ignore_index=True)
    if tested is not None:
        out = out.merge(tested[["unit_id", "family", "week", "tested"]], on=["unit_id", "family", "week"], how="left")
        out["tested"] = out["tested"].fillna(True).astype(bool)
    else:
        out["tested"] = True
    out["m"] = out.groupby("week")["tested"].transform("sum").astype(int)
    out["level_per_test"] = alpha / (2 * out["m"].clip(lower=1))
    results = []
    for key, g in out.groupby(["unit_id", "family"], sort=False):
        law, cov_eta, inflation = covs[key]
        t = week_tests(g["count"].to_numpy(), law, cov_eta, g["level_per_test"].to_numpy(), inflation)
        t.index = g.index
        results.append(t)
    tests = pd.concat(results)
    out[["p_spike", "z", "ewma", "p_drift", "lower", "upper"]] = tests[["p_spike", "z", "ewma", "p_drift", "lower", "upper"]]
    out["spike"] = out["tested"] & (out["count"] > out["upper"])
    out["drift"] = out["tested"] & (out["p_drift"] <= out["level_per_test"])
    out["alert"] = out["spike"] | out["drift"]
    out = out[cols].sort_values(["week", "unit_id", "family"]).reset_index(drop=True)
    out.attrs["phi"] = fits
    out.attrs["alpha"] = alpha
    return out


def episodes(assessed: pd.DataFrame) -> pd.DataFrame:
    """Alert episodes: consecutive alerted weeks of one series. Columns ``unit_id``, ``family``, ``since``
    (first week), ``until`` (last alerted week), ``weeks``, ``open`` (alerted in the last window week),
    ``closed_week`` (first week without alert after it, NaT when open), ``episode_id`` (unit|family|ISO week of
    ``since``: the same data always give the same ids)."""
    cols = ["episode_id", "unit_id", "family", "since", "until", "weeks", "open", "closed_week"]
    if assessed.empty:
        return pd.DataFrame(columns=cols)
    last = assessed["week"].max()
    rows = []
    for (unit, fam), g in assessed.sort_values("week").groupby(["unit_id", "family"], sort=True):
        start = prev = None
        for week, alert in zip(g["week"], g["alert"]):
            if alert and start is None:
                start = week
            if not alert and start is not None:
                rows.append((unit, fam, start, prev, week))
                start = None
            prev = week
        if start is not None:
            rows.append((unit, fam, start, prev, pd.NaT))
    out = pd.DataFrame(rows, columns=["unit_id", "family", "since", "until", "closed_week"])
    if out.empty:
        return pd.DataFrame(columns=cols)
    out["weeks"] = ((out["until"] - out["since"]).dt.days // 7 + 1).astype(int)
    out["open"] = out["until"] == last
    out["episode_id"] = out["unit_id"] + "|" + out["family"] + "|" + out["since"].map(iso_week)
    return out[cols].sort_values(["since", "unit_id", "family"]).reset_index(drop=True)


def iso_week(ts: pd.Timestamp) -> str:
    """``2025-W14`` for the week holding ``ts``."""
    y, w, _ = pd.Timestamp(ts).isocalendar()
    return f"{y}-W{w:02d}"


def week_start(iso: str) -> pd.Timestamp:
    """Monday of an ISO week written ``2025-W14``; a clear French error otherwise."""
    import re
    from datetime import date

    m = re.fullmatch(r"(\d{4})-W(\d{1,2})", str(iso).strip())
    if not m:
        raise VeilleError(f"semaine {iso!r} illisible : écrivez-la comme 2025-W14 (année ISO, numéro de semaine)")
    try:
        return pd.Timestamp(date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1))
    except ValueError:
        raise VeilleError(f"semaine {iso!r} inexistante : l'année {m.group(1)} n'a pas de semaine {m.group(2)}") from None
