"""Disclosure control of linked count tables, judged against a linear-programming attacker.

The tables an élu can obtain are described as one set of **cells** (each with its true count) and **linear
relations** among them: a published total is a cell too, and ``total − Σ parts = 0`` is a relation. Tables that
share a margin (the city total of a category appears in the city table and is the sum of the arrondissement
table) share the cell, so everything published is protected *jointly*. Optional inequalities ``G·x ≤ 0``
describe what an attacker also knows without a total (a zone's count is at most its arrondissement's).

What the attacker knows (:func:`attacker_bounds`), which is also what a reader of the rule knows:
- a published cell is its value;
- a « < t » cell (primary, 1 ≤ v ≤ t−1) lies in [1, t−1];
- a complementary cell « s » is ≥ t: zeros are always published and any other count below t is primary, so
  a hidden count that is not « < t » cannot be below t. (Claiming less would make the audit weaker than a
  reader of our own rule.)
- a cell that is never published (an internal cell: the finest cross-classification behind the tables, or a
  count the publication deliberately leaves out) is ≥ 0. An internal cell holding 1..t−1 is protected like a
  primary one (:func:`small`): leaving a small count out must not let it be derived exactly.

**Audit** (:func:`audit`): for every hidden cell, min and max of the cell over those bounds and every relation
(``scipy.optimize.linprog``, HiGHS), on the reduced problem (published cells substituted) split into its
independent components. Bounds are rounded inward to integers (counts are integers).

**Protected** means that no hidden cell can be narrowed to fewer possible values than the label « < t » itself
leaves (t − 1 values: 1…t−1). Hence a primary cell's interval must be the whole [1, t−1] (the attacker learns
nothing beyond the label; an interval "as wide as t" cannot exist inside [1, t−1], so this is the reading of
"no interval narrower than the threshold" a primary cell can meet), and a complementary cell's interval must
hold at least t − 1 values (``upper − lower ≥ t − 2``): in a column « 2, 30 » with its total 32 published, the
30 lies in [28, 31], exactly as uncertain as the « < 5 » it protects.

**Complementary suppression** (:func:`suppress`). τ-Argus offers the *hypercube* (GHMITER: hide the corners of
a hypercube around each sensitive cell; fast but over-suppresses and ignores links between tables), the
*optimal* method (Fischetti–Salazar: one MILP over all cells with one attacker subproblem per sensitive cell
and direction, cut generation; needs a commercial MILP solver for tables of our size), and *modular* (HiTaS:
the optimal method on 2-level sub-tables of a hierarchy); sdcTable offers the same ``SIMPLEHEURISTIC``,
``HITAS``, ``OPT`` and ``HYPERCUBE``. We use the incremental LP heuristic that the optimal method is built
around (Kelly–Golden–Assad; Fischetti–Salazar's "protection LP"): for each hidden cell the audit finds
under-protected, solve one LP that looks for the cheapest *deviation* ``y`` of all cells with ``A·y = 0`` (the
relations still hold), each cell moving within what the attacker would allow if it were hidden, and the
sensitive cell moving by the required amount (down to 1 and up to t−1 for a primary cell; t − 2 in all for a
complementary one). A published cell that must move costs its value per unit (information lost, weighted by
value, τ-Argus' default cost); hidden and internal cells move for free. Every published cell the solution moves
is hidden. The attacker's LP then admits ``x = v + y``, so the cell is protected, and hiding more cells later
can only widen intervals: requirements are met one by one, newly hidden cells get their own requirement, and
the loop ends with a full audit that must pass. Unlike the hypercube it protects against every linear
combination of every linked table, and unlike the optimal method it needs only an LP solver; the price is that
the choice is locally, not globally, cheapest (measured in the publication's manifest).

Zeros are never hidden (an empty cell reveals no one, and hiding one would break the "≥ t" rule above).
"""

from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import linprog
from scipy.sparse.csgraph import connected_components

PUBLISHED = 0
PRIMARY = 1
SECONDARY = 2
INTERNAL = 3  # never published (finest cells behind the tables)
STATUS_NAMES = {PUBLISHED: "", PRIMARY: "primary", SECONDARY: "secondary", INTERNAL: "internal"}
_TOL = 1e-6


