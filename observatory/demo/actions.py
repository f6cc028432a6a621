"""The demo's action plan: the register rows, and the effects the generator builds into the extracts.

Two actions have a real effect in the generated data, one has none (an evaluation must find nothing), and two
more make the calendar look like a real plan (their perimeters get no effect either):

- ``A2023-01`` cameras on place Gabriel-Péri from April 2023: the targeted police-nationale categories fall by
  30 % within 150 m of the square; about a third of the prevented incidents are *displaced* to the 150–400 m
  ring around it (partial displacement, no diffusion of benefits).
- ``A2023-02`` summer mediation at the Tony-Bertrand pool from June 2023: the targeted incidents of that pool's
  log fall by 40 %, and the municipal police's rixes/incivilités inside the pool's 150 m buffer by 30 % in
  June–August; the mediators record extra interventions in the Guillotière quarter in summer.
- ``A2022-01`` reinforced patrols in the Mermoz QPV (October 2022 – September 2023): no effect generated.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

ACTION_COLUMNS = (
    "action_id", "title", "type", "partner", "zone_id", "lon", "lat", "radius_m", "start", "end",
    "categories", "objective", "target_change_pct", "objective_year", "status", "notes",
)

CAMERA_SITE = (4.8432, 45.7577)  # place Gabriel-Péri
CAMERA_START = date(2023, 4, 1)
CAMERA_RADIUS_M = 150.0
CAMERA_RING_M = (150.0, 400.0)
CAMERA_CATEGORIES = ("vols_sans_violence_personnes", "vols_violents_sans_arme", "destructions_degradations")
CAMERA_REDUCTION = 0.30
CAMERA_DISPLACED_SHARE = 1 / 3

MEDIATION_POOL = "piscine_tony_bertrand"
MEDIATION_START = date(2023, 6, 1)
MEDIATION_POOL_CATEGORIES = ("violences_physiques_hors_famille", "incivilites", "intrusions")
MEDIATION_POOL_REDUCTION = 0.40
MEDIATION_PM_CATEGORIES = ("rixes_regroupements", "incivilites")
MEDIATION_PM_REDUCTION = 0.30
MEDIATION_EXTRA_QUARTER = "Guillotière"
MEDIATION_EXTRA_PER_SUMMER = 120  # extra mediator interventions per summer at scale 1

ACTIONS: tuple[dict[str, str], ...] = (
    {
        "action_id": "A2023-01", "title": "Vidéoprotection place Gabriel-Péri", "type": "videoprotection",
        "partner": "Ville de Lyon", "zone_id": "", "lon": f"{CAMERA_SITE[0]}", "lat": f"{CAMERA_SITE[1]}",
        "radius_m": f"{CAMERA_RADIUS_M:g}", "start": CAMERA_START.isoformat(), "end": "",
        "categories": "|".join(CAMERA_CATEGORIES), "objective": "−30 % des vols et dégradations autour de la place",
        "target_change_pct": "-30", "objective_year": "2024", "status": "en_cours",
        "notes": "Six caméras installées en mars 2023 ; données de démonstration (effet simulé : −30 % dans 150 m, déplacement partiel vers 150–400 m).",
    },
    {
        "action_id": "A2023-02", "title": "Médiation estivale aux abords de la piscine Tony-Bertrand", "type": "mediation",
        "partner": "Médiateurs", "zone_id": MEDIATION_POOL, "lon": "", "lat": "", "radius_m": "",
        "start": MEDIATION_START.isoformat(), "end": "", "categories": "|".join(MEDIATION_POOL_CATEGORIES + ("rixes_regroupements",)),
        "objective": "−30 % des incidents à la piscine pendant la saison d'été", "target_change_pct": "-30",
        "objective_year": "2023", "status": "en_cours",
        "notes": "Deux médiateurs chaque été de juin à août ; données de démonstration (effet simulé : −40 % au journal de la piscine).",
    },
    {
        "action_id": "A2022-01", "title": "Patrouilles renforcées à Mermoz", "type": "patrouilles",
        "partner": "Police nationale", "zone_id": "qpv_mermoz", "lon": "", "lat": "", "radius_m": "",
        "start": "2022-10-01", "end": "2023-09-30", "categories": "cambriolages_logement|vols_dans_vehicules",
        "objective": "−15 % des cambriolages de logement", "target_change_pct": "-15", "objective_year": "2023",
        "status": "terminee", "notes": "Données de démonstration : aucun effet simulé (l'évaluation ne doit rien trouver).",
    },
    {
        "action_id": "A2021-01", "title": "GLTD Moncey", "type": "gltd", "partner": "Parquet de Lyon",
        "zone_id": "qpv_moncey", "lon": "", "lat": "", "radius_m": "", "start": "2021-01-15", "end": "",
        "categories": "trafic_stupefiants|usage_stupefiants|occupation_halls", "objective": "", "target_change_pct": "",
        "objective_year": "", "status": "en_cours", "notes": "Groupe local de traitement de la délinquance ; données de démonstration (aucun effet simulé).",
    },
    {
        "action_id": "A2026-01", "title": "Éclairage des Pentes de la Croix-Rousse", "type": "amenagement",
        "partner": "Ville de Lyon", "zone_id": "", "lon": "4.8335", "lat": "45.7705", "radius_m": "300",
        "start": "2026-03-01", "end": "2026-12-31", "categories": "vols_violents_sans_arme|ivresse_publique",
        "objective": "", "target_change_pct": "", "objective_year": "", "status": "prevue",
        "notes": "Action prévue ; données de démonstration.",
    },
)


def actions_csv() -> str:
    """The register as CSV text (UTF-8, ',' delimiter, ISO dates, categories separated by '|')."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(ACTION_COLUMNS), lineterminator="\n")
    writer.writeheader()
    for row in ACTIONS:
        writer.writerow(row)
    return buf.getvalue()


