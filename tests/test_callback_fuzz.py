"""Replay fuzzer of the callback endpoint (issue 14): the server decides who may call what from its own registry.

For every server callback the app registered (enumerated from ``app.callback_map``, so a callback added later is
covered without touching this file) and each role (not signed in, élu, analyste), the genuine request is sent,
then mutated ones: every input/state id renamed to other registered ids (a seeded sample, plus the page router's
ids always), the page router's ``_pages_content`` injected, the output key swapped, inputs/states added or
dropped, pattern ids pointed at other targets, ``changedPropIds`` naming something that is not an input. The
answer must be exactly what the role may receive: the role table (``access.roles_for``) for genuine requests,
400 for any mutation from someone signed in, 401 for anything from someone who is not; and no count from 1 to
``min_count − 1`` in an élu's answer. Then the four reproductions of the issue, as they were sent.
"""

from __future__ import annotations

import base64
import copy
import json
import random

import dash
import pytest

from observatory import auth
from observatory.config import get_settings
from observatory.dashboard import access, ids, security
from tests.test_dashboard_privacy import _csv_rows, _leaks, _small_counts

PASSWORD = "correct-horse-battery"
ORIGIN = {"Origin": "http://localhost"}
ROLES = ("", "elu", "analyste")
USERS = {"elu": "paul", "analyste": "marie"}
SEED = 14
RENAMES_PER_POSITION = 4  # random other ids per input/state position, on top of the router's ids
REFUSED = {"": 401}  # what someone not signed in gets for anything not open to them

# Values the genuine requests send (like the browser on first display); wildcard values of pattern ids.
INPUT_VALUES = {
    "overview-metric.value": "rate",
    "trends-compare-kind.value": "ytd",
    "trends-compare-by.value": "family",
    "zones-kind.value": "piscine",
    "map-zone-kinds.value": ["hypercentre"],
    "map-layer.value": "grid",
    "url.search": "",
    "_pages_location.search": "",
    "filters-store.data": {},
}
WILDCARD_VALUES = {"path": "/", "page": "overview", "fmt": "csv", "target": "officielles-table", "item": "table:arrondissements", "index": 0}
CLICK = {"points": [{"customdata": ["69382", "69382", "arrondissement"], "location": "69382"}]}


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory):  # noqa: ANN001, ANN201
    from tests.dashboard_data import publish_random_store, shared_app

    # A small store (600 incidents over four years): most counts by arrondissement, zone or month are below 5.
    settings = publish_random_store(get_settings(data_dir=tmp_path_factory.mktemp("fuzz") / "data"), n=600, seed=5)
    for role, name in USERS.items():
        auth.add_user(settings, name, PASSWORD, role)
    app = shared_app(settings)
    previous = app.server.config["OBSERVATORY_SETTINGS"]
    app.server.config["OBSERVATORY_SETTINGS"] = settings
    clients = {"": app.server.test_client()}
    clients[""].get("/connexion")  # Dash completes its registry (pages' callbacks, router) on the first request
    for role, name in USERS.items():
        client = app.server.test_client()
        r = client.post("/connexion", data={"utilisateur": name, "mot_de_passe": PASSWORD, "next": "/"}, headers=ORIGIN)
        assert r.status_code == 303 and "erreur" not in r.headers["Location"], r.headers["Location"]
        clients[role] = client
    # Initial values of the inputs, as the analyst's browser gets them from the layouts (new pages included).
    _collect_values(clients["analyste"].get("/_dash-layout").get_json())
    router = next(k for k, cb in app.callback_map.items() if access.ROUTER in access.declared_outputs(cb))
    for page in dash.page_registry.values():
        if "<" not in page["path"]:
            r = clients["analyste"].post("/_dash-update-component", json=genuine(router, app.callback_map[router], page["path"]), headers=ORIGIN)
            _collect_values(r.get_json())
    yield app, clients, settings
    app.server.config["OBSERVATORY_SETTINGS"] = previous


