"""Byte-stable, vectorised writers for the demo extracts: CSV in a partner's dialect, XLSX with fixed timestamps.

Both writers format whole columns with numpy string operations instead of one Python call per cell: at 1e7
incidents the per-row paths (pandas' ``to_csv`` on object columns, openpyxl's write-only ``append``) were the
bulk of the run time.

- CSV: the same bytes as ``DataFrame.to_csv`` (Python's ``csv`` minimal quoting, ``""`` doubling, ``None`` as
  an empty field), written in chunks.
- XLSX: openpyxl still writes every part of the workbook except the data rows (content types, styles, document
  properties, the title block and the header), so the package structure is the one openpyxl and the ETL's
  reader already know; the ``<row>`` elements of the data are produced here, cell for cell as openpyxl's
  write-only worksheet serialises them (inline strings, ``%.16g`` numbers, Excel serial dates with the column's
  number format), and streamed into the zip. Document properties and zip entry timestamps are pinned, so the
  same seed gives the same bytes.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path
from typing import Any, Mapping, Sequence, Union

import numpy as np
import pandas as pd
from numpy.dtypes import StringDType

# openpyxl stamps the document with "now" and zip entries with the local time; both are pinned so that the
# same seed gives the same bytes.
FIXED_TIMESTAMP = datetime(2000, 1, 1, 0, 0, 0)
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
# Deflate level of the XLSX parts: level 1 compresses the repetitive sheet XML almost as well as the default 6
# (≈ 10 % larger files) in a third of the time, and compression was the largest remaining cost of a workbook.
ZIP_LEVEL = 1
CHUNK_ROWS = 20_000  # rows formatted and written at a time (bounds the memory of one file's text)

_STR = StringDType()
# Characters XML 1.0 forbids (openpyxl refuses them with IllegalCharacterError).
_ILLEGAL_XML = re.compile(r"[\000-\010\013\014\016-\037]")
_EXCEL_EPOCH = np.datetime64("1899-12-30", "D")  # Windows 1900 date system, as openpyxl writes
_SHEET_PART = "xl/worksheets/sheet1.xml"


def _text(values: Any) -> np.ndarray:
    """Any 1-D values as a StringDType array; None / NaN → ''."""
    arr = np.asarray(values, dtype=object) if not isinstance(values, np.ndarray) or values.dtype == object else values
    if arr.dtype == object:
        arr = np.where(pd.isna(arr), "", arr)
    return arr.astype(_STR)


# CSV ------------------------------------------------------------------------------------------------------------
def _csv_field(values: Any, delimiter: str, quotechar: str = '"') -> np.ndarray:
    """Minimal quoting as Python's csv writer: quote a field holding the delimiter, the quote or a line break."""
    s = _text(values)
    specials = (delimiter, quotechar, "\n", "\r")
    # One scan of the joined column first: almost no column needs quoting, and a per-element search is slow.
    joined = "".join(s.tolist())
    if not any(ch in joined for ch in specials):
        return s
    need = np.zeros(len(s), dtype=bool)
    for ch in specials:
        need |= np.strings.find(s, ch) >= 0
    quoted = np.strings.add(np.strings.add(quotechar, np.strings.replace(s[need], quotechar, quotechar * 2)), quotechar)
    s = s.copy()
    s[need] = quoted
    return s


Columns = Union[pd.DataFrame, Mapping[str, Any]]


def _column_items(data: Columns) -> list[tuple[str, Any]]:
    if isinstance(data, pd.DataFrame):
        return [(str(name), data[name].to_numpy(dtype=object)) for name in data.columns]
    return [(str(name), values) for name, values in data.items()]


def _n_rows(items: list[tuple[str, Any]]) -> int:
    lengths = {len(v) for _, v in items}
    if len(lengths) > 1:
        raise ValueError(f"columns of different lengths: {sorted(lengths)}")
    return lengths.pop() if lengths else 0


def csv_text(data: Columns, *, delimiter: str, lineterminator: str = "\n", header: bool = True) -> str:
    """The text ``DataFrame(data).to_csv(sep=delimiter, index=False, lineterminator=...)`` writes, column-wise.

    ``data``: a DataFrame or a mapping column name → 1-D values (strings; None / NaN → empty field).
    """
    items = _column_items(data)
    lines = None
    for _name, values in items:
        col = _csv_field(values, delimiter)
        lines = col if lines is None else np.strings.add(np.strings.add(lines, delimiter), col)
    head = delimiter.join(_csv_field(np.asarray([n for n, _ in items], dtype=object), delimiter).tolist()) + lineterminator if header else ""
    if lines is None or len(lines) == 0:
        return head
    return head + lineterminator.join(lines.tolist()) + lineterminator


