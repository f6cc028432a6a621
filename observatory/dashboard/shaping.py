"""Small pure functions that shape analytics results for display (DataFrame in, DataFrame out, no I/O).

They exist so that callbacks stay thin (inputs → analytics → shaping → figures) and so that the shaping is
unit-tested on hand-checkable data. Anything that needs the incidents themselves belongs in analytics.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from observatory import labels


def reference_date(an, filters) -> date | None:  # noqa: ANN001
    """The day the dashboard treats as "today": the filter's end, else the last day present in the data."""
    if filters.end is not None:
        return filters.end
    return an.date_range(filters.replace(start=None, end=None))[1]


def comparison_kind(reference: date) -> str:
    """Whole years compare as years; an unfinished year compares year-to-date with the same days last year."""
    return "year" if (reference.month, reference.day) == (12, 31) else "ytd"


def year_to_date(filters, reference: date):  # noqa: ANN001, ANN201
    """The current-year view: 1 January (or the filter's start if later) to the reference day."""
    start = date(reference.year, 1, 1)
    if filters.start is not None and filters.start > start:
        start = filters.start
    return filters.replace(start=start, end=reference)


def top_changes(cmp: pd.DataFrame, n: int = 10, significant_only: bool = False) -> pd.DataFrame:
    """The ``n`` groups with the largest absolute change (significant ones only if asked)."""
    d = cmp[cmp["significant"]] if significant_only else cmp
    return d.reindex(d["diff"].abs().sort_values(ascending=False, kind="stable").index).head(n).reset_index(drop=True)


def with_labels(df: pd.DataFrame, col: str, kind: str, out: str = "label") -> pd.DataFrame:
    """Add a French label column for codes in ``col`` (kind: category, family, source, arrondissement)."""
    fn = {"category": labels.category_label, "family": labels.family_label, "source": labels.source_label, "arrondissement": labels.arrondissement_label}[kind]
    unknown = UNKNOWN_LABELS[kind]
    return df.assign(**{out: df[col].map(lambda v: fn(v) if isinstance(v, str) and v else unknown)})


# What a missing code reads as (« inconnu » alone was jargon on a bar of « Comparaison par arrondissement »).
UNKNOWN_LABELS = {"category": "Catégorie inconnue", "family": "Famille inconnue", "source": "Partenaire inconnu", "arrondissement": "Arrondissement inconnu"}


def month_columns(df: pd.DataFrame, col: str = "month") -> pd.DataFrame:
    """Split a month (first day) into ``year`` and ``month_of_year`` for overlays of years."""
    m = pd.to_datetime(df[col])
    return df.assign(year=m.dt.year.astype("int64"), month_of_year=m.dt.month.astype("int64"))


def coverage_matrix(counts: pd.DataFrame, sources: list[str], start: date, end: date) -> pd.DataFrame:
    """Every (source, month) from ``start`` to ``end`` with its count, zeros where a partner sent nothing.

    ``counts`` has columns source, month, count (analytics ``counts(by=("source", "month"))``).
    """
    months = pd.date_range(pd.Timestamp(start).to_period("M").to_timestamp(), pd.Timestamp(end).to_period("M").to_timestamp(), freq="MS")
    idx = pd.MultiIndex.from_product([sources, months], names=["source", "month"])
    c = counts.assign(month=pd.to_datetime(counts["month"]))
    out = c.groupby(["source", "month"])["count"].sum().reindex(idx, fill_value=0).reset_index()
    out["count"] = out["count"].astype("int64")
    return out


def missing_months(matrix: pd.DataFrame) -> pd.DataFrame:
    """Rows of the coverage matrix with no data, with a French month label; a partner's months before its first
    data and after its last are included (a late extract is missing too)."""
    gaps = matrix[matrix["count"] == 0].copy()
    gaps["mois"] = [labels.month_year(m.year, m.month) for m in gaps["month"]]
    gaps["partenaire"] = gaps["source"].map(labels.source_label)
    return gaps[["source", "partenaire", "month", "mois"]].reset_index(drop=True)


