"""The stable list of SSMSI indicators, and how each edition's labels map onto it.

The SSMSI renames indicators between editions (16 in the 2024 edition, 15 in 2026). Each edition republishes
the whole history with its own definitions, so a series is always read inside one edition; the stable codes
only let the observatory name an indicator the same way whatever the edition (and join it with the
nomenclature, whose ``ssmsi_indicator`` column is spelled as in 2026).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from observatory import schema

RATE_BASE_DWELLINGS = "logements"
RATE_BASE_INHABITANTS = "habitants"


@dataclass(frozen=True)
class Indicator:
    code: str
    label: str  # French label, as published in the 2026 edition (or the last edition that had it)
    rate_base: str  # RATE_BASE_DWELLINGS or RATE_BASE_INHABITANTS
    older_labels: tuple[str, ...] = ()
    note: str = ""

    @property
    def rate_unit(self) -> str:
        return f"pour 1\u00a0000 {self.rate_base}"


_CHANGED = "Intitulé modifié entre éditions ; au sein d'une édition, toute la série suit la même définition."

INDICATORS: tuple[Indicator, ...] = (
    Indicator(
        "violences_physiques_intrafamiliales",
        "Violences physiques intrafamiliales",
        RATE_BASE_INHABITANTS,
        ("Coups et blessures volontaires intrafamiliaux",),
        _CHANGED,
    ),
    Indicator(
        "violences_physiques_hors_cadre_familial",
        "Violences physiques hors cadre familial",
        RATE_BASE_INHABITANTS,
        ("Autres coups et blessures volontaires",),
        _CHANGED,
    ),
    # The older editions also published the total of the two series above; the 2026 edition does not, and
    # summing the two 2026 series would not give the older definition, so it stays an indicator of its own.
    Indicator(
        "coups_et_blessures_volontaires",
        "Coups et blessures volontaires",
        RATE_BASE_INHABITANTS,
        (),
        "Total publié par les éditions antérieures à 2026 seulement (intrafamiliaux + autres).",
    ),
    Indicator("violences_sexuelles", "Violences sexuelles", RATE_BASE_INHABITANTS),
    Indicator("vols_avec_armes", "Vols avec armes", RATE_BASE_INHABITANTS),
    Indicator("vols_violents_sans_arme", "Vols violents sans arme", RATE_BASE_INHABITANTS),
    Indicator("vols_sans_violence_personnes", "Vols sans violence contre des personnes", RATE_BASE_INHABITANTS),
    # The only indicator whose rate is per 1,000 dwellings (insee_log), as the SSMSI publishes it.
    Indicator("cambriolages_logement", "Cambriolages de logement", RATE_BASE_DWELLINGS),
    Indicator("vols_de_vehicule", "Vols de véhicule", RATE_BASE_INHABITANTS, ("Vols de véhicules",), _CHANGED),
    Indicator("vols_dans_vehicules", "Vols dans les véhicules", RATE_BASE_INHABITANTS),
    Indicator("vols_accessoires_vehicules", "Vols d'accessoires sur véhicules", RATE_BASE_INHABITANTS),
    Indicator("destructions_degradations", "Destructions et dégradations volontaires", RATE_BASE_INHABITANTS),
    Indicator("usage_stupefiants", "Usage de stupéfiants", RATE_BASE_INHABITANTS),
    Indicator("usage_stupefiants_afd", "Usage de stupéfiants (AFD)", RATE_BASE_INHABITANTS),
    Indicator("trafic_stupefiants", "Trafic de stupéfiants", RATE_BASE_INHABITANTS),
    Indicator(
        "escroqueries",
        "Escroqueries et fraudes aux moyens de paiement",
        RATE_BASE_INHABITANTS,
        ("Escroqueries",),
        _CHANGED,
    ),
)

BY_CODE: dict[str, Indicator] = {ind.code: ind for ind in INDICATORS}
ORDER: dict[str, int] = {ind.code: i for i, ind in enumerate(INDICATORS)}


def normalize_label(label: str) -> str:
    """Fold case, accents, apostrophes and spacing so that small spelling drifts still match."""
    text = unicodedata.normalize("NFKD", str(label))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.replace("\u2019", "'").replace("`", "'").casefold()
    return re.sub(r"\s+", " ", text).strip()


_LOOKUP: dict[str, str] = {}
for _ind in INDICATORS:
    for _label in (_ind.label, *_ind.older_labels):
        _LOOKUP[normalize_label(_label)] = _ind.code


def indicator_code(label: str) -> str | None:
    """Stable code of a published label, any edition; None when the label is unknown."""
    return _LOOKUP.get(normalize_label(label))


def fallback_code(label: str) -> str:
    """A code for a label no edition we know uses: kept, never dropped, and reported as unknown."""
    return "autre_" + re.sub(r"[^a-z0-9]+", "_", normalize_label(label)).strip("_")


def indicator_label(code: str) -> str:
    ind = BY_CODE.get(code)
    return ind.label if ind else code


def rate_unit(code: str) -> str:
    ind = BY_CODE.get(code)
    return ind.rate_unit if ind else f"pour 1\u00a0000 {RATE_BASE_INHABITANTS}"


def category_indicators() -> dict[str, str]:
    """Observatory category code → stable indicator code, for the categories that have an SSMSI match."""
    out: dict[str, str] = {}
    for cat in schema.categories().values():
        if cat.ssmsi_indicator:
            code = indicator_code(cat.ssmsi_indicator)
            if code is not None:
                out[cat.code] = code
    return out
