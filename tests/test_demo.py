"""The demo generator: formats as the profiles say, determinism, defects, register, CLI, prepare_default.

Realism (volumes, seasons, hot spots, action effects) is in ``test_demo_realism.py``.
"""

from __future__ import annotations

import csv
import io
import json
import re
import tomllib
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pytest

from observatory import demo
from observatory.config import get_settings
from observatory.demo import actions as act
from observatory.demo.partners import PARTNERS, QUARANTINE_DEFECTS, inject_defects, read_labels
from observatory.territory import load_territory

REPO = Path(__file__).resolve().parents[1]
SMALL = dict(years=(2023, 2023), scale=0.05, seed=42)


@pytest.fixture(scope="module")
def small_settings(tmp_path_factory):
    return get_settings(root=REPO, env={}, data_dir=tmp_path_factory.mktemp("demo_small") / "data")


@pytest.fixture(scope="module")
def small(small_settings):
    """One year of all six partners at 5 % volume (a few seconds)."""
    return demo.generate(small_settings, **SMALL)


def _profile(name: str) -> dict:
    return tomllib.loads((REPO / "data" / "raw" / "sources" / f"{name}.toml").read_text(encoding="utf-8"))


def _profile_columns(p: dict) -> set[str]:
    cols = set()
    for section in ("id", "time", "location", "columns"):
        for key, value in p.get(section, {}).items():
            if key in ("column", "time_column", "x", "y", "arrondissement", "address", "place_name", "site", "quarter", "label", "place_type", "n_facts"):
                cols.add(value)
            if key == "build_from":
                cols.update(value)
    return cols


# Labels ------------------------------------------------------------------------------------------------------------
def test_generated_labels_are_the_profiles_and_unknown_ones_are_not(settings):
    for cls in PARTNERS:
        known = read_labels(settings, cls.name)
        volumes = getattr(cls, "ANNUAL", None) or getattr(cls, "LABEL_SHARE", {})
        assert volumes and set(volumes) <= set(known), cls.name
        assert cls.unknown_labels and not set(cls.unknown_labels) & set(known), cls.name
        for old, new in cls.requalify.items():
            assert old in known and new in known and known[old] != known[new], (cls.name, old)


# Formats -----------------------------------------------------------------------------------------------------------
def test_every_partner_writes_files_its_profile_describes(small):
    by_source: dict[str, list] = {}
    for rec in small.files:
        by_source.setdefault(rec.source, []).append(rec)
    assert set(by_source) == {c.name for c in PARTNERS}
    for source, recs in by_source.items():
        p = _profile(source)
        pattern = p.get("extraction", {}).get("filename_pattern")
        for rec in recs:
            path = small.out_dir / rec.path
            assert path.exists() and rec.rows > 0, rec.path
            if pattern:  # the extraction date is known from the name: the 3rd of the following month
                m = re.search(pattern, path.name)
                assert m and m.groups()[2] == "03", path.name
            if p["file"]["format"] == "csv":
                raw = path.read_bytes()
                enc = p["file"]["encoding"]
                if enc == "utf-8-sig":
                    assert raw.startswith(b"\xef\xbb\xbf")
                else:
                    assert not raw.startswith(b"\xef\xbb\xbf")
                text = raw.decode(enc)  # strict
                header = next(csv.reader(io.StringIO(text), delimiter=p["file"]["delimiter"]))
                assert _profile_columns(p) <= set(header), (source, header)
            else:
                wb = openpyxl.load_workbook(path, read_only=True)
                ws = wb[p["file"]["sheet"]] if p["file"].get("sheet") else wb.worksheets[0]
                rows = list(ws.iter_rows(values_only=True))
                wb.close()
                header_idx = next(i for i, r in enumerate(rows) if r and _profile_columns(p) <= {c for c in r if c})
                if p["file"]["header_row"] == "auto":
                    assert 3 <= header_idx <= 19  # a title block above the header, found by the ETL's scan
                else:
                    assert header_idx + 1 == int(p["file"]["header_row"])
                assert len(rows) - header_idx - 1 == rec.rows