def write_csv(data: Columns, path: Path, *, encoding: str, delimiter: str, lineterminator: str = "\n") -> None:
    """Write string columns as a partner would (minimal quoting); empty strings stay empty.

    ``data``: a DataFrame or a mapping column name → values (a mapping of numpy arrays skips pandas' string
    conversions). Strict encoding: a character the partner's code page cannot hold raises
    ``UnicodeEncodeError`` (as ``to_csv(errors="strict")`` did) rather than being silently replaced.
    """
    items = _column_items(data)
    n = _n_rows(items)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".part")
    bom = encoding.lower().replace("_", "-") == "utf-8-sig"
    codec = "utf-8" if bom else encoding
    with tmp.open("wb") as fh:
        if bom:
            fh.write(b"\xef\xbb\xbf")
        for start in range(0, max(n, 1), CHUNK_ROWS):
            part = {name: values[start : start + CHUNK_ROWS] for name, values in items}
            fh.write(csv_text(part, delimiter=delimiter, lineterminator=lineterminator, header=start == 0).encode(codec, errors="strict"))
    tmp.replace(path)


# XLSX -----------------------------------------------------------------------------------------------------------
@dataclass
class XlsxColumn:
    """One column of data cells, already formatted as openpyxl would write them.

    ``value``: the text inside ``<t>`` (XML-escaped) or ``<v>``; ``present``: False = no cell at all (openpyxl
    skips ``None``); ``is_text``: inline string, else number; ``styled``: carries ``number_format``.
    """

    value: np.ndarray
    present: np.ndarray
    is_text: np.ndarray
    styled: np.ndarray
    number_format: str | None = None  # for styled cells
    kind: str = "number"  # "datetime" / "time": how openpyxl registers the format (see _template)

    def __len__(self) -> int:
        return len(self.value)

    def where(self, mask: np.ndarray, texts: Sequence[str]) -> XlsxColumn:
        """The same column with the ``mask`` rows replaced by plain text cells (e.g. unparseable dates)."""
        mask = np.asarray(mask, dtype=bool)
        other = xlsx_text(np.asarray(texts, dtype=object))
        col = XlsxColumn(self.value.copy(), self.present.copy(), self.is_text.copy(), self.styled.copy(), self.number_format, self.kind)
        col.value[mask] = other.value
        col.present[mask] = other.present
        col.is_text[mask] = True
        col.styled[mask] = False
        return col


def _xml_escape(s: np.ndarray) -> np.ndarray:
    # The order matters: '&' first. Quotes need no escaping in element text (ElementTree leaves them too).
    for a, b in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
        if (np.strings.find(s, a) >= 0).any():
            s = np.strings.replace(s, a, b)
    return s


def xlsx_text(values: Any) -> XlsxColumn:
    """Text cells; ``None`` / NaN → no cell; '' → an empty string cell (as openpyxl writes it)."""
    obj = np.asarray(values, dtype=object)
    present = ~pd.isna(obj)
    s = _text(obj)
    bad = [v for v in s.tolist() if _ILLEGAL_XML.search(v)] if _ILLEGAL_XML.search("".join(s.tolist())) else []
    if bad:
        raise ValueError(f"caractère interdit en XML dans une cellule texte : {bad[0]!r}")
    n = len(s)
    return XlsxColumn(s, present, np.ones(n, dtype=bool), np.zeros(n, dtype=bool))


def g16(values: np.ndarray) -> np.ndarray:
    """'%.16g' of each float (openpyxl's number format); NaN → ''."""
    v = np.asarray(values, dtype=float)
    out = np.array(["%.16g" % x for x in v.tolist()], dtype=_STR) if len(v) else np.array([], dtype=_STR)
    out[~np.isfinite(v)] = ""
    return out


