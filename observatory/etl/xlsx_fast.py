"""The rows of a guarded workbook's sheet read by calamine (Rust), fifteen times faster than openpyxl, only where
they are the rows openpyxl would give; else None and the caller reads the sheet with openpyxl as before.

openpyxl's read-only rows are the reference (:func:`observatory.etl.read.read_xlsx` was written against them).
calamine gives the same values for strings, booleans, numbers (as floats: the caller writes 12.0 and 12 alike),
dates, times and durations, with these differences, each either normalised here or refused (None):

- an empty cell is ``""`` (openpyxl: None): mapped to None;
- a date-only cell is a ``date`` (openpyxl: a ``datetime`` at midnight): mapped;
- rows end at the last cell holding a value and the sheet at the last row holding one (openpyxl: at the last
  cell or row written in the XML, empty or not): trailing empty cells are cut, and the sheet is padded with
  empty rows up to the last ``<row>`` of the XML, so that blank rows are counted alike;
- error cells (``#N/A``), ISO date cells (``t="d"``), rows without their number, the 1904 date system, serial
  dates before March 1900 and numbers of 10^15 or more (openpyxl keeps big integers exact) are refused.

The caller also falls back to openpyxl for anything but the plain case (header not found, a malformed row, a
number above the header), whose messages quote rows as openpyxl reads them.
"""

from __future__ import annotations

import re
import zipfile
from datetime import date, datetime
from pathlib import Path, PurePosixPath
from xml.etree.ElementTree import fromstring

BIG = 1e15
_ROW_NUMBER = re.compile(rb'<row\b[^>]*?\br="(\d+)"')
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"


def _sheet_part(archive: zipfile.ZipFile, sheet: str | None) -> tuple[str, str] | None:
    """(name, archive member) of the sheet openpyxl would read: ``sheet``, else the first worksheet."""
    # The archive passed the guard (no DTD in any part): the stdlib parser is safe on it.
    book = fromstring(archive.read("xl/workbook.xml"))
    pr = book.find(f"{_MAIN}workbookPr")
    if pr is not None and pr.get("date1904") in ("1", "true"):
        return None
    rels = fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target", "") for r in rels.iter(f"{_PKG_REL}Relationship") if r.get("Type", "").endswith("/worksheet")}
    for s in book.iter(f"{_MAIN}sheet"):
        rid = s.get(f"{_REL}id")
        if rid not in targets:
            continue  # a chartsheet: openpyxl's worksheets skip it too
        if sheet is None or s.get("name") == sheet:
            target = targets[rid]
            member = target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
            return s.get("name"), member
    return None


def sheet_rows(path: Path, sheet: str | None) -> list[tuple] | None:
    """The sheet's rows as openpyxl's ``iter_rows(values_only=True)`` gives them, or None when calamine cannot
    promise that (see the module's docstring). ``path`` must have passed ``check_xlsx_file``."""
    try:
        from python_calamine import CalamineWorkbook
    except ImportError:  # pragma: no cover - a dependency; openpyxl still reads everything
        return None
    try:
        with zipfile.ZipFile(path) as archive:
            found = _sheet_part(archive, sheet)
            if found is None:
                return None
            name, member = found
            xml = archive.read(member)
        if b' t="e"' in xml or b' t="d"' in xml:
            return None
        numbers = _ROW_NUMBER.findall(xml)
        if len(numbers) != xml.count(b"<row ") + xml.count(b"<row>"):
            return None  # rows without their number: openpyxl counts them, calamine places them
        last_row = int(numbers[-1]) if numbers else 0
        values = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(name).to_python(skip_empty_area=False)
    except Exception:  # noqa: BLE001 - anything calamine or this check cannot read is left to openpyxl
        return None
    rows: list[tuple] = []
    for raw in values:
        row = []
        for v in raw:
            if v == "":
                v = None
            elif isinstance(v, float) and abs(v) >= BIG:
                return None
            elif isinstance(v, datetime):
                if v < datetime(1900, 3, 1):
                    return None
            elif isinstance(v, date):
                if v < date(1900, 3, 1):
                    return None
                v = datetime(v.year, v.month, v.day)
            row.append(v)
        while row and row[-1] is None:
            row.pop()
        rows.append(tuple(row))
    if len(rows) > last_row:
        return None
    rows.extend(() for _ in range(last_row - len(rows)))
    return rows
