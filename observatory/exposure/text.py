"""French wording of exposure rates and of their changes, shared by the command line, the pages and the reports."""

from __future__ import annotations

import math

from observatory import labels
from observatory.exposure.format import KINDS


def rate_decimals(rate: float) -> int:
    return 0 if rate >= 100 else 1 if rate >= 1 else 2


def rate_text(rate: float, low: float, high: float, per_label: str = "", reason: str = "") -> str:
    """« 12,3 pour 100 000 entrées (IC 95 % : 9,8 – 15,2) », or « – (reason) » when there is no rate."""
    if rate is None or math.isnan(rate):
        return f"– ({reason})" if reason else "–"
    d = rate_decimals(rate)
    unit = f" {per_label}" if per_label else ""
    return f"{labels.fmt_number(rate, d)}{unit} (IC 95 % : {labels.fmt_number(low, d)} – {labels.fmt_number(high, d)})"


def change_sentence(name: str, row: dict, year: int | None = None) -> str:
    """One sentence on a unit's rate against the year before, the raw count's change beside it.

    « Rapporté à la fréquentation, le risque à la piscine X a baissé de 35 % (de 12,3 à 8,0 faits pour 100 000
    entrées ; écart significatif). » When counts and exposure moved together, it says the rate is stable.
    """
    kind = KINDS[row["kind"]]
    if not row.get("known"):
        return f"{name} : pas de taux rapporté {_to(kind.exposure_word)} ({row.get('reason') or 'exposition inconnue'})."
    d = rate_decimals(max(row["rate"], row["previous_rate"]))
    rates = (f"de {labels.fmt_number(row['previous_rate'], d)} à {labels.fmt_number(row['rate'], d)} faits {kind.per_label}")
    when = f" entre {year - 1} et {year}" if year else ""
    counts = ""
    if not math.isnan(row.get("count_change", math.nan)) and abs(row["count_change"]) >= 0.05:
        verb = "augmenté" if row["count_change"] > 0 else "baissé"
        exp_change = row.get("exposure_change", math.nan)
        moved = "" if math.isnan(exp_change) else (
            f", les {kind.label} sont restées stables" if abs(exp_change) < 0.02 else
            f", les {kind.label} ont {'augmenté' if exp_change > 0 else 'baissé'} de {labels.fmt_pct(abs(exp_change), 0, signed=False)}")
        counted = row.get("counted") or "les faits"
        counts = f"{counted[0].upper()}{counted[1:]} ont {verb} de {labels.fmt_pct(abs(row['count_change']), 0, signed=False)}{when}{moved} ; "
    if row["significant"]:
        verb = "baissé" if row["ratio"] < 1 else "augmenté"
        core = (f"rapporté {_to(kind.exposure_word)}, le risque {_at(name)} a {verb} de "
                f"{labels.fmt_pct(abs(row['ratio'] - 1), 0, signed=False)}{when} ({rates} ; écart significatif, {row.get('test', 'test exact conditionnel')})")
    else:
        core = (f"rapporté {_to(kind.exposure_word)}, le risque {_at(name)} est stable{when} ({rates} ; écart non significatif, "
                f"rapport des taux {labels.fmt_number(row['ratio'], 2)}, IC 95 % {labels.fmt_number(row['low'], 2)} – {labels.fmt_number(row['high'], 2)})")
    sentence = counts + core if counts else core[0].upper() + core[1:]
    return sentence + "."


def _to(word: str) -> str:
    """« à la fréquentation » / « au nombre de logements » (the kind's word already carries « au » when masculine)."""
    return word if word.startswith(("au ", "à ")) else f"à {word}"


def _at(name: str) -> str:
    low = name[0].lower() + name[1:]
    if low.startswith(("piscine", "centre nautique")):
        return f"à la {low}" if low.startswith("piscine") else f"au {low}"
    if low.startswith("hypercentre"):
        return f"dans l'{low}"
    return f"à {name}"
