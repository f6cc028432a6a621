"""« Par km² », « par habitant », « par exposition »: the rate a zone table shows, and the sentence saying which.

The zone table always counts facts; its rate column is the user's choice among the denominators that exist for
the zones shown (the surface always; residents and an exposure — pool entries, people present — when a series
gives them, see ``observatory.exposure``). The note names the denominator, its source and vintage.
"""

from __future__ import annotations

import pandas as pd

from observatory.dashboard import components
from observatory.dashboard.components import Col, num_cell

RATE_OPTIONS = [
    {"label": "Taux par km²", "value": "km2"},
    {"label": "Par habitant", "value": "habitant"},
    {"label": "Par exposition (fréquentation, présence…)", "value": "exposition"},
]
_TEXT = {"habitant": "resident_text", "exposition": "exposure_text"}
EXPORT_HEADERS = {"resident_rate": "taux_pour_1000_habitants_par_an", "resident_text": "taux_par_habitant_ic95",
                  "exposure_rate": "taux_par_exposition", "exposure_text": "taux_par_exposition_ic95", "exposure_label": "denominateur_exposition"}


def with_exposure(an, filters, df: pd.DataFrame, zone_ids) -> pd.DataFrame:  # noqa: ANN001
    """The zone summary with the resident and exposure rates of the zones that have a series (texts "–" otherwise)."""
    from observatory import exposure
    from observatory.exposure.views import ZONE_COLUMNS, zone_rates

    settings = an.settings  # the snapshot's own settings: callable outside a request (CLI, tests)
    window = exposure.data_window(an, filters) if exposure.has_exposure(settings) else None
    if window is None:
        extra = pd.DataFrame(columns=list(ZONE_COLUMNS))
    else:
        min_count = None if components.is_analyst() else settings.min_count
        extra = zone_rates(an, settings, filters, tuple(zone_ids), window[0], window[1], min_count)
    out = df.merge(extra, on="zone_id", how="left")
    for col in ("resident_text", "exposure_text", "exposure_label"):
        out[col] = out[col].fillna("").replace("", "–") if col != "exposure_label" else out[col].fillna("")
    return out


def available(df: pd.DataFrame, rate: str) -> bool:
    col = _TEXT.get(rate)
    return col is None or (col in df.columns and (df[col] != "–").any())


def rate_column(df: pd.DataFrame, rate: str) -> Col:
    if rate == "habitant" and available(df, rate):
        return Col("resident_text", "Taux pour 1 000 habitants par an (IC 95 %)")
    if rate == "exposition" and available(df, rate):
        return Col("exposure_text", "Taux par exposition (IC 95 %)")
    return Col("rate_per_km2", "Faits / km² / an", num_cell(0))


def rate_note(df: pd.DataFrame, rate: str) -> str:
    """Which rate is shown, over what; and, when the choice has no denominator here, that the surface is shown."""
    if rate in _TEXT and not available(df, rate):
        what = "habitants" if rate == "habitant" else "exposition (fréquentation, population présente…)"
        return f"taux affiché : par km², aucune zone de ce type n'ayant de série « {what} » (observatory exposure import)"
    if rate == "habitant":
        return "taux affiché : faits pour 1 000 habitants par an sur la période des filtres (habitants de la zone, série d'exposition « habitants »)"
    if rate == "exposition":
        labels = sorted({lab for lab in df.get("exposure_label", pd.Series(dtype=str)) if lab})
        return ("taux affiché : par exposition, intervalle exact de Poisson, sur la période des filtres — " + " ; ".join(labels)
                + " ; « – » : zone sans dénominateur d'exposition")
    return "taux affiché : rapporté à la surface (faits par km² et par an)"


def pool_sentences(an, filters, year: int) -> list[str]:  # noqa: ANN001
    """The pools reread with their attendance, calendar year against the year before (summer pools: their season)."""
    from observatory import exposure
    from observatory.exposure.text import change_sentence
    from observatory.exposure.views import _withheld, zone_changes

    settings = an.settings  # the snapshot's own settings: callable outside a request (CLI, tests)
    if not exposure.has_exposure(settings):
        return []
    min_count = None if components.is_analyst() else settings.min_count
    names = dict(zip(an.territory.zones["zone_id"], an.territory.zones["name"]))
    changes = zone_changes(an, settings, filters.replace(start=None, end=None), year, kinds=("entrees_piscine",))
    return [change_sentence(names.get(r["unit"], r["unit"]), r.to_dict(), year) for _, r in (changes.iterrows() if len(changes) else [])
            if not (_withheld(r["count"], min_count) or _withheld(r["previous_count"], min_count))]
