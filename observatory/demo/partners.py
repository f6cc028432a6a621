"""The six partners of the demo: what each records, how much, and how its extracts look on disk.

Each partner turns model events into rows in its own dialect (as its profile in ``data/raw/sources/``
describes) and injects its own realistic defects at low rates. Monthly partners repeat the last days of the
previous month in each extract (overlap → duplicates) and occasionally requalify a repeated incident.
"""

from __future__ import annotations

import csv
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from observatory.fileio import sha256_file as _sha256_file
from observatory.demo import actions as act
from observatory.demo import outbreaks, places
from observatory.demo.exposure import pool_growth
from observatory.demo.model import Geography, category_model, day_table, daily_expected, draw_events, draw_hours, to_l93, to_wgs84
from observatory.demo.writers import fmt_datetime_parts, fmt_decimal, write_csv, write_xlsx, xlsx_datetime, xlsx_number, xlsx_text, xlsx_time
from observatory.territory import SEASON_MONTHS

# Defect kinds. The first three are expected in quarantine (dates no reader can parse, points far outside the
# city); "swapped_coords" are lat/lon written in each other's column (an ETL may repair or quarantine them);
# the rest are accepted: missing coordinates keep the arrondissement, unknown labels become non_classe.
QUARANTINE_DEFECTS = ("bad_date", "outside_city")
ALL_DEFECTS = ("bad_date", "outside_city", "swapped_coords", "missing_coords", "unknown_label", "unknown_quarter")
MAX_QUARANTINE_SHARE = 0.03  # well under the ETL's refusal threshold (5 % by default)


def read_labels(settings, source: str) -> dict[str, str]:
    """label → category from the partner's profile label CSV (the ETL's own mapping)."""
    profile = tomllib.loads((settings.sources_dir / f"{source}.toml").read_text(encoding="utf-8"))
    path = settings.sources_dir / profile["labels"]["file"]
    with path.open(encoding="utf-8", newline="") as fh:
        return {r["label"]: r["category"] for r in csv.DictReader(fh)}


@dataclass
class FileRecord:
    """One generated file and what was put into it (the generator's ground truth for tests and DEMO.json)."""

    source: str
    path: str  # relative to the demo folder, POSIX
    rows: int
    repeated: int = 0  # rows repeated from the previous extract, unchanged (expected duplicates)
    requalified: int = 0  # rows repeated with a new label (expected revisions)
    defects: dict[str, int] = field(default_factory=dict)
    sha256: str = ""

    def as_dict(self) -> dict:
        return {"source": self.source, "path": self.path, "rows": self.rows, "repeated": self.repeated,
                "requalified": self.requalified, "defects": dict(self.defects), "sha256": self.sha256}


sha256_of = _sha256_file  # observatory.fileio.sha256_file


def inject_defects(rng: np.random.Generator, n: int, rates: dict[str, float]) -> np.ndarray:
    """A defect code per row ('' = clean), disjoint, counts ≈ rate × n; quarantine-bound kinds are capped."""
    codes = np.full(n, "", dtype=object)
    if n == 0:
        return codes
    order = rng.permutation(n)
    pos = 0
    budget = int(np.floor(MAX_QUARANTINE_SHARE * n))
    for kind in ALL_DEFECTS:
        rate = rates.get(kind, 0.0)
        if rate <= 0:
            continue
        k = int(np.floor(rate * n + rng.random()))  # stochastic rounding keeps small files honest on average
        if kind in QUARANTINE_DEFECTS + ("swapped_coords",):
            k = min(k, budget)
            budget -= k
        k = min(k, n - pos)
        codes[order[pos : pos + k]] = kind
        pos += k
    return codes


def outside_points(rng: np.random.Generator, k: int) -> tuple[np.ndarray, np.ndarray]:
    """k points (Lambert-93) in neighbouring communes, beyond the city's tolerance."""
    pick = rng.integers(0, len(places.OUTSIDE_POINTS), k)
    lon = np.array([places.OUTSIDE_POINTS[i][0] for i in pick])
    lat = np.array([places.OUTSIDE_POINTS[i][1] for i in pick])
    x, y = to_l93(lon, lat)
    return x + rng.normal(0, 100, k), y + rng.normal(0, 100, k)


