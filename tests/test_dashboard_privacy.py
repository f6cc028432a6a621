"""Privacy for élus (DESIGN §6) through the real callback endpoint: on a store with small counts, no count
from 1 to 4 reaches an élu's response, while the analyst's responses carry them (the check can fail)."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from observatory.auth import User
from observatory.config import get_settings

ELU_PAGES_OUTPUTS = ("overview-", '{"page": "overview"', "zones-", "panel[")
SMALL = {1, 2, 3, 4}


@pytest.fixture(scope="module")
def small_app(tmp_path_factory):  # noqa: ANN001, ANN201
    from tests.dashboard_data import publish_random_store, shared_app

    # 600 incidents over four years: per arrondissement, zone, category or month most counts are below 5.
    settings = publish_random_store(get_settings(data_dir=tmp_path_factory.mktemp("small") / "data"), n=600, seed=5)
    app = shared_app(settings)
    app.server.config["OBSERVATORY_SETTINGS"] = settings
    return app


def _small_counts(node, path: str = "") -> list[str]:  # noqa: ANN001
    """Where a count from 1 to 4 shows in a callback response: figure values (z, customdata, line y), table
    cells and key figures that are a bare small integer, and "N faits" texts."""
    found: list[str] = []
    if isinstance(node, dict):
        if "data" in node and "layout" in node and isinstance(node["data"], list):
            for i, trace in enumerate(node["data"]):
                fields = ["z", "customdata"] + (["y"] if trace.get("type", "scatter") == "scatter" else [])
                for f in fields:
                    for v in _flat(trace.get(f)):
                        if isinstance(v, (int, float)) and not isinstance(v, bool) and float(v).is_integer() and int(v) in SMALL:
                            found.append(f"{path}.data[{i}].{f}={v}")
                        elif isinstance(v, str) and v.strip() in {"1", "2", "3", "4"}:
                            found.append(f"{path}.data[{i}].{f}={v!r}")
            return found
        for k, v in node.items():
            found += _small_counts(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            found += _small_counts(v, f"{path}[{i}]")
    elif isinstance(node, str):
        if re.fullmatch(r"\s*[1-4]\s*", node) or re.search(r"(?<![\d,+−-])[1-4] faits?\b", node):
            found.append(f"{path}={node!r}")
    return found


def _flat(values) -> list:  # noqa: ANN001
    if values is None:
        return []
    if isinstance(values, dict) and "bdata" in values:  # Plotly's typed arrays
        import base64

        import numpy as np

        arr = np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"])
        return arr.tolist()
    if isinstance(values, list):
        out = []
        for v in values:
            out += _flat(v) if isinstance(v, (list, dict)) else [v]
        return out
    return [values]


def _responses(app, query: dict, names=ELU_PAGES_OUTPUTS) -> dict[str, tuple[int, object]]:  # noqa: ANN001
    from tests.dashboard_data import callback_requests

    client = app.server.test_client()
    deps = json.loads(client.get("/_dash-dependencies").data)
    out = {}
    for name, body in callback_requests(deps, query):
        if not name.startswith(names):
            continue
        r = client.post("/_dash-update-component", json=body)
        out[name] = (r.status_code, json.loads(r.data) if r.status_code == 200 else None)
    return out


@pytest.mark.parametrize("query", [{}, {"families": "atteintes_biens"}])
def test_no_small_count_reaches_an_elu(small_app, monkeypatch, query):  # noqa: ANN001
    from observatory.dashboard import security

    analyst = _responses(small_app, query)
    assert analyst and all(code == 200 for code, _ in analyst.values())
    leaks_for_analyst = [hit for name, (_c, body) in analyst.items() if not name.startswith("zones-persistence") for hit in _small_counts(body)]
    assert leaks_for_analyst, "the data must have small counts, else this test proves nothing"

    # The server's gate and the callbacks now see an élu (local mode hands out this user).
    monkeypatch.setattr(security, "LOCAL_USER", User(name="paul", role="elu"))
    elu = _responses(small_app, query)
    assert set(elu) == set(analyst)
    for name, (code, body) in elu.items():
        assert code == 200, name
        if name.startswith("zones-persistence"):
            continue  # numbers of quarters (1 to 4) a cell was hot, not counts of incidents
        assert _small_counts(body) == [], name
    text = json.dumps([b for _c, b in elu.values()], ensure_ascii=False)
    assert "< 5" in text  # small counts were withheld, not dropped silently


def test_analyst_pages_are_refused_to_an_elu_and_protected_if_reached(small_app, monkeypatch):  # noqa: ANN001
    from observatory.dashboard import security

    monkeypatch.setattr(security, "LOCAL_USER", User(name="paul", role="elu"))
    refused = _responses(small_app, {}, names=("trends-",))
    assert refused and all(code == 403 for code, _ in refused.values())
    # Defence in depth: the Tendances callbacks protect counts themselves when the viewer is not an analyst
    # (here the gate lets an analyst through but the callbacks see an élu).
    monkeypatch.setattr(security, "LOCAL_USER", User(name="marie", role="analyste"))
    monkeypatch.setattr(security, "is_analyst", lambda: False)
    reached = _responses(small_app, {}, names=("trends-",))
    assert reached and all(code == 200 for code, _ in reached.values())
    for name, (_code, body) in reached.items():
        assert _small_counts(body) == [], name


def test_protected_view_hides_small_counts_and_what_gives_them_back():
    from observatory.dashboard import shaping

    rates = pd.DataFrame({"arrondissement": ["69381", "69382", "69383"], "count": [3, 40, 57], "rate_per_1000": [0.1, 1.3, 1.9]})
    v = shaping.rate_view(rates, 5, analyst=False)
    assert v["count_text"].tolist()[0] == "< 5"
    # 3 is hidden, so one more cell (the smallest, 40) is hidden too: the column total would give 3 back.
    assert v["count_text"].tolist() == ["< 5", "s", "57"]
    assert v["count"].isna().tolist() == [True, True, False]
    assert v["rate_per_1000"].isna().tolist() == [True, True, False]
    raw = shaping.rate_view(rates, 5, analyst=True)
    assert raw["count"].tolist() == [3, 40, 57] and raw["count_text"].tolist() == ["3", "40", "57"]


def test_sensitive_free_filters():
    from observatory import schema
    from observatory.analytics.filters import Filters
    from observatory.dashboard import shaping

    sensitive = sorted(schema.sensitive_categories())
    f = shaping.sensitive_free(Filters())
    assert f.categories and not set(f.categories) & set(sensitive)
    only = shaping.sensitive_free(Filters(categories=sensitive[:1]))
    assert only.categories == ("__aucune__",)  # never "every category"
