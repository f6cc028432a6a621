"""Tiny partner files built in code, with hand-checkable answers, for the ETL and store tests."""

from __future__ import annotations

from pathlib import Path

from pyproj import Transformer

from observatory.config import get_settings

REPO = Path(__file__).resolve().parents[1]

PN_HEADER = ["NUM_FAIT", "DATE_HEURE_FAITS", "LIBELLE_INFRACTION", "TYPE_LIEU", "NB_FAITS", "X_L93", "Y_L93", "CODE_INSEE", "LIEU"]

# Lambert-93 points inside each arrondissement of the shipped (approximate) outlines.
L93_POINTS = {
    "69381": (842545, 6520368), "69382": (842048, 6517994), "69383": (845611, 6518866), "69384": (842352, 6522055),
    "69385": (840427, 6519021), "69386": (844196, 6521329), "69387": (842676, 6515869), "69388": (845714, 6516775),
    "69389": (840071, 6522586),
}
RHONE_WGS84 = (4.8425, 45.7565)  # in the river near the Guillotière bridge
VILLEURBANNE_WGS84 = (4.8950, 45.7700)  # Gratte-Ciel side, well beyond 500 m from Lyon
_TO_L93 = Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True)


def to_l93(lon: float, lat: float) -> tuple[float, float]:
    return _TO_L93.transform(lon, lat)


def settings_for(tmp_path: Path, **overrides):
    """Settings writing into tmp_path, reading the repository's profiles unless profiles_dir is given."""
    overrides.setdefault("profiles_dir", REPO / "data" / "raw" / "sources")
    return get_settings(root=REPO, env={}, data_dir=tmp_path / "data", **overrides)


def fr_num(v: float) -> str:
    return f"{v:.1f}".replace(".", ",")


def pn_row(num: str, when: str = "03/01/2024 10:15", label: str = "Coups et blessures volontaires", arr: str = "69382",
           xy: tuple[float, float] | None = None, place: str = "Voie publique", n: str = "1", declared: str | None = None) -> list[str]:
    x, y = xy if xy is not None else L93_POINTS[arr]
    return [num, when, label, place, n, fr_num(x) if x != "" else "", fr_num(y) if y != "" else "", declared if declared is not None else arr, "Rue de la République"]


def write_pn(path: Path, rows: list[list[str]], header: list[str] = PN_HEADER, encoding: str = "cp1252", delimiter: str = ";", newline: str = "\r\n") -> Path:
    lines = [delimiter.join(header)] + [delimiter.join(r) for r in rows]
    path.write_bytes((newline.join(lines) + newline).encode(encoding))
    return path


def conservation_holds(result) -> bool:
    """read = accepted + quarantined + duplicates + unpublished (valid rows of a refused file), for every file read."""
    return all(f.skipped or f.rows_read == f.accepted + f.quarantined + f.duplicates + f.unpublished for f in result.files)


PM_HEADER = ["N° intervention", "Date", "Longitude", "Latitude", "Arrondissement", "Adresse", "Motif", "Type de lieu"]


def write_pm_xlsx(path: Path, rows: list[list], title_rows: int = 3, sheet: str = "Interventions", merged: bool = True) -> Path:
    """A police-municipale-style workbook: a merged title block above the header, Excel serial dates."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    if title_rows:
        ws.cell(row=1, column=1, value="Police municipale de Lyon — interventions")
        if title_rows > 1:
            ws.cell(row=2, column=1, value="Extraction mensuelle")
        if merged:
            ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(PM_HEADER))
            if title_rows > 1:
                ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=len(PM_HEADER))
    start = title_rows + 1
    for j, name in enumerate(PM_HEADER, start=1):
        ws.cell(row=start, column=j, value=name)
    for i, r in enumerate(rows, start=start + 1):
        for j, v in enumerate(r, start=1):
            ws.cell(row=i, column=j, value=v)
    wb.save(path)
    return path


def excel_serial(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> float:
    from datetime import datetime

    delta = datetime(y, m, d, hh, mm) - datetime(1899, 12, 30)
    return delta.days + delta.seconds / 86400
