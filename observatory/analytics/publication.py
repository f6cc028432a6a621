"""The publication: what an élu can obtain for one year, built once per snapshot and protected jointly.

One hierarchical cube holds every count of the year an élu may see: geography (the nine arrondissements and
« non réparti », summing to the city 69123) × nomenclature (category → family → all) × period (month → year).
Every margin is a cell and every margin relation (city = Σ arrondissements, family = Σ categories, year = Σ
months) is a constraint of one :class:`~observatory.analytics.disclosure.CellSet`, so the tables cut from it
(city by category, arrondissements by family, months of a family in an arrondissement, the bilan's tables) are
protected together: no difference between two of them gives a hidden cell back.

Sensitive categories are published at the city level only: their facts are counted in « non réparti » (like
facts without a known arrondissement), so no arrondissement cell holds them and their city cell is the
« non réparti » cell (the attacker knows this rule; it adds nothing). Years are separate publications: no
published figure adds two years, so they share no constraint.

Files (beside the snapshot, under ``<data_dir>/processed/publications/<snapshot_id>/``):
``<year>-seuil<t>.cells.parquet`` (keys, true count, status), ``<year>-seuil<t>.relations.parquet`` (relation,
cell, coefficient) and ``<year>-seuil<t>.json`` (manifest: snapshot, threshold, counts of hidden cells, share of
the total hidden, build time). True counts are stored because the store is the analysts' side; élu views read
only the published value (:func:`published_cells`).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from scipy import sparse

from observatory import schema
from observatory.analytics import disclosure

VERSION = 1
UNALLOCATED = "inconnu"  # « non réparti »: sensitive categories and facts without a known arrondissement
ALL = "total"
YEAR = "annee"
TABLE = "ville × arrondissements × catégories × mois"
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


def publication_cells(counts: pd.DataFrame, year: int) -> disclosure.CellSet:
    """The year's cube as cells and relations (pure)."""
    categories = list(dict.fromkeys(list(schema.categories()) + sorted(set(counts["category"]) - set(schema.categories()))))
    frame, rels = disclosure.cube(micro_counts(counts, year), "n", hierarchies(categories), TABLE)
    return disclosure.cell_set([(frame, rels)])


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
        return disclosure.CellSet(self.cells["n"].to_numpy(float), a, np.ones(len(self.cells), dtype=bool), labels=self.cells)

    def status_codes(self) -> np.ndarray:
        return self.cells["status"].map(STATUS_CODES).to_numpy(dtype=np.int8)


def protect_year(counts: pd.DataFrame, year: int, min_count: int, snapshot_id: str = "") -> Publication:
    """Build and protect the year's publication (pure: no file)."""
    t0 = time.perf_counter()
    cs = publication_cells(counts, year)
    result = disclosure.suppress(cs, min_count)
    elapsed = time.perf_counter() - t0
    cells = cs.labels[["table", "geo", "nomenclature", "period", "n"]].copy()
    cells["status"] = [disclosure.STATUS_NAMES[int(s)] for s in result.status]
    rows = cs.equalities.tocoo()
    relations = pd.DataFrame({"relation": rows.row.astype("int64"), "cell": rows.col.astype("int64"), "coef": rows.data})
    grand = cells[(cells["geo"] == schema.CITY_CODE) & (cells["nomenclature"] == ALL) & (cells["period"] == YEAR)]["n"].sum()
    hidden_leaf = cs.labels["leaf"].to_numpy(dtype=bool) & cells["status"].ne("").to_numpy()
    manifest = {
        "version": VERSION, "year": year, "min_count": min_count, "snapshot_id": snapshot_id,
        "cells": int(len(cells)), "primary": result.n_primary, "secondary": result.n_secondary,
        "unprotected": int(len(result.unprotected)),
        "total_count": int(grand),
        "hidden_share": float(cells.loc[hidden_leaf, "n"].sum() / grand) if grand else 0.0,
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


def publication_for(settings, year: int, analytics=None, rebuild: bool = False) -> Publication:  # noqa: ANN001
    """The stored publication of ``year`` for the current snapshot and ``settings.min_count``; built when absent."""
    from observatory.analytics.engine import get_analytics

    an = analytics or get_analytics(settings)
    folder = publication_dir(settings, str(an.snapshot_id))
    pub = None if rebuild else read(folder, year, settings.min_count)
    if pub is None:
        pub = protect_year(year_counts(an), year, settings.min_count, str(an.snapshot_id))
        write(pub, folder)
    return pub


def audit_publication(pub: Publication) -> pd.DataFrame:
    """The LP attack on a stored publication: every hidden cell with its keys and narrowest interval."""
    cs = pub.cell_set()
    res = disclosure.audit(cs, pub.status_codes(), pub.min_count)
    keys = pub.cells.iloc[res["cell"].to_numpy()][["table", "geo", "nomenclature", "period"]].reset_index(drop=True)
    return pd.concat([keys, res.reset_index(drop=True)], axis=1)
