"""The privacy rule every public output goes through.

1. Primary suppression: counts 1..min_count−1 are hidden and read ``"< 5"`` (zeros are published: an empty
   cell reveals no one).
2. Complementary (secondary) suppression, read ``"s"``: the totals of every *line* of the table are assumed
   published, and an attacker solving linear programs over them (cells ≥ 0, « < 5 » cells in 1…4, « s » cells
   ≥ 5) must not narrow any hidden cell below what « < 5 » itself says. A line is
   - each value column (its column total), and within it, with ``keys`` of a long table of two or more key
     columns, each group of rows sharing the values of all keys but one (the margins of the cross table);
   - each row across the value columns (its row total), when there are two or more value columns.
   Choice (fast, every view): the smallest published non-zero companion in any line holding one hidden cell;
   then any hidden cell fixed by linear algebra (the graph form for plain tables), or narrowed too much by one
   line and the bounds (interval propagation: « x + y = 8 » with both « < 5 » gives both), gets a companion;
   repeated.
   Per view the guarantee is the old one extended with bounds: no hidden cell can be recovered exactly (a cell
   pinned whatever is hidden, e.g. by a total of 1, is reported, see :func:`suppression`); ``lp_audit=True``
   (:func:`suppression`) applies the stricter LP rule. This function protects one table on its own: what an
   élu obtains is protected jointly by the publication (:mod:`observatory.analytics.publication`); a table
   protected here is for analysts' exports marked for publication and for views outside the publication.
3. Sensitive categories (``schema.sensitive_categories()``) are aggregated to the city unless the viewer is an
   analyst: in a long table with a category column, their rows lose their geography (arrondissement → 69123,
   other geographic keys → "ville") and are summed; in a wide table whose value columns are category codes,
   the sensitive columns are hidden (``"n.d."``) on every row that is not the city.

Lines of a single cell are not protected by complementary suppression (their total is the cell itself): a
caller that publishes such a total must publish it through this function too (``add_totals=True`` appends the
totals as protected rows/columns).
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
import pandas as pd
from scipy import sparse

from observatory import schema
from observatory.analytics import disclosure

PRIMARY = "primary"
SECONDARY = "secondary"
SENSITIVE = "sensitive"
SECRET_TEXT = "s"
SENSITIVE_TEXT = "n.d."
GEO_COLUMNS = ("arrondissement", "zone", "zone_id", "grid_cell", "cell_id", "iris", "place_name", "quarter_name")
CITY_LABEL = "ville"
TOTAL_LABEL = "total"


Constraint = tuple[np.ndarray, np.ndarray]  # (flat cell indices, coefficients): sum(coef * x) is known
MAX_COMPANIONS_PER_CELL = 2  # companions added for one recovered cell before it is reported unprotectable


def _lines(n_rows: int, n_cols: int, key_groups: list[np.ndarray], row_totals: bool) -> list[Constraint]:
    """Lines whose sum is assumed published, as constraints with unit coefficients."""
    lines: list[np.ndarray] = []
    for j in range(n_cols):
        col_cells = np.arange(n_rows) * n_cols + j
        lines.append(col_cells)
        for groups in key_groups:
            for g in np.unique(groups):
                lines.append(col_cells[groups == g])
    if row_totals and n_cols > 1:
        for i in range(n_rows):
            lines.append(i * n_cols + np.arange(n_cols))
    # Single-cell lines protect nothing (see module docstring); duplicates are harmless but cost time.
    uniq = sorted({tuple(l.tolist()) for l in lines if len(l) > 1})
    return [(np.array(l), np.ones(len(l))) for l in uniq]


def _total_constraints(n_rows: int, n_cols: int) -> list[Constraint]:
    """For a table whose last row (and last column when n_cols > 1) are totals shown as cells:
    each line of inner cells minus its total cell is 0, and the totals add up to the grand total."""
    out: list[Constraint] = []
    inner_cols = n_cols - 1 if n_cols > 1 else n_cols
    for j in range(n_cols):
        cells = np.arange(n_rows - 1) * n_cols + j
        out.append((np.append(cells, (n_rows - 1) * n_cols + j), np.append(np.ones(len(cells)), -1.0)))
    if n_cols > 1:
        for i in range(n_rows):
            cells = i * n_cols + np.arange(inner_cols)
            out.append((np.append(cells, i * n_cols + n_cols - 1), np.append(np.ones(len(cells)), -1.0)))
    return out


def _determined(hidden: np.ndarray, constraints: list[Constraint]) -> np.ndarray:
    """Flat indices of hidden cells whose value follows from the published figures (linear algebra)."""
    idx = np.flatnonzero(hidden)
    if len(idx) == 0:
        return idx
    pos = np.full(hidden.shape, -1)
    pos[idx] = np.arange(len(idx))
    rows = []
    for cells, coefs in constraints:
        h = hidden[cells]
        if h.any():
            r = np.zeros(len(idx))
            r[pos[cells[h]]] = coefs[h]
            rows.append(r)
    if not rows:
        return np.array([], dtype=int)
    a = np.vstack(rows)
    # x_k is determined iff e_k lies in the row space of A, i.e. every null-space vector has x_k = 0.
    _, s, vt = np.linalg.svd(a)
    rank = int((s > 1e-9 * max(1.0, s[0])).sum())
    null = vt[rank:]
    if null.shape[0] == 0:
        return idx
    return idx[np.all(np.abs(null) < 1e-9, axis=0)]


def _bridges(n_vertices: int, eu: np.ndarray, ev: np.ndarray) -> np.ndarray:
    """Bridges of an undirected multigraph (iterative Tarjan; parallel edges are never bridges)."""
    adj: list[list[tuple[int, int]]] = [[] for _ in range(n_vertices)]
    for k, (u, v) in enumerate(zip(eu.tolist(), ev.tolist())):
        adj[u].append((v, k))
        adj[v].append((u, k))
    disc = [-1] * n_vertices
    low = [0] * n_vertices
    is_bridge = np.zeros(len(eu), dtype=bool)
    timer = 0
    for s in range(n_vertices):
        if disc[s] != -1:
            continue
        disc[s] = low[s] = timer
        timer += 1
        stack = [(s, -1, iter(adj[s]))]
        while stack:
            v, parent_edge, it = stack[-1]
            advanced = False
            for w, k in it:
                if k == parent_edge:
                    continue
                if disc[w] == -1:
                    disc[w] = low[w] = timer
                    timer += 1
                    stack.append((w, k, iter(adj[w])))
                    advanced = True
                    break
                low[v] = min(low[v], disc[w])
            if not advanced:
                stack.pop()
                if stack:
                    u = stack[-1][0]
                    low[u] = min(low[u], low[v])
                    if low[v] > disc[u]:
                        is_bridge[parent_edge] = True
    return is_bridge


def _determined_2d(hidden: np.ndarray, n_rows: int, n_cols: int, row_lines: bool) -> np.ndarray:
    """Same answer as :func:`_determined` for a plain table (column lines, optionally row lines), in linear time.

    Lines are vertices and hidden cells are edges (row line → column line; a cell outside any published row or
    column line hangs on one unconstrained vertex G). Flipping the sign of the column equations turns the
    system into a directed incidence matrix whose null space is the cycle space, so a hidden cell is fixed by
    the published totals exactly when its edge is a bridge.
    """
    idx = np.flatnonzero(hidden)
    if len(idx) == 0:
        return idx
    i, j = idx // n_cols, idx % n_cols
    g = n_rows + n_cols
    has_row = row_lines and n_cols > 1
    has_col = n_rows > 1
    eu = i if has_row else np.full(len(idx), g)
    ev = n_rows + j if has_col else np.full(len(idx), g)
    loop = eu == ev  # a cell in no published line: free, never determined
    br = np.zeros(len(idx), dtype=bool)
    br[~loop] = _bridges(g + 1, eu[~loop], ev[~loop])
    return idx[br]


def _pinned(flat: np.ndarray, status: np.ndarray, constraints: list[Constraint], min_count: int, rounds: int = 20) -> np.ndarray:
    """Hidden cells that the published totals and the bounds give back exactly, line by line (flat indices).

    Interval propagation: each line ``Σ a·x = known`` bounds each of its hidden cells by what the others can take
    (« < t » cells in 1…t−1, « s » cells ≥ t), all lines at once, repeated until nothing tightens. It is a
    relaxation of the LP attack (it finds no narrowing that needs two lines combined) but costs no solver and
    catches what linear algebra cannot see: « x + y = 8 » with both « < 5 » pins both at 4.
    """
    hidden = status != ""
    if not hidden.any():
        return np.zeros(0, dtype=int)
    lb = np.where(status == PRIMARY, 1.0, np.where(status == SECONDARY, float(min_count), flat))
    ub = np.where(status == PRIMARY, min_count - 1.0, np.where(status == SECONDARY, np.inf, flat))
    # Every (line, hidden cell) pair at once: r = line, c = cell, a = coefficient; rhs = the hidden part's sum.
    r = np.concatenate([np.full(int(hidden[cells].sum()), k) for k, (cells, _) in enumerate(constraints)]) if constraints else np.zeros(0, int)
    c = np.concatenate([cells[hidden[cells]] for cells, _ in constraints]) if constraints else np.zeros(0, int)
    a = np.concatenate([coefs[hidden[cells]] for cells, coefs in constraints]) if constraints else np.zeros(0)
    if len(c) == 0:
        return np.zeros(0, dtype=int)
    n_lines = len(constraints)
    rhs = np.bincount(r, weights=a * flat[c], minlength=n_lines)
    pos = a > 0
    for _ in range(rounds):
        lo_t = np.where(pos, a * lb[c], a * ub[c])  # each term's range
        hi_t = np.where(pos, a * ub[c], a * lb[c])
        lo_fin, hi_fin = np.isfinite(lo_t), np.isfinite(hi_t)
        lo_sum = np.bincount(r, weights=np.where(lo_fin, lo_t, 0.0), minlength=n_lines)
        hi_sum = np.bincount(r, weights=np.where(hi_fin, hi_t, 0.0), minlength=n_lines)
        lo_inf = np.bincount(r, weights=~lo_fin, minlength=n_lines)
        hi_inf = np.bincount(r, weights=~hi_fin, minlength=n_lines)
        # Range of the other terms of the line (unbounded when another term is).
        others_lo = np.where(lo_inf[r] - ~lo_fin > 0, -np.inf, lo_sum[r] - np.where(lo_fin, lo_t, 0.0))
        others_hi = np.where(hi_inf[r] - ~hi_fin > 0, np.inf, hi_sum[r] - np.where(hi_fin, hi_t, 0.0))
        t_lo, t_hi = rhs[r] - others_hi, rhs[r] - others_lo  # range of a·x for the cell
        cand_lb = np.ceil(np.where(pos, t_lo / a, t_hi / a) - 1e-9)
        cand_ub = np.floor(np.where(pos, t_hi / a, t_lo / a) + 1e-9)
        new_lb, new_ub = lb.copy(), ub.copy()
        np.maximum.at(new_lb, c, cand_lb)
        np.minimum.at(new_ub, c, cand_ub)
        if not ((new_lb > lb).any() or (new_ub < ub).any()):
            break
        lb, ub = new_lb, new_ub
    # Per view, the old guarantee extended with the bounds: no hidden cell is recovered exactly. (The stricter
    # rule, each « < t » free over 1…t−1, holds for the publication and for tables the LP audit checks.)
    ok = ub > lb
    return np.flatnonzero(hidden & ~ok)


def _heuristic(values: np.ndarray, min_count: int, constraints: list[Constraint], plain: bool, row_lines: bool) -> np.ndarray:
    """The fast first choice of complementary cells (flat statuses), before the LP audit.

    Step a: while a line holds exactly one hidden cell, the smallest published non-zero cell of that line is
    hidden too (never a zero). Step b: any hidden cell fixed by the published totals (linear algebra: the graph
    form for plain tables), or else narrowed too much by one line and the bounds (:func:`_pinned`), gets one more
    companion in one of its lines; then step a again.
    """
    n_rows, n_cols = values.shape
    flat = values.ravel()
    status = np.full(flat.shape, "", dtype=object)
    primary = (flat > 0) & (flat < min_count)
    status[primary] = PRIMARY
    hidden = primary.copy()

    def determined() -> np.ndarray:
        # The graph form is exact for plain tables and linear-time; the SVD form serves the other layouts.
        return _determined_2d(hidden, n_rows, n_cols, row_lines) if plain else _determined(hidden, constraints)

    def companion(cells: np.ndarray) -> int | None:
        # Zeros are never hidden (a hidden cell that is not « < t » reads as ≥ t to anyone who knows the rule).
        free = cells[~hidden[cells] & (flat[cells] > 0)]
        if len(free) == 0:
            return None
        # Smallest first (least information lost).
        order = np.lexsort((free, flat[free]))
        return int(free[order[0]])

    attempts: dict[int, int] = {}
    lines_of: dict[int, list[int]] = {}
    for k, (cells, _coefs) in enumerate(constraints):
        for c in cells.tolist():
            lines_of.setdefault(c, []).append(k)
    for _ in range(flat.size + 1):
        changed = True
        while changed:
            changed = False
            for cells, _coefs in constraints:
                if hidden[cells].sum() == 1:
                    c = companion(cells)
                    if c is not None:
                        hidden[c] = True
                        status[c] = SECONDARY
                        changed = True
        det = determined()
        batch = len(det) == 0
        if batch:
            # Bound-pinned cells are fixed together, one companion per line at most per pass (each pass costs a
            # propagation over every line; one cell per pass made large tables take seconds).
            det = _pinned(flat, status, constraints, min_count)
        if len(det) == 0:
            break
        fixed = False
        touched: set[int] = set()
        for cell in det:
            best, best_line = None, None
            mine = lines_of.get(int(cell), [])
            if batch and touched.intersection(mine):
                continue
            if attempts.get(int(cell), 0) >= MAX_COMPANIONS_PER_CELL:
                # Still recovered after that many companions: a published total pins it whatever is hidden (a row
                # [0, 1] with its total); more companions would only spread « secret » over the table.
                continue
            attempts[int(cell)] = attempts.get(int(cell), 0) + 1
            for k in mine:
                c = companion(constraints[k][0])
                if c is not None and (best is None or flat[c] < flat[best]):
                    best, best_line = c, k
            if best is not None:
                hidden[best] = True
                status[best] = SECONDARY
                fixed = True
                touched.add(best_line)
                if not batch:
                    break
        if not fixed:
            break  # nothing left to hide: the caller must not publish these totals (documented)
    return status


def _cell_set(values: np.ndarray, constraints: list[Constraint], totals_are_cells: bool) -> disclosure.CellSet:
    """The table as cells and relations for the engine.

    ``totals_are_cells``: the constraints already relate shown cells (totals included, all hideable). Otherwise
    each line gets one more cell, its total, published elsewhere: locked (never hidden), never shown here.
    """
    flat = values.ravel()
    n = len(flat)
    if totals_are_cells:
        rows = constraints
        all_values, published, locked = flat, np.ones(n, dtype=bool), np.zeros(n, dtype=bool)
    else:
        rows = [(np.append(cells, n + k), np.append(coefs, -1.0)) for k, (cells, coefs) in enumerate(constraints)]
        line_totals = np.array([flat[cells] @ coefs for cells, coefs in constraints], dtype="float64")
        all_values = np.concatenate([flat, line_totals])
        published = np.ones(len(all_values), dtype=bool)
        locked = np.r_[np.zeros(n, dtype=bool), np.ones(len(line_totals), dtype=bool)]
    m = len(all_values)
    if rows:
        r = np.concatenate([np.full(len(c), i) for i, (c, _) in enumerate(rows)])
        c = np.concatenate([c for c, _ in rows])
        d = np.concatenate([coef for _, coef in rows])
        a = sparse.csr_matrix((d, (r, c)), shape=(len(rows), m))
    else:
        a = sparse.csr_matrix((0, m))
    return disclosure.CellSet(all_values, a, published, locked=locked)


def suppression_status(values: np.ndarray, min_count: int, key_groups: Sequence[np.ndarray] = (),
                       row_totals: bool = True, totals_included: bool = False) -> np.ndarray:
    """Status of each cell of a 2-D count array: "" (published), "primary" or "secondary" (see :func:`suppression`)."""
    return suppression(values, min_count, key_groups, row_totals, totals_included)[0]


def suppression(values: np.ndarray, min_count: int, key_groups: Sequence[np.ndarray] = (),
                row_totals: bool = True, totals_included: bool = False, lp_audit: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Statuses of a 2-D count array, and the mask of hidden cells no suppression can protect.

    A cell is unprotectable when the published totals pin it whatever else is hidden (zeros are never hidden:
    ``[0, 1]`` with its row total published gives the 1 back); the caller must then not publish those totals.

    ``totals_included``: the last row (and last column when there are several) are the totals, shown as
    cells and protected like the others; ``key_groups``/``row_totals`` then do not apply.
    ``lp_audit``: then attack the result with :func:`observatory.analytics.disclosure.suppress` (one LP pair per
    hidden cell, the stricter rule: each « < t » free over 1…t−1) and complete it; seconds on large tables,
    so not for pages.
    """
    values = np.asarray(values, dtype="float64")
    if values.ndim != 2:
        raise ValueError("suppression_status needs a 2-D array of counts")
    if (values < 0).any():
        raise ValueError("les comptes à protéger doivent être positifs ou nuls")
    n_rows, n_cols = values.shape
    if totals_included:
        constraints = _total_constraints(n_rows, n_cols)
    else:
        constraints = _lines(n_rows, n_cols, list(key_groups), row_totals)
    plain = not totals_included and not list(key_groups)
    first = _heuristic(values, min_count, constraints, plain, row_totals)
    flat = values.ravel()
    if not lp_audit:
        # The fast answer (linear algebra and line-by-line bounds): what every page uses.
        unprotected = np.zeros(flat.size, dtype=bool)
        unprotected[_determined(first != "", constraints) if not plain else _determined_2d(first != "", n_rows, n_cols, row_totals)] = True
        unprotected[_pinned(flat, first, constraints, min_count)] = True
        return first.reshape(n_rows, n_cols), unprotected.reshape(n_rows, n_cols)
    cells = _cell_set(values, constraints, totals_included)
    initial = disclosure.primary_status(cells, min_count)
    initial[: values.size][first == SECONDARY] = disclosure.SECONDARY
    # The LP audit checks the heuristic's choice against every combination of totals and completes it if needed.
    result = disclosure.suppress(cells, min_count, initial=initial)
    names = np.array(["", PRIMARY, SECONDARY, ""], dtype=object)
    unprotected = np.zeros(len(cells.values), dtype=bool)
    unprotected[result.unprotected] = True
    return (names[result.status[: values.size]].reshape(n_rows, n_cols), unprotected[: values.size].reshape(n_rows, n_cols))