# Genuine requests ---------------------------------------------------------------------------------------------

def _concrete(raw_id: str, matches: dict):  # noqa: ANN202
    """A concrete id for a declared one: pattern wildcards get a plausible value (the same for MATCH keys)."""
    if not raw_id.startswith("{"):
        return raw_id
    pattern = json.loads(raw_id)
    out = {}
    for key, value in pattern.items():
        if isinstance(value, list):
            out[key] = matches.setdefault(key, WILDCARD_VALUES.get(key, "x")) if value == ["MATCH"] else WILDCARD_VALUES.get(key, "x")
        else:
            out[key] = value
    return out


def _multi(raw_id: str) -> bool:
    return raw_id.startswith("{") and any(v in (["ALL"], ["ALLSMALLER"]) for v in json.loads(raw_id).values())


LAYOUT_VALUES: dict[str, object] = {}  # "id.prop" -> the value the page layouts start with (filled by the fixture)


def _value(cid, prop: str):  # noqa: ANN001, ANN202
    if prop == "id":
        return cid
    if isinstance(cid, dict):
        if cid.get("type") == "export-req":
            return {"fmt": "csv", "options": {}}
        if cid.get("type") == "clickable-map" and prop == "clickData":
            return CLICK
        return None
    key = f"{cid}.{prop}"
    return INPUT_VALUES[key] if key in INPUT_VALUES else LAYOUT_VALUES.get(key)


def _collect_values(node) -> None:  # noqa: ANN001
    """Record the initial properties of every component with a plain id in a layout (as the browser would send)."""
    if isinstance(node, dict):
        props = node.get("props")
        if isinstance(props, dict) and isinstance(props.get("id"), str):
            for prop, value in props.items():
                if prop not in ("id", "children") and not isinstance(value, dict):
                    LAYOUT_VALUES.setdefault(f"{props['id']}.{prop}", value)
        for v in node.values():
            _collect_values(v)
    elif isinstance(node, list):
        for v in node:
            _collect_values(v)


def _dep(raw_id: str, prop: str, matches: dict, with_value: bool):  # noqa: ANN202
    item = lambda: {"id": _concrete(raw_id, matches), "property": prop}  # noqa: E731
    if _multi(raw_id):
        entries = [item()]
    else:
        entries = item()
    if with_value:
        for e in entries if isinstance(entries, list) else [entries]:
            e["value"] = _value(e["id"], prop)
    return entries


def _prop_id(item: dict) -> str:
    cid = item["id"]
    return (json.dumps(cid, sort_keys=True, separators=(",", ":")) if isinstance(cid, dict) else cid) + "." + item["property"]


def genuine(key: str, cb: dict, pathname: str = "/") -> dict:
    """The request the browser sends for this callback."""
    matches: dict = {}
    raw = cb["output"] if isinstance(cb["output"], list) else [cb["output"]]
    # As the browser sends them: an output declared with allow_duplicate keeps its "@<hash>" on the property.
    outs = [_dep(str(k).rpartition(".")[0], str(k).rpartition(".")[2], matches, False) for k in raw]
    inputs = [_dep(d["id"], d["property"], matches, True) for d in cb["inputs"]]
    state = [_dep(d["id"], d["property"], matches, True) for d in cb["state"]]
    for item in inputs:
        if isinstance(item, dict) and item["id"] == "_pages_location" and item["property"] == "pathname":
            item["value"] = pathname
    first = inputs[0] if inputs else None
    first = first[0] if isinstance(first, list) and first else first
    return {
        "output": key,
        "outputs": outs if key.startswith("..") else outs[0],
        "inputs": inputs,
        "state": state,
        "changedPropIds": [_prop_id(first)] if isinstance(first, dict) else [],
    }


# Mutations ----------------------------------------------------------------------------------------------------

def registered_ids(callback_map: dict) -> list:
    found = {}
    for cb in access.server_callbacks(callback_map).values():
        for raw in [k.rpartition(".")[0] for k in access.declared_outputs(cb)] + [d["id"] for d in (*cb["inputs"], *cb["state"])]:
            found[raw] = raw
    return sorted(found)


