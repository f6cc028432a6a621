"""Realism of the demo data, computed on the generated files themselves (as an analyst would find it).

One module-scoped generation: police nationale at half volume and the municipal police and pool logs at a
quarter, pool logs at twice the volume, 2019–2025 (≈ 150,000 rows, a few seconds). Every assertion is a direction with a rough size.
"""

from __future__ import annotations

import glob
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
import shapely

from observatory import demo
from observatory.config import get_settings
from observatory.demo import actions as act
from observatory.demo.model import to_l93, to_wgs84
from observatory.demo.partners import read_labels
from observatory.territory import grid_cell_ids, load_territory

REPO = Path(__file__).resolve().parents[1]
PN_SCALE = 0.5
PM_SCALE = 0.25
POOL_SCALE = 2.0  # pool logs are small: more volume for a readable before/after


@pytest.fixture(scope="module")
def gen(tmp_path_factory):
    base = tmp_path_factory.mktemp("demo_realism")
    settings = get_settings(root=REPO, env={}, data_dir=base / "data")
    out = base / "demo"
    demo.generate(settings, out, (2019, 2025), PN_SCALE, 42, sources=["police_nationale"])
    pm = demo.generate(settings, base / "demo_pm", (2019, 2025), PM_SCALE, 42, sources=["police_municipale"])
    pools = demo.generate(settings, base / "demo_pools", (2019, 2025), POOL_SCALE, 42, sources=["piscines"])
    return settings, out, pm.out_dir, pools.out_dir


def _unique(df: pd.DataFrame, key: str) -> pd.DataFrame:
    # Overlapping extracts: the latest extract wins, as in the ETL.
    return df.drop_duplicates(key, keep="last").reset_index(drop=True)


@pytest.fixture(scope="module")
def pn(gen):
    settings, out = gen[0], gen[1]
    files = sorted(glob.glob(str(out / "police_nationale" / "*.csv")))
    df = pd.concat([pd.read_csv(f, sep=";", encoding="cp1252", decimal=",", dtype={"NUM_FAIT": str, "CODE_INSEE": str}) for f in files])
    df = _unique(df, "NUM_FAIT")
    df["ts"] = pd.to_datetime(df["DATE_HEURE_FAITS"], format="%d/%m/%Y %H:%M", errors="coerce")
    df = df[df["ts"].notna() & df["ts"].dt.year.between(2019, 2025)].reset_index(drop=True)
    df["category"] = df["LIBELLE_INFRACTION"].map(read_labels(settings, "police_nationale")).fillna("non_classe")
    return df


@pytest.fixture(scope="module")
def pm(gen):
    settings, out = gen[0], gen[2]
    frames = []
    for f in sorted((out / "police_municipale").glob("*.xlsx")):
        wb = openpyxl.load_workbook(f, read_only=True)
        rows = list(wb["Interventions"].iter_rows(values_only=True))
        wb.close()
        h = next(i for i, r in enumerate(rows) if r and r[0] == "N° intervention")
        frames.append(pd.DataFrame(rows[h + 1 :], columns=rows[h]))
    df = _unique(pd.concat(frames, ignore_index=True), "N° intervention")
    df["ts"] = pd.to_datetime(df["Date"].where(df["Date"].map(lambda v: hasattr(v, "year"))), errors="coerce")
    df = df[df["ts"].notna()].reset_index(drop=True)
    df["category"] = df["Motif"].map(read_labels(settings, "police_municipale")).fillna("non_classe")
    return df


@pytest.fixture(scope="module")
def pools(gen):
    settings, out = gen[0], gen[3]
    frames = []
    for f in sorted((out / "piscines").glob("*.xlsx")):
        wb = openpyxl.load_workbook(f, read_only=True)
        rows = list(wb.worksheets[0].iter_rows(values_only=True))
        wb.close()
        frames.append(pd.DataFrame(rows[1:], columns=rows[0]))
    df = pd.concat(frames, ignore_index=True)
    df = df[df["Date"].map(lambda v: hasattr(v, "year"))].reset_index(drop=True)
    df["ts"] = pd.to_datetime(df["Date"])
    df["category"] = df["Type d'incident"].map(read_labels(settings, "piscines")).fillna("non_classe")
    return df


