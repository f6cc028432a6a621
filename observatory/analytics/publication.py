"""The publication: what an élu can obtain for one year, built once per snapshot and protected jointly.

Three tables, sharing their common cells, hold every count of the year an élu may see:
- **annual**: territory (the city 69123, the nine arrondissements, « non réparti ») × nomenclature (category →
  family → all);
- **monthly**: territory × family (and all) × month, whose year total is the annual family cell;
- **zones** (:mod:`observatory.analytics.publication_zones`): the bilan's zone tables (each zone in the city and
  its part in each arrondissement, all non-sensitive categories together), linked to the territories' totals
  through internal disjoint parts (zones overlap each other and the arrondissements).
Every margin is a cell and every margin relation (city = Σ arrondissements + non réparti, family = Σ categories,
all = Σ families, year = Σ months) is a constraint of one :class:`~observatory.analytics.disclosure.CellSet`,
so the views cut from it (the city and arrondissement bilans, the monthly series, the map by arrondissement) are
protected together: no difference between two of them gives a hidden cell back. Categories by month are not
published (élus see monthly series by family): that keeps the joint problem small (≈ 1 250 cells, a few
seconds to protect) where the full cube (≈ 4 600 cells, months × categories) took minutes.

What is not published, yet audited (an unpublished count of 1..t−1 must not be derivable more closely than a
« < t » would be):
- « non réparti » (facts without an arrondissement, and the sensitive categories) by month: élus see its
  year (the bilan's last row of arrondissements), not its months;
- anything below a count of 1..t−1 (its categories, months or arrondissements): such a split pins its parts
  whatever is hidden (two months of a « < 5 » are each at most 3), so it is not shown at all.

Sensitive categories are published at the city level only: their facts are counted in « non réparti », so no
arrondissement cell holds them (those cells do not exist). Years are separate publications: no published figure
adds two years, so they share no constraint.

Files (beside the snapshot, under ``<data_dir>/processed/publications/<snapshot_id>/``):
``<year>-seuil<t>.cells.parquet`` (keys, true count, status), ``<year>-seuil<t>.relations.parquet`` (relation,
cell, coefficient) and ``<year>-seuil<t>.json`` (manifest: snapshot, threshold, counts of hidden cells, share of
the total hidden, build time). True counts are stored because the store is the analysts' side; élu views read
only the published value (:func:`published_cells`).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from scipy import sparse

from observatory import schema
from observatory.analytics import disclosure, linked_tables
from observatory.analytics.publication_zones import (  # noqa: F401 - the zone tables are part of the publication's API
    PART_PREFIX,
    TABLE_ZONE_PARTS,
    TABLE_ZONES,
    ZONE_KINDS,
    ZONE_PREFIX,
    with_zones,
    zone_geo,
    zone_parts,
)

VERSION = 5
UNALLOCATED = "inconnu"  # « non réparti »: sensitive categories and facts without a known arrondissement
ALL = "total"
YEAR = "annee"
MONTHLY_WITHDRAWALS = 3  # rounds of withdrawing the months of territories that cannot be protected
TABLE_ANNUAL = "annuel : territoire × catégorie"
TABLE_MONTHLY = "mensuel : territoire × famille × mois"
STATUS_CODES = {"": disclosure.PUBLISHED, "primary": disclosure.PRIMARY, "secondary": disclosure.SECONDARY,
                "internal": disclosure.INTERNAL}


def hierarchies(categories: list[str]) -> dict[str, dict[str, str | None]]:
    geo = {code: schema.CITY_CODE for code in schema.ARRONDISSEMENT_CODES} | {UNALLOCATED: schema.CITY_CODE, schema.CITY_CODE: None}
    fams = {schema.category_family(c) for c in categories}
    nom = {c: schema.category_family(c) for c in categories} | {f: ALL for f in fams} | {ALL: None}
    per = {f"{m:02d}": YEAR for m in range(1, 13)} | {YEAR: None}
    return {"geo": geo, "nomenclature": nom, "period": per}


def micro_counts(counts: pd.DataFrame, year: int) -> pd.DataFrame:
    """Finest counts of ``year`` (columns geo, nomenclature, period, n) from ``year, month, arrondissement, category, n``."""
    c = counts[counts["year"] == year]
    sensitive = c["category"].isin(schema.sensitive_categories())
    located = c["arrondissement"].isin(schema.ARRONDISSEMENT_CODES)
    out = pd.DataFrame({
        "geo": c["arrondissement"].where(located & ~sensitive, UNALLOCATED).astype(object),
        "nomenclature": c["category"].astype(object),
        "period": [f"{int(m):02d}" for m in c["month"]],
        "n": c["n"].astype("int64"),
    })
    return out.groupby(["geo", "nomenclature", "period"], as_index=False)["n"].sum()


def publication_cells(counts: pd.DataFrame, year: int, threshold: int, zones: pd.DataFrame | None = None) -> disclosure.CellSet:
    """The year's tables as one set of cells and relations (pure).

    Two cubes share their common cells (territory × family × year and above):
    - annual: territory (city, arrondissements, « non réparti ») × nomenclature (categories, families, all);
    - monthly: territory × family (and all) × month, with the year as their total.
    Categories by month are not published (élus see monthly series by family), which is what keeps the joint
    problem small. Arrondissement cells of a sensitive category do not exist (those facts are in « non réparti »).
    ``zones`` (:func:`zone_parts`): the bilan's zone tables are added with their relations (:func:`with_zones`).
    """
    categories = list(dict.fromkeys(list(schema.categories()) + sorted(set(counts["category"]) - set(schema.categories()))))
    h = hierarchies(categories)
    micro = micro_counts(counts, year)
    annual, annual_rel = linked_tables.cube(micro.assign(period=YEAR), "n", {"geo": h["geo"], "nomenclature": h["nomenclature"],
                                                                         "period": {YEAR: None}}, TABLE_ANNUAL)
    # A family may share its code with its only category (escroqueries): the hierarchy holds it once, as a family.
    family_of = {c: schema.category_family(c) for c in categories}
    fam_h = {f: ALL for f in family_of.values()} | {ALL: None}
    by_family = micro.assign(nomenclature=micro["nomenclature"].map(family_of))
    monthly, monthly_rel = linked_tables.cube(by_family, "n", {"geo": h["geo"], "nomenclature": fam_h, "period": h["period"]}, TABLE_MONTHLY)
    frame = pd.concat([annual, monthly], ignore_index=True)
    keys = ["geo", "nomenclature", "period"]
    # One id per (geo, nomenclature, period): the annual family cells are the monthly cubes' year totals.
    first = frame.groupby(keys, sort=False).ngroup().to_numpy()
    sensitive = schema.sensitive_categories()
    drop_key = frame["geo"].isin(schema.ARRONDISSEMENT_CODES).to_numpy() & frame["nomenclature"].isin(sensitive).to_numpy()
    keep_rows = ~pd.Series(first).duplicated().to_numpy() & ~drop_key
    new_id = np.full(first.max() + 1, -1)
    new_id[first[keep_rows]] = np.arange(keep_rows.sum())
    cells = frame[keep_rows].reset_index(drop=True)
    cells.loc[cells["period"] != YEAR, "table"] = TABLE_MONTHLY
    cells.loc[cells["period"] == YEAR, "table"] = TABLE_ANNUAL
    relations, seen = [], set()
    offset = len(annual)
    for base, rels in ((0, annual_rel), (offset, monthly_rel)):
        for ids, coef in rels:
            gid = new_id[first[ids + base]]
            keep = gid >= 0  # structural zeros (arrondissement × sensitive category) leave the relation
            gid, c = gid[keep], coef[keep]
            if len(gid) < 2:
                continue
            key = tuple(sorted(zip(gid.tolist(), c.tolist())))
            if key in seen:
                continue
            seen.add(key)
            relations.append((gid, c))
    cells["published"] = True
    if zones is not None:
        cells, relations = with_zones(cells, relations, zones, year)
    cells["published"] = _published(cells, relations, threshold) & cells["published"].to_numpy(dtype=bool)
    return linked_tables.cell_set([(cells, [])], shared=relations)


def _published(cells: pd.DataFrame, relations: list[tuple[np.ndarray, np.ndarray]], threshold: int) -> np.ndarray:
    """Which cells are shown: not « non réparti », and nothing broken down below a count of 1..t−1.

    « Non réparti » (what the city has beyond its arrondissements) is published for the year, as the bilan's
    last row, but not by month (its months are a handful of facts; they still count, unpublished, in the
    audit). A count below the threshold is published as « < t » and not split further (its
    categories, its months, its arrondissements): a split of a small count pins its parts (two months of a
    « < 5 » are each at most 3 whatever is hidden). The children of such a cell are unpublished, recursively.
    """
    v = cells["n"].to_numpy()
    shown = (cells["geo"].ne(UNALLOCATED) | cells["period"].eq(YEAR)).to_numpy()
    below_small = np.zeros(len(cells), dtype=bool)
    changed = True
    while changed:
        changed = False
        for ids, coef in relations:
            parent, children = ids[coef > 0], ids[coef < 0]
            if len(parent) != 1:
                continue
            p = parent[0]
            if ((1 <= v[p] < threshold) or below_small[p]) and not below_small[children].all():
                below_small[children] = True
                changed = True
    return shown & ~below_small


@dataclass
class Publication:
    year: int
    min_count: int
    cells: pd.DataFrame  # table, geo, nomenclature, period, n, status ("", primary, secondary)
    relations: pd.DataFrame  # relation, cell, coef
    manifest: dict

    def cell_set(self) -> disclosure.CellSet:
        rel = self.relations
        n_rel = int(rel["relation"].max()) + 1 if len(rel) else 0
        a = sparse.csr_matrix((rel["coef"].to_numpy(float), (rel["relation"].to_numpy(), rel["cell"].to_numpy())), shape=(n_rel, len(self.cells)))
        published = self.cells["status"].ne("internal").to_numpy()
        return disclosure.CellSet(self.cells["n"].to_numpy(float), a, published, labels=self.cells)

    def status_codes(self) -> np.ndarray:
        return self.cells["status"].map(STATUS_CODES).to_numpy(dtype=np.int8)


def finest(cells: pd.DataFrame) -> np.ndarray:
    """Cells at the finest published level of each table (what the share of hidden facts is measured on)."""
    arr = cells["geo"].isin(schema.ARRONDISSEMENT_CODES).to_numpy()
    nom = cells["nomenclature"]
    category = nom.isin(set(schema.categories())).to_numpy() | ~nom.isin(_families() | {ALL}).to_numpy()
    sensitive_city = (cells["geo"].eq(schema.CITY_CODE) & nom.isin(schema.sensitive_categories())).to_numpy()
    annual = cells["period"].eq(YEAR).to_numpy() & ((arr & category) | sensitive_city)
    monthly = cells["period"].ne(YEAR).to_numpy() & arr & nom.ne(ALL).to_numpy()
    return annual | monthly


def _families() -> set[str]:
    return {schema.category_family(c) for c in schema.categories()}


def information_loss(cells: pd.DataFrame) -> dict:
    """Hidden cells per table (primary, complementary) and the share of the year's facts they hold.

    The share is measured on the finest cells of each table (hidden or left unpublished) (arrondissement × category for the year,
    with the sensitive categories at the city; arrondissement × family × month), against the year's total.
    """
    grand = int(cells.loc[(cells["geo"] == schema.CITY_CODE) & (cells["nomenclature"] == ALL) & (cells["period"] == YEAR), "n"].sum())
    fine = finest(cells)
    out = {"total_count": grand, "tables": {}}
    for table, part in cells.groupby("table", sort=False):
        f = fine[part.index.to_numpy()]
        hidden = part["status"].isin(["primary", "secondary", "internal"]).to_numpy()  # internal: not published
        out["tables"][table] = {
            "cells": int((part["status"] != "internal").sum()),
            "primary": int((part["status"] == "primary").sum()),
            "secondary": int((part["status"] == "secondary").sum()),
            "hidden_share": float(part.loc[f & hidden, "n"].sum() / grand) if grand else 0.0,
        }
    # Zones: the share of the zone × arrondissement counts (a fact in two zones counts in both, as in the bilan)
    # that élus do not read.
    pieces = cells[(cells["table"] == TABLE_ZONES) & cells["geo"].str.contains("@", regex=False)
                   & ~cells["geo"].str.endswith(f"@{UNALLOCATED}")]
    zone_total = int(pieces["n"].sum())
    hidden_pieces = pieces["status"].isin(["primary", "secondary", "internal"])
    out["zones_hidden_share"] = float(pieces.loc[hidden_pieces, "n"].sum() / zone_total) if zone_total else 0.0
    return out


def protect_year(counts: pd.DataFrame, year: int, min_count: int, snapshot_id: str = "", zones: pd.DataFrame | None = None) -> Publication:
    """Build and protect the year's publication (pure: no file); ``zones`` as :func:`zone_parts` gives them."""
    t0 = time.perf_counter()
    cs = publication_cells(counts, year, min_count, zones)
    result = disclosure.suppress(cs, min_count)
    withdrawn: list[str] = []
    for _ in range(MONTHLY_WITHDRAWALS):
        # Too few facts to protect a territory's months (two families of 4 in a month of 8 pin each other
        # whatever is hidden): that territory's monthly series are not published at all, and the year is
        # protected again. Its months still count, unpublished, in the audit.
        labels = cs.labels
        bad = labels.iloc[result.unprotected]
        geos = sorted(set(bad.loc[bad["period"] != YEAR, "geo"]) - set(withdrawn))
        if not geos:
            break
        withdrawn += geos
        off = (labels["period"] != YEAR).to_numpy() & labels["geo"].isin(geos).to_numpy()
        cs = disclosure.CellSet(cs.values, cs.equalities, cs.published & ~off, labels=labels.assign(published=cs.published & ~off))
        result = disclosure.suppress(cs, min_count)
    elapsed = time.perf_counter() - t0
    cells = cs.labels[["table", "geo", "nomenclature", "period", "n"]].copy()
    cells["status"] = [disclosure.STATUS_NAMES[int(s)] for s in result.status]
    rows = cs.equalities.tocoo()
    relations = pd.DataFrame({"relation": rows.row.astype("int64"), "cell": rows.col.astype("int64"), "coef": rows.data})
    loss = information_loss(cells)
    manifest = {
        "version": VERSION, "year": year, "min_count": min_count, "snapshot_id": snapshot_id,
        "cells": int((cells["status"] != "internal").sum()), "primary": result.n_primary, "secondary": result.n_secondary,
        "unprotected": int(len(result.unprotected)),
        "monthly_withdrawn": withdrawn,  # territories whose months could not be protected, hence not published
        "total_count": loss["total_count"],
        # Share of the year's facts in hidden finest cells, per table (the two tables count the same facts).
        "hidden_share_annual": loss["tables"].get(TABLE_ANNUAL, {}).get("hidden_share", 0.0),
        "hidden_share_monthly": loss["tables"].get(TABLE_MONTHLY, {}).get("hidden_share", 0.0),
        "hidden_share_zones": loss["zones_hidden_share"],
        "tables": loss["tables"],
        "lp_solved": result.lp_solved, "build_seconds": round(elapsed, 2),
    }
    return Publication(year, min_count, cells, relations, manifest)


