"""The élu map by arrondissement is drawn from the stored publication; its filters are the publication's."""

from __future__ import annotations

import pandas as pd
import pytest

from observatory import schema
from observatory.analytics import publication
from observatory.analytics.filters import Filters
from observatory.dashboard import components

YEAR = 2025


@pytest.fixture()
def elu_analytics(settings, monkeypatch):
    from observatory.analytics.engine import Analytics
    from observatory.dashboard.app import create_app
    from tests.incident_factory import random_incidents, write_snapshot

    create_app(settings)  # the pages register with the app

    files = write_snapshot(random_incidents(2_500, seed=11, start_year=YEAR, end_year=YEAR), settings.data_dir / "snap")
    an = Analytics.from_files(files, settings, snapshot_id="snap-map")
    monkeypatch.setattr(components, "analytics", lambda: an)
    monkeypatch.setattr(components, "is_analyst", lambda: False)
    return an


def test_elu_arrondissement_layer_and_export_are_the_publication(settings, elu_analytics):
    from observatory.dashboard import exporting
    from observatory.dashboard.pages import carte

    an = elu_analytics
    pub = publication.publication_for(settings, YEAR, an)
    annual = pub.cells[(pub.cells["period"] == publication.YEAR) & pub.cells["geo"].isin(schema.ARRONDISSEMENT_CODES)]
    # A category with hidden arrondissement cells (the layer must hide exactly those, as the bilans do).
    category = next(c for c in schema.categories() if c not in schema.sensitive_categories()
                    and annual.loc[annual["nomenclature"] == c, "status"].isin(["primary", "secondary"]).any())
    cells = annual[annual["nomenclature"] == category].set_index("geo")
    table = carte.layer_table(an, Filters(categories=(category,)), "arr_count")
    out = exporting.publish(table, settings.min_count, analyst=False).set_index("arrondissement")
    text = {"primary": f"< {settings.min_count}", "secondary": "secret"}
    assert (cells.loc[list(out.index), "status"] != "").any()  # the layer has hidden cells to get right
    for code, row in out.iterrows():
        st = cells.at[code, "status"]
        assert row["count"] == (int(cells.at[code, "n"]) if st == "" else text[st]), code
        if st:
            assert row["rate_per_1000"] is None or row["rate_per_1000"] != row["rate_per_1000"]  # no rate gives it back
    # A sensitive category has no arrondissement cell: every row is « n.d. ».
    sens = carte.layer_table(an, Filters(categories=("violences_sexuelles",)), "arr_count")
    assert set(exporting.publish(sens, settings.min_count, analyst=False)["count"]) == {"n.d."}


def test_elu_filters_cannot_sum_categories_or_move_the_period(settings, elu_analytics):
    """map(A + B) − map(B) recovered hidden cells: an élu's A + B is not a publication cell, so it is not served."""
    from observatory.dashboard.pages import carte

    an = elu_analytics
    everything = carte.layer_table(an, Filters(), "arr_count").df
    a_plus_b = carte.layer_table(an, Filters(categories=("escroqueries", "incivilites")), "arr_count")
    assert a_plus_b.df["count"].equals(everything["count"])
    assert "plusieurs catégories" in a_plus_b.extra_note
    moved = carte.layer_table(an, Filters(start=__import__("datetime").date(YEAR, 3, 1)), "arr_count")
    assert moved.df["count"].equals(everything["count"]) and moved.period[0].month == 1


def test_elu_map_figure_greys_hidden_arrondissements(settings, elu_analytics, monkeypatch):
    from observatory.dashboard.pages import carte

    monkeypatch.setattr(components, "settings", lambda: settings)
    fig, note = carte.map_figure({"categories": "escroqueries"}, "arr_count", [])
    assert f"publication {YEAR}" in note
    shown = carte.layer_table(elu_analytics, Filters(categories=("escroqueries",)), "arr_count").df
    drawn = {}
    for t in fig.data:
        if t.type == "choroplethmap" and t.name != "Effectif trop faible (non publié)":
            drawn.update(zip(t.locations, t.z))
    hidden = shown.loc[shown["count"].isna(), "arrondissement"]
    assert not set(hidden) & set(drawn)  # a withheld count sends no number to the browser
    for code, v in zip(shown["arrondissement"], shown["count"]):
        if v == v:
            assert drawn[code] == v


def test_elu_months_by_arrondissement_are_the_publication(settings, elu_analytics):
    from observatory.dashboard import exporting
    from observatory.dashboard.pages import tendances

    pub = publication.publication_for(settings, YEAR, elu_analytics)
    f = Filters(start=__import__("datetime").date(YEAR, 1, 1), end=__import__("datetime").date(YEAR, 12, 31), families=("escroqueries",))
    table = tendances._elu_multiples(elu_analytics, f)
    out = exporting.publish(table, settings.min_count, analyst=False)
    cells = pub.cells[(pub.cells["period"] != publication.YEAR) & (pub.cells["nomenclature"] == "escroqueries")].set_index(["geo", "period"])
    text = {"primary": f"< {settings.min_count}", "secondary": "secret", "internal": "n.d."}
    assert len(out) == 9 * 12 and out["count"].map(lambda v: isinstance(v, str)).any()
    for m, code, v in zip(out["month"], out["arrondissement"], out["count"]):
        st = cells.at[(code, f"{pd.Timestamp(m).month:02d}"), "status"]
        assert v == (int(cells.at[(code, f"{pd.Timestamp(m).month:02d}"), "n"]) if st == "" else text[st])
