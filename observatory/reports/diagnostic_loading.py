"""Loading the yearly diagnostic's aggregates from a snapshot, with the official statistics, the quarantine
lines and the action evaluations. The only part of the diagnostic that reads data.
"""

from __future__ import annotations

import pandas as pd

from observatory import labels, schema
from observatory.analytics.indicators import LOCATED
from observatory.reports.diagnostic_actions import actions_display
from observatory.reports.diagnostic_model import (
    COUNT_COLUMNS,
    ZONE_COUNT_COLUMNS,
    DiagnosticInputs,
)


def official_display(rows: list[dict]) -> tuple[pd.DataFrame, str]:
    """Official SSMSI figures (already public, quoted as published: "n.d." where the SSMSI did not diffuse)."""
    if not rows:
        return pd.DataFrame(), ""
    frame = pd.DataFrame(
        {
            "Indicateur": [r.get("label", "") for r in rows],
            str(rows[0].get("year", "")): [labels.fmt_int(r["count"]) if r.get("count") is not None else "n.d." for r in rows],
            "Année précédente": [labels.fmt_int(r["previous_count"]) if r.get("previous_count") is not None else "n.d." for r in rows],
            "Taux": [f"{labels.fmt_number(r['rate'], 1)} {r.get('rate_unit', '')}" if r.get("rate") is not None else "n.d." for r in rows],
        }
    )
    return frame, str(rows[0].get("source", ""))


def official_for(settings, year: int, code: str) -> tuple[list[dict], pd.DataFrame | None, str, str]:  # noqa: ANN001
    """SSMSI figures of ``code`` for ``year`` from the newest imported edition.

    Returns (rows of ``official.report_summary``, display table or None, citation, coverage note). The coverage
    note says why there is nothing when an edition is imported but does not hold the year (the SSMSI publishes
    a year in the following spring; a reference subset may hold older years only).
    """
    from observatory.official import official_manifest, report_summary, source_citation

    rows = report_summary(settings, year, code)
    if rows:
        frame, citation = official_display(rows)
        return rows, frame, citation, ""
    editions = official_manifest(settings).get("editions") or {}
    if not editions:
        return [], None, "", ""
    info = editions[str(max(int(e) for e in editions))]
    years = sorted(int(y) for y in info.get("years") or [])
    span = f"{years[0]}–{years[-1]}" if len(years) > 1 else (str(years[0]) if years else "–")
    note = (f"Statistiques officielles : l'édition importée ({source_citation(info)}) couvre les années {span} ; "
            f"elle ne donne pas de chiffre pour {labels.arrondissement_label(code)} en {year}.")
    return [], None, "", note


def quarantine_summary(settings, snapshot=None) -> tuple[int | None, int | None, list[str]]:  # noqa: ANN001
    """(quarantined rows, revisions, refused files) as ``observatory quarantine`` and ``status`` count them.

    Quarantined rows are those of the files published in the snapshot (``store.read_quarantine``: what the
    ``quarantine`` command lists); revisions come from the same files (the snapshot's ledger). Refused files
    published nothing: they are listed apart, each file once (by name and checksum) even when it was submitted
    several times, and none once a file of the same name and checksum was accepted. (None, None, []) without a store.
    """
    from observatory import store

    try:
        snap = snapshot or store.current_snapshot(settings)
    except Exception:  # noqa: BLE001 - the ledger is an optional appendix line; a broken store must not stop the report
        return None, None, []
    if snap is None:
        return None, None, []
    quarantined = int(len(store.read_quarantine(settings, snap)))
    ledger = snap.ledger
    revisions = int(sum(int(r.get("revisions") or 0) for r in ledger if not r.get("refused")))
    accepted = {(r.get("source_file"), r.get("sha256")) for r in ledger if not r.get("refused")}
    refused: dict[tuple, str] = {}
    for r in store.read_refused(settings):
        key = (r.get("source_file"), r.get("sha256"))
        if key in accepted:
            continue
        refused.setdefault(key, str(r.get("source_file") or "?"))
    return quarantined, revisions, sorted(refused.values())


