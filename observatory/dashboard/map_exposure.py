"""The map's « Arrondissements (taux par exposition) » layer: burglaries per 1,000 dwellings, vehicle thefts per
1,000 vehicles… for the categories the filters choose, over the map's period (see ``observatory.exposure``)."""

from __future__ import annotations

import pandas as pd

from observatory import labels
from observatory.dashboard import components, shaping
from observatory.dashboard.exporting import ExportTable

DERIVED = ("exposure_rate", "low", "high", "exposure_text")
HEADERS = {"exposure": "exposition", "exposure_rate": "taux_par_exposition", "low": "taux_borne_basse_ic95", "high": "taux_borne_haute_ic95",
           "exposure_text": "taux_ic95"}


def layer_table(an, filters, period_filters) -> ExportTable:  # noqa: ANN001
    """The layer's rows (empty, with ``attrs["reason"]``, when no denominator fits the filters' categories)."""
    from observatory import exposure
    from observatory.exposure.views import arrondissement_rates

    settings = components.settings()
    empty = pd.DataFrame(columns=["arrondissement", "count", "exposure", "exposure_rate", "low", "high", "exposure_text"])
    start, end = period_filters.start, period_filters.end
    if not exposure.has_exposure(settings):
        empty.attrs["reason"] = "Aucune série d'exposition importée (observatory exposure import)"
        return ExportTable(empty, ("count",), title="Taux par exposition", derived=DERIVED)
    if start is None or end is None:
        empty.attrs["reason"] = "Pas de données pour ces filtres"
        return ExportTable(empty, ("count",), title="Taux par exposition", derived=DERIVED)
    if not components.is_analyst():
        filters = shaping.sensitive_free(filters)
    min_count = None if components.is_analyst() else settings.min_count
    rates, legend = arrondissement_rates(an, settings, filters, start, end, min_count)
    if rates is None:
        empty.attrs["reason"] = "Taux par exposition : " + legend
        return ExportTable(empty, ("count",), title="Taux par exposition", extra_note=legend, derived=DERIVED)
    if filters.arrondissements:
        rates = rates[rates["arrondissement"].isin(filters.arrondissements)]
    df = shaping.with_labels(rates.reset_index(drop=True), "arrondissement", "arrondissement")
    df.attrs.update(legend=legend, note=rates.attrs.get("note", ""))
    return ExportTable(df, ("count",), title="Faits par arrondissement rapportés à l'exposition", period=(start, end),
                       extra_note=rates.attrs.get("note", ""), derived=DERIVED, columns=HEADERS)


def note(table: pd.DataFrame, f) -> str:  # noqa: ANN001
    period = f"du {labels.fmt_date(f.start)} au {labels.fmt_date(f.end)}" if f.start and f.end else ""
    return (f"{table.attrs.get('note', '')} ; {period} ; couche « taux par habitant » pour le taux rapporté aux habitants ; "
            "intervalle exact de Poisson dans l'export")