def test_police_nationale_dialect(small):
    path = small.files_of("police_nationale")[0]
    raw = path.read_bytes()
    assert b"\r\n" in raw and "é".encode("cp1252") in raw
    rows = list(csv.DictReader(io.StringIO(raw.decode("cp1252")), delimiter=";"))
    good = [r for r in rows if re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d", r["DATE_HEURE_FAITS"])]
    assert len(good) >= 0.97 * len(rows)
    located = [r for r in rows if r["X_L93"]]
    # Lambert-93 with a decimal comma, in Lyon's range.
    assert all(re.fullmatch(r"8\d{5},\d\d", r["X_L93"]) for r in located)
    assert all(re.fullmatch(r"65\d{5},\d\d", r["Y_L93"]) for r in located)


def test_police_municipale_dates_are_excel_datetimes_and_pools_have_one_log_per_season(small):
    path = small.files_of("police_municipale")[0]
    wb = openpyxl.load_workbook(path, read_only=True)
    ws = wb["Interventions"]
    rows = list(ws.iter_rows(values_only=True))
    wb.close()
    h = next(i for i, r in enumerate(rows) if r and r[0] == "N° intervention")
    from datetime import datetime

    dates = [r[1] for r in rows[h + 1 :]]
    assert sum(isinstance(d, datetime) for d in dates) >= 0.97 * len(dates)
    assert [p.name for p in small.files_of("piscines")] == ["piscines_journal_saison_2023.xlsx"]


# Determinism ---------------------------------------------------------------------------------------------------------
def test_same_seed_same_bytes_and_other_seed_differs(small, tmp_path):
    again = demo.generate(get_settings(root=REPO, env={}, data_dir=tmp_path / "a"), **SMALL)
    assert [f.path for f in again.files] == [f.path for f in small.files]
    for a, b in zip(small.files, again.files):
        assert (small.out_dir / a.path).read_bytes() == (again.out_dir / b.path).read_bytes(), a.path
    assert (small.out_dir / "DEMO.json").read_bytes() == (again.out_dir / "DEMO.json").read_bytes()
    other = demo.generate(get_settings(root=REPO, env={}, data_dir=tmp_path / "b"), **{**SMALL, "seed": 7}, sources=["police_nationale"])
    assert other.files[0].sha256 != small.files[0].sha256


def test_xlsx_timestamps_are_pinned(small):
    with zipfile.ZipFile(small.files_of("police_municipale")[0]) as z:
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        core = z.read("docProps/core.xml").decode()
    assert "2000-01-01T00:00:00Z" in core


# Defects -------------------------------------------------------------------------------------------------------------
def test_defects_are_rare_and_stay_under_the_refusal_threshold(small):
    total = sum(f.rows for f in small.files)
    defects = sum(sum(f.defects.values()) for f in small.files)
    assert 0.005 <= defects / total <= 0.03
    for f in small.files:
        quarantine = sum(f.defects.get(k, 0) for k in QUARANTINE_DEFECTS) + f.defects.get("swapped_coords", 0)
        assert quarantine <= 0.03 * f.rows + 1e-9, f.path
    kinds = {k for f in small.files for k in f.defects}
    assert {"bad_date", "outside_city", "missing_coords", "unknown_label", "swapped_coords"} <= kinds
    assert sum(f.repeated for f in small.files) > 0 and sum(f.requalified for f in small.files) > 0


def test_inject_defects_counts_and_cap():
    rng = np.random.default_rng(0)
    codes = inject_defects(rng, 1000, {"bad_date": 0.01, "missing_coords": 0.02, "outside_city": 0.1})
    assert (codes == "bad_date").sum() == 10 and (codes == "missing_coords").sum() == 20
    # 10 % of points outside would get the file refused: capped to what is left of the 3 % budget.
    assert (codes == "outside_city").sum() == 20
    assert len(inject_defects(rng, 0, {"bad_date": 0.5})) == 0


def test_repeated_rows_are_identical_to_the_previous_extract(small):
    files = small.files_of("police_nationale")
    first = {r["NUM_FAIT"]: r for r in csv.DictReader(io.StringIO(files[0].read_text(encoding="cp1252")), delimiter=";")}
    second = list(csv.DictReader(io.StringIO(files[1].read_text(encoding="cp1252")), delimiter=";"))
    shared = [r for r in second if r["NUM_FAIT"] in first]
    rec = small.files[1]
    assert len(shared) == rec.repeated + rec.requalified
    changed = [r for r in shared if r != first[r["NUM_FAIT"]]]
    assert len(changed) == rec.requalified
    assert all(set(k for k in r if r[k] != first[r["NUM_FAIT"]][k]) == {"LIBELLE_INFRACTION"} for r in changed)


# Marker, register ------------------------------------------------------------------------------------------------------
def test_marker_lists_what_was_generated(small):
    marker = json.loads((small.out_dir / "DEMO.json").read_text(encoding="utf-8"))
    assert marker["seed"] == 42 and marker["years"] == [2023, 2023] and marker["scale"] == 0.05
    assert len(marker["files"]) == len(small.files) and marker["rows"] == small.rows
    assert marker["notice"] == "Données de démonstration — fictives"


def test_action_register_format_and_zones(small, small_settings):
    text = (small.out_dir / "actions.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == act.ACTION_COLUMNS
    zones = set(load_territory(small_settings).zones["zone_id"])
    for r in rows:
        assert r["type"] in ("patrouilles", "videoprotection", "mediation", "amenagement", "gltd", "prevention")
        assert r["status"] in ("prevue", "en_cours", "terminee")
        assert bool(r["zone_id"]) != bool(r["lon"] and r["lat"] and r["radius_m"])
        assert not r["zone_id"] or r["zone_id"] in zones
        assert re.fullmatch(r"\d{4}-\d\d-\d\d", r["start"]) and (not r["end"] or r["end"] >= r["start"])
    register = pytest.importorskip("observatory.actions.register")
    loaded = register.load_register(small_settings, small.out_dir / "actions.csv")
    assert len(loaded) == len(rows)


def test_install_register_never_overwrites(settings):
    result = demo.DemoResult(out_dir=settings.raw_dir / "demo", seed=1, years=(2023, 2023), scale=1)
    target = demo.install_register(settings, result)
    assert target.read_text(encoding="utf-8") == act.actions_csv()
    target.write_text("mine\n", encoding="utf-8")
    demo.install_register(settings, result)
    assert target.read_text(encoding="utf-8") == "mine\n"


def test_parse_years():
    assert demo.parse_years("2019-2025") == (2019, 2025)
    assert demo.parse_years("2024") == (2024, 2024)
    for bad in ("abc", "2025-2019", "19-25", ""):
        with pytest.raises(ValueError, match="années invalides"):
            demo.parse_years(bad)


# CLI -------------------------------------------------------------------------------------------------------------------
def test_cli_generates_without_ingest_and_fails_cleanly(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from observatory.cli import app

    monkeypatch.setenv("OBSERVATORY_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    out = tmp_path / "gen"
    res = runner.invoke(app, ["demo", "--years", "2024", "--scale", "0.02", "--out", str(out), "--no-ingest", "--source", "tcl"])
    assert res.exit_code == 0, res.output
    assert (out / "DEMO.json").exists() and len(list((out / "tcl").glob("*.csv"))) == 12
    assert not (tmp_path / "data" / "raw" / "actions").exists()  # --out elsewhere: the register is not installed
    for args, message in ((["--years", "soon"], "années invalides"), (["--scale", "-1"], "positif"), (["--source", "police"], "inconnu")):
        res = runner.invoke(app, ["demo", *args, "--out", str(out), "--no-ingest"])
        assert res.exit_code == 1 and message in res.output and "Traceback" not in res.output


# prepare_default and is_demo ------------------------------------------------------------------------------------------
def test_prepare_default_generates_ingests_and_marks_demo(settings, monkeypatch):
    pytest.importorskip("observatory.etl")
    monkeypatch.setattr(demo, "DEFAULT_SCALE", 0.02)
    monkeypatch.setattr(demo, "DEFAULT_YEARS", (2024, 2024))
    assert not demo.is_demo(settings)
    result = demo.prepare_default(settings)
    assert result.out_dir == settings.raw_dir / "demo"
    assert (settings.raw_dir / "demo" / "DEMO.json").exists()
    assert (settings.raw_dir / "actions" / "actions.csv").read_text(encoding="utf-8") == act.actions_csv()
    assert set(result.ingest_results) == {c.name for c in PARTNERS}
    from observatory.store import current_snapshot

    assert current_snapshot(settings) is not None
    assert demo.is_demo(settings)


def test_outside_points_are_beyond_the_tolerance_of_every_outline(settings):
    import shapely

    from observatory.demo.model import to_l93
    from observatory.demo.places import OUTSIDE_POINTS

    outlines = [load_territory(settings).city_l93()]
    official = REPO.parent / "shared" / "reference" / "lyon" / "arrondissements_grandlyon_wfs_2024-12-23.geojson"
    if official.exists():  # the real boundaries too, when ../shared is there
        import geopandas as gpd

        outlines.append(gpd.read_file(official).to_crs(2154).union_all())
    x, y = to_l93([p[0] for p in OUTSIDE_POINTS], [p[1] for p in OUTSIDE_POINTS])
    for outline in outlines:
        # 500 m tolerance + the generator's 100 m jitter (3 sigma) + margin
        assert (shapely.distance(outline, shapely.points(x, y)) > settings.territory_tolerance_m + 300).all()
