"""Plain-French sentences generated from the numbers, for elected officials.

The rule of this module: a sentence never says more than the statistics support. A change is called a "hausse"
or a "baisse" (the sign of the difference is a fact), and it is called significant only when the test said so;
no "forte", "nette", "inquiétante" — such adjectives carry no statistical meaning here. When a count is hidden
by the privacy rule, the sentence does not reveal it either (no percentage, no difference).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from observatory.labels import NBSP, fmt_int, fmt_number

VOWELS = "aeiouyàâäéèêëîïôöûüh"


@dataclass(frozen=True)
class Change:
    """One comparison of a count between two periods, as the diagnostic computed it."""

    label: str  # French label of what is counted ("Cambriolages de logement")
    current: int
    previous: int
    previous_label: str  # "2024", or "l'an dernier"
    p_value: float | None = None
    significant: bool = False
    unreliable: bool = False  # too few facts for the test to mean anything
    hidden: bool = False  # one of the two counts is hidden by the privacy rule
    secondary: bool = False  # ...only by complementary suppression (the counts themselves are not small)
    subject: str = ""  # overrides the subject built from the label ("Les faits enregistrés à Lyon 3e")
    comparable: bool = True  # False: a partner has no data in one of the periods (``reason`` says which)
    reason: str = ""  # « pas de comparaison possible : pas de données pour … »
    test: str = ""  # the test used (observatory.analytics.inference codes); "" = the default test name

    @property
    def diff(self) -> int:
        return self.current - self.previous

    @property
    def ratio(self) -> float | None:
        return None if self.previous == 0 else self.diff / self.previous


def subject(label: str) -> str:
    """The grammatical subject for a label: "Les cambriolages de logement", "Les faits de tranquillité publique".

    Labels whose first word is plural ("Cambriolages", "Violences", "Vols", "Atteintes") take "Les" directly;
    singular ones ("Tranquillité publique", "Usage de stupéfiants") become "Les faits de …" so the verb stays
    plural in every sentence.
    """
    text = label.strip()
    low = text[:1].lower() + text[1:]
    first = low.split(" ", 1)[0]
    if low.startswith("non classé"):
        return "Les faits non classés"
    if low == "autres":
        return "Les autres faits"
    if first.endswith(("s", "x")):
        return "Les " + low
    return ("Les faits d'" if low[:1] in VOWELS else "Les faits de ") + low


def pct_text(ratio: float) -> str:
    """Percent without sign, rounded to the unit, "< 1 %" when it would round to 0 while the count moved."""
    value = abs(ratio) * 100
    if 0 < value < 0.5:
        return f"moins de 1{NBSP}%"
    return f"{fmt_number(round(value), 0)}{NBSP}%"


def facts_text(n: int) -> str:
    return f"{fmt_int(abs(n))} fait" + ("s" if abs(n) > 1 else "")


def change_sentence(change: Change) -> str:
    """One sentence describing an evolution, e.g.
    "Les cambriolages de logement baissent de 12 % (−85 faits) par rapport à 2024 ; cette baisse est significative."
    """
    who = change.subject or subject(change.label)
    ref = change.previous_label
    ref_text = f"par rapport à {ref}"
    if change.hidden and change.secondary:
        return f"{who} : évolution {ref_text} non publiée (secret statistique : elle permettrait de retrouver par différence un petit nombre masqué)."
    if change.hidden:
        return f"{who} : trop peu de faits pour publier leur évolution {ref_text} (règle de confidentialité)."
    if not change.comparable:
        # Missing data are not zeros: no direction, no difference, only why.
        why = change.reason or "pas de comparaison possible"
        return f"{who} : {why[:1].lower() + why[1:]} (aucune évolution {ref_text} n'est calculée)."
    if change.current == change.previous:
        return f"{who} sont au même niveau qu'en {ref} ({facts_text(change.current)})." if ref[:1].isdigit() else (
            f"{who} sont au même niveau ({facts_text(change.current)})."
        )
    if change.previous == 0:
        return f"{who} : {facts_text(change.current)} enregistrés, aucun {ref_text.replace('par rapport à', 'en')}."
    up = change.diff > 0
    verb = "augmentent" if up else "baissent"
    noun = "hausse" if up else "baisse"
    sign = "+" if up else "−"
    if change.unreliable:
        # On small counts a percentage swings by tens of points for one or two facts: give the counts instead.
        head = f"{who} passent de {fmt_int(change.previous)} à {facts_text(change.current)} ({sign}{fmt_int(abs(change.diff))}) {ref_text}"
    else:
        head = f"{who} {verb} de {pct_text(change.ratio)} ({sign}{facts_text(change.diff)}) {ref_text}"
    if change.significant:
        tail = f"cette {noun} est significative"
    elif change.unreliable:
        tail = "les effectifs sont trop faibles pour conclure"
    else:
        # Say what the test says, nothing more: "not significant" means the data do not allow a conclusion, not
        # that the change is "usual" (the test does not measure what is usual from one year to the next).
        tail = f"l'écart n'est pas statistiquement significatif ({test_name(change.test)})"
    return f"{head} ; {tail}."


def total_sentence(place: str, year: int, total: int, hidden: bool = False, min_count: int = 5, secondary: bool = False) -> str:
    """ "En 2025, 12 345 faits ont été enregistrés à Lyon 3e." ``secondary``: hidden by complementary suppression
    (the count is not small: saying "moins de 5" would be false)."""
    if hidden and secondary:
        return (f"En {year}, le nombre de faits enregistrés à {place} n'est pas publié (secret statistique : il permettrait "
                f"de retrouver par différence un nombre inférieur à {min_count}).")
    if hidden:
        return f"En {year}, moins de {min_count} faits ont été enregistrés à {place} : le chiffre exact n'est pas publié."
    return f"En {year}, {fmt_int(total)} fait{'s' if total > 1 else ''} {'ont' if total > 1 else 'a'} été enregistré{'s' if total > 1 else ''} à {place}."


def priorities_sentence(labels: list[str], year: int, previous_year: int, no_comparison: str = "") -> str:
    """What rose significantly; says so plainly when nothing did. ``no_comparison``: why the year cannot be
    compared with the previous one (no data for it): then no comparison is claimed at all."""
    if no_comparison:
        why = no_comparison[:1].upper() + no_comparison[1:]
        return f"{why} : aucune évolution entre {previous_year} et {year} n'est publiée."
    if not labels:
        return (
            f"Aucune catégorie n'a augmenté de façon statistiquement significative entre {previous_year} et {year} "
            f"(seuil 5{NBSP}%, test adapté à la variabilité des comptes, corrigé pour l'ensemble des évolutions publiées) : les hausses observées ne permettent pas de conclusion."
        )
    names = [label[:1].lower() + label[1:] for label in labels]
    if len(names) > 3:
        return f"{len(names)} catégories ont augmenté de façon significative en {year} par rapport à {previous_year} (voir « Priorités de l'année »)."
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " et " + names[-1]
    s = "s" if len(names) > 1 else ""
    return f"Hausse{s} significative{s} en {year} par rapport à {previous_year} : {listed}."


def rate_text(rate: float | None) -> str:
    if rate is None or (isinstance(rate, float) and math.isnan(rate)):
        return "–"
    return f"{fmt_number(rate, 1)} pour 1{NBSP}000 habitants"


TEST_NAME = f"test exact de Poisson, seuil 5{NBSP}%"  # a Change that does not say which test
_TEST_NAMES = {
    "quasi_poisson": f"test quasi-Poisson à dispersion estimée, seuil 5{NBSP}%",
    "poisson_exact": f"test exact de Poisson, seuil 5{NBSP}%",
}


def test_name(code: str) -> str:
    """The French name of the test that produced a figure (see observatory.analytics.inference)."""
    return _TEST_NAMES.get(code, TEST_NAME)

HOW_TO_READ = (
    "Les chiffres comptent les faits enregistrés par les partenaires de l'observatoire (police nationale, police "
    "municipale, TCL, bailleurs, piscines, médiateurs) : ils mesurent l'activité enregistrée, pas la délinquance "
    "réelle, qui n'est pas toujours signalée. Une évolution est dite « significative » lorsqu'un test statistique "
    "(seuil de 5\u00a0%) indique qu'un écart aussi grand serait rare si le niveau n'avait pas changé ; dans le cas "
    "contraire, elle n'autorise pas de conclusion (ce qui ne veut pas dire que rien n'a changé). Les chiffres de la "
    "délinquance varient plus que le hasard pur (faits en série, pratiques d'enregistrement) : le test mesure cette "
    "variabilité sur l'historique mensuel de chaque série (test quasi-Poisson) et ne garde le test exact de Poisson "
    "que lorsqu'elle ne peut pas être estimée. Les années sont comparées par jour (365 ou 366 jours). Toutes les "
    "évolutions publiées pour l'année (ville, arrondissements, zones) sont corrigées ensemble (Benjamini–Hochberg), "
    "car au seuil de 5\u00a0% environ une comparaison sur vingt paraîtrait « significative » par le seul hasard ; "
    "cela limite la part de fausses alertes parmi les évolutions annoncées, et une même ligne porte le même verdict "
    "dans tous les documents. Aucune évolution n'est calculée lorsqu'un partenaire n'a pas transmis de données pour "
    "un des mois comparés (« pas de comparaison possible »). Une évolution d'une seule année ne fait pas une tendance. Les petits nombres (de 1 à "
    "{threshold}) sont remplacés par « < {min_count} » pour protéger les personnes, et d'autres cases peuvent être "
    "masquées (« s ») pour qu'on ne puisse pas les retrouver par différence. Les taux rapportent les faits à la "
    "population légale INSEE de l'arrondissement."
)


def how_to_read(min_count: int) -> str:
    return HOW_TO_READ.format(threshold=min_count - 1, min_count=min_count)


def official_line(row: dict, previous_year: int) -> str:
    """One official SSMSI figure as quoted in the summary, from a ``official.report_summary`` dict, e.g.
    "Cambriolages de logement : 3 000 infractions en 2025 (2 700 en 2024) ; 10,0 pour 1 000 logements."
    Figures the SSMSI did not diffuse are said to be so, never guessed."""
    label = str(row.get("label") or row.get("indicator") or "")
    year = row.get("year")
    count = row.get("count")
    if count is None:
        return f"{label} : non diffusé par le SSMSI pour {year} (effectif trop faible ou qualité insuffisante)."
    unit = str(row.get("unit") or "").strip().lower()
    unit_text = f" {unit}{'s' if count > 1 and unit and not unit.endswith(('s', 'x')) else ''}" if unit else ""
    text = f"{label} : {fmt_int(count)}{unit_text} en {year}"
    prev = row.get("previous_count")
    if prev is not None:
        text += f" ({fmt_int(prev)} en {previous_year})"
    rate = row.get("rate")
    if rate is not None and not (isinstance(rate, float) and math.isnan(rate)):
        text += f" ; {fmt_number(rate, 1)} {row.get('rate_unit') or 'pour 1 000'}".replace("1 000", f"1{NBSP}000")
    return text + "."
