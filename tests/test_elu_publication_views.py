"""Every élu view is drawn from the year's publication (issue 15), replayed as an attacker would.

The differencing attacks of the issue (map(A + B) − map(B), a window starting a month later, a 28-day window…)
are replayed through the real élu callbacks and exports: every number an élu obtains must be a published cell
of the publications (so the LP audit of the publication covers it), and free filters are coerced or refused.
The same requests answered from raw counts (what the pages did before) are shown to break the LP audit, so the
tests cannot pass on a layer that serves free filters.
"""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from observatory import schema
from observatory.analytics import disclosure, publication
from observatory.analytics.filters import Filters
from observatory.config import get_settings
from observatory.dashboard import components, elu_views

YEARS = (2024, 2025)
YEAR = 2025


@pytest.fixture(scope="module")
def store(tmp_path_factory):  # noqa: ANN001, ANN201
    from observatory.analytics.engine import Analytics
    from observatory.dashboard.app import create_app
    from tests.conftest import REPO
    from tests.incident_factory import random_incidents, write_snapshot

    settings = get_settings(root=REPO, env={}, data_dir=tmp_path_factory.mktemp("elu") / "data")
    create_app(settings)  # the pages register with the app
    files = write_snapshot(random_incidents(5_000, seed=23, start_year=YEARS[0], end_year=YEARS[1]), settings.data_dir / "snap")
    return settings, Analytics.from_files(files, settings, snapshot_id="snap-elu-views")


@pytest.fixture()
def elu(store, monkeypatch):  # noqa: ANN001, ANN201
    settings, an = store
    monkeypatch.setattr(components, "analytics", lambda: an)
    monkeypatch.setattr(components, "settings", lambda: settings)
    monkeypatch.setattr(components, "is_analyst", lambda: False)
    monkeypatch.setattr(components, "is_analyst_view", lambda: False)
    return settings, an


def _pub(store, year: int = YEAR) -> publication.Publication:
    settings, an = store
    return publication.publication_for(settings, year, an)


def _cells(pub: publication.Publication, geo: str, node: str) -> pd.DataFrame:
    c = pub.cells
    return c[(c["geo"] == geo) & (c["nomenclature"] == node) & (c["period"] == publication.YEAR)]


def _published_value(pub, geo: str, node: str):  # noqa: ANN001, ANN202
    """The élu's reading of a publication cell: its count, or the status text."""
    hit = _cells(pub, geo, node)
    if hit.empty:
        return "n.d."
    st = hit["status"].iloc[0]
    return int(hit["n"].iloc[0]) if st == "" else {"primary": "< 5", "secondary": "secret", "internal": "n.d."}[st]


def _hidden_arr_category(pub) -> tuple[str, str, str]:  # noqa: ANN001
    """(category A, category B of the same family, arrondissement) where A is hidden in that arrondissement."""
    annual = pub.cells[(pub.cells["period"] == publication.YEAR) & pub.cells["geo"].isin(schema.ARRONDISSEMENT_CODES)]
    cats = [c for c in schema.categories() if c not in schema.sensitive_categories()]
    for a in cats:
        for b in cats:
            if a == b:
                continue
            for geo in schema.ARRONDISSEMENT_CODES:
                ca, cb = _cells(pub, geo, a), _cells(pub, geo, b)
                if len(ca) and len(cb) and ca["status"].iloc[0] == "primary" and cb["status"].iloc[0] == "":
                    return a, b, geo
    raise AssertionError(f"no hidden arrondissement cell in the test data ({len(annual)} cells)")


# The attack, as the issue states it -------------------------------------------------------------------------------
def _with_extra_totals(pub, extra: list[tuple[list[int], float]]) -> tuple[disclosure.CellSet, np.ndarray]:  # noqa: ANN001
    """The publication's cells plus published totals Σ cells (what a free filter would add to the élu's
    knowledge): each extra total is a new published cell with its relation ``total − Σ parts = 0``."""
    cs = pub.cell_set()
    status = pub.status_codes()
    n = cs.n
    rows, cols, data = [], [], []
    values = list(cs.values)
    for k, (parts, value) in enumerate(extra):
        rows += [k] * (len(parts) + 1)
        cols += [n + k] + parts
        data += [1.0] + [-1.0] * len(parts)
        values.append(value)
    m = len(extra)
    a_old = sparse.hstack([cs.equalities, sparse.csr_matrix((cs.equalities.shape[0], m))])
    a_new = sparse.csr_matrix((data, (rows, cols)), shape=(m, n + m))
    cells = disclosure.CellSet(np.array(values), sparse.vstack([a_old, a_new]).tocsr(), np.r_[cs.published, np.ones(m, bool)])
    return cells, np.r_[status, np.zeros(m, dtype=status.dtype)]