@dataclass(frozen=True)
class CameraGeometry:
    x: float
    y: float


def camera_effect(rng: np.random.Generator, events: pd.DataFrame, site_xy: tuple[float, float], inside_city) -> pd.DataFrame:
    """Thin the targeted incidents near the cameras after the start; move a third of them to the ring.

    ``events`` has category, occurred_at, x, y (Lambert-93). Returns a new frame (the input is not mutated).
    """
    if events.empty:
        return events
    dx = events["x"].to_numpy() - site_xy[0]
    dy = events["y"].to_numpy() - site_xy[1]
    near = np.hypot(dx, dy) <= CAMERA_RADIUS_M
    after = events["occurred_at"].to_numpy() >= np.datetime64(CAMERA_START)
    target = events["category"].isin(CAMERA_CATEGORIES).to_numpy()
    hit = np.flatnonzero(near & after & target)
    if len(hit) == 0:
        return events
    prevented = hit[rng.random(len(hit)) < CAMERA_REDUCTION]
    displaced = prevented[rng.random(len(prevented)) < CAMERA_DISPLACED_SHARE]
    x = events["x"].to_numpy().copy()
    y = events["y"].to_numpy().copy()
    r = np.sqrt(rng.uniform(CAMERA_RING_M[0] ** 2, CAMERA_RING_M[1] ** 2, len(displaced)))
    angle = rng.uniform(0, 2 * np.pi, len(displaced))
    x[displaced] = site_xy[0] + r * np.cos(angle)
    y[displaced] = site_xy[1] + r * np.sin(angle)
    keep = np.ones(len(events), dtype=bool)
    keep[np.setdiff1d(prevented, displaced)] = False
    # A displaced point that would leave the city is simply prevented.
    keep[displaced[~inside_city(x[displaced], y[displaced])]] = False
    out = events.assign(x=x, y=y)
    return out[keep].reset_index(drop=True)


def pool_mediation_effect(rng: np.random.Generator, events: pd.DataFrame) -> pd.DataFrame:
    """Pool log: fewer targeted incidents at the mediated pool from the start (every later season)."""
    if events.empty:
        return events
    hit = (
        (events["site"] == MEDIATION_POOL).to_numpy()
        & (events["occurred_at"].to_numpy() >= np.datetime64(MEDIATION_START))
        & events["category"].isin(MEDIATION_POOL_CATEGORIES).to_numpy()
    )
    drop = hit & (rng.random(len(events)) < MEDIATION_POOL_REDUCTION)
    return events[~drop].reset_index(drop=True)


def pool_area_effect(rng: np.random.Generator, events: pd.DataFrame, pool_xy: tuple[float, float], radius_m: float) -> pd.DataFrame:
    """Municipal police: fewer rixes/incivilités in the pool's buffer in summers after the start."""
    if events.empty:
        return events
    near = np.hypot(events["x"].to_numpy() - pool_xy[0], events["y"].to_numpy() - pool_xy[1]) <= radius_m
    ts = pd.DatetimeIndex(events["occurred_at"])
    summer = np.isin(ts.month, (6, 7, 8)) & (events["occurred_at"].to_numpy() >= np.datetime64(MEDIATION_START))
    hit = near & summer & events["category"].isin(MEDIATION_PM_CATEGORIES).to_numpy()
    drop = hit & (rng.random(len(events)) < MEDIATION_PM_REDUCTION)
    return events[~drop].reset_index(drop=True)
