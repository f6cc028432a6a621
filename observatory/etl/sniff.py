"""``observatory sources new FILE``: a draft profile guessed from a partner's file, and its table of labels.

Everything guessed is written as a commented TOML that the analyst reviews: encoding, delimiter, header row,
date format (tried against the values, day-first preferred when both orders read), coordinate columns and their
CRS (the system that puts the values in Lyon), id and label columns. The label table lists every distinct label
with its count and an empty category to fill. Nothing is published; the draft is checked like any profile.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

SAMPLE_BYTES = 2 << 20
SAMPLE_ROWS = 2000
DATE_FORMATS = (
    "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%d %H:%M", "%Y-%m-%d", "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %I:%M %p", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y",
    "%d-%m-%Y %H:%M", "%d-%m-%Y", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d", "%d.%m.%Y", "%Y-%m", "%m/%Y",
)
TIME_FORMATS = ("%H:%M:%S", "%H:%M", "%I:%M:%S %p", "%I:%M %p")
ID_HINTS = ("id", "identifiant", "ref", "reference", "référence", "num", "numero", "numéro", "n°", "case number", "crime id", "incident number")
LABEL_HINTS = ("libelle", "libellé", "nature", "motif", "type", "crime type", "primary type", "categorie", "catégorie", "infraction",
               "offense", "offence", "description", "qualification")
X_HINTS = ("longitude", "lon", "lng", "x", "est", "easting", "coord_x", "x coordinate", "geo_x", "x_l93", "x_cc46")
Y_HINTS = ("latitude", "lat", "y", "nord", "northing", "coord_y", "y coordinate", "geo_y", "y_l93", "y_cc46")


class SniffError(ValueError):
    """The file cannot be sniffed (unreadable, no header); the message is French and names the file."""


@dataclass
class Draft:
    name: str
    format: str = "csv"
    encoding: str = "utf-8"
    delimiter: str = ","
    decimal: str = "."
    header_row: int = 1
    header: list[str] = field(default_factory=list)
    id_column: str | None = None
    id_blank_share: float = 0.0
    build_from: list[str] = field(default_factory=list)
    number_identical_rows: bool = False
    time_column: str | None = None
    time_format: str | None = None
    clock_column: str | None = None
    clock_format: str | None = None
    precision: str = "day"
    crs: str | None = None  # None: no coordinates; "?" coordinates found but no usual system fits
    x: str | None = None
    y: str | None = None
    label_column: str | None = None
    labels: Counter = field(default_factory=Counter)
    filename_pattern: str | None = None
    notes: list[str] = field(default_factory=list)


def _norm(name: str) -> str:
    return re.sub(r"\s+", " ", name.strip().lower().replace("_", " "))


def _hint_rank(name: str, hints: tuple[str, ...]) -> int | None:
    n = _norm(name)
    for i, h in enumerate(hints):
        if n == h:
            return i
    for i, h in enumerate(hints):
        if re.search(rf"(^|\W){re.escape(h)}(\W|$)", n):
            return len(hints) + i
    return None


def sniff_encoding(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 4:
            return "utf-8"  # a character cut by the sample window
        return "cp1252"


def _rows_csv(path: Path, draft: Draft) -> list[list[str]]:
    with open(path, "rb") as fh:
        head = fh.read(SAMPLE_BYTES)
    if not head.strip():
        raise SniffError(f"{path.name} : fichier vide")
    if b"\x00" in head:
        raise SniffError(f"{path.name} : fichier binaire (octets nuls) : ce n'est pas un CSV")
    draft.encoding = sniff_encoding(head)
    text = head.decode(draft.encoding, errors="replace")
    lines = text.splitlines()
    if len(head) == SAMPLE_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut by the sample window
    counts = {d: Counter(ln.count(d) for ln in lines[:50] if ln.strip()) for d in (";", ",", "\t", "|")}
    # The delimiter whose count per line is the most regular (and non zero) across the first lines.
    best = max(counts, key=lambda d: (counts[d].most_common(1)[0][1] if counts[d] and counts[d].most_common(1)[0][0] else 0,
                                      counts[d].most_common(1)[0][0] if counts[d] else 0))
    draft.delimiter = best
    csv.field_size_limit(max(csv.field_size_limit(), 8 << 20))
    try:
        return list(csv.reader(io.StringIO("\n".join(lines[: SAMPLE_ROWS + 20])), delimiter=best))
    except csv.Error as exc:
        raise SniffError(f"{path.name} : CSV illisible ({exc})") from None


def _rows_xlsx(path: Path, draft: Draft) -> list[list[str]]:
    import openpyxl

    from observatory.etl.guards import GuardError, check_xlsx_file

    draft.format = "xlsx"
    try:
        check_xlsx_file(path)
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except GuardError as exc:
        raise SniffError(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types on corrupt workbooks
        raise SniffError(f"{path.name} : classeur illisible ({exc.__class__.__name__})") from None
    try:
        rows = []
        for r in wb.worksheets[0].iter_rows(values_only=True):
            rows.append(["" if v is None else (v.strftime("%d/%m/%Y %H:%M:%S") if isinstance(v, datetime) else str(v)) for v in r])
            if len(rows) >= SAMPLE_ROWS + 20:
                break
    finally:
        wb.close()
    return rows


def _header_row(rows: list[list[str]]) -> int:
    widths = Counter(len([c for c in r if c.strip()]) for r in rows[:60] if any(c.strip() for c in r))
    width = widths.most_common(1)[0][0] if widths else 0
    for i, r in enumerate(rows[:20]):
        cells = [c.strip() for c in r if c.strip()]
        if len(cells) >= max(2, width) and sum(_number(c) is not None for c in cells) <= len(cells) // 4:
            return i + 1
    return 1


def _number(text: str, decimal: str = ".") -> float | None:
    t = text.strip().replace("\u00a0", "").replace(" ", "")
    if decimal == ",":
        t = t.replace(",", ".")
    try:
        v = float(t)
    except ValueError:
        return None
    return v if np.isfinite(v) else None


def _date_format(values: list[str], formats: tuple[str, ...]) -> str | None:
    vals = [v.strip() for v in values if v.strip()][:400]
    if len(vals) < 1:
        return None
    best, best_ok = None, 0
    for fmt in formats:
        ok = 0
        for v in vals:
            try:
                datetime.strptime(v, fmt)
                ok += 1
            except ValueError:
                pass
        if ok > best_ok:  # ties keep the earlier (day-first) format: a French partner's default
            best, best_ok = fmt, ok
    return best if best_ok >= 0.95 * len(vals) else None


def sniff(path: Path, name: str) -> Draft:
    """Guess a draft profile from ``path`` (a sample of its first rows, the whole file for the labels)."""
    draft = Draft(name=name)
    try:
        with open(path, "rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise SniffError(f"{path.name} : lecture impossible ({exc.strerror or exc.__class__.__name__})") from None
    rows = _rows_xlsx(path, draft) if magic == b"PK\x03\x04" else _rows_csv(path, draft)
    draft.header_row = _header_row(rows)
    header = [c.strip().lstrip("\ufeff") for c in rows[draft.header_row - 1]] if rows else []
    if not [h for h in header if h]:
        raise SniffError(f"{path.name} : aucune ligne d'en-tête trouvée")
    draft.header = header
    body = [r for r in rows[draft.header_row:] if any(c.strip() for c in r)][:SAMPLE_ROWS]
    cols = {h: [r[j] if j < len(r) else "" for r in body] for j, h in enumerate(header) if h}

    # Decimal separator: a comma inside numbers and no dot.
    sample = " ".join(v for vals in cols.values() for v in vals[:50])
    if re.search(r"\d,\d", sample) and draft.delimiter != "," and not re.search(r"\d\.\d", sample):
        draft.decimal = ","

    # Dates and times.
    dated = {}
    for h, vals in cols.items():
        fmt = _date_format(vals, DATE_FORMATS)
        if fmt:
            dated[h] = fmt
    timed = {h: f for h, vals in cols.items() if h not in dated and (f := _date_format(vals, TIME_FORMATS))}
    if dated:
        draft.time_column = min(dated, key=lambda h: (_hint_rank(h, ("date", "date heure", "month", "mois", "date faits")) is None, header.index(h)))
        draft.time_format = dated[draft.time_column]
        if re.search(r"%[HI]", draft.time_format):
            draft.precision = "hour"
        elif "%d" not in draft.time_format:
            draft.precision = "month"
        if timed and draft.precision == "day":
            draft.clock_column = next(iter(timed))
            draft.clock_format = timed[draft.clock_column]
            draft.precision = "hour"
        dmy, mdy = "%d/%m/%Y", "%m/%d/%Y"
        if draft.time_format.startswith(dmy) and _date_format(cols[draft.time_column], tuple(f.replace(dmy, mdy) for f in [draft.time_format])):
            draft.notes.append(f"les dates de « {draft.time_column} » se lisent jour/mois et mois/jour : jour/mois retenu, vérifiez [time] format")
    else:
        draft.notes.append("aucune colonne de dates reconnue : indiquez [time] column et format")

    # Numbers, then coordinates: the pair of numeric columns that a usual CRS puts in Lyon.
    numeric = {}
    for h, vals in cols.items():
        if h in dated or h in timed:
            continue
        nums = [_number(v, draft.decimal) for v in vals if v.strip()]
        if nums and sum(n is not None for n in nums) >= 0.8 * len(nums):
            numeric[h] = np.array([np.nan if (n := _number(v, draft.decimal)) is None else n for v in vals], dtype=float)
    xs = sorted((h for h in numeric if _hint_rank(h, X_HINTS) is not None), key=lambda h: _hint_rank(h, X_HINTS))
    ys = sorted((h for h in numeric if _hint_rank(h, Y_HINTS) is not None), key=lambda h: _hint_rank(h, Y_HINTS))
    # Named pairs first; then any pair among the first numeric columns (bounded: each try projects a sample).
    some = list(numeric)[:12]
    pairs = [(a, b) for a in xs for b in ys if a != b] + [(a, b) for a in some for b in some if a != b]
    from observatory.etl.locate import fitting_crs

    for a, b in pairs:
        fits = fitting_crs(numeric[a], numeric[b])
        if fits:
            draft.x, draft.y, draft.crs = a, b, fits[0]
            break
    if draft.crs is None and xs and ys:
        draft.x, draft.y, draft.crs = xs[0], ys[0], "?"
        a = numeric[xs[0]]
        draft.notes.append(f"coordonnées probables « {xs[0]} », « {ys[0]} » (valeurs vers {np.nanmedian(a):.6g}) mais aucun système usuel "
                           f"ne les place à Lyon : indiquez [location] crs (code EPSG du partenaire, ex. un State Plane en pieds)")

    # Id: a hinted column with (nearly) unique values; blanks → built from the other columns.
    used = {draft.time_column, draft.clock_column, draft.x, draft.y}
    ids = sorted((h for h in cols if h not in used and _hint_rank(h, ID_HINTS) is not None), key=lambda h: _hint_rank(h, ID_HINTS))
    for h in ids:
        vals = [v.strip() for v in cols[h]]
        filled = [v for v in vals if v]
        # A column named exactly as an id may repeat some ids (revisions, located/unlocated twins); a column that
        # only contains an id word must be nearly unique to be taken for one.
        exact = _hint_rank(h, ID_HINTS) < len(ID_HINTS)
        if filled and len(set(filled)) >= (0.5 if exact else 0.9) * len(filled):
            draft.id_column = h
            draft.id_blank_share = 1 - len(filled) / max(len(vals), 1)
            break
    if draft.id_column is None or draft.id_blank_share > 0:
        draft.build_from = [h for h in header if h and h != draft.id_column]
        draft.number_identical_rows = True

    # Label: a hinted text column with repeated values, else the text column with the fewest distinct values.
    texts = [h for h in cols if h not in used and h not in numeric and h != draft.id_column]
    def card(h: str) -> int:
        return len({v.strip() for v in cols[h] if v.strip()})
    candidates = [h for h in texts if 1 <= card(h) <= max(2, 0.5 * len(body))]
    # A named label column is trusted on a small sample, where few values repeat yet.
    loose = [h for h in texts if 1 <= card(h) <= (len(body) if len(body) < 50 else 0.5 * len(body))]
    hinted = sorted((h for h in loose if _hint_rank(h, LABEL_HINTS) is not None), key=lambda h: _hint_rank(h, LABEL_HINTS))
    if hinted or candidates:
        draft.label_column = hinted[0] if hinted else min(candidates, key=card)
    else:
        draft.notes.append("aucune colonne de libellés reconnue : indiquez [columns] label")

    # Extraction date in the file name.
    if re.search(r"(19|20)\d{2}-\d{2}-\d{2}", path.name):
        draft.filename_pattern = r"(\d{4})-(\d{2})-(\d{2})"
    elif re.search(r"(19|20)\d{6}", path.name):
        draft.filename_pattern = r"(\d{4})(\d{2})(\d{2})"
    elif re.search(r"(19|20)\d{2}-\d{2}", path.name):
        draft.filename_pattern = r"(\d{4})-(\d{2})"
    if draft.label_column:
        draft.labels = all_labels(path, draft)
    return draft


def all_labels(path: Path, draft: Draft) -> Counter:
    """Every distinct label of the whole file with its count (the table the analyst maps)."""
    if draft.format == "xlsx":
        rows = _rows_xlsx(path, Draft(name=draft.name))
        j = draft.header.index(draft.label_column)
        return Counter(r[j].strip() for r in rows[draft.header_row:] if j < len(r) and r[j].strip())
    import pyarrow.csv as pacsv

    names = [h or f"colonne_{i + 1}" for i, h in enumerate(draft.header)]
    names = [f"{n}.{names[:i].count(n)}" if names[:i].count(n) else n for i, n in enumerate(names)]
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(skip_rows=draft.header_row, column_names=names, encoding="utf8" if draft.encoding.startswith("utf-8") else draft.encoding),
            parse_options=pacsv.ParseOptions(delimiter=draft.delimiter, invalid_row_handler=lambda row: "skip"),
            convert_options=pacsv.ConvertOptions(include_columns=[draft.label_column], column_types={draft.label_column: "string"}),
        )
    except Exception as exc:  # noqa: BLE001 - a sample-only table is still a useful draft
        draft.notes.append(f"libellés lus sur l'échantillon seulement (lecture complète impossible : {exc.__class__.__name__})")
        return Counter()
    values = [v.strip() for v in table[draft.label_column].to_pylist() if v and v.strip()]
    return Counter(values)


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_profile(d: Draft, source_file: str) -> str:
    """The draft as TOML, each guess commented (French for the analyst, as the partner's file is French or not)."""
    out = [f"# Brouillon écrit par « observatory sources new » d'après {source_file} : relisez chaque clé,",
           "# complétez la table des libellés, puis « observatory sources check " + d.name + " FICHIER ».",
           "[source]", f"name = {_q(d.name)}", f"label = {_q(d.name.replace('_', ' ').capitalize())}", "",
           "[file]", f"format = {_q(d.format)}"]
    if d.format == "csv":
        delim = "\\t" if d.delimiter == "\t" else d.delimiter
        out += [f"encoding = {_q(d.encoding)}", f'delimiter = "{delim}"', f"decimal = {_q(d.decimal)}"]
    out += [f"header_row = {d.header_row}", "", "[id]"]
    if d.id_column:
        out.append(f"column = {_q(d.id_column)}")
        if d.build_from:
            out.append(f"# {d.id_blank_share:.0%} des lignes de l'échantillon n'ont pas de {d.id_column} : identifiant construit pour elles")
    else:
        out.append("# aucune colonne d'identifiant reconnue : identifiant construit à partir des colonnes")
    if d.build_from:
        out.append("build_from = [" + ", ".join(_q(c) for c in d.build_from) + "]")
        out.append("number_identical_rows = true  # des lignes identiques sont des incidents distincts")
    out += ["", "[time]", f"column = {_q(d.time_column or 'A_COMPLETER')}", f"format = {_q(d.time_format or 'A_COMPLETER')}"]
    if d.clock_column:
        out += [f"time_column = {_q(d.clock_column)}", f"time_format = {_q(d.clock_format or '%H:%M')}"]
    out += [f"precision = {_q(d.precision)}", '# timezone = "Europe/Paris"  # fuseau des heures du partenaire', "", "[location]"]
    if d.crs and d.crs != "?":
        out += [f"crs = {_q(d.crs)}  # d'après les valeurs : ce système place les points à Lyon", f"x = {_q(d.x)}", f"y = {_q(d.y)}"]
    elif d.crs == "?":
        out += ['crs = "A_COMPLETER"  # code EPSG du partenaire', f"x = {_q(d.x)}", f"y = {_q(d.y)}"]
    else:
        out.append('crs = "none"  # pas de coordonnées reconnues')
    out += ["", "[columns]", f"label = {_q(d.label_column or 'A_COMPLETER')}", "", "[labels]", f"file = {_q(d.name + '_labels.csv')}"]
    if d.filename_pattern:
        out += ["", "[extraction]", f"filename_pattern = '{d.filename_pattern}'"]
    return "\n".join(out) + "\n"


def render_labels(d: Draft) -> str:
    """label,category,n: every distinct label (most frequent first), category to fill from the nomenclature."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["label", "category", "n"])
    for label, n in sorted(d.labels.items(), key=lambda kv: (-kv[1], kv[0])):
        w.writerow([label, "", n])
    return buf.getvalue()
