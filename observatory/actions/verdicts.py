"""ONE French verdict from an action's two tests, and the note on its displacement buffer (docs/actions.md,
"Un seul verdict" and "Quand on ne peut pas conclure")."""

from __future__ import annotations

import math

from observatory import labels
from observatory.actions.before_after import Windows
from observatory.actions.significance import (
    ALPHA,
    DiDResult,
    Pair,
    WDDResult,
    _two_sided_p,
    buffer_direction,
    difference_in_differences,
    halving_detectable,
    local_test,
    p_text,
)

WEAK_ALPHA = 0.10


# The overall verdict codes (the page colours them; docs/actions.md, "Un seul verdict"): the strong ones need the
# perimeter and the net total to agree; the "local_" ones are a perimeter effect the net total does not confirm;
# the "weak_" ones a net change carried by the buffer, or only an indication (0.05 ≤ p < 0.10).
VERDICT_CODES = ("no_conclusion", "decrease", "increase", "local_decrease", "local_increase", "weak_decrease", "weak_increase", "no_effect")


def verdict(
    result: WDDResult | None,
    treated: Pair,
    control: Pair,
    control_weight: float,
    windows: Windows,
    has_control: bool = True,
    did: DiDResult | None = None,
) -> tuple[str, str]:
    """(code, French sentence): ONE overall verdict from the two tests, which answer different questions.

    * Perimeter question — did the perimeter change differently from its control? The difference-in-differences
      ``(T1/T0)/(C1/C0)`` (:func:`local_test`; computed from ``treated``/``control`` when ``did`` is None).
    * Net question — counting the 300 m buffer, where crime may have moved (displacement) or also fallen
      (diffusion of benefits), are there fewer incidents than the controls predict? The WDD test.

    Rules, in order (docs/actions.md, "Quand on ne peut pas conclure" and "Un seul verdict"):
    1. windows shorter than MIN_WINDOW_MONTHS or not covered by the data → no_conclusion;
    2. no control area → no_conclusion;
    3. counts so small that even a halving in the perimeter would not be significant → no_conclusion;
    4. net significant (WDD p < 0.05) and the perimeter significant the same way → decrease / increase
       ("compatible with an effect": an observational design never proves causation);
    5. perimeter significant but the net total not (or the other way) → local_decrease / local_increase:
       "effet net non démontré", saying whether the buffer compensated;
    6. net significant but the perimeter not (or against it) → weak_decrease / weak_increase: carried by the buffer;
    7. neither significant: 0.05 ≤ WDD p < 0.10 → weak_* ("indice"); else no_effect, which is not proof of no effect.
    The sentence starts with the conclusion (before the first " : "), then quotes both figures.
    """
    base = "Pas de conclusion possible"
    if not windows.usable:
        return "no_conclusion", f"{base} : {windows.reason}."
    if not has_control:
        return "no_conclusion", f"{base} : aucune zone témoin comparable disponible dans l'arrondissement."
    if result is None or not halving_detectable(treated[0], control[0], control_weight):
        return "no_conclusion", (
            f"{base} : effectifs trop faibles ({labels.fmt_int(treated[0])} faits avant, {labels.fmt_int(treated[1])} après "
            "dans le périmètre) — même une baisse de moitié ne serait pas distinguable du hasard."
        )
    if did is None:
        did = difference_in_differences(treated, control)
    local = local_test(result, did)
    buffer = buffer_direction(result)
    net = 0 if math.isnan(result.p_value) or result.p_value >= ALPHA else (-1 if result.wdd < 0 else 1)
    wdd_txt = f"WDD {labels.fmt_signed(result.wdd, 1)} faits, {p_text(result.p_value)}"
    in_perimeter = f"dans le périmètre par rapport à la zone témoin ({local.text})"
    net_total = f"au total zone tampon comprise ({wdd_txt})"
    word = {-1: "baisse", 1: "hausse"}
    if net and local.direction == net:
        head = "Baisse significative, compatible avec un effet de l'action" if net < 0 else "Hausse significative"
        return ("decrease" if net < 0 else "increase"), f"{head} : {word[net]} {in_perimeter} et {net_total}."
    if local.direction:
        w = word[local.direction]
        # Only a perimeter fall with a buffer rise reads as displacement; a perimeter rise with a buffer fall gets
        # no interpretation (concentration, or more recording where the action put more eyes).
        moved = " (déplacement possible)" if local.direction < 0 else ""
        if net:  # the buffer moved the other way, more than the perimeter: the net total goes against it
            why = f"{word[net]} plus forte dans la zone tampon{moved} : {word[net]} significative {net_total}"
        elif buffer == -local.direction:
            why = f"compensée par une {word[buffer]} dans la zone tampon{moved} ; pas d'évolution significative {net_total}"
        else:
            why = f"non confirmée une fois la zone tampon comptée ; pas d'évolution significative {net_total}"
        return f"local_{'decrease' if local.direction < 0 else 'increase'}", (
            f"Effet net non démontré : {w} significative {in_perimeter}, mais {why}."
        )
    if net:
        w = word[net]
        return f"weak_{'decrease' if net < 0 else 'increase'}", (
            f"{w.capitalize()} nette portée par la zone tampon, pas par le périmètre : {w} significative {net_total}, "
            f"mais pas d'évolution significative {in_perimeter} ; effet de l'action non démontré."
        )
    if result.p_value < WEAK_ALPHA:
        w = word[-1 if result.wdd < 0 else 1]
        return f"weak_{'decrease' if result.wdd < 0 else 'increase'}", (
            f"Indice de {w}, non significatif au seuil de 5 % : {net_total}, pas d'évolution significative {in_perimeter} ; à confirmer sur une période plus longue."
        )
    return "no_effect", (
        f"Pas d'évolution significative : ni {in_perimeter}, ni {net_total} ; cela ne prouve pas l'absence d'effet."
    )


def displacement_note(result: WDDResult | None, local_direction: int = 0) -> str:
    """A French note on the buffer's own term ``ΔD − w_d·ΔCd``, with its figure so the reader can weigh it.

    A significant rise reads as possible displacement and a significant fall as possible diffusion of benefits
    only when the perimeter itself did not rise significantly (``local_direction`` of :func:`local_test`): when
    both rose, or the perimeter rose while the buffer fell, neither word applies.
    """
    if result is None or result.displacement_se == 0:
        return ""
    p = _two_sided_p(result.displacement, result.displacement_se)
    figure = f"{labels.fmt_signed(result.displacement, 1)} faits par rapport à sa zone témoin, {p_text(p)}"
    if p >= ALPHA:
        return f"Zone tampon : {figure} ; pas de déplacement ni de diffusion significatifs."
    meaning = ""
    if local_direction <= 0:
        meaning = " : déplacement possible" if result.displacement > 0 else " : diffusion des bénéfices possible"
    return f"Zone tampon : {'hausse' if result.displacement > 0 else 'baisse'} significative ({figure}){meaning}."
