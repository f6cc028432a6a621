"""read → map → validate → locate → deduplicate → publish, for the files of one partner.

``ingest`` never raises for bad input: a refused file is reported in the result with a one-line French
message, and nothing already published is touched. At most one snapshot is published per call.
"""

from __future__ import annotations

import json
import re
import time as _time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from functools import partial
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
from observatory.etl.guards import disk_error_message, is_disk_full
from observatory.etl.profile import Profile, ProfileError, load_profile
from observatory.etl.read import InputError, RawTable, read_file, scan_file
from observatory.etl.columns import Problems, codes_array, repeat
from observatory.etl.locate import Q_ADDRESS, Q_POINT, locate, project_points
from observatory.etl.mapping import map_rows, normalised_ids
from observatory.etl.places import TerritoryIndex, spatial, territory_index
from observatory.etl.times import time_order
from observatory.territory import TerritoryError, load_territory

Progress = Callable[[str, int, int], None]  # (stage label, done, total)
PARIS = ZoneInfo(S.TIMEZONE)
# Columns compared to tell an identical repeat from a revision (lineage columns differ between extracts).
CONTENT_COLUMNS = [c for c in S.INCIDENT_COLUMNS if c not in (S.INCIDENT_KEY, S.BATCH_ID, S.SOURCE_FILE, S.SOURCE_ROW, S.EXTRACTED_AT)]


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
class IngestResult:
    source: str
    files: list[FileReport]
    snapshot_id: str | None = None
    parent_id: str | None = None
    message: str = ""
    timings: dict[str, float] = field(default_factory=dict)

    failed: bool = False  # the ingest itself could not run (unknown source, store locked, ...)

    @property
    def refused(self) -> bool:
        """True when something was refused: a file, or the whole ingest."""
        return self.failed or any(f.refused for f in self.files)

    @property
    def exit_code(self) -> int:
        return 1 if (self.failed or any(f.refused for f in self.files)) else 0


@dataclass
class Prepared:
    report: FileReport
    incidents: pa.Table | None = None  # candidates (canonical schema)
    quarantine: pa.Table | None = None
    raw_preview: pd.DataFrame | None = None
    keys_unique: bool = False  # no key repeats among the file's rows (quarantined ones included): known unique


def _keys_unique(keys: pa.ChunkedArray) -> bool:
    return len(pc.unique(keys)) == len(keys)  # unique() is ~4× faster than count_distinct here


def _fr_date(iso: str | None) -> str:
    try:
        return fmt_date(datetime.fromisoformat(str(iso)))
    except ValueError:
        return "?"


def _checkpoint(name: str) -> None:
    store.checkpoint(name)


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


def _place_points(table: pa.Table, profile: Profile, index: TerritoryIndex, grid_size_m: int, order_box: Future):
    """Worker-thread share of one file (everything here releases the GIL): project the coordinates, put the
    points in the rows' time order (``order_box``, set by the main thread), then place them (arrondissement and
    zone polygons, grid cells)."""
    points = project_points(table, profile)
    order = order_box.result()
    if order is not None:
        points = points.permuted(order)
    return points, spatial(points.x, points.y, index, grid_size_m)


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
                 skip: Callable[[str], str | None] | None = None) -> Prepared:
    """read → map → validate → locate for one file; raises InputError when the file must be refused."""
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
    raw = read_file(path, profile, scan)
    report.encoding = raw.encoding
    report.notes.extend(raw.notes)
    report.rows_read = raw.rows_read
    batch_id = scan.sha256[:12]
    # Projecting the coordinates (pyproj) and placing them (shapely: arrondissement, zones; Arrow: grid ids) need
    # only the coordinates; putting the rows in time order and mapping the fields (Arrow kernels) need the other
    # columns; all release the GIL: a worker thread does the first, the main thread the second, then checks the
    # keys are unique (for deduplication; ids in file order: ~2× faster to hash) while the worker finishes.
    # ``raw`` stays in file order (quarantine keeps the original values); the mapped columns are put in time
    # order, and positions below are positions in that order.
    original = raw
    order_box: Future = Future()
    with ThreadPoolExecutor(max_workers=1) as pool:
        placed = pool.submit(_place_points, raw.table, profile, index, settings.grid_size_m, order_box)
        order = None
        try:
            order = time_order(raw.table, profile)
        finally:
            order_box.set_result(order)  # always set: the worker waits for it
        if order is not None:
            raw = _permuted(raw, order, _mapped_columns(profile, raw.table.column_names))
        mapped = map_rows(raw.table, profile, id_prefix=prefix, extracted_at=ext.astimezone(timezone.utc).replace(tzinfo=None), now=now.astimezone(timezone.utc).replace(tzinfo=None))
        keys_unique = _keys_unique(normalised_ids(original.table, profile)) if profile.id_column else False
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