def season_totals(monthly: pd.DataFrame, season_months: tuple[int, ...]) -> pd.DataFrame:
    """Per year: facts in the season and in the rest of the year (``count``) and the number of months present
    (``months``); ``monthly``: month, count (analytics ``monthly_series``)."""
    m = month_columns(monthly)
    m = m.assign(period=m["month_of_year"].isin(season_months).map({True: "saison", False: "hors saison"}))
    out = m.groupby(["year", "period"], as_index=False).agg(count=("count", "sum"), months=("count", "size"))
    out["count"] = out["count"].astype("int64")
    return out


def season_comparison(monthly: pd.DataFrame, season_months: tuple[int, ...]) -> pd.DataFrame:
    """Per year: mean monthly count in the season vs the rest of the year (``monthly``: month, count)."""
    t = season_totals(monthly, season_months)
    return t.assign(mean_per_month=t["count"] / t["months"])[["year", "period", "mean_per_month"]]


def pool_summer_table(seasons: pd.DataFrame) -> pd.DataFrame:
    """``pool_seasons(previous_years=1)`` with a first row "Toutes les piscines" (sums, tests recomputed) and
    ``pct_change`` of this season against the previous one."""
    from observatory.analytics.compare import poisson_test

    from observatory.analytics.zones import ALL_SUMMER_POOLS

    cols = ["name", "in_season", "previous_in_season", "out_season", "in_months", "out_months"]
    # The table is the summer's: winter pools (other months) are not summed with, nor shown under, « Été ».
    seasons = seasons[seasons["season"] == "summer"] if "season" in seasons else seasons
    if "zone_id" in seasons and (seasons["zone_id"] == ALL_SUMMER_POOLS).any():
        # analytics.pool_seasons tested the total with the pools (dispersion, coverage, one BH family): taken as is.
        is_total = seasons["zone_id"] == ALL_SUMMER_POOLS
        out = pd.concat([seasons[is_total], seasons[~is_total]], ignore_index=True)
        prev = out["previous_in_season"].astype("float64")
        # A refused comparison states no change (analytics.zones: a partner's missing month).
        out["pct_change"] = ((out["in_season"] - prev) / prev.where(prev > 0)).where(out["comparable"].astype(bool))
        return out
    if seasons.empty:
        return pd.DataFrame(columns=cols + ["ratio", "p_value", "significant", "p_value_vs_previous", "significant_vs_previous", "pct_change"])
    d = seasons[cols + ["ratio", "p_value", "significant", "p_value_vs_previous", "significant_vs_previous"]].copy()
    tot = {c: int(d[c].sum()) for c in ("in_season", "previous_in_season", "out_season")}
    in_m, out_m = int(d["in_months"].iloc[0]), int(d["out_months"].iloc[0])
    # Exposures in days of data when given (a season still running), as for each pool's own row.
    in_d = int(seasons["in_days"].iloc[0]) if "in_days" in seasons else in_m
    out_d = int(seasons["out_days"].iloc[0]) if "out_days" in seasons else out_m
    p_io = poisson_test(tot["in_season"], tot["out_season"], in_d / out_d) if in_d and out_d else float("nan")
    prev_d = int(seasons["previous_days"].iloc[0]) if "previous_days" in seasons else in_d
    p_prev = poisson_test(tot["in_season"], tot["previous_in_season"], in_d / prev_d) if in_d and prev_d else float("nan")
    total = {
        "name": "Toutes les piscines", **tot, "in_months": in_m, "out_months": out_m,
        "ratio": (tot["in_season"] / in_d) / (tot["out_season"] / out_d) if tot["out_season"] and in_d and out_d else float("nan"),
        "p_value": p_io, "significant": bool(p_io < 0.05), "p_value_vs_previous": p_prev, "significant_vs_previous": bool(p_prev < 0.05),
    }
    out = pd.concat([pd.DataFrame([total]), d], ignore_index=True)
    prev = out["previous_in_season"].astype("float64")
    out["pct_change"] = (out["in_season"] - prev) / prev.where(prev > 0)
    return out


