"""Figures an élu quotes first: the home page's « Du » comparison, annualised rates, zone densities per year."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from observatory.analytics import Analytics, Filters
from observatory.dashboard.components import change_text
from tests.incident_factory import incidents, write_snapshot


def _daily(start: str, end: str, per_day: int, skip: tuple[str, ...] = ()) -> list[str]:
    """``per_day`` facts at noon every day from start to end, except in the months listed in ``skip`` (YYYY-MM)."""
    days = pd.date_range(start, end, freq="D")
    return [f"{d:%Y-%m-%d} 12:00" for d in days if f"{d:%Y-%m}" not in skip for _ in range(per_day)]


def _two_partners(tmp_path, settings, skip_tcl: tuple[str, ...] = ()) -> Analytics:
    """Police nationale and TCL at constant rates per day from 2021 to 15/07/2025: no change at all."""
    pn = _daily("2021-01-01", "2025-07-15", 3)
    tcl = _daily("2021-01-01", "2025-07-15", 2, skip=skip_tcl)
    table = incidents(
        occurred_at=pn + tcl,
        source=["police_nationale"] * len(pn) + ["tcl"] * len(tcl),
        source_id=[f"P{i}" for i in range(len(pn))] + [f"T{i}" for i in range(len(tcl))],
    )
    return Analytics.from_files(write_snapshot(table, tmp_path / "snap"), settings)


# 1. The home page's « Du » ----------------------------------------------------------------------------------------
@pytest.fixture
def overview(settings):
    from observatory.dashboard.app import create_app

    create_app(settings)  # Dash pages register only once an app exists
    from observatory.dashboard.pages import overview

    return overview


def test_the_home_page_du_does_not_compare_with_months_a_partner_did_not_deliver(tmp_path, settings, overview):
    # TCL delivered nothing for March and April 2024; the home page is opened with « Du » = 01/03/2025.
    an = _two_partners(tmp_path, settings, skip_tcl=("2024-03", "2024-04"))
    f = Filters(start=date(2025, 3, 1))
    ref = date(2025, 7, 15)
    total = overview.period_compare(an, f, ref, "ytd").iloc[0]
    assert (total["current_start"], total["previous_start"], total["previous_end"]) == (date(2025, 3, 1), date(2024, 3, 1), date(2024, 7, 15))
    assert not total["comparable"] and not total["significant"] and pd.isna(total["p_value"])
    text, tone = change_text(total)
    assert text.startswith("pas de comparaison possible") and "mars 2024" in text and "avril 2024" in text and tone == "neutral"
    by_cat = overview.period_compare(an, f, ref, "ytd", by=("category",))
    assert not by_cat["significant"].any() and not by_cat["comparable"].any()


def test_the_home_page_du_uses_the_test_of_every_other_comparison(tmp_path, settings, overview):
    an = _two_partners(tmp_path, settings)
    total = overview.period_compare(an, Filters(start=date(2025, 3, 1)), date(2025, 7, 15), "ytd").iloc[0]
    # 137 days against 137: both partners covered, same rate per day, the dispersion-aware test says so.
    assert total["comparable"] and total["exposure_ratio"] == pytest.approx(1.0)
    assert total["current"] == total["previous"] == 5 * 137
    assert not total["significant"] and total["test"] != "" and "phi" in total
