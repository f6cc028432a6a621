"""The exploration notebook runs end to end on a small generated snapshot, so it never rots."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from observatory.config import get_settings
from tests.incident_factory import publish_snapshot, random_incidents

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "exploration.ipynb"


def test_exploration_notebook_executes(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    data_dir = tmp_path / "data"
    settings = get_settings(data_dir=data_dir)
    publish_snapshot(random_incidents(15_000, seed=3, start_year=2022, end_year=2025, settings=settings), settings)
    # A kernelspec of our own pointing at this interpreter: "python3" could resolve to a system Python.
    kernel_dir = tmp_path / "jupyter" / "kernels" / "observatory-test"
    kernel_dir.mkdir(parents=True)
    kernel_dir.joinpath("kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "observatory (test)", "language": "python",
    }))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("OBSERVATORY_DATA_DIR", str(data_dir))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(nb, kernel_name="observatory-test", timeout=180, resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    outputs = "\n".join(
        o.get("text", "") if o.get("output_type") == "stream" else json.dumps(o.get("data", {}).get("text/plain", ""))
        for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])
    )
    assert f"Python : {sys.executable}" in outputs
    assert "Année de référence : 2025" in outputs
    assert not any(o.get("output_type") == "error" for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    # The Gi* map cell produced a figure with at least one class trace.
    figs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if "application/vnd.plotly.v1+json" in o.get("data", {})]
    assert len(figs) >= 2
    assert "Classes sur la carte : Point chaud (" in outputs  # the generated hot spots reach the map