def _matches_pattern(candidate: str, declared: str) -> bool:
    """True when ``candidate`` (a registered id) is one of the ids the pattern id ``declared`` stands for."""
    if not (candidate.startswith("{") and declared.startswith("{")):
        return False
    cand, decl = json.loads(candidate), json.loads(declared)
    if set(cand) != set(decl):
        return False
    wildcard = lambda v: isinstance(v, list) and len(v) == 1 and v[0] in access.WILDCARDS  # noqa: E731
    return all(wildcard(decl[k]) or decl[k] == cand[k] for k in decl)


def mutations(key: str, cb: dict, body: dict, all_ids: list, keys: list, rng: random.Random):  # noqa: ANN201
    """(name, body) of requests that are not a call of this callback as registered: each must be refused."""
    out = []
    for part in ("inputs", "state"):
        for pos, item in enumerate(body[part]):
            declared = cb[part][pos]["id"]
            # An id the declared pattern matches (a concrete page of an ALL/MATCH pattern) is a genuine call, not a rename.
            others = [i for i in all_ids if i != declared and not _matches_pattern(i, declared)]
            picks = (set(rng.sample(others, min(RENAMES_PER_POSITION, len(others)))) | {"_pages_content", "_pages_location"}) - {declared}
            for other in sorted(picks):
                m = copy.deepcopy(body)
                new_id = json.loads(other) if other.startswith("{") else other
                if isinstance(m[part][pos], list):
                    m[part][pos] = [{**e, "id": _concrete(other, {})} for e in m[part][pos]] or [{"id": _concrete(other, {}), "property": cb[part][pos]["property"], "value": None}]
                else:
                    m[part][pos]["id"] = _concrete(other, {}) if isinstance(new_id, dict) else new_id
                m["changedPropIds"] = []
                out.append((f"rename {part}[{pos}] -> {other}", m))
            if isinstance(item, dict):
                m = copy.deepcopy(body)
                m[part][pos]["property"] = "children" if item["property"] != "children" else "value"
                out.append((f"property {part}[{pos}]", m))
    m = copy.deepcopy(body)
    m["inputs"] = m["inputs"] + [{"id": "_pages_content", "property": "children", "value": {}}]
    out.append(("inject _pages_content", m))
    m = copy.deepcopy(body)
    m["inputs"] = [{"id": "_pages_content", "property": "children", "value": {}}]
    m["changedPropIds"] = []
    out.append(("only _pages_content", m))
    m = copy.deepcopy(body)
    m["inputs"] = [{"id": "_pages_location", "property": "pathname", "value": "/donnees"}]
    m["changedPropIds"] = []
    out.append(("router pathname as the only input", m))
    for part in ("inputs", "state"):
        m = copy.deepcopy(body)
        m[part] = m[part] + [{"id": ids.FILTERS, "property": "data", "value": {}}]
        out.append((f"extra {part}", m))
        if body[part]:
            m = copy.deepcopy(body)
            m[part] = m[part][:-1]
            m["changedPropIds"] = []
            out.append((f"missing {part}", m))
    other = rng.choice([k for k in keys if k != key])
    m = copy.deepcopy(body)
    m["output"] = other
    out.append((f"output key of {other}", m))
    m = copy.deepcopy(body)
    m["changedPropIds"] = [json.dumps({"target": "data-quarantine", "type": "export-btn", "fmt": "csv"}, sort_keys=True, separators=(",", ":")) + ".n_clicks"]
    out.append(("changedPropIds not an input", m))
    # Pattern ids: another value on a fixed key (another card), or a MATCH key changed in one place only.
    declared = {"outputs": [k.rpartition(".")[0] for k in access.declared_outputs(cb)],
                "inputs": [d["id"] for d in cb["inputs"]], "state": [d["id"] for d in cb["state"]]}
    for part in ("outputs", "inputs", "state"):
        items = body[part] if isinstance(body[part], list) else [body[part]]
        for pos, item in enumerate(items):
            entries = item if isinstance(item, list) else [item]
            raw = declared[part][pos] if pos < len(declared[part]) else ""
            pattern = json.loads(raw) if raw.startswith("{") else {}
            for e in entries[:1]:
                if not isinstance(e.get("id"), dict):
                    continue
                for k in e["id"]:
                    # Fixed keys, and MATCH keys (changed here in one place only); ALL keys take any value.
                    if k == "type" or pattern.get(k) in (["ALL"], ["ALLSMALLER"]):
                        continue
                    m = copy.deepcopy(body)
                    target = (m[part] if isinstance(m[part], list) else [m[part]])[pos]
                    target = target[0] if isinstance(target, list) else target
                    target["id"][k] = "data-quarantine" if target["id"][k] != "data-quarantine" else "map-graph"
                    if part == "outputs" and not isinstance(m[part], list):
                        m[part] = target
                    out.append((f"pattern {part}[{pos}].{k} -> other target", m))
    m = copy.deepcopy(body)
    m["inputs"] = {"not": "a list"}
    out.append(("inputs not a list", m))
    return out