@dataclass
class CellSet:
    """Cells with their true counts and the linear relations among them.

    ``equalities``: rows of ``A`` with ``A·x = 0`` (typically ``total − Σ parts``). ``inequalities``: rows of
    ``G`` with ``G·x ≤ 0``. ``published``: False for internal cells (never shown). ``locked``: published cells
    that may not be hidden (a total published elsewhere, outside this set).
    """

    values: np.ndarray
    equalities: sparse.csr_matrix
    published: np.ndarray
    inequalities: sparse.csr_matrix | None = None
    locked: np.ndarray | None = None
    labels: pd.DataFrame | None = None  # one row per cell: table and keys, for reports

    def __post_init__(self) -> None:
        self.values = np.asarray(self.values, dtype="float64")
        n = len(self.values)
        self.published = np.asarray(self.published, dtype=bool)
        self.equalities = sparse.csr_matrix(self.equalities, shape=(self.equalities.shape[0], n))
        if self.inequalities is None:
            self.inequalities = sparse.csr_matrix((0, n))
        if self.locked is None:
            self.locked = np.zeros(n, dtype=bool)
        if (self.values < 0).any():
            raise ValueError("les comptes à protéger doivent être positifs ou nuls")
        if len(self.published) != n or len(self.locked) != n:
            raise ValueError("published/locked must have one entry per cell")
        if self.equalities.shape[0] and np.abs(self.equalities @ self.values).max() > 1e-6:
            raise ValueError("the cell values do not satisfy the published totals")

    @property
    def n(self) -> int:
        return len(self.values)


def primary_status(cells: CellSet, threshold: int) -> np.ndarray:
    """PRIMARY for published counts 1..threshold−1, INTERNAL for unpublished cells, PUBLISHED otherwise."""
    v = cells.values
    status = np.full(cells.n, PUBLISHED, dtype=np.int8)
    status[cells.published & (v > 0) & (v < threshold)] = PRIMARY
    status[~cells.published] = INTERNAL
    return status


def attacker_bounds(values: np.ndarray, status: np.ndarray, threshold: int) -> tuple[np.ndarray, np.ndarray]:
    """What a reader of the publication (who knows the rule) knows of each cell: lower and upper bounds."""
    lb = values.astype("float64").copy()
    ub = lb.copy()
    lb[status == PRIMARY], ub[status == PRIMARY] = 1.0, threshold - 1.0
    lb[status == SECONDARY], ub[status == SECONDARY] = float(threshold), np.inf
    lb[status == INTERNAL], ub[status == INTERNAL] = 0.0, np.inf
    return lb, ub


def small(values: np.ndarray, status: np.ndarray, threshold: int) -> np.ndarray:
    """Cells protected like a « < t »: primary cells, and unpublished cells holding 1..t−1.

    An unpublished small count (« non réparti », a month below a yearly « < t ») is as sensitive as a published
    one: the published totals must not give it back more closely than « < t » would.
    """
    return (status == PRIMARY) | ((status == INTERNAL) & (values >= 1) & (values <= threshold - 1))


