"""Pure steps of the pipeline: map → validate → locate. Arrow tables in, Arrow tables out, no I/O.

Each step returns the rows it could use and a list of problems ``(row position, column, reason)``; the caller
turns problems into quarantine rows. Vectorised with pyarrow.compute / numpy / shapely: no Python loop per row
on the hot path (the only per-row Python is the id hash of partners that give no id, which are small files).
"""

from __future__ import annotations

import hashlib
import re
import threading
from concurrent.futures import ThreadPoolExecutor
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import shapely
from pyproj import Transformer

from observatory.labels import fmt_int
from observatory import schema as S
from observatory.etl.profile import Profile
from observatory.territory import LAMBERT93, WGS84, Territory

EXCEL_EPOCH_S = int((datetime(1899, 12, 30) - datetime(1970, 1, 1)).total_seconds())
EARLIEST = datetime(1990, 1, 1)

# Generous WGS84 and Lambert-93 boxes around Lyon, to recognise a wrong CRS declaration.
WGS84_BOX = (3.5, 45.0, 6.0, 46.5)
L93_BOX = (780_000.0, 6_450_000.0, 900_000.0, 6_600_000.0)


@dataclass
class Problems:
    """Problems found in a batch: parallel lists, one entry per (row position, column, reason)."""

    pos: list[np.ndarray] = field(default_factory=list)
    column: list[str] = field(default_factory=list)
    reason: list[np.ndarray | str] = field(default_factory=list)

    def add(self, mask: np.ndarray, column: str, reason: str | np.ndarray) -> None:
        idx = np.flatnonzero(mask)
        if len(idx) == 0:
            return
        self.pos.append(idx)
        self.column.append(column)
        self.reason.append(reason if isinstance(reason, str) else np.asarray(reason, dtype=object)[idx])

    def extend(self, other: "Problems") -> None:
        self.pos += other.pos
        self.column += other.column
        self.reason += other.reason

    def bad_mask(self, n: int) -> np.ndarray:
        m = np.zeros(n, dtype=bool)
        for idx in self.pos:
            m[idx] = True
        return m

    def per_row(self) -> dict[int, tuple[str, str]]:
        """First column and all reasons of each bad row, in the order the checks ran."""
        out: dict[int, tuple[str, str]] = {}
        for idx, col, reason in zip(self.pos, self.column, self.reason):
            for k, p in enumerate(idx.tolist()):
                r = reason if isinstance(reason, str) else str(reason[k])
                if p in out:
                    c0, r0 = out[p]
                    out[p] = (c0, r0 + " ; " + r)
                else:
                    out[p] = (col, r)
        return out


def _np_bool(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False), dtype=bool)


def _text(table: pa.Table, name: str | None) -> pa.ChunkedArray | None:
    if not name or name not in table.column_names:
        return None
    return pc.utf8_trim_whitespace(table[name])


def _empty(arr: pa.ChunkedArray) -> np.ndarray:
    return _np_bool(pc.or_(pc.is_null(arr), pc.equal(pc.utf8_length(arr), 0)))


def _null_if_empty(arr: pa.ChunkedArray) -> pa.ChunkedArray:
    empty = pc.equal(pc.utf8_length(arr), 0)
    if not pc.any(empty).as_py():
        return arr  # if_else copies every string (~0.1 s per million rows) even when nothing changes
    return pc.if_else(empty, pa.scalar(None, pa.string()), arr)


def normalise_name(text: str) -> str:
    """Case-, accent- and punctuation-insensitive key for matching site and quarter names."""
    text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", " ", text).strip()