def _content_hash(table: pa.Table) -> np.ndarray:
    cols = {}
    for c in CONTENT_COLUMNS:
        col = table[c]
        if c == S.ZONES:
            col = pc.binary_join(col, "|")
        cols[c] = col
    df = pa.table(cols).to_pandas()
    return pd.util.hash_pandas_object(df, index=False).to_numpy()


def _parent_source_keys(parent: store.Snapshot | None, source: str) -> pa.Table:
    if parent is None:
        return pa.table({S.INCIDENT_KEY: pa.array([], pa.string()), S.YEAR: pa.array([], pa.int16())})
    parts = []
    for f in parent.incident_files:
        t = store.read_incident_files([f], columns=[S.INCIDENT_KEY, S.SOURCE, S.YEAR])
        t = t.filter(pc.equal(t[S.SOURCE], source))
        parts.append(t.select([S.INCIDENT_KEY, S.YEAR]))
    return pa.concat_tables(parts) if parts else pa.table({S.INCIDENT_KEY: pa.array([], pa.string()), S.YEAR: pa.array([], pa.int16())})


def _within_file(b: pa.Table, rule: str) -> tuple[np.ndarray, dict]:
    """One key on several lines of one file (rule documented in data/raw/sources/README.md).

    In line order, a row identical to the previous row of its key is a duplicate, a different one a revision. The
    version kept is the last line; with the ``last_located`` rule (default), the last line that has a point when
    any has one, so an unlocated twin never replaces a located row. Every choice is counted in the notes.
    """
    c = {"accepted": 0, "duplicates": 0, "revisions": 0, "notes": []}
    n = b.num_rows
    keys = b[S.INCIDENT_KEY].to_pandas()
    repeated = keys.duplicated(keep=False).to_numpy()
    if not repeated.any():
        return np.ones(n, dtype=bool), c
    pos = np.flatnonzero(repeated)
    sub = b.take(pa.array(pos))
    quality = sub[S.LOCATION_QUALITY].to_pandas()
    df = pd.DataFrame({"key": sub[S.INCIDENT_KEY].to_pandas(), "line": sub[S.SOURCE_ROW].to_numpy(), "pos": pos, "hash": _content_hash(sub),
                       "located": quality.isin(["point", "address"]).to_numpy()})
    df = df.sort_values(["key", "line"], kind="stable").reset_index(drop=True)
    g = df.groupby("key", sort=False)
    same = (df["hash"] == g["hash"].shift(1)).to_numpy()
    first = (g.cumcount() == 0).to_numpy()
    dup = same & ~first
    rev = ~same & ~first
    cand = df[~dup]
    last_line = cand.groupby("key")["line"].transform("max")
    last_any = cand["line"] == last_line
    winners = cand[last_any]
    if rule == "last_located":
        located = cand[cand["located"]]
        best_located = located.groupby("key")["line"].max()
        has_loc = winners["key"].map(best_located)
        moved = winners[~winners["located"] & has_loc.notna()]
        win_lines = winners.set_index("key")["line"].copy()
        win_lines.loc[moved["key"]] = best_located.loc[moved["key"]].to_numpy()
        kept_located = len(moved)
        replaced_by_unlocated = 0
    else:
        win_lines = winners.set_index("key")["line"]
        kept_located = 0
        loc_before = cand[cand["located"]].groupby("key")["line"].max()
        lost = winners[~winners["located"]]
        replaced_by_unlocated = int(lost["key"].isin(loc_before.index).sum())
    is_winner = (df["line"].to_numpy() == df["key"].map(win_lines).to_numpy()) & ~dup
    keep = np.ones(n, dtype=bool)
    keep[df["pos"].to_numpy()[~is_winner]] = False
    c["duplicates"] = int(dup.sum())
    c["revisions"] = int(rev.sum())
    # The caller counts the rows it keeps as accepted; the earlier versions (first rows and revisions that lost to
    # the kept one) are accepted too, as cross-file revisions are: read = accepted + quarantined + duplicates.
    c["accepted"] = int((~dup).sum()) - int(is_winner.sum())
    nkeys = int(df["key"].nunique())
    msg = (f"{fmt_int(nkeys)} identifiant(s) sur plusieurs lignes du fichier : {fmt_int(int(dup.sum()))} ligne(s) identique(s) comptée(s) en doublons, "
           f"{fmt_int(int(rev.sum()))} version(s) différente(s) comptée(s) en révisions ; ")
    if rule == "last_located":
        msg += "la dernière ligne localisée est gardée (within_file = \"last_located\")"
        if kept_located:
            msg += f", dont {fmt_int(kept_located)} fois plutôt qu'une ligne suivante sans localisation"
    else:
        msg += "la dernière ligne est gardée (within_file = \"last\")"
        if replaced_by_unlocated:
            msg += f" ; {fmt_int(replaced_by_unlocated)} fois une ligne sans localisation a remplacé une ligne localisée"
    c["notes"].append(msg)
    return keep, c


