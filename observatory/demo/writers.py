"""Byte-stable writers for the demo extracts: CSV in a partner's dialect, XLSX with fixed timestamps."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

# openpyxl stamps the document with "now" and zip entries with the local time; both are pinned so that the
# same seed gives the same bytes.
FIXED_TIMESTAMP = datetime(2000, 1, 1, 0, 0, 0)
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def write_csv(df: pd.DataFrame, path: Path, *, encoding: str, delimiter: str, lineterminator: str = "\n") -> None:
    """Write string columns as a partner would (minimal quoting); empty strings stay empty."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".part")
    df.to_csv(tmp, sep=delimiter, index=False, encoding=encoding, lineterminator=lineterminator, errors="strict")
    tmp.replace(path)


def normalise_zip(path: Path) -> None:
    """Rewrite a zip (XLSX) with fixed entry timestamps and a fixed entry order, so its bytes are stable."""
    with zipfile.ZipFile(path) as src:
        entries = [(info.filename, src.read(info.filename)) for info in src.infolist()]
    # openpyxl's save stamps dcterms:modified with the current time whatever the workbook says.
    stamp = FIXED_TIMESTAMP.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    entries = [(n, re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)", rb"\g<1>" + stamp + rb"\g<2>", d) if n == "docProps/core.xml" else d) for n, d in entries]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            dst.writestr(info, data)
    path.write_bytes(buf.getvalue())


def write_xlsx(
    path: Path,
    *,
    sheet: str,
    header: list[str],
    rows: Iterable[list[Any]],
    title_rows: list[list[Any]] | None = None,
    formats: dict[int, str] | None = None,
) -> None:
    """A one-sheet workbook: optional title block, header row, data rows; ``formats`` = column index → number format."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    path.parent.mkdir(parents=True, exist_ok=True)
    wb = Workbook(write_only=True)
    wb.properties.creator = "observatory demo"
    wb.properties.created = FIXED_TIMESTAMP
    wb.properties.modified = FIXED_TIMESTAMP
    ws = wb.create_sheet(sheet)
    for row in title_rows or []:
        ws.append(row)
    ws.append(header)
    formats = formats or {}
    for row in rows:
        if formats:
            row = list(row)
            for col, fmt in formats.items():
                value = row[col]
                if isinstance(value, datetime):
                    cell = WriteOnlyCell(ws, value=value)
                    cell.number_format = fmt
                    row[col] = cell
        ws.append(row)
    tmp = path.with_suffix(path.suffix + ".part")
    wb.save(tmp)
    normalise_zip(tmp)
    tmp.replace(path)


# Vectorised string formatting (no per-row Python) ----------------------------------------------------------------
def zpad(values: np.ndarray, width: int) -> np.ndarray:
    return np.strings.zfill(np.asarray(values).astype(np.int64).astype(str), width)


def fmt_datetime_parts(ts: pd.Series, pattern: str) -> np.ndarray:
    """Format naive timestamps with a strftime-like pattern using only %d %m %Y %H %M, vectorised."""
    t = pd.DatetimeIndex(ts)
    parts = {
        "%d": zpad(t.day.to_numpy(), 2),
        "%m": zpad(t.month.to_numpy(), 2),
        "%Y": zpad(t.year.to_numpy(), 4),
        "%H": zpad(t.hour.to_numpy(), 2),
        "%M": zpad(t.minute.to_numpy(), 2),
    }
    out = np.full(len(t), "", dtype=object).astype(str)
    i = 0
    while i < len(pattern):
        token = pattern[i : i + 2]
        if token in parts:
            out = np.strings.add(out, parts[token])
            i += 2
        else:
            out = np.strings.add(out, pattern[i])
            i += 1
    return out.astype(object)


def fmt_decimal(values: np.ndarray, decimals: int, decimal_sep: str) -> np.ndarray:
    """Fixed-point text with the given separator; NaN → empty string."""
    v = np.asarray(values, dtype=float)
    ok = np.isfinite(v)
    scaled = np.round(np.where(ok, np.abs(v), 0) * 10**decimals).astype(np.int64)
    whole = (scaled // 10**decimals).astype(str)
    frac = np.strings.zfill((scaled % 10**decimals).astype(str), decimals)
    sign = np.where(v < 0, "-", "")
    text = np.strings.add(np.strings.add(np.strings.add(sign, whole), decimal_sep), frac)
    return np.where(ok, text, "").astype(object)
