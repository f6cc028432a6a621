"""Random malformed CSV and XLSX fed to the ETL: no traceback escapes and conservation always holds."""

from __future__ import annotations

import io
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from observatory import store
from observatory.etl import ingest
from tests.etl_helpers import PN_HEADER, PM_HEADER, pn_row, settings_for

CELL = st.one_of(
    st.sampled_from(["", " ", "A1", "03/01/2024 10:15", "2024-01-03", "13/25/2024 99:99", "842500,5", "6519500,2", "69382", "abc",
                     "Coups et blessures volontaires", "1", "-3", "1e9", '"', '";"', "\r", "\n", "é", "\x00", "NaN", "4.83", "45.75"]),
    st.text(max_size=12),
)
ROW = st.lists(CELL, min_size=0, max_size=11)


def _csv_bytes(header: list[str], rows: list[list[str]], delimiter: str, good: int) -> bytes:
    lines = [delimiter.join(header)]
    lines += [";".join(pn_row(f"OK{i}")) for i in range(good)]
    lines += [delimiter.join(r) for r in rows]
    return ("\r\n".join(lines) + "\r\n").encode("cp1252", errors="replace")


def _check(result) -> None:
    for f in result.files:
        assert f.message == "" or "\n" not in f.message
        assert len(f.message) <= 700, f.message  # one readable line per file, however long the bad values
        if not f.skipped:
            assert f.rows_read == f.accepted + f.quarantined + f.duplicates + f.unpublished, f.as_dict()
        if f.refused:
            assert f.accepted == 0 and f.unpublished == f.rows_read - f.quarantined


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    header_drop=st.sets(st.integers(0, len(PN_HEADER) - 1), max_size=2),
    rows=st.lists(ROW, max_size=8),
    delimiter=st.sampled_from([";", ";", ",", "\t"]),
    good=st.integers(0, 40),
    garbage=st.binary(max_size=64),
    garbage_at=st.sampled_from(["none", "start", "end"]),
)
def test_random_malformed_csv(header_drop, rows, delimiter, good, garbage, garbage_at):
    header = [h for i, h in enumerate(PN_HEADER) if i not in header_drop]
    data = _csv_bytes(header, rows, delimiter, good)
    if garbage_at == "start":
        data = garbage + data
    elif garbage_at == "end":
        data = data + garbage
    tmp = Path(tempfile.mkdtemp(prefix="hyp_csv_"))
    try:
        f = tmp / "pn_20240201.csv"
        f.write_bytes(data)
        s = settings_for(tmp)
        result = ingest(s, [f], "police_nationale")
        _check(result)
        snap = store.current_snapshot(s)
        if result.snapshot_id:
            accepted = result.files[0].accepted
            assert snap.read_incidents().num_rows == accepted
            assert len(store.read_quarantine(s)) == result.files[0].quarantined
        else:
            assert snap is None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


XCELL = st.one_of(
    st.none(), st.integers(-5, 10**6), st.floats(allow_nan=True, allow_infinity=False, width=32),
    st.sampled_from(["", "PM1", "Rixe", "69382", "4.83", "45.75", "=1+1", "Lyon 2e"]), st.text(max_size=8),
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    title_rows=st.integers(0, 4),
    header_drop=st.sets(st.integers(0, len(PM_HEADER) - 1), max_size=1),
    rows=st.lists(st.lists(XCELL, max_size=10), max_size=8),
    good=st.integers(0, 30),
    corrupt=st.booleans(),
)
def test_random_malformed_xlsx(title_rows, header_drop, rows, good, corrupt):
    import openpyxl
    from openpyxl.utils.exceptions import IllegalCharacterError

    from tests.etl_helpers import excel_serial

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Interventions"
    for i in range(title_rows):
        ws.append([f"Titre {i}"])
    ws.append([h for i, h in enumerate(PM_HEADER) if i not in header_drop])
    for i in range(good):
        ws.append([f"G{i}", excel_serial(2024, 3, 1 + i % 28, 10), 4.82717, 45.74675, "69382", "Place", "Rixe", "Voie publique"])
    for r in rows:
        try:
            ws.append(r)
        except IllegalCharacterError:
            ws.append(["illegal"])
    buf = io.BytesIO()
    wb.save(buf)
    data = buf.getvalue()
    if corrupt:
        data = data[: len(data) // 2]
    tmp = Path(tempfile.mkdtemp(prefix="hyp_xlsx_"))
    try:
        f = tmp / "pm_interventions_2024-04-03.xlsx"
        f.write_bytes(data)
        s = settings_for(tmp)
        result = ingest(s, [f], "police_municipale")
        _check(result)
        if corrupt:
            assert result.files[0].refused
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
