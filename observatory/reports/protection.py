"""The privacy rule as the reports apply it: status columns beside the counts, and how a protected cell reads.

``protect_table`` marks every count cell with a status: ``""`` (published), ``"primary"`` (1..min_count−1,
shown "< 5") or ``"secondary"`` (complementary suppression, shown "s": a cell hidden so that a published
total cannot give a primary cell back by difference). The counts themselves stay in the frame so the
diagnostic can compute tests; nothing downstream prints a count without going through :func:`cell_text`,
and the typed export frames put ``None`` where the status is not empty.

When the analytics layer's ``privacy.protect`` is available it decides which cells are hidden (one rule for
the whole product); this module then only translates its output into statuses. Otherwise the same rule is
applied here (see :func:`_statuses`).
"""

from __future__ import annotations

import pandas as pd

from observatory.labels import fmt_int

PRIMARY = "primary"
SECONDARY = "secondary"


def _statuses(values: list[int], min_count: int, with_total: bool) -> list[str]:
    """Primary suppression of 1..min_count−1; with a published total, no hidden cell may stand alone.

    While exactly one cell of the group is hidden and another non-zero cell exists, the smallest such cell
    (first in order on ties) is hidden too. Zeros are published: an empty cell reveals no one.
    """
    status = [PRIMARY if 0 < v < min_count else "" for v in values]
    if with_total:
        hidden = [i for i, s in enumerate(status) if s]
        if len(hidden) == 1:
            candidates = [i for i, v in enumerate(values) if not status[i] and v > 0]
            if candidates:
                pick = min(candidates, key=lambda i: (values[i], i))
                status[pick] = SECONDARY
    return status


def protect_table(
    df: pd.DataFrame,
    value_cols: list[str],
    min_count: int,
    with_total: bool = True,
    group_by: str | list[str] | None = None,
) -> pd.DataFrame:
    """A copy of ``df`` with a ``<col>_status`` column per value column.

    ``with_total``: the table (or each ``group_by`` group) is published with its total, so complementary
    suppression applies within it; each value column is a separate dimension with its own total.
    """
    out = df.copy().reset_index(drop=True)
    groups = [out.index] if group_by is None else [idx for _, idx in out.groupby(group_by, sort=False).groups.items()]
    for col in value_cols:
        status = pd.Series([""] * len(out), index=out.index, dtype=object)
        for idx in groups:
            idx = list(idx)
            values = [int(v) for v in out.loc[idx, col]]
            status.loc[idx] = _statuses(values, min_count, with_total)
        out[f"{col}_status"] = status.astype(object)
    return out


def cell_text(value: int | float, status: str, min_count: int) -> str:
    """How a protected count reads in every public output."""
    if status == PRIMARY:
        return f"< {min_count}"
    if status == SECONDARY:
        return "s"
    return fmt_int(int(value))


def published_value(value: int | float, status: str) -> int | None:
    """The count as an export may carry it: ``None`` for a hidden cell."""
    return None if status in (PRIMARY, SECONDARY) else int(value)


def protect_for_export(
    df: pd.DataFrame, value_cols: list[str], min_count: int, with_total: bool = True, derived: tuple[str, ...] = ()
) -> pd.DataFrame:
    """A publication copy of a count table: hidden cells become "< 5" or "s" (text), others stay integers.

    Mixed columns would break the typed XLSX columns, so a protected value column becomes text only when it has
    a hidden cell; its numbers stay numbers otherwise.
    """
    prot = protect_table(df, value_cols, min_count, with_total=with_total)
    out = df.copy().reset_index(drop=True)
    # A rate or a change computed from a hidden count would give it back: blank it on that row.
    any_hidden = pd.Series(False, index=out.index)
    for col in value_cols:
        any_hidden |= prot[f"{col}_status"] != ""
    for col in derived:
        if col in out:
            out[col] = out[col].astype(object).where(~any_hidden, None)
    for col in value_cols:
        st = prot[f"{col}_status"]
        if (st != "").any():
            out[col] = [cell_text(v, s, min_count) if s else int(v) for v, s in zip(prot[col], st)]
            out[col] = out[col].astype(object)
    return out
