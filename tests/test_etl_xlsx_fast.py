"""The fast workbook reader (calamine) gives exactly what openpyxl gives where it is used, and hands every other
case back to openpyxl: same tables, same row numbers, same notes, same quarantine."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path

import pytest

from observatory import demo
from observatory.config import get_settings
from observatory.etl import read as read_mod
from observatory.etl.guards import check_xlsx_file
from observatory.etl.profile import load_profile
from observatory.etl.xlsx_fast import sheet_rows

REPO = Path(__file__).resolve().parents[1]


def _openpyxl_rows(path: Path, sheet: str | None = None) -> list[tuple]:
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        ws = wb[sheet] if sheet else wb.worksheets[0]
        return list(ws.iter_rows(values_only=True))
    finally:
        wb.close()


def _as_read(rows: list[tuple], fmt: str | None) -> list[list[str]]:
    """Rows as read_xlsx turns cells into text (trailing empty cells cut: see xlsx_fast's docstring)."""
    out = []
    for row in rows:
        cells = [read_mod._excel_text(v, fmt) for v in row]
        while cells and cells[-1] == "":
            cells.pop()
        out.append(cells)
    return out


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory):  # noqa: ANN001, ANN201
    settings = get_settings(root=REPO, env={}, data_dir=tmp_path_factory.mktemp("xlsx") / "data")
    result = demo.generate(settings, demo.demo_dir(settings), (2024, 2025), 0.05, 42, sources=["police_municipale", "piscines"])
    return settings, result


def test_demo_workbooks_read_the_same_and_take_the_fast_path(demo_files):  # noqa: ANN001
    settings, result = demo_files
    checked = 0
    for source in ("police_municipale", "piscines"):
        profile = load_profile(settings, source)
        for path in sorted(result.files_of(source)):
            check_xlsx_file(path)
            fast = sheet_rows(path, profile.sheet or None)
            assert fast is not None, path.name
            slow = read_mod._openpyxl_rows(path, profile, __import__("openpyxl"), Exception)
            a = read_mod._raw_from_rows(fast, profile, exact=False)  # raises if the file needed openpyxl
            b = read_mod._raw_from_rows(slow, profile, exact=True)
            assert a.table.equals(b.table) and a.table.num_rows > 0, path.name
            assert list(a.lines) == list(b.lines) and a.malformed == b.malformed == []
            assert (a.header, a.header_line, a.notes) == (b.header, b.header_line, b.notes)
            checked += 1
    assert checked >= 20


def _workbook(path: Path, rows: list[list], formats: dict[int, str] | None = None, iso_dates: bool = False, epoch_1904: bool = False) -> Path:
    import openpyxl

    wb = openpyxl.Workbook()
    wb.iso_dates = iso_dates
    if epoch_1904:
        from openpyxl.utils.datetime import CALENDAR_MAC_1904

        wb.epoch = CALENDAR_MAC_1904
    ws = wb.active
    for r in rows:
        ws.append(r)
    for col, fmt in (formats or {}).items():
        for cells in ws.iter_rows(min_col=col, max_col=col):
            for c in cells:
                if isinstance(c.value, (int, float)) and not isinstance(c.value, bool):
                    c.number_format = fmt
    wb.save(path)
    return path


def test_values_of_every_kind_match_openpyxl(tmp_path):  # noqa: ANN001
    import random

    rng = random.Random(3)
    rows: list[list] = [["Extraction du 01/01/2025"], [], ["date", "heure", "durée", "montant", "code", "ok", "texte", None, "vide"]]
    for i in range(300):
        moment = datetime(2019, 1, 1) + timedelta(seconds=rng.randint(0, 7 * 365 * 86400))
        rows.append([moment, time(rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59)), timedelta(minutes=rng.randint(0, 5000)),
                     rng.random() * 1e6, rng.randint(-10**12, 10**12), bool(i % 2), "  espacé " if i % 7 == 0 else f"n°{i} « é »", None, "" if i % 3 else None])
        if i % 50 == 0:
            rows.append([])  # a blank row inside the data
    path = _workbook(tmp_path / "types.xlsx", rows)
    fast, slow = sheet_rows(path, None), _openpyxl_rows(path)
    assert fast is not None and len(fast) == len(slow)
    for fmt in (None, "%d/%m/%Y %H:%M:%S", "excel"):
        assert _as_read(fast, fmt) == _as_read(slow, fmt)


def test_trailing_empty_rows_are_counted_as_openpyxl_counts_them(tmp_path):  # noqa: ANN001
    import openpyxl

    path = tmp_path / "trailing.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["date", "code"])
    ws.append([datetime(2025, 1, 2, 10, 30), "a"])
    ws.cell(row=6, column=2).number_format = "0.00"  # a styled, empty cell: openpyxl writes row 6
    wb.save(path)
    fast, slow = sheet_rows(path, None), _openpyxl_rows(path)
    assert len(fast) == len(slow) == 6
    assert _as_read(fast, None) == _as_read(slow, None)


@pytest.mark.parametrize("case", ["error", "iso_date", "big_number", "epoch_1904", "missing_sheet"])
def test_what_calamine_cannot_promise_goes_to_openpyxl(tmp_path, case):  # noqa: ANN001
    rows = [["date", "code"], [datetime(2025, 1, 2), "a"]]
    kwargs = {}
    if case == "error":
        rows.append([datetime(2025, 1, 3), "#N/A"])
    elif case == "big_number":
        rows.append([datetime(2025, 1, 3), 12345678901234567])  # an id openpyxl keeps exact, a float would not
    elif case == "iso_date":
        kwargs["iso_dates"] = True
    elif case == "epoch_1904":
        kwargs["epoch_1904"] = True
    path = _workbook(tmp_path / f"{case}.xlsx", rows, **kwargs)
    assert sheet_rows(path, "Absente" if case == "missing_sheet" else None) is None


def test_a_malformed_row_is_quoted_from_openpyxl_rows(tmp_path, demo_files):  # noqa: ANN001
    settings, result = demo_files
    import openpyxl

    profile = load_profile(settings, "piscines")
    source = sorted(result.files_of("piscines"))[0]
    wb = openpyxl.load_workbook(source)
    ws = wb[profile.sheet] if profile.sheet else wb.worksheets[0]
    last = ws.max_row
    ws.cell(row=last, column=ws.max_column + 2, value="en trop")
    ws.cell(row=last, column=ws.max_column + 3).number_format = "0.00"  # styled and empty, after the extra value
    path = tmp_path / source.name
    wb.save(path)
    assert sheet_rows(path, profile.sheet or None) is not None  # calamine reads it...
    raw = read_mod.read_xlsx(path, profile, read_mod.scan_file(path, None))
    # ...but the quarantined row is quoted as openpyxl reads it (trailing styled cell included).
    slow = read_mod._raw_from_rows(read_mod._openpyxl_rows(path, profile, openpyxl, Exception), profile, exact=True)
    assert raw.malformed == slow.malformed and len(raw.malformed) == 1
    assert raw.table.equals(slow.table)
