"""Crafted years and filters replayed through every callback an élu can reach (issue 15), over HTTP.

The access fuzzer (``test_callback_fuzz``) replays every registered callback with the values a browser sends;
this module sends, as an élu, the values a browser never would: the year still filling (in the bilan's URL and in
the state of its PDF and export downloads), windows and filters the publication does not hold (hours, weekdays,
partners, zones, a month window across two years, several categories), years before the data and malformed
values. Every élu-reachable callback reading the shared filters, the bilan's router call and its downloads are
replayed with each of them; the other élu pages' own year (wave, week) choosers get crafted years too.

Every answer must be served (200/204, never a 500) and hold only what the publications hold: no count from 1 to
``min_count − 1``, no title or file naming a year that is not closed, no date of the year still filling. The same
crafted bilan requests from an analyst are answered for the year still filling (so the checks can fail).
"""

from __future__ import annotations

import json
import re
from datetime import date

import pytest

from observatory import auth
from observatory.config import get_settings
from observatory.dashboard import access, ids
from tests.test_callback_fuzz import ORIGIN, _collect_values, _elu_leaks, genuine

PASSWORD = "correct-horse-battery"
USERS = {"elu": "paul", "analyste": "marie"}
CLOSED, FILLING = (2023, 2024), 2025
LAST_DAY = date(2025, 6, 30)

# Shared filters as the store (and the address) carry them: Filters.to_query() strings, some no control can produce.
CRAFTED_FILTERS = [
    {"end": "2025-06-30"},
    {"start": "2025-01-01", "end": "2025-12-31"},
    {"start": "2024-03-01", "end": "2025-02-28"},
    {"start": "2024-06-01", "end": "2024-06-28"},
    {"end": "2019-12-31"},
    {"hours": "20,21,22", "weekdays": "5,6", "sources": "police_nationale", "zones": "hypercentre"},
    {"categories": "cambriolages_logement,vols_dans_vehicules", "arrondissements": "69381,69383"},
    {"families": "atteintes_biens", "end": "2025-06-30", "arrondissements": "69383"},
    {"arrondissements": "69999"},  # no such arrondissement: nothing to show, and no traceback
]
MALFORMED_FILTERS = [{"end": "2025-13-45"}, {"hours": "99"}, {"start": ["2025"]}]
ANALYST_REPLAY = [{"end": "2019-12-31"}, {"arrondissements": "69999"}, *MALFORMED_FILTERS]
CRAFTED_YEARS = [FILLING, str(FILLING), "2026", 2019, "-1", "99999", "2025.0", "deux mille", None, [FILLING], {"annee": FILLING}]
# A year named in a title, a file name or a publication note: it must be a closed one.
YEAR_NAMED = re.compile(r"(?:Faits|[Pp]ublication|Bilan annuel|Arrondissements —|bilan-|diagnostic-)\s*(\d{4})")
FILLING_DATE = re.compile(rf"\b\d{{2}}/\d{{2}}/{FILLING}\b")
# The freshness card dates the data (last fact, last ingest), which is no count of the year still filling.
FRESHNESS = f"{ids.OV_FRESHNESS}.children"


@pytest.fixture(scope="module")
def crafted_app(tmp_path_factory):  # noqa: ANN001, ANN201
    from tests.dashboard_data import publish_random_store, shared_app

    settings = publish_random_store(get_settings(data_dir=tmp_path_factory.mktemp("crafted") / "data"), n=600, seed=5,
                                    start_year=2023, end_year=FILLING, last_day=LAST_DAY)
    for role, name in USERS.items():
        auth.add_user(settings, name, PASSWORD, role)
    app = shared_app(settings)
    previous = app.server.config["OBSERVATORY_SETTINGS"]
    app.server.config["OBSERVATORY_SETTINGS"] = settings
    anonymous = app.server.test_client()
    anonymous.get("/connexion")  # Dash completes its registry (pages' callbacks, router) on the first request
    clients = {}
    for role, name in USERS.items():
        client = app.server.test_client()
        r = client.post("/connexion", data={"utilisateur": name, "mot_de_passe": PASSWORD, "next": "/"}, headers=ORIGIN)
        assert r.status_code == 303 and "erreur" not in r.headers["Location"], r.headers["Location"]
        clients[role] = client
    _collect_values(clients["analyste"].get("/_dash-layout").get_json())
    yield app, clients
    app.server.config["OBSERVATORY_SETTINGS"] = previous


def _post(client, body):  # noqa: ANN001, ANN202
    return client.post("/_dash-update-component", json=body, headers=ORIGIN)