def _cell_id(pub, geo: str, node: str) -> int:  # noqa: ANN001
    hit = _cells(pub, geo, node)
    return int(hit.index[0])


def test_category_sum_attack_breaks_the_audit_and_elus_are_not_served_it(elu, store):
    """map(A + B) − map(B): answered from raw counts it pins a hidden cell (the LP audit fails); answered by the
    élu's real callbacks and exports it is the publication's « all categories » map, nothing new."""
    from observatory.dashboard import exporting
    from observatory.dashboard.pages import carte, overview

    settings, an = elu
    pub = _pub(store)
    a, b, geo = _hidden_arr_category(pub)
    # What the free filter « A + B » used to give, for every arrondissement where both cells exist.
    raw = an.counts(Filters(start=date(YEAR, 1, 1), end=date(YEAR, 12, 31), categories=(a, b)), by=("arrondissement",)).set_index("arrondissement")["count"]
    extra = [([_cell_id(pub, g, a), _cell_id(pub, g, b)], float(raw.get(g, 0))) for g in schema.ARRONDISSEMENT_CODES
             if len(_cells(pub, g, a)) and len(_cells(pub, g, b))]
    cells, status = _with_extra_totals(pub, extra)
    attacked = disclosure.audit(cells, status, settings.min_count, only=np.array([_cell_id(pub, geo, a)]))
    assert not attacked["protected"].all(), "the free sum must pin the hidden cell, else this test proves nothing"

    # The élu's requests: the home map and its export, the Carte layer, for « A + B » and for « B ».
    obtained = {}
    for query in ({"categories": [a, b]}, {"categories": [b]}, {"categories": [a]}, {}):
        for name, table in (("overview", overview._map_table(an, Filters.from_query(query))),
                            ("carte", carte.layer_table(an, Filters.from_query(query), "arr_count"))):
            out = exporting.publish(table, settings.min_count, analyst=False).set_index("arrondissement")["count"]
            obtained[(name, json.dumps(query))] = out
    nodes = {publication.ALL: None, a: None, b: None}
    for key, column in obtained.items():
        matches = [node for node in nodes if all(column[g] == _published_value(pub, g, node) for g in schema.ARRONDISSEMENT_CODES)]
        assert matches, (key, column.to_dict())  # every column the élu got is a column of the publication
    sums = obtained[("overview", json.dumps({"categories": [a, b]}))]
    assert all(sums[g] == _published_value(pub, g, publication.ALL) for g in schema.ARRONDISSEMENT_CODES)
    # And what the publication gives (everything the élu got) leaves every hidden cell protected.
    assert disclosure.audit(pub.cell_set(), pub.status_codes(), settings.min_count)["protected"].all()


def test_month_window_attack_gets_the_same_year(elu, store):
    """map(m → December) − map(m + 1 → December) recovered hidden monthly cells: an élu's window is coerced to
    the whole closed year, so both requests give the same published cells, and the note says why."""
    from observatory.dashboard import exporting
    from observatory.dashboard.pages import overview

    settings, an = elu
    answers = []
    for month in (3, 4):
        table = overview._map_table(an, Filters(start=date(YEAR, month, 1), end=date(YEAR, 12, 31)))
        answers.append(exporting.publish(table, settings.min_count, analyst=False)["count"].tolist())
        assert table.period == (date(YEAR, 1, 1), date(YEAR, 12, 31))
        assert "période choisie" in table.extra_note
    assert answers[0] == answers[1]
    # The KPIs and the movers too: a window inside the year is the year.
    k1 = repr(overview.kpis({"start": f"{YEAR}-03-01", "end": f"{YEAR}-12-31"}))
    k2 = repr(overview.kpis({"start": f"{YEAR}-04-01", "end": f"{YEAR}-12-31"}))
    assert k1 == k2 and f"Faits {YEAR}" in k1
    m1 = overview.movers_table(an, Filters(start=date(YEAR, 3, 1), end=date(YEAR, 12, 31)), False)
    m2 = overview.movers_table(an, Filters(start=date(YEAR, 4, 1), end=date(YEAR, 12, 31)), False)
    assert m1[["current", "previous"]].equals(m2[["current", "previous"]])


