"""Read an SSMSI communal file (CSV or CSV.gz, any edition) and turn it into the stored table.

Two steps: :func:`read_ssmsi_file` is the only one touching the file (it streams it with pyarrow, so the
national file of several million rows never sits in memory, and keeps only the wanted communes);
:func:`normalize_official` is a pure function that checks and converts the kept rows.
"""

from __future__ import annotations

import csv
import gzip
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from observatory.official import indicators as ind
from observatory.official import model as m
from observatory.official.model import OfficialError

GEO_PREFIX = "codgeo_"
REQUIRED = ("annee", "indicateur", "nombre", "taux_pour_mille", "est_diffuse", "insee_pop")
OPTIONAL = ("unite_de_compte", "insee_pop_millesime", "insee_log", "insee_log_millesime")
# complement_info_* hold a département average for non-diffused rows: they are never read, so they can
# never be shown as the commune's own figure.
NULL_VALUES = ["NA", ""]
RATE_TOLERANCE = 1e-6  # the file gives 7 decimals; anything beyond rounding is a real disagreement


@dataclass
class RawRead:
    """The rows of the wanted communes, as text, with their line number in the file."""

    frame: pd.DataFrame  # columns: code, the REQUIRED/OPTIONAL names present, source_row
    edition: int
    geo_column: str
    rows_read: int
    encoding: str
    columns: list[str] = field(default_factory=list)


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def _sample(path: Path, gz: bool, size: int = 1 << 16) -> bytes:
    opener = gzip.open if gz else open
    with opener(path, "rb") as fh:
        return fh.read(size)


def _detect_encoding(sample: bytes) -> str:
    # Cut at the last newline so a multi-byte character split by the sample size does not fail the test.
    cut = sample.rfind(b"\n")
    body = sample if cut < 0 else sample[:cut]
    try:
        body.decode("utf-8")
        return "utf8"
    except UnicodeDecodeError:
        # A file re-saved by a spreadsheet on Windows: cp1252 decodes every byte.
        return "cp1252"


def _header(sample: bytes, encoding: str, name: str) -> list[str]:
    text = sample.decode("utf-8-sig" if encoding == "utf8" else encoding, errors="replace")
    first = text.splitlines()[0] if text.strip() else ""
    if not first.strip():
        raise OfficialError(f"{name} : fichier vide (aucune ligne d'en-tête)")
    if ";" not in first:
        raise OfficialError(f"{name}, ligne 1 : séparateur « ; » introuvable dans l'en-tête — ce n'est pas un fichier SSMSI")
    return [c.strip() for c in next(csv.reader([first], delimiter=";"))]


def _geo_column(columns: list[str], name: str) -> tuple[str, int]:
    geo = [c for c in columns if c.lower().startswith(GEO_PREFIX)]
    if not geo:
        raise OfficialError(f"{name}, ligne 1 : aucune colonne de géographie « CODGEO_<année> » (colonnes : {', '.join(columns)})")
    if len(geo) > 1:
        raise OfficialError(f"{name}, ligne 1 : plusieurs colonnes de géographie ({', '.join(geo)}) ; une seule attendue")
    suffix = geo[0][len(GEO_PREFIX):]
    if not re.fullmatch(r"\d{4}", suffix):
        raise OfficialError(f"{name}, ligne 1, colonne « {geo[0]} » : l'édition doit suivre « CODGEO_ » sur quatre chiffres")
    return geo[0], int(suffix)