def deduplicate(batches: list[pa.Table], parent_rows: pa.Table, unique_within: list[bool] | None = None,
                rules: list[str] | None = None) -> tuple[list[np.ndarray], list[dict], set[str]]:
    """Decide, for each candidate row of each batch (in extraction order), new / revision / duplicate.

    ``parent_rows`` holds the already-published rows whose keys collide with the batches. Returns the mask of
    rows to publish per batch, per-batch counts, and the keys whose published row is replaced.
    Rule: per key, rows are ordered by extraction date then batch order; the last one wins; a row identical
    to the previous version is a duplicate, a different one a revision; a row older than the published
    version is a duplicate (a stale extract cannot overwrite a newer one).
    ``unique_within[i]`` True says batch i is already known to hold no key twice (checked while locating).
    """
    counts = [{"accepted": 0, "duplicates": 0, "revisions": 0} for _ in batches]
    if parent_rows.num_rows == 0:
        keys_all = pa.chunked_array([c for b in batches for c in b[S.INCIDENT_KEY].chunks], type=pa.string())
        if (len(batches) == 1 and unique_within and unique_within[0]) or _keys_unique(keys_all):
            # The common case (a first ingest, or a month with no overlap): no key repeats, nothing to compare.
            for i, b in enumerate(batches):
                counts[i]["accepted"] = b.num_rows
            return [np.ones(b.num_rows, dtype=bool) for b in batches], counts, set()
    keep: list[np.ndarray] = []
    for i, b in enumerate(batches):
        k, c = _within_file(b, rules[i] if rules else "last_located")
        keep.append(k)
        for name in ("accepted", "duplicates", "revisions"):
            counts[i][name] += c[name]
        counts[i]["notes"] = c["notes"]
    all_keys = pd.concat([b[S.INCIDENT_KEY].to_pandas()[k] for b, k in zip(batches, keep)] + [parent_rows[S.INCIDENT_KEY].to_pandas()], ignore_index=True)
    involved = set(all_keys[all_keys.duplicated(keep=False)].tolist())
    if not involved:
        for i, k in enumerate(keep):
            counts[i]["accepted"] += int(k.sum())
        return keep, counts, set()
    frames = []
    inv_arr = pa.array(sorted(involved), type=pa.string())
    for i, (b, k) in enumerate(zip(batches, keep)):
        sel = np.asarray(pc.is_in(b[S.INCIDENT_KEY], value_set=inv_arr).to_numpy(zero_copy_only=False), dtype=bool) & k
        pos = np.flatnonzero(sel)
        if len(pos) == 0:
            continue
        sub = b.take(pa.array(pos))
        frames.append(pd.DataFrame({"key": sub[S.INCIDENT_KEY].to_pandas(), "ext": sub[S.EXTRACTED_AT].cast(pa.int64()).to_numpy(), "order": i, "pos": pos, "hash": _content_hash(sub)}))
    if parent_rows.num_rows:
        frames.append(pd.DataFrame({"key": parent_rows[S.INCIDENT_KEY].to_pandas(), "ext": parent_rows[S.EXTRACTED_AT].cast(pa.int64()).to_numpy(), "order": -1, "pos": -1, "hash": _content_hash(parent_rows)}))
    chain = pd.concat(frames, ignore_index=True).sort_values(["key", "ext", "order"], kind="stable").reset_index(drop=True)
    g = chain.groupby("key", sort=False)
    rank = g.cumcount().to_numpy()
    size = g["key"].transform("size").to_numpy()
    is_parent = (chain["order"] == -1).to_numpy()
    parent_rank = pd.Series(np.where(is_parent, rank, -1)).groupby(chain["key"]).transform("max").to_numpy()
    prev_hash = g["hash"].shift(1)
    first = rank == 0
    same = (chain["hash"] == prev_hash).to_numpy()
    stale = rank < parent_rank
    status = np.where(is_parent, "published", np.where(stale, "duplicate", np.where(first, "new", np.where(same, "duplicate", "revision"))))
    # The version that stays is the last one that is not a duplicate: an identical repeat keeps the row (and
    # lineage) already there, a stale extract never displaces a newer one.
    eligible = status != "duplicate"
    last_eligible = pd.Series(np.where(eligible, rank, -1)).groupby(chain["key"]).transform("max").to_numpy()
    winner = eligible & (rank == last_eligible)
    replaced = set(chain.loc[winner & ~is_parent & (parent_rank >= 0), "key"].tolist())
    _ = size
    for i in range(len(batches)):
        m = (chain["order"] == i).to_numpy()
        if not m.any():
            counts[i]["accepted"] += int(keep[i].sum())
            continue
        st = status[m]
        counts[i]["duplicates"] += int((st == "duplicate").sum())
        counts[i]["revisions"] += int((st == "revision").sum())
        counts[i]["accepted"] += int(keep[i].sum()) - int((st == "duplicate").sum())
        # Involved rows that lose to a later version (or are duplicates) are not published.
        losers = chain.loc[m & ~winner, "pos"].to_numpy()
        dup_pos = chain.loc[m & (status == "duplicate"), "pos"].to_numpy()
        keep[i][losers] = False
        keep[i][dup_pos] = False
    return keep, counts, replaced