# Files ----------------------------------------------------------------------------------------------------------
def publication_dir(settings, snapshot_id: str) -> Path:  # noqa: ANN001 - Settings
    return settings.processed_dir / "publications" / snapshot_id


def _stem(year: int, min_count: int) -> str:
    return f"{year}-seuil{min_count}"


def write(pub: Publication, folder: Path) -> None:
    from observatory.fileio import atomic_write

    folder.mkdir(parents=True, exist_ok=True)
    stem = _stem(pub.year, pub.min_count)
    pq.write_table(pa.Table.from_pandas(pub.cells, preserve_index=False), folder / f"{stem}.cells.parquet")
    pq.write_table(pa.Table.from_pandas(pub.relations, preserve_index=False), folder / f"{stem}.relations.parquet")
    # The manifest last: a publication without its manifest is rebuilt.
    atomic_write(folder / f"{stem}.json", json.dumps(pub.manifest, ensure_ascii=False, indent=1).encode())


def read(folder: Path, year: int, min_count: int) -> Publication | None:
    stem = _stem(year, min_count)
    man = folder / f"{stem}.json"
    if not man.exists():
        return None
    manifest = json.loads(man.read_text(encoding="utf-8"))
    if manifest.get("version") != VERSION:
        return None
    cells = pq.read_table(folder / f"{stem}.cells.parquet").to_pandas()
    cells["status"] = cells["status"].fillna("").astype(object)
    relations = pq.read_table(folder / f"{stem}.relations.parquet").to_pandas()
    return Publication(year, min_count, cells, relations, manifest)