# The run ------------------------------------------------------------------------------------------------------

def _post(client, body):  # noqa: ANN001, ANN202
    return client.post("/_dash-update-component", json=body, headers=ORIGIN)


# Outputs whose small integers are not counts of facts: the action map colours every perimeter with z = 1, and
# the persistent hot spots table gives a number of quarters (out of 4) per cell.
NOT_COUNTS = ("actions-map", "zones-persistence")


def _elu_leaks(response) -> list[str]:  # noqa: ANN001
    """Counts 1–4 in an élu's answer: in figures, tables and texts, and in a CSV download's count columns."""
    body = response.get_json(silent=True) or {}
    found = _small_counts({k: v for k, v in (body.get("response") or {}).items() if k not in NOT_COUNTS})
    for comp in (body.get("response") or {}).values():
        data = comp.get("data") if isinstance(comp, dict) else None
        if isinstance(data, dict) and str(data.get("filename", "")).endswith(".csv"):
            rows, _meta = _csv_rows(data)
            found += _leaks(rows)
    return found


def expected_status(role: str, cb: dict, pathname: str | None = None) -> set[int]:
    allowed = role in access.roles_for(cb)
    if allowed and pathname is not None and not security.can_open(role, pathname):
        allowed = False
    if allowed:
        return {200, 204}
    return {401} if not role else {403}