def _aggregate_sensitive(df: pd.DataFrame, value_cols: list[str], category_col: str, geo_cols: list[str]) -> pd.DataFrame:
    sens = df[category_col].isin(schema.sensitive_categories())
    if not sens.any() or not geo_cols:
        return df
    part = df[sens].copy()
    for g in geo_cols:
        part[g] = schema.CITY_CODE if g == "arrondissement" else CITY_LABEL
    # Non-count numeric columns (rates, areas) cannot be summed: they are dropped for the aggregated rows.
    other_num = [c for c in part.columns if c not in value_cols and pd.api.types.is_float_dtype(part[c])]
    part[other_num] = np.nan
    keys = [c for c in part.columns if c not in value_cols]
    agg = part.groupby(keys, dropna=False, sort=False)[value_cols].sum().reset_index()
    return pd.concat([df[~sens], agg[df.columns]], ignore_index=True)


def protection_status(df: pd.DataFrame, value_cols: Iterable[str], min_count: int, *, keys: Sequence[str] | None = None,
                      row_totals: bool = True, totals_included: bool = False) -> pd.DataFrame:
    """A frame like ``df[value_cols]`` with "", "primary" or "secondary" per cell (see the module docstring)."""
    value_cols = list(value_cols)
    for c in value_cols:
        if c not in df.columns:
            raise ValueError(f"colonne de comptes absente : {c!r}")
    vals = df[value_cols].fillna(0).to_numpy(dtype="float64")
    if (vals < 0).any():
        raise ValueError("les comptes à protéger doivent être positifs ou nuls")
    key_groups: list[np.ndarray] = []
    keys = list(keys or [])
    if len(keys) >= 2:
        for k in keys:
            others = [o for o in keys if o != k]
            key_groups.append(df[others].astype("string").fillna("∅").agg("|".join, axis=1).to_numpy())
    st = suppression_status(vals, min_count, key_groups, row_totals, totals_included)
    return pd.DataFrame(st, columns=value_cols, index=df.index)