def _volumes(labels: dict[str, str], annual: dict[str, float]) -> dict[str, float]:
    missing = sorted(set(annual) - set(labels))
    if missing:  # the generator must only write labels the profile knows (unknown ones are injected on purpose)
        raise ValueError(f"demo labels absent from the profile label list: {missing}")
    return {f"{label}\t{labels[label]}": v for label, v in annual.items()}


def _pick(rng: np.random.Generator, options: tuple | list, n: int) -> np.ndarray:
    return np.asarray(options, dtype=object)[rng.integers(0, len(options), n)]


def _addresses(rng: np.random.Generator, arr: np.ndarray) -> np.ndarray:
    """'12 rue Paul Bert' drawn from the streets of each row's arrondissement (vectorised per arrondissement)."""
    out = np.full(len(arr), "", dtype=object)
    numbers = rng.integers(1, 160, len(arr)).astype(str)
    for code, streets in places.STREETS.items():
        m = arr == code
        if m.any():
            out[m] = np.strings.add(np.strings.add(numbers[m], " "), _pick(rng, streets, int(m.sum())).astype(str))
    return out


# ------------------------------------------------------------------------------------------------------------------
class Partner:
    """Base: a partner writing one file per period; subclasses define events, rows and files."""

    name: str = ""
    monthly: bool = True
    overlap_days: int = 0
    requalify_share: float = 0.0  # of the repeated rows
    requalify: dict[str, str] = {}
    unknown_labels: tuple[str, ...] = ()
    defect_rates: dict[str, float] = {}

    def __init__(self, settings, geo: Geography, scale: float):
        self.settings = settings
        self.geo = geo
        self.scale = scale
        self.labels = read_labels(settings, self.name)

    # events → canonical-ish frame with columns label, category, occurred_at, x, y, arr (+ partner extras)
    def events(self, rng: np.random.Generator, year: int, month: int) -> pd.DataFrame:
        raise NotImplementedError

    def ids(self, year: int, month: int, n: int) -> np.ndarray:
        raise NotImplementedError

    def extraction_date(self, year: int, month: int) -> date:
        nxt = pd.Timestamp(year=year, month=month, day=1) + pd.offsets.MonthBegin(1)
        return date(nxt.year, nxt.month, 3)

    def month_frame(self, seed: int, index: int, year: int, month: int) -> pd.DataFrame:
        """The month's own incidents, with ids and defect codes (deterministic for (seed, partner, month))."""
        rng = np.random.default_rng([seed, index, year, month])
        ev = self.events(rng, year, month)
        ev = self.attributes(rng, ev.assign(id=self.ids(year, month, len(ev))))
        ev = ev.assign(defect=inject_defects(rng, len(ev), self.defect_rates))
        return self.apply_defects(rng, ev)

    def attributes(self, rng: np.random.Generator, ev: pd.DataFrame) -> pd.DataFrame:
        """Per-incident details drawn once (place type, address…), so a repeated row is identical."""
        return ev

    def apply_defects(self, rng: np.random.Generator, ev: pd.DataFrame) -> pd.DataFrame:
        # Edits on numpy copies, one assign at the end: pandas' .loc writes into string columns were slow.
        d = ev["defect"].to_numpy()
        changes: dict[str, np.ndarray] = {}
        m = d == "unknown_label"
        if m.any():
            label = ev["label"].to_numpy(dtype=object).copy()
            category = ev["category"].to_numpy(dtype=object).copy()
            label[m] = _pick(rng, self.unknown_labels, int(m.sum()))
            category[m] = "non_classe"
            changes.update(label=label, category=category)
        if "x" in ev:
            x = ev["x"].to_numpy(dtype=float).copy()
            y = ev["y"].to_numpy(dtype=float).copy()
            m = d == "missing_coords"
            x[m] = np.nan
            y[m] = np.nan
            m = d == "outside_city"
            if m.any():
                ox, oy = outside_points(rng, int(m.sum()))
                x[m] = ox
                y[m] = oy
            changes.update(x=x, y=y)
        return ev.assign(**changes) if changes else ev.copy()

    def with_overlap(self, rng: np.random.Generator, prev: pd.DataFrame | None, cur: pd.DataFrame, year: int, month: int) -> tuple[pd.DataFrame, int, int]:
        """Prepend the last ``overlap_days`` of the previous month's clean rows; requalify a few of them."""
        if prev is None or self.overlap_days <= 0 or prev.empty:
            return cur, 0, 0
        start = np.datetime64(date(year, month, 1)) - np.timedelta64(self.overlap_days, "D")
        rep = prev[(prev["occurred_at"].to_numpy() >= start) & (prev["defect"] == "").to_numpy()].copy()
        requal = 0
        if self.requalify and self.requalify_share > 0 and len(rep):
            can = rep["label"].isin(list(self.requalify)).to_numpy()
            chosen = can & (rng.random(len(rep)) < self.requalify_share)
            if chosen.any():
                new = rep.loc[chosen, "label"].map(self.requalify)
                rep.loc[chosen, "label"] = new
                rep.loc[chosen, "category"] = new.map(self.labels)
                requal = int(chosen.sum())
        return pd.concat([rep, cur], ignore_index=True), len(rep) - requal, requal

    # rows → file
    def file_name(self, year: int, month: int) -> str:
        raise NotImplementedError

    def write(self, frame: pd.DataFrame, path: Path, year: int, month: int) -> None:
        raise NotImplementedError