def _all_numbers_are_published(table, pub, prev, settings, geo=schema.CITY_CODE, key="category"):  # noqa: ANN001, ANN202
    from observatory.dashboard import exporting

    out = exporting.publish(table, settings.min_count, analyst=False)
    checked = 0
    for row in out.to_dict("records"):
        node = row[key] if key != "arrondissement" else publication.ALL
        g = row[key] if key == "arrondissement" else geo
        assert row["current"] == _published_value(pub, g, node), row
        assert row["previous"] == _published_value(prev, g, node), row
        if isinstance(row["current"], str) or isinstance(row["previous"], str):
            assert row.get("diff") in (None, "") or row["diff"] != row["diff"], row  # no change beside a withheld count
        checked += 1
    return checked


def test_home_movers_and_kpis_are_publication_cells(elu, store):
    from observatory.dashboard.exporting import ExportTable
    from observatory.dashboard.pages import overview

    settings, an = elu
    pub, prev = _pub(store, YEAR), _pub(store, YEAR - 1)
    for query, geo in (({}, schema.CITY_CODE), ({"arrondissements": ["69383"]}, "69383"), ({"families": ["atteintes_biens"], "arrondissements": ["69381"]}, "69381")):
        table = overview.movers_table(an, Filters.from_query(query), False)
        n = _all_numbers_are_published(ExportTable(table, ("current", "previous"), derived=elu_views.CMP_DERIVED), pub, prev, settings, geo)
        assert n > 0
    # The first KPI is the publication's total cell (city, all), and the note names the year.
    from observatory import labels

    for query, geo in (({}, schema.CITY_CODE), ({"arrondissements": ["69384"], "categories": ["escroqueries", "incivilites"]}, "69384")):
        kpis = repr(overview.kpis(query))
        total = _published_value(pub, geo, publication.ALL)
        shown = labels.fmt_int(total) if isinstance(total, int) else total
        assert f"Div(children='Faits {YEAR}'" in kpis and f"Div(children={shown!r}" in kpis, kpis


def test_tendances_free_windows_are_coerced_for_elus(elu, store):
    """A 28-day or year-to-date comparison is not in the publication: an élu gets the closed year against the
    year before (the note says so); partners are refused; hour × weekday and seasonality are withheld."""
    from observatory.dashboard.exporting import ExportTable
    from observatory.dashboard.pages import tendances

    settings, an = elu
    pub, prev = _pub(store, YEAR), _pub(store, YEAR - 1)
    for kind in ("28d", "ytd", "year"):
        ref, cmp = tendances._comparison(an, Filters(end=date(YEAR, 11, 30)), kind, "category")
        assert ref == date(YEAR, 12, 31) or ref == date(YEAR - 1, 12, 31)
    # end in November of YEAR: YEAR is closed in the data, so the élu gets YEAR (the whole year), not a window.
    ref, cmp = tendances._comparison(an, Filters(start=date(YEAR, 11, 3), end=date(YEAR, 11, 30)), "28d", "category")
    assert ref == date(YEAR, 12, 31) and "année civile entière" in cmp.attrs["note"]
    assert _all_numbers_are_published(ExportTable(cmp, ("current", "previous"), derived=elu_views.CMP_DERIVED), pub, prev, settings) > 0
    _ref, by_arr = tendances._comparison(an, Filters(), "year", "arrondissement")
    assert _all_numbers_are_published(ExportTable(by_arr, ("current", "previous"), derived=elu_views.CMP_DERIVED), pub, prev, settings, key="arrondissement") == 9
    fig, note = tendances.compare({}, "28d", "source")
    assert elu_views.WITHHELD in json.dumps(fig.to_plotly_json(), ensure_ascii=False)
    for fn in (tendances.heatmap, tendances.seasonal):
        fig, note = fn({"start": f"{YEAR}-03-01"})
        assert elu_views.WITHHELD in json.dumps(fig.to_plotly_json(), ensure_ascii=False)
        assert not any(t.get("z") is not None or t.get("y") is not None for t in fig.to_plotly_json()["data"])


