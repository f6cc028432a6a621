"""The « SVG » export of a map card: the layer shown, as a vector map (:mod:`observatory.reports.svgmap`).

A card whose figure is a map registers a renderer here (:func:`register`); its SVG button then goes through the
server export like CSV and GeoJSON (same filters, page options, protection and access rules) instead of asking
Plotly, in the browser, for the figure, which for a WebGL map is a bitmap. The renderer gets the exported
table (its GeoJSON layer, keyed by ``geo_key``) and the rows as the viewer may see them (withheld counts are
strings such as « < 5 » for élus): what the SVG shows is exactly what the CSV holds.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import pandas as pd

from observatory import figures, labels
from observatory.config import Settings
from observatory.reports.svgmap import Feature, MapSVG, render

_RENDERERS: dict[str, Callable] = {}
CLASSES = 5  # equal-interval classes of a numeric layer (a printed map needs readable bounds, not a gradient)
WITHHELD = "Effectif trop faible (non publié)"


def register(target: str, fn: Callable) -> None:
    """``fn(table, published, meta, options) -> str`` draws the card ``target``'s SVG."""
    _RENDERERS[target] = fn


def render_export(target: str, table, published: pd.DataFrame, meta, options: dict) -> str | None:  # noqa: ANN001
    fn = _RENDERERS.get(target)
    return None if fn is None else fn(table, published, meta, options)


def _projected(geojson: dict) -> dict:
    """Feature id -> shapely geometry in Lambert-93 (metres), from a WGS84 GeoJSON."""
    import shapely
    from pyproj import Transformer
    from shapely.geometry import shape

    from observatory.territory import LAMBERT93, WGS84

    to_l93 = Transformer.from_crs(WGS84, LAMBERT93, always_xy=True)
    out = {}
    for f in (geojson or {}).get("features", []):
        geom = shape(f["geometry"])
        out[str(f.get("id", f.get("properties", {}).get("id")))] = shapely.transform(geom, lambda xy: np.column_stack(to_l93.transform(xy[:, 0], xy[:, 1])))
    return out


def numeric_classes(values: pd.Series, decimals: int) -> tuple[list[float], list[str], list[str]]:
    """Bounds, colours and legend labels of equal-interval classes over the published values (YlOrRd, the
    screen's scale, sampled at each class's middle)."""
    from plotly.colors import sample_colorscale

    shown = values.dropna().astype("float64")
    if shown.empty:
        return [], [], []
    lo, hi = float(shown.min()), float(shown.max())
    n = 1 if hi == lo else CLASSES
    bounds = [lo + (hi - lo) * k / n for k in range(n + 1)]
    colours = [_hex(c) for c in sample_colorscale(figures.SEQUENTIAL, [(k + 0.5) / n for k in range(n)])]
    legend = [labels.fmt_number(bounds[0], decimals)] if n == 1 else [f"{labels.fmt_number(bounds[k], decimals)} – {labels.fmt_number(bounds[k + 1], decimals)}" for k in range(n)]
    return bounds, colours, legend


def _hex(colour: str) -> str:
    if colour.startswith("#"):
        return colour
    r, g, b = (int(float(v)) for v in colour[colour.index("(") + 1 : colour.index(")")].split(",")[:3])
    return f"#{r:02x}{g:02x}{b:02x}"


def _class_of(value: float, bounds: list[float]) -> int:
    for k in range(len(bounds) - 1):
        if value <= bounds[k + 1]:
            return k
    return max(len(bounds) - 2, 0)


