"""What the yearly report reads besides the counts: SSMSI figures, the action plan, the quarantine ledger.

Each test builds a tiny published store in ``tmp_path`` (no file of the repository's data folder is touched).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from observatory import official, store
from observatory.config import get_settings
from observatory.reports.diagnostic import DID_COLUMN, WDD_COLUMN, diagnostic_for
from observatory.reports.render import render_html
from tests.incident_factory import incidents, publish_snapshot

REPO = Path(__file__).resolve().parents[1]
DID_WDD = (WDD_COLUMN, DID_COLUMN)


@pytest.fixture
def settings(tmp_path):
    return get_settings(root=REPO, env={}, data_dir=tmp_path / "data", profiles_dir=REPO / "data" / "raw" / "sources")


def _small_store(settings, years=(2024, 2025)) -> None:
    """60 burglaries a year in the 3e and 40 frauds in the 1er: enough to publish, nothing to hide."""
    rows = []
    for y in years:
        rows += [("69383", "cambriolages_logement", f"{y}-{1 + i % 12:02d}-10 14:00") for i in range(60)]
        rows += [("69381", "escroqueries", f"{y}-{1 + i % 12:02d}-12 09:00") for i in range(40)]
    table = incidents(arrondissement=[r[0] for r in rows], category=[r[1] for r in rows], occurred_at=[r[2] for r in rows],
                      source_id=[f"S{i:05d}" for i in range(len(rows))])
    publish_snapshot(table, settings, snapshot_id="snap-inputs")


# SSMSI ----------------------------------------------------------------------------------------------------------
HEADER_2026 = '"CODGEO_2026";"annee";"indicateur";"unite_de_compte";"nombre";"taux_pour_mille";"est_diffuse";"insee_pop";"insee_pop_millesime";"insee_log";"insee_log_millesime"'
HEADER_2024 = "CODGEO_2024;annee;indicateur;unite_de_compte;nombre;taux_pour_mille;est_diffuse;insee_pop;COM_CODE;Nom_clean"


def _line(code, year, label, unit, nombre, taux, status, pop, log) -> str:
    q = lambda v: "NA" if v is None else f'"{v}"'  # noqa: E731 - as published: NA unquoted
    return ";".join(q(v) for v in (code, year, label, unit, nombre, taux, status, pop, "2023", log, "2022"))


SSMSI_2025 = [
    _line("69123", "2025", "Cambriolages de logement", "Infraction", "3000", "10,0000000", "diff", "500000", "300000"),
    _line("69123", "2024", "Cambriolages de logement", "Infraction", "2700", "9,0000000", "diff", "500000", "300000"),
    _line("69123", "2025", "Violences sexuelles", "Victime", "500", "1,0000000", "diff", "500000", "300000"),
    _line("69383", "2025", "Cambriolages de logement", "Infraction", "420", "6,0000000", "diff", "100000", "70000"),
    _line("69383", "2024", "Cambriolages de logement", "Infraction", "400", "5,7142857", "diff", "100000", "70000"),
    _line("69383", "2025", "Violences sexuelles", "Victime", None, None, "ndiff", "100000", "70000"),
]
SSMSI_OLD = [
    "69123;2016;Cambriolages de logement;Infraction;3301;10,95;diff;500000;69123;LYON",
    "69123;2017;Cambriolages de logement;Infraction;3100;10,2;diff;500000;69123;LYON",
]


def test_summary_quotes_the_ssmsi_figures_of_the_year_and_of_the_territory(settings, tmp_path):
    _small_store(settings)
    no_official = diagnostic_for(settings, 2025)
    assert no_official.official_summary == [] and no_official.official_source == ""

    # An edition holding older years only (like the reference subset): nothing quoted, and the report says why.
    old = tmp_path / "old.csv"
    old.write_text("\n".join([HEADER_2024, *SSMSI_OLD]) + "\n", encoding="utf-8")
    official.import_official(settings, old)
    d = diagnostic_for(settings, 2025)
    assert d.official_summary == [] and "couvre les années 2016–2017" in d.official_source and "2025" in d.official_source

    new = tmp_path / "new.csv"
    new.write_text("\n".join([HEADER_2026, *SSMSI_2025]) + "\n", encoding="utf-8")
    official.import_official(settings, new)
    city = diagnostic_for(settings, 2025)
    assert "Cambriolages de logement : 3\u00a0000 infractions en 2025 (2\u00a0700 en 2024) ; 10,0 pour 1\u00a0000 logements." in city.official_summary
    assert "Violences sexuelles : 500 victimes en 2025 ; 1,0 pour 1\u00a0000 habitants." in city.official_summary
    assert len(city.official_summary) == 2
    assert "édition 2026" in city.official_source
    html = render_html(city)
    assert "Chiffres officiels du ministère de l'Intérieur (SSMSI)" in html and "3\u00a0000 infractions en 2025" in html
    # The summary comes before the priorities: it is in the Synthèse chapter.
    assert html.index("3\u00a0000 infractions en 2025") < html.index("Priorités de l'année</h3>")

    # An arrondissement's report quotes that arrondissement's own SSMSI rows (code 69383), never the city's.
    third = diagnostic_for(settings, 2025, "69383")
    assert any(line.startswith("Cambriolages de logement : 420 infractions en 2025 (400 en 2024)") for line in third.official_summary)
    assert any("non diffusé" in line for line in third.official_summary)
    assert not any("3\u00a0000" in line for line in third.official_summary)


# Action plan -------------------------------------------------------------------------------------------------------
CENTRE = (4.8600, 45.7600)  # Lyon 3e, Part-Dieu side


def _action_store(settings, effect: float = 0.5, seed: int = 5) -> None:
    """Uniform thefts over the 3e in 2023–2024; within 250 m of CENTRE, from 2024-01-01, only 1 − effect kept."""
    from observatory.territory import load_territory

    rng = np.random.default_rng(seed)
    arr = load_territory(settings).arrondissements_l93().set_index("code").geometry["69383"]
    x0, y0, x1, y1 = arr.bounds
    n = rng.poisson(150 * (x1 - x0) * (y1 - y0) / 1e6 * 24)
    x, y = rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)
    when = pd.Timestamp("2023-01-01 12:00") + pd.to_timedelta(rng.integers(0, 731, n), unit="D")
    import geopandas as gpd
    import shapely

    cx, cy = gpd.GeoSeries([shapely.Point(CENTRE)], crs="EPSG:4326").to_crs("EPSG:2154").iloc[0].coords[0]
    inside = np.hypot(x - cx, y - cy) <= 250
    keep = ~(inside & (when >= pd.Timestamp("2024-01-01")) & (rng.uniform(size=n) < effect))
    table = incidents(x=x[keep], y=y[keep], occurred_at=[t.strftime("%Y-%m-%d %H:%M") for t in when[keep]],
                      arrondissement=["69383"] * int(keep.sum()), category=["vols_sans_violence_personnes"] * int(keep.sum()))
    publish_snapshot(table, settings, snapshot_id="snap-actions")


def test_actions_section_gives_each_action_its_wdd_verdict_and_did(settings):
    from observatory.actions import evaluations_for_year, upsert_action

    _action_store(settings)
    upsert_action(settings, {
        "action_id": "A1", "title": "Patrouilles pédestres Part-Dieu", "type": "patrouilles", "partner": "Police municipale",
        "lon": str(CENTRE[0]), "lat": str(CENTRE[1]), "radius_m": "250", "start": "2024-01-01",
        "categories": "vols_sans_violence_personnes|vols_violents_sans_arme", "status": "en_cours",
    })
    ev = evaluations_for_year(settings, 2024).iloc[0]
    d = diagnostic_for(settings, 2024)
    assert d.actions is not None
    table = d.actions.tables[0]
    row = table.frame.iloc[0]
    assert row["Action"] == "Patrouilles pédestres Part-Dieu"
    assert row["Verdict"] == ev["verdict"] and ev["verdict_code"] == "decrease"
    # WDD rounded with its 95 % interval; DiD as a percent effect with its interval, from the same evaluation.
    wdd = f"{round(ev['wdd']):+d}".replace("-", "−")
    assert row[DID_WDD[0]].startswith(wdd + " [") and re.fullmatch(r"[+−]\d+ \[[+−]\d+\u00a0;\u00a0[+−]\d+\]", row[DID_WDD[0]])
    pct = round((ev["did_ratio"] - 1) * 100)
    assert row[DID_WDD[1]].startswith(f"{pct:+d}\u00a0%".replace("-", "−"))
    assert row["Catégories"] == "Vols sans violence contre des personnes, Vols violents sans arme"
    # Figures right-aligned, text left and wrapping (the categories used to be cut on the right of the PDF).
    assert table.is_numeric(DID_WDD[0]) and table.is_numeric(DID_WDD[1])
    assert not table.is_numeric("Catégories") and not table.is_numeric("Verdict")
    assert "Objectif" not in table.frame.columns  # no objective in the register: no empty column
    html = render_html(d)
    assert "Quel résultat retenir" in html
    cells = re.findall(r"<tr><td>Patrouilles pédestres Part-Dieu</td>(.*?)</tr>", html)[0]
    assert re.search(r"<td>[^<]*Vols sans violence[^<]*</td>", cells)  # no class="num": the text wraps


# Quarantine ------------------------------------------------------------------------------------------------------
def test_quarantine_count_is_the_snapshot_s_as_the_quarantine_command_shows(tmp_path):
    from observatory.etl import ingest
    from tests.etl_helpers import pn_row, settings_for, write_pn

    s = settings_for(tmp_path)
    good = [pn_row(f"G{i}", f"{(i % 27) + 1:02d}/0{1 + i % 9}/2025 10:00", arr="69383") for i in range(40)]
    good += [pn_row(f"P{i}", f"{(i % 27) + 1:02d}/0{1 + i % 9}/2024 10:00", arr="69383") for i in range(40)]
    bad = [pn_row("B1", "31/02/2025 10:00"), pn_row("B2", "30/02/2025 11:00"), pn_row("B3", "32/01/2025 11:00")]
    assert ingest(s, [write_pn(tmp_path / "pn_20260115.csv", good + bad)], "police_nationale").snapshot_id
    # Refused for too many bad rows (10 of 30 > 5 %): its rows were never published, so they are not counted;
    # submitted twice, it is one file.
    many_bad = [pn_row(f"X{i}", f"{30 + i % 2}/02/2025 1{i}:00") for i in range(10)]
    refused = write_pn(tmp_path / "pn_20260201.csv", good[:20] + many_bad)
    ingest(s, [refused], "police_nationale")
    ingest(s, [refused], "police_nationale")
    assert [r["quarantined"] for r in store.read_refused(s)] == [10, 10]  # what the old report added up (3 + 20)
    shown = len(store.read_quarantine(s))  # what `observatory quarantine` lists
    assert shown == 3
    d = diagnostic_for(s, 2025)
    text = " ".join(d.quality.sentences)
    assert "dans les fichiers intégrés à l'instantané : 3." in text
    assert "Fichiers refusés en entier (rien n'en est publié, leurs lignes ne sont pas comptées ci-dessus) : 1 — pn_20260201.csv." in text
    assert "observatory quarantine" in dict(d.methods)["Quarantaine"]
