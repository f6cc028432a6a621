"""Readers: a partner file as the profile describes it → a table of strings with the file's own line numbers.

Only this module (and the store) touches files. Every column is read as text: typing is the job of the mapping
step, which can then say which row and column is wrong instead of failing on the whole file.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import threading
import zipfile
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from observatory.etl.guards import GuardError, check_xlsx_file
from observatory.etl.profile import Profile
from observatory.etl.transcode import quiet_decoding_unraisable, is_utf8, transcoded, utf8_widths

CHUNK = 8 << 20  # bytes per read in the pre-pass; also the longest line accepted
BLOCK = 2 * CHUNK  # pyarrow block: every accepted line fits in one block
HEADER_SCAN_ROWS = 20
ORIGINAL_MAX_CHARS = 2000  # original text kept in quarantine for a malformed row
EXCEL_EPOCH = datetime(1899, 12, 30)

ProgressFn = Callable[[int, int], None]  # (bytes done, bytes total)

# The csv module (header scan, hints) refuses fields over 128 KiB; the reader accepts lines up to CHUNK, so the
# scan must too (a long free-text field in the first lines is not an error of the file).
csv.field_size_limit(max(csv.field_size_limit(), CHUNK))


def split_line(line: str, delimiter: str, line_no: int) -> list[str]:
    """One CSV line as fields with the csv module; InputError naming the line instead of ``_csv.Error``."""
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error as exc:
        raise InputError(f"ligne {line_no} : ligne CSV illisible ({exc})") from None


class InputError(ValueError):
    """The file is refused as a whole; the message says why and what to fix (one line, in French)."""


@dataclass
class RawTable:
    """Rows of one file as text. ``table`` has one string column per header name (header order)."""

    table: pa.Table
    lines: np.ndarray  # 1-based line (CSV) or row (Excel) number of each row of ``table``
    malformed: list[dict]  # rows that could not be split into columns: {row, reason, original}
    header: list[str]
    header_line: int
    encoding: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        return self.table.num_rows + len(self.malformed)


@dataclass
class FileScan:
    sha256: str
    size: int
    decode_error: str | None  # message, or None
    valid_utf8: bool
    non_ascii: bool
    has_nul: bool
    long_line: tuple[int, int] | None  # (line, length in bytes) of the first line longer than CHUNK
    decoded: bool = True  # False: the strict decoding was left to the reader (decode_error is then unknown)


def _line_of_offset(path: Path, offset: int) -> int:
    n = 1
    done = 0
    with open(path, "rb") as fh:
        while done < offset:
            chunk = fh.read(min(CHUNK, offset - done))
            if not chunk:
                break
            n += chunk.count(b"\n")
            done += len(chunk)
    return n


def scan_file(path: Path, encoding: str | None, progress: ProgressFn | None = None, strict: bool = True) -> FileScan:
    """One streamed pass: checksum, NUL bytes, over-long lines, UTF-8 validity and (``strict``) strict decoding.

    With ``strict=False`` the decoding is left to pyarrow's reader (which overlaps it with parsing, and is as
    strict); the strict pass runs only when that read fails, to name the line and byte.
    """
    h = hashlib.sha256()
    size = path.stat().st_size
    dec = codecs.getincrementaldecoder(encoding)("strict") if encoding and strict else None
    utf8 = codecs.getincrementaldecoder("utf-8")("strict") if encoding and not is_utf8(encoding) else None
    decode_error = None
    valid_utf8 = True
    non_ascii = False
    has_nul = False
    long_line = None
    line_start = 0  # byte offset where the current line starts (its number is counted only if it is too long)
    run = 0  # bytes since the last newline
    done = 0
    # The checksum (hashlib releases the GIL on large buffers) runs in a worker thread beside the other checks.
    hasher = ThreadPoolExecutor(max_workers=1)
    hashed = None
    with open(path, "rb") as fh, hasher:
        while True:
            chunk = fh.read(CHUNK)
            if not chunk:
                break
            if hashed is not None:
                hashed.result()
            hashed = hasher.submit(h.update, chunk)
            if dec is not None and decode_error is None:
                try:
                    dec.decode(chunk)
                except UnicodeDecodeError as exc:
                    pos = done + exc.start
                    line = _line_of_offset(path, pos)
                    bad = chunk[exc.start:exc.start + 4].hex(" ")
                    decode_error = f"ligne {line} (octet {pos + 1}) : octets {bad} invalides en {encoding}"
            if utf8 is not None and valid_utf8:
                try:
                    utf8.decode(chunk)
                except UnicodeDecodeError:
                    valid_utf8 = False
            if not non_ascii and not chunk.isascii():
                non_ascii = True
            if not has_nul and b"\x00" in chunk:
                has_nul = True
            if long_line is None:
                # A line longer than CHUNK spans a chunk boundary, so the bytes before the first newline of each
                # chunk are the only place to look (no newline count per chunk: the line number is found later).
                first = chunk.find(b"\n")
                if first < 0:
                    run += len(chunk)
                    if run > CHUNK:
                        long_line = (line_start, run)
                else:
                    if run + first > CHUNK:
                        long_line = (line_start, run + first)
                    last = chunk.rfind(b"\n")
                    line_start = done + last + 1
                    run = len(chunk) - last - 1
            done += len(chunk)
            if progress:
                progress(done, size)
        if hashed is not None:
            hashed.result()
    if dec is not None and decode_error is None:
        try:
            dec.decode(b"", final=True)
        except UnicodeDecodeError:
            decode_error = f"fin du fichier : séquence {encoding} incomplète"
    if utf8 is not None and valid_utf8:
        try:
            utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            valid_utf8 = False
    if long_line is not None and long_line[1] <= CHUNK:
        long_line = None
    if long_line is not None:
        long_line = (_line_of_offset(path, long_line[0]), long_line[1])
    return FileScan(h.hexdigest(), size, decode_error, valid_utf8, non_ascii, has_nul, long_line, decoded=dec is not None or not encoding)


def _clean_name(name: object) -> str:
    return str(name).replace("\ufeff", "").strip() if name is not None else ""


def choose_encoding(path: Path, profile: Profile, scan: FileScan) -> tuple[str, list[str]]:
    """The declared encoding, or the declared fallback when the first fails — never a silent guess."""
    notes: list[str] = []
    enc = profile.encoding
    declared_utf8 = is_utf8(enc)
    problem = None
    if scan.decode_error:
        problem = f"le fichier n'est pas en {enc} ({scan.decode_error})"
    elif not declared_utf8 and scan.non_ascii and scan.valid_utf8:
        # Any UTF-8 accent decodes "successfully" in cp1252 as mojibake (Ã©): catching it is the only honest way.
        problem = f"le fichier est en UTF-8 alors que le profil déclare {enc} (les accents seraient lus « Ã© »)"
    if problem is None:
        return enc, notes
    fb = profile.fallback_encoding
    if fb:
        fscan = scan_file(path, fb)
        fb_utf8 = is_utf8(fb)
        if fscan.decode_error is None and (fb_utf8 or not (fscan.non_ascii and fscan.valid_utf8)):
            notes.append(f"{problem} : encodage de repli {fb} utilisé (déclaré dans le profil)")
            return fb, notes
        problem += f" ; le repli {fb} échoue aussi ({fscan.decode_error or 'contenu UTF-8'})"
    raise InputError(f"{problem} ; corrigez « encoding » dans {profile.path.name} ou déclarez « fallback_encoding »")


def _header_hint(rows: list[list[str]], profile: Profile, used_line: int) -> str:
    need = set(profile.required_columns)
    for i, row in enumerate(rows, start=1):
        if i != used_line and need <= {_clean_name(c) for c in row}:
            return f" ; l'en-tête semble être à la ligne {i} : mettez header_row = {i} (ou \"auto\") dans {profile.path.name}"
    return ""


def _delimiter_hint(line: str, profile: Profile) -> str:
    need = set(profile.required_columns)
    for cand in (";", ",", "\t", "|"):
        if cand == profile.delimiter:
            continue
        try:
            cols = {_clean_name(c) for c in next(csv.reader([line], delimiter=cand), [])}
        except csv.Error:
            continue
        if len(need & cols) > len(need) // 2:
            shown = "tabulation" if cand == "\t" else cand
            return f" ; le séparateur semble être « {shown} » et non « {profile.delimiter} » déclaré dans {profile.path.name}"
    return ""


def missing_columns_message(header: list[str], profile: Profile, header_line: int, hint: str) -> str:
    missing = [c for c in profile.required_columns if c not in header]
    shown = ", ".join(h for h in header[:12] if h) + (" …" if len(header) > 12 else "")
    return (f"ligne {header_line} (en-tête) : colonne(s) requise(s) absente(s) : {', '.join(missing)} "
            f"(colonnes trouvées : {shown or 'aucune'}){hint}")


def _find_header(rows: list[list[str]], profile: Profile) -> int | None:
    need = set(profile.required_columns)
    for i, row in enumerate(rows[:HEADER_SCAN_ROWS], start=1):
        if need <= {_clean_name(c) for c in row}:
            return i
    return None


@dataclass
class CsvLayout:
    """What the first lines of a CSV say: its encoding, header line and column names (checked against the profile)."""

    encoding: str
    notes: list[str]
    header_line: int
    names: list[str]


def read_csv(path: Path, profile: Profile, scan: FileScan) -> RawTable:
    layout = csv_layout(path, profile, scan)
    encoding, notes, header_line, names = layout.encoding, layout.notes, layout.header_line, layout.names
    try:
        table, malformed, numbered = _pyarrow_read(path, profile, encoding, header_line, names, use_threads=True)
    except _DecodeFailure as exc:
        # Now find the exact line and byte (or switch to the declared fallback); InputError if neither.
        strict = scan_file(path, profile.encoding, strict=True)
        encoding, notes = choose_encoding(path, profile, strict)
        if encoding == profile.encoding:
            raise InputError(f"lecture CSV impossible : {exc}") from None
        table, malformed, numbered = _pyarrow_read(path, profile, encoding, header_line, names, use_threads=True)
    if malformed and not numbered:
        # Parallel reading does not know line numbers of malformed rows; read again in one thread to name them.
        table, malformed, numbered = _pyarrow_read(path, profile, encoding, header_line, names, use_threads=False)
    first = header_line + 1
    total = table.num_rows + len(malformed)
    all_lines = np.arange(first, first + total, dtype=np.int64)
    if malformed:
        bad = np.array([m["row"] for m in malformed], dtype=np.int64)
        lines = np.setdiff1d(all_lines, bad, assume_unique=True) if total else all_lines
        if len(lines) != table.num_rows:  # quoted newlines shift physical lines: fall back to positions
            lines = all_lines[: table.num_rows]
    else:
        lines = all_lines
    table, lines, blank = _drop_blank_rows(table, lines)
    if blank:
        notes.append(f"{blank} ligne(s) vide(s) ignorée(s)")
    return RawTable(table, lines, malformed, names, header_line, encoding, notes)


def csv_layout(path: Path, profile: Profile, scan: FileScan) -> CsvLayout:
    """Check the file and its first lines (encoding, header, required columns); InputError when refused."""
    if scan.size == 0:
        raise InputError("fichier vide (0 octet) : l'export a-t-il échoué ?")
    if scan.has_nul:
        raise InputError("fichier binaire (octets nuls) : ce n'est pas un CSV texte ; vérifiez le fichier reçu")
    if scan.long_line:
        line, length = scan.long_line
        raise InputError(f"ligne {line} : ligne de plus de {length // (1 << 20)} Mo (limite {CHUNK >> 20} Mo) ; le fichier est corrompu ou n'est pas un CSV")
    encoding, notes = choose_encoding(path, profile, scan)
    # The first lines, decoded, to find and check the header before the fast reader runs.
    with open(path, "rb") as fh:
        # 64 KB hold the first 20 lines of any sane export; read on (up to 4 MB) only for very long lines.
        head_bytes = fh.read(min(scan.size, 64 << 10))
        if head_bytes.count(b"\n") <= HEADER_SCAN_ROWS and len(head_bytes) < scan.size:
            head_bytes += fh.read(min(scan.size, 4 << 20) - len(head_bytes))
    try:
        head_text = head_bytes.decode(encoding)
    except UnicodeDecodeError as exc:
        if exc.start >= len(head_bytes) - 4 and len(head_bytes) < scan.size:
            head_text = head_bytes[: exc.start].decode(encoding)  # a character cut by the 4 MB window
        else:
            # Undecodable bytes near the top: the strict pass names them (or switches to the fallback).
            encoding, more = choose_encoding(path, profile, scan_file(path, profile.encoding, strict=True))
            notes += more
            head_text = head_bytes.decode(encoding, errors="replace")
    head_lines = head_text.splitlines()[:HEADER_SCAN_ROWS]
    head_rows = [split_line(ln, profile.delimiter, i) for i, ln in enumerate(head_lines, start=1)]
    if profile.header_row == "auto":
        header_line = _find_header(head_rows, profile)
        if header_line is None:
            hint = _delimiter_hint(head_lines[0], profile) if head_lines else ""
            raise InputError(f"en-tête introuvable dans les {HEADER_SCAN_ROWS} premières lignes (colonnes requises : {', '.join(profile.required_columns)}){hint}")
    else:
        header_line = int(profile.header_row)
    if header_line > len(head_rows):
        raise InputError(f"le fichier n'a que {len(head_rows)} ligne(s) : pas d'en-tête à la ligne {header_line}")
    header = [_clean_name(c) for c in head_rows[header_line - 1]]
    if any(c not in header for c in profile.required_columns):
        hint = _delimiter_hint(head_lines[header_line - 1], profile) or _header_hint(head_rows, profile, header_line)
        raise InputError(missing_columns_message(header, profile, header_line, hint))
    return CsvLayout(encoding, notes, header_line, _unique_names(header))


def _unique_names(header: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for i, name in enumerate(header):
        name = name or f"colonne_{i + 1}"
        if name in seen:
            seen[name] += 1
            name = f"{name}.{seen[name]}"
        else:
            seen[name] = 0
        out.append(name)
    return out


class _DecodeFailure(Exception):
    """The reader met bytes that do not decode in the chosen encoding."""


def _pyarrow_read(path: Path, profile: Profile, encoding: str, header_line: int, names: list[str], use_threads: bool, block: int = 1 << 20):
    if utf8_widths(encoding) is not None:
        # A single-byte encoding: the file is parsed as bytes (the separators are ASCII, so the cells are the same),
        # and only the columns holding non-ASCII bytes are decoded, each in one call, instead of pyarrow decoding
        # the whole file through Python's codec in small pieces (~0.3 s of a 1e6-row extract, in one thread).
        # Anything unusual (an undefined byte, a malformed line with accents) reads the file again, decoding.
        try:
            with quiet_decoding_unraisable():
                table, malformed, numbered = _pyarrow_read_as(path, profile, "utf8", header_line, names, use_threads, block, pa.binary())
        except (_DecodeFailure, InputError):
            pass
        else:
            text = transcoded(table, encoding)
            if text is not None:
                return text, malformed, numbered
    return _pyarrow_read_as(path, profile, encoding, header_line, names, use_threads, block, pa.string())


def _pyarrow_read_as(path: Path, profile: Profile, encoding: str, header_line: int, names: list[str], use_threads: bool, block: int,
                     cell_type: pa.DataType):
    malformed: list[dict] = []
    numbered = True

    def on_invalid(row) -> str:
        nonlocal numbered
        if row.number is None:
            numbered = False
        text = row.text
        if len(text) > ORIGINAL_MAX_CHARS:
            text = text[:ORIGINAL_MAX_CHARS] + "…"
        malformed.append({
            "row": row.number if row.number is not None else -1,
            "reason": f"{row.actual_columns} colonne(s) au lieu de {row.expected_columns}",
            "original": text,
        })
        return "skip"

    # 1 MB blocks let pyarrow overlap transcoding and parsing; a longer line (up to CHUNK) gets a second try.
    read_opts = pacsv.ReadOptions(skip_rows=header_line, column_names=names, block_size=block, use_threads=use_threads,
                                  encoding="utf8" if is_utf8(encoding) else encoding)
    parse_opts = pacsv.ParseOptions(delimiter=profile.delimiter, invalid_row_handler=on_invalid, ignore_empty_lines=False)
    conv_opts = pacsv.ConvertOptions(column_types={n: cell_type for n in names}, strings_can_be_null=False, check_utf8=cell_type == pa.string())
    try:
        table = pacsv.read_csv(path, read_options=read_opts, parse_options=parse_opts, convert_options=conv_opts)
    except UnicodeDecodeError as exc:
        raise _DecodeFailure(str(exc)) from None
    except (pa.ArrowInvalid, OSError) as exc:
        msg = str(exc).splitlines()[0][:300]
        if "straddl" in msg and block < BLOCK:
            return _pyarrow_read_as(path, profile, encoding, header_line, names, use_threads, BLOCK, cell_type)
        if "UTF8" in msg or "utf8" in msg or "decode" in msg.lower():
            raise _DecodeFailure(msg) from None
        raise InputError(f"lecture CSV impossible : {msg}") from None
    return table, malformed, numbered


def _drop_blank_rows(table: pa.Table, lines: np.ndarray) -> tuple[pa.Table, np.ndarray, int]:
    """Blank lines are not rows (they carry nothing to account for); drop them and say how many."""
    if table.num_rows == 0 or table.num_columns == 0:
        return table, lines, 0
    # Cheap first test on the first column; the others are only checked when it has empty cells.
    if not pc.any(pc.equal(pc.utf8_length(table.column(0)), 0)).as_py() and not pc.any(pc.match_substring_regex(table.column(0), r"^\s+$")).as_py():
        return table, lines, 0
    blank = None
    for col in table.columns:
        empty = pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(col)), 0)
        blank = empty if blank is None else pc.and_(blank, empty)
    n = pc.sum(blank).as_py() or 0
    if n == 0:
        return table, lines, 0
    keep = pc.invert(blank)
    return table.filter(keep), lines[np.asarray(keep.to_numpy(zero_copy_only=False), dtype=bool)], int(n)


# Excel ----------------------------------------------------------------------------------------------------------
def _excel_text(value: object, fmt: str | None) -> str:
    """A cell as text, dates rendered in the profile's declared format so parsing has one path."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        if fmt == "excel":
            delta = value - EXCEL_EPOCH
            return repr(delta.days + delta.seconds / 86400)
        return value.strftime(fmt) if fmt else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.strftime(fmt) if fmt and fmt != "excel" else value.isoformat()
    if isinstance(value, time):
        return value.strftime(fmt) if fmt else value.strftime("%H:%M")
    if isinstance(value, timedelta):
        secs = int(value.total_seconds())
        return f"{secs // 3600:02d}:{secs % 3600 // 60:02d}"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    return str(value)


