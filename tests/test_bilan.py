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
    # The page names the date of its data, not the snapshot id (élus read it; analysts find the id on Données).
    assert "Comment lire ces chiffres" in text and "snap-bilan" not in text and "Données de l'observatoire" in text
    assert "data:image/svg+xml;base64," in text  # vector figures, no point layer
    assert "scattermap" not in text


def test_every_figure_and_table_of_the_page_has_its_exports(settings, snapshot_files, monkeypatch):
    from observatory.analytics.engine import Analytics
    from observatory.dashboard.app import create_app
    from observatory.reports.diagnostic import EXPORT_FORMATS

    app = create_app(settings)
    an = Analytics.from_files(snapshot_files, settings, snapshot_id="snap-bilan")
    monkeypatch.setattr(components, "analytics", lambda: an)
    import observatory.dashboard.pages.bilan as bilan

    with app.server.test_request_context("/bilan?annee=2025&arrondissement=69383"):
        page = bilan.layout(annee="2025", arrondissement="69383")
    buttons, figures, tables = [], 0, 0

    def walk(node):  # noqa: ANN001, ANN202
        nonlocal figures, tables
        if isinstance(node, (list, tuple)):
            for n in node:
                walk(n)
            return
        if not hasattr(node, "to_plotly_json"):
            return
        cid = getattr(node, "id", None)
        if isinstance(cid, dict) and cid.get("type") == bilan.EXPORT_BUTTON:
            buttons.append((cid["item"], cid["fmt"]))
        cls = getattr(node, "className", "") or ""
        figures += "bilan-fig" in cls.split()
        tables += "bilan-tbl" in cls.split()
        walk(getattr(node, "children", None))

    walk(page)
    assert figures >= 2 and tables >= 2
    items = {i for i, _ in buttons}
    assert len([i for i in items if i.startswith("figure:")]) == figures and len([i for i in items if i.startswith("table:")]) == tables
    for item in items:
        kind = item.split(":")[0]
        assert {f for i, f in buttons if i == item} == set(EXPORT_FORMATS[kind])


def test_bilan_exports_carry_year_territory_and_protected_values(settings, snapshot_files):
    import csv
    import io

    from openpyxl import load_workbook

    from observatory.analytics.engine import Analytics
    from observatory.reports.diagnostic import diagnostic_for, export_item

    an = Analytics.from_files(snapshot_files, settings, snapshot_id="snap-bilan")
    d = diagnostic_for(settings, 2025, "69383", analytics=an)
    table = next(t for t in d.tables if t.key == "familles")
    payload, name = export_item(d, "table", "familles", "csv")
    assert name == "bilan-2025-lyon-3e_familles.csv"
    rows = list(csv.reader(io.StringIO(payload.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == list(table.data.columns)
    assert ["Filtres", "année 2025 (comparée à 2024) ; territoire Lyon 3e (69383)"] in rows
    assert ["Instantané", "snap-bilan"] in rows
    # The values are the page's: same counts as the displayed table, hidden cells as their text.
    shown = [v.replace("\u00a0", "") for v in table.frame["2025"]]
    assert [r[3] for r in rows[1 : 1 + len(shown)]] == shown
    xlsx, xname = export_item(d, "table", "familles", "xlsx")
    assert xname.endswith("lyon-3e_familles.xlsx")
    wb = load_workbook(io.BytesIO(xlsx))
    ws = wb.worksheets[0]
    assert ws.freeze_panes == "A2"
    back = [r[3] for r in ws.iter_rows(min_row=2, max_row=1 + len(shown), values_only=True)]
    assert [str(v) for v in back] == shown
    assert all(isinstance(v, int) or v in ("< 5", "s") for v in back)
    meta = dict(wb["Métadonnées"].iter_rows(values_only=True))
    assert "Lyon 3e" in meta["Filtres"] and "règle de secret statistique de l'observatoire" in meta["Protection"] and "observatory." not in meta["Protection"]
    svg, sname = export_item(d, "figure", "carte-arrondissements", "svg")
    assert sname == "bilan-2025-lyon-3e_carte-arrondissements.svg"
    text = svg.decode()
    assert text.startswith("<svg") and "<desc>" in text and "Lyon 3e (69383)" in text and "snap-bilan" in text
    assert export_item(d, "table", "familles", "svg") is None and export_item(d, "figure", "nope", "csv") is None


def _walk(node):  # noqa: ANN001, ANN202 - Dash components
    yield node
    children = getattr(node, "children", None)
    for child in children if isinstance(children, (list, tuple)) else ([children] if children is not None else []):
        if hasattr(child, "to_plotly_json"):
            yield from _walk(child)


def test_table_headers_are_aligned_like_their_columns(settings, snapshot_files, monkeypatch):
    """Review #8: « +398 » sat under « Évolution (%) » and « +4 % » under « Test » (headers left, numbers right)."""
    from dash import html

    from observatory.analytics.engine import Analytics
    from observatory.dashboard.app import create_app

    app = create_app(settings)
    an = Analytics.from_files(snapshot_files, settings, snapshot_id="snap-bilan")
    monkeypatch.setattr(components, "analytics", lambda: an)
    import observatory.dashboard.pages.bilan as bilan

    with app.server.test_request_context("/bilan?annee=2025"):
        page = bilan.layout(annee="2025")
    tables = [n for n in _walk(page) if isinstance(n, html.Thead)]
    assert len(tables) >= 3
    checked = 0
    for thead in tables:
        heads = list(_walk(thead))
        ths = [n for n in heads if isinstance(n, html.Th)]
        body = None
        for n in _walk(page):
            kids = getattr(n, "children", None)
            if isinstance(kids, list) and thead in kids:
                body = next(k for k in kids if isinstance(k, html.Tbody))
        for tr in body.children:
            # Same alignment classes as the header; only the body's numbers keep « text-nowrap » (headers wrap).
            assert [td.className.replace(" text-nowrap", "") for td in tr.children] == [th.className for th in ths]
            checked += 1
        by_name = {th.children: th.className for th in ths}
        if "Évolution (%)" in by_name:
            assert "text-end" in by_name["Évolution (%)"] and "text-end" in by_name["2025"]
            assert "text-start" in by_name["Test"]  # a word, left-aligned like its cells
    assert checked > 10
