"""One verdict per action from two tests that answer different questions (review #7b).

The difference-in-differences answers "did the perimeter change differently from its control?"; the WDD answers
"counting the 300 m buffer, are there fewer incidents than the controls predict?". Hand-built counts where they
agree, where they disagree (the review's A2022-01 and A2023-01 situations) and where the counts are too small;
then a property: the verdict code always matches the table's two intervals.
"""

from __future__ import annotations

import math
from datetime import date

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from observatory.actions import evaluation as ev

OK = ev.evaluation_windows(date(2024, 3, 1), 12, date(2022, 1, 1), date(2025, 6, 30))


def row(treated, control, buffer, buffer_control):
    """The evaluation row of hand counts, weights as the adapter sets them (T0/C0 and D0/Cd0)."""
    counts = ev.AreaCounts(treated, control, buffer, treated[0] / control[0], buffer[0] / buffer_control[0], buffer_control)
    return ev.evaluate_counts(counts, OK)


def test_both_tests_agree_on_a_decrease():
    # T 200 → 100, C flat, buffer flat: DiD ratio 0.5, log SE √(1/200+1/100+1/200+1/200) = 0.158, z = −4.38;
    # WDD = −100 with SE √(200+100+400+100+100+200) = √1100 → z = −3.02.
    r = row((200, 100), (200, 200), (100, 100), (100, 100))
    assert r["verdict_code"] == "decrease" and r["significant"]
    assert r["did_ci_high"] < 1 and r["ci_high"] < 0  # both intervals exclude 0 on the same side
    assert r["verdict"].startswith("Baisse significative, compatible avec un effet de l'action : ")
    assert "différence de différences −50\u00a0%" in r["verdict"] and "WDD −100,0 faits" in r["verdict"]
    assert "pas de déplacement ni de diffusion significatifs" in r["displacement_note"]


def test_both_tests_agree_on_nothing():
    r = row((200, 195), (200, 200), (100, 100), (100, 100))
    assert r["verdict_code"] == "no_effect" and not r["significant"]
    assert r["verdict"].startswith("Pas d'évolution significative : ni dans le périmètre")
    assert "ne prouve pas l'absence d'effet" in r["verdict"]


def test_perimeter_decrease_offset_by_displacement_is_not_a_net_effect():
    # The review's A2023-01 situation. T 200 → 140 against a flat control: DiD 0.7, log SE
    # √(1/200+1/140+1/200+1/200) = 0.1488, z = −2.40, p = 0.017 (interval excludes 0). The buffer rises
    # 200 → 270 against a flat control: +70, SE √(200+270+400) = 29.5, p = 0.018. WDD = −60 + 70 = +10,
    # SE √1610 = 40.1, p = 0.80: net effect not shown.
    r = row((200, 140), (200, 200), (200, 270), (200, 200))
    assert r["did_ci_high"] < 1 and r["p_value"] > 0.05
    assert r["verdict_code"] == "local_decrease" and not r["significant"]
    assert r["verdict"].startswith("Effet net non démontré : baisse significative dans le périmètre")
    assert "compensée par une hausse dans la zone tampon (déplacement possible)" in r["verdict"]
    assert "p = 0,803" in r["verdict"]
    assert r["local_p_value"] == pytest.approx(0.0165, abs=5e-4)
    assert r["buffer_p_value"] == pytest.approx(0.0178, abs=5e-4)
    assert r["displacement_note"].startswith("Zone tampon : hausse significative (+70,0 faits")


def test_perimeter_increase_with_a_buffer_fall_gets_no_flattering_reading():
    # The review's A2022-01 situation: DiD +80 % [+24 % ; +160 %] while the WDD total is 0 (p = 1).
    r = row((100, 180), (100, 100), (200, 120), (200, 200))
    assert r["did_ci_low"] > 1 and r["p_value"] > 0.05
    assert r["verdict_code"] == "local_increase"
    assert r["verdict"].startswith("Effet net non démontré : hausse significative dans le périmètre")
    assert "compensée par une baisse dans la zone tampon ;" in r["verdict"]
    # A fall around a perimeter that rose is not a "diffusion of benefits".
    assert "diffusion" not in r["verdict"] and "diffusion" not in r["displacement_note"]


def test_perimeter_decrease_not_confirmed_without_a_buffer_change():
    # T 200 → 140 (DiD p = 0.017) but a noisy buffer with no significant change of its own (w_d = 0.75):
    # WDD = −60 + 10 = −50, SE √(340 + 400 + 610 + 0.75²·800) = 42.4, p = 0.24.
    r = row((200, 140), (200, 200), (300, 310), (400, 400))
    assert r["verdict_code"] == "local_decrease"
    assert "non confirmée une fois la zone tampon comptée" in r["verdict"]


