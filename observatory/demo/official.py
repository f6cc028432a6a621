"""A fictitious official (SSMSI-like) edition made from the demo snapshot, so that *Statistiques officielles*
shows what it is for on the embedded default instead of an empty page.

Counts are the demo's own counts per indicator, scaled by a fixed factor per indicator (the police records
only part of what the partners report, and more of some offences than others) with a little noise; rates use
the territory's populations. The file is written in the SSMSI layout and imported by the ordinary
:func:`observatory.official.import_official`, under a name that marks it as fictitious
(:data:`DEMO_PREFIX`): every citation of the edition then says so.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from observatory import schema
from observatory.config import Settings

DEMO_PREFIX = "demo-fictive-ssmsi"
SEED = 2026
DWELLINGS_PER_INHABITANT = 0.6


def official_rows(counts: pd.DataFrame, populations: dict[str, int], seed: int = SEED) -> pd.DataFrame:
    """SSMSI-layout rows (``CODGEO``, annee, indicateur, …) from observatory counts per (year, arrondissement,
    category); pure, deterministic for a seed."""
    from observatory.official import indicators as ind
    from observatory.official.compare import OBSERVATORY_COUNT, observatory_indicator_counts

    per_indicator = observatory_indicator_counts(counts)
    labels = {i.code: i.label for i in ind.INDICATORS}
    per_dwelling = {i.code for i in ind.INDICATORS if i.rate_base == ind.RATE_BASE_DWELLINGS}
    rng = np.random.default_rng(seed)
    factors = {code: float(f) for code, f in zip(sorted(labels), rng.uniform(0.55, 1.1, len(labels)))}
    rows = []
    for r in per_indicator.sort_values(["code", "year", "indicator"]).itertuples(index=False):
        code, year, indicator, n = r.code, int(r.year), r.indicator, int(getattr(r, OBSERVATORY_COUNT))
        if indicator not in labels:
            continue
        count = int(round(n * factors[indicator] * rng.uniform(0.95, 1.05)))
        pop = int(populations.get(code, 0))
        # Lyon counts about 0.6 dwelling per inhabitant: burglaries are rated per 1,000 dwellings, as published.
        dwellings = int(round(pop * DWELLINGS_PER_INHABITANT))
        base = dwellings if indicator in per_dwelling else pop
        diffused = count >= 5 or code == schema.CITY_CODE
        rows.append({
            "CODGEO": code, "annee": year, "indicateur": labels[indicator], "unite_de_compte": "Infraction",
            "nombre": count if diffused else None,
            "taux_pour_mille": round(count / base * 1000, 7) if diffused and base else None,
            "est_diffuse": "diff" if diffused else "ndiff", "insee_pop": pop or None, "insee_log": dwellings or None,
        })
    return pd.DataFrame(rows)


def _csv(rows: pd.DataFrame, edition: int) -> str:
    def q(v) -> str:  # noqa: ANN001
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return "NA"
        if isinstance(v, float):
            return f'"{v:.7f}"'.replace(".", ",")
        return f'"{v}"'

    header = [f"CODGEO_{edition}", "annee", "indicateur", "unite_de_compte", "nombre", "taux_pour_mille", "est_diffuse", "insee_pop",
              "insee_pop_millesime", "insee_log", "insee_log_millesime", "complement_info_nombre", "complement_info_taux"]
    lines = [";".join(f'"{h}"' for h in header)]
    for r in rows.to_dict("records"):
        values = [r["CODGEO"], r["annee"], r["indicateur"], r["unite_de_compte"], r["nombre"], r["taux_pour_mille"], r["est_diffuse"],
                  r["insee_pop"], edition - 3, r["insee_log"], edition - 4, None, None]
        lines.append(";".join(q(v) for v in values))
    return "\n".join(lines) + "\n"


def install_official_edition(settings: Settings) -> int | None:
    """Write and import the fictitious edition of the current demo snapshot; its edition year, or None when
    there is no snapshot. Does nothing when an official edition is already imported (a real one wins)."""
    from observatory import official
    from observatory.territory import populations as territory_populations

    if official.edition_info(settings) is not None:
        return None
    counts = official.observatory_counts(settings)
    if counts is None or counts.empty:
        return None
    pops = territory_populations(settings)
    populations = {str(c): int(p) for c, p in zip(pops["code"], pops["population"])}
    populations[schema.CITY_CODE] = sum(populations.values())
    last = int(counts["year"].max())
    # Like the SSMSI: the edition of year N + 1 covers up to year N.
    years = [y for y in sorted(set(counts["year"].astype(int))) if y <= last]
    rows = official_rows(counts[counts["year"].isin(years)], populations)
    edition = last + 1
    folder = settings.official_dir
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{DEMO_PREFIX}-{edition}.csv"
    path.write_text(_csv(rows, edition), encoding="utf-8")
    official.import_official(settings, path, production_date=date(edition, 3, 1))
    return edition