def _year_table(new_rows: pa.Table, idx: np.ndarray | slice, parent_path: Path | None, replaced: pa.Array | None,
                constant: frozenset[str] = frozenset()) -> pa.Table:
    """One year partition: the new rows of that year (in time order) merged with the parent's kept rows.

    ``idx`` is a slice when the new rows are already in time order (a zero-copy view), else positions.
    """
    part = new_rows.slice(idx.start, idx.stop - idx.start) if isinstance(idx, slice) else _take(new_rows, idx, constant)
    if parent_path is None:
        return part
    old = store.read_incident_files([parent_path])
    if replaced is not None:
        old = old.filter(pc.invert(pc.is_in(old[S.INCIDENT_KEY], value_set=replaced)))
    return _sorted_by_time(pa.concat_tables([old, part]))


def _take(table: pa.Table, idx: np.ndarray, constant: frozenset[str] | None = None) -> pa.Table:
    """Rows ``idx`` of ``table``; a constant column is its own permutation (per-file lineage columns are).

    ``constant`` names the columns known to be constant (computed once for all partitions); None: test here.
    """
    if len(idx) == table.num_rows and (len(idx) < 2 or (np.diff(idx) == 1).all()):
        return table
    if constant is None:
        constant = constant_columns(table)
    order = pa.array(idx)
    cols = []
    for name in table.column_names:
        col = table[name]
        if name in constant:
            cols.append(pa.repeat(col[0], len(idx)) if len(idx) != len(col) else col)
        else:
            cols.append(col.take(order))
    return pa.Table.from_arrays(cols, schema=table.schema)


