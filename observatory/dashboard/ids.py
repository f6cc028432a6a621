"""Every component id of the dashboard, in one place (pages owned by other engineers add theirs here too
or prefix them with their page name).

Pattern-matching ids (dicts) are built by the small helpers at the bottom so that their keys never drift.
"""

from __future__ import annotations

# Shell -----------------------------------------------------------------------------------------------------------
URL = "url"  # the shell's dcc.Location (filters live in its query string)
FILTERS = "filters-store"  # dcc.Store: the current Filters.to_query() dict
NAV = "nav"
DEMO_BANNER = "demo-banner"
FILTER_ERROR = "filter-error"
FILTER_LINK_NOTE = "filter-link-note"  # what the address asked that the controls could not take
SHARE_LINK = "share-link"
RESET_FILTERS = "filter-reset"

# Veille (weekly watch of the cellules)
VE_CELLULE = "veille-cellule"
VE_WEEK = "veille-week"
VE_ALERTS = "veille-alerts"
VE_HISTORY = "veille-history"
VE_NOTE = "veille-note"

# Filter bar
F_START = "filter-start"
F_END = "filter-end"
# Year and month halves of "Du" / "Au": they write the ISO date of F_START / F_END (a clientside sync).
F_START_YEAR = "filter-start-year"
F_START_MONTH = "filter-start-month"
F_END_YEAR = "filter-end-year"
F_END_MONTH = "filter-end-month"
F_FAMILIES = "filter-families"
F_CATEGORIES = "filter-categories"
F_SOURCES = "filter-sources"
F_ARRONDISSEMENTS = "filter-arrondissements"
F_ZONES = "filter-zones"
F_HOURS = "filter-hours"
F_WEEKDAYS = "filter-weekdays"
FILTER_INPUTS = (F_START, F_END, F_FAMILIES, F_CATEGORIES, F_SOURCES, F_ARRONDISSEMENTS, F_ZONES, F_HOURS, F_WEEKDAYS)
# The filters an élu's publication cannot honour (hidden and disabled for élus), and the note shown in their place.
ELU_UNPUBLISHED_FILTERS = (F_SOURCES, F_ZONES, F_HOURS, F_WEEKDAYS)
F_ELU_NOTE = "filter-elu-note"

# Side panel (Carte, Vue d'ensemble): opened by a click on an arrondissement, a zone or a grid cell
PANEL = "detail-panel"
PANEL_BODY = "detail-panel-body"
PANEL_TITLE = "detail-panel-title"

# Vue d'ensemble
OV_KPIS = "overview-kpis"
OV_MAP = "overview-map"
OV_METRIC = "overview-metric"
OV_MOVERS = "overview-movers"
OV_ZONES = "overview-zones"
OV_FRESHNESS = "overview-freshness"
OV_NOTE = "overview-note"

# Carte
MAP_GRAPH = "map-graph"
MAP_LAYER = "map-layer"
MAP_METRIC = "map-metric"
MAP_ZONE_KINDS = "map-zone-kinds"
MAP_NOTE = "map-note"

# Tendances
TR_MONTHLY = "trends-monthly"
TR_COMPARE = "trends-compare"
TR_COMPARE_KIND = "trends-compare-kind"
TR_COMPARE_BY = "trends-compare-by"
TR_SEASONAL = "trends-seasonal"
TR_HEATMAP = "trends-heatmap"
TR_MULTIPLES = "trends-multiples"
TR_CONTRIB = "trends-contributions"

# Zones
ZN_KIND = "zones-kind"
ZN_TABLE = "zones-table"
ZN_POOLS = "zones-pools"
ZN_INOUT = "zones-inout"
ZN_PERSIST = "zones-persistence"
ZN_SERIES = "zones-series"
ZN_RATE = "zones-rate"  # which rate the zone table shows: per km², per resident, per exposure

# Données
DQ_COVERAGE = "data-coverage"
DQ_HISTORY = "data-history"
DQ_QUARANTINE = "data-quarantine"
DQ_UNMAPPED = "data-unmapped"
DQ_LOCATION = "data-location"
DQ_SNAPSHOTS = "data-snapshots"
DQ_UPLOAD = "data-upload"
DQ_GAPS = "data-gaps"


# Pattern-matching ids ----------------------------------------------------------------------------------------------
def export_button(target: str, fmt: str) -> dict:
    """A CSV / XLSX / GeoJSON / SVG button of the card showing ``target``."""
    return {"type": "export-btn", "target": target, "fmt": fmt}


def export_request(target: str) -> dict:
    """Store filled in the browser on an export click: format and the page options of the address."""
    return {"type": "export-req", "target": target}


def export_svg(target: str) -> dict:
    """The SVG button of a figure card (drawn in the browser by Plotly, no server call)."""
    return {"type": "export-svg", "target": target}


def export_download(target: str) -> dict:
    return {"type": "export-dl", "target": target}


def note(target: str) -> dict:
    """The method note under the figure or table ``target``."""
    return {"type": "method-note", "target": target}


# Moyens engagés (issue 22) -----------------------------------------------------------------------------------------
MN_YEAR = "moyens-year"
MN_ARR = "moyens-arrondissement"
MN_NOTE = "moyens-note"
MN_ARR_TABLE = "moyens-arr-table"
MN_SERIES = "moyens-series"
MN_MAP = "moyens-map"
MN_ACTIONS = "moyens-actions"
MN_RESPONSE = "moyens-response"
MN_VICTIMS = "moyens-victims"
MN_ELUCIDATION = "moyens-elucidation"
MN_PROBLEMS = "moyens-problems"
MN_FORM_LINE = "moyens-form-line"
MN_FORM_ACTION = "moyens-form-action"
MN_FORM_ARR = "moyens-form-arr"
MN_FORM_SERVICE = "moyens-form-service"
MN_FORM_START = "moyens-form-start"
MN_FORM_END = "moyens-form-end"
MN_FORM_AMOUNT = "moyens-form-amount"  # pattern id {"type": MN_FORM_AMOUNT, "col": <amount column>}
MN_FORM_NOTES = "moyens-form-notes"
MN_FORM_SAVE = "moyens-form-save"
MN_FORM_RESULT = "moyens-form-result"
