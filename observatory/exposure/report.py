"""The bilan's and the diagnostic's rereading of the pools and the hypercentre with their exposure.

One sentence per pool with attendance (« rapporté à la fréquentation, le risque à la piscine X a baissé de … »)
and, for the hypercentre, its rate per person present beside its resident rate. Built for a publication: the
sensitive categories are left out below the city and a sentence whose counts are below ``min_count`` is not
written.
"""

from __future__ import annotations

import logging

from observatory import schema
from observatory.config import Settings

log = logging.getLogger(__name__)


def zone_sentences(settings: Settings, an, year: int) -> dict[str, list[tuple[str, str]]]:  # noqa: ANN001 - Analytics
    """Zone kind (``piscine``, ``hypercentre``) → [(zone_id, sentence)]; empty without exposure series."""
    from observatory import exposure
    from observatory.analytics import Filters
    from observatory.exposure.text import change_sentence
    from observatory.exposure.views import _withheld, hypercentre_sentence, zone_changes

    try:
        if not exposure.has_exposure(settings):
            return {}
        zones = an.territory.zones
        names = dict(zip(zones["zone_id"], zones["name"]))
        kinds = dict(zip(zones["zone_id"], zones["kind"]))
        public = Filters(categories=tuple(c for c in schema.categories() if c not in schema.sensitive_categories()))
        out: dict[str, list[tuple[str, str]]] = {}
        changes = zone_changes(an, settings, public, year, kinds=("entrees_piscine",))
        for _, row in changes.iterrows() if len(changes) else []:
            if kinds.get(row["unit"]) != "piscine" or _withheld(row["count"], settings.min_count) or _withheld(row["previous_count"], settings.min_count):
                continue
            out.setdefault("piscine", []).append((row["unit"], change_sentence(names.get(row["unit"], row["unit"]), row.to_dict(), year)))
        if "hypercentre" in names:
            text = hypercentre_sentence(an, settings, public, year, names["hypercentre"], settings.min_count)
            if text:
                out["hypercentre"] = [("hypercentre", text)]
        return out
    except Exception:  # noqa: BLE001 - the rereading is an addition: a broken exposure store must not cost the diagnostic
        log.exception("exposure sentences left out of the diagnostic")
        return {}