def _sorted_by_time(table: pa.Table) -> pa.Table:
    """Rows by occurred_at; skips the (costly, all-column) permutation when the extract is already in order."""
    if table.num_rows < 2:
        return table
    ts = table[S.OCCURRED_AT].cast(pa.int64()).to_numpy()
    if (np.diff(ts) >= 0).all():
        return table
    return _take(table, np.argsort(ts, kind="stable"))


_OFTEN_CONSTANT = {S.SOURCE, S.BATCH_ID, S.SOURCE_FILE, S.EXTRACTED_AT, S.IRIS, S.TIME_PRECISION, S.N_FACTS, S.PLACE_NAME}


def constant_columns(table: pa.Table) -> frozenset[str]:
    """The often-constant columns (lineage of one file, unused fields) that hold one value in ``table``."""
    return frozenset(name for name in _OFTEN_CONSTANT if name in table.column_names and _is_constant(table[name]))


def _is_constant(col: pa.ChunkedArray) -> bool:
    nulls = col.null_count
    if nulls == len(col):
        return True
    if nulls or len(col) == 0:
        return False
    # One comparison with the first value: min_max on strings costs ~10× more (measured 0.26 s for 1e6 rows).
    return bool(pc.all(pc.equal(col, col[0])).as_py())


def _parent_rows_for(parent: store.Snapshot | None, keys: pa.Array, years: set[int]) -> pa.Table:
    if parent is None or len(keys) == 0:
        return S.INCIDENT_SCHEMA.empty_table()
    parts = []
    for f in parent.manifest.get("files", []):
        if f["year"] not in years:
            continue
        t = store.read_incident_files([parent.path / f["path"]])
        parts.append(t.filter(pc.is_in(t[S.INCIDENT_KEY], value_set=keys)))
    return pa.concat_tables(parts) if parts else S.INCIDENT_SCHEMA.empty_table()


def _history_entry(report: FileReport, source: str, snapshot_id: str | None, now: datetime) -> dict:
    return {
        "snapshot_id": snapshot_id, "ingested_at": now.astimezone(timezone.utc).isoformat(), "source": source,
        "source_file": report.source_file, "sha256": report.sha256, "rows_read": report.rows_read, "accepted": report.accepted,
        "quarantined": report.quarantined, "duplicates": report.duplicates, "revisions": report.revisions,
        "unmapped_labels": int(sum(report.unmapped_labels.values())), "refused": report.refused, "message": report.message,
        "extracted_at": report.extracted_at.isoformat() if report.extracted_at else None,
        "unpublished": report.unpublished, "profile_digest": report.profile_digest,
    }


