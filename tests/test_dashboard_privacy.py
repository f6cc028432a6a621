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
    assert v["count_text"].tolist() == ["< 5", "secret", "57"]
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


# Élu exports (review #1, #2) ---------------------------------------------------------------------------------------
COUNT_HEADERS = ("faits", "periode_en_cours", "periode_precedente")
DERIVED_HEADERS = ("evolution_faits", "evolution_pct", "p_valeur", "z", "significatif", "effectifs_faibles", "taux_pour_1000",
                   "faits_par_km2", "pai", "part_pct", "part_de_l_evolution_pct")
WITHHELD = ("< 5", "secret", "n.d.")


def _export(app, target: str, fmt: str, query: dict, options: dict | None = None):  # noqa: ANN001, ANN202
    """The export callback's answer through the real endpoint: (status, download dict or None)."""
    from observatory.dashboard import ids

    client = app.server.test_client()
    deps = json.loads(client.get("/_dash-dependencies").data)
    # One export callback per card: the server's registry names it by the card's download id.
    key = json.dumps(ids.export_download(target), separators=(",", ":"), sort_keys=True) + ".data"
    pattern = next(d for d in deps if d["output"] == key)
    body = {
        "output": pattern["output"],
        "outputs": {"id": ids.export_download(target), "property": "data"},
        "inputs": [{"id": ids.export_request(target), "property": "data", "value": {"fmt": fmt, "options": options or {}}}],
        "state": [{"id": ids.FILTERS, "property": "data", "value": query}],
        "changedPropIds": [json.dumps(ids.export_request(target), separators=(",", ":"), sort_keys=True) + ".data"],
    }
    r = client.post("/_dash-update-component", json=body)
    if r.status_code != 200:
        return r.status_code, None
    return 200, json.loads(r.data)["response"][json.dumps(ids.export_download(target), separators=(",", ":"), sort_keys=True)]["data"]


def _csv_rows(data: dict) -> tuple[list[dict], dict]:
    """Body rows (header → cell) and metadata (key → value) of a dashboard CSV."""
    import base64
    import csv
    import io

    raw = base64.b64decode(data["content"]) if data.get("base64") else data["content"].encode()
    text = raw.decode("utf-8-sig")
    body, _, meta = text.partition("\r\n\r\n")
    rows = list(csv.DictReader(io.StringIO(body), delimiter=";"))
    return rows, dict(r[:2] for r in csv.reader(io.StringIO(meta), delimiter=";") if len(r) >= 2)


def _leaks(rows: list[dict]) -> list[str]:
    """Counts 1–4 in a count column, or a derived value on a row whose count is withheld."""
    out = []
    for i, row in enumerate(rows):
        hidden = False
        for h in COUNT_HEADERS:
            v = (row.get(h) or "").strip()
            if h not in row or v == "":
                continue
            if v in WITHHELD:
                hidden = True
            elif v.lstrip("-").isdigit() and 1 <= int(v) <= 4:
                out.append(f"row {i}: {h}={v}")
        if hidden:
            out += [f"row {i}: {h}={row[h]!r} beside a withheld count" for h in DERIVED_HEADERS if (row.get(h) or "").strip()]
    return out


def test_elu_exports_never_reveal_a_small_count(small_app, monkeypatch):  # noqa: ANN001
    """Property-style: narrow random filters (a category, an arrondissement, a month), every export an élu can
    trigger; no count 1–4 and no derived value (diff, %, p, z, rates) on a row whose count is withheld."""
    import random

    from observatory import schema
    from observatory.dashboard import exporting, security

    monkeypatch.setattr(security, "LOCAL_USER", User(name="paul", role="elu"))
    rng = random.Random(7)
    cats = sorted(c for c in schema.categories() if c not in schema.sensitive_categories())
    targets = sorted(exporting.registered())
    reached, hidden_seen = set(), 0
    for _ in range(8):
        year, month = rng.choice((2024, 2025)), rng.randint(1, 12)
        last = pd.Timestamp(year, month, 1) + pd.offsets.MonthEnd(0)
        query = {"categories": rng.choice(cats), "arrondissements": f"6938{rng.randint(1, 9)}", "start": f"{year}-{month:02d}-01", "end": last.date().isoformat()}
        for target in targets:
            for options in ({}, {"type": "piscine"}, {"type": "hypercentre"}):
                code, data = _export(small_app, target, "csv", query, options)
                if code == 403:
                    continue  # an analysts' page: the server refuses the export to an élu
                assert code == 200, target
                if data is None:
                    continue
                reached.add(target)
                rows, meta = _csv_rows(data)
                assert meta["Protection"].startswith("effectifs de 1 à 4"), target
                assert _leaks(rows) == [], (target, query, options)
                hidden_seen += sum(1 for r in rows for h in COUNT_HEADERS if r.get(h) in WITHHELD)
    assert {"overview-map", "overview-movers", "zones-table"} <= reached, reached
    assert hidden_seen, "the filters must hide some counts, else this test proves nothing"


