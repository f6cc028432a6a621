"""A small published store for dashboard tests and benchmarks (random plausible incidents, real store layout).

    from tests.dashboard_data import publish_random_store
    settings = publish_random_store(get_settings(data_dir=tmp_path / "data"), n=20_000)

Writes one snapshot through ``observatory.store.SnapshotWriter`` (the real publish path), with a manifest that
carries per-file accounting, so every dashboard page has something to show.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pyarrow as pa
import pyarrow.compute as pc

from observatory import schema
from observatory.config import Settings


def publish_random_store(settings: Settings, n: int = 20_000, seed: int = 1, start_year: int = 2022, end_year: int = 2025) -> Settings:
    from observatory import store
    from tests.incident_factory import random_incidents

    table = random_incidents(n, seed=seed, start_year=start_year, end_year=end_year, settings=settings)
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
    now = datetime.now(timezone.utc).isoformat()
    writer.publish({"created_at": now, "ingests": [], "source": "tests.dashboard_data (random, not the demo)"})
    return settings
