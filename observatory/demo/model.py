"""The statistical model behind the demo extracts: how many incidents, when, and where.

Everything is vectorised with numpy and driven by a ``numpy.random.Generator`` handed in by the caller, so the
same seed gives the same draws. Volumes are yearly counts at ``scale = 1`` for the whole city, chosen to be of
the order of Lyon's recorded crime (≈ 34,000 police-nationale facts and ≈ 12,000 municipal-police
interventions a year), with the patterns an analyst should find: trends per category, seasons, hours,
weekdays, the spring 2020 lockdown, hot spots.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from observatory.territory import LAMBERT93, WGS84, Territory

REFERENCE_YEAR = 2022  # trends are expressed relative to this year (factor 1)
HOTSPOT_SPREAD = 1.35  # widens every hot spot: half the incidents fall in a few hundred 200 m cells, as in Lyon


# Time profiles ----------------------------------------------------------------------------------------------------
def _hour_profile(peaks: list[tuple[float, float, float]], base: float = 0.15) -> np.ndarray:
    """24 probabilities from a base level plus circular Gaussian bumps (hour, width, weight)."""
    hours = np.arange(24, dtype=float) + 0.5
    p = np.full(24, base)
    for centre, width, weight in peaks:
        d = np.abs(hours - centre)
        d = np.minimum(d, 24 - d)  # midnight wraps
        p += weight * np.exp(-0.5 * (d / width) ** 2)
    return p / p.sum()


HOURS = {
    "day": _hour_profile([(11, 2.5, 1.0), (16.5, 2.5, 1.2)], base=0.05),
    "commute": _hour_profile([(8, 1.2, 1.0), (17.5, 1.5, 1.3), (13, 2, 0.4)], base=0.05),
    "evening": _hour_profile([(18.5, 1.6, 1.3), (14, 3, 0.5)], base=0.05),
    "night": _hour_profile([(0.5, 2.2, 1.5), (20, 2, 0.4)], base=0.04),
    "home": _hour_profile([(20.5, 2.5, 1.2), (12.5, 2, 0.3)], base=0.1),
    "allday": _hour_profile([(15, 5, 1.0)], base=0.3),
}
# Burglary is higher in winter evenings: darkness falls before people come home, so in October–March the
# evening bump dominates; in summer burglaries spread over the day (holiday absences).
BURGLARY_SUMMER_HOURS = _hour_profile([(11, 3, 1.0), (16, 3, 1.0), (21, 2, 0.4)], base=0.08)

WEEKDAYS = {  # Monday … Sunday
    "flat": np.ones(7),
    "weekend_night": np.array([0.72, 0.72, 0.82, 0.95, 1.3, 1.7, 1.25]),
    "workdays": np.array([1.12, 1.12, 1.1, 1.1, 1.08, 0.78, 0.7]),
    "shopping": np.array([0.9, 0.9, 0.95, 0.95, 1.05, 1.4, 0.85]),
}

SEASONS = {  # January … December
    "flat": np.ones(12),
    "summer": np.array([0.8, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.2, 1.0, 0.95, 0.9, 0.85]),
    "winter": np.array([1.4, 1.25, 1.0, 0.85, 0.8, 0.75, 0.8, 0.85, 0.9, 1.1, 1.35, 1.5]),
    "festive": np.array([0.9, 0.85, 0.9, 1.0, 1.05, 1.25, 1.2, 1.0, 1.0, 0.95, 0.9, 1.25]),
    "school": np.array([1.05, 1.05, 1.1, 1.0, 1.05, 1.0, 0.7, 0.6, 1.1, 1.1, 1.1, 0.95]),
}

LOCKDOWN_1 = (date(2020, 3, 17), date(2020, 5, 10))  # first national lockdown (inclusive)
LOCKDOWN_2 = (date(2020, 10, 30), date(2020, 12, 14))  # second, lighter one


@dataclass(frozen=True)
class CategoryModel:
    """How one category behaves over time and space (shared by all partners that record it)."""

    trend: float = 0.0  # yearly relative change, e.g. -0.05
    season: str = "flat"
    hours: str = "allday"
    weekdays: str = "flat"
    lockdown: float = 0.5  # factor during the first lockdown (second lockdown: halfway to 1)
    hotspot_share: float = 0.5  # share drawn around hot spots, the rest spread by population
    tags: dict[str, float] = field(default_factory=dict)  # weight of each hot-spot tag
    starts: date | None = None  # category does not exist before this date


CATEGORY_MODELS: dict[str, CategoryModel] = {
    # atteintes aux personnes
    "violences_physiques_hors_famille": CategoryModel(0.03, "summer", "night", "weekend_night", 0.45, 0.55, {"night": 3, "centre": 2, "station": 1, "qpv": 1}),
    "violences_intrafamiliales": CategoryModel(0.07, "festive", "home", "weekend_night", 1.15, 0.1, {"qpv": 1}),
    "violences_sexuelles": CategoryModel(0.09, "summer", "night", "weekend_night", 0.6, 0.3, {"night": 2, "centre": 1, "station": 1}),
    "menaces_injures": CategoryModel(0.02, "flat", "day", "flat", 0.7, 0.3, {"centre": 1, "qpv": 1}),
    # atteintes aux biens
    "vols_avec_armes": CategoryModel(-0.04, "winter", "evening", "flat", 0.5, 0.4, {"shopping": 1, "centre": 1}),
    "vols_violents_sans_arme": CategoryModel(-0.03, "flat", "night", "weekend_night", 0.35, 0.7, {"centre": 2, "night": 2, "station": 2, "drugs": 1}),
    "vols_sans_violence_personnes": CategoryModel(0.0, "summer", "day", "shopping", 0.25, 0.75, {"centre": 3, "station": 3, "shopping": 3, "night": 1}),
    "cambriolages_logement": CategoryModel(-0.05, "winter", "evening", "flat", 0.4, 0.05, {"qpv": 1}),
    "vols_vehicules": CategoryModel(-0.06, "flat", "night", "flat", 0.6, 0.15, {"qpv": 2}),
    "vols_dans_vehicules": CategoryModel(-0.07, "winter", "night", "flat", 0.6, 0.25, {"station": 1, "qpv": 1, "shopping": 1}),
    "vols_accessoires_vehicules": CategoryModel(-0.04, "flat", "night", "flat", 0.6, 0.15, {"qpv": 1}),
    "destructions_degradations": CategoryModel(0.0, "flat", "night", "weekend_night", 0.55, 0.45, {"qpv": 2, "night": 1, "centre": 1, "station": 1}),
    "incendies_volontaires": CategoryModel(0.04, "summer", "night", "weekend_night", 0.8, 0.6, {"qpv": 3}),
    # escroqueries: recorded where the victim lives
    "escroqueries": CategoryModel(0.08, "flat", "day", "workdays", 1.1, 0.05, {"shopping": 1}),
    # stupéfiants
    "trafic_stupefiants": CategoryModel(0.0, "flat", "evening", "flat", 0.7, 0.85, {"drugs": 3, "qpv": 3}),
    "usage_stupefiants": CategoryModel(-0.06, "summer", "evening", "weekend_night", 0.5, 0.7, {"drugs": 3, "qpv": 1, "night": 1, "station": 1}),
    # The amende forfaitaire délictuelle was generalised on 1 September 2020; it rises fast afterwards.
    "usage_stupefiants_afd": CategoryModel(0.18, "summer", "evening", "weekend_night", 1.0, 0.75, {"drugs": 3, "qpv": 1, "night": 1}, starts=date(2020, 9, 1)),
    # tranquillité publique
    "incivilites": CategoryModel(0.0, "summer", "day", "shopping", 0.4, 0.6, {"centre": 2, "station": 2, "shopping": 1, "qpv": 1}),
    "nuisances_sonores": CategoryModel(0.04, "summer", "night", "weekend_night", 1.2, 0.35, {"night": 3, "qpv": 1}),
    "occupation_halls": CategoryModel(0.0, "winter", "evening", "weekend_night", 0.6, 0.8, {"qpv": 4, "drugs": 1}),
    "ivresse_publique": CategoryModel(-0.02, "festive", "night", "weekend_night", 0.2, 0.75, {"night": 4, "centre": 2, "station": 1}),
    "stationnement_genant": CategoryModel(0.0, "flat", "day", "workdays", 0.3, 0.35, {"centre": 2, "shopping": 2, "station": 1}),
    "rixes_regroupements": CategoryModel(0.05, "summer", "night", "weekend_night", 0.5, 0.7, {"night": 2, "qpv": 3, "drugs": 1}),
    "conflits_voisinage": CategoryModel(0.02, "summer", "home", "flat", 1.3, 0.4, {"qpv": 3}),
    "intrusions": CategoryModel(0.02, "summer", "day", "flat", 0.5, 0.0, {}),
    "non_classe": CategoryModel(),
}


def category_model(code: str) -> CategoryModel:
    return CATEGORY_MODELS.get(code, CATEGORY_MODELS["non_classe"])


@dataclass(frozen=True)
class HotSpot:
    name: str
    lon: float
    lat: float
    sigma_m: float
    weight: float
    tags: tuple[str, ...]


# Where things happen in Lyon. Weights are relative; sigma is the spread of a Gaussian around the centre.
HOTSPOTS: tuple[HotSpot, ...] = (
    HotSpot("Terreaux - Hôtel de Ville", 4.8345, 45.7672, 180, 1.3, ("centre", "night", "drugs")),
    HotSpot("Bellecour - République", 4.8340, 45.7605, 230, 1.6, ("centre", "shopping", "night")),
    HotSpot("Cordeliers", 4.8360, 45.7640, 150, 0.9, ("centre", "shopping", "station")),
    HotSpot("Perrache", 4.8268, 45.7493, 160, 1.0, ("station", "centre")),
    HotSpot("Vieux Lyon", 4.8272, 45.7625, 150, 0.7, ("centre", "night")),
    HotSpot("Part-Dieu", 4.8580, 45.7608, 220, 1.6, ("station", "shopping")),
    HotSpot("Guillotière - Gabriel-Péri", 4.8432, 45.7577, 130, 1.5, ("drugs", "night", "station", "centre")),
    HotSpot("Saxe-Gambetta", 4.8475, 45.7535, 150, 0.5, ("station", "drugs")),
    HotSpot("Jean Macé", 4.8425, 45.7455, 140, 0.5, ("station",)),
    HotSpot("Gare de Vaise", 4.8040, 45.7805, 150, 0.5, ("station",)),
    HotSpot("Pentes de la Croix-Rousse", 4.8335, 45.7705, 170, 0.7, ("night", "drugs")),
    HotSpot("Confluence", 4.8185, 45.7415, 200, 0.5, ("shopping",)),
    HotSpot("Brotteaux", 4.8490, 45.7670, 180, 0.3, ("shopping", "night")),
    HotSpot("La Duchère", 4.7965, 45.7860, 230, 1.0, ("qpv", "drugs")),
    HotSpot("Mermoz", 4.8850, 45.7330, 180, 0.8, ("qpv", "drugs")),
    HotSpot("États-Unis", 4.8670, 45.7330, 230, 0.8, ("qpv",)),
    HotSpot("Langlet-Santy", 4.8720, 45.7260, 180, 0.5, ("qpv",)),
    HotSpot("Moncey", 4.8498, 45.7578, 120, 0.6, ("qpv", "drugs")),
)

# Background density per inhabitant: the centre attracts visitors, so the 1er and 2e get more per resident.
BACKGROUND_PER_CAPITA = {"69381": 1.9, "69382": 1.9, "69383": 1.1, "69384": 0.8, "69385": 0.9, "69386": 0.9, "69387": 1.1, "69388": 1.0, "69389": 1.0}

_TO_L93 = Transformer.from_crs(WGS84, LAMBERT93, always_xy=True)
_TO_WGS84 = Transformer.from_crs(LAMBERT93, WGS84, always_xy=True)


def to_l93(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return _TO_L93.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))


def to_wgs84(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return _TO_WGS84.transform(np.asarray(x, dtype=float), np.asarray(y, dtype=float))


class Geography:
    """The city in Lambert-93, prepared for fast vectorised point tests and sampling."""

    def __init__(self, territory: Territory):
        arr = territory.arrondissements_l93()
        self.codes = arr["code"].astype(str).tolist()
        self.polygons = list(arr.geometry.values)
        for poly in self.polygons:
            shapely.prepare(poly)
        self.city = shapely.union_all(self.polygons)
        shapely.prepare(self.city)
        self.population = dict(zip(self.codes, arr["population"].astype(float)))
        self.hotspots = HOTSPOTS
        hx, hy = to_l93([h.lon for h in HOTSPOTS], [h.lat for h in HOTSPOTS])
        self.hotspot_xy = np.column_stack([hx, hy])
        inside = shapely.contains_xy(self.city, hx, hy)
        if not inside.all():
            # With other boundaries than the shipped ones a centre may fall just outside: the draws around it
            # are rejected and redrawn anyway, so this only shifts weight.
            pass
        self.bounds = [poly.bounds for poly in self.polygons]
        self.hotspot_sigma = np.array([h.sigma_m for h in HOTSPOTS]) * HOTSPOT_SPREAD
        self._components: dict[int, tuple[CategoryModel, tuple[np.ndarray, np.ndarray]]] = {}

    def inside_city(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return shapely.contains_xy(self.city, x, y)

    def arrondissement_of(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """INSEE code of the arrondissement containing each point ('' outside)."""
        out = np.full(len(x), "", dtype=object)
        for code, poly in zip(self.codes, self.polygons):
            hit = shapely.contains_xy(poly, x, y)
            out[hit] = code
        return out

    def uniform_in(self, rng: np.random.Generator, index: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        """n points uniformly inside arrondissement ``index`` (rejection from its bounding box)."""
        xmin, ymin, xmax, ymax = self.bounds[index]
        xs, ys = [], []
        got = 0
        while got < n:
            k = max(16, int((n - got) * 2.5))
            x = rng.uniform(xmin, xmax, k)
            y = rng.uniform(ymin, ymax, k)
            ok = shapely.contains_xy(self.polygons[index], x, y)
            xs.append(x[ok])
            ys.append(y[ok])
            got += int(ok.sum())
        return np.concatenate(xs)[:n], np.concatenate(ys)[:n]

    def components(self, model: CategoryModel) -> tuple[np.ndarray, np.ndarray]:
        """Mixture weights: one per hot spot, then one per arrondissement (background); cached per model."""
        cached = self._components.get(id(model))
        if cached is not None and cached[0] is model:
            return cached[1]
        result = self._mixture(model)
        self._components[id(model)] = (model, result)
        return result

    def _mixture(self, model: CategoryModel) -> tuple[np.ndarray, np.ndarray]:
        hs = np.array([h.weight * sum(model.tags.get(t, 0.0) for t in h.tags) for h in self.hotspots])
        share = model.hotspot_share if hs.sum() > 0 else 0.0
        hs = hs / hs.sum() * share if hs.sum() > 0 else hs
        bg = np.array([self.population[c] * BACKGROUND_PER_CAPITA.get(c, 1.0) for c in self.codes])
        bg = bg / bg.sum() * (1 - share)
        weights = np.concatenate([hs, bg])
        return weights / weights.sum(), hs

    def sample(self, rng: np.random.Generator, n: int, model: CategoryModel) -> tuple[np.ndarray, np.ndarray]:
        """n points (Lambert-93) inside the city following the category's spatial mixture."""
        x = np.empty(n)
        y = np.empty(n)
        if n == 0:
            return x, y
        weights, _ = self.components(model)
        comp = rng.choice(len(weights), size=n, p=weights)
        nh = len(self.hotspots)
        todo = np.arange(n)
        for _attempt in range(50):
            c = comp[todo]
            hot = c < nh
            if hot.any():
                idx = todo[hot]
                centres = self.hotspot_xy[c[hot]]
                sigma = self.hotspot_sigma[c[hot]]
                x[idx] = centres[:, 0] + rng.normal(0, 1, len(idx)) * sigma
                y[idx] = centres[:, 1] + rng.normal(0, 1, len(idx)) * sigma
            for a in np.unique(c[~hot]):
                idx = todo[c == a]
                x[idx], y[idx] = self.uniform_in(rng, int(a) - nh, len(idx))
            bad = ~self.inside_city(x[todo], y[todo])
            todo = todo[bad]
            if len(todo) == 0:
                break
        else:  # pragma: no cover - a hot spot far outside the city; fall back to the background
            for i in todo:
                x[i], y[i] = self.uniform_in(rng, 0, 1)
        return x, y


