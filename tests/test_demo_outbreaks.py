"""The demo's injected outbreaks: only in their weeks, and found by the weekly watch in the week they start or
the next."""

from __future__ import annotations

import pandas as pd

from observatory.demo import outbreaks


def test_outbreaks_only_touch_their_weeks():
    assert outbreaks.burglary_wave(2025, 6, 1.0, "cambriolages_logement").empty
    assert outbreaks.burglary_wave(2024, 11, 1.0, "cambriolages_logement").empty
    wave = pd.concat([outbreaks.burglary_wave(2025, m, 1.0, "cambriolages_logement") for m in (11, 12)])
    weeks = set(wave["occurred_at"].dt.isocalendar().week)
    assert weeks == set(range(47, 53)) and 6 * 14 * 0.7 < len(wave) < 6 * 14 * 1.3
    labels = {"Bagarre": "violences_physiques_hors_famille", "Vol en vestiaire": "vols_sans_violence_personnes", "Incivilité": "incivilites"}
    spike = pd.concat([outbreaks.pool_spike(2025, m, 1.0, labels, "Piscine") for m in (7, 8)])
    assert set(spike["occurred_at"].dt.isocalendar().week) == {28, 29, 30}


def test_the_burglary_wave_is_found_in_its_first_or_second_week(tmp_path):
    from observatory.analytics.engine import Analytics
    from observatory.config import get_settings
    from observatory.demo import generate, ingest_demo
    from observatory.veille.model import week_start
    from observatory.veille.watch import watch

    settings = get_settings(data_dir=tmp_path / "data")
    result = generate(settings, years=(2023, 2025), sources=["police_nationale"], seed=42)
    ingest_demo(settings, result)
    an = Analytics(settings)
    for week in ("2025-W47", "2025-W48"):
        res = watch(an, alpha=settings.veille_alpha, last_week=week_start(week))
        found = res.alerts[(res.alerts["unit_id"] == "zone:qpv_mermoz")]
        if not found.empty:
            break
    assert not found.empty, "the Mermoz burglary wave (from 2025-W47) is not found by W48"
    assert set(found["family"]) & {"atteintes_biens", "toutes"}
