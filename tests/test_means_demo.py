"""The demo's means: the register validates against the demo's action plan, the aggregated extracts ingest with no
quarantine, are deterministic, and the page has something to show (elucidation below 100 %, actions without means)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from observatory import demo
from observatory.config import get_settings
from observatory.demo import means as demo_means
from observatory.means import register, service, store
from observatory.territory import populations

REPO = Path(__file__).resolve().parents[1]


def test_demo_means_register_is_valid_for_the_demo_plan(settings):
    result = demo.DemoResult(out_dir=demo.demo_dir(settings), seed=42, years=(2019, 2025), scale=1.0)
    demo.install_register(settings, result)
    means, problems = register.check_means(settings)
    assert problems == []
    assert set(means["action_id"]) - {""} == {"A2023-01", "A2023-02", "A2022-01"}
    assert len(means) == 5 + 3 + 2 * 9 * 7  # action lines, three summers of mediation, PM and cameras per arrondissement and year
    # Deterministic: the same seed writes the same bytes.
    pops = populations(settings)
    assert demo_means.means_csv((2019, 2025), pops, 42) == demo_means.means_csv((2019, 2025), pops, 42)
    assert demo_means.means_csv((2019, 2025), pops, 42) != demo_means.means_csv((2019, 2025), pops, 7)


@pytest.fixture(scope="module")
def ingested(tmp_path_factory):
    settings = get_settings(root=REPO, env={}, data_dir=tmp_path_factory.mktemp("demo_means") / "data")
    result = demo.generate(settings, demo.demo_dir(settings), (2024, 2024), 0.05, 42)
    demo.install_register(settings, result)
    demo.ingest_demo(settings, result)
    return settings


def test_demo_aggregates_ingest_without_quarantine(ingested):
    manifest = store.read_manifest(ingested)
    by_source = {f["source"] for f in manifest["files"]}
    assert by_source == {"mjd", "aide_victimes", "elucidation"}
    for f in manifest["files"]:
        assert f["status"] == "accepted" and f["quarantined"] == 0 and f["read"] == f["accepted"] > 0, f
        assert f["unmapped_categories"] == {}
    cells = store.read_cells(ingested)
    assert set(cells["month"].dt.year) == {2024}
    assert set(cells.loc[cells["source"] == "mjd", "arrondissement"]) == {f"6938{i}" for i in range(1, 10)}


def test_demo_tables_show_rates_and_actions_without_means(ingested):
    tables = service.build_tables(ingested)
    assert tables.problems == []
    per = tables.per_action.set_index("action_id")
    assert not per.loc["A2021-01", "declared"] and per.loc["A2023-01", "declared"]
    city = tables.response[(tables.response["arrondissement"] == "69123") & (tables.response["year"] == 2024)]
    assert len(city) == 4 and city["rate"].notna().all() and (city["reason"] == "").all()
    eluc = tables.elucidation[tables.elucidation["arrondissement"] == "69123"]
    assert len(eluc) and (eluc["elucidated"] <= eluc["facts"]).all()
    assert isinstance(tables.victims, pd.DataFrame) and tables.victims["victims"].sum() > 0
