"""French labels and formats shared by the dashboard, the figures and the reports.

Numbers use a comma as decimal separator and a no-break space between thousands ("1 234,5"), dates are
dd/mm/yyyy, months and weekdays are spelled in French.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from observatory import schema

NBSP = "\u00a0"
# Plotly's layout.separators: decimal separator then thousands separator.
PLOTLY_SEPARATORS = ",\u00a0"

MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre")
MONTHS_SHORT = ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc.")
WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")

ARRONDISSEMENT_NAMES = {f"6938{i}": f"Lyon {i}{'er' if i == 1 else 'e'}" for i in range(1, 10)}
ARRONDISSEMENT_NAMES[schema.CITY_CODE] = "Lyon"

SOURCE_LABELS = {
    "police_nationale": "Police nationale",
    "police_municipale": "Police municipale",
    "tcl": "TCL (transports en commun)",
    "bailleurs": "Bailleurs sociaux",
    "piscines": "Piscines municipales",
    "mediateurs": "Médiateurs",
}

LOCATION_QUALITY_LABELS = {
    "point": "point (coordonnées)",
    "address": "adresse ou site connu",
    "sector": "secteur seulement",
    "none": "aucune localisation",
}

ZONE_KIND_LABELS = {
    "hypercentre": "Hypercentre",
    "piscine": "Piscine",
    "qpv": "Quartier prioritaire (QPV)",
    "gltd": "GLTD",
    "cellule_veille": "Cellule de veille",
    "camera": "Vidéoprotection",
    "perimetre": "Périmètre",
}

DEMO_NOTICE = "Données de démonstration — fictives"


def _group_thousands(digits: str) -> str:
    out = []
    for i, ch in enumerate(reversed(digits)):
        if i and i % 3 == 0:
            out.append(NBSP)
        out.append(ch)
    return "".join(reversed(out))


def fmt_number(value: float | int | None, decimals: int = 0) -> str:
    """``1234.5`` → ``"1 234,5"``; None or NaN → ``"–"``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    text = f"{abs(value):.{decimals}f}"
    whole, _, frac = text.partition(".")
    sign = "−" if value < 0 and float(text) != 0 else ""
    return sign + _group_thousands(whole) + ("," + frac if frac else "")


def fmt_int(value: float | int | None) -> str:
    return fmt_number(value, 0)


