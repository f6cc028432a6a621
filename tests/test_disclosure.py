"""The disclosure engine against an attacker that shares none of its code: scipy's linprog over every relation."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from scipy import sparse
from scipy.optimize import linprog

from observatory.analytics import disclosure, linked_tables

MIN = 5


def attack(cells: disclosure.CellSet, status: np.ndarray, targets: np.ndarray) -> dict[int, tuple[float, float]]:
    """Narrowest integer interval of each target cell over what a reader of the rule knows (independent LP)."""
    hidden = np.flatnonzero(status != disclosure.PUBLISHED)
    pos = {int(c): k for k, c in enumerate(hidden)}
    shown = status == disclosure.PUBLISHED
    a = cells.equalities.tocsr()
    b = -(a[:, shown] @ cells.values[shown])
    a = a[:, hidden]
    keep = np.diff(a.indptr) > 0
    a, b = a[keep], b[keep]
    bounds = []
    for c in hidden:
        s = status[c]
        bounds.append((1, MIN - 1) if s == disclosure.PRIMARY else (MIN, None) if s == disclosure.SECONDARY else (0, None))
    out = {}
    for c in targets:
        e = np.zeros(len(hidden))
        e[pos[int(c)]] = 1
        lo = linprog(e, A_eq=a if a.shape[0] else None, b_eq=b if a.shape[0] else None, bounds=bounds, method="highs")
        hi = linprog(-e, A_eq=a if a.shape[0] else None, b_eq=b if a.shape[0] else None, bounds=bounds, method="highs")
        assert lo.status == 0, "the true counts must be feasible"
        out[int(c)] = (np.ceil(lo.fun - 1e-6), np.inf if hi.status == 3 else np.floor(-hi.fun + 1e-6))
    return out


def ok(value: float, status: int, interval: tuple[float, float]) -> bool:
    lo, hi = interval
    if status == disclosure.SECONDARY:
        return hi - lo >= MIN - 2
    return lo <= 1 and hi >= MIN - 1  # a « < 5 », or an unpublished count of 1..4


def to_protect(cells: disclosure.CellSet, status: np.ndarray) -> np.ndarray:
    return np.flatnonzero(disclosure.small(cells.values, status, MIN) | (status == disclosure.SECONDARY))


small_counts = st.integers(0, 12).map(lambda v: v if v % 3 else v // 4)  # many zeros and « < 5 »


@st.composite
def linked_table_sets(draw):
    """2 or 3 keys with their margins; with 2 keys, a second table shares the first key's margin."""
    n_keys = draw(st.sampled_from([2, 2, 3]))
    sizes = [draw(st.integers(2, 4)), draw(st.integers(2, 3))] + ([2] if n_keys == 3 else [])
    dims = [f"k{i}" for i in range(n_keys)]
    hier = {d: {f"{d}_{j}": "T" for j in range(s)} | {"T": None} for d, s in zip(dims, sizes)}
    leaves = pd.MultiIndex.from_product([[f"{d}_{j}" for j in range(s)] for d, s in zip(dims, sizes)], names=dims).to_frame(index=False)
    leaves["n"] = draw(st.lists(small_counts, min_size=len(leaves), max_size=len(leaves)))
    frame, rels = linked_tables.cube(leaves, "n", hier, "t1")
    parts, shared = [(frame, rels)], []
    if n_keys == 2:
        # A second table k0 × k2 whose k0 margin is the first table's (the same facts by another key).
        k2 = draw(st.integers(2, 3))
        split = leaves.groupby("k0", as_index=False)["n"].sum()
        rows = []
        for _, r in split.iterrows():
            cuts = np.sort(draw(st.lists(st.integers(0, int(r["n"])), min_size=k2 - 1, max_size=k2 - 1)))
            for j, part in enumerate(np.diff(np.r_[0, cuts, r["n"]])):
                rows.append({"k0": r["k0"], "k2": f"k2_{j}", "n": int(part)})
        frame2, rels2 = linked_tables.cube(pd.DataFrame(rows), "n", {"k0": hier["k0"], "k2": {f"k2_{j}": "T" for j in range(k2)} | {"T": None}}, "t2")
        parts.append((frame2, rels2))
        # The shared margin: (k0 = x, k1 = T) in table 1 equals (k0 = x, k2 = T) in table 2.
        for code in list(hier["k0"]):
            i1 = frame.index[(frame["k0"] == code) & (frame["k1"] == "T")][0]
            i2 = frame2.index[(frame2["k0"] == code) & (frame2["k2"] == "T")][0] + len(frame)
            shared.append((np.array([i1, i2]), np.array([1.0, -1.0])))
    return linked_tables.cell_set(parts, shared=shared)


@hsettings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(linked_table_sets())
def test_linear_programming_attack_narrows_no_hidden_cell_of_linked_tables(cells):
    res = disclosure.suppress(cells, MIN)
    status = res.status
    v = cells.values
    assert not (((v > 0) & (v < MIN)) & (status == disclosure.PUBLISHED)).any()  # every small count is hidden
    assert not ((v == 0) & (status == disclosure.SECONDARY)).any()  # zeros are never hidden
    targets = to_protect(cells, status)
    intervals = attack(cells, status, targets)
    unprotected = set(res.unprotected.tolist())
    for c in targets:
        if c in unprotected:
            continue
        assert ok(v[c], status[c], intervals[c]), (c, status[c], v[c], intervals[c])
    if unprotected:
        # Reported cells must be truly unprotectable: hiding every other non-zero count does not save them.
        every = status.copy()
        every[(status == disclosure.PUBLISHED) & (v > 0)] = disclosure.SECONDARY
        best = attack(cells, every, np.array(sorted(unprotected)))
        assert all(not ok(v[c], status[c], best[c]) for c in unprotected)


def test_engine_audit_agrees_with_the_independent_attacker():
    # The minimal case as linked relations: row A gives x + y = 8 with both « < 5 ».
    values = np.array([4, 4, 20, 28, 4, 4, 30, 38, 8, 8, 50, 66], dtype=float)  # 2 rows + total row, 3 cols + total
    rows = []
    for r in range(3):
        rows.append((np.array([4 * r, 4 * r + 1, 4 * r + 2, 4 * r + 3]), np.array([1.0, 1.0, 1.0, -1.0])))
    for c in range(4):
        rows.append((np.array([c, 4 + c, 8 + c]), np.array([1.0, 1.0, -1.0])))
    r_idx = np.concatenate([np.full(len(i), k) for k, (i, _) in enumerate(rows)])
    a = sparse.csr_matrix((np.concatenate([w for _, w in rows]), (r_idx, np.concatenate([i for i, _ in rows]))), shape=(len(rows), 12))
    cells = disclosure.CellSet(values, a, np.ones(12, dtype=bool))
    naive = disclosure.primary_status(cells, MIN)
    engine = disclosure.audit(cells, naive, MIN)
    independent = attack(cells, naive, engine["cell"].to_numpy())
    assert not engine["protected"].any()  # the four 4s are pinned: 8 = x + y with x, y ≤ 4
    for _, r in engine.iterrows():
        assert (r["lower"], r["upper"]) == independent[int(r["cell"])] == (4.0, 4.0)
    res = disclosure.suppress(cells, MIN)
    final = attack(cells, res.status, to_protect(cells, res.status))
    assert all(ok(values[c], res.status[c], iv) for c, iv in final.items()) and res.n_secondary > 0