def test_perimeter_decrease_outweighed_by_displacement_is_a_net_increase_not_a_success():
    # T −60 (significant), buffer +200 against its flat control: WDD +140, SE √(340+400+800+0.75²·800) = 44.6,
    # p = 0.002.
    r = row((200, 140), (200, 200), (300, 500), (400, 400))
    assert r["p_value"] < 0.05 and r["wdd"] > 0 and r["did_ci_high"] < 1
    assert r["verdict_code"] == "local_decrease" and not r["significant"]
    assert "hausse plus forte dans la zone tampon (déplacement possible) : hausse significative au total" in r["verdict"]


def test_net_decrease_carried_by_the_buffer_is_not_credited_to_the_action():
    # Perimeter flat against its control (DiD −5 %, not significant); buffer 400 → 250: WDD −160, p < 0.001.
    r = row((200, 190), (200, 200), (400, 250), (400, 400))
    assert r["p_value"] < 0.05 and r["did_ci_low"] < 1 < r["did_ci_high"]
    assert r["verdict_code"] == "weak_decrease" and not r["significant"]
    assert r["verdict"].startswith("Baisse nette portée par la zone tampon, pas par le périmètre : ")
    assert "effet de l'action non démontré" in r["verdict"]


def test_indication_only_between_five_and_ten_percent():
    # T 500 → 425, flat control, a tiny flat buffer: WDD −75, SE √(500+425+1000+2+2+4) = 44.0, z = −1.71,
    # p = 0.088; DiD 0.85, log SE √(2/500 + 1/425 + 1/500) = 0.0914, z = −1.78, p = 0.075 (not significant).
    r = row((500, 425), (500, 500), (2, 2), (2, 2))
    assert 0.05 <= r["p_value"] < 0.10 and r["local_p_value"] >= 0.05
    assert r["verdict_code"] == "weak_decrease"
    assert r["verdict"].startswith("Indice de baisse, non significatif au seuil de 5 % : ")


def test_too_small_counts_give_no_conclusion_whatever_the_tests_say():
    r = row((12, 2), (12, 12), (10, 30), (10, 10))
    assert r["verdict_code"] == "no_conclusion" and r["unreliable"]
    assert "effectifs trop faibles (12 faits avant, 2 après" in r["verdict"]
    assert r["displacement_note"] == ""


def test_a_perimeter_emptied_to_zero_falls_back_on_the_wdd_local_term():
    # T1 = 0 makes the DiD undefined; the perimeter answer then uses ΔT − w·ΔC = −100, SE √(100 + 200) → p < 0.001.
    r = row((100, 0), (100, 100), (50, 50), (50, 50))
    assert math.isnan(r["did_ratio"])
    assert r["verdict_code"] == "decrease"
    assert "−100,0 faits par rapport à la zone témoin, p < 0,001" in r["verdict"]


COUNTS = st.integers(min_value=1, max_value=600)


@hsettings(max_examples=300, deadline=None)
@given(COUNTS, COUNTS, COUNTS, COUNTS, COUNTS, COUNTS, COUNTS, COUNTS)
def test_verdict_code_matches_the_two_intervals_the_table_shows(t0, t1, c0, c1, d0, d1, e0, e1):
    r = row((t0, t1), (c0, c1), (d0, d1), (e0, e1))
    code = r["verdict_code"]
    if code == "no_conclusion":
        assert not ev.halving_detectable(t0, c0, t0 / c0)
        return
    # The perimeter answer is the DiD interval; the net answer is the WDD interval (both 95 %).
    local = -1 if r["did_ci_high"] < 1 else (1 if r["did_ci_low"] > 1 else 0)
    net = -1 if r["ci_high"] < 0 else (1 if r["ci_low"] > 0 else 0)
    expected = {
        (-1, -1): "decrease", (1, 1): "increase",
        (-1, 0): "local_decrease", (-1, 1): "local_decrease", (1, 0): "local_increase", (1, -1): "local_increase",
        (0, -1): "weak_decrease", (0, 1): "weak_increase",
    }
    if (local, net) == (0, 0):
        assert code in ("no_effect", "weak_decrease", "weak_increase")
        assert (code != "no_effect") == (r["p_value"] < ev.WEAK_ALPHA)
    else:
        assert code == expected[(local, net)]
    assert r["significant"] == (code in ("decrease", "increase"))
    # Never "compatible with an effect" unless both tests show a decrease.
    assert ("compatible avec un effet" in r["verdict"]) == (code == "decrease")
