"""One figure or table of the yearly diagnostic as a file (CSV, XLSX, SVG), with its metadata.
"""

from __future__ import annotations

from observatory import schema
from observatory.reports import protection
from observatory.reports.diagnostic_model import Diagnostic

# Exports of what the page and the report show ------------------------------------------------------------------
EXPORT_FORMATS = {"figure": ("csv", "xlsx", "svg"), "table": ("csv", "xlsx")}


def filters_text(d: Diagnostic) -> str:
    """The Bilan's filters in French, for the content of every file exported from it."""
    return f"année {d.year} (comparée à {d.previous_year}) ; territoire {d.place}" + (f" ({d.arrondissement})" if d.arrondissement else f" ({schema.CITY_CODE})")


def export_name(d: Diagnostic, key: str, ext: str) -> str:
    """``bilan-2025-lyon-3e_<key>.<ext>``: year and territory in every file name."""
    from observatory.reports.exports import slug

    return f"bilan-{d.year}-{slug(d.place)}_{slug(key)}.{ext}"


def export_item(d: Diagnostic, kind: str, key: str, fmt: str) -> tuple[bytes, str] | None:
    """One figure or table of the diagnostic as a file: (payload, file name); None if unknown or not offered.

    CSV/XLSX carry the protected values exactly as shown (hidden cells "< 5", "s"), with the year, the territory,
    the snapshot and the privacy rule in the metadata; SVG is the figure itself with the same metadata in <desc>.
    """
    from html import escape

    from observatory.reports.exports import ExportMeta, to_csv_bytes, to_xlsx_bytes

    if fmt not in EXPORT_FORMATS.get(kind, ()):
        return None
    items = d.figures if kind == "figure" else d.tables
    item = next((i for i in items if i.key == key), None)
    if item is None:
        return None
    label = "Figure" if kind == "figure" else "Tableau"
    meta = ExportMeta(
        title=f"{d.title} — {item.title}",
        source="Observatoire de la délinquance et de la sécurité de Lyon (bilan annuel)",
        filters=filters_text(d),
        snapshot_id=d.snapshot_id,
        privacy=(f"protégé par la {protection.rule_name(d.min_count)} : nombres de 1 à {d.min_count - 1} remplacés par « < {d.min_count} », "
                 "masquage complémentaire « s », violences sexuelles et intrafamiliales à l'échelle de la ville seulement"),
        protected=True,
    )
    if fmt == "svg":
        desc = escape(" ; ".join(f"{k} : {v}" for k, v in meta.rows()))
        svg = item.svg.replace("</title>", f"</title><desc>{desc}</desc>", 1)
        return svg.encode("utf-8"), export_name(d, key, "svg")
    frame = item.data if item.data is not None else item.frame
    if frame is None:
        return None
    payload = to_csv_bytes(frame, meta) if fmt == "csv" else to_xlsx_bytes(frame, meta, sheet=f"{label} {item.number}")
    return payload, export_name(d, key, fmt)