def ingest(settings: Settings, files: list[Path], source: str, progress: Progress | None = None, *, now: datetime | None = None,
           reprocess: bool = False) -> IngestResult:
    """Ingest the files of one partner and publish at most one snapshot. Never raises for bad input.

    A file already ingested for this partner with the same profile is skipped; ``reprocess`` reads it again.
    """
    t0 = _time.perf_counter()
    now = now or datetime.now(timezone.utc)
    files = [Path(f) for f in files]
    result = IngestResult(source=source, files=[])
    try:
        profile = load_profile(settings, source)
        territory = load_territory(settings)
    except (ProfileError, TerritoryError) as exc:
        result.failed = True
        result.message = str(exc)
        return result
    source = profile.name
    result.source = source
    try:
        with store.write_lock(settings):
            store.clean_leftovers(settings)
            try:
                return _ingest_locked(settings, files, profile, territory, progress, now, result, t0, reprocess)
            except OSError as exc:
                # Disk full (or another write failure) while the snapshot was being built: the temporary folder
                # goes, the current snapshot stays as it was.
                store.clean_leftovers(settings)
                result.failed = True
                result.snapshot_id = None
                result.message = disk_error_message(exc, settings.processed_dir)
                return result
    except store.StoreError as exc:
        result.failed = True
        result.message = str(exc)
        return result


