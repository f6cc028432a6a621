"""One partner file → candidate incidents and quarantine rows (read → map → validate → locate), with its
accounting (``FileReport``) and the French messages of a refusal."""

from __future__ import annotations

import json
import re
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from observatory import schema as S
from observatory import store
from observatory.config import Settings
from observatory.labels import fmt_date, fmt_int, fmt_pct
from observatory.etl.profile import Profile
from observatory.etl.read import InputError, RawTable, read_file, scan_file
from observatory.etl.columns import Problems, codes_array, repeat
from observatory.etl.locate import Q_ADDRESS, Q_POINT, locate, project_points
from observatory.etl.mapping import map_rows, normalised_ids
from observatory.etl.places import TerritoryIndex, spatial
from observatory.etl.times import parse_time_fields
from observatory.etl.dedup import _keys_unique


Progress = Callable[[str, int, int], None]  # (stage label, done, total)
PARIS = ZoneInfo(S.TIMEZONE)


@dataclass
class FileReport:
    """Accounting of one input file: ``rows_read == accepted + quarantined + duplicates + unpublished``.

    ``unpublished`` are the valid rows of a refused file (« non publiées (fichier refusé) »): 0 for an integrated one.
    """

    path: Path
    sha256: str = ""
    extracted_at: datetime | None = None
    rows_read: int = 0
    accepted: int = 0
    quarantined: int = 0
    duplicates: int = 0
    revisions: int = 0
    unpublished: int = 0
    unmapped_labels: dict[str, int] = field(default_factory=dict)
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    refused: bool = False
    skipped: bool = False  # already ingested: nothing to do
    message: str = ""
    encoding: str | None = None
    profile_digest: str = ""

    @property
    def source_file(self) -> str:
        return self.path.name

    @property
    def balanced(self) -> bool:
        return self.skipped or self.rows_read == self.accepted + self.quarantined + self.duplicates + self.unpublished

    def as_dict(self) -> dict:
        return {
            "source_file": self.source_file, "sha256": self.sha256, "extracted_at": self.extracted_at.isoformat() if self.extracted_at else None,
            "rows_read": self.rows_read, "accepted": self.accepted, "quarantined": self.quarantined, "duplicates": self.duplicates,
            "revisions": self.revisions, "unpublished": self.unpublished, "unmapped_labels": self.unmapped_labels, "quarantine_reasons": self.quarantine_reasons,
            "notes": self.notes, "refused": self.refused, "skipped": self.skipped, "message": self.message, "encoding": self.encoding,
            "profile_digest": self.profile_digest,
        }


@dataclass
class Prepared:
    report: FileReport
    incidents: pa.Table | None = None  # candidates (canonical schema)
    quarantine: pa.Table | None = None
    raw_preview: pd.DataFrame | None = None
    keys_unique: bool = False  # no key repeats among the file's rows (quarantined ones included): known unique
    spill: object | None = None  # a large file's candidates on disk (observatory.etl.chunked.Spill); incidents is then None


def _fr_date(iso: str | None) -> str:
    try:
        return fmt_date(datetime.fromisoformat(str(iso)))
    except ValueError:
        return "?"


def extraction_date(path: Path, profile: Profile, now: datetime) -> tuple[datetime, str | None]:
    """Extraction date from the file name (``[extraction] filename_pattern``), else the ingest time.

    The pattern is tried at every position of the name and the last match that forms a plausible date wins
    (year 1990–2100): ``pn_faits_10000000_20260101.csv`` gives 1 January 2026, not a failed « 1000-00-00 ».
    """
    if profile.filename_pattern:
        rx = re.compile(profile.filename_pattern)
        found = None
        for start in range(len(path.name)):
            m = rx.match(path.name, start)
            if not m or len(m.groups()) < 2:
                continue
            try:
                y, mo = int(m.group(1)), int(m.group(2))
                d = int(m.group(3)) if len(m.groups()) >= 3 and m.group(3) else 1
                if 1990 <= y <= 2100:
                    found = datetime(y, mo, d, tzinfo=PARIS)
            except (TypeError, ValueError):
                continue
        if found is not None:
            return found, None
        return now, f"date d'extraction absente du nom du fichier (motif {profile.filename_pattern}) : heure d'intégration utilisée"
    return now, None