def test_fuzzer_replays_every_registered_callback_for_every_role(fuzz_app):  # noqa: ANN001
    app, clients, _settings = fuzz_app
    rng = random.Random(SEED)
    callbacks = access.server_callbacks(app.callback_map)
    keys = sorted(callbacks)
    all_ids = registered_ids(app.callback_map)
    pages = sorted({p["path"] for p in dash.page_registry.values()} | {"/page-inconnue"})
    problems: list[str] = []
    sent = 0
    analyst_small = 0  # small counts the analyst gets from the callbacks élus may call: the élu check can fail
    seen_status: dict[str, set[int]] = {r: set() for r in ROLES}
    for key in keys:
        cb = callbacks[key]
        router = access.ROUTER in access.declared_outputs(cb)
        for role in ROLES:
            client = clients[role]
            for path in pages if router else [None]:
                body = genuine(key, cb, path or "/")
                r = _post(client, body)
                sent += 1
                seen_status[role].add(r.status_code)
                want = expected_status(role, cb, path)
                if r.status_code not in want:
                    problems.append(f"{role or 'anonyme'} genuine {key} {path or ''}: {r.status_code} not in {want}")
                elif role == "elu" and r.status_code == 200 and not router:
                    problems += [f"elu {key}: {leak}" for leak in _elu_leaks(r)[:3]]
                elif role == "analyste" and r.status_code == 200 and not router and "elu" in access.roles_for(cb):
                    analyst_small += len(_elu_leaks(r))
                elif role == "elu" and router and r.status_code == 200 and not security.can_open("elu", path):
                    problems.append(f"elu got the layout of {path}")
            for name, mutated in mutations(key, cb, genuine(key, cb, "/"), all_ids, keys, rng):
                r = _post(client, mutated)
                sent += 1
                want = {401} if not role else {400}
                if r.status_code not in want:
                    problems.append(f"{role or 'anonyme'} {key} [{name}]: {r.status_code} not in {want}")
    # Pattern MATCH values changed consistently are still a call of the callback: the callback decides (its own
    # validation), and the answer to an élu is still protected.
    for key in keys:
        cb = callbacks[key]
        if '"MATCH"' not in json.dumps([cb.get("output"), cb["inputs"], cb["state"]], default=str):
            continue
        for value in ("data-quarantine", "officielles-table", "figure:carte", "../../etc/passwd"):
            saved = dict(WILDCARD_VALUES)
            WILDCARD_VALUES.update(target=value, item=value)
            try:
                body = genuine(key, cb)
            finally:
                WILDCARD_VALUES.clear()
                WILDCARD_VALUES.update(saved)
            for role in ROLES:
                r = _post(clients[role], body)
                sent += 1
                want = expected_status(role, cb)
                if r.status_code not in want:
                    problems.append(f"{role or 'anonyme'} {key} MATCH={value}: {r.status_code} not in {want}")
                elif role == "elu" and r.status_code == 200:
                    problems += [f"elu {key} MATCH={value}: {leak}" for leak in _elu_leaks(r)[:3]]
    print(f"callback fuzzer: {len(keys)} server callbacks, {sent} requests")  # the count quoted in the report
    assert len(keys) >= 40, "the registry must hold the dashboard's callbacks"
    assert {200, 403} <= seen_status["elu"] and 200 in seen_status["analyste"] and seen_status[""] <= {200, 401}, seen_status
    assert analyst_small, "the store must give the analyst small counts, else the élu check proves nothing"
    assert not problems, f"{len(problems)} problems, e.g.:\n" + "\n".join(problems[:40])


def _page_ids(node, out: set) -> None:  # noqa: ANN001
    if isinstance(node, dict):
        props = node.get("props")
        if isinstance(props, dict) and "id" in props:
            cid = props["id"]
            out.add(json.dumps(cid, sort_keys=True, separators=(",", ":")) if isinstance(cid, dict) else cid)
        for v in node.values():
            _page_ids(v, out)
    elif isinstance(node, list):
        for v in node:
            _page_ids(v, out)


def _on_page(raw_id: str, present: set) -> bool:
    if not raw_id.startswith("{"):
        return raw_id in present
    pattern = json.loads(raw_id)
    fixed = {k: v for k, v in pattern.items() if not isinstance(v, list)}
    for p in present:
        if p.startswith("{"):
            cid = json.loads(p)
            if set(cid) == set(pattern) and all(cid[k] == v for k, v in fixed.items()):
                return True
    return False


def test_every_callback_an_elu_page_fires_is_declared_for_elus(fuzz_app):  # noqa: ANN001
    """A page open to élus whose callbacks are missing from the role table would break for them (403 in the
    browser): every server callback whose outputs all sit on the élu's shell or on a page an élu may open must
    be declared for élus — or touch a component reserved with ``security.require_analyst`` (edit forms)."""
    app, clients, _settings = fuzz_app
    client = clients["elu"]
    present: set = set()
    _page_ids(client.get("/_dash-layout").get_json(), present)
    router_key = next(k for k, cb in app.callback_map.items() if access.ROUTER in access.declared_outputs(cb))
    for page in dash.page_registry.values():
        if security.can_open("elu", page["path"]) and "{" not in page["path"] and page["path"] != "/connexion":
            r = _post(client, genuine(router_key, app.callback_map[router_key], page["path"]))
            assert r.status_code == 200, page["path"]
            _page_ids(r.get_json(), present)
    missing = []
    for key, cb in access.server_callbacks(app.callback_map).items():
        outs = [k.rpartition(".")[0] for k in access.declared_outputs(cb)]
        if all(_on_page(o, present) for o in outs) and "elu" not in access.roles_for(cb) and not security._touches_analyst_only(cb):
            missing.append(key)
    assert not missing, f"callbacks of élu pages missing from access.CALLBACK_ACCESS: {missing}"


