"""The production entry point: ``gunicorn app:server`` serves the pages and answers callbacks."""

from __future__ import annotations

import json
import urllib.request


def _post(url: str, body: dict) -> dict:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=30) as r:
        assert r.status == 200
        return json.loads(r.read())


def test_app_server_serves_pages_and_callbacks(dashboard_url):  # noqa: ANN001
    with urllib.request.urlopen(dashboard_url + "/", timeout=30) as r:
        html = r.read().decode()
    assert r.status == 200 and "Observatoire" in html
    with urllib.request.urlopen(dashboard_url + "/vendor/bootstrap.min.css", timeout=30) as r:
        assert r.status == 200 and b"Bootstrap" in r.read(400)
    out = _post(
        dashboard_url + "/_dash-update-component",
        {
            "output": "overview-kpis.children",
            "outputs": {"id": "overview-kpis", "property": "children"},
            "inputs": [{"id": "filters-store", "property": "data", "value": {"arrondissements": "69381"}}],
            "changedPropIds": ["filters-store.data"],
            "state": [],
        },
    )
    text = json.dumps(out, ensure_ascii=False)
    assert "Taux annuel pour 1 000 habitants" in text or "Taux annuel pour 1\u00a0000 habitants" in text
