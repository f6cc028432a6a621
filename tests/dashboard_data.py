"""A small published store for dashboard tests and benchmarks (random plausible incidents, real store layout).

    from tests.dashboard_data import publish_random_store
    settings = publish_random_store(get_settings(data_dir=tmp_path / "data"), n=20_000)

Writes one snapshot through ``observatory.store.SnapshotWriter`` (the real publish path), with a manifest that
carries per-file accounting, so every dashboard page has something to show.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pyarrow as pa
import pyarrow.compute as pc

from observatory import schema
from observatory.config import Settings


# A small action plan (docs/actions.md format) over the random store's years, for markers and the map layer.
ACTIONS_CSV = """action_id,title,type,partner,zone_id,lon,lat,radius_m,start,end,categories,objective,target_change_pct,objective_year,status,notes
A2023-01,Vidéoprotection place Gabriel-Péri,videoprotection,Ville de Lyon,,4.8432,45.7577,150,2023-04-01,,vols_sans_violence_personnes|vols_violents_sans_arme,,,,en_cours,Six caméras
A2022-01,Patrouilles renforcées à Mermoz,patrouilles,Police nationale,qpv_mermoz,,,,2022-10-01,2023-09-30,cambriolages_logement|vols_dans_vehicules,,,,terminee,
A2021-01,GLTD Moncey,gltd,Parquet de Lyon,qpv_moncey,,,,2021-01-15,,trafic_stupefiants|occupation_halls,,,,en_cours,
A2025-01,Médiation <b>Presqu'île</b>,mediation,Ville de Lyon,hypercentre,,,,2025-05-01,2025-09-30,vols_sans_violence_personnes|cambriolages_logement,,,,terminee,
"""


def install_actions(settings: Settings) -> Settings:
    """Write :data:`ACTIONS_CSV` as the register of ``settings`` (data/raw/actions/actions.csv)."""
    from observatory.actions.register import actions_dir

    folder = actions_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "actions.csv").write_text(ACTIONS_CSV, encoding="utf-8")
    return settings


# Ingest accounting like the demo's: one monthly extract per partner (hundreds of files), a few rows of each in
# quarantine with row-specific reasons, so the Données page has long histories to summarise.
LEDGER_SOURCES = ("police_nationale", "police_municipale", "tcl", "bailleurs")
QUARANTINE_REASONS = (
    ("X_L93", "point hors du territoire (à {d}\u202f{m:03d} m de Lyon ; tolérance 500 m)"),
    ("DATE_HEURE_FAITS", "date illisible « {d}/13/2024 » (format attendu %d/%m/%Y %H:%M)"),
)


def ingest_records(snapshot_id: str, start_year: int, end_year: int) -> tuple[list[dict], pa.Table]:
    """Ledger rows (``store.HISTORY_COLUMNS``) of one file per partner and month, and their quarantined rows
    (two per file, reasons carrying the offending value). Accounting holds: read = accepted + quarantined +
    duplicates."""
    from observatory import store

    ledger, rows = [], []
    base = datetime(start_year, 1, 1, tzinfo=timezone.utc)
    i = 0
    for year in range(start_year, end_year + 1):
        for month in range(1, 13):
            for source in LEDGER_SOURCES:
                i += 1
                name = f"{source}_{year}-{month:02d}.csv"
                at = base.replace(year=year, month=month, day=5, hour=8 + LEDGER_SOURCES.index(source))
                read, dups = 500 + (i * 37) % 400, (i * 7) % 20
                ledger.append({"snapshot_id": snapshot_id, "ingested_at": at.isoformat(), "source": source, "source_file": name,
                               "sha256": f"{i:064x}", "rows_read": read, "accepted": read - 2 - dups, "quarantined": 2, "duplicates": dups,
                               "revisions": i % 3, "unmapped_labels": i % 5, "refused": False, "message": None})
                for k, (column, reason) in enumerate(QUARANTINE_REASONS):
                    rows.append({"batch_id": f"b{i}", "source": source, "source_file": name, "source_row": 10 + k, "column": column,
                                 "reason": reason.format(d=1 + i % 3, m=i % 1000), "original": f'{{"{column}": "{i}"}}', "quarantined_at": at})
    return ledger, pa.Table.from_pylist(rows, schema=store.QUARANTINE_SCHEMA)


def publish_random_store(settings: Settings, n: int = 20_000, seed: int = 1, start_year: int = 2022, end_year: int = 2025, actions: bool = True,
                         last_day: date | None = None) -> Settings:
    """``last_day``: drop the facts after that day (Paris time), so that ``end_year`` is a year still filling."""
    from observatory import store
    from tests.incident_factory import random_incidents

    table = random_incidents(n, seed=seed, start_year=start_year, end_year=end_year, settings=settings)
    if last_day is not None:
        local = pc.cast(pc.local_timestamp(table.column(schema.OCCURRED_AT)), pa.timestamp("us"))
        table = table.filter(pc.less(local, pa.scalar(datetime(last_day.year, last_day.month, last_day.day) + timedelta(days=1), pa.timestamp("us"))))
    # A partner gap the Données page must show: no TCL data in March of the last year.
    ts = table.column(schema.OCCURRED_AT)
    gap = pc.and_(
        pc.equal(table.column(schema.SOURCE), "tcl"),
        pc.and_(pc.equal(pc.year(ts), end_year), pc.equal(pc.month(ts), 3)),
    )
    table = table.filter(pc.invert(gap))
    settings.processed_dir.mkdir(parents=True, exist_ok=True)
    writer = store.SnapshotWriter(settings, store.new_snapshot_id(), store.current_snapshot(settings))
    for year in sorted(set(table.column(schema.YEAR).to_pylist())):
        writer.write_year(year, table.filter(pc.equal(table.column(schema.YEAR), pa.scalar(year, pa.int16()))))
    ledger, quarantine = ingest_records(writer.id, start_year, end_year)
    writer.write_quarantine("random", quarantine)
    # A fixed creation time: nothing may depend on the day the suite runs (the calendar check runs it at other dates).
    writer.publish({"created_at": "2026-01-15T09:00:00+00:00", "ingests": [], "ledger": ledger, "source": "tests.dashboard_data (random, not the demo)"})
    if actions:
        install_actions(settings)
    return settings


# Callback requests ---------------------------------------------------------------------------------------------
# Values given to the inputs of the pages' callbacks; the filters store is filled per scenario.
PAGE_INPUT_VALUES = {
    "overview-metric.value": "rate",
    "trends-compare-kind.value": "ytd",
    "trends-compare-by.value": "family",
    "zones-kind.value": "piscine",
    "zones-rate.value": "exposition",
    "map-zone-kinds.value": ["hypercentre"],
    "map-layer.value": "arr_rate",
}
MAP_LAYERS = ("arr_rate", "arr_count", "grid", "hotspots", "persistence", "zones", "actions", "points")


def _split_outputs(output: str) -> list[dict]:
    import json

    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    out = []
    for p in parts:
        ident, prop = p.rsplit(".", 1)
        out.append({"id": json.loads(ident) if ident.startswith("{") else ident, "property": prop.split("@")[0]})
    return out


def callback_requests(dependencies: list[dict], query: dict) -> list[tuple[str, dict]]:
    """Bodies for ``POST /_dash-update-component``: every server callback of the pages that reads the filters
    store (the map once per layer), plus the side panel for an arrondissement and a cell. Shell callbacks (URL,
    navigation) and clientside ones are left out."""
    import json

    out = []
    for dep in dependencies:
        if dep.get("clientside_function"):
            continue
        ins = dep["inputs"]
        keys = [f"{i['id']}.{i['property']}" for i in ins]
        if "filters-store.data" not in keys or "nav-link" in dep["output"]:
            continue
        outputs = _split_outputs(dep["output"])
        layers = MAP_LAYERS if "map-layer.value" in keys else (None,)
        for layer in layers:
            values = {**PAGE_INPUT_VALUES, "filters-store.data": query}
            if layer:
                values["map-layer.value"] = layer
            if any(k not in values for k in keys):
                break
            body = {
                "output": dep["output"],
                "outputs": outputs if len(outputs) > 1 or dep["output"].startswith("..") else outputs[0],
                "inputs": [{"id": i["id"], "property": i["property"], "value": values[k]} for i, k in zip(ins, keys)],
                "state": [{"id": s["id"], "property": s["property"], "value": None} for s in dep.get("state", [])],
                "changedPropIds": ["filters-store.data"],
            }
            name = "+".join(o["id"] if isinstance(o["id"], str) else json.dumps(o["id"]) for o in outputs[:1]) + (f"[{layer}]" if layer else "")
            out.append((name, body))
    panel = next((d for d in dependencies if "detail-panel.is_open" in d["output"]), None)
    if panel is not None:
        for kind, key in (("arrondissement", "69382"), ("cell", "E8421_N65193")):
            click = {"points": [{"customdata": [key, key, kind], "location": key}]}
            ident = {"type": "clickable-map", "page": "carte"}
            out.append((
                f"panel[{kind}]",
                {
                    "output": panel["output"],
                    "outputs": _split_outputs(panel["output"]),
                    "inputs": [[{"id": ident, "property": "clickData", "value": click}]],
                    "state": [{"id": "filters-store", "property": "data", "value": query}],
                    "changedPropIds": [json.dumps(ident, separators=(",", ":"), sort_keys=True) + ".clickData"],
                },
            ))
    return out


_APP = None


def shared_app(settings: Settings):  # noqa: ANN201 - dash.Dash
    """The one Dash app of the test process (Dash Pages registers page callbacks globally), serving ``settings``.

    Test modules that need the app call this instead of ``create_app``, so that several modules can run in
    one pytest process; each swaps in its own settings.
    """
    global _APP
    if _APP is None:
        from observatory.dashboard.app import create_app

        _APP = create_app(settings)
    _APP.server.config["OBSERVATORY_SETTINGS"] = settings
    return _APP