def year_counts(analytics) -> pd.DataFrame:  # noqa: ANN001 - Analytics
    """Counts by year, month, arrondissement and category of the analytics' snapshot."""
    from observatory.analytics import Filters

    df = analytics.counts(Filters(), by=("year", "month", "arrondissement", "category")).rename(columns={"count": "n"})
    df["month"] = pd.to_datetime(df["month"]).dt.month
    df["arrondissement"] = df["arrondissement"].astype(object).where(df["arrondissement"].notna(), None)
    return df


def publication_for(settings, year: int, analytics, rebuild: bool = False) -> Publication:  # noqa: ANN001
    """The stored publication of ``year`` for the snapshot of ``analytics`` and ``settings.min_count``; built when absent."""
    an = analytics
    folder = publication_dir(settings, str(an.snapshot_id))
    pub = None if rebuild else read(folder, year, settings.min_count)
    if pub is None:
        counts, zones = year_counts(an), zone_parts(an)
        pub = None if rebuild else _memo_get(counts, year, settings.min_count, zones)
        if pub is None:
            pub = protect_year(counts, year, settings.min_count, str(an.snapshot_id), zones)
            _memo_put(counts, year, settings.min_count, pub, zones)
        else:
            pub = Publication(pub.year, pub.min_count, pub.cells, pub.relations, pub.manifest | {"snapshot_id": str(an.snapshot_id)})
        write(pub, folder)
    return pub