def _set(body: dict, component_id: str, prop: str, value) -> bool:  # noqa: ANN001
    """Put ``value`` on every input/state of ``body`` with that plain id and property; True if there was one."""
    found = False
    for part in ("inputs", "state"):
        for item in body[part]:
            for e in item if isinstance(item, list) else [item]:
                if e.get("id") == component_id and e.get("property") == prop:
                    e["value"] = value
                    found = True
    return found


def _problems(role: str, name: str, r, dates: bool = True) -> list[str]:  # noqa: ANN001
    if r.status_code not in (200, 204):
        return [f"{role} {name}: HTTP {r.status_code}"]
    if role != "elu" or r.status_code == 204:
        return []
    text = json.dumps(r.get_json(silent=True) or {}, ensure_ascii=False)
    out = [f"elu {name}: {leak}" for leak in _elu_leaks(r)[:3]]
    out += [f"elu {name}: names {m.group(0)!r}" for m in YEAR_NAMED.finditer(text) if int(m.group(1)) not in CLOSED][:3]
    out += [f"elu {name}: date {m.group(0)} of the year still filling" for m in FILLING_DATE.finditer(text) if dates][:3]
    return out


def _elu_filter_callbacks(app) -> dict:  # noqa: ANN001
    """Server callbacks an élu may call that read the shared filters (every page's cards, the exports)."""
    out = {}
    for key, cb in access.server_callbacks(app.callback_map).items():
        if "elu" not in access.roles_for(cb):
            continue
        if any(d["id"] == ids.FILTERS and d["property"] == "data" for d in (*cb["inputs"], *cb["state"])):
            out[key] = cb
    return out


def test_crafted_filters_through_every_elu_callback(crafted_app):  # noqa: ANN001
    app, clients = crafted_app
    callbacks = _elu_filter_callbacks(app)
    assert len(callbacks) >= 8, sorted(callbacks)  # the home page's cards and their exports at least
    problems, sent = [], 0
    for key, cb in sorted(callbacks.items()):
        for query in CRAFTED_FILTERS + MALFORMED_FILTERS:
            body = genuine(key, cb)
            assert _set(body, ids.FILTERS, "data", query)
            # An analyst's answer is checked for its status only, on the values outside the data (a traceback there
            # is everyone's); the rest of the analysts' replay is the access fuzzer's.
            for role in ("elu", "analyste") if query in ANALYST_REPLAY else ("elu",):
                r = _post(clients[role], body)
                sent += 1
                if query in MALFORMED_FILTERS:  # refused by the access layer with a French reason, never a traceback
                    if r.status_code != 400 or "filtres" not in r.get_data(as_text=True):
                        problems.append(f"{role} {key} {query}: HTTP {r.status_code} {r.get_data(as_text=True)[:80]}")
                    continue
                problems += _problems(role, f"{key} {query}", r, dates=key != FRESHNESS)
    print(f"crafted filters: {len(callbacks)} élu callbacks, {sent} requests")
    assert not problems, f"{len(problems)} problems, e.g.:\n" + "\n".join(problems[:30])


def _router(app):  # noqa: ANN001, ANN202
    key = next(k for k, cb in app.callback_map.items() if access.ROUTER in access.declared_outputs(cb))
    return key, app.callback_map[key]


def _bilan_page(app, client, year) -> str:  # noqa: ANN001
    key, cb = _router(app)
    body = genuine(key, cb, "/bilan")
    search = "" if year is None else "?" + "&".join(f"annee={v}" for v in (year if isinstance(year, list) else [year]))
    _set(body, "_pages_location", "search", search)
    r = _post(client, body)
    assert r.status_code == 200, (year, r.status_code)
    return json.dumps(r.get_json(), ensure_ascii=False)