def parse_numbers(arr: pa.ChunkedArray, decimal: str) -> tuple[np.ndarray, np.ndarray]:
    """Float values (NaN where empty or unreadable) and the mask of unreadable non-empty cells."""
    s = pc.utf8_trim_whitespace(arr)
    if decimal == ",":
        s = pc.replace_substring(s, ",", ".")

    def clean(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        finite = np.isfinite(values)  # "nan" / "inf" cast fine but are not numbers a partner meant
        return np.where(finite, values, np.nan), ~finite

    try:
        # Fastest path: a clean column casts in one go (an empty cell or a space makes the cast fail, so a
        # success means the checks below would find nothing to do).
        return clean(pc.cast(s, pa.float64()).to_numpy(zero_copy_only=False))
    except pa.ArrowInvalid:
        pass
    empty = _empty(arr)
    s = pc.replace_substring(s, " ", "")  # thousands separators some exports keep
    if not empty.any():
        try:
            # Only a column with bad cells pays for the regex.
            return clean(pc.cast(s, pa.float64()).to_numpy(zero_copy_only=False))
        except pa.ArrowInvalid:
            pass
    ok = _np_bool(pc.match_substring_regex(s, r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"))
    cleaned = pc.if_else(pa.array(ok), s, pa.scalar("nan"))
    values = pc.cast(cleaned, pa.float64()).to_numpy(zero_copy_only=False)
    values = np.where(ok, values, np.nan)
    return values, ~ok & ~empty


def parse_times(table: pa.Table, profile: Profile) -> tuple[pa.ChunkedArray, np.ndarray, np.ndarray, pa.Array]:
    """Local timestamps (Europe/Paris), precision per row (index into ``TIME_PRECISIONS``: an object array of 1e6
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


def stable_ids(table: pa.Table, columns: tuple[str, ...]) -> np.ndarray:
    """A stable id from field values (partners without ids): same values → same id, in any run."""
    parts = [pc.utf8_trim_whitespace(table[c]).to_pylist() for c in columns]
    return np.array(
        [hashlib.sha1("\x1f".join(v or "" for v in vals).encode("utf-8")).hexdigest()[:16] for vals in zip(*parts)],
        dtype=object,
    )


_POSTAL = {f"6900{i}": f"6938{i}" for i in range(1, 10)}


def normalise_arrondissement(arr: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Declared arrondissement → index into ``ARRONDISSEMENT_CODES`` (-1 = unknown or empty).

    Accepts 69383, 69003 (postal code), 3, 3e, « Lyon 3 », « Lyon 3e »: each distinct value is parsed once.
    """
    uniq = pc.unique(arr)
    values = uniq.to_pylist()
    lookup = np.array([S.ARRONDISSEMENT_CODES.index(c) if (c := _arr_code(v)) else -1 for v in values], dtype=np.int16)
    pos = pc.index_in(arr, value_set=uniq)
    pos_np = np.asarray(pc.fill_null(pos, -1).to_numpy(zero_copy_only=False), dtype=np.int64)
    return np.where(pos_np >= 0, lookup[np.maximum(pos_np, 0)] if len(lookup) else -1, -1).astype(np.int16)


def codes_array(idx: np.ndarray, codes: tuple[str, ...] | list[str]) -> pa.Array:
    """Integer codes (-1 = null) → Arrow strings, without a Python loop."""
    idx = np.asarray(idx)
    if len(idx) == 0:
        return pa.array([], type=pa.string())
    return pc.take(pa.array(list(codes), type=pa.string()), pa.array(idx.astype(np.int32), mask=idx < 0))


def repeat(value, n: int, type_=pa.string()) -> pa.Array:
    """``value`` n times. Strings are built from two buffers (offsets, repeated bytes): ~10× faster than pa.repeat."""
    if type_ == pa.string() and isinstance(value, str) and n > 0:
        data = value.encode("utf-8")
        if len(data) * n < 2**31 - 1:
            offsets = (np.arange(n + 1, dtype=np.int64) * len(data)).astype(np.int32)
            return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data * n))
    return pa.repeat(pa.scalar(value, type=type_), n)


def _arr_code(v: str | None) -> str | None:
    if v is None:
        return None
    s = v.strip()
    if s in S.ARRONDISSEMENT_CODES:
        return s
    if s in _POSTAL:
        return _POSTAL[s]
    m = re.fullmatch(r"(?i)(?:lyon\s*)?0?([1-9])\s*(?:e|er|ème|eme)?(?:\s*arrondissement)?", s)
    return f"6938{m.group(1)}" if m else None


@dataclass
class Mapped:
    table: pa.Table  # canonical columns known after mapping (no location yet), plus helper columns
    declared: np.ndarray  # declared arrondissement as an index into ARRONDISSEMENT_CODES (-1 = none)
    wall: pa.Array  # occurred_at as naive Paris wall-clock time (for year and day)
    problems: Problems
    unmapped: dict[str, int]
    notes: list[str]


def normalised_ids(raw: pa.Table, profile: Profile) -> pa.ChunkedArray:
    """The partner's ids as keys are built from them: trimmed, and Excel's integer ids written 12.0 read as 12
    (the same incident must get the same key). Empty stays empty."""
    ids = pc.utf8_trim_whitespace(raw[profile.id_column])
    return pc.replace_substring_regex(ids, r"^(\d+)\.0+$", r"\1")


def _map_times(raw: pa.Table, profile: Profile, extracted_at: datetime) -> tuple[pa.ChunkedArray, np.ndarray, pa.Array, Problems]:
    """The time fields of ``map_rows`` and their problems (unreadable, after the extraction, before 1990)."""
    n = raw.num_rows
    probs = Problems()
    occurred, precision, bad_time, wall = parse_times(raw, profile)
    if bad_time.any():
        bad_idx = np.flatnonzero(bad_time)
        shown = pc.utf8_trim_whitespace(raw[profile.time_column]).take(pa.array(bad_idx)).to_pylist()
        if profile.clock_column and profile.clock_column in raw.column_names:
            clocks = pc.utf8_trim_whitespace(raw[profile.clock_column]).take(pa.array(bad_idx)).to_pylist()
            shown = [f"{d} {c}".strip() if d else d for d, c in zip(shown, clocks)]
        fmt = profile.time_format + (f" {profile.clock_format or '%H:%M'}" if profile.clock_column else "")
        reasons = np.empty(n, dtype=object)
        reasons[bad_idx] = [f"date illisible « {v} » (format attendu {fmt})" if v else "date manquante" for v in shown]
        probs.add(bad_time, profile.time_column, reasons)
    occ_np = occurred.cast(pa.timestamp("us", tz="UTC")).to_numpy(zero_copy_only=False) if n else np.array([], dtype="datetime64[us]")
    occ_ok = ~bad_time
    # A fact dated after its extraction is impossible: usually day and month swapped (or a typo in the year).
    limit = np.datetime64(extracted_at.replace(tzinfo=None), "us") + np.timedelta64(2, "D")
    future = occ_ok & (occ_np > limit)
    probs.add(future, profile.time_column, "date postérieure à l'extraction (jour et mois inversés ?)")
    old = occ_ok & (occ_np < np.datetime64(EARLIEST, "us"))
    probs.add(old, profile.time_column, "date antérieure à 1990")

    return occurred, precision, wall, probs


def map_rows(raw: pa.Table, profile: Profile, *, id_prefix: str = "", extracted_at: datetime, now: datetime) -> Mapped:
    """Profile columns → canonical fields; problems collected for every row at once."""
    n = raw.num_rows
    probs = Problems()
    notes: list[str] = []
    # The time fields are parsed in a worker thread while the other fields are mapped here (Arrow kernels release
    # the GIL); their problems are added after the id's and before the later checks', as when run in sequence.
    pool = ThreadPoolExecutor(max_workers=1)
    times_future = pool.submit(_map_times, raw, profile, extracted_at)
    # id
    if profile.id_column:
        ids = normalised_ids(raw, profile)
        probs.add(_empty(ids), profile.id_column, "identifiant manquant")
    else:
        cols = [c for c in profile.build_from if c in raw.column_names]
        all_empty = np.ones(n, dtype=bool)
        for c in cols:
            all_empty &= _empty(pc.utf8_trim_whitespace(raw[c]))
        probs.add(all_empty, profile.build_from[0], "aucune valeur pour construire l'identifiant")
        ids = pa.array(stable_ids(raw, tuple(cols)), type=pa.string())
    if id_prefix:
        ids = pc.binary_join_element_wise(pa.scalar(id_prefix), ids, "-")
    keys = pc.binary_join_element_wise(pa.scalar(profile.name), ids, ":")

    try:
        later = Problems()
        # label
        label = pc.utf8_trim_whitespace(raw[profile.label_column])
        no_label = _empty(label)
        later.add(no_label, profile.label_column, "libellé manquant")
        known = list(profile.labels)
        idx = pc.index_in(label, value_set=pa.array(known, type=pa.string()))
        if known and pc.sum(pc.is_null(idx)).as_py():
            # Second chance, tolerant of case and accents (partners retype labels); still never a fuzzy guess.
            folded = {normalise_name(k): v for k, v in profile.labels.items()}
            uniq = pc.unique(pc.filter(label, pc.is_null(idx))).to_pylist()
            extra = {u: folded[normalise_name(u)] for u in uniq if u and normalise_name(u) in folded}
            if extra:
                known = known + list(extra)
                cats_list = list(profile.labels.values()) + list(extra.values())
                idx = pc.index_in(label, value_set=pa.array(known, type=pa.string()))
            else:
                cats_list = list(profile.labels.values())
        else:
            cats_list = list(profile.labels.values())
        # Category and family from integer codes (label → category → family), never by hashing a million strings.
        cat_codes = list(S.categories())
        fam_codes = [S.categories()[c].family for c in cat_codes]
        label_cat = np.array([cat_codes.index(c) if c in cat_codes else cat_codes.index(S.NON_CLASSE) for c in cats_list] + [cat_codes.index(S.NON_CLASSE)], dtype=np.int32)
        idx_np = np.asarray(pc.fill_null(idx, len(cats_list)).to_numpy(zero_copy_only=False), dtype=np.int64) if known else np.full(n, len(cats_list), dtype=np.int64)
        cat_idx = label_cat[idx_np]
        category = pc.take(pa.array(cat_codes, type=pa.string()), pa.array(cat_idx))
        unmapped_mask = _np_bool(pc.is_null(idx)) & ~no_label if known else ~no_label
        unmapped: dict[str, int] = {}
        if unmapped_mask.any():
            vc = pc.value_counts(pc.filter(label, pa.array(unmapped_mask))).to_pylist()
            unmapped = {d["values"]: int(d["counts"]) for d in sorted(vc, key=lambda d: (-d["counts"], d["values"]))}
        family = pc.take(pa.array(fam_codes, type=pa.string()), pa.array(cat_idx))

        # n_facts
        facts = np.ones(n, dtype=np.int32)
        if profile.n_facts and profile.n_facts in raw.column_names:
            vals, bad = parse_numbers(raw[profile.n_facts], ".")
            nonint = np.isfinite(vals) & ((vals < 1) | (np.mod(vals, 1) != 0) | (vals > 1e6))
            later.add(bad | nonint, profile.n_facts, "nombre de faits invalide (entier ≥ 1 attendu)")
            facts = np.where(np.isfinite(vals) & ~nonint, vals, 1).astype(np.int32)

        def opt(name: str | None) -> pa.Array:
            col = _text(raw, name)
            return _null_if_empty(col) if col is not None else pa.nulls(n, pa.string())

        place_name = opt(profile.place_name) if profile.place_name else (opt(profile.site) if profile.site else opt(profile.quarter))
        has_declared = bool(profile.arrondissement and profile.arrondissement in raw.column_names)
        declared_text = pc.utf8_trim_whitespace(raw[profile.arrondissement]) if has_declared else None
        declared = normalise_arrondissement(declared_text) if has_declared else np.full(n, -1, dtype=np.int16)
        if has_declared:
            given = ~_empty(declared_text)
            unknown_arr = given & (declared < 0)
            if unknown_arr.any():
                notes.append(f"{int(unknown_arr.sum())} arrondissement(s) déclaré(s) non reconnu(s) (ni 6938x, ni 6900x, ni « Lyon 3 ») : laissé(s) vide(s)")

        occurred, precision, wall, time_probs = times_future.result()
    finally:
        pool.shutdown()
    probs.extend(time_probs)
    probs.extend(later)

    table = pa.table({
        S.INCIDENT_KEY: keys,
        S.SOURCE: repeat(profile.name, n),
        S.SOURCE_ID: ids,
        S.OCCURRED_AT: occurred,
        S.TIME_PRECISION: codes_array(precision, S.TIME_PRECISIONS) if n == 0 or (precision != precision[0]).any() else repeat(S.TIME_PRECISIONS[precision[0]], n),
        S.CATEGORY: category,
        S.FAMILY: family,
        S.RAW_LABEL: label,
        S.PLACE_TYPE: opt(profile.place_type),
        S.PLACE_NAME: place_name,
        S.DECLARED_ARRONDISSEMENT: codes_array(declared, S.ARRONDISSEMENT_CODES),
        S.N_FACTS: pa.array(facts, type=pa.int32()),
    })
    return Mapped(table, declared, wall, probs, unmapped, notes)


# Locate ---------------------------------------------------------------------------------------------------------
_local = threading.local()


def _transformer(src: str, dst: str) -> Transformer:
    """One Transformer per thread and CRS pair: pyproj transformers must not be shared between threads."""
    cache = _local.__dict__.setdefault("transformers", {})
    if (src, dst) not in cache:
        cache[(src, dst)] = Transformer.from_crs(src, dst, always_xy=True)
    return cache[(src, dst)]


@dataclass
class Located:
    x: np.ndarray
    y: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    quality: np.ndarray  # index into LOCATION_QUALITIES
    arrondissement: np.ndarray  # index into ARRONDISSEMENT_CODES, -1 = none
    zones: pa.Array
    grid: pa.Array
    notes: list[str]
    iris: np.ndarray | None = None  # IRIS code per row (None where unknown); None when no IRIS are loaded


def _in_box(a: np.ndarray, b: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    return (a >= box[0]) & (a <= box[2]) & (b >= box[1]) & (b <= box[3])


def _points_in(geoms: list, xs: np.ndarray, ys: np.ndarray) -> list[np.ndarray]:
    """For each polygon, the mask of points inside (bbox pre-filter, then exact test on prepared geometry)."""
    out = []
    finite = np.isfinite(xs) & np.isfinite(ys)
    for g in geoms:
        shapely.prepare(g)
        xmin, ymin, xmax, ymax = g.bounds
        cand = np.flatnonzero(finite & (xs >= xmin) & (xs <= xmax) & (ys >= ymin) & (ys <= ymax))
        mask = np.zeros(len(xs), dtype=bool)
        if len(cand):
            mask[cand] = shapely.contains_xy(g, xs[cand], ys[cand])
        out.append(mask)
    return out


@dataclass(frozen=True)
class TerritoryIndex:
    """Territory geometries in Lambert-93, ready for vectorised point-in-polygon."""

    codes: tuple[str, ...]
    arr_geoms: tuple
    city: object
    zone_ids: tuple[str, ...]
    zone_geoms: tuple
    zone_from: tuple
    zone_to: tuple
    sites: dict  # normalised name or id → (zone_id, lon, lat)
    quarters: dict  # normalised quarter → (arrondissement, zone_id or None)
    iris: object = None  # IRIS in Lambert-93 (GeoDataFrame) when fetched, else None


def territory_index(territory: Territory) -> TerritoryIndex:
    arr = territory.arrondissements_l93()
    zones = territory.zones_l93()
    city = shapely.union_all(arr.geometry.values)
    shapely.prepare(city)
    sites = {}
    raw_zones = territory.zones
    for z in raw_zones.itertuples():
        if z.kind == "piscine":
            c = z.geometry.centroid
            for key in (z.zone_id, z.name):
                sites[normalise_name(key)] = (z.zone_id, float(c.x), float(c.y))
    quarters = {normalise_name(q.quarter): (q.arrondissement or None, q.zone_id or None) for q in territory.quarters.itertuples()}

    def day(v):
        if v is None or (isinstance(v, float) and np.isnan(v)) or str(v) in ("", "None", "NaT"):
            return None
        return np.datetime64(str(v)[:10], "D")

    return TerritoryIndex(
        codes=tuple(arr["code"]),
        arr_geoms=tuple(arr.geometry.values),
        city=city,
        zone_ids=tuple(zones["zone_id"]),
        zone_geoms=tuple(zones.geometry.values),
        zone_from=tuple(day(v) for v in zones["valid_from"]),
        zone_to=tuple(day(v) for v in zones["valid_to"]),
        sites=sites,
        quarters=quarters,
        iris=territory.iris.to_crs(LAMBERT93) if territory.iris is not None else None,
    )


Q_POINT, Q_ADDRESS, Q_SECTOR, Q_NONE = (S.LOCATION_QUALITIES.index(q) for q in ("point", "address", "sector", "none"))


def _digits(v: np.ndarray) -> int | None:
    """The number of decimal digits every value of ``v`` has, or None if they differ (or one is negative)."""
    lo, hi = int(v.min()), int(v.max())
    return len(str(hi)) if lo >= 0 and len(str(lo)) == len(str(hi)) else None


def _fixed_width_ids(ix: np.ndarray, iy: np.ndarray) -> pa.Array | None:
    """'E{ix}_N{iy}' as one byte matrix when all ix (and all iy) have the same number of digits — any one city's
    cells do — then one Arrow string array over it (~6× faster than casting and joining strings)."""
    wx, wy = _digits(ix), _digits(iy)
    if wx is None or wy is None or max(wx, wy) > 9:  # 32-bit digit arithmetic below
        return None
    width = 1 + wx + 2 + wy
    mat = np.empty((len(ix), width), dtype=np.uint8)
    mat[:, 0] = ord("E")
    mat[:, 1 + wx] = ord("_")
    mat[:, 2 + wx] = ord("N")
    for start, w, v in ((1, wx, ix), (3 + wx, wy, iy)):
        u = v.astype(np.uint32)  # 32-bit division: ~1.5× faster than int64
        for k in range(w):
            mat[:, start + k] = (u // np.uint32(10 ** (w - 1 - k))) % np.uint32(10) + np.uint32(48)
    if width * len(ix) >= 2**31:
        return None
    offsets = np.arange(len(ix) + 1, dtype=np.int32) * np.int32(width)
    return pa.StringArray.from_buffers(len(ix), pa.py_buffer(offsets), pa.py_buffer(mat))


def grid_ids(x: np.ndarray, y: np.ndarray, size_m: int) -> pa.Array:
    """Same ids as ``territory.grid_cell_ids`` ('E4215_N32597'), built with Arrow string kernels (≈ 20× faster)."""
    ok = np.isfinite(x) & np.isfinite(y)
    ix = np.floor(np.where(ok, x, 0) / size_m).astype("int64")
    iy = np.floor(np.where(ok, y, 0) / size_m).astype("int64")
    if len(ix) and ok.all():
        fixed = _fixed_width_ids(ix, iy)
        if fixed is not None:
            return fixed
    sx = pc.cast(pa.array(ix), pa.string())
    sy = pc.cast(pa.array(iy), pa.string())
    ids = pc.binary_join_element_wise(pa.scalar("E"), sx, pa.scalar("_N"), sy, "")
    return ids if ok.all() else pc.if_else(pa.array(ok), ids, pa.scalar(None, pa.string()))


@dataclass
class Points:
    """Partner coordinates parsed, checked and projected (both CRS); independent of the mapping step."""

    x: np.ndarray
    y: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    ok: np.ndarray
    problems: Problems
    notes: list[str]

    def permuted(self, order: np.ndarray) -> "Points":
        """The same points for the rows put in ``order`` (problem positions follow their rows)."""
        inv = np.empty_like(order)
        inv[order] = np.arange(len(order))
        probs = Problems([inv[p] for p in self.problems.pos], list(self.problems.column), list(self.problems.reason))
        return Points(self.x[order], self.y[order], self.lon[order], self.lat[order], self.ok[order], probs, list(self.notes))


def project_points(raw: pa.Table, profile: Profile) -> Points:
    """Coordinates → WGS84 and Lambert-93 (pyproj, always_xy); swapped lat/lon repaired, wrong CRS caught."""
    n = raw.num_rows
    problems = Problems()
    notes: list[str] = []
    x = np.full(n, np.nan)
    y = np.full(n, np.nan)
    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    ok = np.zeros(n, dtype=bool)
    if profile.crs != "none" and profile.x in raw.column_names and profile.y in raw.column_names:
        a, bad_a = parse_numbers(raw[profile.x], profile.decimal)
        b, bad_b = parse_numbers(raw[profile.y], profile.decimal)
        problems.add(bad_a, profile.x, "coordonnée illisible")
        problems.add(bad_b & ~bad_a, profile.y, "coordonnée illisible")
        have = np.isfinite(a) & np.isfinite(b) & ~((a == 0) & (b == 0))  # 0,0 is an export's "no location"
        if profile.crs == WGS84:
            swapped = have & _in_box(b, a, WGS84_BOX) & ~_in_box(a, b, WGS84_BOX)
            if swapped.any():
                a, b = np.where(swapped, b, a), np.where(swapped, a, b)
                notes.append(f"{int(swapped.sum())} point(s) avec latitude et longitude inversées : remises dans l'ordre")
            looks_l93 = have & _in_box(a, b, L93_BOX)
            problems.add(looks_l93, profile.x, "coordonnées en Lambert-93 (EPSG:2154) alors que le profil déclare WGS84 : corrigez crs dans le profil")
            bad_range = have & ~looks_l93 & ~((np.abs(a) <= 180) & (np.abs(b) <= 90))
            problems.add(bad_range, profile.x, "coordonnées hors des bornes WGS84")
            ok = have & ~looks_l93 & ~bad_range
            lon[ok], lat[ok] = a[ok], b[ok]
            if ok.any():
                x[ok], y[ok] = _transformer(WGS84, LAMBERT93).transform(a[ok], b[ok])
        else:
            looks_wgs = have & _in_box(a, b, WGS84_BOX)
            problems.add(looks_wgs, profile.x, "coordonnées en degrés WGS84 alors que le profil déclare Lambert-93 (EPSG:2154) : corrigez crs dans le profil")
            ok = have & ~looks_wgs
            if ok.all():
                # The usual extract: every row has its point; no masked copies of the four million-row arrays.
                x, y = a, b
                lon, lat = _transformer(LAMBERT93, WGS84).transform(a, b)
            else:
                x[ok], y[ok] = a[ok], b[ok]
                if ok.any():
                    lon[ok], lat[ok] = _transformer(LAMBERT93, WGS84).transform(a[ok], b[ok])

    return Points(x, y, lon, lat, ok, problems, notes)


@dataclass
class Spatial:
    """What only the Lambert-93 coordinates decide: arrondissement polygon, zone polygons, grid cell."""

    x: np.ndarray  # the coordinates it was computed for (locate recomputes when a site name moved a point)
    y: np.ndarray
    arrondissement: np.ndarray  # index into ARRONDISSEMENT_CODES of the polygon holding the point, -1 = none
    zone_masks: list[np.ndarray]  # per zone of the index, the points inside (validity dates not applied yet)
    grid: pa.Array


def spatial(x: np.ndarray, y: np.ndarray, index: TerritoryIndex, grid_size_m: int) -> Spatial:
    """Point in polygon (arrondissements, zones) and grid ids; shapely and Arrow release the GIL, so the pipeline
    runs this beside the mapping step."""
    arr_pos = {c: i for i, c in enumerate(S.ARRONDISSEMENT_CODES)}
    arr_idx = np.full(len(x), -1, dtype=np.int16)
    for code, m in zip(index.codes, _points_in(list(index.arr_geoms), x, y)):
        arr_idx[m & (arr_idx < 0)] = arr_pos[code]
    return Spatial(x, y, arr_idx, _points_in(list(index.zone_geoms), x, y), grid_ids(x, y, grid_size_m))


def locate(mapped: Mapped, raw: pa.Table, profile: Profile, index: TerritoryIndex, *, tolerance_m: float, grid_size_m: int, problems: Problems,
           points: Points | None = None, spatial_: Spatial | None = None) -> Located:
    """Coordinates → WGS84 + Lambert-93, arrondissement, zones, grid cell; problems added to ``problems``.

    ``points`` and ``spatial_`` may be computed beforehand (the pipeline overlaps them
    with mapping); ``spatial_`` is used only if the coordinates did not change since (no site name located a row).
    """
    n = mapped.table.num_rows
    pts = points if points is not None else project_points(raw, profile)
    problems.extend(pts.problems)
    notes: list[str] = list(pts.notes)
    x, y, lon, lat = pts.x, pts.y, pts.lon, pts.lat  # copied below only if a site name moves points
    quality = np.full(n, Q_NONE, dtype=np.int8)
    quality[pts.ok] = Q_POINT
    extra_zone: np.ndarray | None = None  # zone ids known from a site or quarter name (small partner files)
    arr_pos = {c: i for i, c in enumerate(S.ARRONDISSEMENT_CODES)}

    if profile.site and profile.site in raw.column_names:
        extra_zone = np.full(n, None, dtype=object)
        x, y, lon, lat = x.copy(), y.copy(), lon.copy(), lat.copy()
        names = pc.utf8_trim_whitespace(raw[profile.site]).to_pylist()
        cache: dict[str, tuple | None] = {}
        unknown: dict[str, int] = {}
        for i, v in enumerate(names):
            if not v or quality[i] == Q_POINT:
                continue
            if v not in cache:
                cache[v] = index.sites.get(normalise_name(v))
            hit = cache[v]
            if hit is None:
                unknown[v] = unknown.get(v, 0) + 1
                continue
            extra_zone[i] = hit[0]
            lon[i], lat[i] = hit[1], hit[2]
            quality[i] = Q_ADDRESS
        sel = quality == Q_ADDRESS
        if sel.any():
            x[sel], y[sel] = _transformer(WGS84, LAMBERT93).transform(lon[sel], lat[sel])
        if unknown:
            notes.append("site(s) inconnu(s), sans localisation : " + ", ".join(f"{k} ({v})" for k, v in _most_first(unknown)))

    # Point in polygon: arrondissement, then distance to the city for points outside every polygon.
    has_xy = np.isfinite(x) & np.isfinite(y)
    same_points = spatial_ is not None and (spatial_.x is x and spatial_.y is y or (
        np.array_equal(spatial_.x, x, equal_nan=True) and np.array_equal(spatial_.y, y, equal_nan=True)))
    sp = spatial_ if same_points else spatial(x, y, index, grid_size_m)
    arr_idx = sp.arrondissement.copy()
    outside = has_xy & (arr_idx < 0)
    if outside.any():
        idx = np.flatnonzero(outside)
        pts = shapely.points(x[idx], y[idx])
        dist = shapely.distance(index.city, pts)
        far = dist > tolerance_m
        if far.any():
            reasons = np.full(n, "", dtype=object)
            reasons[idx[far]] = [f"point hors du territoire (à {fmt_int(d)} m de Lyon, tolérance {fmt_int(tolerance_m)} m)" for d in dist[far]]
            m = np.zeros(n, dtype=bool)
            m[idx[far]] = True
            problems.add(m, profile.x or profile.site or "", reasons)
        near = idx[~far]
        if len(near):
            # Within the tolerance (river banks, boundary imprecision): kept, given the nearest arrondissement.
            near_pts = shapely.points(x[near], y[near])
            dists = np.vstack([shapely.distance(g, near_pts) for g in index.arr_geoms])
            arr_idx[near] = [arr_pos[index.codes[k]] for k in dists.argmin(axis=0)]
            notes.append(f"{len(near)} point(s) juste hors des limites (≤ {tolerance_m:.0f} m) : rattaché(s) à l'arrondissement le plus proche")

    # Quarter names locate to a sector.
    if profile.quarter and profile.quarter in raw.column_names:
        if extra_zone is None:
            extra_zone = np.full(n, None, dtype=object)
        names = pc.utf8_trim_whitespace(raw[profile.quarter]).to_pylist()
        unknown = {}
        for i, v in enumerate(names):
            if not v or quality[i] != Q_NONE:
                continue
            hit = index.quarters.get(normalise_name(v))
            if hit is None:
                unknown[v] = unknown.get(v, 0) + 1
                continue
            if hit[0] in arr_pos:
                arr_idx[i] = arr_pos[hit[0]]
                quality[i] = Q_SECTOR
            extra_zone[i] = hit[1]
        if unknown:
            notes.append("quartier(s) inconnu(s), sans localisation : " + ", ".join(f"{k} ({v})" for k, v in _most_first(unknown)[:10]))

    # No usable location: the declared arrondissement still counts (sector only), never a default point.
    fill = (quality == Q_NONE) & (mapped.declared >= 0)
    arr_idx[fill] = mapped.declared[fill]
    quality[fill] = Q_SECTOR

    zones = _zone_lists(index, sp.zone_masks, mapped.wall, extra_zone)
    iris = None
    if index.iris is not None:
        from observatory.territory import iris_of_points

        located = (quality == Q_POINT) | (quality == Q_ADDRESS)
        arr_codes = np.where(located & (arr_idx >= 0), np.array(S.ARRONDISSEMENT_CODES + ("",), dtype=object)[arr_idx], None)
        iris = iris_of_points(np.where(located, x, np.nan), np.where(located, y, np.nan), arr_codes, index.iris)
    return Located(x, y, lon, lat, quality, arr_idx, zones, sp.grid, notes, iris)


def _most_first(counts: dict[str, int]) -> list[tuple[str, int]]:
    """Most frequent first, then by name: independent of row order (rows are sorted by time, not file order)."""
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def _zone_lists(index: TerritoryIndex, masks: list[np.ndarray], wall: pa.Array, extra: np.ndarray | None) -> pa.Array:
    """List of zone ids per row, respecting each zone's validity dates, as an Arrow list array built from offsets."""
    n = len(wall)
    if n == 0:
        return pa.array([], type=pa.list_(pa.string()))
    local_day = pc.cast(wall, pa.timestamp("s")).to_numpy(zero_copy_only=False).astype("datetime64[D]")
    ids = list(index.zone_ids)
    member = np.zeros((n, len(ids) + 1), dtype=bool)
    for j, (m, vf, vt) in enumerate(zip(masks, index.zone_from, index.zone_to)):
        valid = np.ones(n, dtype=bool)
        if vf is not None:
            valid &= local_day >= vf
        if vt is not None:
            valid &= local_day <= vt
        member[:, j] = m & valid
    # Zones known from a site or quarter name (no point): added if not already found spatially.
    extra_ok = np.array([e is not None for e in extra], dtype=bool) if extra is not None else np.zeros(n, dtype=bool)
    if extra_ok.any():
        pos = {z: j for j, z in enumerate(ids)}
        for i in np.flatnonzero(extra_ok):
            j = pos.get(extra[i])
            if j is not None:
                member[i, j] = True
    rows, cols = np.nonzero(member)
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(np.bincount(rows, minlength=n), out=offsets[1:])
    values = pa.array(np.array(ids + [""], dtype=object)[cols], type=pa.string())
    return pa.ListArray.from_arrays(pa.array(offsets, type=pa.int32()), values)