_SHEET_PARSER_LOCK = threading.Lock()


@contextmanager
def _plain_sheet_parser():  # noqa: ANN202
    """Let openpyxl parse the sheets of a workbook that passed :func:`check_xlsx_file` with the C XML parser.

    With defusedxml installed, openpyxl parses every sheet through defusedxml's parser, whose Python callbacks on
    each element halve its speed (half of the demo's first ingest). What defusedxml refuses needs a DTD, and the
    guard has already refused any DTD in every XML part of this archive; Python's expat neither fetches external
    entities nor expands entity bombs. Same elements, same values. Only the sheet reader's parser is swapped,
    under a lock, for the duration of this read; every other openpyxl use keeps defusedxml."""
    from xml.etree.ElementTree import iterparse

    from openpyxl.worksheet import _reader

    with _SHEET_PARSER_LOCK:
        saved = _reader.iterparse
        _reader.iterparse = iterparse
        try:
            yield
        finally:
            _reader.iterparse = saved


def read_xlsx(path: Path, profile: Profile, scan: FileScan) -> RawTable:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    if scan.size == 0:
        raise InputError("fichier vide (0 octet) : l'export a-t-il échoué ?")
    try:
        # Zip bomb, DTD (XXE, entity bombs), truncated archive: refused before openpyxl expands anything.
        check_xlsx_file(path)
    except GuardError as exc:
        raise InputError(str(exc).removeprefix(f"{path.name} : ")) from None
    from observatory.etl.xlsx_fast import sheet_rows

    fast = sheet_rows(path, profile.sheet or None)
    if fast is not None:
        try:
            return _raw_from_rows(fast, profile, exact=False)
        except _Inexact:
            pass  # not the plain case: openpyxl's rows make the messages, as they always have
    with _plain_sheet_parser():
        rows = _openpyxl_rows(path, profile, openpyxl, InvalidFileException)
    return _raw_from_rows(rows, profile, exact=True)