def day_table(year: int, month: int) -> pd.DataFrame:
    """One row per day of the month: date, weekday (0 = Monday), lockdown flag (0, 1 first, 2 second)."""
    start = pd.Timestamp(year=year, month=month, day=1)
    days = pd.date_range(start, start + pd.offsets.MonthEnd(0), freq="D")
    d = days.date
    lock = np.zeros(len(days), dtype=int)
    lock[(d >= LOCKDOWN_1[0]) & (d <= LOCKDOWN_1[1])] = 1
    lock[(d >= LOCKDOWN_2[0]) & (d <= LOCKDOWN_2[1])] = 2
    return pd.DataFrame({"day": days, "weekday": days.day_of_week, "lockdown": lock})


def daily_expected(model: CategoryModel, annual: float, year: int, month: int, days: pd.DataFrame) -> np.ndarray:
    """Expected count for each day of the month for a category whose reference-year total is ``annual``."""
    t = year + (month - 0.5) / 12 - REFERENCE_YEAR
    level = annual / 365.25 * (1 + model.trend) ** t
    season = SEASONS[model.season]
    wk = WEEKDAYS[model.weekdays]
    wk = wk / wk.mean()
    mu = np.full(len(days), level * season[month - 1] / season.mean())
    mu = mu * wk[days["weekday"].to_numpy()]
    lock = days["lockdown"].to_numpy()
    mu = np.where(lock == 1, mu * model.lockdown, mu)
    mu = np.where(lock == 2, mu * (1 + model.lockdown) / 2, mu)
    if model.starts is not None:
        mu = np.where(days["day"].dt.date.to_numpy() < model.starts, 0.0, mu)
    return mu