def _ingest_locked(settings, files, profile, territory, progress, now, result, t0, reprocess=False) -> IngestResult:
    timings = result.timings
    index = territory_index(territory)
    parent = store.current_snapshot(settings)
    result.parent_id = parent.id if parent else None
    # The same bytes are skipped only for the same partner read with the same profile: a corrected profile (or
    # label table) re-reads them. Entries written before profiles were hashed carry no digest: they match any.
    ledger: dict[tuple[str, str], dict] = {}
    for e in parent.ledger if parent else []:
        if not e.get("refused"):
            ledger[(e.get("sha256"), e.get("source"))] = e
    prepared: list[Prepared] = []
    seen: set[str] = set()
    t = _time.perf_counter()

    def skip(sha: str) -> str | None:
        e = ledger.get((sha, profile.name))
        if e is not None and not reprocess and e.get("profile_digest") in (None, "", profile.digest):
            return (f"déjà intégré le {_fr_date(e.get('ingested_at'))} (instantané {e.get('snapshot_id')}) avec ce profil : rien à faire "
                    f"(--reprocess pour le relire)")
        if sha in seen:
            return "même contenu qu'un autre fichier de cette intégration : ignoré"
        return None

    for path in files:
        report = FileReport(path=path)
        try:
            prep = prepare_file(path, profile, settings, index, now, progress, skip)
            report = prep.report
            if not report.skipped and (report.sha256, profile.name) in ledger:
                e = ledger[(report.sha256, profile.name)]
                why = "--reprocess" if reprocess else "profil modifié depuis"
                report.notes.append(f"déjà intégré le {_fr_date(e.get('ingested_at'))} : relu ({why}) ; incidents inchangés en doublons, modifiés en révisions")
            if report.skipped:
                pass
            elif report.rows_read == 0:
                report.skipped = True
                report.message = "en-tête seul, aucune ligne : rien à intégrer"
            else:
                why = _refusal_for_share(report, settings, prep.quarantine)
                if why:
                    raise InputError(why)
                prepared.append(prep)
            seen.add(report.sha256)
        except InputError as exc:
            report.refused = True
            # The valid rows of a refused file are not lost from the accounting: « non publiées (fichier refusé) ».
            report.accepted = report.duplicates = report.revisions = 0
            report.unpublished = max(report.rows_read - report.quarantined, 0)
            report.message = f"{path.name} : {_short(str(exc))} ; rien n'a été publié pour ce fichier"
        except MemoryError:
            report.refused = True
            report.message = f"{path.name} : mémoire insuffisante pour lire ce fichier ; rien n'a été publié pour ce fichier"
        except OSError as exc:
            if is_disk_full(exc):
                raise  # not the file's fault: the whole ingest stops (see ingest)
            report.refused = True
            report.message = f"{path.name} : lecture impossible ({exc.strerror or exc.__class__.__name__}) ; rien n'a été publié pour ce fichier"
        if report.refused:
            store.record_refusal(settings, _history_entry(report, profile.name, None, now))
        result.files.append(report)
    timings["read_map_locate_s"] = _time.perf_counter() - t
    _checkpoint("prepared")
    if not prepared:
        msgs = [f.message for f in result.files if f.message]
        more = f" (et {len(msgs) - 3} autre(s) fichier(s))" if len(msgs) > 3 else ""
        result.message = ("rien à publier : " + " ; ".join(msgs[:3]) + more) if result.files else "aucun fichier"
        timings["total_s"] = _time.perf_counter() - t0
        return result

    # Deduplicate, oldest extraction first, so that the latest extraction wins whatever the argument order.
    t = _time.perf_counter()
    prepared.sort(key=lambda p: (p.report.extracted_at, p.report.source_file))
    batches = [p.incidents for p in prepared]
    parent_keys = _parent_source_keys(parent, profile.name)
    if parent_keys.num_rows:
        new_keys = pa.chunked_array([c for b in batches for c in b[S.INCIDENT_KEY].chunks], type=pa.string()).combine_chunks()
        colliding = pc.filter(parent_keys, pc.is_in(parent_keys[S.INCIDENT_KEY], value_set=new_keys))
    else:
        colliding = parent_keys
    coll_years = set(colliding[S.YEAR].to_pylist())
    parent_rows = _parent_rows_for(parent, colliding[S.INCIDENT_KEY].combine_chunks() if colliding.num_rows else pa.array([], pa.string()), coll_years)
    keep, counts, replaced = deduplicate(batches, parent_rows, [p.keys_unique for p in prepared], [profile.within_file] * len(prepared))
    for p, c in zip(prepared, counts):
        p.report.accepted, p.report.duplicates, p.report.revisions = c["accepted"], c["duplicates"], c["revisions"]
        p.report.notes.extend(c.get("notes", []))
        assert p.report.balanced, p.report.as_dict()
    for p, k in zip(prepared, keep):
        if p.report.unmapped_labels and not k.all():
            p.report.unmapped_labels = _unmapped_counts(p.incidents.filter(pa.array(k)))  # duplicates are not counted again
    new_rows = pa.concat_tables([b if k.all() else b.filter(pa.array(k)) for b, k in zip(batches, keep)])
    timings["deduplicate_s"] = _time.perf_counter() - t
    # Even when every row was a duplicate a snapshot is published: its ledger records the files, so that a
    # re-run says "nothing to do" instead of counting them again.

    # Publish
    if progress:
        progress("publication de l'instantané", 0, 0)
    t = _time.perf_counter()
    snap_id = store.new_snapshot_id()
    while parent is not None and snap_id <= parent.id:  # ids must sort after the parent even if the clock stepped back
        _time.sleep(0.001)
        snap_id = store.new_snapshot_id()
    writer = store.SnapshotWriter(settings, snap_id, parent)
    _checkpoint("writer_created")
    replaced_arr = pa.array(sorted(replaced), type=pa.string())
    replaced_years = set(pc.filter(colliding[S.YEAR], pc.is_in(colliding[S.INCIDENT_KEY], value_set=replaced_arr)).to_pylist()) if replaced else set()
    new_years = set(pc.unique(new_rows[S.YEAR]).to_pylist()) if new_rows.num_rows else set()
    affected = new_years | replaced_years
    parent_files = {f["year"]: f for f in (parent.manifest.get("files", []) if parent else [])}
    # One argsort of the new rows by time; year is a function of occurred_at, so each year is a contiguous run
    # of the permutation. When the rows are already in time order (prepare_file sorts each file) every year is a
    # zero-copy slice; otherwise the (string-heavy) take is done per year inside the writer threads, in parallel.
    ts = new_rows[S.OCCURRED_AT].cast(pa.int64()).to_numpy() if new_rows.num_rows else np.array([], dtype=np.int64)
    in_order = bool((np.diff(ts) >= 0).all()) if len(ts) > 1 else True
    order = np.arange(len(ts)) if in_order else np.argsort(ts, kind="stable")
    years_np = new_rows[S.YEAR].to_numpy()[order] if new_rows.num_rows else np.array([], dtype=np.int16)
    constant = constant_columns(new_rows) if not in_order else frozenset()
    to_write: list[tuple[int, Callable[[], pa.Table]]] = []
    for year in sorted(set(parent_files) | affected):
        if year not in affected:
            writer.link_year(parent_files[year])
            _checkpoint(f"link_{year}")
            continue
        lo, hi = np.searchsorted(years_np, year, side="left"), np.searchsorted(years_np, year, side="right")
        idx = slice(int(lo), int(hi)) if in_order else order[lo:hi]
        parent_path = parent.path / parent_files[year]["path"] if year in parent_files else None
        to_write.append((year, partial(_year_table, new_rows, idx, parent_path, replaced_arr if replaced else None, constant)))
    # Parquet encoding releases the GIL: two partitions at a time use both cores of a small server.
    writer.write_years(to_write, presorted=True)
    _checkpoint("years_written")
    writer.carry_quarantine()
    for p in prepared:
        writer.write_quarantine(p.report.sha256[:12], p.quarantine)
    _checkpoint("quarantine_written")
    entries = [_history_entry(p.report, profile.name, snap_id, now) for p in prepared]
    timings["publish_s"] = _time.perf_counter() - t
    timings["total_s"] = _time.perf_counter() - t0
    manifest = {
        "created_at": now.astimezone(timezone.utc).isoformat(),
        "source": profile.name,
        "ingest": [p.report.as_dict() for p in prepared],
        "ledger": (parent.ledger if parent else []) + entries,
        "timings": {k: round(v, 4) for k, v in timings.items()},
    }
    snap = writer.publish(manifest)
    result.snapshot_id = snap.id
    _checkpoint("published")
    store.prune_snapshots(settings)
    total_acc = sum(p.report.accepted for p in prepared)
    result.message = f"instantané {snap.id} publié : {total_acc} incident(s) accepté(s) sur {len(prepared)} fichier(s)"
    return result


