"""Adapters between the reports and the one privacy rule, :func:`observatory.analytics.privacy.protect`.

No suppression logic lives here: every decision (which cell is hidden, why) is taken by ``privacy.protect``.
This module only
- tells ``protect`` which lines of a report table are published (``with_total``/``group_by``), by cutting the
  table into the pieces whose column totals the report prints;
- reads back ``attrs["status"]`` as a ``<col>_status`` column beside the counts, because the diagnostic still
  needs the true counts to run its tests (it never prints one without :func:`cell_text`);
- says how a protected cell reads (:func:`cell_text`) and builds the publication copy of an export table
  (:func:`protect_for_export`).

Statuses: ``""`` published, ``"primary"`` (1..min_count−1, "< 5"), ``"secondary"`` (complementary, "s"),
``"sensitive"`` (a sensitive category below the city, "n.d."). A table restricted to one arrondissement passes
``geography=<code>``: ``protect`` then moves the sensitive categories' rows to the city (its documented rule), and
those rows read "n.d." here since their count cannot be published for that arrondissement.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator, Sequence

import pandas as pd

from observatory import schema
from observatory.analytics.privacy import PRIMARY, SECONDARY, SECRET_TEXT, SENSITIVE, SENSITIVE_TEXT, protect
from observatory.labels import fmt_int

ENGINE = "observatory.analytics.privacy.protect"  # for developers; never printed in a user's file (see rule_name)
HIDDEN = (PRIMARY, SECONDARY, SENSITIVE)
_ROW = "__row__"


def rule_name(min_count: int) -> str:
    """The privacy rule as a reader of an exported file or of the report understands it (no module path)."""
    return f"règle de secret statistique de l'observatoire (seuil {min_count}, suppression complémentaire)"

__all__ = ["ENGINE", "HIDDEN", "rule_name", "PRIMARY", "SECONDARY", "SENSITIVE", "cell_text", "hidden", "protect_for_export", "protect_table",
           "published_value", "PublishedCounts", "published_counts", "publication_source"]


# The year's publication as the source of every status -------------------------------------------------------
class PublishedCounts:
    """The stored publications of some years, read by the tables of one bilan (the city, or one arrondissement).

    A table whose cells are cells of the publication (territory × family/category/all × year, the value
    columns being years: ``columns`` maps "current"/"previous" to theirs, and a column named by a year is that
    year) takes its statuses from the publication instead of being protected on its own: every table of
    every bilan (the city's and the nine arrondissements') then hides exactly what the jointly audited
    publication hides, so no difference across tables or pages gives a hidden cell back. The bilan's zone tables
    (``zone_id`` rows, all categories together) read the publication's zone cells: the zone in the city's bilan,
    its part in the arrondissement in an arrondissement's. A table that is not made of publication cells (grid
    cells, sources, a count that differs from the stored one) returns None and is protected on its own
    (``fallbacks`` counts them, for tests and logs).
    """

    NOT_PUBLICATION_KEYS = {"zone", "grid_cell", "cell_id", "iris", "place_name", "quarter_name", "source", "month"}
    STATUS = {"": "", "primary": PRIMARY, "secondary": SECONDARY, "internal": SENSITIVE}

    def __init__(self, publications: dict, geography: str | None = None, columns: dict[str, int] | None = None) -> None:
        from observatory.analytics.publication import YEAR

        self.cells: dict[int, dict[tuple[str, str], tuple[int, str]]] = {}
        for y, pub in publications.items():
            c = pub.cells[pub.cells["period"] == YEAR]
            self.cells[int(y)] = dict(zip(zip(c["geo"], c["nomenclature"]), zip(c["n"].astype("int64").tolist(), c["status"])))
        self.geography = geography or schema.CITY_CODE
        self.columns = dict(columns or {})
        self.fallbacks = 0
        self.served = 0

    def year_of(self, column: str) -> int | None:
        if column in self.columns:
            return self.columns[column]
        text = str(column)
        return int(text) if text.isdigit() and int(text) in self.cells else None

    def statuses(self, df: pd.DataFrame, value_cols: list[str], geography: str | None) -> pd.DataFrame | None:
        """Statuses of ``df[value_cols]`` read from the publication, or None when the table is not made of its cells."""
        from observatory.analytics.publication import ALL, zone_geo

        years = [self.year_of(c) for c in value_cols]
        if any(y is None or y not in self.cells for y in years) or self.NOT_PUBLICATION_KEYS & set(df.columns):
            self.fallbacks += 1
            return None
        if "zone_id" in df.columns:
            if {"arrondissement", "category", "family"} & set(df.columns):
                self.fallbacks += 1  # zones by category or by territory column are not in the publication
                return None
            place = geography or self.geography
            geo = [zone_geo(str(z), place) for z in df["zone_id"]]
        elif "arrondissement" in df.columns:
            geo = df["arrondissement"].astype(object).where(df["arrondissement"].notna(), "inconnu").astype(str).tolist()
        else:
            geo = [geography or self.geography] * len(df)
        if "zone_id" in df.columns:
            nom = [ALL] * len(df)
        elif "category" in df.columns:
            nom = df["category"].astype(str).tolist()
        elif "family" in df.columns:
            nom = df["family"].astype(str).tolist()
        else:
            nom = [ALL] * len(df)
        out = pd.DataFrame("", index=df.index, columns=value_cols, dtype=object)
        sensitive = schema.sensitive_categories()
        for col, y in zip(value_cols, years):
            cells = self.cells[y]
            for idx, g, n, v in zip(df.index, geo, nom, df[col].fillna(0).astype("int64").tolist()):
                if n in sensitive and g != schema.CITY_CODE:
                    out.at[idx, col] = SENSITIVE  # published at the city level only (the publication has no such cell)
                    continue
                found = cells.get((g, n))
                if found is None:
                    if v == 0:  # a cell the publication does not hold is empty there (an unknown code, say)
                        continue
                    self.fallbacks += 1
                    return None
                if found[0] != v:  # not the stored count (another definition or snapshot): not this publication's cell
                    self.fallbacks += 1
                    return None
                out.at[idx, col] = self.STATUS[found[1]]
        self.served += 1
        return out


_PUBLISHED: ContextVar[PublishedCounts | None] = ContextVar("observatory_published_counts", default=None)


@contextmanager
def published_counts(source: PublishedCounts | None) -> Iterator[PublishedCounts | None]:
    """Within this block, :func:`protect_table` reads statuses from ``source`` where the table allows it."""
    token = _PUBLISHED.set(source)
    try:
        yield source
    finally:
        _PUBLISHED.reset(token)


def publication_source(settings, analytics, year: int, years: Sequence[int], geography: str | None = None) -> PublishedCounts:  # noqa: ANN001
    """The stored publications of ``years`` (built and stored when absent) for a bilan of ``year``."""
    from observatory.analytics import publication

    pubs = {int(y): publication.publication_for(settings, int(y), analytics) for y in sorted(set(years))}
    return PublishedCounts(pubs, geography, {"current": int(year), "previous": int(year) - 1})


def hidden(status: str) -> bool:
    return status in HIDDEN


def _statuses(part: pd.DataFrame, value_cols: list[str], min_count: int, geography: str | None) -> pd.DataFrame:
    """Statuses of one piece whose column totals are published, through ``privacy.protect``."""
    frame = part[[c for c in part.columns if c in value_cols or c == "category"]].copy()
    frame[_ROW] = part.index.to_numpy()
    below_city = geography is not None and geography != schema.CITY_CODE
    if below_city:
        frame["arrondissement"] = geography
        if "category" in frame.columns:
            # A sensitive count is hidden ("n.d.") here; handing it to protect as a small count makes protect find
            # its complementary cells too, so the published total cannot give it back by difference.
            sens = frame["category"].isin(schema.sensitive_categories())
            for col in value_cols:
                frame[col] = frame[col].mask(sens & (frame[col] > 0), 1)
    # Two years side by side are not summed anywhere in the reports: no row totals.
    prot = protect(frame, value_cols, min_count, row_totals=False, viewer_is_analyst=not below_city, as_text=False)
    status = prot.attrs["status"].copy()
    status.index = prot[_ROW].to_numpy()
    if below_city and "category" in frame.columns:
        # protect moved these rows to the city (sensitive categories): not publishable for this arrondissement.
        # Zeros stay published, like everywhere else: an empty cell reveals no one.
        moved = status.index[(prot["arrondissement"] == schema.CITY_CODE).to_numpy()]
        for col in value_cols:
            nonzero = moved[part.loc[moved, col].fillna(0).to_numpy() > 0]
            status.loc[nonzero, col] = SENSITIVE
    return status.loc[part.index]


def protect_table(
    df: pd.DataFrame,
    value_cols: list[str],
    min_count: int,
    with_total: bool = True,
    group_by: str | list[str] | None = None,
    geography: str | None = None,
) -> pd.DataFrame:
    """A copy of ``df`` (index reset) with a ``<col>_status`` column per value column.

    ``with_total``: each value column's total over the table (or over each ``group_by`` group) is published, so
    complementary suppression applies within it. Without a published total (zones overlap: no sum), each row
    is protected on its own (primary suppression only, since no line would give a hidden cell back).
    """
    value_cols = list(value_cols)
    out = df.copy().reset_index(drop=True)
    if out.empty:
        for col in value_cols:
            out[f"{col}_status"] = pd.Series([], dtype=object)
        return out
    source = _PUBLISHED.get()
    from_publication = source.statuses(out, value_cols, geography) if source is not None else None
    if from_publication is not None:
        for col in value_cols:
            out[f"{col}_status"] = from_publication[col].astype(object)
        return out
    if not with_total:
        pieces = [out.index[i : i + 1] for i in range(len(out))]
    elif group_by is None:
        pieces = [out.index]
    else:
        pieces = [pd.Index(idx) for idx in out.groupby(group_by, sort=False).indices.values()]
    status = pd.concat([_statuses(out.loc[idx], value_cols, min_count, geography) for idx in pieces]).loc[out.index]
    for col in value_cols:
        out[f"{col}_status"] = status[col].astype(object)
    return out


def cell_text(value: int | float, status: str, min_count: int) -> str:
    """How a protected count reads in every public output."""
    if status == PRIMARY:
        return f"< {min_count}"
    if status == SECONDARY:
        return SECRET_TEXT
    if status == SENSITIVE:
        return SENSITIVE_TEXT
    return fmt_int(int(value))


def published_value(value: int | float, status: str, min_count: int) -> int | str:
    """The count as an export carries it: the integer, or the text of the hidden cell ("< 5", "s", "n.d.")."""
    if hidden(status):
        return cell_text(value, status, min_count)
    return int(value)


def protect_for_export(
    df: pd.DataFrame,
    value_cols: list[str],
    min_count: int,
    with_total: bool = True,
    derived: Sequence[str] = (),
    geography: str | None = None,
) -> pd.DataFrame:
    """A publication copy of a count table: hidden cells become "< 5" / "s" / "n.d." (text), others stay integers.

    Mixed columns would break the typed XLSX columns, so a protected value column becomes text only when it has
    a hidden cell. ``derived`` columns (rates, densities) computed from a count are blanked where that count is
    hidden: a rate times a published population would give the count back.
    """
    prot = protect_table(df, list(value_cols), min_count, with_total=with_total, geography=geography)
    out = df.copy().reset_index(drop=True)
    any_hidden = pd.Series(False, index=out.index)
    for col in value_cols:
        any_hidden |= prot[f"{col}_status"].map(hidden)
    for col in derived:
        if col in out:
            out[col] = out[col].astype(object).where(~any_hidden, None)
    for col in value_cols:
        st = prot[f"{col}_status"]
        if st.map(hidden).any():
            out[col] = pd.Series([published_value(v, s, min_count) for v, s in zip(prot[col], st)], index=out.index, dtype=object)
        else:
            out[col] = prot[col].astype("int64")
    return out


# Public exports drawn from the publication (issue 15) -------------------------------------------------------------
def publication_export(pub, table: str, geo: str, node: str, population: pd.DataFrame | None = None) -> pd.DataFrame:  # noqa: ANN001
    """A public export table made only of the publication's cells (pure): ``table`` is "arrondissements"
    (territory × ``node``), "familles" / "categories" (the families or categories under ``node`` in ``geo``) or
    "mensuel" (``geo`` × ``node`` by month). Columns as the other exports (``code``, ``libellé`` or
    ``arrondissement``, ``faits``…); a hidden cell reads « < 5 », « s » or « n.d. » exactly as the publication
    hides it, and a rate beside it is blank. Sensitive categories have no cell below the city: no row there.
    """
    from observatory import labels
    from observatory.analytics.publication import ALL, YEAR

    c = pub.cells
    status_of = PublishedCounts.STATUS
    cats = list(schema.categories())
    if node in set(cats):
        cats = [node]
    elif node != ALL:
        cats = [x for x in cats if schema.category_family(x) == node]

    def read(g: str, n: str, period: str = YEAR) -> tuple[int | float, str] | None:
        hit = c[(c["geo"] == g) & (c["nomenclature"] == n) & (c["period"] == period)]
        if hit.empty:
            return None
        return int(hit["n"].iloc[0]), status_of[hit["status"].iloc[0]]

    rows = []
    if table == "arrondissements":
        for code in schema.ARRONDISSEMENT_CODES:
            got = read(code, node) or (0, SENSITIVE)
            rows.append({"code": code, "arrondissement": labels.arrondissement_label(code), "faits": got[0], "_status": got[1]})
    elif table in ("familles", "categories"):
        codes = cats if table == "categories" else list(dict.fromkeys(schema.category_family(x) for x in cats))
        namer = labels.category_label if table == "categories" else labels.family_label
        for code in codes:
            got = read(geo, code)
            if got is not None:
                rows.append({"code": code, "libellé": namer(code), "faits": got[0], "_status": got[1]})
    elif table == "mensuel":
        for m in range(1, 13):
            got = read(geo, node, f"{m:02d}") or (0, SENSITIVE)
            rows.append({"code": f"{pub.year}-{m:02d}-01", "libellé": labels.month_year(pub.year, m), "faits": got[0], "_status": got[1]})
    else:
        raise ValueError(f"table {table!r} : pas dans la publication")
    out = pd.DataFrame(rows)
    status = out.pop("_status")
    shown = ~status.map(hidden)
    if table == "arrondissements" and population is not None:
        pop = out["code"].map(population.set_index("arrondissement")["population"])
        out["population"] = pop
        rate = (1000 * out["faits"] / pop.where(pop > 0)).round(2)
        out["taux_pour_1000"] = rate.astype(object).where(shown, None)
    if shown.all():
        out["faits"] = out["faits"].astype("int64")
    else:
        out["faits"] = pd.Series([published_value(v, s, pub.min_count) for v, s in zip(out["faits"], status)], dtype=object)
    out.attrs["status"] = status.to_numpy()
    return out