def test_monthly_overlay_for_elus_is_the_publication(elu, store):
    from observatory.dashboard import exporting
    from observatory.dashboard.pages import tendances

    settings, an = elu
    pub = _pub(store)
    table = tendances._monthly_table(an, Filters(families=("atteintes_biens",), start=date(YEAR, 2, 10)))
    out = exporting.publish(table, settings.min_count, analyst=False)
    out = out[pd.to_datetime(out["month"]).dt.year == YEAR]
    c = pub.cells[(pub.cells["geo"] == schema.CITY_CODE) & (pub.cells["nomenclature"] == "atteintes_biens") & (pub.cells["period"] != publication.YEAR)].set_index("period")
    assert len(out) == 12
    for m, v in zip(out["month"], out["count"]):
        period = f"{pd.Timestamp(m).month:02d}"
        assert v == (int(c.at[period, "n"]) if c.at[period, "status"] == "" else {"primary": "< 5", "secondary": "secret"}[c.at[period, "status"]])


def test_zones_grid_and_hotspots_are_withheld_for_elus(elu):
    """Zones and grid cells are not in the publication: every zone view and export, and the Carte's cell layers,
    answer the French sentence and no number."""
    from observatory.dashboard import exporting
    from observatory.dashboard.pages import carte, overview, zones

    settings, an = elu
    text = json.dumps([zones.table({}, "hypercentre", "km2")[0].to_plotly_json(), zones.persistence({})[0].to_plotly_json(),
                       zones.pool_summer({}).to_plotly_json(), overview.zones_summary({}).to_plotly_json()], default=str, ensure_ascii=False)
    assert text.count("Réservé aux analystes") == 4
    for fig, _note in (zones.inside_outside({}, "hypercentre"), zones.seasons({}, "piscine")):
        assert not fig.to_plotly_json()["data"]
    for layer in ("grid", "hotspots", "persistence", "zones", "arr_exposure", "points"):
        fig, note = carte.map_figure({}, layer, [])
        note_text = json.dumps(note, default=lambda o: o.to_plotly_json(), ensure_ascii=False)  # the note may be folded (« Méthode »)
        assert elu_views.WITHHELD in note_text and not [t for t in fig.to_plotly_json()["data"] if t.get("z") is not None]
        assert exporting.publish(carte.layer_table(an, Filters(), layer), settings.min_count, analyst=False).empty
    for builder in (zones._zone_export, zones._inout_export):
        assert builder(an, Filters(), {"type": "hypercentre"}).df.empty


def test_side_panel_for_elus_is_the_publication(elu, store):
    """A click on an arrondissement with free filters: the panel's figures are the publication's cells of that
    arrondissement (the filters reduced as everywhere); a zone or a grid cell is withheld."""
    from observatory import labels
    from observatory.dashboard import panel

    settings, an = elu
    pub, prev = _pub(store, YEAR), _pub(store, YEAR - 1)
    free = Filters(start=date(YEAR, 5, 1), end=date(YEAR, 12, 31), categories=("escroqueries", "incivilites"))
    body = repr(panel.panel_content(an, free, "arrondissement", "69387"))
    cur, before = _published_value(pub, "69387", publication.ALL), _published_value(prev, "69387", publication.ALL)
    show = [labels.fmt_int(v) if isinstance(v, int) else v for v in (cur, before)]
    assert repr(f"{show[0]} / {show[1]}") in body, body
    assert "période choisie" in body and "plusieurs catégories" in body
    for kind, key in (("zone", "hypercentre"), ("cell", "E4209_N32589")):
        assert elu_views.WITHHELD in repr(panel.panel_content(an, free, kind, key))