# The reproductions ----------------------------------------------------------------------------------

def _cb_key(app, first_output: str) -> str:  # noqa: ANN001
    return next(k for k, cb in app.callback_map.items() if "callback" in cb and access.declared_outputs(cb)[0] == first_output)


def test_repro_1_pages_content_trick_gives_nothing_to_anyone(fuzz_app):  # noqa: ANN001
    app, clients, _settings = fuzz_app
    quarantine = _cb_key(app, "data-quarantine.children")
    body = {
        "output": quarantine,
        "outputs": [{"id": "data-quarantine", "property": "children"}, {"id": ids.note("data-quarantine"), "property": "children"}],
        "inputs": [{"id": "_pages_content", "property": "children", "value": {}}],
        "changedPropIds": [],
        "state": [],
    }
    r = _post(clients[""], body)
    assert r.status_code == 401 and "X_L93" not in r.get_data(as_text=True)
    assert _post(clients["elu"], body).status_code == 400
    export = access.output_key(ids.export_download("data-quarantine"), "data")
    body = {"output": export, "outputs": {"id": ids.export_download("data-quarantine"), "property": "data"},
            "inputs": [{"id": "_pages_content", "property": "children", "value": {"fmt": "csv"}}], "state": [{"id": ids.FILTERS, "property": "data", "value": {}}],
            "changedPropIds": []}
    assert _post(clients[""], body).status_code == 401
    assert _post(clients["elu"], body).status_code == 400
    # The router with its pathname input renamed, asking for an analysts' page.
    router = next(k for k, cb in app.callback_map.items() if access.ROUTER in access.declared_outputs(cb))
    body = {"output": router, "outputs": [{"id": "_pages_content", "property": "children"}, {"id": "_pages_store", "property": "data"}],
            "inputs": [{"id": "x", "property": "pathname", "value": "/donnees"}, {"id": "_pages_location", "property": "search", "value": ""}],
            "changedPropIds": [], "state": []}
    for role in ("", "elu"):
        r = _post(clients[role], body)
        assert r.status_code in (400, 401) and "data-quarantine" not in r.get_data(as_text=True)
    body["inputs"][0]["id"] = "_pages_location"
    assert _post(clients["elu"], body).status_code == 403
    assert _post(clients[""], body).status_code == 401
    assert "data-quarantine" in _post(clients["analyste"], body).get_data(as_text=True)  # the check can fail


def test_repro_2_elu_cannot_download_internal_exports(fuzz_app):  # noqa: ANN001
    app, clients, _settings = fuzz_app
    for target in ("data-quarantine", "data-history", "trends-monthly", "data-coverage", "map-graph"):
        out = ids.export_download(target)
        body = {"output": access.output_key(out, "data"), "outputs": {"id": out, "property": "data"},
                "inputs": [{"id": ids.export_request(target), "property": "data", "value": {"fmt": "csv", "options": {"couche": "grid"}}}],
                "state": [{"id": ids.FILTERS, "property": "data", "value": {}}],
                "changedPropIds": [_prop_id({"id": ids.export_request(target), "property": "data"})]}
        assert _post(clients["elu"], body).status_code == 403, target
        assert _post(clients["analyste"], body).status_code == 200, target  # the check can fail
        # The élu's own card's callback, with the input pointed at the internal card: not a call of it.
        own = ids.export_download("overview-map")
        forged = {**body, "output": access.output_key(own, "data"), "outputs": {"id": own, "property": "data"}}
        assert _post(clients["elu"], forged).status_code == 400, target
    # What the élu may download is the protected table of its own page.
    own = ids.export_download("overview-map")
    body = {"output": access.output_key(own, "data"), "outputs": {"id": own, "property": "data"},
            "inputs": [{"id": ids.export_request("overview-map"), "property": "data", "value": {"fmt": "csv"}}],
            "state": [{"id": ids.FILTERS, "property": "data", "value": {}}], "changedPropIds": []}
    r = _post(clients["elu"], body)
    assert r.status_code == 200
    rows, meta = _csv_rows(r.get_json()["response"][json.dumps(own, sort_keys=True, separators=(",", ":"))]["data"])
    assert rows and meta["Protection"].startswith("effectifs de 1 à 4") and _leaks(rows) == []