def _id_prefix(path: Path, profile: Profile) -> str:
    if not profile.prefix_from_filename:
        return ""
    m = re.search(profile.prefix_from_filename, path.name)
    if not m:
        raise InputError(f"le nom du fichier ne contient pas la saison attendue par prefix_from_filename ({profile.prefix_from_filename}) ; renommez le fichier (ex. « {profile.name}_2025.xlsx »)")
    return m.group(1) if m.groups() else m.group(0)


def _quarantine_table(raw: RawTable, per_row: dict[int, tuple[str, str]], report: FileReport, batch_id: str, source: str, now: datetime) -> pa.Table:
    # In file order (rows were put in time order after reading): the first quarantined line comes first.
    positions = sorted(per_row, key=lambda p: int(raw.lines[p]))
    originals: list[str] = []
    if positions:
        sub = raw.table.take(pa.array(positions, type=pa.int64())).to_pylist()
        originals = [json.dumps(r, ensure_ascii=False) for r in sub]
    rows = [int(raw.lines[p]) for p in positions]
    cols = [per_row[p][0] for p in positions]
    reasons = [per_row[p][1] for p in positions]
    for m in raw.malformed:
        rows.append(int(m["row"]))
        cols.append("")
        reasons.append(m["reason"])
        originals.append(json.dumps({"ligne": m["original"]}, ensure_ascii=False))
    n = len(rows)
    return pa.table({
        "batch_id": pa.array([batch_id] * n, pa.string()),
        "source": pa.array([source] * n, pa.string()),
        "source_file": pa.array([report.source_file] * n, pa.string()),
        "source_row": pa.array(rows, pa.int64()),
        "column": pa.array(cols, pa.string()),
        "reason": pa.array(reasons, pa.string()),
        "original": pa.array(originals, pa.string()),
        "quarantined_at": pa.array([now] * n, pa.timestamp("us", tz="UTC")),
    }, schema=store.QUARANTINE_SCHEMA)


def _permuted(raw: RawTable, order: np.ndarray, columns: list[str]) -> RawTable:
    """``columns`` of ``raw`` with the rows in ``order`` (line numbers follow), taken two at a time (take releases
    the GIL). Only the columns mapping reads are moved: the coordinates are projected in file order."""
    idx = pa.array(order)
    with ThreadPoolExecutor(max_workers=2) as pool:
        cols = list(pool.map(lambda c: raw.table[c].take(idx), columns))
    table = pa.Table.from_arrays(cols, names=columns)
    return RawTable(table, raw.lines[order], raw.malformed, raw.header, raw.header_line, raw.encoding, raw.notes)


def _mapped_columns(profile: Profile, names: list[str]) -> list[str]:
    """The raw columns ``map_rows`` and ``locate`` read (besides the coordinates), in file order."""
    wanted = {profile.id_column, *profile.build_from, profile.time_column, profile.clock_column, profile.label_column, profile.n_facts,
              profile.place_name, profile.site, profile.quarter, profile.place_type, profile.arrondissement}
    return [c for c in names if c in wanted]


def _other_roles(profile: Profile) -> set[str]:
    """The raw columns map_rows and locate read for something else than the id and the time."""
    return {*profile.build_from, profile.label_column, profile.n_facts, profile.place_name, profile.site, profile.quarter, profile.place_type,
            profile.arrondissement} - {None, ""}


def _place_points(table: pa.Table, profile: Profile, index: TerritoryIndex, grid_size_m: int, order_box: Future):
    """Worker-thread share of one file (everything here releases the GIL): project the coordinates, put the
    points in the rows' time order (``order_box``, set by the main thread), then place them (arrondissement and
    zone polygons, grid cells)."""
    points = project_points(table, profile)
    order = order_box.result()
    if order is not None:
        points = points.permuted(order)
    return points, spatial(points.x, points.y, index, grid_size_m, points.distinct)


MESSAGE_MAX_CHARS = 600


