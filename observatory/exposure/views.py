"""What the faces show of the exposure rates: zone columns, the arrondissement layer, the bilan's sentences.

Small-count rule: for élus (``min_count`` given), a rate whose count is between 1 and ``min_count − 1`` is not
shown (the rate times the published exposure would give the count back).
"""

from __future__ import annotations

import math
from datetime import date
from typing import TYPE_CHECKING

import pandas as pd

from observatory.config import Settings
from observatory.exposure import exposure_data
from observatory.exposure.format import KINDS
from observatory.exposure.tables import period_changes, unit_rates
from observatory.exposure.text import change_sentence, rate_decimals, rate_text

if TYPE_CHECKING:
    from observatory.analytics.engine import Analytics
    from observatory.analytics.filters import Filters

# Which denominator a unit's « par exposition » shows when it has several (the most specific first).
EXPOSURE_PRIORITY = ("entrees_piscine", "population_presente", "validations_transport", "logements", "vehicules")
ZONE_COLUMNS = ("zone_id", "resident_rate", "resident_text", "exposure_rate", "exposure_text", "exposure_label")


def _withheld(count: float, min_count: int | None) -> bool:
    return min_count is not None and not math.isnan(count) and 0 < count < min_count


def _text(row: pd.Series, min_count: int | None) -> str:
    if _withheld(row["count"], min_count):
        return f"non publié (moins de {min_count} faits)"
    return rate_text(row["rate"], row["low"], row["high"], reason=row["reason"])


def zone_rates(an: "Analytics", settings: Settings, filters: "Filters", zone_ids: tuple[str, ...], start: date, end: date,
               min_count: int | None = None) -> pd.DataFrame:
    """Per zone: its resident rate and its exposure rate (when a series gives them), with their intervals as text.

    ``exposure_label`` says what the exposure rate is per (« pour 100 000 entrées — Fréquentation des piscines
    municipales, 2025 »); a zone without a series has NaN rates and empty texts.
    """
    table, metas = exposure_data(settings)
    if not metas:
        return pd.DataFrame(columns=list(ZONE_COLUMNS))
    rates = unit_rates(an, table, metas, filters, start, end, units=zone_ids)
    rates = rates[rates["unit"].isin(zone_ids)]
    rows = []
    for zone, group in rates.groupby("unit"):
        out = {"zone_id": zone, "resident_rate": math.nan, "resident_text": "", "exposure_rate": math.nan, "exposure_text": "", "exposure_label": ""}
        residents = group[group["kind"] == "habitants"]
        if len(residents):
            r = residents.iloc[0]
            out["resident_rate"] = math.nan if _withheld(r["count"], min_count) else r["rate"]
            out["resident_text"] = _text(r, min_count)
        others = group[group["kind"] != "habitants"].assign(order=lambda g: g["kind"].map(EXPOSURE_PRIORITY.index))
        if len(others):
            r = others.sort_values("order").iloc[0]
            out["exposure_rate"] = math.nan if _withheld(r["count"], min_count) else r["rate"]
            out["exposure_text"] = _text(r, min_count)
            out["exposure_label"] = f"{r['per_label']} — {r['label']}, {r['vintage']}"
        rows.append(out)
    return pd.DataFrame(rows, columns=list(ZONE_COLUMNS))


