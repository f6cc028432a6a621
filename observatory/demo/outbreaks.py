"""Outbreaks injected into the demo so the Veille page and bulletins have real alerts to show.

Each draws from its own generator (seeded by the outbreak and the month), after the partner's ordinary draws,
so every other incident of the demo stays what it was for a given seed; only the months concerned gain rows.

- A burglary wave in Mermoz (8e, a priority neighbourhood): +14 home burglaries a week within 350 m of its centre, for the
  six ISO weeks 47–52 of 2025 (the last weeks of the default demo, so the page opens on it).
- A summer spike at the Duchère pool: +20 incidents a week (fights, thefts in changing rooms) in ISO weeks
  28–30 of 2025 (see it with ``observatory veille bulletin --semaine 2025-W28``).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

OUTBREAK_SEED = 2025_0620
WAVE = {"year": 2025, "first_week": 47, "weeks": 6, "per_week": 14, "lon": 4.8845, "lat": 45.7330, "radius_m": 350.0,
        "label": "Cambriolages de logement"}
POOL_SPIKE = {"year": 2025, "first_week": 28, "weeks": 3, "per_week": 20, "zone_id": "piscine_duchere",
              "labels": ("Bagarre", "Vol en vestiaire", "Incivilité")}


def _days(spec: dict, year: int, month: int) -> np.ndarray:
    """The days of ``year``-``month`` inside the outbreak's weeks."""
    if year != spec["year"]:
        return np.array([], dtype="datetime64[D]")
    first = np.datetime64(date.fromisocalendar(spec["year"], spec["first_week"], 1))
    days = first + np.arange(7 * spec["weeks"])
    months = days.astype("datetime64[M]").astype(int) % 12 + 1
    return days[months == month]


def burglary_wave(year: int, month: int, scale: float, category: str) -> pd.DataFrame:
    """Extra police-nationale burglaries of the month (columns of ``draw_events``)."""
    from observatory.demo.model import to_l93

    days = _days(WAVE, year, month)
    rng = np.random.default_rng([OUTBREAK_SEED, 1, year, month])
    counts = rng.poisson(WAVE["per_week"] / 7 * scale, len(days))
    n = int(counts.sum())
    day = np.repeat(days, counts).astype("datetime64[m]")
    hours = rng.choice(np.arange(16, 23), size=n)  # winter evenings: darkness before people are home
    occurred = day + (hours * 60 + rng.integers(0, 60, n)).astype("timedelta64[m]")
    cx, cy = to_l93([WAVE["lon"]], [WAVE["lat"]])
    r = WAVE["radius_m"] * np.sqrt(rng.random(n))
    t = rng.random(n) * 2 * np.pi
    return pd.DataFrame({"label": np.full(n, WAVE["label"], dtype=object), "category": np.full(n, category, dtype=object),
                         "occurred_at": occurred.astype("datetime64[us]"), "x": cx[0] + r * np.cos(t), "y": cy[0] + r * np.sin(t)})


def pool_spike(year: int, month: int, scale: float, labels: dict[str, str], site_name: str) -> pd.DataFrame:
    """Extra pool-log incidents of the month (columns of ``Piscines.events``)."""
    days = _days(POOL_SPIKE, year, month)
    rng = np.random.default_rng([OUTBREAK_SEED, 2, year, month])
    counts = rng.poisson(POOL_SPIKE["per_week"] / 7 * scale, len(days))
    n = int(counts.sum())
    day = np.repeat(days, counts).astype("datetime64[m]")
    label = rng.choice(np.array(POOL_SPIKE["labels"], dtype=object), size=n)
    occurred = day + (rng.integers(14, 20, n) * 60 + rng.integers(0, 60, n)).astype("timedelta64[m]")
    return pd.DataFrame({"label": label, "category": [labels[x] for x in label], "site": POOL_SPIKE["zone_id"],
                         "site_name": site_name, "occurred_at": occurred.astype("datetime64[us]")})
