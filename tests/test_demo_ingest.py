"""Every generated file ingests with its profile, and what the generator put in comes out in the ledger.

One year of all six partners at 5 % volume, generated and ingested into a tmp data folder through the ordinary
``observatory.etl.ingest`` path (one call per partner).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from observatory import demo
from observatory.config import get_settings

REPO = Path(__file__).resolve().parents[1]

etl = pytest.importorskip("observatory.etl")


@pytest.fixture(scope="module")
def ingested(tmp_path_factory):
    settings = get_settings(root=REPO, env={}, data_dir=tmp_path_factory.mktemp("demo_ingest") / "data")
    result = demo.generate(settings, demo.demo_dir(settings), (2023, 2023), 0.05, 42)
    demo.ingest_demo(settings, result)
    reports = {}
    for source, res in result.ingest_results.items():
        for f in res.files:
            reports[f.path.name] = f
    return settings, result, reports


def test_no_file_is_refused_and_every_row_is_accounted_for(ingested):
    _, result, reports = ingested
    assert len(reports) == len(result.files)
    for rec in result.files:
        rep = reports[Path(rec.path).name]
        assert not rep.refused, (rec.path, rep.message)
        assert rep.rows_read == rec.rows, rec.path
        assert rep.rows_read == rep.accepted + rep.quarantined + rep.duplicates, rec.path


# Well-formed but impossible calendar dates the generator writes among its bad dates (a partner's typo).
IMPOSSIBLE_DATES = ("31/02/2021", "31/06/2022", "31/09/2022", "2021-02-30")


def _impossible_dates(path: Path) -> int:
    if path.suffix == ".xlsx":
        import openpyxl

        wb = openpyxl.load_workbook(path, read_only=True)
        text = " ".join(str(v) for row in wb.worksheets[0].iter_rows(values_only=True) for v in row if isinstance(v, str))
        wb.close()
    else:
        text = path.read_bytes().decode("latin-1")
    return sum(text.count(d) for d in IMPOSSIBLE_DATES)


def test_malformed_dates_and_outside_points_come_out_in_quarantine(ingested):
    _, result, reports = ingested
    for rec in result.files:
        rep = reports[Path(rec.path).name]
        expected = rec.defects.get("bad_date", 0) + rec.defects.get("outside_city", 0)
        lenient = _impossible_dates(result.out_dir / rec.path)
        assert expected - lenient <= rep.quarantined <= expected, (rec.path, rep.quarantine_reasons, rec.defects)


def test_impossible_calendar_dates_are_quarantined_too(ingested):
    _, result, reports = ingested
    for rec in result.files:
        rep = reports[Path(rec.path).name]
        assert rep.quarantined == rec.defects.get("bad_date", 0) + rec.defects.get("outside_city", 0), rec.path


def test_overlaps_are_duplicates_and_requalifications_are_revisions(ingested):
    _, result, reports = ingested
    for rec in result.files:
        rep = reports[Path(rec.path).name]
        assert rep.duplicates == rec.repeated, rec.path
        assert rep.revisions == rec.requalified, rec.path
    assert sum(r.requalified for r in result.files) > 0


def test_unknown_labels_are_reported_not_dropped(ingested):
    _, result, reports = ingested
    for rec in result.files:
        rep = reports[Path(rec.path).name]
        assert sum(rep.unmapped_labels.values()) == rec.defects.get("unknown_label", 0), rec.path


def test_quarantine_keeps_the_original_rows(ingested):
    settings, result, _ = ingested
    from observatory.store import read_quarantine

    q = read_quarantine(settings)
    expected = sum(r.defects.get("bad_date", 0) + r.defects.get("outside_city", 0) for r in result.files)
    lenient = sum(_impossible_dates(result.out_dir / r.path) for r in result.files)
    assert expected - lenient <= len(q) <= expected
    assert set(q["source"]) <= {"police_nationale", "police_municipale", "tcl", "bailleurs", "piscines", "mediateurs"}
    assert q["original"].str.len().gt(10).all()
