"""Dates and times of partner rows: strict ``strptime`` (no rolled-over calendar dates), Excel serials, time order."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from observatory import schema as S
from observatory.etl.profile import Profile
from observatory.etl.columns import _empty, _np_bool, parse_numbers


EXCEL_EPOCH_S = int((datetime(1899, 12, 30) - datetime(1970, 1, 1)).total_seconds())
EARLIEST = datetime(1990, 1, 1)


def parse_times(table: pa.Table, profile: Profile) -> tuple[pa.ChunkedArray, np.ndarray, np.ndarray, pa.Array]:
    """Local timestamps (Europe/Paris; times of day read in the profile's ``timezone``), precision per row (index into ``TIME_PRECISIONS``: an object array of 1e6
    strings costs ~0.1 s to hand to Arrow), the mask of unreadable dates, and the same times as
    naive wall-clock values (year and day come from them without a time-zone lookup per row)."""
    date_col = pc.utf8_trim_whitespace(table[profile.time_column])
    n = table.num_rows
    precision = np.full(n, S.TIME_PRECISIONS.index(profile.precision), dtype=np.int8)
    hour, day = S.TIME_PRECISIONS.index("hour"), S.TIME_PRECISIONS.index("day")
    if profile.time_format == "excel":
        days, bad_num = parse_numbers(date_col, ".")
        # Excel's calendar runs from serial 1 (1900-01-01) to 2958465 (9999-12-31); anything else is not a date.
        days = np.where((days >= 1) & (days < 2958466), days, np.nan)
        secs = np.where(np.isfinite(days), np.round(np.nan_to_num(days) * 86400.0), np.nan)
        if profile.clock_column and profile.clock_column in table.column_names:
            frac, _ = parse_numbers(pc.utf8_trim_whitespace(table[profile.clock_column]), ".")
            frac = np.where((frac >= 0) & (frac < 1), frac, np.nan)
            secs = np.where(np.isfinite(frac), secs + np.round(np.nan_to_num(frac) * 86400.0), secs)
        ok = np.isfinite(secs)
        ts = pa.array(np.where(ok, secs, 0).astype("int64") + EXCEL_EPOCH_S, type=pa.int64()).cast(pa.timestamp("s"))
        ts = pc.if_else(pa.array(ok), ts, pa.scalar(None, pa.timestamp("s")))
        if profile.precision == "hour":
            # An integral serial has no time of day: the row is known to the day only.
            whole = np.isfinite(days) & (np.mod(days, 1.0) == 0) & (not profile.clock_column)
            precision[whole] = day
    else:
        ts = _strict_strptime(date_col, profile.time_format)
        if profile.clock_column and profile.clock_column in table.column_names:
            clock = pc.utf8_trim_whitespace(table[profile.clock_column])
            joined = pc.binary_join_element_wise(date_col, clock, " ")
            with_time = _strict_strptime(joined, f"{profile.time_format} {profile.clock_format or '%H:%M'}")
            has_clock = ~_empty(clock)
            ts = pc.if_else(pa.array(has_clock), with_time, ts)
            precision[~has_clock & (precision == hour)] = day
        ok = _np_bool(pc.is_valid(ts))
    if profile.precision == "month":
        ts = pc.floor_temporal(ts, unit="month")
    local = pc.assume_timezone(ts, timezone=S.TIMEZONE, ambiguous="earliest", nonexistent="earliest")
    local = local.cast(pa.timestamp("us", tz=S.TIMEZONE))
    if profile.timezone != S.TIMEZONE and n:
        # Only a time of day is converted from the partner's zone: a date alone (day or month precision) names the
        # same calendar day here, not an instant (« 5 January » in Chicago must not become the 4th or the 6th).
        timed = precision == hour
        if timed.any():
            src = pc.assume_timezone(ts, timezone=profile.timezone, ambiguous="earliest", nonexistent="earliest")
            src = src.cast(pa.timestamp("us", tz=S.TIMEZONE))
            local = pc.if_else(pa.array(timed), src, local)
            ts = pc.cast(pc.local_timestamp(local), pa.timestamp("s"))
    return local, precision, ~ok, ts


_LEADING_ZEROS = r"(^|[^0-9])0+([0-9])"
# Directives the fast renderer writes itself (as zero-padded numbers, exactly as ``pc.strftime`` does).
_FIELDS = {"d": (pc.day, 2), "m": (pc.month, 2), "Y": (pc.year, 4), "H": (pc.hour, 2), "M": (pc.minute, 2), "S": (pc.second, 2)}


def _fmt_tokens(fmt: str) -> list | None:
    """``fmt`` as literals (str) and fixed-width numeric fields ((kernel, width)); None for any other directive."""
    tokens: list = []
    literal = ""
    i = 0
    while i < len(fmt):
        ch = fmt[i]
        if ch != "%":
            literal += ch
            i += 1
            continue
        if i + 1 >= len(fmt):
            return None
        d = fmt[i + 1]
        i += 2
        if d == "%":
            literal += "%"
            continue
        if d not in _FIELDS:
            return None
        if literal:
            tokens.append(literal)
            literal = ""
        tokens.append(_FIELDS[d])
    if literal:
        tokens.append(literal)
    return tokens if any(not isinstance(t, str) for t in tokens) else None


def _render(ts: pa.ChunkedArray | pa.Array, fmt: str) -> pa.ChunkedArray | pa.Array | None:
    """``pc.strftime(ts, fmt)`` from integer field kernels, ~10× faster; None when ``fmt`` has another directive.

    (``pc.strftime`` costs ~1.3 s per million timestamps on this machine: more than reading the whole file.)
    """
    tokens = _fmt_tokens(fmt)
    if tokens is None:
        return None
    parts = [pa.scalar(t) if isinstance(t, str) else pc.utf8_lpad(pc.cast(t[0](ts), pa.string()), width=t[1], padding="0") for t in tokens]
    return pc.binary_join_element_wise(*parts, "")


def _fixed_width_bytes(text: pa.Array, width: int) -> np.ndarray | None:
    """The UTF-8 bytes of ``text`` as an (n, width) matrix, zero-copy, when every value is exactly ``width`` bytes
    and the values are contiguous; None otherwise."""
    if text.type != pa.string() or text.null_count or len(text) == 0:  # int32 offsets only
        return None
    bufs = text.buffers()
    offsets = np.frombuffer(bufs[1], dtype=np.int32)[text.offset: text.offset + len(text) + 1]
    first = int(offsets[0])
    if int(offsets[-1]) - first != width * len(text) or not (np.diff(offsets) == width).all():
        return None
    return np.frombuffer(bufs[2], dtype=np.uint8)[first: first + width * len(text)].reshape(len(text), width)


def _equals_rendering(parsed: pa.ChunkedArray | pa.Array, text: pa.ChunkedArray | pa.Array, fmt: str) -> np.ndarray | None:
    """Per row: ``text`` is exactly ``pc.strftime(parsed, fmt)``, decided on byte matrices with numpy (~10× faster
    than rendering strings); None when the format has another directive or the texts differ in width."""
    tokens = _fmt_tokens(fmt)
    if tokens is None:
        return None
    width = sum(len(t.encode("utf-8")) if isinstance(t, str) else t[1] for t in tokens)
    text = text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text
    mat = _fixed_width_bytes(text, width)
    if mat is None:
        return None
    ok = np.ones(len(text), dtype=bool)
    col = 0
    for t in tokens:
        if isinstance(t, str):
            lit = np.frombuffer(t.encode("utf-8"), dtype=np.uint8)
            ok &= (mat[:, col: col + len(lit)] == lit).all(axis=1)
            col += len(lit)
            continue
        fn, w = t
        values = np.asarray(pc.fill_null(fn(parsed), -1).to_numpy(zero_copy_only=False), dtype=np.int64)
        ok &= (values >= 0) & (values < 10 ** w)
        for k in range(w):
            ok &= mat[:, col + k] == (values // 10 ** (w - 1 - k)) % 10 + 48
        col += w
    return ok


def _same_modulo_zeros(parsed: pa.Array | pa.ChunkedArray, text: pa.Array | pa.ChunkedArray, fmt: str) -> np.ndarray:
    """The parsed value formatted back equals the text, leading zeros aside (the exact, slow check)."""
    back = pc.strftime(parsed, format=fmt)
    same = pc.equal(
        pc.replace_substring_regex(back, _LEADING_ZEROS, r"\1\2"),
        pc.replace_substring_regex(pc.utf8_trim_whitespace(text), _LEADING_ZEROS, r"\1\2"),
    )
    return _np_bool(same)


def _strict_strptime(text: pa.ChunkedArray | pa.Array, fmt: str) -> pa.ChunkedArray | pa.Array:
    """``strptime`` that refuses impossible calendar dates.

    pyarrow rolls "31/02/2021" over to 03/03/2021; formatting the parsed value back and comparing it with the
    text (leading zeros aside, so "1/2/2021" still reads) turns such dates into nulls, i.e. quarantined rows.
    The common case (text already in the canonical zero-padded form) is settled by one comparison with a fast
    rendering; only the other rows (short numbers, odd spacing, rolled-over dates) pay for the exact check.
    """
    parsed = pc.strptime(text, format=fmt, unit="s", error_is_null=True)
    trimmed = pc.utf8_trim_whitespace(text)
    ok = _equals_rendering(parsed, trimmed, fmt)
    if ok is None:
        rendered = _render(parsed, fmt)
        ok = _np_bool(pc.equal(rendered, trimmed)) if rendered is not None else None
    if ok is None:
        ok = _same_modulo_zeros(parsed, text, fmt)
    else:
        ok &= _np_bool(pc.is_valid(parsed))
        suspect = np.flatnonzero(~ok & _np_bool(pc.is_valid(parsed)))
        if len(suspect):
            idx = pa.array(suspect)
            ok[suspect] = _same_modulo_zeros(pc.take(parsed, idx), pc.take(text, idx), fmt)
    return pc.if_else(pa.array(ok), parsed, pa.scalar(None, parsed.type))


def time_order(table: pa.Table, profile: Profile) -> np.ndarray | None:
    """Stable permutation putting the rows in time order, or None when they already are (or cannot be told).

    A cheap, lenient parse (plain ``strptime``: no calendar check, no time zone) of the profile's date (and clock)
    columns: valid rows get the order of their final ``occurred_at`` (local wall time → UTC is monotonic, month
    truncation too); unreadable rows, quarantined anyway, go last. Sorting the few raw text columns once lets
    every canonical column be born in time order, so publishing needs no permutation of the 27 columns. The
    publisher still checks the order, so a wrong guess here costs time, never correctness.
    """
    if profile.time_format == "excel" or table.num_rows < 2 or profile.time_column not in table.column_names:
        return None
    date_col = pc.utf8_trim_whitespace(table[profile.time_column])
    ts = pc.strptime(date_col, format=profile.time_format, unit="s", error_is_null=True)
    if profile.clock_column and profile.clock_column in table.column_names:
        clock = pc.utf8_trim_whitespace(table[profile.clock_column])
        fmt = f"{profile.time_format} {profile.clock_format or '%H:%M'}"
        with_time = pc.strptime(pc.binary_join_element_wise(date_col, clock, " "), format=fmt, unit="s", error_is_null=True)
        ts = pc.if_else(pa.array(~_empty(clock)), with_time, ts)
    if profile.precision == "month":
        ts = pc.floor_temporal(ts, unit="month")
    return _stable_argsort(pc.cast(ts, pa.int64()))


def _stable_argsort(values: pa.ChunkedArray | pa.Array) -> np.ndarray | None:
    """Stable ascending order of int64 ``values`` (nulls last), None if already in order.

    Ties are broken by position inside the key (value × n + position), so numpy's quicksort, ~4× faster than
    its stable merge sort on 1e6 keys, gives the stable order.
    """
    n = len(values)
    valid = pc.drop_null(values)
    if len(valid) == 0:
        return None
    mm = pc.min_max(valid)
    lo, hi = mm["min"].as_py(), mm["max"].as_py()
    key = pc.fill_null(values, hi + 1).to_numpy(zero_copy_only=False)
    if (np.diff(key) >= 0).all():
        return None
    if (hi + 2 - lo) * n < 2**62:
        return np.argsort((key - lo) * n + np.arange(n, dtype=np.int64))
    return np.argsort(key, kind="stable")
