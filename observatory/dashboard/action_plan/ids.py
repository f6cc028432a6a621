"""Component ids of the Plan d'actions page."""

from __future__ import annotations

from observatory.actions import ACTION_COLUMNS

# Component ids (page-local: the edit ones share the "actions-edit" prefix the security layer guards).
ACTION = "actions-select"
GROUP = "actions-group"
TIMELINE = "actions-timeline"
MAP = "actions-map"
SERIES = "actions-series"
SERIES_NOTE = "actions-series-note"
EVAL_TABLE = "actions-eval-table"
OBJ_TABLE = "actions-objectives-table"
VERSION = "actions-register-version"
EXPORT_BUTTON = "actions-export"  # dict ids {"type", "target", "fmt"}: the page's own CSV/XLSX buttons
EXPORT_DOWNLOAD = "actions-download"
EXPORT_FORMATS = ("csv", "xlsx")
EDIT_PREFIX = "actions-edit"
EDIT_FIELD = {c: f"{EDIT_PREFIX}-{c}" for c in ACTION_COLUMNS}
EDIT_LOAD = f"{EDIT_PREFIX}-load"
EDIT_SAVE = f"{EDIT_PREFIX}-save"
EDIT_CLOSE = f"{EDIT_PREFIX}-close"
EDIT_CLOSE_DATE = f"{EDIT_PREFIX}-close-date"
EDIT_MESSAGE = f"{EDIT_PREFIX}-message"
