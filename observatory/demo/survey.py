"""A fictitious resident survey for the demo: three waves of a « cadre de vie et sécurité » survey of Lyon.

Design (what survey institutes deliver): residents aged 15+, ~2,000 per wave, stratified by arrondissement ×
QPV with the priority neighbourhoods over-sampled (about a third of the sample for a sixth of the population),
drawn in address blocks (« îlots », the PSUs) whose residents answer alike; weights = stratum population /
respondents, with a little non-response noise. Answers follow the demo's own recorded crime: the feeling of
insecurity is higher where the demo's rates are (the hypercentre and the QPV), falls slowly in the QPV from one
wave to the next (the CLS's objective), and burglary and theft victimisation are consistent with the demo's
recorded counts divided by plausible complaint rates (≈ 70 % for burglary, ≈ 35 % for theft).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from observatory import schema

WAVES = (2021, 2023, 2025)
PROFILE_NAME = "cadre_de_vie_demo"
# Share of residents of each arrondissement living in a QPV (fictitious, of Lyon's order of magnitude).
QPV_SHARE = {"69381": 0.10, "69382": 0.0, "69383": 0.06, "69384": 0.0, "69385": 0.12, "69386": 0.0, "69387": 0.10,
             "69388": 0.30, "69389": 0.28}
# Log-odds shift of insecurity by arrondissement (hypercentre and the 7e–9e higher, as the demo's records are).
ARR_SHIFT = {"69381": 0.45, "69382": 0.35, "69383": 0.05, "69384": -0.45, "69385": -0.1, "69386": -0.5, "69387": 0.2,
             "69388": 0.3, "69389": 0.25}
HYPERCENTRE_ARR = ("69381", "69382")
QUARTERS = {"69381": "Terreaux", "69382": "Bellecour", "69383": "Moncey", "69384": "Croix-Rousse", "69385": "Vieux Lyon",
            "69386": "Brotteaux", "69387": "Guillotière", "69388": "Mermoz / États-Unis", "69389": "La Duchère"}


def _logistic(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def draw_wave(wave: int, populations: pd.DataFrame, seed: int, n_target: int = 2000) -> pd.DataFrame:
    """One wave's respondents (the file's columns, answer codes as the questionnaire gives them)."""
    rng = np.random.default_rng([seed, wave, 7321])
    pops = populations.set_index("code")["population"].astype(float).reindex(list(schema.ARRONDISSEMENT_CODES))
    strata = []
    for code, pop in pops.items():
        share = QPV_SHARE[code]
        strata.append((code, False, pop * (1 - share)))
        if share:
            strata.append((code, True, pop * share))
    frame = pd.DataFrame(strata, columns=["arr", "qpv", "pop"])
    # QPV strata get three times their proportional share (over-sample), then everything is scaled to n_target.
    alloc = frame["pop"] * np.where(frame["qpv"], 3.0, 1.0)
    frame["n"] = np.maximum(np.round(alloc / alloc.sum() * n_target).astype(int), 12)
    t = (wave - WAVES[0]) / 2  # 0, 1, 2
    parts = []
    for i, s in frame.iterrows():
        n = int(s["n"])
        blocks = max(2, n // 12)
        block = rng.integers(0, blocks, n)
        block_effect = rng.normal(0, 0.35, blocks)[block]  # neighbours answer alike: the design effect
        base = -1.5 + ARR_SHIFT[s["arr"]] + (0.95 - 0.22 * t if s["qpv"] else 0.0) + block_effect
        p_night = _logistic(base)
        night = np.where(rng.random(n) < p_night, rng.choice([3, 4], n, p=[0.6, 0.4]), rng.choice([1, 2], n, p=[0.45, 0.55]))
        night = np.where(rng.random(n) < 0.03, 9, night)
        home = np.where(rng.random(n) < _logistic(base - 1.3), rng.choice([1, 2], n, p=[0.3, 0.7]), rng.choice([3, 4], n))
        stay = np.where(rng.random(n) < _logistic(base - 0.6), 1, 2)
        p_burg = 0.022 * np.exp(0.5 * (ARR_SHIFT[s["arr"]]))
        burg = np.where(rng.random(n) < p_burg, 1, 2)
        burg_complaint = np.where(burg == 1, np.where(rng.random(n) < 0.7, 1, 2), 0)
        p_theft = 0.045 * np.exp(0.6 * ARR_SHIFT[s["arr"]])
        theft = np.where(rng.random(n) < p_theft, 1, 2)
        theft_complaint = np.where(theft == 1, np.where(rng.random(n) < 0.35, 1, 2), 0)
        note = np.clip(np.round(rng.normal(6.2 - 0.8 * s["qpv"] - ARR_SHIFT[s["arr"]] + 0.15 * t, 1.8, n)), 1, 10).astype(int)
        note = np.where(rng.random(n) < 0.06, 99, note)
        weight = s["pop"] * 0.84 / n * rng.lognormal(0, 0.15, n)
        parts.append(pd.DataFrame({
            "STRATE": f"{s['arr']}-{'QPV' if s['qpv'] else 'HORS'}",
            "ILOT": [f"{s['arr']}{'Q' if s['qpv'] else 'H'}{b:03d}" for b in block],
            "ARRONDISSEMENT": s["arr"][-1],
            "QPV": int(s["qpv"]),
            "HYPERCENTRE": int(s["arr"] in HYPERCENTRE_ARR and not s["qpv"]),
            "QUARTIER": QUARTERS[s["arr"]] if s["qpv"] or rng.random() < 0.5 else "",
            "POIDS": weight.round(3),
            "Q1_SECURITE_SOIR": night, "Q2_DOMICILE": home, "Q3_RENONCE": stay,
            "Q4_CAMBRIOLAGE": burg, "Q5_PLAINTE_CAMB": np.where(burg_complaint == 0, "", burg_complaint.astype(str)),
            "Q6_VOL": theft, "Q7_PLAINTE_VOL": np.where(theft_complaint == 0, "", theft_complaint.astype(str)),
            "Q8_NOTE_POLICE": note,
        }))
    out = pd.concat(parts, ignore_index=True)
    out.insert(0, "VAGUE", wave)
    out.insert(0, "ID_REPONDANT", [f"{wave}-{i:05d}" for i in range(1, len(out) + 1)])
    return out


def write_survey(out_dir: Path, populations: pd.DataFrame, seed: int = 42, waves: tuple[int, ...] = WAVES) -> list[Path]:
    """One CSV per wave (French layout: ``;`` and decimal comma), as an institute delivers them."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for wave in waves:
        frame = draw_wave(wave, populations, seed)
        frame["POIDS"] = frame["POIDS"].map(lambda v: f"{v:.3f}".replace(".", ","))
        path = out_dir / f"enquete_cadre_de_vie_{wave}.csv"
        frame.to_csv(path, sep=";", index=False, encoding="utf-8", lineterminator="\n")
        paths.append(path)
    return paths
