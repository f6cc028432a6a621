"""The privacy rule every public output goes through.

1. Primary suppression: counts 1..min_count−1 are hidden and read ``"< 5"`` (zeros are published: an empty
   cell reveals no one).
2. Complementary (secondary) suppression, read ``"s"``: the totals of every *line* of the table are assumed
   published, and an attacker solving linear programs over them (cells ≥ 0, « < 5 » cells in 1…4, « s » cells
   ≥ 5) must not narrow any hidden cell below what « < 5 » itself says. A line is
   - each value column (its column total), and within it, with ``keys`` of a long table of two or more key
     columns, each group of rows sharing the values of all keys but one (the margins of the cross table);
   - each row across the value columns (its row total), when there are two or more value columns.
   The cells to add and the audit are :mod:`observatory.analytics.disclosure` (HiGHS through scipy). This
   function protects one table on its own: what an élu obtains is protected jointly by the publication
   (:mod:`observatory.analytics.publication`); a table protected here is for analysts' exports marked for
   publication and for views outside the publication.
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
                row_totals: bool = True, totals_included: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Statuses of a 2-D count array, and the mask of hidden cells no suppression can protect.

    A cell is unprotectable when the published totals pin it whatever else is hidden (zeros are never hidden:
    ``[0, 1]`` with its row total published gives the 1 back); the caller must then not publish those totals.

    ``totals_included``: the last row (and last column when there are several) are the totals, shown as
    cells and protected like the others; ``key_groups``/``row_totals`` then do not apply. The choice and the
    check are :func:`observatory.analytics.disclosure.suppress` (LP audit, see that module).
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
    cells = _cell_set(values, constraints, totals_included)
    result = disclosure.suppress(cells, min_count)
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
