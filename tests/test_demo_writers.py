"""The demo's vectorised writers give what the per-row writers gave: CSV as ``DataFrame.to_csv``, XLSX sheets as
openpyxl's write-only worksheet serialises them — and both read back with the values put in."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime, time

import numpy as np
import openpyxl
import pandas as pd
import pytest
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils.datetime import to_excel

from observatory.demo import writers as w

TRICKY = ["plain", "a;b", 'dit "non"', "a,b", "été à l'Hôtel", "", None, "x\ny", "  padded  ", "<b>&amp;</b>", " ", "Rixe"]


# CSV ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("delimiter,terminator", [(";", "\r\n"), (",", "\n")])
def test_csv_text_is_what_to_csv_writes(delimiter, terminator):
    frame = pd.DataFrame({"libellé": TRICKY, "n": [str(i) for i in range(len(TRICKY))], "x;y": ["1,5"] * len(TRICKY)}, dtype=object)
    expected = frame.to_csv(sep=delimiter, index=False, lineterminator=terminator)
    assert w.csv_text(frame, delimiter=delimiter, lineterminator=terminator) == expected
    mapping = {c: frame[c].to_numpy() for c in frame.columns}
    assert w.csv_text(mapping, delimiter=delimiter, lineterminator=terminator) == expected


def test_write_csv_chunks_encodings_and_strictness(tmp_path, monkeypatch):
    monkeypatch.setattr(w, "CHUNK_ROWS", 4)  # 12 rows → 3 chunks, the header only once
    frame = pd.DataFrame({"a": TRICKY[:-1] + ["Vol à la tire"], "b": list("abcdefghijkl")}, dtype=object)
    text = frame.to_csv(sep=";", index=False, lineterminator="\r\n")
    w.write_csv(frame, tmp_path / "pn.csv", encoding="cp1252", delimiter=";", lineterminator="\r\n")
    assert (tmp_path / "pn.csv").read_bytes() == text.encode("cp1252")
    w.write_csv({"a": np.array(["é"], dtype=object)}, tmp_path / "bom.csv", encoding="utf-8-sig", delimiter=",")
    assert (tmp_path / "bom.csv").read_bytes() == b"\xef\xbb\xbfa\n\xc3\xa9\n"
    w.write_csv({"a": np.array([], dtype=object)}, tmp_path / "empty.csv", encoding="utf-8", delimiter=",")
    assert (tmp_path / "empty.csv").read_bytes() == b"a\n"
    with pytest.raises(UnicodeEncodeError):  # a character cp1252 cannot hold is an error, not a '?'
        w.write_csv({"a": np.array(["ő"], dtype=object)}, tmp_path / "bad.csv", encoding="cp1252", delimiter=";")
    with pytest.raises(ValueError, match="different lengths"):
        w.write_csv({"a": np.array(["x"]), "b": np.array(["y", "z"])}, tmp_path / "ragged.csv", encoding="utf-8", delimiter=",")


# XLSX ----------------------------------------------------------------------------------------------------------------
def test_excel_serials_are_openpyxls_for_every_minute():
    day = pd.Timestamp("2023-05-17")
    stamps = pd.Series(pd.date_range(day, periods=1440, freq="min"))
    got = w.excel_serial_text(stamps).tolist()
    assert got == ["%.16g" % to_excel(t.to_pydatetime()) for t in stamps]
    assert got[0] == "45063" and got[9 * 60 + 26] == "%.16g" % (45063 + (9 * 3600 + 26 * 60) / 86400)
    # Outside the 1989–2079 table the plain formula is used; NaT gives no value.
    old = pd.Series(pd.to_datetime(["1950-03-01 12:30", None]))
    assert w.excel_serial_text(old).tolist() == ["%.16g" % to_excel(datetime(1950, 3, 1, 12, 30)), ""]
    assert w.excel_serial_text(pd.Series(pd.to_datetime(["2023-05-17 09:26"])), with_time=False).tolist() == ["45063"]
    with pytest.raises(ValueError, match="minute"):
        w.excel_serial_text(pd.Series(pd.to_datetime(["2023-05-17 09:26:30"])))


def _reference_workbook(title, header, rows, formats) -> bytes:
    """The per-row writer the demo used before: openpyxl's write-only workbook, cell by cell."""
    wb = Workbook(write_only=True)
    wb.properties.creator = "observatory demo"
    wb.properties.created = w.FIXED_TIMESTAMP
    wb.properties.modified = w.FIXED_TIMESTAMP
    ws = wb.create_sheet("Interventions")
    for row in title:
        ws.append(row)
    ws.append(header)
    for row in rows:
        row = list(row)
        for col, fmt in formats.items():
            if isinstance(row[col], datetime):
                cell = WriteOnlyCell(ws, value=row[col])
                cell.number_format = fmt
                row[col] = cell
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _parts(data) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data) if isinstance(data, bytes) else data) as z:
        return {i.filename: z.read(i.filename) for i in z.infolist()}


