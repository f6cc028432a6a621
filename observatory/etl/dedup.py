"""Deduplication: one incident key seen in several rows (of one file, of several files, of the published
snapshot) → new, revision or duplicate, and which version is published."""

from __future__ import annotations


import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from observatory import schema as S
from observatory import store
from observatory.labels import fmt_int


# Columns compared to tell an identical repeat from a revision (lineage columns differ between extracts).
CONTENT_COLUMNS = [c for c in S.INCIDENT_COLUMNS if c not in (S.INCIDENT_KEY, S.BATCH_ID, S.SOURCE_FILE, S.SOURCE_ROW, S.EXTRACTED_AT)]


def _keys_unique(keys: pa.ChunkedArray) -> bool:
    return len(pc.unique(keys)) == len(keys)  # unique() is ~4× faster than count_distinct here


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