def required_deviation(values: np.ndarray, status: np.ndarray, threshold: int) -> tuple[np.ndarray, np.ndarray]:
    """How far down and up each hidden cell must be able to move for it to count as protected."""
    down = np.zeros(len(values))
    up = np.zeros(len(values))
    p = small(values, status, threshold)
    down[p], up[p] = values[p] - 1, threshold - 1 - values[p]
    s = status == SECONDARY
    width = max(threshold - 2, 0)
    down[s] = np.minimum(values[s] - threshold, width // 2)
    up[s] = width - down[s]
    return down, up


def protected_interval(lo: np.ndarray, hi: np.ndarray, status: np.ndarray, threshold: int,
                       values: np.ndarray | None = None) -> np.ndarray:
    """True where an attacker's interval [lo, hi] meets the protection rule (module docstring)."""
    ok = np.ones(len(lo), dtype=bool)
    p = status == PRIMARY if values is None else small(values, status, threshold)
    ok[p] = (lo[p] <= 1) & (hi[p] >= threshold - 1)
    s = status == SECONDARY
    ok[s] = hi[s] - lo[s] >= threshold - 2
    return ok


@dataclass
class _Reduced:
    """The attacker's problem over the non-published cells, published ones substituted."""

    free: np.ndarray  # cell ids of the variables
    a_eq: sparse.csr_matrix
    b_eq: np.ndarray
    a_ub: sparse.csr_matrix
    b_ub: np.ndarray
    lb: np.ndarray
    ub: np.ndarray
    component: np.ndarray  # component id per variable
    eq_component: np.ndarray
    ub_component: np.ndarray


def _reduce(cells: CellSet, status: np.ndarray, threshold: int) -> _Reduced:
    lb, ub = attacker_bounds(cells.values, status, threshold)
    free = np.flatnonzero(status != PUBLISHED)
    fixed = np.flatnonzero(status == PUBLISHED)
    fixed_vals = cells.values[fixed]

    def part(m: sparse.csr_matrix) -> tuple[sparse.csr_matrix, np.ndarray]:
        m = sparse.csr_matrix(m)
        rhs = -(m[:, fixed] @ fixed_vals)
        mf = m[:, free].tocsr()
        keep = np.diff(mf.indptr) > 0
        return mf[keep], rhs[keep]

    a_eq, b_eq = part(cells.equalities)
    a_ub, b_ub = part(cells.inequalities)
    # Variables linked by a relation belong to one component; each component is an independent LP.
    stacked = sparse.vstack([a_eq, a_ub]).tocsr()
    incid = (stacked != 0).astype(np.int8)
    adj = (incid.T @ incid).tocsr() if stacked.shape[0] else sparse.csr_matrix((len(free), len(free)))
    _, comp = connected_components(adj, directed=False) if len(free) else (0, np.zeros(0, dtype=int))

    def row_comp(m: sparse.csr_matrix) -> np.ndarray:
        if m.shape[0] == 0:
            return np.zeros(0, dtype=int)
        return comp[m.indices[m.indptr[:-1]]]

    return _Reduced(free, a_eq, b_eq, a_ub, b_ub, lb[free], ub[free], comp, row_comp(a_eq), row_comp(a_ub))


_BANNER_LOCK = threading.Lock()
_banner_done = False


def _new_highs():  # noqa: ANN202 - highspy.Highs
    """A HiGHS instance; the first one of the process would print HiGHS' banner on stdout (CLI tables, logs)."""
    global _banner_done
    import highspy

    with _BANNER_LOCK:
        if _banner_done:
            return highspy.Highs()
        # The banner is written by the C++ constructor, before any option can be set: silence fd 1 once.
        sys.stdout.flush()
        saved, devnull = os.dup(1), os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 1)
            return highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
            os.close(devnull)
            _banner_done = True