def cells_with_centres(df: pd.DataFrame, centres: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([df.reset_index(drop=True), centres.reset_index(drop=True)], axis=1).dropna(subset=["lon", "lat"])


def zone_summary(rates: pd.DataFrame, cmp: pd.DataFrame, city_total: int, city_km2: float) -> pd.DataFrame:
    """Zones table: rates_by_zone joined with the per-zone comparison, plus the PAI.

    PAI (Chainey's Predictive Accuracy Index) = (facts in zone / facts in city) / (zone area / city area):
    above 1 the zone concentrates more than its share of the city's facts.
    """
    c = cmp.rename(columns={"zone": "zone_id"})[["zone_id", "current", "previous", "diff", "pct_change", "p_value", "significant", "unreliable"]]
    out = rates.merge(c, on="zone_id", how="left")
    for col in ("current", "previous", "diff"):
        out[col] = out[col].fillna(0).astype("int64")
    out["significant"] = out["significant"].fillna(False).astype(bool)
    share_facts = out["count"] / city_total if city_total else float("nan")
    out["pai"] = share_facts / (out["area_km2"] / city_km2)
    return out.sort_values("count", ascending=False).reset_index(drop=True)


def inside_outside(inside: pd.DataFrame, city: pd.DataFrame) -> pd.DataFrame:
    """Long table month, where ('dedans'/'dehors'), count from the zones' series and the city's series."""
    m = city[["month", "count"]].merge(inside[["month", "count"]], on="month", how="left", suffixes=("_city", "_in"))
    m["count_in"] = m["count_in"].fillna(0).astype("int64")
    dedans = pd.DataFrame({"month": m["month"], "where": "dedans", "count": m["count_in"]})
    dehors = pd.DataFrame({"month": m["month"], "where": "dehors", "count": (m["count_city"] - m["count_in"]).astype("int64")})
    return pd.concat([dedans, dehors], ignore_index=True)


def location_quality_table(quality: pd.DataFrame) -> pd.DataFrame:
    """Per partner: facts, the share of each location quality and the share without a point, for display.

    ``quality``: analytics ``location_quality`` (source, with a "total" row, incidents, without_point,
    share_without_point and one count column per quality). The "total" row comes last as "Tous partenaires".
    """
    from observatory import schema

    q = quality.copy()
    total = q["incidents"].astype("float64")
    denom = total.where(total > 0)
    out = pd.DataFrame({"source": q["source"], "total": q["incidents"].astype("int64")})
    for quality_code in schema.LOCATION_QUALITIES:
        out[quality_code] = q[quality_code] / denom
    out["sans_point"] = q["share_without_point"].astype("float64")
    out["partenaire"] = out["source"].map(lambda v: "Tous partenaires" if v == "total" else labels.source_label(v))
    is_total = out["source"] == "total"
    return pd.concat([out[~is_total], out[is_total]], ignore_index=True)


def unmapped_table(unmapped: pd.DataFrame) -> pd.DataFrame:
    """Analytics ``unmapped_labels`` with the partner's French name and the period the label was seen."""
    out = unmapped.copy()
    out["partenaire"] = out["source"].map(labels.source_label)
    out["periode"] = [
        labels.fmt_date(a) if a == b else f"{labels.fmt_date(a)} – {labels.fmt_date(b)}"
        for a, b in zip(pd.to_datetime(out["first_seen"]).dt.date, pd.to_datetime(out["last_seen"]).dt.date)
    ] if len(out) else []
    return out


def reason_kind(reason: object) -> str:
    """The kind of a quarantine reason, without its row-specific details: "point hors du territoire (à 1 310 m…)"
    → "point hors du territoire"; "date illisible « le 14 juillet » (format…)" → "date illisible".

    Reasons carry the offending value, so grouping on the full text gives one group per row; grouping on the
    kind gives the handful of problems an analyst has to fix.
    """
    if reason is None or (isinstance(reason, float) and pd.isna(reason)):
        return "–"
    text = str(reason)
    cut = min((i for i in (text.find(" ("), text.find(" «"), text.find(" :"), text.find(": ")) if i > 0), default=len(text))
    return text[:cut].strip() or text.strip()


def quarantine_summary(quarantine: pd.DataFrame, max_example: int = 160) -> pd.DataFrame:
    """Rows per (source, kind of reason, column), most frequent first, with the number of files and one example
    (file, row, full reason and original values, cut at ``max_example`` characters)."""
    cols = ["source", "partenaire", "reason", "column", "rows", "files", "example"]
    if quarantine.empty:
        return pd.DataFrame(columns=cols)
    q = quarantine.assign(column=quarantine["column"].fillna("–"), kind=quarantine["reason"].map(reason_kind))
    g = q.groupby(["source", "kind", "column"], as_index=False, dropna=False, sort=False)
    out = g.agg(rows=("reason", "size"), files=("source_file", "nunique"), source_file=("source_file", "first"),
                source_row=("source_row", "first"), detail=("reason", "first"), original=("original", "first"))
    out["example"] = [
        f"{f}, ligne {r} : {d} — {str(o)[:max_example]}" if d != k else f"{f}, ligne {r} : {str(o)[:max_example]}"
        for f, r, d, k, o in zip(out["source_file"], out["source_row"], out["detail"], out["kind"], out["original"])
    ]
    out["partenaire"] = out["source"].map(labels.source_label)
    out = out.rename(columns={"kind": "reason"})
    return out.sort_values(["rows", "source"], ascending=[False, True], kind="stable")[cols].reset_index(drop=True)


HISTORY_COUNTS = ("rows_read", "accepted", "quarantined", "duplicates", "revisions", "unmapped_labels")


def ingest_by_partner(history: pd.DataFrame) -> pd.DataFrame:
    """``store.ingest_history`` summed per partner: files, refused files, first and last ingest, and the row
    accounting of the files that were integrated (read = accepted + quarantined + duplicates holds per partner
    as it does per file). Rows of refused files were never published: they are counted apart
    (``refused_rows``), once per distinct refused file (a file refused twice is one file)."""
    cols = ["source", "partenaire", "files", "refused_files", "first_ingest", "last_ingest", *HISTORY_COUNTS, "refused_rows"]
    if history.empty:
        return pd.DataFrame(columns=cols)
    refused = history["refused"].fillna(False).astype(bool)
    ok = history[~refused]
    ident = history["sha256"].where(history["sha256"].notna(), history["source_file"]) if "sha256" in history else history["source_file"]
    bad = history[refused].assign(_ident=ident[refused]).drop_duplicates(subset=["source", "_ident"])
    g = history.groupby("source", as_index=False, sort=True).agg(first_ingest=("ingested_at", "min"), last_ingest=("ingested_at", "max"))
    counts = ok.groupby("source", sort=True).agg(files=("source_file", "size"), **{c: (c, "sum") for c in HISTORY_COUNTS})
    refused_by = bad.groupby("source", sort=True).agg(refused_files=("source_file", "size"), refused_rows=("rows_read", "sum"))
    out = g.set_index("source").join(counts).join(refused_by).reset_index()
    for c in ("files", "refused_files", "refused_rows", *HISTORY_COUNTS):
        out[c] = out[c].fillna(0).astype("int64")
    out["partenaire"] = out["source"].map(labels.source_label)
    return out.sort_values("last_ingest", ascending=False, kind="stable")[cols].reset_index(drop=True)


def latest_files(history: pd.DataFrame, n: int = 20) -> pd.DataFrame:
    """The ``n`` most recently ingested files, newest first, with the partner's French name."""
    h = history.sort_values("ingested_at", ascending=False, kind="stable").head(n)
    return h.assign(partenaire=h["source"].map(labels.source_label)).reset_index(drop=True)


def last_ingest(history: pd.DataFrame):  # noqa: ANN201 - datetime | None
    """When the last file was ingested (a Python datetime), None before any ingest."""
    if history.empty or history["ingested_at"].isna().all():
        return None
    return pd.Timestamp(history["ingested_at"].max()).to_pydatetime()


def coverage_gaps(coverage: pd.DataFrame, end: date, start: date | None = None) -> pd.DataFrame:
    """Months a partner should have sent and did not, from analytics ``coverage`` (source, month, count,
    expected, status), between ``start`` (default: open) and ``end``.

    Two kinds: "lacune", a month inside the partner's span that analytics calls a gap (no row where an empty
    month is unlikely at its usual level), and "retard", a month after the partner's last data up to ``end``
    (a late extract), counted only for partners whose usual level makes an empty month unlikely — a seasonal
    partner (pools) is neither late nor missing in winter. Columns: source, partenaire, month, mois, status.
    """
    import numpy as np

    from observatory.analytics.quality import GAP_PROBABILITY

    cols = ["source", "partenaire", "month", "mois", "status"]
    if coverage.empty:
        return pd.DataFrame({c: pd.Series(dtype="datetime64[ns]" if c == "month" else "str") for c in cols})
    cov = coverage.assign(month=pd.to_datetime(coverage["month"]))
    end_month = pd.Timestamp(end).to_period("M").to_timestamp()
    parts = [cov.loc[cov["status"] == "gap", ["source", "month"]].assign(status="lacune")]
    for src, part in cov.groupby("source", sort=True):
        expected = float(part["expected"].iloc[0])
        after = pd.date_range(part["month"].max() + pd.offsets.MonthBegin(1), end_month, freq="MS")
        if len(after) and np.exp(-expected) < GAP_PROBABILITY:
            parts.append(pd.DataFrame({"source": src, "month": after, "status": "retard"}))
    out = pd.concat(parts, ignore_index=True)
    out = out[out["month"] <= end_month]
    if start is not None:
        out = out[out["month"] >= pd.Timestamp(start).to_period("M").to_timestamp()]
    out = out.sort_values(["source", "month"], kind="stable").reset_index(drop=True)
    out["mois"] = [labels.month_year(m.year, m.month) for m in out["month"]]
    out["partenaire"] = out["source"].map(labels.source_label)
    return out[cols]


def recent_gaps(coverage: pd.DataFrame, last: date, months: int = 6) -> pd.DataFrame:
    """:func:`coverage_gaps` of the last ``months`` months up to ``last``, one row per partner: ``partenaire``,
    ``mois`` (French months joined by commas, "(en retard)" after a late one), ``n`` (number of months)."""
    first = (pd.Timestamp(last).to_period("M") - (months - 1)).to_timestamp().date()
    gaps = coverage_gaps(coverage, last, first)
    if gaps.empty:
        return pd.DataFrame({"partenaire": pd.Series(dtype="str"), "mois": pd.Series(dtype="str"), "n": pd.Series(dtype="int64")})
    gaps = gaps.assign(mois=[m + (" (en retard)" if st == "retard" else "") for m, st in zip(gaps["mois"], gaps["status"])])
    return gaps.groupby("partenaire", as_index=False, sort=True).agg(mois=("mois", ", ".join), n=("mois", "size"))


def snapshots_table(snapshots, current_id: str) -> pd.DataFrame:  # noqa: ANN001 - list of store.Snapshot
    """Published snapshots, newest first: ``id``, ``created_at``, ``rows`` (facts, from the manifest's files),
    ``current`` ("en service" for the one the dashboard reads)."""
    rows = [{"id": s.id, "created_at": s.created_at, "rows": sum(int(f.get("rows", 0)) for f in s.manifest.get("files", [])),
             "current": "en service" if s.id == current_id else ""} for s in snapshots]
    df = pd.DataFrame(rows, columns=["id", "created_at", "rows", "current"])
    return df.sort_values("created_at", ascending=False, kind="stable").reset_index(drop=True)


# Privacy for élus (DESIGN §6) ------------------------------------------------------------------------------------
# A complementary suppression reads « secret » on screens and in files (a bare « s » meant nothing to élus); the
# method notes explain it: masked so that a small value cannot be found back by subtraction.
SECRET_LABEL = "secret"
# attrs key of a table drawn from the stored publication: its statuses per value column (see protected_view)
PUBLICATION_STATUS = "publication_status"


def protected_view(df: pd.DataFrame, value_cols, min_count: int, *, analyst: bool, keys=None, derived=(), row_totals: bool = True) -> pd.DataFrame:  # noqa: ANN001
    """A display copy of a count table for the viewer.

    Analysts get the counts as they are. Anyone else gets them through ``analytics.privacy.protect`` (counts
    1..min_count−1 hidden, complementary suppression, sensitive categories aggregated to the city when the
    table has a category and a geographic column). In both cases every value column becomes float64 (NaN where
    hidden, so a figure draws no colour, bar or point for it) and gains ``<col>_text`` (French number, or
    "< 5" / "secret" / "n.d."). ``derived`` columns (rates, changes, p-values, shares… computed from the counts)
    are blanked on rows where any value column is hidden, because they would give the count back.
    ``attrs["hidden"]`` counts the hidden cells.
    """
    from observatory.analytics.privacy import PRIMARY, SECONDARY, SENSITIVE, SENSITIVE_TEXT, protect

    value_cols = [c for c in value_cols if c in df.columns]
    if analyst:
        out = df.copy().reset_index(drop=True)
        status = pd.DataFrame("", index=out.index, columns=value_cols)
    elif PUBLICATION_STATUS in df.attrs:
        # Cells of the year's publication carry the statuses of the joint protection: protecting them again on
        # their own would hide other cells than the publication (and other pages) do.
        out = df.copy().reset_index(drop=True)
        status = df.attrs[PUBLICATION_STATUS].reset_index(drop=True).reindex(columns=value_cols).fillna("")
    else:
        out = protect(df, value_cols, min_count, keys=list(keys) if keys else None, row_totals=row_totals, as_text=False)
        status = out.attrs["status"]
    texts = {PRIMARY: f"< {min_count}", SECONDARY: SECRET_LABEL, SENSITIVE: SENSITIVE_TEXT}
    any_hidden = pd.Series(False, index=out.index)
    for c in value_cols:
        st = status[c].reindex(out.index).fillna("")
        hidden = st != ""
        any_hidden |= hidden
        values = pd.to_numeric(out[c], errors="coerce").astype("float64").where(~hidden)
        out[c] = values
        out[f"{c}_text"] = [texts.get(s, s) if s else ("–" if pd.isna(v) else labels.fmt_int(v)) for v, s in zip(values, st)]
    for c in derived:
        if c in out.columns:
            out[c] = out[c].where(~any_hidden) if out[c].dtype != bool else out[c].astype(object).where(~any_hidden)
    out.attrs["hidden"] = int(sum((status[c] != "").sum() for c in value_cols)) if len(value_cols) else 0
    out.attrs["protected"] = not analyst
    return out


def cellwise_view(df: pd.DataFrame, value_cols, min_count: int, *, analyst: bool, derived=()) -> pd.DataFrame:  # noqa: ANN001
    """:func:`protected_view` of a table whose rows add up to nothing published (overlapping zones, groups of
    zones): each row is protected on its own, so only its small counts are hidden ("< 5"), never a zero or a
    large count as a complement of a column total that no view shows (an élu read « secret » where another
    view showed 0). Row totals are not published either (current and previous period do not add up)."""
    if analyst or df.empty:
        return protected_view(df, value_cols, min_count, analyst=analyst, derived=derived)
    parts = [protected_view(df.iloc[[i]], value_cols, min_count, analyst=False, derived=derived, row_totals=False) for i in range(len(df))]
    hidden = sum(int(x.attrs.get("hidden", 0)) for x in parts)
    for x in parts:
        x.attrs = {}  # attrs hold status frames, which pandas cannot compare when concatenating
    out = pd.concat(parts, ignore_index=True)
    out.attrs["hidden"] = hidden
    out.attrs["protected"] = True
    return out


def facts_text(value, text: str) -> str:  # noqa: ANN001
    """« 0 fait », « 1 fait », « 12 faits », « < 5 faits »; a withheld complement reads « nombre masqué »."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        if text.startswith("<"):
            return f"{text} faits"
        if text == SECRET_LABEL:
            return "nombre masqué (secret)"
        return text
    n = int(value)
    return f"{labels.fmt_int(n)} fait" + ("s" if abs(n) > 1 else "")


def published_rows(view: pd.DataFrame, value_cols) -> pd.DataFrame:  # noqa: ANN001
    """Rows of a :func:`protected_view` whose value columns are all published (for bars of changes)."""
    keep = pd.Series(True, index=view.index)
    for c in value_cols:
        keep &= view[c].notna()
    return view[keep].reset_index(drop=True)


def rate_view(rates: pd.DataFrame, min_count: int, *, analyst: bool) -> pd.DataFrame:
    """``rates_by_arrondissement`` for display: a hidden count also hides its rate (rate × population gives it back)."""
    return protected_view(rates, ["count"], min_count, analyst=analyst, derived=("rate_per_1000",))


def share_view(counts: pd.DataFrame, value_col: str, min_count: int, *, analyst: bool, keys=None) -> pd.DataFrame:  # noqa: ANN001
    """Counts with their share of the total (``share``), the share blanked where the count is hidden."""
    total = float(counts[value_col].sum())
    c = counts.assign(share=counts[value_col] / total if total else float("nan"))
    return protected_view(c, [value_col], min_count, analyst=analyst, keys=keys, derived=("share",))


def sensitive_free(filters):  # noqa: ANN001, ANN201
    """Filters without the sensitive categories, for geographic breakdowns shown to élus.

    Sensitive categories are aggregated to the city for élus (DESIGN §6): they stay in city totals but never
    in an arrondissement, zone or cell. A filter of sensitive categories only gives an empty selection (an
    empty tuple would mean "every category"), as the Carte's points layer does.
    """
    from observatory import schema

    sensitive = schema.sensitive_categories()
    wanted = filters.categories or tuple(schema.categories())
    allowed = tuple(c for c in wanted if c not in sensitive)
    return filters.replace(categories=allowed or ("__aucune__",))


def public_filters(filters, analyst: bool):  # noqa: ANN001, ANN201
    """The filters of a view for its viewer: for élus, a view below the city (arrondissement or zone filter)
    leaves the sensitive categories out, as every geographic breakdown does (DESIGN §6); city views keep them."""
    if analyst or not (filters.arrondissements or filters.zones):
        return filters
    return sensitive_free(filters)


# Action plan on other pages (issue 10) -------------------------------------------------------------------------
def actions_matching(actions: pd.DataFrame, filters, first: date | None = None, last: date | None = None) -> pd.DataFrame:  # noqa: ANN001
    """Actions (``actions_for_markers`` columns) that concern the filtered view, active between ``first`` and
    ``last`` (default: the filters' period; open ends accepted).

    An action matches when one of its targeted categories is in the view (categories, or the categories of the
    chosen families), its arrondissement is among the chosen ones, and — with a zone filter — its zone is one
    of them. No filter on a dimension means every action matches on it.
    """
    from observatory import schema

    if actions.empty:
        return actions.copy()
    wanted: set[str] | None = None
    if filters.categories:
        wanted = set(filters.categories)
    if filters.families:
        fam = {c for c, cat in schema.categories().items() if cat.family in set(filters.families)}
        wanted = fam if wanted is None else wanted & fam
    keep = pd.Series(True, index=actions.index)
    if wanted is not None:
        keep &= actions["categories"].map(lambda cats: bool(set(cats or ()) & wanted))
    if filters.arrondissements:
        keep &= actions["arrondissement"].isin(filters.arrondissements)
    if filters.zones:
        keep &= actions["zone_id"].isin(filters.zones)
    first = first or filters.start
    last = last or filters.end
    start = pd.to_datetime(actions["start"])
    end = pd.to_datetime(actions["end"])
    if last is not None:
        keep &= start <= pd.Timestamp(last)
    if first is not None:
        keep &= end.isna() | (end >= pd.Timestamp(first))
    return actions[keep].sort_values("start", kind="stable").reset_index(drop=True)


def actions_table(actions: pd.DataFrame) -> pd.DataFrame:
    """Actions with French display columns: type_label, statut, periode, arrondissement_label, categories_labels."""
    from observatory.actions.register import STATUS_LABELS, TYPE_LABELS

    if actions.empty:
        return actions.assign(type_label=[], statut=[], periode=[], arrondissement_label=[], categories_labels=[])

    def period(start, end) -> str:  # noqa: ANN001
        s = labels.fmt_date(pd.Timestamp(start).date())
        return f"depuis le {s}" if pd.isna(end) else f"du {s} au {labels.fmt_date(pd.Timestamp(end).date())}"

    return actions.assign(
        type_label=actions["type"].map(lambda t: TYPE_LABELS.get(t, t)),
        statut=actions["status"].map(lambda t: STATUS_LABELS.get(t, t)),
        periode=[period(a, b) for a, b in zip(actions["start"], actions["end"])],
        arrondissement_label=actions["arrondissement"].map(lambda a: labels.arrondissement_label(a) if isinstance(a, str) and a else "–"),
        categories_labels=actions["categories"].map(lambda cs: ", ".join(labels.category_label(c) for c in (cs or ()))),
    )


def map_title(start, end, today) -> str:  # noqa: ANN001 - dates
    """« Arrondissements — 2019 » for a past year, « … — année en cours » only when the period is this year's."""
    if start is None or end is None:
        return "Arrondissements"
    if start.year == end.year == today.year:
        return f"Arrondissements — année en cours ({start.year})"
    if start.month == 1 and start.day == 1 and end.month == 12 and end.day == 31 and start.year == end.year:
        return f"Arrondissements — {start.year}"
    return f"Arrondissements — du {labels.fmt_date(start)} au {labels.fmt_date(end)}"
