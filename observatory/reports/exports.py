"""Tables to files: CSV for French spreadsheets, XLSX with a metadata sheet, GeoJSON of aggregated layers.

Pure functions returning bytes; the dashboard's download callbacks and the CLI write them out.
Every cell that a spreadsheet would run as a formula is neutralised.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

from observatory import labels

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ExportMeta:
    """What travels with every export: where it comes from, how it was filtered, whether it is protected."""

    title: str
    source: str = ""
    filters: str = ""
    snapshot_id: str = ""
    privacy: str = ""  # the rule applied, or the warning that the table is not protected
    protected: bool = True
    # Paris wall time, like every time a user reads (the machine's clock may be UTC): naive, as the dashboard passes it.
    created_at: datetime = field(default_factory=lambda: datetime.now(labels.PARIS).replace(microsecond=0, tzinfo=None))

    def rows(self) -> list[tuple[str, str]]:
        return [
            ("Titre", self.title),
            ("Source", self.source),
            ("Filtres", self.filters),
            ("Instantané", self.snapshot_id),
            ("Protection", self.privacy or ("protégé" if self.protected else "NON PROTÉGÉ — usage interne analystes")),
            ("Date d'export", self.created_at.strftime("%d/%m/%Y %H:%M")),
        ]


def neutralise(value):  # noqa: ANN001, ANN201 - any cell value
    """Prefix text that a spreadsheet would run as a formula with an apostrophe; other values pass."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def neutralise_frame(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(neutralise)
    out.columns = [neutralise(str(c)) for c in out.columns]
    return out


def slug(text: str) -> str:
    """A file-name-safe version of a title or a filter description."""
    import unicodedata

    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9]+", "-", ascii_text).strip("-").lower()[:120] or "export"


