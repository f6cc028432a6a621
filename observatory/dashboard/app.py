"""Dash app factory (placeholder until the dashboard issue lands)."""

from __future__ import annotations

import dash
from dash import html

from observatory.config import Settings, get_settings


def create_app(settings: Settings | None = None) -> dash.Dash:
    settings = settings or get_settings()
    app = dash.Dash(__name__, title="Observatoire de la délinquance — Lyon")
    app.layout = html.Main([html.H1("Observatoire de la délinquance et de la sécurité — Lyon")])
    app.server.config["OBSERVATORY_SETTINGS"] = settings
    return app