def read_ssmsi_file(path: Path, communes: Iterable[str] | None = m.LYON_CODES, display_name: str | None = None) -> RawRead:
    """Stream an SSMSI communal file and keep the rows of ``communes`` (None = every commune).

    Raises :class:`OfficialError` with the file, line and column for anything unreadable.
    """
    path = Path(path)
    name = display_name or path.name
    if not path.is_file():
        raise OfficialError(f"{name} : fichier introuvable")
    try:
        gz = _is_gzip(path)
        sample = _sample(path, gz)
    except (OSError, EOFError, zlib.error) as exc:
        raise OfficialError(f"{name} : lecture interrompue, fichier tronqué ou corrompu ({exc})") from None
    encoding = _detect_encoding(sample)
    columns = _header(sample, encoding, name)
    geo, edition = _geo_column(columns, name)
    lower = {c.lower(): c for c in columns}
    missing = [c for c in REQUIRED if c not in lower]
    if missing:
        raise OfficialError(f"{name}, ligne 1 : colonne(s) absente(s) : {', '.join(missing)}")
    dupes = sorted({c for c in columns if columns.count(c) > 1})
    if dupes:
        raise OfficialError(f"{name}, ligne 1 : colonne(s) en double : {', '.join(dupes)}")
    wanted = [geo] + [lower[c] for c in REQUIRED + OPTIONAL if c in lower]

    keep = None if communes is None else pa.array(sorted({str(c).strip() for c in communes}), pa.string())
    read_opts = pacsv.ReadOptions(column_names=columns, skip_rows=1, encoding=encoding, use_threads=False, block_size=1 << 22)
    parse_opts = pacsv.ParseOptions(delimiter=";", quote_char='"')
    convert_opts = pacsv.ConvertOptions(
        column_types={c: pa.string() for c in columns},
        include_columns=wanted,
        null_values=NULL_VALUES,
        strings_can_be_null=True,
    )
    batches: list[pa.RecordBatch] = []
    rows_read = 0
    try:
        stream = pa.input_stream(str(path), compression="gzip" if gz else None)
        with pacsv.open_csv(stream, read_options=read_opts, parse_options=parse_opts, convert_options=convert_opts) as reader:
            for batch in reader:
                codes = pc.utf8_trim_whitespace(batch.column(geo))
                # Line numbers of this batch: the header is line 1, so data row i (0-based) is line i + 2.
                lines = pa.array(np.arange(rows_read + 2, rows_read + 2 + batch.num_rows, dtype=np.int64))
                rows_read += batch.num_rows
                if keep is not None:
                    mask = pc.fill_null(pc.is_in(codes, value_set=keep), False)
                    if not pc.any(mask).as_py():
                        continue
                    batch = batch.filter(mask)
                    codes, lines = codes.filter(mask), lines.filter(mask)
                arrays = [codes] + [batch.column(c) for c in wanted[1:]] + [lines]
                batches.append(pa.RecordBatch.from_arrays(arrays, names=["code"] + [c.lower() for c in wanted[1:]] + [m.SOURCE_ROW]))
    except pa.ArrowInvalid as exc:
        raise OfficialError(f"{name} : {_arrow_message(str(exc))}") from None
    except (OSError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise OfficialError(f"{name} : lecture interrompue, fichier tronqué ou corrompu ({exc})") from None
    if rows_read == 0:
        raise OfficialError(f"{name} : aucune ligne de données après l'en-tête")
    names = ["code"] + [c.lower() for c in wanted[1:]] + [m.SOURCE_ROW]
    if batches:
        frame = pa.Table.from_batches(batches).to_pandas()
    else:
        frame = pd.DataFrame({c: pd.Series([], dtype="str" if c != m.SOURCE_ROW else "int64") for c in names})
    return RawRead(frame=frame, edition=edition, geo_column=geo, rows_read=rows_read, encoding=encoding, columns=columns)


def _arrow_message(text: str) -> str:
    """pyarrow's 'CSV parse error: Row #12: Expected 13 columns, got 12: …' → a French line with the line number."""
    match = re.search(r"Row #(\d+): Expected (\d+) columns, got (\d+)", text)
    if match:
        return f"ligne {match.group(1)} : {match.group(3)} champs au lieu de {match.group(2)} (séparateur « ; » ou guillemets mal fermés ?)"
    first = text.splitlines()[0] if text else "erreur inconnue"
    return f"fichier CSV illisible ({first[:200]})"


# --------------------------------------------------------------------------------------------------------------
# Pure step: text rows → typed, checked rows.


@dataclass
class Normalized:
    frame: pd.DataFrame
    warnings: list[str]
    unknown_labels: list[str]
    ndiff_rows: int
    rate_checked: int
    rate_mismatches: int


def _numbers(text: pd.Series) -> pd.Series:
    # Decimal comma as published; a dot is accepted too (a file re-saved by a spreadsheet).
    cleaned = text.astype("str").str.strip().str.replace("\u00a0", "", regex=False).str.replace(" ", "", regex=False)
    return pd.to_numeric(cleaned.str.replace(",", ".", regex=False), errors="coerce").where(text.notna())


def _problems(raw: pd.DataFrame, bad: pd.Series, column: str, why: str) -> list[tuple[int, str]]:
    if not bad.any():  # the common case: skip pandas' indexing overhead
        return []
    rows = raw.loc[bad, m.SOURCE_ROW].tolist()
    values = raw.loc[bad, column].tolist()
    return [(int(r), f"ligne {r}, colonne « {column} » : « {v} » {why}") for r, v in zip(rows, values)]


def normalize_official(raw: pd.DataFrame, edition: int, file_name: str = "fichier") -> Normalized:
    """Check and convert the kept rows of one edition into the stored columns (``model.OFFICIAL_COLUMNS``).

    Never mutates ``raw``. Raises :class:`OfficialError` naming the first bad line and column (and how many
    more there are); rows that are merely odd (a figure given for a non-diffused row, a rate that does not
    recompute) are kept and reported in ``warnings``.
    """
    problems: list[tuple[int, str]] = []
    warnings: list[str] = []
    df = raw.copy()
    n = len(df)
    for col in OPTIONAL:
        if col not in df.columns:
            df[col] = pd.Series([None] * n, index=df.index, dtype="str")

    year = _numbers(df["annee"])
    bad = df["annee"].isna() | year.isna() | (year % 1 != 0) | ~year.between(1990, 2100)
    problems += _problems(df, bad, "annee", "n'est pas une année")

    label = df["indicateur"].astype("str").str.strip()
    bad = df["indicateur"].isna() | (label == "")
    problems += [(int(r), f"ligne {r}, colonne « indicateur » : valeur absente") for r in df.loc[bad, m.SOURCE_ROW]]

    status = df["est_diffuse"].astype("str").str.strip().str.lower()
    bad = ~status.isin(["diff", "ndiff"]) | df["est_diffuse"].isna()
    problems += _problems(df, bad, "est_diffuse", "n'est ni « diff » ni « ndiff »")
    diffused = status.eq("diff")
    ndiff = status.eq("ndiff")

    count = _numbers(df["nombre"])
    bad = df["nombre"].notna() & (count.isna() | (count < 0) | (count % 1 != 0))
    problems += _problems(df, bad, "nombre", "n'est pas un nombre entier positif")
    bad = diffused & df["nombre"].isna()
    problems += [(int(r), f"ligne {r}, colonne « nombre » : valeur absente alors que est_diffuse = diff") for r in df.loc[bad, m.SOURCE_ROW]]

    rate = _numbers(df["taux_pour_mille"])
    bad = df["taux_pour_mille"].notna() & (rate.isna() | (rate < 0))
    problems += _problems(df, bad, "taux_pour_mille", "n'est pas un taux (nombre décimal, virgule)")

    ints: dict[str, pd.Series] = {}
    for col, lo, hi, why in (
        ("insee_pop", 0, 1e8, "n'est pas une population"),
        ("insee_log", 0, 1e8, "n'est pas un nombre de logements"),
        ("insee_pop_millesime", 1990, 2100, "n'est pas un millésime"),
        ("insee_log_millesime", 1990, 2100, "n'est pas un millésime"),
    ):
        values = _numbers(df[col])
        bad = df[col].notna() & (values.isna() | (values % 1 != 0) | ~values.between(lo, hi))
        problems += _problems(df, bad, col, why)
        ints[col] = values

    if problems:
        problems.sort()
        more = f" (et {len(problems) - 1} autre(s) problème(s))" if len(problems) > 1 else ""
        raise OfficialError(f"{file_name}, {problems[0][1]}{more}")

    codes = label.map(ind.indicator_code)
    unknown = sorted(set(label[codes.isna()]))
    if unknown:
        warnings.append(
            f"{len(unknown)} indicateur(s) inconnu(s) conservé(s) sous leur intitulé : " + ", ".join(f"« {u} »" for u in unknown)
        )
        codes = codes.where(codes.notna(), label.map(ind.fallback_code))

    # A non-diffused row keeps no figure, even if a re-user filled one in: the SSMSI withheld it.
    leaked = ndiff & (df["nombre"].notna() | df["taux_pour_mille"].notna())
    if leaked.any():
        warnings.append(f"{int(leaked.sum())} ligne(s) non diffusée(s) (ndiff) portaient un nombre ou un taux : effacé(s)")
    count = count.where(diffused)
    rate = rate.where(diffused)

    base = np.where(codes.map(lambda c: ind.BY_CODE[c].rate_base if c in ind.BY_CODE else ind.RATE_BASE_INHABITANTS) == ind.RATE_BASE_DWELLINGS, "logements", "habitants")
    denominator = pd.Series(np.where(base == "logements", ints["insee_log"], ints["insee_pop"]), index=df.index, dtype="float64")
    recomputed = (count * 1000.0 / denominator.where(denominator > 0)).astype("float64")
    checkable = recomputed.notna() & rate.notna()
    consistent = pd.Series(pd.NA, index=df.index, dtype="boolean")
    gap = (rate - recomputed).abs()
    # The file's population and dwellings are rounded to whole numbers (INSEE dwellings are not integers), so
    # a rate agrees when it lies within what a base of ±0.5 gives, plus the rounding of the 7 printed decimals.
    allowed = recomputed.abs() * 0.5 / denominator.where(denominator > 0) + RATE_TOLERANCE
    consistent[checkable] = (gap[checkable] <= allowed[checkable]).astype(bool)
    mismatches = int((consistent == False).sum())  # noqa: E712 - nullable boolean: NA must not count
    if mismatches:
        first = df.loc[consistent == False, m.SOURCE_ROW].iloc[0]  # noqa: E712
        warnings.append(f"{mismatches} taux ne se recalculent pas depuis le nombre et la population (première : ligne {first})")
    # A diffused row with no rate in the file gets the recomputed one, so the series has no needless gap.
    rate = rate.where(rate.notna(), recomputed.where(diffused))

    out = pd.DataFrame(
        {
            m.EDITION: pd.Series(edition, index=df.index, dtype="int16"),
            m.CODE: df["code"].astype("str"),
            m.LEVEL: df["code"].astype("str").map(m.level_of),
            m.YEAR: year.astype("int16"),
            m.INDICATOR: codes.astype("str"),
            m.INDICATOR_LABEL: codes.map(ind.indicator_label).where(codes.isin(list(ind.BY_CODE)), label).astype("str"),
            m.PUBLISHED_LABEL: label.astype("str"),
            m.UNIT: df["unite_de_compte"].astype("str"),
            m.DIFFUSED: diffused.astype(bool),
            m.COUNT: count.astype("Int64"),
            m.RATE: rate.astype("float64"),
            m.RATE_BASE: pd.Series(base, index=df.index, dtype="str"),
            m.RATE_RECOMPUTED: recomputed,
            m.RATE_CONSISTENT: consistent,
            m.POPULATION: ints["insee_pop"].astype("Int64"),
            m.POPULATION_YEAR: ints["insee_pop_millesime"].astype("Int16"),
            m.DWELLINGS: ints["insee_log"].astype("Int64"),
            m.DWELLINGS_YEAR: ints["insee_log_millesime"].astype("Int16"),
            m.SOURCE_ROW: df[m.SOURCE_ROW].astype("int64"),
        }
    )
    key = [m.CODE, m.YEAR, m.INDICATOR]
    dup = out.duplicated(key, keep=False)
    if dup.any():
        rows = out.loc[dup].sort_values(m.SOURCE_ROW)
        first = rows.iloc[0]
        twin = rows[(rows[m.CODE] == first[m.CODE]) & (rows[m.YEAR] == first[m.YEAR]) & (rows[m.INDICATOR] == first[m.INDICATOR])]
        lines = ", ".join(str(r) for r in twin[m.SOURCE_ROW])
        raise OfficialError(
            f"{file_name}, lignes {lines}, colonne « indicateur » : {first[m.CODE]} {first[m.YEAR]} « {first[m.PUBLISHED_LABEL]} » "
            f"apparaît plusieurs fois ({int(dup.sum())} lignes en double en tout)"
        )
    out = out.sort_values([m.CODE, m.INDICATOR, m.YEAR], key=lambda s: s.map(ind.ORDER).fillna(len(ind.ORDER)) if s.name == m.INDICATOR else s)
    return Normalized(
        frame=out.reset_index(drop=True),
        warnings=warnings,
        unknown_labels=unknown,
        ndiff_rows=int(ndiff.sum()),
        rate_checked=int(checkable.sum()),
        rate_mismatches=mismatches,
    )