def _located(df: pd.DataFrame, settings) -> pd.DataFrame:
    city = load_territory(settings).city_l93()
    ok = df["X_L93"].notna() & shapely.contains_xy(city, df["X_L93"].fillna(0).to_numpy(), df["Y_L93"].fillna(0).to_numpy())
    return df[ok]


# Volumes and places -----------------------------------------------------------------------------------------------
def test_police_volume_is_of_the_order_of_lyon(pn, pm):
    pn_year = len(pn) / 7 / PN_SCALE
    pm_year = len(pm) / 7 / PM_SCALE
    assert 30_000 <= pn_year <= 38_000
    assert 10_000 <= pm_year <= 14_000
    assert 40_000 <= pn_year + pm_year <= 50_000


def test_first_and_second_arrondissements_have_the_highest_rates(pn, gen):
    settings = gen[0]
    arr = load_territory(settings).arrondissements.set_index("code")
    rates = pn.groupby("CODE_INSEE").size() / arr["population"]
    top = set(rates.sort_values(ascending=False).index[:2])
    assert top == {"69381", "69382"}
    assert rates.min() * 3 < rates.max()


def test_hypercentre_is_the_densest_zone(pn, gen):
    settings = gen[0]
    p = _located(pn, settings)
    zones = load_territory(settings).zones_l93()
    zones = zones[zones["kind"] != "piscine"]  # 150 m pool buffers are too small to compare densities
    density = {z.zone_id: shapely.contains_xy(z.geometry, p["X_L93"].to_numpy(), p["Y_L93"].to_numpy()).sum() / z.geometry.area for z in zones.itertuples()}
    ranked = sorted(density, key=density.get, reverse=True)
    assert ranked[0] == "hypercentre"
    arr = load_territory(settings).arrondissements_l93()
    city_density = len(p) / arr.area.sum()
    assert density["hypercentre"] > 4 * city_density


def test_a_few_hundred_cells_hold_half_the_incidents(pn, gen):
    p = _located(pn, gen[0])
    counts = pd.Series(grid_cell_ids(p["X_L93"], p["Y_L93"], 200)).value_counts()
    half = int((counts.cumsum() / counts.sum() < 0.5).sum()) + 1
    assert 80 <= half <= 400
    assert half / len(counts) < 0.2  # concentrated: half the incidents in under a fifth of the cells
    # Named hot spots are among the busiest cells.
    top = set(counts.index[:80])
    for lon, lat in ((4.8432, 45.7577), (4.8580, 45.7608), (4.8340, 45.7605)):  # Guillotière, Part-Dieu, Bellecour
        x, y = to_l93([lon], [lat])
        ids = set(grid_cell_ids(x[0] + np.array([-200, 0, 200, -200, 0, 200, -200, 0, 200]), y[0] + np.array([-200, -200, -200, 0, 0, 0, 200, 200, 200]), 200))
        assert ids & top, (lon, lat)


def test_sensitive_categories_in_realistic_proportion(pn):
    share = pn["category"].isin(["violences_intrafamiliales", "violences_sexuelles"]).mean()
    assert 0.06 <= share <= 0.14


# Time patterns -----------------------------------------------------------------------------------------------------
def test_pools_are_busy_in_summer(pools):
    summer = pools["ts"].dt.month.isin([6, 7, 8]).mean()
    assert summer > 0.6
    # Summer-only pools log nothing outside their season.
    summer_only = pools[pools["Piscine"].str.contains("Tony-Bertrand|Gerland|Duchère")]
    assert summer_only["ts"].dt.month.isin([6, 7, 8]).all()


def test_burglary_higher_in_winter_evenings(pn):
    b = pn[pn["category"] == "cambriolages_logement"]
    month = b["ts"].dt.month
    winter, summer = b[month.isin([11, 12, 1, 2])], b[month.isin([5, 6, 7, 8])]
    assert len(winter) / len(summer) > 1.3
    evening = lambda d: d["ts"].dt.hour.between(17, 21).mean()  # noqa: E731
    assert evening(winter) > evening(summer) + 0.15


def test_public_order_peaks_at_night_and_weekends(pm):
    po = pm[pm["category"].isin(["ivresse_publique", "nuisances_sonores", "rixes_regroupements"])]
    hour = po["ts"].dt.hour
    night = ((hour >= 22) | (hour <= 4)).mean()
    assert night > 0.45  # 7 hours of 24 would be 0.29
    weekend = po["ts"].dt.day_of_week.isin([4, 5, 6]).mean()
    assert weekend > 3 / 7 + 0.06
    parking = pm[pm["category"] == "stationnement_genant"]
    assert ((parking["ts"].dt.hour >= 22) | (parking["ts"].dt.hour <= 4)).mean() < 0.2


