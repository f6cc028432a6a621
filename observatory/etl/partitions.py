"""Year partitions of a new snapshot: the new rows of a year merged with the parent's kept rows, in time order."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from observatory import schema as S
from observatory import store


def _year_table(new_rows: pa.Table, idx: np.ndarray | slice, parent_path: Path | None, replaced: pa.Array | None,
                constant: frozenset[str] = frozenset()) -> pa.Table:
    """One year partition: the new rows of that year (in time order) merged with the parent's kept rows.

    ``idx`` is a slice when the new rows are already in time order (a zero-copy view), else positions.
    """
    part = new_rows.slice(idx.start, idx.stop - idx.start) if isinstance(idx, slice) else _take(new_rows, idx, constant)
    if parent_path is None:
        return part
    old = store.read_incident_files([parent_path])
    if replaced is not None:
        old = old.filter(pc.invert(pc.is_in(old[S.INCIDENT_KEY], value_set=replaced)))
    return _sorted_by_time(pa.concat_tables([old, part]))


def _take(table: pa.Table, idx: np.ndarray, constant: frozenset[str] | None = None) -> pa.Table:
    """Rows ``idx`` of ``table``; a constant column is its own permutation (per-file lineage columns are).

    ``constant`` names the columns known to be constant (computed once for all partitions); None: test here.
    """
    if len(idx) == table.num_rows and (len(idx) < 2 or (np.diff(idx) == 1).all()):
        return table
    if constant is None:
        constant = constant_columns(table)
    order = pa.array(idx)
    cols = []
    for name in table.column_names:
        col = table[name]
        if name in constant:
            cols.append(pa.repeat(col[0], len(idx)) if len(idx) != len(col) else col)
        else:
            cols.append(col.take(order))
    return pa.Table.from_arrays(cols, schema=table.schema)


def _sorted_by_time(table: pa.Table) -> pa.Table:
    """Rows by occurred_at; skips the (costly, all-column) permutation when the extract is already in order."""
    if table.num_rows < 2:
        return table
    ts = table[S.OCCURRED_AT].cast(pa.int64()).to_numpy()
    if (np.diff(ts) >= 0).all():
        return table
    return _take(table, np.argsort(ts, kind="stable"))


_OFTEN_CONSTANT = {S.SOURCE, S.BATCH_ID, S.SOURCE_FILE, S.EXTRACTED_AT, S.IRIS, S.TIME_PRECISION, S.N_FACTS, S.PLACE_NAME}


def constant_columns(table: pa.Table) -> frozenset[str]:
    """The often-constant columns (lineage of one file, unused fields) that hold one value in ``table``."""
    return frozenset(name for name in _OFTEN_CONSTANT if name in table.column_names and _is_constant(table[name]))


def _is_constant(col: pa.ChunkedArray) -> bool:
    nulls = col.null_count
    if nulls == len(col):
        return True
    if nulls or len(col) == 0:
        return False
    # One comparison with the first value: min_max on strings costs ~10× more (measured 0.26 s for 1e6 rows).
    return bool(pc.all(pc.equal(col, col[0])).as_py())
