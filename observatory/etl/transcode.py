"""Single-byte CSV cells read as bytes, then decoded column by column (see ``read._pyarrow_read``).

pyarrow decodes a non-UTF-8 file through Python's codec in small pieces, in one thread; for an encoding where every
byte is one character and the first 128 are ASCII (cp1252, latin-1…) the separators are the same bytes before and
after decoding, so the file can be parsed as bytes in parallel and only the columns holding non-ASCII bytes decoded.
"""

from __future__ import annotations

import codecs
import functools
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def is_utf8(encoding: str) -> bool:
    return codecs.lookup(encoding).name in ("utf-8", "utf-8-sig")


@functools.cache
def utf8_widths(encoding: str) -> np.ndarray | None:
    """For a single-byte encoding whose first 128 bytes are ASCII (cp1252, latin-1…): the length in UTF-8 of the
    character each byte stands for (0: byte undefined in the encoding); None for any other encoding."""
    try:
        if is_utf8(encoding):
            return None
        codecs.lookup(encoding)
    except LookupError:
        return None
    widths = np.zeros(256, dtype=np.int64)
    for b in range(256):
        try:
            ch = bytes([b]).decode(encoding)
        except UnicodeDecodeError:
            if b < 128:
                return None
            continue
        if len(ch) != 1 or (b < 128 and ch != chr(b)):
            return None
        widths[b] = len(ch.encode("utf-8"))
    if len(bytes(range(128, 256)).decode(encoding, errors="replace")) != 128:
        return None  # a byte that starts a sequence: not a single-byte encoding
    return widths


def transcoded_column(arr: pa.Array, encoding: str, widths: np.ndarray) -> pa.Array | None:
    """A ``binary`` column read from a file in ``encoding`` (see :func:`utf8_widths`) as the ``string`` column the
    reader would have decoded; None when a byte is undefined in the encoding (the decoding reader then says where).

    Columns of ASCII bytes are the same bytes (a zero-copy view); the others are decoded in one call over their
    data, and each row's offsets move by the extra UTF-8 bytes of the characters before it."""
    n = len(arr)
    if n == 0:
        return arr.cast(pa.string())
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[arr.offset: arr.offset + n + 1]
    lo, hi = int(offsets[0]), int(offsets[-1])
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)[lo:hi] if hi > lo else np.zeros(0, dtype=np.uint8)
    high = np.flatnonzero(data >= 128)
    if len(high) == 0:
        return arr.view(pa.string())
    try:
        text = data.tobytes().decode(encoding).encode("utf-8")
    except UnicodeDecodeError:
        return None
    extra = np.cumsum(widths[data[high]] - 1)
    before = np.searchsorted(high, offsets - lo, side="left")  # non-ASCII bytes before each offset
    moved = offsets - lo + np.where(before > 0, extra[np.maximum(before - 1, 0)], 0)
    if moved[-1] >= 2**31:
        return None
    validity = arr.buffers()[0] if arr.null_count else None
    if validity is not None and arr.offset:
        return None  # (never read so: the reader gives no nulls) — the decoding reader handles it
    return pa.StringArray.from_buffers(n, pa.py_buffer(moved.astype(np.int32)), pa.py_buffer(text), validity, arr.null_count)


def transcoded(table: pa.Table, encoding: str) -> pa.Table | None:
    """Every column of a table read as bytes, decoded (see :func:`transcoded_column`); None when one cannot be."""
    widths = utf8_widths(encoding)

    def one(col: pa.ChunkedArray) -> pa.Array | None:
        arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
        if _ascii_only(arr):
            return arr.view(pa.string())
        # Labels, place types, street names: few distinct values. Each is decoded once (hashing the column costs
        # ~5× less than decoding all its bytes through Python's codec), then the rows take their value.
        enc = pc.dictionary_encode(arr)
        few = len(enc.dictionary) <= max(len(arr) // 8, 1)
        out = transcoded_column(enc.dictionary if few else arr, encoding, widths)
        return None if out is None else out.take(enc.indices) if few else out

    # Two columns at a time: hashing and taking release the GIL.
    with ThreadPoolExecutor(max_workers=2) as pool:
        cols = list(pool.map(one, table.columns))
    if any(c is None for c in cols):
        return None
    return pa.Table.from_arrays(cols, names=table.column_names)


def _ascii_only(arr: pa.Array) -> bool:
    """Whether the bytes of a binary column's values are all ASCII (numpy over its data buffer)."""
    if len(arr) == 0:
        return True
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[arr.offset: arr.offset + len(arr) + 1]
    lo, hi = int(offsets[0]), int(offsets[-1])
    return hi == lo or int(np.frombuffer(arr.buffers()[2], dtype=np.uint8)[lo:hi].max()) < 128


@contextmanager
def quiet_decoding_unraisable():  # noqa: ANN202
    """Read as bytes, a malformed line with non-ASCII bytes makes pyarrow fail to decode it for the invalid-row
    handler (then the read fails and the decoding reader reads the file): the « Exception ignored » it prints on
    the way is not news for the user. Only decoding errors are silenced: the chunked reader holds this while the
    rest of the ingest runs."""
    saved = sys.unraisablehook

    def hook(unraisable) -> None:  # noqa: ANN001
        if not issubclass(unraisable.exc_type, UnicodeDecodeError):
            saved(unraisable)

    sys.unraisablehook = hook
    try:
        yield
    finally:
        sys.unraisablehook = saved
