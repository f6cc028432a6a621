"""The bilan's zone tables inside the élus' publication (:mod:`observatory.analytics.publication`).

Zones overlap each other (a pool's buffer inside a QPV or the hypercentre) and the arrondissements (the
hypercentre spans five). They enter the publication's one set of cells and relations through internal
**disjoint parts** (:func:`with_zones`), so the joint suppression and the LP audit see every relation between a
zone, its parts and the territory tables.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from observatory import schema

TABLE_ZONES = "annuel : zones (ville, zone × arrondissement)"
TABLE_ZONE_PARTS = "interne : parts disjointes des zones par arrondissement"
ZONE_KINDS = ("hypercentre", "piscine", "qpv")  # the bilan's zone tables (reports.diagnostic_model.ZONE_KINDS_IN_REPORT)
ZONE_PREFIX = "zone:"
PART_PREFIX = "part:"


def zone_geo(zone_id: str, arrondissement: str | None = None) -> str:
    """The publication's territory code of a zone (``zone:<id>``) or of its part in one arrondissement (``zone:<id>@<code>``)."""
    return f"{ZONE_PREFIX}{zone_id}" + (f"@{arrondissement}" if arrondissement and arrondissement != schema.CITY_CODE else "")


def _zone_territory(arrondissement) -> str:  # noqa: ANN001 - code or None
    from observatory.analytics.publication import UNALLOCATED

    return arrondissement if arrondissement in schema.ARRONDISSEMENT_CODES else UNALLOCATED


def with_zones(cells: pd.DataFrame, relations: list, zones: pd.DataFrame, year: int) -> tuple[pd.DataFrame, list]:
    """Add the bilan's zone tables and what links them to the territories (pure).

    ``zones``: ``year``, ``arrondissement``, ``signature`` (the report zones a fact lies in, sorted, joined by
    « | »), ``n``: located facts of the non-sensitive categories (what the bilan's zone tables count) in at least one
    zone, every year of the snapshot; ``attrs["zone_ids"]``: every zone of the bilan's kinds.

    Cells added (annual, all categories together, as the bilan prints them):
    - ``zone:<id>``: the zone in the city bilan; ``zone:<id>@<arr>``: its part in an arrondissement's bilan
      (unpublished for « non réparti »: no bilan shows it);
    - internal **parts**: per territory, the facts lying in exactly one combination of zones (``part:<territory>:<a|b>``)
      and the facts in no zone (``part:<territory>:``), never published.
    Relations: territory total = Σ its parts; zone × territory = Σ the parts holding the zone; zone = Σ its
    territories. Every published zone figure is a sum of parts, and parts meet the rest of the publication only
    through the territory's total (categories and months split it independently of zones), so these relations
    are everything an attacker can combine: overlapping zones (a fact in a pool's buffer and a QPV), zones across
    arrondissements (the hypercentre), and zones against the arrondissement tables. Combinations of zones never
    observed in the snapshot (any year) get no part, i.e. the attacker is told they are empty: stricter than
    what he knows, never weaker.
    """
    from observatory.analytics.publication import ALL, YEAR

    zone_ids = list(zones.attrs.get("zone_ids", ()))
    z = zones.assign(geo=[_zone_territory(a) for a in zones["arrondissement"]])
    z = z[z["signature"].astype(str) != ""]
    signatures = {g: sorted(set(part["signature"])) for g, part in z.groupby("geo")}
    now = z[z["year"] == year].groupby(["geo", "signature"])["n"].sum()
    index = {(g, nom, per): i for i, (g, nom, per) in enumerate(zip(cells["geo"], cells["nomenclature"], cells["period"]))}
    rows: list[dict] = []
    relations = list(relations)

    def add(table: str, geo: str, n: int, published: bool) -> int:
        rows.append({"table": table, "geo": geo, "nomenclature": ALL, "period": YEAR, "n": int(n), "published": published})
        return len(cells) + len(rows) - 1

    pieces: dict[str, list[int]] = {}
    for g, sigs in signatures.items():
        total_id = index[(g, ALL, YEAR)]
        values = [int(now.get((g, s), 0)) for s in sigs]
        rest = int(cells.at[total_id, "n"]) - sum(values)
        if rest < 0:
            raise ValueError(f"zones : plus de faits dans les zones de {g} que dans son total ({year})")
        part_ids = [add(TABLE_ZONE_PARTS, f"{PART_PREFIX}{g}:{s}", v, False) for s, v in zip(sigs, values)]
        rest_id = add(TABLE_ZONE_PARTS, f"{PART_PREFIX}{g}:", rest, False)
        relations.append((np.array([total_id] + part_ids + [rest_id]), np.r_[1.0, -np.ones(len(part_ids) + 1)]))
        for zone in sorted({zz for s in sigs for zz in s.split("|")}):
            holding = [pid for s, pid in zip(sigs, part_ids) if zone in s.split("|")]
            n = sum(rows[pid - len(cells)]["n"] for pid in holding)
            piece = add(TABLE_ZONES, zone_geo(zone, g), n, g in schema.ARRONDISSEMENT_CODES)  # « non réparti »: no bilan
            relations.append((np.array([piece] + holding), np.r_[1.0, -np.ones(len(holding))]))
            pieces.setdefault(zone, []).append(piece)
    for zone in zone_ids + sorted(set(pieces) - set(zone_ids)):
        parts = pieces.get(zone, [])
        whole = add(TABLE_ZONES, zone_geo(zone), sum(rows[p - len(cells)]["n"] for p in parts), True)
        if parts:
            relations.append((np.array([whole] + parts), np.r_[1.0, -np.ones(len(parts))]))
    out = pd.concat([cells, pd.DataFrame(rows, columns=["table", "geo", "nomenclature", "period", "n", "published"])], ignore_index=True)
    return out, relations


def zone_parts(analytics) -> pd.DataFrame:  # noqa: ANN001 - Analytics
    """``year``, ``arrondissement``, ``signature``, ``n`` of the snapshot's located, non-sensitive facts lying in at
    least one zone of the bilan's kinds (as the bilan's zone tables count them); ``attrs["zone_ids"]``: those zones."""
    from observatory.analytics import Filters
    from observatory.analytics.indicators import LOCATED

    an = analytics
    zt = an.territory.zones
    ids = sorted(zt.loc[zt["kind"].isin(ZONE_KINDS), "zone_id"].astype(str)) if zt is not None and len(zt) else []
    out = pd.DataFrame(columns=["year", "arrondissement", "signature", "n"])
    if ids:
        where, params = Filters(location_qualities=LOCATED).to_sql()
        sensitive = sorted(schema.sensitive_categories())
        out = an.query(
            "SELECT CAST(year AS INTEGER) AS year, arrondissement, array_to_string(list_sort(list_distinct(list_intersect(zones, ?))), '|') AS signature, "
            f"count(*) AS n FROM incidents WHERE {where} AND category NOT IN ({', '.join('?' * len(sensitive))}) AND list_has_any(zones, ?) GROUP BY ALL",
            [ids] + params + sensitive + [ids],
        )
        out["arrondissement"] = out["arrondissement"].astype(object).where(out["arrondissement"].notna(), None)
        out["n"] = out["n"].astype("int64")
        out["year"] = out["year"].astype("int64")
    out.attrs["zone_ids"] = tuple(ids)
    return out
