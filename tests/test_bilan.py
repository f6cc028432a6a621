"""The Bilan annuel page: built from the protected diagnostic, year and arrondissement from the URL."""

from __future__ import annotations

import json

import pytest

from observatory.dashboard import components


@pytest.fixture(scope="module")
def snapshot_files(tmp_path_factory):
    from tests.incident_factory import random_incidents, write_snapshot

    return write_snapshot(random_incidents(5_000, seed=5, start_year=2023, end_year=2025), tmp_path_factory.mktemp("snap"))


def test_bilan_layout_for_an_arrondissement(settings, snapshot_files, monkeypatch):
    from observatory.analytics.engine import Analytics
    from observatory.dashboard.app import create_app

    app = create_app(settings)
    an = Analytics.from_files(snapshot_files, settings, snapshot_id="snap-bilan")
    monkeypatch.setattr(components, "analytics", lambda: an)
    import observatory.dashboard.pages.bilan as bilan

    with app.server.test_request_context("/bilan?annee=2025&arrondissement=69383"):
        page = bilan.layout(annee="2025", arrondissement="69383")
    text = json.dumps(page.to_plotly_json(), default=lambda o: o.to_plotly_json() if hasattr(o, "to_plotly_json") else str(o), ensure_ascii=False)
    assert "Bilan annuel 2025 — Lyon 3e" in text
    assert "Comment lire ces chiffres" in text and "snap-bilan" in text
    assert "data:image/svg+xml;base64," in text  # vector figures, no point layer
    assert "scattermap" not in text
