"""The watch over a published snapshot: units, weekly counts, alerts, and a history stable across re-ingests."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from observatory.analytics.engine import Analytics
from observatory.config import get_settings
from observatory.veille.watch import (
    last_complete_week,
    merge_history,
    read_history,
    record_history,
    watch,
    weekly_counts,
)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    from tests.dashboard_data import publish_random_store

    data = tmp_path_factory.mktemp("veille") / "data"
    return publish_random_store(get_settings(data_dir=data), n=20_000, seed=11, actions=False)


def test_last_complete_week():
    assert last_complete_week(pd.Timestamp("2025-04-06")) == pd.Timestamp("2025-03-31")  # a Sunday ends its week
    assert last_complete_week(pd.Timestamp("2025-04-05")) == pd.Timestamp("2025-03-24")


def test_watch_covers_every_unit_and_history_is_stable_across_reingest(store):
    an = Analytics(store)
    counts = weekly_counts(an)
    assert {"ville", "arr:69381", "zone:hypercentre"} <= set(counts["unit_id"])
    # The city's "toutes" series is the sum of every family's.
    city = counts[counts["unit_id"] == "ville"]
    assert city[city["family"] == "toutes"]["count"].sum() == city[city["family"] != "toutes"]["count"].sum()
    res = watch(an, alpha=0.05)
    assert res.last_week is not None and res.last_week.weekday() == 0
    assert not res.assessed.empty and set(res.assessed["week"]) and res.assessed["week"].max() == res.last_week
    assert set(res.levels["level"]) <= {"propre", "toutes familles", "arrondissement", "ville", "non suivi"}
    first = record_history(store, res, an.snapshot_id)
    # The same data published again under another snapshot id (a re-ingest): same episodes, same first snapshot.
    again = Analytics.from_files(an.files, store, snapshot_id="reingest")
    res2 = watch(again, alpha=0.05)
    pd.testing.assert_frame_equal(res.assessed, res2.assessed)
    second = record_history(store, res2, again.snapshot_id)
    cols = ["episode_id", "unit_id", "family", "since", "until", "weeks", "status", "first_snapshot"]
    pd.testing.assert_frame_equal(first[cols], second[cols])
    assert (read_history(store)["last_snapshot"] == "reingest").all()


def test_merge_history_opens_keeps_and_closes():
    w = pd.Timestamp
    prev_eps = pd.DataFrame({"episode_id": ["u|f|2025-W10"], "unit_id": ["u"], "family": ["f"], "since": [w("2025-03-03")],
                             "until": [w("2025-03-10")], "weeks": [2], "open": [True], "closed_week": [pd.NaT]})
    h1 = merge_history(read_history(get_settings(data_dir=Path("/nonexistent-veille"))), prev_eps, "s1")
    assert h1["status"].tolist() == ["ouverte"]
    now = prev_eps.assign(until=[w("2025-03-10")], open=[False], closed_week=[w("2025-03-17")])
    new = pd.DataFrame({"episode_id": ["v|f|2025-W12"], "unit_id": ["v"], "family": ["f"], "since": [w("2025-03-17")],
                        "until": [w("2025-03-17")], "weeks": [1], "open": [True], "closed_week": [pd.NaT]})
    h2 = merge_history(h1, pd.concat([now, new], ignore_index=True), "s2")
    assert h2.set_index("episode_id")["status"].to_dict() == {"u|f|2025-W10": "close", "v|f|2025-W12": "ouverte"}
    assert h2.set_index("episode_id")["first_snapshot"].to_dict() == {"u|f|2025-W10": "s1", "v|f|2025-W12": "s2"}


def test_alert_card_renders_observed_expected_and_protects_small_counts(store):
    from tests.dashboard_data import shared_app

    shared_app(store)
    from observatory.dashboard.pages import veille as page

    an = Analytics(store)
    # A very loose level so this random store has alerts to draw (the page uses veille_alpha).
    loose = watch(an, alpha=0.9)
    alerted = loose.assessed.loc[loose.assessed["alert"], "week"]
    assert not alerted.empty
    res = watch(an, alpha=0.9, last_week=alerted.max())  # the week of an alert becomes "this week"
    assert not res.alerts.empty
    row = next(res.alerts.rename(columns={"count": "observed"}).itertuples())
    text = str(page.alert_card(an, res, row, analyst=True, min_count=5))
    assert "faits observés" in text and "attendus" in text and "Lieux principaux" in text
    assert page.count_text(3, analyst=False, min_count=5) == "< 5"
    assert page.count_text(3, analyst=True, min_count=5) == "3"


def test_elus_alert_card_carries_no_count(store):
    """An élu's card names the alert (unit, family, since when, kind) and carries no weekly count, band, place or chart."""
    from tests.dashboard_data import shared_app

    shared_app(store)
    from observatory.dashboard.pages import veille as page

    an = Analytics(store)
    loose = watch(an, alpha=0.9)
    res = watch(an, alpha=0.9, last_week=loose.assessed.loc[loose.assessed["alert"], "week"].max())
    row = next(res.alerts.rename(columns={"count": "observed"}).itertuples())
    card = str(page.alert_card(an, res, row, analyst=False, min_count=5))
    assert row.name in card and ("nouvelle" in card or "depuis" in card)
    for leak in ("faits observés", "attendus", "intervalle", "Lieux principaux", "Graph", "figure"):
        assert leak not in card, leak


def test_veille_callback_replayed_as_elu_returns_no_count(store, monkeypatch):  # noqa: ANN001
    """The page's callback as an élu: alerts without their counts; the same call as an analyst has them."""
    from tests.dashboard_data import shared_app

    app = shared_app(store)
    from observatory.dashboard import components
    from observatory.dashboard.pages import veille as page
    from observatory.veille.cellules import ALL_CELLULE

    an = Analytics(store)
    loose = watch(an, alpha=0.9)
    res = watch(an, alpha=0.9, last_week=loose.assessed.loc[loose.assessed["alert"], "week"].max())
    monkeypatch.setattr(page, "current_watch", lambda *_a, **_k: res)
    monkeypatch.setattr(components, "analytics", lambda: an)
    observed = [int(v) for v in res.alerts["count"]]

    def replay(analyst: bool) -> str:
        monkeypatch.setattr(components, "is_analyst", lambda: analyst)
        monkeypatch.setattr(components, "is_analyst_view", lambda: analyst)
        with app.server.app_context():
            alerts, _history, _note = page.show(ALL_CELLULE, None)
        return str(alerts)

    elu, analyst = replay(False), replay(True)
    assert "faits observés" in analyst and "Graph" in analyst
    assert "alerte(s)" in elu and "veille-alert" in elu
    for leak in ("faits observés", "attendus", "Lieux principaux", "Graph"):
        assert leak not in elu, leak
    assert all(f"{labels_int(v)} faits" not in elu for v in observed)


def labels_int(v: int) -> str:
    from observatory import labels

    return labels.fmt_int(v)


def test_action_perimeters_are_watched_units(tmp_path):  # noqa: ANN001
    from tests.dashboard_data import install_actions, publish_random_store

    s = install_actions(publish_random_store(get_settings(data_dir=tmp_path / "data"), n=5_000, seed=3, actions=False))
    an = Analytics(s)
    res = watch(an, alpha=0.05)
    # A2023-01 is a 150 m circle (not a zone): it is a unit of its own; A2022-01 is the Mermoz zone, already one.
    assert "action:A2023-01" in set(res.units["unit_id"])
    assert "action:A2022-01" not in set(res.units["unit_id"])
    counts = weekly_counts(an, None)
    assert not counts["unit_id"].str.startswith("action:").any()