def test_repro_3_elu_cannot_draw_the_analyst_map(fuzz_app):  # noqa: ANN001
    app, clients, _settings = fuzz_app
    key = _cb_key(app, access.output_key({"type": "clickable-map", "page": "carte"}, "figure"))
    body = genuine(key, app.callback_map[key])
    for item in body["inputs"]:
        if item["id"] == ids.MAP_LAYER:
            item["value"] = "grid"
    body["state"] = []
    sensitive = {"categories": "violences_sexuelles", "start": "2025-01-01", "end": "2025-12-31"}
    body["inputs"][0]["value"] = sensitive
    assert _post(clients["elu"], body).status_code == 403
    analyst = _post(clients["analyste"], body)
    assert analyst.status_code == 200  # the check can fail
    renamed = copy.deepcopy(body)
    for item in renamed["inputs"]:
        if item["id"] in (ids.MAP_LAYER, ids.MAP_ZONE_KINDS):
            item["id"] = {ids.MAP_LAYER: ids.OV_METRIC, ids.MAP_ZONE_KINDS: ids.ZN_KIND}[item["id"]]
    assert _post(clients["elu"], renamed).status_code == 400


def test_repro_4_dns_rebinding_in_local_mode(fuzz_app, tmp_path):  # noqa: ANN001
    app, _clients, settings = fuzz_app
    local = get_settings(data_dir=tmp_path / "local")  # no user store: local mode
    app.server.config["OBSERVATORY_SETTINGS"] = local
    try:
        client = app.server.test_client()
        evil = {"Host": "attacker.example:8050", "Origin": "http://attacker.example:8050"}
        assert client.get("/", headers=evil).status_code == 400
        assert client.get("/_dash-layout", headers=evil).status_code == 400
        assert client.post("/_dash-update-component", json={}, headers=evil).status_code == 400
        for host in ("localhost:8050", "127.0.0.1:8050", "[::1]:8050"):
            assert client.get("/", headers={"Host": host}).status_code == 200, host  # the check can fail
        app.server.config["OBSERVATORY_SETTINGS"] = local.replace(allowed_hosts="observatoire.lyon.fr")
        assert client.get("/", headers={"Host": "observatoire.lyon.fr"}).status_code == 200
        assert client.get("/", headers={"Host": "localhost:8050"}).status_code == 400
    finally:
        app.server.config["OBSERVATORY_SETTINGS"] = settings


def test_the_csv_leak_detector_can_fail():
    # The fuzzer reads élus' CSV downloads with these helpers: a bare small count must be reported.
    data = {"content": base64.b64encode(b"faits\r\n3\r\n\r\nProtection;x\r\n").decode(), "base64": True}
    rows, _meta = _csv_rows(data)
    assert rows == [{"faits": "3"}] and _leaks(rows)