def protect(df: pd.DataFrame, value_cols: Iterable[str], min_count: int, *, keys: Sequence[str] | None = None,
            row_totals: bool = True, viewer_is_analyst: bool = False, category_col: str = "category",
            geo_cols: Sequence[str] | None = None, add_totals: bool = False, as_text: bool = True) -> pd.DataFrame:
    """A publication copy of a count table.

    ``value_cols``: the count columns. ``keys``: the identifying columns of a long table (margins along each
    are protected when there are two or more). ``viewer_is_analyst`` skips the sensitive-category rule (never
    the small-count rule: analysts' exports marked for publication still go through it).
    ``add_totals``: append a "total" row (and a "total" column with several value columns), themselves
    protected. ``as_text``: hidden cells read "< N" / "s" / "n.d." and a column with a hidden cell becomes text
    (object); otherwise hidden cells are ``<NA>`` in nullable Int64 columns. ``attrs["status"]`` holds the
    status frame (aligned with the returned rows).
    """
    value_cols = list(value_cols)
    out = df.copy().reset_index(drop=True)
    geo = [g for g in (geo_cols if geo_cols is not None else GEO_COLUMNS) if g in out.columns]
    sensitive_cols: list[str] = []
    if not viewer_is_analyst:
        if category_col in out.columns:
            out = _aggregate_sensitive(out, value_cols, category_col, geo)
        sensitive_cols = [c for c in value_cols if c in schema.sensitive_categories()]
    if add_totals:
        label_col = next((c for c in out.columns if c not in value_cols), None)
        total = {c: out[c].fillna(0).sum() for c in value_cols}
        if label_col is not None:
            total[label_col] = TOTAL_LABEL
        out = pd.concat([out, pd.DataFrame([total])], ignore_index=True)
        if len(value_cols) > 1:
            out[TOTAL_LABEL] = out[value_cols].fillna(0).sum(axis=1)
            value_cols = value_cols + [TOTAL_LABEL]
    status = protection_status(out, value_cols, min_count, keys=keys, row_totals=row_totals, totals_included=add_totals)
    if sensitive_cols and geo:
        not_city = ~out[geo].isin([schema.CITY_CODE, CITY_LABEL, TOTAL_LABEL]).any(axis=1)
        for c in sensitive_cols:
            status.loc[not_city, c] = SENSITIVE
    for c in value_cols:
        st = status[c]
        hidden = st != ""
        counts = out[c].fillna(0).astype("int64")
        if not hidden.any():
            out[c] = counts
            continue
        if as_text:
            text = {PRIMARY: f"< {min_count}", SECONDARY: SECRET_TEXT, SENSITIVE: SENSITIVE_TEXT}
            out[c] = [text[s] if s else int(v) for v, s in zip(counts, st)]
            out[c] = out[c].astype(object)
        else:
            out[c] = counts.astype("Int64").mask(hidden)
    out.attrs["status"] = status
    out.attrs["min_count"] = min_count
    return out