def test_crafted_bilan_years_are_coerced_for_elus_only(crafted_app, monkeypatch):  # noqa: ANN001
    from observatory.reports import render

    app, clients = crafted_app
    printed: list[int] = []

    def fake_pdf(d):  # noqa: ANN001, ANN202 - no Chromium: which year is printed is what matters
        printed.append(d.year)
        return f"%PDF diagnostic {d.year}".encode()

    monkeypatch.setattr(render, "render_pdf", fake_pdf)
    problems = []
    # The page, by its address.
    for year in (FILLING, "2026", 2019, "deux mille", None):
        page = _bilan_page(app, clients["elu"], year)
        if f"Bilan annuel {CLOSED[-1]}" not in page:
            problems.append(f"bilan {year!r}: not served as {CLOSED[-1]}")
        if re.search(rf'"value": "{FILLING}"', page) or f"Bilan annuel {FILLING}" in page:
            problems.append(f"bilan {year!r}: offers or shows {FILLING}")
    assert f"L'année {FILLING} n'est pas encore close" in _bilan_page(app, clients["elu"], FILLING)
    assert f"Bilan annuel {FILLING}" in _bilan_page(app, clients["analyste"], FILLING)  # the check can fail
    # The downloads, by their state (the page's store, as a crafted client sends it).
    pdf_key = next(k for k in app.callback_map if k.startswith("bilan-pdf-download."))
    item_key = next(k for k in app.callback_map if "bilan-export-download" in k)
    served = {"pdf": 0, "table": 0}
    for year in CRAFTED_YEARS:
        for arr in (None, "69383", "../69383", 69383):
            state = {"annee": year, "arrondissement": arr}
            for name, key in (("pdf", pdf_key), ("table", item_key)):
                body = genuine(key, app.callback_map[key])
                _set(body, "bilan-pdf-state", "data", state)
                for item in body["inputs"]:  # the button's clicks
                    for e in item if isinstance(item, list) else [item]:
                        e["value"] = 1
                if name == "table":
                    _with_item(body, "table:familles")
                r = _post(clients["elu"], body)
                problems += _problems("elu", f"{name} {state}", r)
                served[name] += r.status_code == 200
                if r.status_code == 200:
                    filename = r.get_json()["response"][next(iter(r.get_json()["response"]))]["data"]["filename"]
                    if str(FILLING) in filename or not any(str(y) in filename for y in CLOSED):
                        problems.append(f"elu {name} {state}: file {filename}")
    assert printed and set(printed) <= set(CLOSED), printed
    assert served["pdf"] == served["table"] == len(CRAFTED_YEARS) * 4, served  # every crafted state got its file
    # Malformed states are not a traceback either.
    for state in ("2025", [2025], 2025, {}):
        body = genuine(pdf_key, app.callback_map[pdf_key])
        _set(body, "bilan-pdf-state", "data", state)
        body["inputs"][0]["value"] = 1
        problems += _problems("elu", f"pdf state {state!r}", _post(clients["elu"], body))
    # An analyst's crafted state is answered for the year still filling.
    body = genuine(pdf_key, app.callback_map[pdf_key])
    _set(body, "bilan-pdf-state", "data", {"annee": FILLING, "arrondissement": None})
    body["inputs"][0]["value"] = 1
    r = _post(clients["analyste"], body)
    assert r.status_code == 200 and printed[-1] == FILLING
    assert not problems, f"{len(problems)} problems, e.g.:\n" + "\n".join(problems[:30])


def _with_item(body: dict, item: str) -> None:
    """Point the export's MATCH key at one item of the page (outputs and inputs alike)."""
    outs = body["outputs"] if isinstance(body["outputs"], list) else [body["outputs"]]
    for part in (outs, body["inputs"]):
        for entry in part:
            for e in entry if isinstance(entry, list) else [entry]:
                if isinstance(e.get("id"), dict) and "item" in e["id"]:
                    e["id"]["item"] = item
    body["changedPropIds"] = [json.dumps(body["inputs"][0][0]["id"], sort_keys=True, separators=(",", ":")) + ".n_clicks"] if isinstance(body["inputs"][0], list) and body["inputs"][0] else []


# Other pages an élu opens under the shell choose a year (or a wave, a week) of their own: crafted ones too.
YEAR_INPUTS = ("moyens-year", "officielles-year", "sentiment-wave", "veille-week")
# Years as an address, a stale page or a crafted request could send them (lists, dicts and words included).
CRAFTED_YEAR_VALUES = [FILLING, str(FILLING), 2026, 2019, "99999", -1, None, [2024], {"annee": 2024}, "deux-mille", True]


def test_crafted_years_on_the_other_elu_pages(crafted_app):  # noqa: ANN001
    app, clients = crafted_app
    problems, replayed = [], set()
    for key, cb in sorted(access.server_callbacks(app.callback_map).items()):
        if "elu" not in access.roles_for(cb):
            continue
        for d in (*cb["inputs"], *cb["state"]):
            if d["id"] not in YEAR_INPUTS:
                continue
            replayed.add(d["id"])
            for value in CRAFTED_YEAR_VALUES:
                body = genuine(key, cb)
                _set(body, d["id"], d["property"], value)
                r = _post(clients["elu"], body)
                if r.status_code == 400 and "erreur" in r.get_data(as_text=True):
                    continue  # refused by the access layer, with its French reason
                problems += [p for p in _problems("elu", f"{key} {d['id']}={value!r}", r, dates=False) if "names" not in p]
    assert replayed == set(YEAR_INPUTS), replayed
    assert not problems, f"{len(problems)} problems, e.g.:\n" + "\n".join(problems[:30])