class _Attacker:
    """One component of the attacker's LP in HiGHS, re-solved with another objective (warm start)."""

    def __init__(self, a_eq: sparse.csr_matrix, b_eq: np.ndarray, a_ub: sparse.csr_matrix, b_ub: np.ndarray,
                 lb: np.ndarray, ub: np.ndarray) -> None:
        import highspy

        self.h = _new_highs()
        self.h.setOptionValue("output_flag", False)
        self.inf = highspy.kHighsInf
        n = len(lb)
        self.n = n
        self.h.addVars(n, lb, np.where(np.isinf(ub), self.inf, ub))
        rows = sparse.vstack([a_eq, a_ub]).tocsr()
        lo = np.r_[b_eq, np.full(len(b_ub), -self.inf)]
        hi = np.r_[b_eq, b_ub]
        if rows.shape[0]:
            self.h.addRows(rows.shape[0], lo, hi, rows.nnz, rows.indptr[:-1].astype(np.int32), rows.indices.astype(np.int32), rows.data)
        self.sense = highspy.ObjSense
        self.status = highspy.HighsModelStatus

    def bounds(self, cols: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        self.h.changeColsBounds(len(cols), cols, np.asarray(lower, dtype="float64"), np.where(np.isinf(upper), self.inf, upper).astype("float64"))

    def optimum(self, cost: np.ndarray, maximize: bool) -> tuple[float | None, np.ndarray | None]:
        """Optimal value (±inf when unbounded, None when infeasible) and the solution."""
        self.h.changeColsCost(self.n, np.arange(self.n, dtype=np.int32), cost.astype("float64"))
        self.h.changeObjectiveSense(self.sense.kMaximize if maximize else self.sense.kMinimize)
        self.h.run()
        st = self.h.getModelStatus()
        if st == self.status.kOptimal:
            return float(self.h.getInfo().objective_function_value), np.asarray(self.h.getSolution().col_value)
        if st in (self.status.kUnbounded, self.status.kUnboundedOrInfeasible):
            return (np.inf if maximize else -np.inf), None
        return None, None


def audit(cells: CellSet, status: np.ndarray, threshold: int, only: np.ndarray | None = None, exact: bool = True) -> pd.DataFrame:
    """The attacker's narrowest interval for each hidden published cell (or for the cell ids in ``only``).

    Columns: ``cell``, ``status``, ``value``, ``lower``, ``upper`` (inf when unbounded), ``protected``.
    Cells are first certified together, per component: one LP minimising (maximising) the sum of the cells still
    open, their bounds clipped at what the rule requires, gives a point where many reach it; the others get
    their own pair of exact LPs (warm-started HiGHS). Hence an interval is exact where it is narrower than
    the rule requires, and reported as the required one where it is at least that wide (an unpublished small
    cell shows [0, t − 1] even when it could be larger; a complementary cell shows the protection width
    around its value): enough to judge, and hundreds of LPs fewer on a publication. ``exact=False`` stops after
    the batch: a side the batch could not certify is left NaN (not protected), which is all the suppression loop
    needs to know before it looks for cells to hide.
    """
    status = np.asarray(status)
    red = _reduce(cells, status, threshold)
    pos = np.full(cells.n, -1)
    pos[red.free] = np.arange(len(red.free))
    sens = small(cells.values, status, threshold)
    targets = np.flatnonzero(sens | (status == SECONDARY)) if only is None else np.asarray(only, dtype=int)
    down_req, up_req = required_deviation(cells.values, status, threshold)
    lower = np.full(len(targets), np.nan)
    upper = np.full(len(targets), np.nan)
    by_comp: dict[int, list[int]] = {}
    for i, cell in enumerate(targets):
        by_comp.setdefault(int(red.component[pos[cell]]), []).append(i)
    for comp, items in by_comp.items():
        vars_ = np.flatnonzero(red.component == comp)
        a_eq = red.a_eq[red.eq_component == comp][:, vars_]
        a_ub = red.a_ub[red.ub_component == comp][:, vars_]
        lb, ub = red.lb[vars_], red.ub[vars_]
        local = np.full(cells.n, -1)
        local[red.free[vars_]] = np.arange(len(vars_))
        ks = local[targets[items]]
        if a_eq.shape[0] == 0 and a_ub.shape[0] == 0:  # no relation: the attacker knows only the bounds
            lower[items], upper[items] = lb[ks], ub[ks]
            continue
        lp = _Attacker(a_eq, red.b_eq[red.eq_component == comp], a_ub, red.b_ub[red.ub_component == comp], lb, ub)
        items = np.asarray(items)
        prim = sens[targets[items]]
        # Batch certification: the cells of the component are pushed together toward what the rule requires
        # (1 and t − 1 for a small cell — 0 below for an unpublished one —, the protection width around a
        # complementary one), their bounds clipped there for the batch; a cell reaching its goal in an optimum
        # has that value feasible, and is recorded at its goal. The rest get their own pair of exact LPs.
        goal_lo = np.where(prim, lb[ks], cells.values[targets[items]] - down_req[targets[items]])
        goal_hi = np.where(prim, threshold - 1.0, cells.values[targets[items]] + up_req[targets[items]])
        for maximize, goal, out in ((False, goal_lo, lower), (True, goal_hi, upper)):
            open_ = np.arange(len(items))
            ks_all = ks.astype(np.int32)
            clip_lo = lb[ks] if maximize else np.maximum(lb[ks], goal)
            clip_hi = np.minimum(ub[ks], goal) if maximize else ub[ks]
            lp.bounds(ks_all, clip_lo, clip_hi)
            while len(open_):
                cost = np.zeros(len(vars_))
                cost[ks[open_]] = 1.0
                val, x = lp.optimum(cost, maximize)
                if x is None:
                    break
                hit = np.abs(x[ks[open_]] - goal[open_]) < _TOL
                if not hit.any():
                    break
                out[items[open_[hit]]] = goal[open_[hit]]
                open_ = open_[~hit]
            lp.bounds(ks_all, lb[ks], ub[ks])
        # A complementary cell certified on one side only: both sides exactly (its width is what counts).
        sec = ~prim & (np.isnan(lower[items]) ^ np.isnan(upper[items]))
        lower[items[sec]], upper[items[sec]] = np.nan, np.nan
        for i in items if exact else ():
            k = local[targets[i]]
            c = np.zeros(len(vars_))
            c[k] = 1.0
            if np.isnan(lower[i]):
                lo, _ = lp.optimum(c, False)
                lower[i] = np.nan if lo is None else np.ceil(lo - _TOL)
            if np.isnan(upper[i]):
                hi, _ = lp.optimum(c, True)
                upper[i] = np.nan if hi is None else (np.inf if np.isinf(hi) else np.floor(hi + _TOL))
    st = status[targets]
    ok = protected_interval(lower, upper, st, threshold, cells.values[targets]) & ~np.isnan(lower)
    return pd.DataFrame({"cell": targets, "status": [STATUS_NAMES[int(s)] for s in st], "value": cells.values[targets].astype("int64"),
                         "lower": lower, "upper": upper, "protected": ok})


def _hopeless(cells: CellSet, status: np.ndarray, threshold: int) -> dict[int, tuple[float, float]]:
    """Cells to protect that no suppression can protect, with the widest interval hiding everything gives.

    Hiding a cell only widens every interval, so hiding every candidate at once gives each cell its widest
    possible interval: one audit finds them all before the loop pays for them cell by cell.
    """
    targets = np.flatnonzero(small(cells.values, status, threshold) | (status == SECONDARY))
    if len(targets) == 0:
        return {}
    every = status.copy()
    every[cells.published & (status == PUBLISHED) & (cells.values > 0) & ~cells.locked] = SECONDARY
    res = audit(cells, every, threshold, only=targets)
    bad = res[~res["protected"]]
    return {int(c): (float(lo), float(hi)) for c, lo, hi in zip(bad["cell"], bad["lower"], bad["upper"])}


@dataclass
class SuppressionResult:
    status: np.ndarray
    audit: pd.DataFrame
    unprotected: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    lp_solved: int = 0

    @property
    def n_primary(self) -> int:
        return int((self.status == PRIMARY).sum())

    @property
    def n_secondary(self) -> int:
        return int((self.status == SECONDARY).sum())


class _Witness:
    """Per cell, the lowest and highest values seen in feasible points of the attacker's LP.

    Every protection LP's solution ``v + y`` stays feasible once its cells are hidden (hiding only relaxes), and
    the attacker's feasible set is convex: a cell can take every value between two witnessed ones. A failing
    cell that earlier LPs of the round already moved far enough needs no LP of its own.
    """

    def __init__(self, values: np.ndarray) -> None:
        self.values = values
        self.lo = values.astype("float64").copy()
        self.hi = self.lo.copy()

    def add(self, idx: np.ndarray, y: np.ndarray) -> None:
        x = self.values[idx] + y
        self.lo[idx] = np.minimum(self.lo[idx], x)
        self.hi[idx] = np.maximum(self.hi[idx], x)


def _protection_lp(cells: CellSet, status: np.ndarray, threshold: int, cell: int, deviation: float,
                   weights: np.ndarray, witness: _Witness | None = None) -> np.ndarray | None:
    """Cells that must be hidden so that ``cell`` can move by ``deviation`` with every relation kept (or None)."""
    v = cells.values
    candidate = cells.published & (status == PUBLISHED) & (v > 0) & ~cells.locked
    movable = (status != PUBLISHED) | candidate
    # Deviation bounds: what the attacker would allow if the cell were hidden (primary cells are already hidden).
    as_hidden = status.copy()
    as_hidden[candidate] = SECONDARY
    lb, ub = attacker_bounds(v, as_hidden, threshold)
    idx = np.flatnonzero(movable)
    n = len(idx)
    dn = (v - lb)[idx]  # room downward
    up = (ub - v)[idx]  # room upward
    local = np.full(cells.n, -1)
    local[idx] = np.arange(n)
    k = local[cell]
    cost = np.where(candidate[idx], weights[idx], 1e-4)
    a = cells.equalities[:, idx]
    keep = np.diff(a.tocsr().indptr) > 0
    a = a.tocsr()[keep]
    # Rows touching a fixed (non-movable) cell are still valid: fixed cells do not move (y = 0 there).
    a_eq = sparse.hstack([a, -a]).tocsr()
    b_eq = np.zeros(a_eq.shape[0])
    g = cells.inequalities[:, idx].tocsr()
    if g.shape[0]:
        slack = -(cells.inequalities @ v)  # G(v + y) ≤ 0  ⇔  G y ≤ −G v
        keep_g = np.diff(g.indptr) > 0
        a_ub, b_ub = sparse.hstack([g[keep_g], -g[keep_g]]).tocsr(), slack[keep_g]
    else:
        a_ub, b_ub = sparse.csr_matrix((0, 2 * n)), np.zeros(0)
    up_b = np.where(np.isinf(up), None, up)
    bounds = [(0.0, u) for u in up_b] + [(0.0, d) for d in dn]
    if deviation > 0:
        bounds[k] = (deviation, bounds[k][1])
        bounds[n + k] = (0.0, 0.0)
    else:
        bounds[n + k] = (-deviation, bounds[n + k][1])
        bounds[k] = (0.0, 0.0)
    for j in (k, n + k):
        lo_, hi_ = bounds[j]
        if hi_ is not None and lo_ > hi_ + _TOL:
            return None
    res = linprog(np.concatenate([cost, cost]), A_ub=a_ub if a_ub.shape[0] else None, b_ub=b_ub if a_ub.shape[0] else None,
                  A_eq=a_eq if a_eq.shape[0] else None, b_eq=b_eq if a_eq.shape[0] else None, bounds=bounds, method="highs")
    if res.status != 0:
        return None
    y = res.x[:n] - res.x[n:]
    moved = idx[(np.abs(y) > _TOL) & candidate[idx]]
    if witness is not None:
        witness.add(idx, np.round(y, 6))
    return moved


def suppress(cells: CellSet, threshold: int, weights: np.ndarray | None = None, max_rounds: int = 50,
             initial: np.ndarray | None = None) -> SuppressionResult:
    """Primary suppression, then complementary suppression until the audit passes (module docstring).

    ``initial``: statuses to start from (a fast heuristic's choice): primary cells and internal ones as
    :func:`primary_status` gives them, plus complementary cells; the audit then completes them where needed.
    """
    status = primary_status(cells, threshold)
    if initial is not None:
        initial = np.asarray(initial, dtype=np.int8)
        added = initial == SECONDARY
        if not np.array_equal(status[~added], initial[~added]) or (status[added] != PUBLISHED).any():
            raise ValueError("initial statuses must keep the primary and internal cells and add complementary ones only")
        if (cells.values[initial == SECONDARY] < threshold).any():
            raise ValueError("a complementary cell must hold at least the threshold")
        status = initial.copy()
    w = cells.values.copy() if weights is None else np.asarray(weights, dtype="float64")
    w = np.maximum(w, 1.0)
    lp = 0
    witness = _Witness(cells.values)
    checked = np.zeros(cells.n, dtype=bool)  # hidden cells already found protected (stay so: hiding only widens)
    hopeless = _hopeless(cells, status, threshold)
    lp += 2 * len(hopeless)
    down_req, up_req = required_deviation(cells.values, status, threshold)
    for c, (lo_best, hi_best) in hopeless.items():
        # No suppression protects it (published totals, zeros and bounds pin it whatever is hidden): reported as
        # unprotected, but widened as far as hiding everything would, never left exact when it need not be.
        v = cells.values[c]
        for dev in (max(lo_best, v - down_req[c]) - v, min(hi_best, v + up_req[c]) - v):
            if dev != 0 and np.isfinite(dev):
                moved = _protection_lp(cells, status, threshold, c, float(dev), w)
                lp += 1
                if moved is not None:
                    status[moved] = SECONDARY
    for _ in range(max_rounds):
        todo = np.flatnonzero((small(cells.values, status, threshold) | (status == SECONDARY)) & ~checked)
        todo = np.array([c for c in todo if c not in hopeless], dtype=int)
        if len(todo) == 0:
            break
        res = audit(cells, status, threshold, only=todo, exact=False)
        lp += 2 * len(todo)
        checked[res.loc[res["protected"], "cell"].to_numpy()] = True
        failing = res.loc[~res["protected"]]
        if failing.empty:
            break
        # A complementary cell is protected by its width wherever it sits: judged exactly before any hiding (the
        # protection LP below would place the width around its value and may hide more than needed).
        sec = failing["cell"].to_numpy()[status[failing["cell"].to_numpy()] == SECONDARY]
        if len(sec):
            exact_sec = audit(cells, status, threshold, only=sec)
            lp += 2 * len(sec)
            checked[exact_sec.loc[exact_sec["protected"], "cell"].to_numpy()] = True
            failing = pd.concat([failing[~failing["cell"].isin(sec)], exact_sec[~exact_sec["protected"]]])
            if failing.empty:
                continue
        down_req, up_req = required_deviation(cells.values, status, threshold)
        changed = False
        for c, lo, hi in zip(failing["cell"].to_numpy(), failing["lower"].to_numpy(float), failing["upper"].to_numpy(float)):
            # Earlier protection LPs may already have protected it: their solutions are witnesses.
            lo = float(np.fmin(lo, np.ceil(witness.lo[c] - _TOL)))  # integer values only, like the audit
            hi = float(np.fmax(hi, np.floor(witness.hi[c] + _TOL)))
            if protected_interval(np.array([lo]), np.array([hi]), status[[c]], threshold, cells.values[[c]])[0]:
                checked[c] = True
                continue
            v = cells.values[c]
            needs = []
            if status[c] != SECONDARY:
                if not lo <= 1:
                    needs.append(-down_req[c])
                if not hi >= threshold - 1:
                    needs.append(up_req[c])
            else:
                needs = [up_req[c], -down_req[c]]
            for dev in needs:
                if dev == 0:
                    continue
                moved = _protection_lp(cells, status, threshold, c, dev, w, witness)
                lp += 1
                if moved is None and status[c] == SECONDARY and dev > 0:
                    # Upward blocked (a published total caps it): try the whole width downward instead.
                    room = min(threshold - 2, v - threshold)
                    moved = _protection_lp(cells, status, threshold, c, -room, w, witness) if room > 0 else None
                    lp += 1
                if moved is None:
                    # A complementary cell added on the way that cannot move that far: widened as far as it goes.
                    hopeless[int(c)] = (lo, hi)
                    step = float(np.sign(dev))
                    for d in np.arange(abs(dev) - 1, 0, -1):
                        moved = _protection_lp(cells, status, threshold, c, step * d, w, witness)
                        lp += 1
                        if moved is not None:
                            break
                    if moved is None:
                        continue
                if len(moved):
                    status[moved] = SECONDARY
                    changed = True
        if not changed:
            # Nothing more to hide for the cells the batch could not certify: judged exactly, once.
            rest = np.array([c for c in failing["cell"].to_numpy() if not checked[c] and c not in hopeless], dtype=int)
            if len(rest) == 0:
                continue
            exact_res = audit(cells, status, threshold, only=rest)
            lp += 2 * len(rest)
            checked[exact_res.loc[exact_res["protected"], "cell"].to_numpy()] = True
            bad = exact_res[~exact_res["protected"]]
            hopeless.update({int(c): (float(lo), float(hi)) for c, lo, hi in zip(bad["cell"], bad["lower"], bad["upper"])})
    final = audit(cells, status, threshold)
    return SuppressionResult(status, final, final.loc[~final["protected"], "cell"].to_numpy(), lp)