def arrondissement_rates(an: "Analytics", settings: Settings, filters: "Filters", start: date, end: date,
                         min_count: int | None = None) -> tuple[pd.DataFrame | None, str]:
    """The arrondissements' rate per exposure for the filters' categories, and the legend; or (None, why not).

    A denominator applies only to the categories it fits: burglaries per dwelling, vehicle thefts per vehicle.
    With no category chosen, or categories no series fits, there is no exposure rate and the reason says which
    categories to choose.
    """
    table, metas = exposure_data(settings)
    candidates = [(n, m["definition"]) for n, m in metas.items()
                  if m.get("definition", {}).get("unit_type") == "arrondissement" and m["definition"].get("kind") != "habitants"]
    if not candidates:
        return None, "aucune série d'exposition par arrondissement (logements, véhicules…) importée"
    wanted = set(filters.categories)
    fitting = [(n, d) for n, d in candidates if wanted and set(d.get("categories") or ()) >= wanted]
    if not fitting:
        from observatory.labels import category_label

        hints = "; ".join(f"{', '.join(category_label(c) for c in d['categories'])} ({KINDS[d['kind']].label})" for _, d in candidates if d.get("categories"))
        return None, f"choisissez des catégories qui ont un dénominateur : {hints}"
    name, definition = fitting[0]
    rates = unit_rates(an, table[table["series"] == name], {name: metas[name]}, filters.replace(arrondissements=()), start, end)
    rates = rates.rename(columns={"unit": "arrondissement", "rate": "exposure_rate"})
    rates["exposure_text"] = [_text(r.rename({"exposure_rate": "rate"}), min_count) for _, r in rates.iterrows()]
    rates.loc[[_withheld(c, min_count) for c in rates["count"]], "exposure_rate"] = math.nan
    spec = KINDS[definition["kind"]]
    legend = f"Faits {spec.per_label}"
    note = f"taux {spec.per_label} ({definition['label']} ; {definition['source']}, millésime {definition['vintage']})"
    rates.attrs["note"] = note
    return rates[["arrondissement", "count", "exposure", "exposure_rate", "low", "high", "exposure_text"]], legend


def zone_changes(an: "Analytics", settings: Settings, filters: "Filters", year: int, kinds: tuple[str, ...],
                 units: tuple[str, ...] = ()) -> pd.DataFrame:
    """Each unit's exposure rate in ``year`` against ``year − 1`` (empty without series)."""
    table, metas = exposure_data(settings)
    if not metas:
        return pd.DataFrame()
    return period_changes(an, table, metas, filters, date(year, 1, 1), date(year, 12, 31), kinds=kinds, units=units)


def reread_sentences(an: "Analytics", settings: Settings, filters: "Filters", year: int, names: dict[str, str],
                     min_count: int | None = None) -> list[str]:
    """The pools and the hypercentre reread with their exposure: one sentence per pool with attendance, and the
    hypercentre's rate per person present beside its resident rate."""
    changes = zone_changes(an, settings, filters, year, kinds=("entrees_piscine",))
    out = []
    for _, row in changes.iterrows() if len(changes) else []:
        if _withheld(row["count"], min_count) or _withheld(row["previous_count"], min_count):
            continue
        out.append(change_sentence(names.get(row["unit"], row["unit"]), row.to_dict(), year))
    hyper = hypercentre_sentence(an, settings, filters, year, names.get("hypercentre", "l'hypercentre"), min_count)
    if hyper:
        out.append(hyper)
    return out


def hypercentre_sentence(an: "Analytics", settings: Settings, filters: "Filters", year: int, name: str = "Hypercentre",
                         min_count: int | None = None) -> str:
    """« Dans l'hypercentre, 4 210 faits en 2025 : 101 pour 1 000 habitants, mais 38 pour 1 000 personnes présentes… »"""
    from observatory import labels

    table, metas = exposure_data(settings)
    if not metas:
        return ""
    rates = unit_rates(an, table, metas, filters, date(year, 1, 1), date(year, 12, 31), kinds=("habitants", "population_presente"), units=("hypercentre",))
    rates = rates[rates["known"]]
    if set(rates["kind"]) != {"habitants", "population_presente"}:
        return ""
    res = rates[rates["kind"] == "habitants"].iloc[0]
    pres = rates[rates["kind"] == "population_presente"].iloc[0]
    if _withheld(res["count"], min_count):
        return ""
    d = rate_decimals(min(res["rate"], pres["rate"]))
    ratio = res["rate"] / pres["rate"] if pres["rate"] else math.nan
    return (f"{name} : {labels.fmt_int(res['count'])} faits en {year}, soit {labels.fmt_number(res['rate'], d)} pour 1 000 habitants, "
            f"mais {labels.fmt_number(pres['rate'], d)} pour 1 000 personnes présentes en moyenne "
            f"(IC 95 % : {labels.fmt_number(pres['low'], d)} – {labels.fmt_number(pres['high'], d)}) : rapporté à la population présente, "
            f"le risque y est {labels.fmt_number(ratio, 1)} fois plus faible que ne le dit le taux par habitant "
            f"(série « {pres['label']} », millésime {pres['vintage']}).")
