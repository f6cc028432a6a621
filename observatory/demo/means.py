"""The demo's means register and its fictitious MJD, victim-support and elucidation extracts.

Means (``data/raw/moyens/moyens.csv``): the cameras of place Gabriel-Péri (investment, running costs, operators'
hours), the pool mediators each summer, the Mermoz patrols (hours and patrols, no budget: police salaries are
not charged to the CLS), nothing for the GLTD Moncey and the planned lighting (the page must say « aucun moyen
déclaré »), and per arrondissement and year the municipal police's hours and patrols and the cameras in service.

Aggregated extracts, in the formats their profiles in ``data/raw/sources/agregats/`` describe: MJD activity
(CSV, ``;``, one file per year), victims received (XLSX with Excel dates, one file per year) and — from the
police nationale facts of the ingested snapshot, so that clearance rates stay below 100 % — facts elucidated
(CSV, one file per year). Every draw comes from a stream seeded by (seed, source, year): deterministic.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from observatory import schema
from observatory.config import Settings

# (means_id, action_id, arrondissement, service, start, end, amounts)
_ACTION_MEANS = [
    ("M-A2023-01-1", "A2023-01", "", "videoprotection", "2023-03-01", "2023-03-31",
     {"cameras_installed": 6, "cameras_in_service": 6, "budget_investment_eur": 126000}),
    ("M-A2023-01-2", "A2023-01", "", "videoprotection", "2023-04-01", "2023-12-31",
     {"staff_hours": 1650, "cameras_in_service": 6, "budget_running_eur": 16500}),
    ("M-A2023-01-3", "A2023-01", "", "videoprotection", "2024-01-01", "2024-12-31",
     {"staff_hours": 2190, "cameras_in_service": 6, "budget_running_eur": 22000}),
    ("M-A2023-01-4", "A2023-01", "", "videoprotection", "2025-01-01", "2025-12-31",
     {"staff_hours": 2190, "cameras_in_service": 6, "budget_running_eur": 22500}),
    ("M-A2022-01-1", "A2022-01", "", "police_nationale", "2022-10-01", "2023-09-30", {"staff_hours": 3120, "patrols": 520}),
]
_SUMMER_MEDIATION = {"fte": 2, "staff_hours": 910, "budget_running_eur": 19500}

COLUMNS = ("means_id", "action_id", "arrondissement", "service", "start", "end", "staff_hours", "fte", "patrols",
           "cameras_installed", "cameras_in_service", "budget_investment_eur", "budget_running_eur", "notes")
NOTE = "Données de démonstration (fictives)."

# Monthly means per 100,000 inhabitants (fictitious, plausible orders of magnitude).
MJD_RATES = {"Consultations juridiques": 55.0, "Rappel à l'ordre": 4.0, "Mesure de réparation": 2.2, "Travail d'intérêt général": 1.6}
VICTIM_RATES = {"Violences physiques": 5.0, "Violences intrafamiliales": 3.5, "Violences sexuelles": 0.9, "Cambriolage": 2.5,
                "Vol avec violence": 1.8, "Vol sans violence": 3.0, "Menaces / harcèlement": 2.4, "Escroquerie": 1.6}
# Share of police-nationale facts elucidated, by category (fictitious, after national orders of magnitude).
CLEARANCE = {"violences_physiques_hors_famille": 0.45, "violences_intrafamiliales": 0.70, "violences_sexuelles": 0.40,
             "vols_violents_sans_arme": 0.12, "vols_sans_violence_personnes": 0.06, "cambriolages_logement": 0.08,
             "destructions_degradations": 0.10, "trafic_stupefiants": 0.90, "usage_stupefiants": 0.95}
_SOURCE_INDEX = {"moyens": 1, "mjd": 2, "aide_victimes": 3, "elucidation": 4}


def _rng(seed: int, source: str, year: int) -> np.random.Generator:
    return np.random.default_rng([seed, 22, _SOURCE_INDEX[source], year])


def means_rows(years: tuple[int, int], populations: pd.DataFrame, seed: int) -> list[dict]:
    """The register lines for the demo years (action lines outside the years are left out)."""
    first, last = years
    rows = []
    for mid, aid, arr, service, start, end, amounts in _ACTION_MEANS:
        if first <= int(start[:4]) <= last:
            rows.append({"means_id": mid, "action_id": aid, "arrondissement": arr, "service": service, "start": start, "end": end, **amounts, "notes": NOTE})
    for year in range(max(first, 2023), last + 1):
        rows.append({"means_id": f"M-A2023-02-{year}", "action_id": "A2023-02", "arrondissement": "", "service": "mediation",
                     "start": f"{year}-06-01", "end": f"{year}-08-31", **_SUMMER_MEDIATION, "notes": NOTE})
    pops = populations.set_index(populations["code"].astype(str))["population"]
    for year in range(first, last + 1):
        rng = _rng(seed, "moyens", year)
        for code in schema.ARRONDISSEMENT_CODES:
            k = pops[code] / 100_000
            hours = int(round(k * rng.normal(26_000, 1_500) / 10) * 10)
            rows.append({"means_id": f"M-PM-{year}-{code[-1]}", "action_id": "", "arrondissement": code, "service": "police_municipale",
                         "start": f"{year}-01-01", "end": f"{year}-12-31", "staff_hours": hours, "fte": round(hours / 1607, 1),
                         "patrols": int(round(hours / 6)), "notes": NOTE})
            cameras = int(round(k * (38 + 4 * (year - first)) * rng.uniform(0.8, 1.2)))
            rows.append({"means_id": f"M-CSU-{year}-{code[-1]}", "action_id": "", "arrondissement": code, "service": "videoprotection",
                         "start": f"{year}-01-01", "end": f"{year}-12-31", "cameras_in_service": cameras,
                         "budget_running_eur": cameras * 1_400, "notes": NOTE})
    return rows


def means_csv(years: tuple[int, int], populations: pd.DataFrame, seed: int) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(COLUMNS), lineterminator="\n")
    writer.writeheader()
    for row in means_rows(years, populations, seed):
        writer.writerow({c: row.get(c, "") for c in COLUMNS})
    return buf.getvalue()


def install_means_register(settings: Settings, years: tuple[int, int], seed: int) -> Path:
    """Write the demo means register to ``raw/moyens/moyens.csv`` unless one is already there."""
    from observatory.fileio import atomic_write
    from observatory.means.register import means_path
    from observatory.territory import populations

    target = means_path(settings)
    if not target.exists():
        atomic_write(target, means_csv(years, populations(settings), seed).encode("utf-8"))
    return target


def _counts(rng: np.random.Generator, pop: float, rate: float) -> int:
    return int(rng.poisson(pop / 100_000 * rate))


def write_mjd(folder: Path, years: tuple[int, int], populations: pd.DataFrame, seed: int) -> list[Path]:
    paths = []
    pops = populations.set_index(populations["code"].astype(str))["population"]
    for year in range(years[0], years[1] + 1):
        rng = _rng(seed, "mjd", year)
        lines = ["Mois;Arrondissement;Activité;Nombre"]
        for month in range(1, 13):
            for code in schema.ARRONDISSEMENT_CODES:
                for label, rate in MJD_RATES.items():
                    lines.append(f"{month:02d}/{year};Lyon {code[-1]}{'er' if code[-1] == '1' else 'e'};{label};{_counts(rng, pops[code], rate)}")
        path = folder / f"mjd_{year + 1}0115.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(("\n".join(lines) + "\n").encode("cp1252"))  # as the MJD's spreadsheet exports it
        paths.append(path)
    return paths


def write_victims(folder: Path, years: tuple[int, int], populations: pd.DataFrame, seed: int) -> list[Path]:
    from observatory.demo.writers import (
        write_xlsx,
        xlsx_datetime,
        xlsx_number,
        xlsx_text,
    )

    paths = []
    pops = populations.set_index(populations["code"].astype(str))["population"]
    for year in range(years[0], years[1] + 1):
        rng = _rng(seed, "aide_victimes", year)
        rows = []
        for month in range(1, 13):
            for code in schema.ARRONDISSEMENT_CODES:
                for label, rate in VICTIM_RATES.items():
                    n = _counts(rng, pops[code], rate)
                    if n:  # the association lists only what it saw
                        rows.append({"Mois": datetime(year, month, 1), "Arrondissement": code, "Type de faits": label, "Victimes reçues": n})
        path = folder / f"aide_victimes_{year + 1}-01.xlsx"
        frame = pd.DataFrame(rows)
        # Byte-identical for a seed: the demo's own XLSX writer pins document properties and zip timestamps.
        write_xlsx(path, sheet="Victimes", header=list(frame.columns), title_rows=[["Association d'aide aux victimes — accueil mensuel"]],
                   columns=[xlsx_datetime(frame["Mois"], "mm/yyyy", with_time=False), xlsx_text(frame["Arrondissement"]),
                            xlsx_text(frame["Type de faits"]), xlsx_number(frame["Victimes reçues"])])
        paths.append(path)
    return paths


def write_elucidation(folder: Path, facts: pd.DataFrame, seed: int) -> list[Path]:
    """``facts``: arrondissement, month (Timestamp), category, facts — the police nationale's recorded facts."""
    paths = []
    labels = {v: k for k, v in _pn_labels().items()}
    facts = facts[facts["category"].isin(list(CLEARANCE))]
    for year, part in facts.groupby(facts["month"].dt.year):
        rng = _rng(seed, "elucidation", int(year))
        part = part.sort_values(["month", "arrondissement", "category"])
        lines = ["mois,code_insee,nature,elucides"]
        for rec in part.to_dict("records"):
            n = int(rng.binomial(int(rec["facts"]), CLEARANCE[rec["category"]]))
            lines.append(f"{rec['month']:%Y-%m},{rec['arrondissement']},\"{labels[rec['category']]}\",{n}")
        path = folder / f"elucidation_{int(year) + 1}01.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def _pn_labels() -> dict[str, str]:
    """One police-nationale label per category (label → category), as in elucidation_categories.csv."""
    return {"Violences physiques hors cadre familial": "violences_physiques_hors_famille",
            "Violences physiques intrafamiliales": "violences_intrafamiliales", "Violences sexuelles": "violences_sexuelles",
            "Vols violents sans arme": "vols_violents_sans_arme", "Vols sans violence contre des personnes": "vols_sans_violence_personnes",
            "Cambriolages de logement": "cambriolages_logement", "Destructions et dégradations volontaires": "destructions_degradations",
            "Trafic de stupéfiants": "trafic_stupefiants", "Usage de stupéfiants": "usage_stupefiants"}


