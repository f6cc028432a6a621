"""The one ``dcc.Graph`` config of the app (French locale, nothing sent to a remote host) and the payload size."""

from __future__ import annotations

import json

import plotly.graph_objects as go

# Graph config -----------------------------------------------------------------------------------------------------
# Nothing may leave the machine: plotly.js 4 shows a "Share chart" button (upload to Plotly Cloud) unless told not
# to, and links to Chart Studio; every dcc.Graph of the app takes its config from here and nowhere else.
REMOTE_CONFIG_OFF = {
    "showSendToCloud": False,
    "showEditInChartStudio": False,
    "showLink": False,
    "sendData": False,
    "plotlyServerURL": "",
    "linkText": "",
    # Geo traces would fetch their world outlines from Plotly's CDN; the app draws none, and a local path keeps
    # even a future one from asking another host (the value may not be blank).
    "topojsonURL": "/assets/vendor/topojson/",
}
# The mode bar keeps only the PNG export (SVG, CSV and XLSX are the card's buttons) and the reset of a zoom.
MODEBAR_BUTTONS = [["toImage", "resetScale2d"]]


def graph_config(filename: str | None = None, *, modebar: bool = True, scale: int = 2) -> dict:
    """The one ``dcc.Graph`` config: French locale, no remote host, a minimal mode bar shown on hover only.

    ``filename`` names the PNG the mode bar downloads; ``modebar=False`` for small inline charts (side panel).
    """
    config = {
        **REMOTE_CONFIG_OFF,
        "locale": "fr",
        "displaylogo": False,
        "displayModeBar": "hover" if modebar else False,
        "modeBarButtons": MODEBAR_BUTTONS,
        "toImageButtonOptions": {"format": "png", "filename": filename or "figure", "scale": scale},
    }
    return config


def image_export_config(filename: str, scale: int = 2) -> dict:
    """Kept for the pages that call it by this name: the same config as :func:`graph_config`."""
    return graph_config(filename, scale=scale)


def figure_to_json_size(fig: go.Figure) -> int:
    """Bytes of the figure's JSON, to keep the browser payload in check."""
    return len(json.dumps(fig.to_plotly_json(), default=str))