def to_csv_bytes(df: pd.DataFrame, meta: ExportMeta) -> bytes:
    """UTF-8 with BOM, ';' delimiter, decimal comma; metadata as leading '# ' lines is avoided (Excel shows them
    as data), so the metadata goes in trailing rows after an empty line."""
    body = neutralise_frame(df)
    buf = io.StringIO()
    body.to_csv(buf, sep=";", decimal=",", index=False, lineterminator="\r\n")
    buf.write("\r\n")
    # Quoted like the body (a filter description may hold ';'), so the metadata reads back cell for cell.
    writer = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    for key, value in meta.rows():
        writer.writerow([key, neutralise(str(value))])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx_bytes(df: pd.DataFrame, meta: ExportMeta, sheet: str = "Données") -> bytes:
    """Typed columns, frozen header, and a second sheet 'Métadonnées' with source, filters, snapshot, privacy."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = sheet[:31]
    body = neutralise_frame(df)
    ws.append([str(c) for c in body.columns])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in body.itertuples(index=False):
        ws.append([_xlsx_value(v) for v in row])
    ws.freeze_panes = "A2"
    for i, col in enumerate(body.columns, start=1):
        width = max([len(str(col))] + [len(str(v)) for v in body[col].head(200)]) + 2
        ws.column_dimensions[ws.cell(1, i).column_letter].width = min(width, 60)
    info = wb.create_sheet("Métadonnées")
    for key, value in meta.rows():
        info.append([key, neutralise(str(value))])
    info.column_dimensions["A"].width = 18
    info.column_dimensions["B"].width = 100
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _xlsx_value(value):  # noqa: ANN001, ANN202
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.tz_localize(None).to_pydatetime() if value.tzinfo else value.to_pydatetime()
    if hasattr(value, "item") and not isinstance(value, str):
        return value.item()
    return value


def to_geojson_bytes(layer, meta: ExportMeta, values: pd.DataFrame | None = None, key: str = "code") -> bytes:  # noqa: ANN001
    """An aggregated map layer as GeoJSON (RFC 7946, WGS84), with the export's metadata in a top-level member.

    ``layer`` is a GeoDataFrame (any CRS; reprojected to EPSG:4326) or an already-built FeatureCollection dict.
    ``values`` (optional) is joined on ``key`` into each feature's properties: the protected counts, so the
    file carries only what the map shows. Text values are neutralised like the spreadsheet exports because
    GeoJSON properties often end up opened in a spreadsheet through a GIS tool's attribute export.
    """
    import json

    if isinstance(layer, dict):
        collection = {"type": "FeatureCollection", "features": [dict(f) for f in layer.get("features", [])]}
    else:
        gdf = layer.to_crs("EPSG:4326") if layer.crs is not None and layer.crs.to_epsg() != 4326 else layer
        collection = json.loads(gdf.to_json(drop_id=True))
        collection = {"type": "FeatureCollection", "features": collection["features"]}
    by_key: dict = {}
    if values is not None:
        clean = neutralise_frame(values)
        for record in clean.to_dict("records"):
            by_key[str(record.get(key))] = {k: _json_value(v) for k, v in record.items()}
    features = []
    for feature in collection["features"]:
        props = {k: _json_value(neutralise(v)) for k, v in (feature.get("properties") or {}).items()}
        props.update(by_key.get(str(props.get(key)), {}))
        features.append({"type": "Feature", "properties": props, "geometry": feature.get("geometry")})
    out = {
        "type": "FeatureCollection",
        "metadata": {k: str(v) for k, v in meta.rows()},
        "features": features,
    }
    return json.dumps(out, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _json_value(value):  # noqa: ANN001, ANN202
    value = _xlsx_value(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def describe_filters(filters) -> str:  # noqa: ANN001 - observatory.analytics.Filters
    """The filters in French, for the metadata sheet and the file name ("période 01/01/2025–31/12/2025 ; …")."""
    from observatory import labels

    parts = []
    if filters.start or filters.end:
        parts.append(f"période {labels.fmt_date(filters.start) if filters.start else '…'}–{labels.fmt_date(filters.end) if filters.end else '…'}")
    if filters.arrondissements:
        parts.append("arrondissements " + ", ".join(labels.arrondissement_label(a) for a in filters.arrondissements))
    if filters.families:
        parts.append("familles " + ", ".join(labels.family_label(f) for f in filters.families))
    if filters.categories:
        parts.append("catégories " + ", ".join(labels.category_label(c) for c in filters.categories))
    if filters.sources:
        parts.append("sources " + ", ".join(labels.source_label(s) for s in filters.sources))
    if filters.zones:
        parts.append("zones " + ", ".join(filters.zones))
    if filters.hours:
        parts.append("heures " + ", ".join(str(h) for h in filters.hours))
    if filters.weekdays:
        parts.append("jours " + ", ".join(labels.WEEKDAYS[d] for d in filters.weekdays))
    if filters.location_qualities:
        parts.append("localisation " + ", ".join(filters.location_qualities))
    return " ; ".join(parts) or "aucun filtre"


# File-name keys in French, in reading order (the period first, start before end).
FILENAME_KEYS = (
    ("start", "du"), ("end", "au"), ("arrondissements", "arrondissements"), ("families", "familles"),
    ("categories", "categories"), ("sources", "sources"), ("zones", "zones"), ("hours", "heures"),
    ("weekdays", "jours"), ("location_qualities", "localisation"),
)


def export_filename(title: str, filters, ext: str, protected: bool = True) -> str:  # noqa: ANN001
    """``<title>_du-2025-01-01_au-2025-12-31_<other filters>[_interne-non-protege].<ext>``: the file name says
    what it holds and how it was filtered, with French keys in reading order (unknown keys last, sorted)."""
    bits = [slug(title)]
    query = dict(filters.to_query()) if filters is not None else {}
    for key, name in FILENAME_KEYS:
        if key in query:
            bits.append(slug(f"{name}-{query.pop(key)}"))
    for key in sorted(query):
        bits.append(slug(f"{key}-{query[key]}"))
    # The unprotected marker survives the length cut (a long list of categories must not drop it).
    marker = "" if protected else "_interne-non-protege"
    stem = "_".join(b for b in bits if b)[: 150 - len(marker)].rstrip("-_") + marker
    return f"{stem}.{ext}"