def test_crafted_filter_values_are_400_not_500(fuzz_app):  # noqa: ANN001
    app, clients, _settings = fuzz_app
    key = _cb_key(app, access.output_key(ids.OV_KPIS, "children"))
    for crafted in ({"start": "pas-une-date"}, {"hours": "25-99"}, {"arrondissements": {"$ne": 1}}, ["start"], "start=2024"):
        body = genuine(key, app.callback_map[key])
        body["inputs"][0]["value"] = crafted
        for role in ("elu", "analyste"):
            r = _post(clients[role], body)
            assert r.status_code == 400, (crafted, role, r.status_code)
            assert "filtres" in r.get_json()["erreur"]
    body = genuine(key, app.callback_map[key])
    body["inputs"][0]["value"] = {"start": "2024-01-01", "families": "atteintes_biens"}
    assert _post(clients["elu"], body).status_code == 200


def test_sensitive_categories_stay_at_city_level_for_elus(fuzz_app):  # noqa: ANN001
    """Every export an élu may call, and the maps of its pages, filtered on a sensitive category: no count by
    arrondissement, zone or cell (the analyst's same request has some: the check can fail)."""
    from observatory.dashboard import exporting

    app, clients, _settings = fuzz_app
    query = {"categories": "violences_intrafamiliales"}
    elu_targets = [t for t in sorted(exporting.registered()) if "elu" in exporting.export_roles(t)]
    assert {"overview-map", "zones-table"} <= set(elu_targets)
    geo_headers = ("code_arrondissement", "code_zone", "maille")
    analyst_rows = 0
    for target in elu_targets:
        out = ids.export_download(target)
        body = {"output": access.output_key(out, "data"), "outputs": {"id": out, "property": "data"},
                "inputs": [{"id": ids.export_request(target), "property": "data", "value": {"fmt": "csv", "options": {}}}],
                "state": [{"id": ids.FILTERS, "property": "data", "value": query}], "changedPropIds": []}
        for role in ("elu", "analyste"):
            r = _post(clients[role], body)
            assert r.status_code in (200, 204), (target, role)
            if r.status_code == 204:
                continue
            rows, _meta = _csv_rows(r.get_json()["response"][json.dumps(out, sort_keys=True, separators=(",", ":"))]["data"])
            # A row below the city that says something (a count, or a cell listed as a hot spot) about the category.
            local = [row for row in rows if any((row.get(h) or "") not in ("", "69123", "ville", "total") for h in geo_headers if h in row)
                     and ("faits" not in row or (row.get("faits") or "").strip() not in ("", "0", "n.d.", "< 5", "secret"))]
            if role == "elu":
                assert not local, (target, local[:3])
            else:
                analyst_rows += len(local)
    assert analyst_rows, "the analyst gets the sensitive category by area, else this test proves nothing"
    # The page's own table of persistent cells, as the élu's browser asks for it: no cell for the category.
    key = _cb_key(app, access.output_key(ids.ZN_PERSIST, "children"))
    body = genuine(key, app.callback_map[key])
    body["inputs"][0]["value"] = query
    r = _post(clients["elu"], body)
    assert r.status_code == 200 and "E4" not in json.dumps(r.get_json()["response"][ids.ZN_PERSIST])


def test_side_panel_of_a_grid_cell_is_protected_for_elus(fuzz_app):  # noqa: ANN001
    """The only way an élu reaches a 200 m cell is a (forged) click sent to the side panel: protected counts."""
    app, clients, _settings = fuzz_app
    key = _cb_key(app, access.output_key(ids.PANEL, "is_open"))
    from observatory.dashboard.components import analytics

    with app.server.test_request_context("/"):
        cells = analytics().counts(by=("grid_cell",)).dropna(subset=["grid_cell"]).sort_values("count", ascending=False)
    assert len(cells)
    leaks = {"elu": 0, "analyste": 0}
    for cell in cells["grid_cell"].head(5):
        body = genuine(key, app.callback_map[key])
        body["inputs"][0][0]["value"] = {"points": [{"customdata": [cell, cell, "cell"], "location": cell}]}
        for role in leaks:
            r = _post(clients[role], body)
            assert r.status_code == 200, role
            leaks[role] += len(_elu_leaks(r))
    assert leaks["elu"] == 0 and leaks["analyste"] > 0, leaks