def test_the_leak_the_review_found_is_closed(small_app, monkeypatch):  # noqa: ANN001
    """Review #1: current "< 5", previous "< 5" but diff 2, pct_change 2,0, p 0,625 → counts 1 and 3. The
    analyst's file of the same view has those derived values (the check can fail); the élu's has none."""
    from observatory.dashboard import ids, security

    query = {"arrondissements": "69383", "start": "2025-01-01", "end": "2025-12-31"}
    _code, analyst = _export(small_app, ids.OV_MOVERS, "csv", query)
    rows, _meta = _csv_rows(analyst)
    small = [r for r in rows if r["periode_en_cours"].isdigit() and 0 < int(r["periode_en_cours"]) < 5]
    assert small and small[0]["evolution_faits"] != ""  # analysts see the small counts and their change
    monkeypatch.setattr(security, "LOCAL_USER", User(name="paul", role="elu"))
    _code, elu = _export(small_app, ids.OV_MOVERS, "csv", query)
    rows, meta = _csv_rows(elu)
    # Élus get the year's publication (issue 15): sensitive categories have no row below the city, and a small
    # count is « < 5 » or, under a « < 5 » total, not published (« n.d. ») — never with its change.
    by_code = {r["code_categorie"]: r for r in rows}
    checked = [by_code[r["code_categorie"]] for r in small if r["code_categorie"] in by_code]
    assert checked
    for row in checked:
        assert row["periode_en_cours"] in ("< 5", "n.d.", "secret")
        assert all(row.get(h, "") == "" for h in ("evolution_faits", "evolution_pct", "p_valeur", "z", "significatif"))


def test_elu_map_export_is_the_map(small_app, monkeypatch):  # noqa: ANN001
    """Review #2: the élu's CSV of « Arrondissements — année en cours » holds the map's values (sensitive
    categories out, no city row), the real period in its metadata and its name."""
    from observatory.dashboard import ids, security

    monkeypatch.setattr(security, "LOCAL_USER", User(name="paul", role="elu"))
    fig = _responses(small_app, {}, names=('{"page": "overview"',))
    figure = next(iter(fig.values()))[1]["response"]['{"page":"overview","type":"clickable-map"}']["figure"]
    shown = figure["data"][0]
    z = _flat(shown["z"])
    on_map = {loc: round(float(v), 1) for loc, v in zip(shown["locations"], z)}
    _code, data = _export(small_app, ids.OV_MAP, "csv", {})
    rows, meta = _csv_rows(data)
    in_file = {r["code_arrondissement"]: float(r["taux_pour_1000"].replace(",", ".")) for r in rows if r["taux_pour_1000"]}
    assert "69123" not in {r["code_arrondissement"] for r in rows}
    assert in_file == on_map
    assert "du 01/01/2025 au 31/12/2025" in meta["Filtres"]
    assert "du-2025-01-01-au-2025-12-31" in data["filename"]
    assert "violences sexuelles" in meta["Source"]


def test_elu_zone_lines_read_plainly(small_app, monkeypatch):  # noqa: ANN001
    """Review #16 through the endpoint: « Zones suivies » never says « s faits », « secret faits » or
    « 0 faits – (0 faits) », and says what is left out (#4)."""
    from observatory.dashboard import security

    monkeypatch.setattr(security, "LOCAL_USER", User(name="paul", role="elu"))
    for query in ({}, {"categories": "vols_avec_armes", "arrondissements": "69384", "start": "2025-03-01", "end": "2025-03-31"}):
        out = _responses(small_app, query, names=("overview-zones",))
        text = json.dumps([b for _c, b in out.values()], ensure_ascii=False)
        assert not re.search(r"\b(s|secret|0) faits\b", text), text
        assert "– (" not in text
        # Issue 15: zones are not in the élus' publication: the card says so instead of counting.
        assert "Réservé aux analystes" in text