class _Inexact(Exception):
    """Rows read by calamine reached a case where only openpyxl's rows give the exact answer."""


def _openpyxl_rows(path: Path, profile: Profile, openpyxl, InvalidFileException) -> list[tuple]:  # noqa: ANN001, N803
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError, TypeError, EOFError) as exc:
        raise InputError(f"ce n'est pas un classeur Excel .xlsx lisible ({exc.__class__.__name__}) ; réenregistrez-le au format .xlsx") from None
    except Exception as exc:  # openpyxl raises many types on corrupt archives; all mean the same to a user
        raise InputError(f"classeur Excel illisible ({exc.__class__.__name__}) ; réenregistrez-le au format .xlsx") from None
    try:
        if profile.sheet:
            if profile.sheet not in wb.sheetnames:
                raise InputError(f"feuille « {profile.sheet} » absente (feuilles : {', '.join(wb.sheetnames)}) ; corrigez « sheet » dans {profile.path.name}")
            ws = wb[profile.sheet]
        else:
            ws = wb.worksheets[0]
        try:
            rows = list(ws.iter_rows(values_only=True))
        except Exception as exc:  # a corrupt sheet inside a valid archive
            raise InputError(f"feuille illisible ({exc.__class__.__name__}) ; réenregistrez le classeur") from None
    finally:
        wb.close()
    return rows


