"""The guards run on every path (here the command line's ``ingest``): zip bombs, DTDs, truncated workbooks,
oversized CSV fields, a full disk — each a French message naming the file, never a traceback."""

from __future__ import annotations

import errno
import io
import zipfile

from observatory import store
from observatory.etl import ingest
from tests.etl_helpers import PN_HEADER, pn_row, settings_for, write_pm_xlsx, write_pn

MB = 1024 * 1024


def _members(extra: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="x"/>')
        zf.writestr("xl/workbook.xml", '<?xml version="1.0"?><workbook xmlns="x"/>')
        for name, content in extra.items():
            zf.writestr(name, content)
    return buf.getvalue()


def _one_refusal(result) -> str:
    (f,) = result.files
    assert f.refused and "\n" not in f.message and len(f.message) < 700
    return f.message


def test_zip_bomb_on_the_command_line(tmp_path):
    s = settings_for(tmp_path)
    f = tmp_path / "pm_2024-03-01.xlsx"
    f.write_bytes(_members({"xl/worksheets/sheet1.xml": b"<" + b"0" * (40 * MB)}))
    msg = _one_refusal(ingest(s, [f], "police_municipale"))
    assert msg.startswith("pm_2024-03-01.xlsx : ") and "bombe de décompression" in msg


def test_dtd_is_said_as_such(tmp_path):
    s = settings_for(tmp_path)
    f = tmp_path / "pm_2024-03-01.xlsx"
    laughs = '<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><worksheet xmlns="x">&b;</worksheet>'
    f.write_bytes(_members({"xl/worksheets/sheet1.xml": laughs.encode()}))
    msg = _one_refusal(ingest(s, [f], "police_municipale"))
    assert "xl/worksheets/sheet1.xml déclare une DTD" in msg and "ValueError" not in msg


def test_truncated_workbook_is_said_truncated(tmp_path):
    s = settings_for(tmp_path)
    full = write_pm_xlsx(tmp_path / "full.xlsx", [[f"I{i}", 45000.5, 4.83, 45.75, "69382", "rue", "Tapage", "Rue"] for i in range(30)])
    f = tmp_path / "pm_2024-03-01.xlsx"
    f.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    msg = _one_refusal(ingest(s, [f], "police_municipale"))
    assert "tronquée" in msg and "archive ZIP" not in msg


def test_csv_field_over_the_csv_module_limit_in_the_first_lines(tmp_path):
    s = settings_for(tmp_path)
    rows = [pn_row(f"C{i}") for i in range(30)]
    rows[0][-1] = "x" * (200 * 1024)  # LIEU: 200 KiB of free text (the csv module stops at 128 KiB)
    f = write_pn(tmp_path / "pn_20240301.csv", rows)
    r = ingest(s, [f], "police_nationale")
    assert r.exit_code == 0 and r.files[0].accepted == 30


def test_disk_full_while_publishing_is_said_and_cleaned(tmp_path, monkeypatch):
    s = settings_for(tmp_path)
    first = ingest(s, [write_pn(tmp_path / "pn_20240201.csv", [pn_row("A1")])], "police_nationale")
    assert first.snapshot_id

    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store.SnapshotWriter, "write_years", full)
    r = ingest(s, [write_pn(tmp_path / "pn_20240301.csv", [pn_row("B1")])], "police_nationale")
    assert r.failed and r.exit_code == 1 and "disque plein" in r.message and "rien n'a été publié" in r.message
    assert store.current_snapshot(s).id == first.snapshot_id
    leftovers = [p.name for p in store.snapshots_dir(s).iterdir() if p.name.startswith(".tmp")]
    assert leftovers == []


def test_disk_full_on_the_command_line_is_one_french_line(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from observatory.cli import app

    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store.SnapshotWriter, "write_years", full)
    f = write_pn(tmp_path / "pn_20240301.csv", [pn_row("B1")], header=PN_HEADER)
    out = CliRunner().invoke(app, ["ingest", str(f), "--source", "police_nationale"], env={"OBSERVATORY_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"})
    assert out.exit_code == 1 and "disque plein" in out.output and "Traceback" not in out.output