def ingest_demo_means(settings: Settings, out_dir: Path, years: tuple[int, int], seed: int, progress=None) -> dict:  # noqa: ANN001
    """Write the three aggregated extracts beside the demo's and ingest them (elucidation needs the snapshot)."""
    from observatory.means import service
    from observatory.means.store import ingest_aggregates
    from observatory.territory import populations

    pops = populations(settings)
    folder = out_dir / "agregats"
    results = {}
    files = {"mjd": write_mjd(folder / "mjd", years, pops, seed), "aide_victimes": write_victims(folder / "aide_victimes", years, pops, seed)}
    facts = service.recorded_facts(settings, ("arrondissement", "month", "category"), fact_sources=("police_nationale",))
    if not facts.empty:
        facts = facts.assign(month=pd.to_datetime(facts["month"]))
        facts = facts[facts["month"].dt.year.between(years[0], years[1])]
        files["elucidation"] = write_elucidation(folder / "elucidation", facts, seed)
    for source, paths in files.items():
        if progress:
            progress(f"{source} : intégration de {len(paths)} fichier(s) agrégé(s)")
        results[source] = ingest_aggregates(settings, paths, source, now=datetime(years[1] + 1, 2, 1))
    return results


__all__ = ["ingest_demo_means", "install_means_register", "means_csv", "means_rows"]
