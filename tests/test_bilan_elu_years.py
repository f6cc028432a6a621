"""Bilan annuel for élus: only closed years, the ones with a publication (issue 15).

The snapshot ends on 30/06/2025: 2025 is still filling. An élu is offered 2023 and 2024 only, and a crafted
request for 2025 (in the URL, or in the state of the PDF and export downloads) is coerced on the server to 2024
with a note; an analyst keeps every year. Nothing here reads the clock: the closed years come from the snapshot.
"""

from __future__ import annotations

import json
from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from observatory import schema
from observatory.config import get_settings
from observatory.dashboard import components

LAST_DAY = datetime(2025, 6, 30, 23, 59)  # the snapshot's last fact: 2025 is the year still filling


@pytest.fixture(scope="module")
def store(tmp_path_factory):  # noqa: ANN001, ANN201
    from observatory.analytics.engine import Analytics
    from observatory.dashboard.app import create_app
    from tests.conftest import REPO
    from tests.incident_factory import random_incidents, write_snapshot

    settings = get_settings(root=REPO, env={}, data_dir=tmp_path_factory.mktemp("bilan-elu") / "data")
    app = create_app(settings)
    table = random_incidents(3_000, seed=41, start_year=2023, end_year=2025)
    cut = pa.scalar(LAST_DAY.replace(tzinfo=None), pa.timestamp("us"))
    local = pc.cast(pc.local_timestamp(table.column(schema.OCCURRED_AT)), pa.timestamp("us"))
    files = write_snapshot(table.filter(pc.less_equal(local, cut)), tmp_path_factory.mktemp("snap"))
    an = Analytics.from_files(files, settings, snapshot_id="snap-bilan-elu")
    assert an.date_range()[1].year == 2025 and an.date_range()[1].month == 6
    return app, settings, an


def _as(monkeypatch, store, analyst: bool):  # noqa: ANN001, ANN202
    _app, settings, an = store
    monkeypatch.setattr(components, "analytics", lambda: an)
    monkeypatch.setattr(components, "settings", lambda: settings)
    monkeypatch.setattr(components, "is_analyst", lambda: analyst)
    monkeypatch.setattr(components, "is_analyst_view", lambda: analyst)


def _text(page) -> str:  # noqa: ANN001
    return json.dumps(page.to_plotly_json(), default=lambda o: o.to_plotly_json() if hasattr(o, "to_plotly_json") else str(o), ensure_ascii=False)


def _year_options(page) -> list[str]:  # noqa: ANN001
    found = []

    def walk(node):  # noqa: ANN001, ANN202
        if isinstance(node, (list, tuple)):
            for n in node:
                walk(n)
            return
        if not hasattr(node, "to_plotly_json"):
            return
        if getattr(node, "id", None) == "bilan-annee":
            found.extend(o.value for o in node.children)
        walk(getattr(node, "children", None))

    walk(page)
    return found


def test_choose_year_offers_elus_closed_years_only(store):  # noqa: ANN001
    from observatory.dashboard.pages import bilan

    _app, _settings, an = store
    assert bilan.offered_years(an, analyst=True) == [2023, 2024, 2025]
    assert bilan.offered_years(an, analyst=False) == [2023, 2024]
    assert bilan.choose_year(an, None, analyst=False) == bilan.YearChoice(2024, [2023, 2024])
    assert bilan.choose_year(an, "2023", analyst=False).year == 2023
    crafted = bilan.choose_year(an, "2025", analyst=False)
    assert crafted.year == 2024 and "2025 n'est pas encore close" in crafted.note and "Bilan 2024 affiché" in crafted.note
    before = bilan.choose_year(an, 2019, analyst=False)
    assert before.year == 2024 and "2019 n'a pas de bilan publié" in before.note
    assert bilan.choose_year(an, "2025<script>", analyst=False).year == 2024
    # Analysts keep every year, the one still filling included (and by default, as before).
    assert bilan.choose_year(an, "2025", analyst=True) == bilan.YearChoice(2025, [2023, 2024, 2025])
    assert bilan.choose_year(an, None, analyst=True).year == 2025
    absurd = bilan.choose_year(an, "99999", analyst=True)  # no data (and no date arithmetic past 9999)
    assert absurd.year == 2025 and "Aucune donnée pour l'année 99999" in absurd.note


def test_the_closed_years_come_from_the_snapshot_not_the_clock(store):  # noqa: ANN001
    import time_machine

    from observatory.dashboard.pages import bilan

    _app, _settings, an = store
    for day in (datetime(2025, 3, 1, 12), datetime(2031, 7, 14, 12)):  # inside the filling year, and years later
        with time_machine.travel(day, tick=False):
            assert bilan.offered_years(an, analyst=False) == [2023, 2024]
            assert bilan.choose_year(an, None, analyst=False).year == 2024
            assert bilan.choose_year(an, "2025", analyst=False).year == 2024
            assert bilan.choose_year(an, None, analyst=True).year == 2025


def test_elu_bilan_page_coerces_the_filling_year_with_a_note(store, monkeypatch):  # noqa: ANN001
    from observatory.dashboard.pages import bilan

    app, _settings, _an = store
    _as(monkeypatch, store, analyst=False)
    with app.server.test_request_context("/bilan?annee=2025"):
        page = bilan.layout(annee="2025")
    text = _text(page)
    assert _year_options(page) == ["2023", "2024"]
    assert "Bilan annuel 2024" in text and "Bilan annuel 2025" not in text
    assert "L'année 2025 n'est pas encore close" in text


def test_analyst_bilan_page_keeps_every_year(store, monkeypatch):  # noqa: ANN001
    from observatory.dashboard.pages import bilan

    app, _settings, _an = store
    _as(monkeypatch, store, analyst=True)
    with app.server.test_request_context("/bilan?annee=2025"):
        page = bilan.layout(annee="2025")
    text = _text(page)
    assert _year_options(page) == ["2023", "2024", "2025"]
    assert "Bilan annuel 2025" in text and "pas encore close" not in text


def test_pdf_download_coerces_a_crafted_year_for_elus(store, monkeypatch):  # noqa: ANN001
    """The PDF's year comes from the client's state: the server decides it again."""
    from observatory.dashboard.pages import bilan
    from observatory.reports import render

    printed: list[int] = []

    def fake_pdf(d):  # noqa: ANN001, ANN202 - no Chromium needed to see which year is printed
        printed.append(d.year)
        return b"%PDF-1.4"

    monkeypatch.setattr(render, "render_pdf", fake_pdf)
    _as(monkeypatch, store, analyst=False)
    out = bilan.download_pdf(1, {"annee": 2025, "arrondissement": None})
    assert printed == [2024] and out["filename"] == "diagnostic-2024-69123.pdf"
    bilan.download_pdf(1, {"annee": "../2025", "arrondissement": "nulle-part"})
    assert printed[-1] == 2024
    assert bilan._served({"annee": 2025, "arrondissement": "nulle-part"}) == (2024, None)
    _as(monkeypatch, store, analyst=True)
    out = bilan.download_pdf(1, {"annee": 2025, "arrondissement": "69383"})
    assert printed[-1] == 2025 and out["filename"] == "diagnostic-2025-69383.pdf"