@pytest.mark.parametrize("chunk", [50_000, 5])
def test_xlsx_sheet_is_openpyxls_and_reads_back(tmp_path, monkeypatch, chunk):
    monkeypatch.setattr(w, "CHUNK_ROWS", chunk)
    n = len(TRICKY)
    stamps = pd.Series(pd.date_range("2023-01-31 22:58", periods=n, freq="37min"))
    bad = np.zeros(n, dtype=bool)
    bad[[2, 7]] = True
    lat = np.round(45.75 + np.arange(n) / 997, 6)
    lat[[3, 9]] = np.nan
    columns = [
        w.xlsx_text(np.asarray(TRICKY, dtype=object)),
        w.xlsx_datetime(stamps, "dd/mm/yyyy hh:mm").where(bad, ["00/00/0000", "à préciser"]),
        w.xlsx_number(lat),
        w.xlsx_number(np.arange(1, n + 1)),
        w.xlsx_time(stamps),
    ]
    title = [["Ville de Lyon — Police municipale"], ["Éditée le 03/02/2023"], []]
    header = ["Texte", "Date", "Latitude", "N°", "Heure"]
    path = tmp_path / "pm.xlsx"
    w.write_xlsx(path, sheet="Interventions", header=header, columns=columns, title_rows=title)

    bad_iter = iter(["00/00/0000", "à préciser"])
    rows = []
    for i in range(n):
        ts = stamps[i].to_pydatetime()
        rows.append([TRICKY[i], next(bad_iter) if bad[i] else ts, None if np.isnan(lat[i]) else float(lat[i]), i + 1, time(ts.hour, ts.minute)])
    reference = _parts(_reference_workbook(title, header, rows, {1: "dd/mm/yyyy hh:mm"}))
    ours = _parts(path)
    assert list(ours) == list(reference)
    for part in ("xl/worksheets/sheet1.xml", "xl/styles.xml", "xl/workbook.xml", "[Content_Types].xml"):
        assert ours[part] == reference[part], part
    assert b"2000-01-01T00:00:00Z" in ours["docProps/core.xml"]
    with zipfile.ZipFile(path) as z:
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    got = list(wb["Interventions"].iter_rows(values_only=True))
    wb.close()
    assert got[0][0] == "Ville de Lyon — Police municipale" and got[3][:5] == tuple(header)
    data = got[4:]
    assert len(data) == n
    assert data[0][1] == datetime(2023, 1, 31, 22, 58) and data[2][1] == "00/00/0000"
    assert data[4][0] == "été à l'Hôtel" and data[9][0] == "<b>&amp;</b>" and data[8][0] == "  padded  "
    assert data[6][0] is None and data[3][2] is None and data[0][2] == 45.75
    assert data[1][4] == time(23, 35) and data[11][3] == 12


def test_xlsx_text_refuses_characters_xml_cannot_hold():
    with pytest.raises(ValueError, match="interdit"):
        w.xlsx_text(np.array(["ok", "bell\x07"], dtype=object))


def test_same_columns_same_bytes(tmp_path):
    cols = lambda: [w.xlsx_text(np.array(["a", "b"], dtype=object)), w.xlsx_datetime(pd.Series(pd.to_datetime(["2024-07-14 23:59", "2024-07-15 00:00"])), "dd/mm/yyyy")]  # noqa: E731
    w.write_xlsx(tmp_path / "a.xlsx", sheet="S", header=["t", "d"], columns=cols())
    w.write_xlsx(tmp_path / "b.xlsx", sheet="S", header=["t", "d"], columns=cols())
    assert (tmp_path / "a.xlsx").read_bytes() == (tmp_path / "b.xlsx").read_bytes()
