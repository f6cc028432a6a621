"""The partial plotly.js holds every trace type the code draws (a figure of another type would stay blank)."""

from __future__ import annotations

import re
from pathlib import Path

import plotly.graph_objects as go
from plotly.basedatatypes import BaseTraceType

from observatory.dashboard import plotly_bundle

ROOT = Path(__file__).resolve().parents[1]
TRACE_TYPES = {name.lower() for name in dir(go) if isinstance(getattr(go, name), type) and issubclass(getattr(go, name), BaseTraceType)}


def traces_in_code() -> set[str]:
    found = set()
    for path in (ROOT / "observatory").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        found |= {m.lower() for m in re.findall(r"\bgo\.([A-Z][A-Za-z]+)\(", text) if m.lower() in TRACE_TYPES}
        found |= {m for m in re.findall(r"""["']?type["']?\s*[:=]\s*["']([a-z]+)["']""", text) if m in TRACE_TYPES}
        # plotly.express figures: the trace types each function draws.
        for fn in re.findall(r"\bpx\.([a-z_]+)\(", text):
            found |= {"timeline": {"bar"}, "bar": {"bar"}, "line": {"scatter"}, "scatter": {"scatter"}, "imshow": {"heatmap"}}.get(fn, {fn})
    return found


def test_the_bundle_registers_every_trace_type_the_code_draws():
    used = traces_in_code()
    assert {"scatter", "bar", "choroplethmap"} <= used  # the scan finds what it should
    assert used <= set(plotly_bundle.TRACES), f"trace types missing from the bundle: {used - set(plotly_bundle.TRACES)}"


def test_the_build_entry_and_the_served_bundle_match_the_list():
    entry = (ROOT / "tools" / "plotly-bundle" / "entry.js").read_text(encoding="utf-8")
    registered = set(re.findall(r"src/traces/([a-z]+)'\)", entry))
    assert registered == set(plotly_bundle.TRACES)
    bundle = plotly_bundle.BUNDLE.read_text(encoding="utf-8")
    assert bundle.startswith("/* plotly.js 4.1.1 partial bundle")
    # Each registered trace module names itself (moduleType "trace", name "<type>") in the minified code.
    for trace in plotly_bundle.TRACES:
        assert re.search(rf'name:"{trace}"', bundle), trace
    assert not re.search(r'name:"(pie|scattergl|scatter3d|sankey)"', bundle)
    for name in plotly_bundle.MAPLIBRE_FILES:
        assert (plotly_bundle.MAPLIBRE_DIR / name).is_file(), name
    assert (plotly_bundle.MAPLIBRE_DIR / "LICENSE.txt").is_file() and plotly_bundle.BUNDLE.with_name("plotly-observatoire.LICENSE.txt").is_file()