def check_file(settings: Settings, profile_name: str | Path, path: Path, preview_rows: int = 10) -> tuple[Prepared | None, str | None, pd.DataFrame]:
    """What ``ingest`` would do with one file, without publishing: (prepared, refusal message, preview)."""
    profile = load_profile(settings, profile_name)
    index = territory_index(load_territory(settings))
    now = datetime.now(timezone.utc)
    try:
        prep = prepare_file(Path(path), profile, settings, index, now)
    except InputError as exc:
        return None, f"{Path(path).name} : {exc}", pd.DataFrame()
    preview = prep.incidents.slice(0, preview_rows).to_pandas() if prep.incidents is not None else pd.DataFrame()
    why = _refusal_for_share(prep.report, settings, prep.quarantine)
    if not why and prep.incidents is not None and prep.incidents.num_rows:
        # What ingest would count: repeats within the file and incidents already in the current snapshot.
        try:
            parent = store.current_snapshot(settings)
        except store.StoreError:
            parent = None
        keys = prep.incidents[S.INCIDENT_KEY].combine_chunks()
        known = _parent_source_keys(parent, profile.name)
        colliding = known.filter(pc.is_in(known[S.INCIDENT_KEY], value_set=keys)) if known.num_rows else known
        parent_rows = _parent_rows_for(parent, colliding[S.INCIDENT_KEY].combine_chunks() if colliding.num_rows else pa.array([], pa.string()),
                                       set(colliding[S.YEAR].to_pylist()))
        _, counts, _ = deduplicate([prep.incidents], parent_rows, [prep.keys_unique], [profile.within_file])
        c = counts[0]
        prep.report.accepted, prep.report.duplicates, prep.report.revisions = c["accepted"], c["duplicates"], c["revisions"]
        prep.report.notes.extend(c.get("notes", []))
    return prep, (f"{Path(path).name} : {why}" if why else None), preview