def draw_hours(rng: np.random.Generator, model: CategoryModel, months: np.ndarray) -> np.ndarray:
    """Hour of day for each event, from the category's profile (burglary depends on the season)."""
    n = len(months)
    if model.hours == "evening" and model.season == "winter":
        dark = np.isin(months, (1, 2, 3, 10, 11, 12))
        out = np.empty(n, dtype=int)
        out[dark] = rng.choice(24, size=int(dark.sum()), p=HOURS["evening"])
        out[~dark] = rng.choice(24, size=int((~dark).sum()), p=BURGLARY_SUMMER_HOURS)
        return out
    return rng.choice(24, size=n, p=HOURS[model.hours])


def draw_events(
    rng: np.random.Generator,
    geo: Geography | None,
    volumes: dict[str, float],
    year: int,
    month: int,
    scale: float,
    locate: bool = True,
) -> pd.DataFrame:
    """Events of one month for one partner: ``label`` → yearly volume at scale 1, categories from ``volumes``.

    ``volumes`` maps (label, category) pairs encoded as ``"label\\tcategory"`` to yearly counts. Returns
    columns label, category, occurred_at (naive local time, minute precision), x, y (Lambert-93, NaN when
    ``locate`` is false).
    """
    days = day_table(year, month)
    day_values = days["day"].to_numpy()
    # Arrays per label, one DataFrame at the end: a frame per label cost more than the draws themselves.
    names: list[tuple[str, str]] = []
    codes, stamps, xs, ys = [], [], [], []
    for key, annual in volumes.items():
        label, category = key.split("\t")
        model = category_model(category)
        mu = daily_expected(model, annual * scale, year, month, days)
        counts = rng.poisson(mu)
        n = int(counts.sum())
        if n == 0:
            continue
        day = np.repeat(day_values, counts)
        hours = draw_hours(rng, model, np.full(n, month))
        minutes = rng.integers(0, 60, n)
        occurred = day + (hours * 60 + minutes).astype("timedelta64[m]")
        if locate and geo is not None:
            x, y = geo.sample(rng, n, model)
        else:
            x = y = np.full(n, np.nan)
        codes.append(np.full(n, len(names), dtype=np.int32))
        names.append((label, category))
        stamps.append(occurred)
        xs.append(x)
        ys.append(y)
    if not names:
        return pd.DataFrame({"label": pd.Series(dtype=str), "category": pd.Series(dtype=str), "occurred_at": pd.Series(dtype="datetime64[us]"), "x": pd.Series(dtype=float), "y": pd.Series(dtype=float)})
    occurred = np.concatenate(stamps)
    # A stable order (time, then draw order) so ids follow time like a real register.
    order = np.argsort(occurred, kind="stable")
    code = np.concatenate(codes)[order]
    return pd.DataFrame({
        "label": np.array([n[0] for n in names], dtype=object)[code],
        "category": np.array([n[1] for n in names], dtype=object)[code],
        "occurred_at": occurred[order],
        "x": np.concatenate(xs)[order],
        "y": np.concatenate(ys)[order],
    })