def fmt_signed(value: float | int | None, decimals: int = 0) -> str:
    """``+85`` / ``−85`` with a typographic minus."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return ("+" if value > 0 else "") + fmt_number(value, decimals)


def fmt_pct(value: float | None, decimals: int = 0, signed: bool = True) -> str:
    """A ratio in percent: ``-0.12`` → ``"−12 %"``."""
    if value is None or (isinstance(value, float) and (math.isnan(value) or math.isinf(value))):
        return "–"
    body = fmt_signed(value * 100, decimals) if signed else fmt_number(value * 100, decimals)
    return f"{body}{NBSP}%"


def fmt_date(value: date | datetime | None) -> str:
    if value is None:
        return "–"
    return value.strftime("%d/%m/%Y")


def fmt_datetime(value: datetime | None) -> str:
    """``dd/mm/yyyy HH:MM``; an aware moment (a snapshot's UTC stamp) is shown in Paris time, like every time a
    user reads; a naive value is taken as already local."""
    if value is None:
        return "–"
    if getattr(value, "tzinfo", None) is not None:
        value = value.astimezone(PARIS)
    return value.strftime("%d/%m/%Y %H:%M")


def month_name(month: int) -> str:
    return MONTHS[month - 1]


def month_year(year: int, month: int) -> str:
    return f"{MONTHS[month - 1]} {year}"


def category_label(code: str) -> str:
    cat = schema.categories().get(code)
    return cat.label if cat else code


def family_label(code: str) -> str:
    fam = schema.families().get(code)
    return fam.label if fam else code


def arrondissement_label(code: str | None) -> str:
    if code is None:
        return "Arrondissement inconnu"
    return ARRONDISSEMENT_NAMES.get(str(code), str(code))


def source_label(code: str) -> str:
    return SOURCE_LABELS.get(code, code)


def population_note(vintage: int) -> str:
    return f"taux pour 1{NBSP}000 habitants, population légale INSEE {vintage}"


PARIS = ZoneInfo("Europe/Paris")


def to_paris(value) -> datetime | None:  # noqa: ANN001 - datetime, pandas Timestamp or ISO text
    """A moment as Europe/Paris wall time — every time shown to a user is one (None when empty or unreadable).

    Aware values are converted; naive ones are taken as UTC, which is what the store and the accounts file write.
    """
    if value is None or value == "" or value != value:  # NaN / NaT compare unequal to themselves
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    if hasattr(value, "to_pydatetime"):  # pandas Timestamp
        value = value.to_pydatetime()
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(PARIS)


def fmt_paris(value) -> str:  # noqa: ANN001
    """``dd/mm/yyyy HH:MM`` in Europe/Paris time; « – » when unknown."""
    return fmt_datetime(to_paris(value))


def fmt_day(value) -> str:  # noqa: ANN001
    """A date (``2026-11-25``, a date, or a moment taken in Paris time) as ``25/11/2026``; text kept if unreadable."""
    if value is None or value == "":
        return "–"
    if isinstance(value, datetime):
        return fmt_date(to_paris(value))
    if isinstance(value, date):
        return fmt_date(value)
    text = str(value).strip()
    if len(text) == 10:
        try:
            return fmt_date(date.fromisoformat(text))
        except ValueError:
            return text
    moment = to_paris(text)
    return fmt_date(moment) if moment is not None else text


# « près de » + a place name ---------------------------------------------------------------------------------------
# Names that begin with a common noun take its article (« l'hypercentre », « la piscine de Vaise », « le centre
# nautique… »); quarter names that are plural in speech take « les » (« les États-Unis »); other proper names none.
_COMMON_NOUNS = {"hypercentre": "m", "piscine": "f", "centre": "m", "quartier": "m", "parc": "m", "place": "f",
                 "gare": "f", "secteur": "m", "zone": "f", "périmètre": "m", "marché": "m", "rue": "f", "cours": "m"}
_PLURAL_NAMES = {"États-Unis"}


def near(name: object) -> str:
    """« près de l'hypercentre (Presqu'île et Vieux Lyon) », « près de la piscine de Vaise », « près du centre
    nautique Tony-Bertrand », « près des États-Unis », « près de La Duchère », « près de Mermoz »."""
    text = str(name).strip()
    first = text.split(" ", 1)[0].split("(", 1)[0]
    gender = _COMMON_NOUNS.get(first.lower())
    if gender is not None:
        text = text[0].lower() + text[1:]
        if text[0] in "aeiouyhéèêàâîôû":
            return f"près de l'{text}"
        return f"près de la {text}" if gender == "f" else f"près du {text}"
    if text in _PLURAL_NAMES:
        return f"près des {text}"
    if text.startswith("Le "):
        return f"près du {text[3:]}"
    if text.startswith("Les "):
        return f"près des {text[4:]}"
    if text[:1].lower() in "aeiouyéèêàâîôû":
        return f"près d'{text}"
    return f"près de {text}"


# Texts for élus and the PDF -------------------------------------------------------------------------------------
# Notes written for analysts name CLI commands (« observatory territory fetch ») and method files
# (docs/actions.md); an élu can do nothing with either. public_text rewrites them for the public faces.
_PUBLIC_REWRITES = (
    # A parenthesis or a clause whose point is a command: dropped whole.
    (re.compile(r"\s*\([^()]*«\s*observatory [^»]*»[^()]*\)"), ""),
    (re.compile(r"\s*[;,]\s*(?:lancer|voir|après|puis)\s+«\s*observatory [^»]*»[^;.)]*"), ""),
    # "la commande « observatory quarantine »" names a tool: say which, in words.
    (re.compile(r"(?:la |une )?commande\s+«\s*observatory [^»]*»"), "l'outil de suivi des données de l'observatoire"),
    (re.compile(r"«\s*observatory [^»]*»"), "l'outil de l'observatoire"),
    # A snapshot id means nothing to a reader: the date that follows it says which data were used.
    (re.compile(r"(instantané)\s+\d{8}T\d+Z"), r"\1"),
    (re.compile(r"\s*[;,]?\s*\(?méthode\s*:\s*docs/[\w./-]+\.md\)?"), ""),
    (re.compile(r"docs/[\w./-]+\.md"), "la note de méthode de l'observatoire"),
)


def public_text(text: object) -> str:
    """``text`` without CLI commands or repository paths, for élus and the printed diagnostic."""
    out = str(text)
    for pattern, repl in _PUBLIC_REWRITES:
        out = pattern.sub(repl, out)
    return out


# Statistical words an élu should not have to decode (« quasi-Poisson », « BH », « p = 0,045 », « WDD »): the
# élu's pages say the conclusion in plain French and keep the method in a note they can unfold; analysts keep it all.
_PLAIN_REWRITES = (
    (re.compile(r"\s*\((?:test|tests) [^()]*(?:Poisson|binomial|Benjamini|BH|seuil)[^()]*\)"), ""),
    (re.compile(r"\s*\([^()]*(?:quasi-Poisson|Benjamini|Hochberg|\bBH\b)[^()]*\)"), ""),
    (re.compile(r"(?:test |tests )?quasi-Poisson(?: à dispersion estimée)?"), "test statistique"),
    (re.compile(r"\s*[,;]\s*p\s*[=<>]\s*[0-9]+(?:,[0-9]+)?"), ""),
    (re.compile(r"\(\s*p\s*[=<>]\s*[0-9]+(?:,[0-9]+)?\s*\)"), ""),
    (re.compile(r"\bp\s*[=<>]\s*[0-9]+(?:,[0-9]+)?\s*"), ""),
    (re.compile(r"\s*\[[^\[\]]*;[^\[\]]*\]"), ""),
    (re.compile(r"différence de différences\s*"), "écart "),
    (re.compile(r"\bWDD\s*"), ""),
    (re.compile(r"\s*\(\s*\)"), ""),
    # « 20,3 % (IC 95 % : 18,1 – 22,7) » → « 20,3 % (entre 18,1 et 22,7) »: the margin of error, said in words.
    (re.compile(r"\(IC 95\s*%\s*:\s*([^()–]+?)\s*–\s*([^()]+?)\)"), r"(entre \1 et \2)"),
    # « 2 960 € par fait évité (IC 95 % : 1 850 € à 7 400 €) » → « … (entre 1 850 € et 7 400 €) ».
    (re.compile(r"\(IC 95\s*%\s*:\s*([^()]+?)\s+à\s+([^()]+?)\)"), r"(entre \1 et \2)"),
    # A column « Pour 100 faits (IC 95 %) » → « Pour 100 faits (fourchette) »: the cells give the range in words.
    (re.compile(r"\(\s*IC 95\s*%\s*\)"), "(fourchette)"),
)


def plain_text(text: object) -> str:
    """``text`` for an élu: :func:`public_text`, without test names, p-values or bracketed intervals (« baisse
    significative (test quasi-Poisson…) » → « baisse significative »), and never a snapshot id."""
    out = public_text(text)
    for pattern, repl in _PLAIN_REWRITES:
        out = pattern.sub(repl, out)
    return re.sub(r"\s+([.,)])", r"\1", re.sub(r" {2,}", " ", out)).strip()


def data_as_of(source) -> str:  # noqa: ANN001 - a moment, or an object with created_at / snapshot_date
    """« données arrêtées au 05/12/2026 » (Paris time) from a snapshot or its date: the words an élu reads where an
    analyst reads the snapshot id."""
    moment = source
    for attr in ("created_at", "snapshot_date"):
        if hasattr(source, attr):
            moment = getattr(source, attr)
            break
    if not isinstance(moment, (date, datetime, str)) or not moment:
        return "données de l'observatoire"  # a snapshot without a date (tests, hand-built stores): never its repr
    return f"données arrêtées au {fmt_day(moment)}"
