"""Mapping: profile columns → canonical fields (id, time, label → category, facts, declared arrondissement).

Vectorised with pyarrow.compute / numpy: no Python loop per row on the hot path (the only per-row Python is the
id hash of partners that give no id, which are small files).
"""

from __future__ import annotations

import hashlib
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from observatory import schema as S
from observatory.etl.profile import Profile
from observatory.etl.columns import Problems, _empty, _np_bool, _null_if_empty, _text, codes_array, normalise_name, parse_numbers, prefixed, repeat
from observatory.etl.times import EARLIEST, TimeFields, parse_time_fields


def stable_ids(table: pa.Table, columns: tuple[str, ...]) -> np.ndarray:
    """A stable id from field values (partners without ids): same values → same id, in any run."""
    parts = [pc.utf8_trim_whitespace(table[c]).to_pylist() for c in columns]
    return np.array(
        [hashlib.sha1("\x1f".join(v or "" for v in vals).encode("utf-8")).hexdigest()[:16] for vals in zip(*parts)],
        dtype=object,
    )


_POSTAL = {f"6900{i}": f"6938{i}" for i in range(1, 10)}


def normalise_arrondissement(arr: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Declared arrondissement → index into ``ARRONDISSEMENT_CODES`` (-1 = unknown or empty).

    Accepts 69383, 69003 (postal code), 3, 3e, « Lyon 3 », « Lyon 3e »: each distinct value is parsed once.
    """
    # One hash pass (dictionary encoding) instead of two (unique, then index_in).
    enc = pc.dictionary_encode(arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr)
    values = enc.dictionary.to_pylist()
    lookup = np.array([S.ARRONDISSEMENT_CODES.index(c) if (c := _arr_code(v)) else -1 for v in values] + [-1], dtype=np.int16)
    pos_np = np.asarray(pc.fill_null(enc.indices, len(values)).to_numpy(zero_copy_only=False), dtype=np.int64)
    return lookup[pos_np]


def _arr_code(v: str | None) -> str | None:
    if v is None:
        return None
    s = v.strip()
    if s in S.ARRONDISSEMENT_CODES:
        return s
    if s in _POSTAL:
        return _POSTAL[s]
    m = re.fullmatch(r"(?i)(?:lyon\s*)?0?([1-9])\s*(?:e|er|ème|eme)?(?:\s*arrondissement)?", s)
    return f"6938{m.group(1)}" if m else None


@dataclass
class Mapped:
    table: pa.Table  # canonical columns known after mapping (no location yet), plus helper columns
    declared: np.ndarray  # declared arrondissement as an index into ARRONDISSEMENT_CODES (-1 = none)
    wall: pa.Array  # occurred_at as naive Paris wall-clock time (for year and day)
    problems: Problems
    unmapped: dict[str, int]
    notes: list[str]


def normalised_ids(raw: pa.Table, profile: Profile) -> pa.ChunkedArray:
    """The partner's ids as keys are built from them: trimmed, and Excel's integer ids written 12.0 read as 12
    (the same incident must get the same key). Empty stays empty."""
    ids = pc.utf8_trim_whitespace(raw[profile.id_column])
    if not pc.any(pc.match_substring(ids, ".")).as_py():
        return ids  # no dot, nothing the pattern could rewrite (the substring test is ~3× cheaper than the regex)
    return pc.replace_substring_regex(ids, r"^(\d+)\.0+$", r"\1")


def map_ids(raw: pa.Table, profile: Profile, given: pa.ChunkedArray | pa.Array | None = None) -> tuple[pa.ChunkedArray | pa.Array, Problems, list[str]]:
    """The partner's id; where it is blank (or when there is none) one built from ``build_from`` columns.

    With ``number_identical_rows`` the n-th row (n ≥ 2) whose built id repeats in the file gets ``<id>-n``: rows
    identical in every column are then distinct incidents (an open-data export with no id per record), and the
    same file read again gives the same ids.
    """
    n = raw.num_rows
    probs = Problems()
    notes: list[str] = []
    if given is None and profile.id_column:
        given = normalised_ids(raw, profile)
    blank = _empty(given) if given is not None else np.ones(n, dtype=bool)
    if not profile.build_from:
        probs.add(blank, profile.id_column, "identifiant manquant")
        return given, probs, notes
    if not blank.any():
        return given, probs, notes
    cols = [c for c in profile.build_from if c in raw.column_names]
    sub = raw if blank.all() else raw.filter(pa.array(blank))
    all_empty = np.ones(sub.num_rows, dtype=bool)
    for c in cols:
        all_empty &= _empty(pc.utf8_trim_whitespace(sub[c]))
    built = stable_ids(sub, tuple(cols))
    if profile.number_identical_rows and len(built):
        rank = pd.Series(built).groupby(built, sort=False).cumcount().to_numpy()
        repeated = rank > 0
        if repeated.any():
            built = built.copy()
            built[repeated] = [f"{b}-{r + 1}" for b, r in zip(built[repeated], rank[repeated])]
            notes.append(f"{int(repeated.sum())} ligne(s) identique(s) à une ligne précédente du fichier gardée(s) comme incident(s) distinct(s) "
                         "(number_identical_rows) : identifiant numéroté")
    empty_mask = np.zeros(n, dtype=bool)
    empty_mask[np.flatnonzero(blank)[all_empty]] = True
    where = profile.id_column if profile.id_column else profile.build_from[0]
    probs.add(empty_mask, where, "identifiant manquant et aucune valeur pour le construire" if profile.id_column else "aucune valeur pour construire l'identifiant")
    if given is None:
        return pa.array(built, type=pa.string()), probs, notes
    out = np.asarray(given.to_numpy(zero_copy_only=False), dtype=object)
    out[blank] = built
    notes.append(f"{int(blank.sum())} ligne(s) sans {profile.id_column} : identifiant construit à partir de {', '.join(profile.build_from)}")
    return pa.array(out, type=pa.string()), probs, notes


def _map_times(raw: pa.Table, profile: Profile, extracted_at: datetime, times: TimeFields | None = None) -> tuple[pa.ChunkedArray, np.ndarray, pa.Array, Problems]:
    """The time fields of ``map_rows`` and their problems (unreadable, after the extraction, before 1990);
    ``times``: already parsed (:func:`parse_time_fields`, rows in the order of ``raw``)."""
    n = raw.num_rows
    probs = Problems()
    if times is None:
        times = parse_time_fields(raw, profile)
    occurred, precision, bad_time, wall = times.occurred, times.precision, times.bad, times.wall
    if bad_time.any():
        probs.add(bad_time, profile.time_column, times.reasons)
    occ_np = occurred.cast(pa.timestamp("us", tz="UTC")).to_numpy(zero_copy_only=False) if n else np.array([], dtype="datetime64[us]")
    occ_ok = ~bad_time
    # A fact dated after its extraction is impossible: usually day and month swapped (or a typo in the year).
    limit = np.datetime64(extracted_at.replace(tzinfo=None), "us") + np.timedelta64(2, "D")
    future = occ_ok & (occ_np > limit)
    probs.add(future, profile.time_column, "date postérieure à l'extraction (jour et mois inversés ?)")
    old = occ_ok & (occ_np < np.datetime64(EARLIEST, "us"))
    probs.add(old, profile.time_column, "date antérieure à 1990")

    return occurred, precision, wall, probs


def map_rows(raw: pa.Table, profile: Profile, *, id_prefix: str = "", extracted_at: datetime, now: datetime, times: TimeFields | None = None,
             given_ids: pa.ChunkedArray | pa.Array | None = None) -> Mapped:
    """Profile columns → canonical fields; problems collected for every row at once.

    ``times`` (the parsed time fields) and ``given_ids`` (:func:`normalised_ids`), both in the order of ``raw``,
    may come from the caller, which then need not hand over the raw date and id columns."""
    n = raw.num_rows
    probs = Problems()
    notes: list[str] = []
    # The time fields are parsed in a worker thread while the other fields are mapped here (Arrow kernels release
    # the GIL); their problems are added after the id's and before the later checks', as when run in sequence.
    pool = ThreadPoolExecutor(max_workers=1)
    times_future = pool.submit(_map_times, raw, profile, extracted_at, times)
    # id
    ids, id_probs, id_notes = map_ids(raw, profile, given_ids)
    probs.extend(id_probs)
    notes += id_notes
    if id_prefix:
        ids = prefixed(ids, f"{id_prefix}-")
    keys = prefixed(ids, f"{profile.name}:")

    try:
        later = Problems()
        # label
        label = pc.utf8_trim_whitespace(raw[profile.label_column])
        no_label = _empty(label)
        later.add(no_label, profile.label_column, "libellé manquant")
        known = list(profile.labels)
        idx = pc.index_in(label, value_set=pa.array(known, type=pa.string()))
        if known and pc.sum(pc.is_null(idx)).as_py():
            # Second chance, tolerant of case and accents (partners retype labels); still never a fuzzy guess.
            folded = {normalise_name(k): v for k, v in profile.labels.items()}
            uniq = pc.unique(pc.filter(label, pc.is_null(idx))).to_pylist()
            extra = {u: folded[normalise_name(u)] for u in uniq if u and normalise_name(u) in folded}
            if extra:
                known = known + list(extra)
                cats_list = list(profile.labels.values()) + list(extra.values())
                idx = pc.index_in(label, value_set=pa.array(known, type=pa.string()))
            else:
                cats_list = list(profile.labels.values())
        else:
            cats_list = list(profile.labels.values())
        # Category and family from integer codes (label → category → family), never by hashing a million strings.
        cat_codes = list(S.categories())
        fam_codes = [S.categories()[c].family for c in cat_codes]
        label_cat = np.array([cat_codes.index(c) if c in cat_codes else cat_codes.index(S.NON_CLASSE) for c in cats_list] + [cat_codes.index(S.NON_CLASSE)], dtype=np.int32)
        idx_np = np.asarray(pc.fill_null(idx, len(cats_list)).to_numpy(zero_copy_only=False), dtype=np.int64) if known else np.full(n, len(cats_list), dtype=np.int64)
        cat_idx = label_cat[idx_np]
        category = pc.take(pa.array(cat_codes, type=pa.string()), pa.array(cat_idx))
        unmapped_mask = _np_bool(pc.is_null(idx)) & ~no_label if known else ~no_label
        unmapped: dict[str, int] = {}
        if unmapped_mask.any():
            vc = pc.value_counts(pc.filter(label, pa.array(unmapped_mask))).to_pylist()
            unmapped = {d["values"]: int(d["counts"]) for d in sorted(vc, key=lambda d: (-d["counts"], d["values"]))}
        family = pc.take(pa.array(fam_codes, type=pa.string()), pa.array(cat_idx))

        # n_facts
        facts = np.ones(n, dtype=np.int32)
        if profile.n_facts and profile.n_facts in raw.column_names:
            vals, bad = parse_numbers(raw[profile.n_facts], ".")
            nonint = np.isfinite(vals) & ((vals < 1) | (np.mod(vals, 1) != 0) | (vals > 1e6))
            later.add(bad | nonint, profile.n_facts, "nombre de faits invalide (entier ≥ 1 attendu)")
            facts = np.where(np.isfinite(vals) & ~nonint, vals, 1).astype(np.int32)

        def opt(name: str | None) -> pa.Array:
            col = _text(raw, name)
            return _null_if_empty(col) if col is not None else pa.nulls(n, pa.string())

        place_name = opt(profile.place_name) if profile.place_name else (opt(profile.site) if profile.site else opt(profile.quarter))
        has_declared = bool(profile.arrondissement and profile.arrondissement in raw.column_names)
        declared_text = pc.utf8_trim_whitespace(raw[profile.arrondissement]) if has_declared else None
        declared = normalise_arrondissement(declared_text) if has_declared else np.full(n, -1, dtype=np.int16)
        if has_declared:
            given = ~_empty(declared_text)
            unknown_arr = given & (declared < 0)
            if unknown_arr.any():
                notes.append(f"{int(unknown_arr.sum())} arrondissement(s) déclaré(s) non reconnu(s) (ni 6938x, ni 6900x, ni « Lyon 3 ») : laissé(s) vide(s)")

        occurred, precision, wall, time_probs = times_future.result()
    finally:
        pool.shutdown()
    probs.extend(time_probs)
    probs.extend(later)

    table = pa.table({
        S.INCIDENT_KEY: keys,
        S.SOURCE: repeat(profile.name, n),
        S.SOURCE_ID: ids,
        S.OCCURRED_AT: occurred,
        S.TIME_PRECISION: codes_array(precision, S.TIME_PRECISIONS) if n == 0 or (precision != precision[0]).any() else repeat(S.TIME_PRECISIONS[precision[0]], n),
        S.CATEGORY: category,
        S.FAMILY: family,
        S.RAW_LABEL: label,
        S.PLACE_TYPE: opt(profile.place_type),
        S.PLACE_NAME: place_name,
        S.DECLARED_ARRONDISSEMENT: codes_array(declared, S.ARRONDISSEMENT_CODES),
        S.N_FACTS: pa.array(facts, type=pa.int32()),
    })
    return Mapped(table, declared, wall, probs, unmapped, notes)
