"""The weekly watch's model on simulated series: false alarms at the stated level, detection of a rise,
coarser levels when history is short, stable episode ids."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from observatory.veille.model import (
    VeilleError,
    assess,
    complete_weeks,
    episodes,
    iso_week,
    resolve_levels,
    week_start,
)

HISTORY, WINDOW = 156, 13
ALPHA = 0.05


def simulate(rng: np.random.Generator, n_units: int = 20, rise_unit: int | None = None, rise_week: int = 4,
             rise: float = 1.5, rise_weeks: int = 4, base: tuple[float, float] = (2, 60),
             size: float = 10.0) -> tuple[pd.DataFrame, pd.Timestamp]:
    """Weekly NB counts (size 10: Var = μ + μ²/10) with a trend, a season and, optionally, a +50 % step in one unit."""
    weeks = pd.date_range("2021-01-04", periods=HISTORY + WINDOW, freq="7D")
    t = np.arange(len(weeks)) / 52.18
    doy = weeks.day_of_year.to_numpy() / 365.2425
    parts = []
    for u in range(n_units):
        mu = rng.uniform(*base) * np.exp(rng.uniform(-0.05, 0.05) * t + rng.uniform(0, 0.3) * np.sin(2 * np.pi * doy + rng.uniform(0, 6.28)))
        if u == rise_unit:
            mu[HISTORY + rise_week:HISTORY + rise_week + rise_weeks] *= rise
        y = rng.negative_binomial(size, size / (size + mu))
        parts.append(pd.DataFrame({"unit_id": f"u{u}", "family": "f", "week": weeks.astype("datetime64[us]"), "count": y}))
    return pd.concat(parts, ignore_index=True), weeks[HISTORY]


def test_weekly_false_alarm_rate_stays_at_the_stated_level():
    # 20 units, 13 watched weeks, 60 seeded runs = 780 watched weeks. Bonferroni over the week's 40 tests
    # promises P(at least one alert in a week with no change) <= alpha.
    any_alert = []
    for seed in range(60):
        weekly, start = simulate(np.random.default_rng(seed))
        a = assess(weekly, start, alpha=ALPHA)
        assert set(a["m"]) == {20}
        any_alert += a.groupby("week")["alert"].any().tolist()
    rate = float(np.mean(any_alert))
    print(f"weekly false-alarm rate: {rate:.3f} over {len(any_alert)} weeks")
    assert rate <= ALPHA + 0.01


def test_a_fifty_percent_rise_is_found_within_two_weeks():
    # One unit at 60–100 facts a week (an arrondissement's property crime) with mild overdispersion
    # (Var = μ + μ²/100) rises by 50 % for 4 weeks, among 19 others. With heavy overdispersion (size 10) a +50 %
    # week is only ~1.4 standard deviations and no test at a city-wide 5 % false-alarm rate sees it in 2 weeks.
    found = []
    for seed in range(25):
        rng = np.random.default_rng(1000 + seed)
        weekly, start = simulate(rng, rise_unit=0)
        big, _ = simulate(np.random.default_rng(5000 + seed), n_units=1, rise_unit=0, base=(60, 100), size=100.0)
        weekly = pd.concat([weekly[weekly["unit_id"] != "u0"], big], ignore_index=True)
        a = assess(weekly, start, alpha=ALPHA)
        mine = a[a["unit_id"] == "u0"].reset_index(drop=True)
        found.append(bool(mine.loc[4:5, "alert"].any()))
    rate = float(np.mean(found))
    print(f"detected within two weeks: {rate:.2f}")
    assert rate >= 0.8


def test_no_change_gives_no_alert_and_a_spike_is_above_the_upper_bound():
    rng = np.random.default_rng(3)
    weekly, start = simulate(rng, n_units=3, base=(20, 30))
    weekly.loc[(weekly["unit_id"] == "u1") & (weekly["week"] == start + pd.Timedelta(weeks=5)), "count"] = 120
    a = assess(weekly, start)
    flagged = a[a["alert"]]
    assert ("u1", start + pd.Timedelta(weeks=5)) in set(zip(flagged["unit_id"], flagged["week"]))
    row = a[(a["unit_id"] == "u1") & (a["week"] == start + pd.Timedelta(weeks=5))].iloc[0]
    assert row["count"] > row["upper"] > row["expected"] > row["lower"]
    ep = episodes(a)
    assert "u1|f|" + iso_week(start + pd.Timedelta(weeks=5)) in set(ep["episode_id"])


def test_short_history_is_watched_at_a_coarser_level():
    weeks = pd.date_range("2023-01-02", periods=80, freq="7D")
    counts = pd.DataFrame({
        "unit_id": ["z1"] * 80 + ["z1"] * 80 + ["arr:69381"] * 80,
        "family": ["cambriolages"] * 80 + ["toutes"] * 80 + ["cambriolages"] * 80,
        "week": list(weeks) * 3,
        "count": [0] * 79 + [1] + [3] * 80 + [12] * 80,
    })
    counts["week"] = counts["week"].astype("datetime64[us]")
    req = pd.DataFrame({"unit_id": ["z1", "z2"], "family": ["cambriolages", "cambriolages"]})
    lv = resolve_levels(req, counts, weeks[70], 52, {"z1": "arr:69381", "z2": "arr:69381"}).set_index("unit_id")
    assert (lv.loc["z1", "watched_unit"], lv.loc["z1", "watched_family"], lv.loc["z1", "level"]) == ("z1", "toutes", "toutes familles")
    assert (lv.loc["z2", "watched_unit"], lv.loc["z2", "level"]) == ("arr:69381", "arrondissement")


def test_complete_weeks_fills_zeros_and_iso_weeks_parse():
    c = pd.DataFrame({"unit_id": ["a"], "family": ["f"], "week": [pd.Timestamp("2025-03-31")], "count": [4]})
    full = complete_weeks(c, pd.Timestamp("2025-03-24"), pd.Timestamp("2025-04-07"))
    assert full["count"].tolist() == [0, 4, 0]
    assert week_start("2025-W14") == pd.Timestamp("2025-03-31")
    assert iso_week(pd.Timestamp("2025-04-06")) == "2025-W14"
    with pytest.raises(VeilleError, match="2025-W14"):
        week_start("semaine 14")
    with pytest.raises(VeilleError, match="pas de semaine 53"):
        week_start("2025-W53")