# A publication is a pure function of the year's counts and the threshold: the same counts under another snapshot
# id or data folder (a re-published snapshot, test folders) reuse it instead of solving the LPs again.
_MEMO: OrderedDict = OrderedDict()
_MEMO_LOCK = threading.Lock()
_MEMO_SIZE = 32


def _digest(counts: pd.DataFrame, year: int, min_count: int, zones: pd.DataFrame | None = None) -> str:
    part = counts[counts["year"] == year].sort_values(["month", "arrondissement", "category"], na_position="first")
    body = pd.util.hash_pandas_object(part[["month", "arrondissement", "category", "n"]].astype(str), index=False).to_numpy().tobytes()
    if zones is not None:
        # Every year's zone parts count (which combinations exist), and the zones themselves.
        z = zones.sort_values(["year", "arrondissement", "signature"], na_position="first")
        body += pd.util.hash_pandas_object(z[["year", "arrondissement", "signature", "n"]].astype(str), index=False).to_numpy().tobytes()
        body += "|".join(zones.attrs.get("zone_ids", ())).encode()
    return hashlib.sha256(body + f"|{year}|{min_count}|{VERSION}".encode()).hexdigest()


def _memo_get(counts: pd.DataFrame, year: int, min_count: int, zones: pd.DataFrame | None = None) -> Publication | None:
    key = _digest(counts, year, min_count, zones)
    with _MEMO_LOCK:
        pub = _MEMO.get(key)
        if pub is not None:
            _MEMO.move_to_end(key)
        return pub


