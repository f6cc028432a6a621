"""Plain French for élus: place names with their articles, and sentences without test names or p-values."""

from __future__ import annotations

import pytest

from observatory import labels


@pytest.mark.parametrize(("name", "expected"), [
    ("Hypercentre", "près de l'hypercentre"),
    ("Hypercentre (Presqu'île et Vieux Lyon)", "près de l'hypercentre (Presqu'île et Vieux Lyon)"),
    ("Piscine de Vaise", "près de la piscine de Vaise"),
    ("Centre nautique Tony-Bertrand (piscine du Rhône)", "près du centre nautique Tony-Bertrand (piscine du Rhône)"),
    ("États-Unis", "près des États-Unis"),
    ("La Duchère", "près de La Duchère"),
    ("Mermoz", "près de Mermoz"),
    ("Ainay", "près d'Ainay"),
    ("Les Brotteaux", "près des Brotteaux"),
])
def test_near_gives_the_article(name, expected):  # noqa: ANN001
    assert labels.near(name) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("Les faits augmentent de 1 % (+776 faits) par rapport à 2024 ; l'écart n'est pas statistiquement significatif "
     "(test quasi-Poisson à dispersion estimée, seuil 5 %).",
     "Les faits augmentent de 1 % (+776 faits) par rapport à 2024 ; l'écart n'est pas statistiquement significatif."),
    ("Objectif non atteint : −24 % constaté pour −30 % visé (écart non significatif, p = 0,653).",
     "Objectif non atteint : −24 % constaté pour −30 % visé (écart non significatif)."),
    ("Zone tampon : +38,9 faits par rapport à sa zone témoin, p = 0,664 ; pas de déplacement.",
     "Zone tampon : +38,9 faits par rapport à sa zone témoin ; pas de déplacement."),
    ("baisse dans le périmètre (différence de différences −27 % [−39 % ; −13 %]), et au total (WDD +47,3 faits, p = 0,131).",
     "baisse dans le périmètre (écart −27 %), et au total (+47,3 faits)."),
    ("Hausse significative (BH, p < 0,05).", "Hausse significative."),
    ("Source : instantané 20261205T071545595714Z du 05/12/2026.", "Source : instantané du 05/12/2026."),
    ("Lyon : 20,3 % (IC 95 % : 18,1 – 22,7) des habitants.", "Lyon : 20,3 % (entre 18,1 et 22,7) des habitants."),
    ("2 960 € par fait évité (IC 95 % : 1 850 € à 7 400 €)", "2 960 € par fait évité (entre 1 850 € et 7 400 €)"),
    ("Pour 100 faits (IC 95 %)", "Pour 100 faits (fourchette)"),
])
def test_plain_text_keeps_the_conclusion_drops_the_jargon(text, expected):  # noqa: ANN001
    assert labels.plain_text(text) == expected