def _raw_from_rows(rows: list[tuple], profile: Profile, exact: bool) -> RawTable:
    """The table of a sheet's rows; with ``exact`` False (calamine's rows) any case but the plain one raises
    _Inexact (see observatory/etl/xlsx_fast.py)."""
    if not rows:
        if not exact:
            raise _Inexact
        raise InputError("classeur vide : aucune ligne dans la feuille")
    text_head = [[_clean_name(v) if v is not None else "" for v in r] for r in rows[:HEADER_SCAN_ROWS]]
    if profile.header_row == "auto":
        header_line = _find_header(text_head, profile)
        if header_line is None:
            if not exact:
                raise _Inexact
            raise InputError(f"en-tête introuvable dans les {HEADER_SCAN_ROWS} premières lignes (colonnes requises : {', '.join(profile.required_columns)})")
    else:
        header_line = int(profile.header_row)
        if header_line > len(rows):
            if not exact:
                raise _Inexact
            raise InputError(f"la feuille n'a que {len(rows)} ligne(s) : pas d'en-tête à la ligne {header_line}")
    if not exact and any(isinstance(v, float) for r in rows[:header_line] for v in r):
        raise _Inexact  # a number above the data: openpyxl's int or float decides how it is written
    header = [_clean_name(v) for v in rows[header_line - 1]]
    while header and header[-1] == "":
        header.pop()
    if any(c not in header for c in profile.required_columns):
        if not exact:
            raise _Inexact
        raise InputError(missing_columns_message(header, profile, header_line, _header_hint(text_head, profile, header_line)))
    names = _unique_names(header)
    formats = {profile.time_column: profile.time_format}
    if profile.clock_column:
        formats[profile.clock_column] = profile.clock_format or "%H:%M"
    col_fmt = [formats.get(n) for n in header]
    width = len(names)
    cols: list[list[str]] = [[] for _ in names]
    lines: list[int] = []
    malformed: list[dict] = []
    blank = 0
    for offset, row in enumerate(rows[header_line:], start=header_line + 1):
        if row is None or all(v is None or (isinstance(v, str) and not v.strip()) for v in row):
            blank += 1
            continue
        extra = [v for v in row[width:] if v is not None and not (isinstance(v, str) and not v.strip())]
        if extra:
            if not exact:
                raise _Inexact  # the quarantine quotes the row as openpyxl reads it
            malformed.append({"row": offset, "reason": f"valeurs au-delà des {width} colonnes de l'en-tête",
                              "original": " | ".join(_excel_text(v, None) for v in row)[:ORIGINAL_MAX_CHARS]})
            continue
        for j in range(width):
            cols[j].append(_excel_text(row[j] if j < len(row) else None, col_fmt[j]))
        lines.append(offset)
    table = pa.table({n: pa.array(c, type=pa.string()) for n, c in zip(names, cols)}) if names else pa.table({})
    notes = [f"{blank} ligne(s) vide(s) ignorée(s)"] if blank and lines else []
    return RawTable(table, np.asarray(lines, dtype=np.int64), malformed, names, header_line, None, notes)


def read_file(path: Path, profile: Profile, scan: FileScan | None = None) -> RawTable:
    """Read one partner file as its profile says; raise :class:`InputError` when the file must be refused."""
    if scan is None:
        scan = scan_file(path, profile.encoding if profile.format == "csv" else None)
    if profile.format == "xlsx":
        return read_xlsx(path, profile, scan)
    return read_csv(path, profile, scan)


__all__ = ["FileScan", "InputError", "RawTable", "read_file", "scan_file"]