def _short(text: str, limit: int = MESSAGE_MAX_CHARS) -> str:
    """One readable line: a refusal quotes partner values, which must not make it 20,000 characters long."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _unmapped_counts(table: pa.Table) -> dict[str, int]:
    """Partner label → rows of ``table`` classed non_classe (most frequent first)."""
    sel = table.filter(pc.and_(pc.equal(table[S.CATEGORY], S.NON_CLASSE), pc.is_valid(table[S.RAW_LABEL])))
    if sel.num_rows == 0:
        return {}
    vc = pc.value_counts(sel[S.RAW_LABEL]).to_pylist()
    return {d["values"]: int(d["counts"]) for d in sorted(vc, key=lambda d: (-d["counts"], d["values"]))}


def _reason_key(reason: str) -> str:
    # Group reasons by their generic part (values between « » and numbers vary row to row).
    # Standalone numbers only: "Lambert-93", "EPSG:2154" and "WGS84" are words of the reason, not values.
    return re.sub(r"«[^»]*»|(?<![\w:-])\d(?:[\d\u202f\u00a0.,]*\d)?", "…", reason.split(" ; ")[0]).strip()


def prepare_file(path: Path, profile: Profile, settings: Settings, index: TerritoryIndex, now: datetime, progress: Progress | None = None,
                 skip: Callable[[str], str | None] | None = None, chunks: bool = True) -> Prepared:
    """read → map → validate → locate for one file; raises InputError when the file must be refused.

    A CSV larger than ``settings.ingest_chunk_mb`` is prepared in chunks (``chunks`` False: never) and its
    candidates are kept on disk (``Prepared.spill``) instead of in ``Prepared.incidents``."""
    report = FileReport(path=path, profile_digest=profile.digest)
    if not path.exists():
        raise InputError("fichier introuvable")
    if path.is_dir():
        raise InputError("c'est un dossier, pas un fichier")

    def prog(done: int, total: int) -> None:
        if progress:
            progress(f"lecture {path.name}", done, total)

    scan = scan_file(path, profile.encoding if profile.format == "csv" else None, prog, strict=False)
    report.sha256 = scan.sha256
    if skip is not None:
        why = skip(scan.sha256)
        if why:
            report.skipped = True
            report.message = why
            return Prepared(report)
    ext, note = extraction_date(path, profile, now)
    report.extracted_at = ext
    if note:
        report.notes.append(note)
    prefix = _id_prefix(path, profile)
    if progress:
        progress(f"lecture et contrôle de {path.name}", 0, 0)
    if chunks and profile.format == "csv" and scan.size > settings.ingest_chunk_mb * (1 << 20) and chunkable(profile):
        from observatory.etl.chunked import prepare_chunked

        prepared = prepare_chunked(path, profile, settings, index, now, scan, report, prefix, progress)
        if prepared is not None:
            return prepared
        # None: the streaming reader met what only the one-shot reader handles (a decoding error to name, a
        # line longer than a chunk): read the file at once, as for a small one.
    raw = read_file(path, profile, scan)
    report.encoding = raw.encoding
    report.notes.extend(raw.notes)
    report.rows_read = raw.rows_read
    return prepare_rows(raw, path, profile, settings, index, now, report, prefix, scan.sha256[:12])


def chunkable(profile: Profile) -> bool:
    """Whether a file of this partner can be prepared chunk by chunk: its ids must not depend on other rows
    (``number_identical_rows`` numbers repeats across the whole file)."""
    return not profile.number_identical_rows


def prepare_rows(raw: RawTable, path: Path, profile: Profile, settings: Settings, index: TerritoryIndex, now: datetime, report: FileReport,
                 prefix: str, batch_id: str, check_keys: bool = True) -> Prepared:
    """map → validate → locate the rows of ``raw`` (a whole file, or one chunk of a large one) into ``report``."""
    ext = report.extracted_at
    # Projecting the coordinates (pyproj) and placing them (shapely: arrondissement, zones; Arrow: grid ids) need
    # only the coordinates; putting the rows in time order and mapping the fields (Arrow kernels) need the other
    # columns; all release the GIL: a worker thread does the first, the main thread the second, having checked the
    # keys are unique (for deduplication; ids in file order: ~2× faster to hash) between ordering and mapping.
    # ``raw`` stays in file order (quarantine keeps the original values); the mapped columns are put in time
    # order, and positions below are positions in that order.
    # The dates are parsed once, strictly, in file order: their order puts the rows in time order, and the parsed
    # fields are permuted with the rows (the raw date column is not). The partner's ids are normalised once too,
    # in a second worker, for the uniqueness check, then permuted for mapping.
    original = raw
    order_box: Future = Future()
    with ThreadPoolExecutor(max_workers=2) as pool:
        placed = pool.submit(_place_points, raw.table, profile, index, settings.grid_size_m, order_box)
        ids_future = pool.submit(normalised_ids, original.table, profile) if profile.id_column else None
        order = None
        try:
            times = parse_time_fields(raw.table, profile, with_order=True)
            order = times.order
        finally:
            order_box.set_result(order)  # always set: the worker waits for it
        given_ids = ids_future.result() if ids_future is not None else None
        # Before the mapped copies exist: its hash table then adds to the read table only (at 1e7 rows the
        # check after mapping was the ingest's peak of memory, ~0.5 GB above the rest).
        keys_unique = _keys_unique(given_ids) if given_ids is not None and check_keys else False
        if order is not None:
            times = times.permuted(order)
            skip = {profile.time_column, profile.clock_column}
            if given_ids is not None:
                given_ids = given_ids.take(pa.array(order))
                skip.add(profile.id_column)
            columns = [c for c in _mapped_columns(profile, raw.table.column_names) if c not in skip - _other_roles(profile)]
            raw = _permuted(raw, order, columns or [profile.time_column])  # a table keeps its rows through a column
        mapped = map_rows(raw.table, profile, id_prefix=prefix, extracted_at=ext.astimezone(timezone.utc).replace(tzinfo=None),
                          now=now.astimezone(timezone.utc).replace(tzinfo=None), times=times, given_ids=given_ids)
        points, spatial_ = placed.result()
    loc = locate(mapped, raw.table, profile, index, tolerance_m=settings.territory_tolerance_m, grid_size_m=settings.grid_size_m,
                 problems=mapped.problems, points=points, spatial_=spatial_)
    report.unmapped_labels = mapped.unmapped
    report.notes.extend(mapped.notes)
    report.notes.extend(loc.notes)
    problems: Problems = mapped.problems
    per_row = problems.per_row()
    bad = problems.bad_mask(raw.table.num_rows)
    if bad.any() and report.unmapped_labels:
        # « Non classés » counts the rows that will be published under non_classe, not quarantined ones.
        report.unmapped_labels = _unmapped_counts(mapped.table.filter(pa.array(~bad)))
    report.quarantined = len(per_row) + len(raw.malformed)
    reasons: dict[str, int] = {}
    for _, r in per_row.values():
        k = _reason_key(r)
        reasons[k] = reasons.get(k, 0) + 1
    for m in raw.malformed:
        k = _reason_key(m["reason"])
        reasons[k] = reasons.get(k, 0) + 1
    report.quarantine_reasons = dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])))
    if order is not None:
        per_row = {int(order[p]): v for p, v in per_row.items()}  # back to file positions
    quarantine = _quarantine_table(original, per_row, report, batch_id, profile.name, now.astimezone(timezone.utc))

    t = mapped.table
    n = t.num_rows
    occurred = t[S.OCCURRED_AT]
    year = pc.fill_null(pc.year(mapped.wall), 1970).cast(pa.int16())
    point_like = (loc.quality == Q_POINT) | (loc.quality == Q_ADDRESS)
    mismatch = point_like & (mapped.declared >= 0) & (loc.arrondissement >= 0) & (mapped.declared != loc.arrondissement)
    if mismatch.any():
        report.notes.append(f"{int(mismatch.sum())} ligne(s) dont l'arrondissement déclaré diffère de celui du point (signalées)")

    def f64(a: np.ndarray) -> pa.Array:
        return pa.array(a, type=pa.float64(), mask=np.isnan(a))

    full = pa.table({
        S.INCIDENT_KEY: t[S.INCIDENT_KEY],
        S.SOURCE: t[S.SOURCE],
        S.SOURCE_ID: t[S.SOURCE_ID],
        S.OCCURRED_AT: occurred,
        S.TIME_PRECISION: t[S.TIME_PRECISION],
        S.CATEGORY: t[S.CATEGORY],
        S.FAMILY: t[S.FAMILY],
        S.RAW_LABEL: t[S.RAW_LABEL],
        S.PLACE_TYPE: t[S.PLACE_TYPE],
        S.PLACE_NAME: t[S.PLACE_NAME],
        S.LON: f64(loc.lon),
        S.LAT: f64(loc.lat),
        S.X: f64(loc.x),
        S.Y: f64(loc.y),
        S.LOCATION_QUALITY: codes_array(loc.quality, S.LOCATION_QUALITIES),
        S.ARRONDISSEMENT: codes_array(loc.arrondissement, S.ARRONDISSEMENT_CODES),
        S.DECLARED_ARRONDISSEMENT: t[S.DECLARED_ARRONDISSEMENT],
        S.ARRONDISSEMENT_MISMATCH: pa.array(mismatch, type=pa.bool_()),
        S.IRIS: pa.array(loc.iris, type=pa.string()) if loc.iris is not None else pa.nulls(n, pa.string()),
        S.ZONES: loc.zones,
        S.GRID_CELL: loc.grid,
        S.N_FACTS: t[S.N_FACTS],
        S.YEAR: year,
        S.EXTRACTED_AT: repeat(ext.astimezone(timezone.utc), n, pa.timestamp("us", tz=S.TIMEZONE)),
        S.BATCH_ID: repeat(batch_id, n),
        S.SOURCE_FILE: repeat(path.name, n),
        S.SOURCE_ROW: pa.array(raw.lines, type=pa.int64()),
    })
    if bad.any():
        full = full.filter(pa.array(~bad))
    return Prepared(report, full.cast(S.INCIDENT_SCHEMA), quarantine, keys_unique=keys_unique)


def _refusal_for_share(report: FileReport, settings: Settings, quarantine: pa.Table) -> str | None:
    if report.rows_read == 0 or report.quarantined / report.rows_read <= settings.quarantine_max_share:
        return None
    share = report.quarantined / report.rows_read
    top = next(iter(report.quarantine_reasons.items()))
    first = quarantine.slice(0, 1).to_pylist()[0] if quarantine.num_rows else {}
    example = f" ; 1re ligne : ligne {first.get('source_row')}, colonne « {first.get('column')} » : {first.get('reason')}" if first else ""
    hint = _fix_hint(report, quarantine)
    return (f"{fmt_int(report.quarantined)} ligne(s) sur {fmt_int(report.rows_read)} en quarantaine ({fmt_pct(share, 1, signed=False)} > seuil "
            f"{fmt_pct(settings.quarantine_max_share, 0, signed=False)}) ; motif principal : {top[0]} ({fmt_int(top[1])}){example}{hint}")


def _fix_hint(report: FileReport, quarantine: pa.Table) -> str:
    """What to change when most rows fail the same way (date format, CRS)."""
    reasons = quarantine["reason"].to_pylist()[:2000]
    dates = [re.search(r"«\s*([^»]*?)\s*»", r) for r in reasons if r.startswith("date illisible")]
    values = [m.group(1) for m in dates if m]
    n_dates = int(pc.sum(pc.starts_with(quarantine["reason"], "date illisible")).as_py() or 0) if values else 0
    if values and n_dates < 0.5 * max(report.rows_read, 1):
        # Most dates read with the declared format: the odd ones are the partner's typos, not a wrong format.
        return (f" ; {fmt_int(n_dates)} date(s) illisible(s) sur {fmt_int(report.rows_read)} (ex. « {values[0]} ») alors que les autres "
                f"se lisent au format du profil : faites corriger ces lignes plutôt que [time] format")
    if values:
        for fmt, label in (("%m/%d/%Y", "mois/jour/année (%m/%d/%Y)"), ("%Y-%m-%d", "ISO (%Y-%m-%d)"), ("%d-%m-%Y", "%d-%m-%Y"), ("%d/%m/%y", "%d/%m/%y")):
            ok = 0
            for v in values[:200]:
                try:
                    datetime.strptime(v.split(" ")[0].split("T")[0], fmt)
                    ok += 1
                except ValueError:
                    pass
            if ok >= 0.8 * min(len(values), 200):
                return f" ; les dates semblent au format {label} : corrigez [time] format dans le profil"
    crs_notes = [n for n in report.notes if "tombent loin de Lyon" in n]
    if crs_notes:
        return " ; " + crs_notes[0]
    if any("Lambert-93" in r or "WGS84" in r for r in reasons):
        return " ; vérifiez [location] crs dans le profil"
    return ""
