"""read → map → validate → locate → deduplicate → publish, for the files of one partner.

``ingest`` never raises for bad input: a refused file is reported in the result with a one-line French
message, and nothing already published is touched. At most one snapshot is published per call.
"""

from __future__ import annotations

import time as _time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from functools import partial
from typing import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from observatory import schema as S
from observatory import store
from observatory.config import Settings
from observatory.etl.guards import disk_error_message, is_disk_full
from observatory.etl.profile import ProfileError, load_profile
from observatory.etl.read import InputError
from observatory.etl.places import territory_index
from observatory.territory import TerritoryError, load_territory
from observatory.etl.dedup import _parent_rows_for, _parent_source_keys, deduplicate
from observatory.etl.partitions import _year_table, constant_columns
from observatory.etl.spilled import apply_keep, candidate_rows, publish_years
from observatory.etl.prepare import (  # noqa: F401 - extraction_date, _fix_hint, _reason_key: part of this module's API for tests
    FileReport, Prepared, Progress, _fix_hint, _fr_date, _reason_key, _refusal_for_share, _short, _unmapped_counts, extraction_date, prepare_file,
)



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


def _checkpoint(name: str) -> None:
    store.checkpoint(name)


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
    spills = []  # large files' candidates on disk, removed whatever happens
    try:
        return _ingest_files(settings, files, profile, index, parent, ledger, prepared, spills, progress, now, result, t0, reprocess)
    finally:
        for sp in spills:
            sp.close()


def _ingest_files(settings, files, profile, index, parent, ledger, prepared, spills, progress, now, result, t0, reprocess) -> IngestResult:
    timings = result.timings
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
            if prep.spill is not None:
                spills.append(prep.spill)
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
    parent_keys = _parent_source_keys(parent, profile.name)
    # A file prepared in chunks takes part through its candidates only (rows whose key may repeat).
    subsets = candidate_rows(prepared, parent_keys) if any(p.spill is not None for p in prepared) else {}
    batches = [subsets[i][0] if i in subsets else p.incidents for i, p in enumerate(prepared)]
    if parent_keys.num_rows:
        new_keys = pa.chunked_array([c for b in batches for c in b[S.INCIDENT_KEY].chunks], type=pa.string()).combine_chunks()
        colliding = pc.filter(parent_keys, pc.is_in(parent_keys[S.INCIDENT_KEY], value_set=new_keys))
    else:
        colliding = parent_keys
    coll_years = set(colliding[S.YEAR].to_pylist())
    parent_rows = _parent_rows_for(parent, colliding[S.INCIDENT_KEY].combine_chunks() if colliding.num_rows else pa.array([], pa.string()), coll_years)
    keep, counts, replaced = deduplicate(batches, parent_rows, [p.keys_unique for p in prepared], [profile.within_file] * len(prepared))
    for i, (sub, locs) in subsets.items():
        p = prepared[i]
        counts[i]["accepted"] += p.spill.num_rows - sub.num_rows  # rows no other row shares a key with: new
        apply_keep(p.spill, locs, keep[i])
        if p.report.unmapped_labels and not keep[i].all():
            dropped = _unmapped_counts(sub.filter(pa.array(~keep[i])))
            left = {k: v - dropped.get(k, 0) for k, v in p.report.unmapped_labels.items() if v - dropped.get(k, 0) > 0}
            p.report.unmapped_labels = dict(sorted(left.items(), key=lambda kv: (-kv[1], kv[0])))
    for p, c in zip(prepared, counts):
        p.report.accepted, p.report.duplicates, p.report.revisions = c["accepted"], c["duplicates"], c["revisions"]
        p.report.notes.extend(c.get("notes", []))
        assert p.report.balanced, p.report.as_dict()
    for p, k in zip(prepared, keep):
        if p.spill is None and p.report.unmapped_labels and not k.all():
            p.report.unmapped_labels = _unmapped_counts(p.incidents.filter(pa.array(k)))  # duplicates are not counted again
    new_rows = pa.concat_tables([b if k.all() else b.filter(pa.array(k)) for b, k in zip(batches, keep)]) if not subsets else None
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
    if subsets:
        publish_years(writer, prepared, keep, parent, replaced_arr if replaced else None, replaced_years)
    else:
        _publish_years(writer, new_rows, parent, replaced_arr, replaced, replaced_years)
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


def _publish_years(writer: store.SnapshotWriter, new_rows: pa.Table, parent, replaced_arr: pa.Array, replaced: set[str], replaced_years: set[int]) -> None:
    """Year partitions of the new snapshot when every file was prepared at once (new rows in memory)."""
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


def check_file(settings: Settings, profile_name: str | Path, path: Path, preview_rows: int = 10) -> tuple[Prepared | None, str | None, pd.DataFrame]:
    """What ``ingest`` would do with one file, without publishing: (prepared, refusal message, preview)."""
    profile = load_profile(settings, profile_name)
    index = territory_index(load_territory(settings))
    now = datetime.now(timezone.utc)
    try:
        prep = prepare_file(Path(path), profile, settings, index, now, chunks=False)
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
