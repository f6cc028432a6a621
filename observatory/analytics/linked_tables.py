"""Linked count tables as one :class:`~observatory.analytics.disclosure.CellSet`: hierarchical cubes and shared margins.

:func:`cube` turns counts at the finest level into every cell of a hierarchical cross table (margins included) and
its relations ``parent − Σ children = 0``; :func:`cell_set` puts several cubes together, with the relations
between them (a margin two tables share).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse

from observatory.analytics.disclosure import CellSet


def _ancestors(parent: dict[str, str | None], code: str) -> list[str]:
    out = [code]
    seen = {code}
    while parent.get(out[-1]) is not None:
        nxt = parent[out[-1]]
        if nxt in seen:
            raise ValueError(f"hiérarchie cyclique autour de {nxt!r}")
        out.append(nxt)
        seen.add(nxt)
    return out


def cube(micro: pd.DataFrame, value: str, hierarchies: dict[str, dict[str, str | None]], table: str = "",
         leaves_published: bool = True) -> tuple[pd.DataFrame, list[tuple[np.ndarray, np.ndarray]]]:
    """Every cell of a hierarchical cross table and its relations ``parent − Σ children = 0``.

    ``micro``: counts at the finest level, one column per dimension of ``hierarchies`` plus ``value``.
    ``hierarchies[dim]``: ``{code: parent code or None}`` for every node of that dimension (leaves included);
    a dimension may have several roots (overlapping zones have no common total). Every combination of nodes
    is a cell (absent ones are zeros). Returns the cells (``table``, the dimensions, ``value``, ``leaf``: True
    when every coordinate is a leaf) and the relations as (local cell ids, coefficients).
    """
    dims = list(hierarchies)
    nodes = {d: list(h) for d, h in hierarchies.items()}
    for d in dims:
        unknown = set(micro[d]) - set(nodes[d])
        if unknown:
            raise ValueError(f"codes absents de la hiérarchie {d!r} : {sorted(map(str, unknown))[:5]}")
        children = {p for p in hierarchies[d].values() if p is not None}
        hierarchies[d] = dict(hierarchies[d])
        for p in children - set(nodes[d]):
            raise ValueError(f"parent {p!r} absent de la hiérarchie {d!r}")
    index = pd.MultiIndex.from_product([nodes[d] for d in dims], names=dims)
    cells = pd.DataFrame(index=index).reset_index()
    cells[value] = 0
    # Sum the micro counts into every ancestor combination.
    agg = micro.groupby(dims, as_index=False, sort=False)[value].sum()
    expanded = agg
    for d in dims:
        anc = pd.DataFrame([(c, a) for c in nodes[d] for a in _ancestors(hierarchies[d], c)], columns=[d, "_anc"])
        expanded = expanded.merge(anc, on=d).drop(columns=d).rename(columns={"_anc": d})
    totals = expanded.groupby(dims, sort=False)[value].sum()
    pos = pd.Series(np.arange(len(cells)), index=pd.MultiIndex.from_frame(cells[dims]))
    cells.loc[pos.loc[totals.index].to_numpy(), value] = totals.to_numpy()
    is_leaf = np.ones(len(cells), dtype=bool)
    relations: list[tuple[np.ndarray, np.ndarray]] = []
    codes = {d: cells[d].to_numpy() for d in dims}
    for d in dims:
        parent = hierarchies[d]
        has_children = {p for p in parent.values() if p is not None}
        is_leaf &= ~np.isin(codes[d], list(has_children))
        child_rows = np.flatnonzero(np.array([parent.get(c) is not None for c in codes[d]]))
        if len(child_rows) == 0:
            continue
        par_codes = [parent[c] for c in codes[d][child_rows]]
        key = cells.iloc[child_rows][dims].copy()
        key[d] = par_codes
        par_ids = pos.loc[pd.MultiIndex.from_frame(key)].to_numpy()
        order = np.argsort(par_ids, kind="stable")
        par_sorted, child_sorted = par_ids[order], child_rows[order]
        starts = np.flatnonzero(np.r_[True, par_sorted[1:] != par_sorted[:-1]])
        ends = np.r_[starts[1:], len(par_sorted)]
        for s, e in zip(starts, ends):
            ids = np.r_[par_sorted[s], child_sorted[s:e]]
            relations.append((ids, np.r_[1.0, -np.ones(e - s)]))
    cells.insert(0, "table", table)
    cells["leaf"] = is_leaf
    cells["published"] = True if leaves_published else ~is_leaf
    return cells, relations


def cell_set(parts: list[tuple[pd.DataFrame, list[tuple[np.ndarray, np.ndarray]]]], value: str = "n",
             shared: list[tuple[np.ndarray, np.ndarray]] = (), inequalities: list[tuple[np.ndarray, np.ndarray]] = ()) -> CellSet:
    """One :class:`CellSet` from several cubes (their ids offset in order) plus relations across them.

    ``shared``/``inequalities`` use global ids (``offsets`` are the cumulative lengths of ``parts``): equality
    relations between tables (a margin two tables share) and ``Σ coef·x ≤ 0`` rows.
    """
    frames, rows = [], []
    offset = 0
    for frame, rels in parts:
        frames.append(frame)
        rows.extend((ids + offset, coef) for ids, coef in rels)
        offset += len(frame)
    rows.extend(shared)
    labels = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def matrix(rs) -> sparse.csr_matrix:  # noqa: ANN001
        rs = list(rs)
        if not rs:
            return sparse.csr_matrix((0, offset))
        r = np.concatenate([np.full(len(ids), i) for i, (ids, _) in enumerate(rs)])
        c = np.concatenate([ids for ids, _ in rs])
        d = np.concatenate([coef for _, coef in rs])
        return sparse.csr_matrix((d, (r, c)), shape=(len(rs), offset))

    published = labels["published"].to_numpy(dtype=bool) if "published" in labels else np.ones(offset, dtype=bool)
    return CellSet(labels[value].to_numpy(dtype="float64"), matrix(rows), published, matrix(inequalities), labels=labels)