def xlsx_number(values: Any, number_format: str | None = None) -> XlsxColumn:
    """Numeric cells (``%.16g``); NaN → no cell."""
    v = np.asarray(values, dtype=float)
    ok = np.isfinite(v)
    return XlsxColumn(g16(v), ok, np.zeros(len(v), dtype=bool), ok & (number_format is not None), number_format)


def _minute_fractions() -> np.ndarray:
    """'%.16g' of ``days + minute / 1440`` without its integer part, for every minute of a day.

    For 32768 ≤ days < 65536 (1989-09-18 … 2079-06-06) every serial has the same float exponent, so the
    rounding of ``days + fraction`` and its 16 significant digits depend on the minute only; one table of
    1440 strings then formats a whole column exactly as openpyxl's ``%.16g`` would.
    """
    base = 40000
    return np.array([("%.16g" % (base + (m * 60) / 86400))[len(str(base)):] for m in range(1440)], dtype=_STR)


_FRACTIONS: np.ndarray | None = None


def excel_serial_text(ts: Any, with_time: bool = True) -> np.ndarray:
    """Excel serials of naive timestamps (minute precision), formatted as openpyxl writes them; NaT → ''."""
    global _FRACTIONS
    t = pd.DatetimeIndex(ts).as_unit("ns")  # pandas 3 keeps the source unit (often µs)
    ok = ~t.isna()
    ns = t.asi8
    day_ns = 86_400 * 10**9
    days = np.floor_divide(ns, day_ns) - _EXCEL_EPOCH.astype(np.int64)
    rest = np.mod(ns, day_ns)
    if not with_time:
        rest = np.zeros_like(rest)
    if ok.any() and (rest[ok] % (60 * 10**9) != 0).any():
        raise ValueError("excel_serial_text: timestamps must be at minute precision")
    minutes = (rest // (60 * 10**9)).astype(np.int64)
    out = np.full(len(t), "", dtype=_STR)
    fast = ok & (days >= 32768) & (days < 65536)
    if fast.any():
        if _FRACTIONS is None:
            _FRACTIONS = _minute_fractions()
        out[fast] = np.strings.add(days[fast].astype(str).astype(_STR), _FRACTIONS[minutes[fast]])
    slow = ok & ~fast
    if slow.any():  # dates outside 1989–2079: the plain formula, one value at a time
        out[slow] = g16(days[slow] + (minutes[slow] * 60) / 86400)
    return out


def xlsx_datetime(ts: Any, number_format: str, with_time: bool = True) -> XlsxColumn:
    """Excel date(-time) cells with ``number_format``; NaT → no cell. ``with_time=False`` writes whole days."""
    text = excel_serial_text(ts, with_time)
    ok = text != ""
    n = len(text)
    return XlsxColumn(text, ok, np.zeros(n, dtype=bool), ok.copy(), number_format, "datetime")


def xlsx_time(ts: Any, number_format: str = "h:mm:ss") -> XlsxColumn:
    """Excel time-of-day cells (fraction of a day) of naive timestamps; openpyxl's default format for a time."""
    t = pd.DatetimeIndex(ts)
    ok = ~t.isna()
    secs = ((t.hour.to_numpy() * 3600) + (t.minute.to_numpy() * 60)).astype(float)
    text = g16(np.where(ok, secs / 86400, np.nan))
    n = len(text)
    return XlsxColumn(text, ok, np.zeros(n, dtype=bool), ok.copy(), number_format, "time")


def _column_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


def _template(sheet: str, header: list[str], title_rows: list[list[Any]], columns: list[XlsxColumn]) -> tuple[list[tuple[str, bytes]], dict[int, int]]:
    """The workbook openpyxl writes with the title block and the header only, and each column's style id.

    Styles are registered as openpyxl registers them when it writes a datetime / time value with a format
    (its default format first, then the column's), so styles.xml is the one the old row-by-row writer made.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    wb = Workbook(write_only=True)
    wb.properties.creator = "observatory demo"
    wb.properties.created = FIXED_TIMESTAMP
    wb.properties.modified = FIXED_TIMESTAMP
    ws = wb.create_sheet(sheet)
    for row in title_rows:
        ws.append(row)
    ws.append(header)
    styles: dict[int, int] = {}
    for j, col in enumerate(columns):
        if col.styled.any():
            sample = datetime(2000, 1, 1) if col.kind == "datetime" else time(0, 0) if col.kind == "time" else 0.0
            cell = WriteOnlyCell(ws, value=sample)
            if col.number_format:
                cell.number_format = col.number_format
            styles[j] = cell.style_id
    buf = io.BytesIO()
    wb.save(buf)
    with zipfile.ZipFile(buf) as z:
        entries = [(info.filename, z.read(info.filename)) for info in z.infolist()]
    # openpyxl's save stamps dcterms:modified with the current time whatever the workbook says.
    stamp = FIXED_TIMESTAMP.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    entries = [(n, re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)", rb"\g<1>" + stamp + rb"\g<2>", d) if n == "docProps/core.xml" else d) for n, d in entries]
    return entries, styles


def sheet_rows_xml(columns: list[XlsxColumn], first_row: int, styles: dict[int, int]) -> str:
    """``<row>`` elements of the data, byte for byte as openpyxl's write-only worksheet writes them."""
    n = len(columns[0]) if columns else 0
    if n == 0:
        return ""
    rownum = np.arange(first_row, first_row + n).astype(str).astype(_STR)
    line = np.strings.add(np.strings.add('<row r="', rownum), '">')
    for j, col in enumerate(columns):
        ref = np.strings.add(f'<c r="{_column_letter(j)}', rownum)
        s_attr = f' s="{styles[j]}"' if j in styles else ""
        value = col.value
        # Text: ElementTree escapes &, <, >; xml:space="preserve" when the text has outer whitespace.
        text_cell = np.full(n, "", dtype=_STR)
        t = col.is_text & col.present
        if t.any():
            raw = value[t]
            stripped = np.strings.strip(raw)
            keep = (stripped != "") & (stripped != raw)
            esc = _xml_escape(raw)
            if keep.any():
                open_t = np.where(keep, '" t="inlineStr"><is><t xml:space="preserve">', '" t="inlineStr"><is><t>').astype(_STR)
                body = np.strings.add(np.strings.add(open_t, esc), "</t></is></c>")
            else:
                body = np.strings.add(np.strings.add('" t="inlineStr"><is><t>', esc), "</t></is></c>")
            text_cell[t] = np.where(raw == "", '" t="inlineStr" />', body)
        num_cell = np.full(n, "", dtype=_STR)
        m = ~col.is_text & col.present
        if m.any():
            head = np.where(col.styled[m], f'"{s_attr} t="n"><v>', '" t="n"><v>').astype(_STR)
            num_cell[m] = np.strings.add(np.strings.add(head, value[m]), "</v></c>")
        cell = np.where(col.is_text, text_cell, num_cell).astype(_STR)
        cell = np.where(col.present, np.strings.add(ref, cell), "").astype(_STR)
        line = np.strings.add(line, cell)
    line = np.strings.add(line, "</row>")
    return "".join(line.tolist())


def write_xlsx(
    path: Path,
    *,
    sheet: str,
    header: list[str],
    columns: list[XlsxColumn],
    title_rows: list[list[Any]] | None = None,
) -> None:
    """A one-sheet workbook: optional title block, header row, then one data row per element of ``columns``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    title_rows = title_rows or []
    if len({len(c) for c in columns}) > 1:
        raise ValueError("write_xlsx: columns of different lengths")
    entries, styles = _template(sheet, header, title_rows, columns)
    first_row = len(title_rows) + 2
    n = len(columns[0]) if columns else 0
    tmp = path.with_suffix(path.suffix + ".part")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=ZIP_LEVEL) as dst:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            if name != _SHEET_PART:
                dst.writestr(info, data, compresslevel=ZIP_LEVEL)
                continue
            head, sep, tail = data.partition(b"</sheetData>")
            if not sep:  # pragma: no cover - openpyxl always writes sheetData
                raise RuntimeError("openpyxl wrote no <sheetData>")
            with dst.open(info, "w", force_zip64=n > 1_000_000) as out:
                out.write(head)
                for start in range(0, n, CHUNK_ROWS):
                    part = [_slice(c, start, start + CHUNK_ROWS) for c in columns]
                    out.write(sheet_rows_xml(part, first_row + start, styles).encode("utf-8"))
                out.write(sep + tail)
    tmp.replace(path)


def _slice(col: XlsxColumn, a: int, b: int) -> XlsxColumn:
    return XlsxColumn(col.value[a:b], col.present[a:b], col.is_text[a:b], col.styled[a:b], col.number_format, col.kind)


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