def _number(value) -> float | None:  # noqa: ANN001
    """A published value as a number; None when withheld (« < 5 », « secret ») or missing."""
    if value is None or isinstance(value, str):
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def layer_svg(settings: Settings, layer: str, table, published: pd.DataFrame, meta) -> str:  # noqa: ANN001, C901
    """The Carte's layer ``layer`` (as in the address's ``couche``) as a vector map over the arrondissements,
    the rivers and the districts' names."""
    from observatory.dashboard import geo
    from observatory.territory import load_territory

    territory = load_territory(settings)
    shapes = _projected(table.geojson)
    key = table.geo_key or ("action_id" if layer == "actions" else None)
    rows = published if key is None or key not in published.columns else published.assign(**{key: published[key].astype(str)})
    features: list[Feature] = []
    legend: list[tuple[str, str]] = []
    legend_title = ""
    numeric = {"arr_rate": ("rate_per_1000", 1), "arr_count": ("count", 0), "grid": ("count", 0)}
    if layer in numeric:
        col, decimals = numeric[layer]
        values = pd.Series([_number(v) for v in rows[col]], index=rows.index, dtype="float64")
        bounds, colours, legend_labels = numeric_classes(values, decimals)
        legend = list(zip(colours, legend_labels))
        legend_title = {"rate_per_1000": "Faits pour 1 000 habitants", "count": "Nombre de faits"}[col]
        withheld = False
        for k, v in zip(rows[key], values):
            geom = shapes.get(k)
            if geom is None:
                continue
            if math.isnan(v):
                withheld = True
                features.append(Feature(geom, figures.HIDDEN_COLOR, stroke_width=0.6 if layer != "grid" else 0.2))
            else:
                features.append(Feature(geom, colours[_class_of(v, bounds)], stroke_width=0.6 if layer != "grid" else 0.2))
        if withheld:
            legend.append((figures.HIDDEN_COLOR, WITHHELD))
    elif layer == "hotspots":
        legend_title = "Points chauds et froids (Gi*, seuil de confiance)"
        present = set(rows["class"])
        for k, cls in zip(rows[key], rows["class"]):
            if k in shapes:
                features.append(Feature(shapes[k], figures.HOTSPOT_COLORS.get(cls, "#cccccc"), stroke_width=0.2))
        legend = [(c, figures.HOTSPOT_LABELS[cls]) for cls, c in figures.HOTSPOT_COLORS.items() if cls in present]
    elif layer == "persistence":
        from plotly.colors import sample_colorscale

        legend_title = "Trimestres chauds sur les 4 derniers"
        colours = {q: _hex(c) for q, c in zip((1, 2, 3, 4), sample_colorscale("Reds", [0.25, 0.5, 0.75, 1.0]))}
        for k, q in zip(rows[key], rows["quarters_hot"]):
            if k in shapes and int(q) in colours:
                features.append(Feature(shapes[k], colours[int(q)], stroke_width=0.2))
        legend = [(colours[q], f"{q} trimestre{'s' if q > 1 else ''} sur 4") for q in sorted(set(int(q) for q in rows["quarters_hot"]) & set(colours))]
    elif layer == "zones":
        legend_title = "Zones"
        kinds = []
        for k, kind in zip(rows[key], rows["kind"]):
            if k in shapes:
                colour = figures.ZONE_COLORS.get(str(kind), "#555555")
                features.append(Feature(shapes[k], colour, stroke=colour, stroke_width=1.5, opacity=0.45))
                kinds.append(str(kind))
        legend = [(figures.ZONE_COLORS.get(kind, "#555555"), labels.ZONE_KIND_LABELS.get(kind, kind)) for kind in dict.fromkeys(kinds)]
    elif layer == "actions":
        legend_title = "Actions du plan, par type"
        groups = sorted(set(rows["type_label"].astype(str)))
        colour_of = {g: figures.ACTION_TYPE_COLORS[i % len(figures.ACTION_TYPE_COLORS)] for i, g in enumerate(groups)}
        for k, g in zip(rows[key], rows["type_label"].astype(str)):
            if k in shapes:
                features.append(Feature(shapes[k], colour_of[g], stroke=colour_of[g], stroke_width=1.5, opacity=0.35))
        legend = [(colour_of[g], g) for g in groups]
    elif layer == "points":
        legend_title = "Faits (position généralisée au centre de la maille)"
        counts = pd.Series([_number(v) for v in rows["count"]], index=rows.index, dtype="float64")
        top = max(float(counts.max()), 1.0) if counts.notna().any() else 1.0
        for k, n in zip(rows[key], counts):
            if k in shapes and not math.isnan(n):
                features.append(Feature(shapes[k], figures.CURRENT_COLOR, opacity=0.6, radius=2 + 9 * math.sqrt(n / top)))
        legend = [(figures.CURRENT_COLOR, f"aire proportionnelle au nombre de faits (max. {labels.fmt_number(top, 0)})")]
    arr = territory.arrondissements_l93()
    places = geo.arrondissement_places(settings)
    rivers = list(_projected(figures.rivers_geojson()).values())
    notes = [meta.privacy] if meta.privacy else []
    if not meta.protected:
        notes = ["NON PROTÉGÉ — usage interne analystes (effectifs non masqués)"]
    source = meta.source + (f" ; instantané {meta.snapshot_id}" if not meta.protected and meta.snapshot_id else "")
    spec = MapSVG(
        title=meta.title,
        subtitle=meta.filters,
        features=features,
        legend=legend,
        legend_title=legend_title,
        legend_opacity={"zones": 0.45, "actions": 0.35, "points": 0.6}.get(layer, 0.85),
        source=source,
        notes=notes,
        stamp=f"Exporté le {meta.created_at.strftime('%d/%m/%Y à %H:%M')} (heure de Paris)",
        outlines=list(arr.geometry),
        lines=rivers,
        names=list(zip(places["x"], places["y"], places["text"])),
        extent=tuple(arr.total_bounds),
    )
    return render(spec)