def _memo_put(counts: pd.DataFrame, year: int, min_count: int, pub: Publication, zones: pd.DataFrame | None = None) -> None:
    key = _digest(counts, year, min_count, zones)
    with _MEMO_LOCK:
        _MEMO[key] = pub
        while len(_MEMO) > _MEMO_SIZE:
            _MEMO.popitem(last=False)


# What élus read ---------------------------------------------------------------------------------------------------
ELU_STATUS = {"": "", "primary": "primary", "secondary": "secondary", "internal": "sensitive"}


def closed_years(first, last) -> tuple[int, ...]:  # noqa: ANN001 - dates or None
    """Years an élu may obtain, given the data's first and last day: those whose December is in the data
    (monthly extracts: a year with its December is complete). A year still filling is not one: every snapshot
    would publish it again, differently, and two snapshots' difference would give a month back."""
    if first is None or last is None:
        return ()
    last_closed = last.year if last.month == 12 else last.year - 1
    return tuple(range(first.year, last_closed + 1))


def elu_nomenclature(categories: tuple[str, ...], families: tuple[str, ...]) -> str | None:
    """The publication's nomenclature node for an élu's category filter: one category, one family, or all.

    None when the selection is not a node of the publication (two categories, a category and a family…): summing
    published cells of one's choice is what opened the map(A + B) − map(B) attack.
    """
    if len(categories) == 1 and not families:
        return categories[0]
    if len(families) == 1 and not categories:
        return families[0]
    if not categories and not families:
        return ALL
    return None