def test_lockdown_dip_in_spring_2020(pn, pm):
    for df in (pn, pm):
        april = df[df["ts"].dt.month == 4].groupby(df["ts"].dt.year).size()
        assert april[2020] < 0.7 * april[2019]
        assert april[2021] > 0.9 * april[2019]
    ivf = pn[(pn["category"] == "violences_intrafamiliales") & (pn["ts"].dt.month == 4)].groupby("ts").size()
    assert ivf.size > 0


def test_trends_some_rising_some_falling_some_flat(pn):
    per_year = pn.groupby([pn["ts"].dt.year, "category"]).size().unstack(fill_value=0)
    ratio = per_year.loc[2025] / per_year.loc[2019]
    assert ratio["escroqueries"] > 1.35 and ratio["violences_sexuelles"] > 1.35
    assert ratio["cambriolages_logement"] < 0.85 and ratio["vols_dans_vehicules"] < 0.75
    assert 0.9 < ratio["vols_sans_violence_personnes"] < 1.1 and 0.9 < ratio["destructions_degradations"] < 1.1
    assert per_year.loc[2019, "usage_stupefiants_afd"] == 0 and per_year.loc[2021, "usage_stupefiants_afd"] > 0


# Actions -----------------------------------------------------------------------------------------------------------
def _before_after(df: pd.DataFrame, start: pd.Timestamp, months: int = 12) -> tuple[int, int]:
    before = ((df["ts"] >= start - pd.DateOffset(months=months)) & (df["ts"] < start)).sum()
    after = ((df["ts"] >= start) & (df["ts"] < start + pd.DateOffset(months=months))).sum()
    return int(before), int(after)


def test_cameras_reduce_targeted_incidents_with_partial_displacement(pn, gen):
    p = _located(pn, gen[0])
    x, y = to_l93([act.CAMERA_SITE[0]], [act.CAMERA_SITE[1]])
    d = np.hypot(p["X_L93"] - x[0], p["Y_L93"] - y[0])
    target = p["category"].isin(act.CAMERA_CATEGORIES)
    start = pd.Timestamp(act.CAMERA_START)
    b, a = _before_after(p[target & (d <= 150)], start)
    assert b > 150 and 0.55 < a / b < 0.85  # −30 % built in
    rb, ra = _before_after(p[target & (d > 150) & (d <= 400)], start)
    assert ra / rb > a / b + 0.15  # the ring does not fall: displacement, not diffusion of benefits
    ob, oa = _before_after(p[~target & (d <= 150)], start)
    assert 0.85 < oa / ob < 1.2  # untargeted categories under the cameras are unaffected


def test_pool_mediation_reduces_incidents_at_that_pool_only(pools):
    targeted = pools["category"].isin(act.MEDIATION_POOL_CATEGORIES)
    year = pools["ts"].dt.year
    tb = pools["Piscine"].str.contains("Tony-Bertrand")
    before = (targeted & tb & year.isin([2021, 2022])).sum()
    after = (targeted & tb & year.isin([2023, 2024])).sum()
    assert before > 40 and after / before < 0.8
    others_before = (targeted & ~tb & year.isin([2021, 2022])).sum()
    others_after = (targeted & ~tb & year.isin([2023, 2024])).sum()
    assert 0.8 < others_after / others_before < 1.3


def test_mermoz_patrols_have_no_effect(pn, gen):
    settings = gen[0]
    p = _located(pn, settings)
    zone = load_territory(settings).zones_l93().set_index("zone_id").loc["qpv_mermoz", "geometry"]
    inside = shapely.contains_xy(zone, p["X_L93"].to_numpy(), p["Y_L93"].to_numpy())
    target = p["category"].isin(["cambriolages_logement", "vols_dans_vehicules"]).to_numpy()
    start = pd.Timestamp("2022-10-01")
    b, a = _before_after(p[inside & target], start)
    cb, ca = _before_after(p[~inside & target], start)
    # Same evolution as the rest of the city (both fall with the citywide trend): no effect of the patrols.
    assert 0.75 < (a / b) / (ca / cb) < 1.3