def load_inputs(settings, analytics=None, year: int | None = None, arrondissement: str | None = None) -> DiagnosticInputs:  # noqa: ANN001 - Settings, Analytics
    """Aggregates of the current snapshot (or of ``analytics``' snapshot) and the optional official and plan data.

    ``year`` and ``arrondissement`` select the official figures (the arrondissement's own SSMSI rows, or the
    city's, code 69123) and the actions evaluated that year.
    """
    from observatory.analytics import Filters
    from observatory.analytics.engine import get_analytics

    an = analytics or get_analytics(settings)
    f = Filters()
    counts = an.counts(f, by=("year", "arrondissement", "category", "family")).rename(columns={"count": "n"})
    # Zones count located points only (records placed by a quarter name alone are not inside a zone's outline).
    zone_counts = an.counts(f.replace(location_qualities=LOCATED), by=("year", "zone", "arrondissement", "category", "family")).rename(columns={"count": "n", "zone": "zone_id"})
    # Zones are below the city: sensitive categories are not counted there (privacy rule, see build_diagnostic).
    zone_counts = zone_counts[~zone_counts["category"].isin(schema.sensitive_categories())]
    zone_counts = zone_counts.groupby(["year", "zone_id", "arrondissement", "family"], dropna=False, as_index=False)["n"].sum()
    location = an.counts(f, by=("year", "location_quality")).rename(columns={"count": "n"})
    sources = an.query(
        "SELECT source, count(*) AS n, CAST(min(local_ts) AS DATE) AS first, CAST(max(local_ts) AS DATE) AS last "
        "FROM incidents GROUP BY source ORDER BY source"
    )
    monthly, zone_monthly, coverage = monthly_inputs(an, f)
    for frame in (counts, zone_counts, location):
        frame["year"] = frame["year"].astype("int64")
        frame["n"] = frame["n"].astype("int64")
    counts["arrondissement"] = counts["arrondissement"].astype(object).where(counts["arrondissement"].notna(), None)
    terr = an.territory
    snapshot = getattr(an, "snapshot", None)
    snap_date = getattr(snapshot, "created_at", None)
    # The analytics' own snapshot (a page holds one snapshot for its whole life); an Analytics built from loose
    # files (tests, benchmarks) has no ledger and the quarantine lines are then left out.
    from observatory.store import Snapshot

    published = isinstance(snapshot, Snapshot)
    from observatory.reports.cache import shared_part  # the territory-free parts, once for the city and its arrondissements

    quarantined, revisions, refused = shared_part("quarantine", settings, an, None, lambda: quarantine_summary(settings, snapshot)) if published else (None, None, [])
    official_rows: list[dict] = []
    official = None
    official_note = official_coverage = ""
    actions = None
    if year is not None:
        try:
            official_rows, official, official_note, official_coverage = official_for(settings, year, arrondissement or schema.CITY_CODE)
        except Exception:  # noqa: BLE001 - official statistics are optional: an unreadable store leaves the section out
            official_rows, official = [], None
        try:
            from observatory.actions import evaluations_for_year

            ev = evaluations_for_year(settings, year)
            if arrondissement and len(ev) and "arrondissement" in ev:
                ev = ev[ev["arrondissement"] == arrondissement]
            actions = actions_display(ev, settings.min_count) if len(ev) else None
        except Exception:  # noqa: BLE001 - no action plan (or an invalid one, reported by `observatory actions`) → no section
            actions = None
    return DiagnosticInputs(
        counts=counts[COUNT_COLUMNS],
        zone_counts=zone_counts[ZONE_COUNT_COLUMNS],
        zones=pd.DataFrame(terr.zones.drop(columns="geometry")),
        arrondissements=terr.arrondissements,
        snapshot_id=str(an.snapshot_id),
        snapshot_date=snap_date,
        boundary_source=terr.boundary_source,
        sources=sources,
        location=location,
        revisions=revisions,
        quarantined=quarantined,
        refused_files=refused,
        official=official,
        official_note=official_note,
        official_rows=official_rows,
        official_coverage=official_coverage,
        actions=actions,
        monthly=monthly,
        zone_monthly=zone_monthly,
        coverage=coverage,
        survey=shared_part("survey", settings, an, None, lambda: _survey_tables(settings)) if year is not None else None,
        means=shared_part("means", settings, an, year, lambda: _means_tables(settings, year)) if year is not None else None,
        exposure=shared_part("exposure", settings, an, year, lambda: _exposure_sentences(settings, an, year)) if year is not None else None,
    )


def _means_tables(settings, year: int):  # noqa: ANN001, ANN202
    try:
        from observatory.means.report import tables_for_year

        return tables_for_year(settings, year)
    except Exception:  # noqa: BLE001 - the means section is optional: an unreadable register or store leaves it out
        return None


def _exposure_sentences(settings, an, year: int) -> dict:  # noqa: ANN001
    from observatory.exposure.report import zone_sentences

    return zone_sentences(settings, an, year)


def _survey_tables(settings):  # noqa: ANN001, ANN202
    try:
        from observatory.survey import survey_tables

        return survey_tables(settings)
    except Exception:  # noqa: BLE001 - the survey section is optional: an unreadable survey store leaves it out
        return None


def monthly_inputs(an, f) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:  # noqa: ANN001 - Analytics, Filters
    """(monthly counts, zone monthly counts, coverage) for the tests: per partner and month, so that coverage
    and the dispersion of each line's monthly history can be judged."""
    m = an.counts(f, by=("year", "month_of_year", "arrondissement", "category", "family", "source")).rename(
        columns={"count": "n", "month_of_year": "month"})
    z = an.counts(f.replace(location_qualities=LOCATED), by=("year", "month_of_year", "zone", "arrondissement", "category", "family", "source")).rename(
        columns={"count": "n", "zone": "zone_id", "month_of_year": "month"})
    z = z[~z["category"].isin(schema.sensitive_categories())]
    z = z.groupby(["year", "month", "zone_id", "arrondissement", "family", "source"], dropna=False, as_index=False)["n"].sum()
    for frame in (m, z):
        frame["year"] = frame["year"].astype("int64")
        frame["month"] = frame["month"].astype("int64")
        frame["n"] = frame["n"].astype("int64")
    m["arrondissement"] = m["arrondissement"].astype(object).where(m["arrondissement"].notna(), None)
    cov = an.coverage(f)
    months = pd.to_datetime(cov["month"])
    coverage = pd.DataFrame({"source": cov["source"].astype(object), "year": months.dt.year.astype("int64"),
                             "month": months.dt.month.astype("int64"), "covered": (cov["status"] != "gap").to_numpy()})
    return m, z, coverage