def arrondissement_counts(pub: Publication, nomenclature: str = ALL) -> pd.DataFrame:
    """One row per arrondissement: ``arrondissement``, ``count`` (None where hidden), ``status`` ("", "primary",
    "secondary", "sensitive") — the published year's cells of one nomenclature node, as élus may read them.

    A sensitive category has no arrondissement cell (city level only): every row reads « n.d. ».
    """
    cells = pub.cells[(pub.cells["period"] == YEAR) & (pub.cells["nomenclature"] == nomenclature)].set_index("geo")
    rows = []
    for code in schema.ARRONDISSEMENT_CODES:
        if code in cells.index:
            st = ELU_STATUS[cells.at[code, "status"]]
            rows.append({"arrondissement": code, "count": None if st else int(cells.at[code, "n"]), "status": st})
        else:
            rows.append({"arrondissement": code, "count": None, "status": "sensitive"})
    out = pd.DataFrame(rows)
    out["count"] = out["count"].astype("Int64")
    return out


def monthly_by_arrondissement(pubs: list[Publication], family: str = ALL) -> pd.DataFrame:
    """``month`` (first day), ``arrondissement``, ``count`` (None where withheld), ``status``: the publications'
    monthly cells of one family (or all) by arrondissement, as élus may read them.

    Months below a yearly « < t » are not published (see :func:`_published`): they read « n.d. » (sensitive).
    """
    rows = []
    for pub in pubs:
        c = pub.cells[(pub.cells["period"] != YEAR) & (pub.cells["nomenclature"] == family) & pub.cells["geo"].isin(schema.ARRONDISSEMENT_CODES)]
        for geo, period, n, st in zip(c["geo"], c["period"], c["n"], c["status"]):
            status = ELU_STATUS[st]
            rows.append({"month": pd.Timestamp(pub.year, int(period), 1), "arrondissement": geo, "count": None if status else int(n), "status": status})
    out = pd.DataFrame(rows, columns=["month", "arrondissement", "count", "status"])
    out["count"] = out["count"].astype("Int64")
    return out.sort_values(["month", "arrondissement"], kind="stable").reset_index(drop=True)


def ensure_all(settings, analytics) -> list[int]:  # noqa: ANN001
    """Build and store the publication of every year of the snapshot of ``analytics`` that has none yet; the years built.
    (The caller passes the analytics: this module is imported by the engine facade, never the reverse.)"""
    an = analytics
    counts, zones = year_counts(an), zone_parts(an)
    folder = publication_dir(settings, str(an.snapshot_id))
    built = []
    for year in sorted(int(y) for y in counts["year"].unique()):
        if read(folder, year, settings.min_count) is None:
            write(protect_year(counts, year, settings.min_count, str(an.snapshot_id), zones), folder)
            built.append(year)
    return built


def audit_publication(pub: Publication) -> pd.DataFrame:
    """The LP attack on a stored publication: every hidden cell with its keys and narrowest interval."""
    cs = pub.cell_set()
    res = disclosure.audit(cs, pub.status_codes(), pub.min_count)
    keys = pub.cells.iloc[res["cell"].to_numpy()][["table", "geo", "nomenclature", "period"]].reset_index(drop=True)
    return pd.concat([keys, res.reset_index(drop=True)], axis=1)