def _lonlat(ev: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    lon, lat = to_wgs84(ev["x"].to_numpy(), ev["y"].to_numpy())
    return np.where(np.isfinite(lon), lon, np.nan), np.where(np.isfinite(lat), lat, np.nan)


def _bad_dates(rng: np.random.Generator, k: int, options: tuple[str, ...]) -> np.ndarray:
    return _pick(rng, options, k)


# ------------------------------------------------------------------------------------------------------------------
class PoliceNationale(Partner):
    name = "police_nationale"
    overlap_days = 7
    requalify_share = 0.04
    requalify = {
        "Vols sans violence contre des personnes": "Vols violents sans arme",
        "Vols à la tire": "Vols violents sans arme",
        "Coups et blessures volontaires": "Violences physiques intrafamiliales",
        "Menaces ou chantages": "Violences physiques hors cadre familial",
        "Vols dans les véhicules": "Vols de véhicule",
    }
    unknown_labels = ("Outrage à personne dépositaire de l'autorité", "Port d'arme prohibé", "Recel", "Infraction à la législation sur les étrangers")
    defect_rates = {"bad_date": 0.003, "outside_city": 0.002, "missing_coords": 0.005, "unknown_label": 0.003}
    ANNUAL = {
        "Vols sans violence contre des personnes": 5400, "Vols à la tire": 3600,
        "Violences physiques hors cadre familial": 2100, "Coups et blessures volontaires": 1400,
        "Violences physiques intrafamiliales": 2200, "Violences sexuelles": 900, "Menaces ou chantages": 1500,
        "Vols avec armes": 150, "Vols violents sans arme": 1300, "Cambriolages de logement": 2600,
        "Vols de véhicule": 1000, "Vols dans les véhicules": 2800, "Vols d'accessoires sur véhicules": 700,
        "Destructions et dégradations volontaires": 3000, "Escroqueries et fraudes aux moyens de paiement": 3000,
        "Trafic de stupéfiants": 350, "Usage de stupéfiants": 1200, "Usage de stupéfiants (AFD)": 800,
    }
    PLACE_TYPES = {
        "cambriolages_logement": ("Domicile", "Résidence principale", "Résidence secondaire"),
        "violences_intrafamiliales": ("Domicile",),
        "vols_vehicules": ("Voie publique", "Parking"),
        "vols_dans_vehicules": ("Voie publique", "Parking"),
        "vols_accessoires_vehicules": ("Voie publique", "Parking"),
        "escroqueries": ("Domicile", "Internet", "Commerce"),
        "vols_sans_violence_personnes": ("Voie publique", "Transports en commun", "Commerce", "Débit de boissons"),
    }
    DEFAULT_PLACES = ("Voie publique", "Voie publique", "Commerce", "Parties communes", "Débit de boissons")

    def events(self, rng, year, month):
        ev = draw_events(rng, self.geo, _volumes(self.labels, self.ANNUAL), year, month, self.scale)
        ev = act.camera_effect(rng, ev, self.geo.camera_xy, self.geo.inside_city)
        wave = outbreaks.burglary_wave(year, month, self.scale, self.labels[outbreaks.WAVE["label"]])
        if len(wave):
            ev = pd.concat([ev, wave], ignore_index=True)
        return ev.assign(arr=self.geo.arrondissement_of(ev["x"].to_numpy(), ev["y"].to_numpy()))

    def ids(self, year, month, n):
        return np.strings.add(f"{year}{month:02d}", zpad_seq(n, 7)).astype(object)

    def attributes(self, rng, ev):
        n = len(ev)
        places_ = np.full(n, "", dtype=object)
        cats = ev["category"].to_numpy()
        for cat in np.unique(cats):
            m = cats == cat
            places_[m] = _pick(rng, self.PLACE_TYPES.get(cat, self.DEFAULT_PLACES), int(m.sum()))
        nb = np.where(rng.random(n) < 0.03, rng.integers(2, 4, n), 1)
        arr = ev["arr"].to_numpy().astype(object)
        return ev.assign(place_type=places_, address=_addresses(rng, arr), nb=nb.astype(str))

    def file_name(self, year, month):
        return f"pn_faits_constates_{self.extraction_date(year, month):%Y%m%d}.csv"

    def write(self, frame, path, year, month):
        rng = np.random.default_rng([7, year, month])
        n = len(frame)
        date_txt = fmt_datetime_parts(frame["occurred_at"], "%d/%m/%Y %H:%M")
        bad = (frame["defect"] == "bad_date").to_numpy()
        date_txt[bad] = _bad_dates(rng, int(bad.sum()), ("31/02/2021 10:00", "00/00/0000 00:00", "2021-13-45", "##/##/#### ##:##", "inconnue"))
        arr = frame["arr"].to_numpy().astype(object)
        out = {
            "NUM_FAIT": frame["id"].to_numpy(),
            "DATE_HEURE_FAITS": date_txt,
            "LIBELLE_INFRACTION": frame["label"].to_numpy(),
            "TYPE_LIEU": frame["place_type"].to_numpy(),
            "LIEU": frame["address"].to_numpy(),
            "CODE_INSEE": arr,
            "X_L93": fmt_decimal(frame["x"].to_numpy(), 2, ","),
            "Y_L93": fmt_decimal(frame["y"].to_numpy(), 2, ","),
            "NB_FAITS": frame["nb"].to_numpy(),
            "SERVICE": np.where(np.isin(arr, ("69381", "69382", "69384", "69385")), "DIPN69 - CSP Lyon Centre", "DIPN69 - CSP Lyon"),
        }
        # Windows export: cp1252 and CRLF.
        write_csv(out, path, encoding="cp1252", delimiter=";", lineterminator="\r\n")


def zpad_seq(n: int, width: int) -> np.ndarray:
    return np.strings.zfill(np.arange(1, n + 1).astype(str), width)


# ------------------------------------------------------------------------------------------------------------------
class PoliceMunicipale(Partner):
    name = "police_municipale"
    overlap_days = 5
    requalify_share = 0.04
    requalify = {"Regroupement sur la voie publique": "Usage de stupéfiants", "Incivilités": "Dégradation de mobilier urbain", "Nuisances sonores": "Rixe"}
    unknown_labels = ("Divagation d'animaux", "Dépôt sauvage", "Affichage sauvage", "Feux d'artifice")
    defect_rates = {"bad_date": 0.003, "outside_city": 0.002, "swapped_coords": 0.003, "missing_coords": 0.008, "unknown_label": 0.004}
    ANNUAL = {
        "Incivilités": 2000, "Vente à la sauvette": 500, "Nuisances sonores": 2200, "Occupation de halls": 900,
        "Ivresse publique": 1800, "Stationnement gênant": 2500, "Rixe": 400, "Regroupement sur la voie publique": 700,
        "Dégradation de mobilier urbain": 500, "Usage de stupéfiants": 600,
    }
    PLACE_TYPES = ("Voie publique", "Voie publique", "Voie publique", "Parc ou jardin", "Hall d'immeuble", "Abords d'établissement scolaire", "Commerce")
    OUTCOMES = ("Rappel à la loi", "Verbalisation", "Évacuation", "Sans suite", "Interpellation")

    def events(self, rng, year, month):
        ev = draw_events(rng, self.geo, _volumes(self.labels, self.ANNUAL), year, month, self.scale)
        ev = act.pool_area_effect(rng, ev, self.geo.mediation_pool_xy, self.settings.pool_buffer_m)
        return ev.assign(arr=self.geo.arrondissement_of(ev["x"].to_numpy(), ev["y"].to_numpy()))

    def ids(self, year, month, n):
        return np.strings.add(f"PM-{year}-{month:02d}", zpad_seq(n, 6)).astype(object)

    def attributes(self, rng, ev):
        n = len(ev)
        arr = ev["arr"].to_numpy().astype(object)
        return ev.assign(place_type=_pick(rng, self.PLACE_TYPES, n), address=_addresses(rng, arr), outcome=_pick(rng, self.OUTCOMES, n))

    def file_name(self, year, month):
        return f"pm_interventions_{self.extraction_date(year, month):%Y-%m-%d}.xlsx"

    def write(self, frame, path, year, month):
        rng = np.random.default_rng([11, year, month])
        lon, lat = _lonlat(frame)
        swap = (frame["defect"] == "swapped_coords").to_numpy()
        lon, lat = np.where(swap, lat, lon), np.where(swap, lon, lat)
        lon, lat = np.round(lon, 6), np.round(lat, 6)
        bad = (frame["defect"] == "bad_date").to_numpy()
        bad_txt = _bad_dates(rng, int(bad.sum()), ("00/00/0000", "à préciser", "31/06/2022 18:00"))
        arr = frame["arr"].to_numpy().astype(object)
        columns = [
            xlsx_text(frame["id"].to_numpy()),
            xlsx_datetime(frame["occurred_at"], "dd/mm/yyyy hh:mm").where(bad, bad_txt),
            xlsx_text(frame["label"].to_numpy()),
            xlsx_text(frame["place_type"].to_numpy()),
            xlsx_text(frame["address"].to_numpy()),
            xlsx_text(np.where(arr == "", None, arr)),  # no arrondissement: an empty cell
            xlsx_number(lat),
            xlsx_number(lon),
            xlsx_text(frame["outcome"].to_numpy()),
        ]

        first = date(year, month, 1)
        last = (pd.Timestamp(first) + pd.offsets.MonthEnd(0)).date()
        title = [
            ["Ville de Lyon — Police municipale"],
            [f"Extraction des interventions du {first:%d/%m/%Y} au {last:%d/%m/%Y}"],
            [f"Éditée le {self.extraction_date(year, month):%d/%m/%Y}"],
        ]
        if month % 3 == 0:  # the title block varies from one month to the next
            title.insert(1, ["Document de travail — diffusion restreinte"])
        title.append([])
        header = ["N° intervention", "Date", "Motif", "Type de lieu", "Adresse", "Arrondissement", "Latitude", "Longitude", "Suite donnée"]
        write_xlsx(path, sheet="Interventions", header=header, columns=columns, title_rows=title)


# ------------------------------------------------------------------------------------------------------------------
class Tcl(Partner):
    name = "tcl"
    overlap_days = 3
    unknown_labels = ("Fraude", "Malaise voyageur", "Colis suspect")
    defect_rates = {"bad_date": 0.002, "swapped_coords": 0.003, "missing_coords": 0.004, "unknown_label": 0.004}
    ANNUAL = {
        "Incivilité": 1200, "Vol à la tire": 700, "Agression d'un voyageur": 350, "Agression d'un agent": 150,
        "Vol avec violence": 150, "Dégradation du matériel": 300, "Jet de projectiles": 100, "Consommation de stupéfiants": 150,
    }

    def events(self, rng, year, month):
        ev = draw_events(rng, None, _volumes(self.labels, self.ANNUAL), year, month, self.scale, locate=False)
        st = places.STATIONS
        w = np.array([s[4] for s in st])
        pick = rng.choice(len(st), size=len(ev), p=w / w.sum())
        lon = np.array([s[2] for s in st])[pick]
        lat = np.array([s[3] for s in st])[pick]
        x, y = to_l93(lon, lat)
        x = x + rng.normal(0, 25, len(ev))  # platform, exit, bus stop around the station
        y = y + rng.normal(0, 25, len(ev))
        return ev.assign(x=x, y=y, station=np.array([s[0] for s in st], dtype=object)[pick], line=np.array([s[1] for s in st], dtype=object)[pick])

    def ids(self, year, month, n):
        return np.strings.add(f"TCL{year}{month:02d}", zpad_seq(n, 6)).astype(object)

    def file_name(self, year, month):
        return f"tcl_incidents_{self.extraction_date(year, month):%Y%m%d}.csv"

    def write(self, frame, path, year, month):
        rng = np.random.default_rng([13, year, month])
        lon, lat = _lonlat(frame)
        swap = (frame["defect"] == "swapped_coords").to_numpy()
        lon, lat = np.where(swap, lat, lon), np.where(swap, lon, lat)
        day = fmt_datetime_parts(frame["occurred_at"], "%Y-%m-%d")
        bad = (frame["defect"] == "bad_date").to_numpy()
        day[bad] = _bad_dates(rng, int(bad.sum()), ("2021-02-30", "30/02/2021", "N/A"))
        out = {
            "id_incident": frame["id"].to_numpy(),
            "date": day,
            "heure": fmt_datetime_parts(frame["occurred_at"], "%H:%M"),
            "ligne": frame["line"].to_numpy(),
            "station": frame["station"].to_numpy(),
            "type_incident": frame["label"].to_numpy(),
            "lon": fmt_decimal(lon, 6, "."),
            "lat": fmt_decimal(lat, 6, "."),
        }
        write_csv(out, path, encoding="utf-8-sig", delimiter=",")


# ------------------------------------------------------------------------------------------------------------------
class Bailleurs(Partner):
    name = "bailleurs"
    overlap_days = 3
    unknown_labels = ("Encombrants", "Ascenseur vandalisé", "Tags")
    defect_rates = {"bad_date": 0.003, "unknown_label": 0.005}
    ANNUAL = {"Dégradation des parties communes": 800, "Squat de hall": 500, "Feu de poubelles": 350, "Incendie de véhicule": 60, "Trafic constaté": 120, "Nuisances": 250}

    def events(self, rng, year, month):
        ev = draw_events(rng, None, _volumes(self.labels, self.ANNUAL), year, month, self.scale, locate=False)
        res = places.RESIDENCES
        w = np.array([r[4] for r in res])
        pick = rng.choice(len(res), size=len(ev), p=w / w.sum())
        col = lambda j: np.array([r[j] for r in res], dtype=object)[pick]  # noqa: E731 - tiny column getter
        numbers = rng.integers(1, 40, len(ev)).astype(str)
        addr = np.strings.add(np.strings.add(numbers, " "), col(2).astype(str)).astype(object)
        ev = ev.assign(landlord=col(0), residence=col(1), address=addr, arr=col(3))
        # Their id is built from (landlord, date, address, nature): two reports identical on those would be
        # one incident to the ETL, so keep one (a real landlord would also log them as one).
        day = ev["occurred_at"].dt.floor("D")
        dup = pd.DataFrame({"a": ev["landlord"], "d": day, "b": ev["address"], "c": ev["label"]}).duplicated().to_numpy()
        return ev[~dup].reset_index(drop=True)

    def ids(self, year, month, n):
        return np.full(n, "", dtype=object)  # no id in the file: the ETL builds one from the fields

    def file_name(self, year, month):
        return f"bailleurs_signalements_{self.extraction_date(year, month):%Y%m%d}.csv"

    def write(self, frame, path, year, month):
        rng = np.random.default_rng([17, year, month])
        day = fmt_datetime_parts(frame["occurred_at"], "%d/%m/%Y")
        bad = (frame["defect"] == "bad_date").to_numpy()
        day[bad] = _bad_dates(rng, int(bad.sum()), ("32/01/2022", "??/??/????", "2022.03.01"))
        out = {
            "Bailleur": frame["landlord"].to_numpy(),
            "Résidence": frame["residence"].to_numpy(),
            "Adresse": frame["address"].to_numpy(),
            "Code INSEE": frame["arr"].to_numpy(),
            "Date constat": day,
            "Nature": frame["label"].to_numpy(),
        }
        write_csv(out, path, encoding="utf-8", delimiter=";")


# ------------------------------------------------------------------------------------------------------------------
# Pools: relative size of each site's incident rate and the attendance profile by month when open.
POOL_WEIGHT = {"piscine_tony_bertrand": 4.0, "piscine_gerland": 1.6, "piscine_delessert": 1.0, "piscine_vaise": 1.0,
               "piscine_duchere": 1.6, "piscine_mermoz": 1.2, "piscine_charial": 0.5, "piscine_garibaldi": 0.5,
               "piscine_saint_exupery": 0.4, "piscine_tronchet": 0.4}
POOL_ATTENDANCE = np.array([0.25, 0.25, 0.3, 0.35, 0.45, 1.2, 2.0, 1.8, 0.35, 0.3, 0.3, 0.25])
POOL_CLOSED = ((date(2020, 3, 14), date(2020, 6, 30)), (date(2020, 10, 30), date(2021, 6, 8)))  # covid closures


class Piscines(Partner):
    name = "piscines"
    monthly = False
    unknown_labels = ("Malaise", "Objet trouvé", "Chute")
    defect_rates = {"bad_date": 0.004, "unknown_label": 0.008}
    LABEL_SHARE = {"Bagarre": 0.22, "Agression du personnel": 0.06, "Vol en vestiaire": 0.22, "Intrusion": 0.14,
                   "Non-respect du règlement": 0.18, "Incivilité": 0.16, "Attouchements": 0.02}
    DAILY_RATE = 0.15  # incidents per open day at a pool of weight 1 and attendance 1, scale 1

    def __init__(self, settings, geo, scale):
        super().__init__(settings, geo, scale)
        import io
        from importlib import resources

        text = resources.files("observatory.data").joinpath("lyon_pools.csv").read_text(encoding="utf-8")
        self.pools = pd.read_csv(io.StringIO(text), dtype=str)

    def events(self, rng, year, month):
        days = day_table(year, month)
        d = days["day"].dt.date.to_numpy()
        day_values = days["day"].to_numpy()
        open_ = np.ones(len(days), dtype=bool)
        for a, b in POOL_CLOSED:
            open_ &= ~((d >= a) & (d <= b))
        cols: dict[str, list] = {"label": [], "category": [], "site": [], "site_name": [], "occurred_at": []}
        for pool in self.pools.itertuples():
            if month not in SEASON_MONTHS[pool.season]:
                continue
            # Incidents follow attendance (the demo's exposure series): Gerland's grows from 2022, and so do they.
            mu = self.DAILY_RATE * POOL_WEIGHT.get(pool.zone_id, 1.0) * POOL_ATTENDANCE[month - 1] * pool_growth(pool.zone_id, year) * self.scale
            for label, share in self.LABEL_SHARE.items():
                counts = rng.poisson(np.where(open_, mu * share, 0.0))
                n = int(counts.sum())
                if n == 0:
                    continue
                day = np.repeat(day_values, counts)
                # Opening hours 10:00–20:00 with an afternoon peak.
                hours = rng.choice(np.arange(10, 20), size=n, p=_POOL_HOURS)
                minutes = rng.integers(0, 60, n)
                for key, value in (("label", label), ("category", self.labels[label]), ("site", pool.zone_id), ("site_name", pool.name)):
                    cols[key].append(np.full(n, value, dtype=object))
                cols["occurred_at"].append(day + (hours * 60 + minutes).astype("timedelta64[m]"))
        if not cols["label"]:
            return pd.DataFrame(columns=["label", "category", "site", "site_name", "occurred_at"]).astype({"occurred_at": "datetime64[us]"})
        ev = pd.DataFrame({k: np.concatenate(v) for k, v in cols.items()}).sort_values(["occurred_at", "site"], kind="stable").reset_index(drop=True)
        ev = act.pool_mediation_effect(rng, ev)
        pool = self.pools.set_index("zone_id").loc[outbreaks.POOL_SPIKE["zone_id"]]
        spike = outbreaks.pool_spike(year, month, self.scale, self.labels, pool["name"])
        return pd.concat([ev, spike], ignore_index=True) if len(spike) else ev

    def ids(self, year, month, n):
        return np.full(n, "", dtype=object)  # numbered per season when the yearly log is written

    def file_name(self, year, month):
        return f"piscines_journal_saison_{year}.xlsx"

    def write(self, frame, path, year, month):
        rng = np.random.default_rng([19, year])
        frame = frame.sort_values(["occurred_at", "site"], kind="stable").reset_index(drop=True)
        bad = (frame["defect"] == "bad_date").to_numpy()
        bad_txt = _bad_dates(rng, int(bad.sum()), ("31/06", "??", "le 14 juillet"))
        columns = [
            xlsx_number(np.arange(1, len(frame) + 1)),
            xlsx_text(frame["site_name"].to_numpy()),
            xlsx_datetime(frame["occurred_at"], "dd/mm/yyyy", with_time=False).where(bad, bad_txt),
            xlsx_time(frame["occurred_at"]),  # the time of day even when the date is unreadable, as the log has it
            xlsx_text(frame["label"].to_numpy()),
        ]
        write_xlsx(path, sheet=f"Saison {year}", header=["N°", "Piscine", "Date", "Heure", "Type d'incident"], columns=columns)


_POOL_HOURS = np.array([0.05, 0.07, 0.08, 0.1, 0.13, 0.15, 0.15, 0.12, 0.09, 0.06])
_POOL_HOURS = _POOL_HOURS / _POOL_HOURS.sum()


# ------------------------------------------------------------------------------------------------------------------
class Mediateurs(Partner):
    name = "mediateurs"
    monthly = False
    unknown_labels = ("Accompagnement vers l'emploi", "Veille sociale")
    defect_rates = {"bad_date": 0.003, "unknown_label": 0.004, "unknown_quarter": 0.003}
    ANNUAL = {"Conflit de voisinage": 500, "Regroupement de jeunes": 700, "Nuisances": 400, "Occupation de hall": 350, "Incivilités": 450, "Médiation après rixe": 100}
    UNKNOWN_QUARTERS = ("Saxe-Gambetta", "Bachut", "Cité Jardin")

    def events(self, rng, year, month):
        ev = draw_events(rng, None, _volumes(self.labels, self.ANNUAL), year, month, self.scale, locate=False)
        q = list(places.MEDIATION_QUARTERS)
        w = np.array([places.MEDIATION_QUARTERS[k] for k in q])
        ev = ev.assign(quarter=np.asarray(q, dtype=object)[rng.choice(len(q), size=len(ev), p=w / w.sum())])
        # Hours: mediators work 9:00–23:00; fold night draws into the evening.
        hours = pd.DatetimeIndex(ev["occurred_at"]).hour.to_numpy()
        shift = np.where(hours < 9, 14, 0)
        ev = ev.assign(occurred_at=ev["occurred_at"] + pd.to_timedelta(shift, unit="h"))
        if month in (6, 7, 8) and date(year, month, 1) >= act.MEDIATION_START:
            # The summer mediation around the Tony-Bertrand pool: extra interventions in its quarter.
            days = day_table(year, month)
            mu = np.full(len(days), act.MEDIATION_EXTRA_PER_SUMMER / 92 * self.scale)
            counts = rng.poisson(mu)
            n = int(counts.sum())
            day = np.repeat(days["day"].to_numpy(), counts)
            hrs = rng.integers(13, 21, n)
            extra = pd.DataFrame({
                "label": _pick(rng, ("Regroupement de jeunes", "Incivilités", "Médiation après rixe"), n),
                "occurred_at": day + (hrs * 60 + rng.integers(0, 60, n)).astype("timedelta64[m]"),
                "x": np.nan, "y": np.nan, "quarter": act.MEDIATION_EXTRA_QUARTER,
            })
            extra["category"] = extra["label"].map(self.labels)
            ev = pd.concat([ev, extra[ev.columns]], ignore_index=True)
        return ev.sort_values("occurred_at", kind="stable").reset_index(drop=True)

    def ids(self, year, month, n):
        return np.strings.add(f"MED-{year}-{month:02d}", zpad_seq(n, 5)).astype(object)

    def apply_defects(self, rng, ev):
        ev = super().apply_defects(rng, ev)
        m = (ev["defect"] == "unknown_quarter").to_numpy()
        if m.any():
            quarter = ev["quarter"].to_numpy(dtype=object).copy()
            quarter[m] = _pick(rng, self.UNKNOWN_QUARTERS, int(m.sum()))
            ev = ev.assign(quarter=quarter)
        return ev

    def file_name(self, year, month):
        return f"mediateurs_interventions_{year}.csv"

    def write(self, frame, path, year, month):
        rng = np.random.default_rng([23, year])
        when = fmt_datetime_parts(frame["occurred_at"], "%d/%m/%Y %H:%M")
        bad = (frame["defect"] == "bad_date").to_numpy()
        when[bad] = _bad_dates(rng, int(bad.sum()), ("31/09/2022 18:00", "semaine 32", ""))
        out = {"ref": frame["id"].to_numpy(), "date_intervention": when, "quartier": frame["quarter"].to_numpy(), "motif": frame["label"].to_numpy()}
        write_csv(out, path, encoding="utf-8", delimiter=",")


PARTNERS: tuple[type[Partner], ...] = (PoliceNationale, PoliceMunicipale, Tcl, Bailleurs, Piscines, Mediateurs)
PARTNER_NAMES = tuple(p.name for p in PARTNERS)
