"""Which callback a ``/_dash-update-component`` request is, decided from the server's own registry, and who may call it.

The browser names the callback it wants (``body["output"]``) and sends the ids, properties and values of its
inputs and states. Dash runs the function registered under ``output`` and only counts the inputs, so nothing
the client sends can be trusted to say what the request touches. :func:`identify` therefore

1. looks ``output`` up in ``app.callback_map`` (the callbacks *this server* registered, router included) —
   unknown, or a clientside callback, is refused (400);
2. checks every output, input and state the client sent against that callback's declared ones: same count,
   same ids and properties in the same order; a pattern-matching id has exactly the declared keys, the same
   value on every fixed key, a scalar on every wildcard, the same value for a ``MATCH`` key everywhere, and a
   list exactly where the declaration has ``ALL``/``ALLSMALLER`` (400 otherwise);
3. checks that ``changedPropIds`` (Dash's ``ctx.triggered_id``) names only inputs of the request (400).

Who may call it is one declarative table, :data:`CALLBACK_ACCESS`: callback identity → roles (``""`` is the
visitor who is not signed in). A callback's identity is any of its outputs as ``"component-id.property"``
(``output_key``; pattern ids as Dash writes them, ``{"page":"overview","type":"clickable-map"}.figure``).
**A callback not in the table is for analysts and admins only** (secure default for callbacks added later;
an élu or an anonymous visitor gets 403/401 for it); the page router is declared for everyone and then obeys
the page table (``security.PAGE_ACCESS``).

How a new page declares its callbacks: a page open to élus (``security.allow_elu_page``) lists every server
callback an élu's browser fires on it, at import time of the page module, by one of its outputs::

    from observatory.dashboard import access
    access.allow_callback(access.SIGNED_IN, access.output_key("veille-table", "children"))

An analyst-only page declares nothing. ``tests/test_callback_fuzz.py`` replays every registered callback for
every role and checks the answers against this table, and checks that every callback whose outputs sit on a
page an élu may open is declared for élus (so a page that forgot a line fails the suite, not the élu).
"""

from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass

from dash import ALL, MATCH
from dash.dependencies import Output

from observatory import auth
from observatory.dashboard import ids

ROLES = auth.ROLES
ANALYST_ROLES = ("analyste", "admin")
SIGNED_IN = ROLES
EVERYONE = ("", *ROLES)  # "" = a visitor who is not signed in
UNDECLARED = ANALYST_ROLES  # roles of a callback missing from the table
ROUTER = "_pages_content.children"  # Dash Pages' router (renders a page's layout for a pathname)
WILDCARDS = ("ALL", "MATCH", "ALLSMALLER")


def output_key(component_id: str | dict, prop: str) -> str:
    """The identity of a callback output as Dash writes it in its registry (``"id.prop"``, pattern ids as JSON)."""
    return str(Output(component_id, prop))


def _k(cid, prop: str) -> str:  # noqa: ANN001 - short alias for the table below
    return output_key(cid, prop)


# The role table. One line per server callback an élu (or an anonymous visitor) may call, by one of its outputs.
CALLBACK_ACCESS: dict[str, tuple[str, ...]] = {
    # Dash Pages' router: everyone (the sign-in page is a page); the pathname then obeys security.PAGE_ACCESS.
    ROUTER: EVERYONE,
    # Shell: filter bar <-> address, navigation links, the side panel (its content is protected for élus).
    _k(ids.F_START, "value"): SIGNED_IN,
    _k(ids.FILTERS, "data"): SIGNED_IN,
    _k({"type": "nav-link", "path": ALL}, "href"): SIGNED_IN,
    _k(ids.PANEL, "is_open"): SIGNED_IN,
    # Vue d'ensemble
    _k(ids.OV_KPIS, "children"): SIGNED_IN,
    _k({"type": "clickable-map", "page": "overview"}, "figure"): SIGNED_IN,
    _k(f"{ids.OV_MAP}-title", "children"): SIGNED_IN,
    _k(ids.OV_MOVERS, "figure"): SIGNED_IN,
    _k(ids.OV_ZONES, "children"): SIGNED_IN,
    _k(ids.OV_FRESHNESS, "children"): SIGNED_IN,
    # Zones
    _k(ids.ZN_TABLE, "children"): SIGNED_IN,
    _k(ids.ZN_SERIES, "figure"): SIGNED_IN,
    _k(ids.ZN_POOLS, "figure"): SIGNED_IN,
    _k("zones-pool-card", "style"): SIGNED_IN,
    _k(ids.ZN_INOUT, "children"): SIGNED_IN,
    _k(ids.ZN_PERSIST, "children"): SIGNED_IN,
    # Statistiques officielles (the page's own exports protect what élus get)
    _k("officielles-series", "figure"): SIGNED_IN,
    _k("officielles-table", "children"): SIGNED_IN,
    _k("officielles-comparison", "figure"): SIGNED_IN,
    _k({"type": "officielles-download", "target": MATCH}, "data"): SIGNED_IN,
    # Plan d'actions, read-only (the edit callbacks stay analyst-only)
    _k("actions-timeline", "figure"): SIGNED_IN,
    _k({"type": "actions-download", "target": MATCH}, "data"): SIGNED_IN,
    # Bilan annuel (protected publication: PDF and its tables)
    _k("bilan-pdf-download", "data"): SIGNED_IN,
    _k({"type": "bilan-export-download", "item": MATCH}, "data"): SIGNED_IN,
    # The shared export buttons: one callback per exportable card, declared by exporting.install from the page
    # that registered the card (an élu gets the protected tables of the pages it may open, nothing else).
}
_lock = threading.Lock()


def allow_callback(roles: tuple[str, ...], *keys: str) -> None:
    """Declare the roles that may call the callbacks having these outputs (see :func:`output_key`).

    Call at import time of a page module. Declaring the same key twice with other roles is an error: the table
    must say one thing.
    """
    for role in roles:
        if role not in EVERYONE:
            raise ValueError(f"allow_callback: unknown role {role!r}")
    with _lock:
        for key in keys:
            previous = CALLBACK_ACCESS.get(key)
            if previous is not None and set(previous) != set(roles):
                raise ValueError(f"allow_callback: {key} is already declared for {previous}")
            CALLBACK_ACCESS[key] = tuple(roles)


class Refused(Exception):
    """The request is not a well-formed call of a registered callback (status 400), with the French reason."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Call:
    """A request identified against the registry: its key in ``callback_map`` and its validated parts."""

    output: str
    keys: tuple[str, ...]  # the callback's outputs, "id.prop" without Dash's duplicate-output hash
    inputs: tuple  # the client's inputs, validated against the declaration (dicts, or lists of dicts)
    state: tuple

    def value(self, component_id: str, prop: str) -> object:
        """The value sent for a plain (non-pattern) input or state; KeyError when the callback has none."""
        for item in (*self.inputs, *self.state):
            if isinstance(item, dict) and item.get("id") == component_id and item.get("property") == prop:
                return item.get("value")
        raise KeyError(f"{component_id}.{prop}")

    def values_of(self, component_id: str, prop: str) -> list:
        out = []
        for item in (*self.inputs, *self.state):
            if isinstance(item, dict) and item.get("id") == component_id and item.get("property") == prop:
                out.append(item.get("value"))
        return out


def declared_outputs(cb: dict) -> list[str]:
    """The callback's outputs as ``"id.prop"``, with the hash Dash appends to duplicate outputs removed."""
    raw = cb.get("output")
    items = raw if isinstance(raw, list) else [raw]
    out = []
    for item in items:
        ident, _, prop = str(item).rpartition(".")
        out.append(f"{ident}.{prop.split('@')[0]}")
    return out


def roles_for(cb: dict) -> tuple[str, ...]:
    """Roles that may call this registered callback: the table's entries of its outputs (intersected when
    several outputs are declared), :data:`UNDECLARED` when none is."""
    declared = [CALLBACK_ACCESS[k] for k in declared_outputs(cb) if k in CALLBACK_ACCESS]
    if not declared:
        return UNDECLARED
    allowed = set(declared[0])
    for roles in declared[1:]:
        allowed &= set(roles)
    return tuple(r for r in EVERYONE if r in allowed)


def _declared_id(raw: str) -> object:
    return json.loads(raw) if raw.startswith("{") else raw


def _is_multi(pattern: object) -> bool:
    return isinstance(pattern, dict) and any(isinstance(v, list) and v and v[0] in ("ALL", "ALLSMALLER") for v in pattern.values())


def _scalar(v: object) -> bool:
    return isinstance(v, (str, int, float, bool)) and not (isinstance(v, float) and math.isnan(v))


def _check_id(sent: object, pattern: object, matches: dict, where: str) -> None:
    if not isinstance(pattern, dict):
        if sent != pattern:
            raise Refused(f"{where} : identifiant inattendu")
        return
    if not isinstance(sent, dict) or set(sent) != set(pattern):
        raise Refused(f"{where} : identifiant inattendu")
    for key, expected in pattern.items():
        got = sent[key]
        if isinstance(expected, list) and expected and expected[0] in WILDCARDS:
            if not _scalar(got):
                raise Refused(f"{where} : valeur de motif invalide")
            if expected[0] == "MATCH":
                if matches.setdefault(key, got) != got:
                    raise Refused(f"{where} : valeurs MATCH incohérentes")
        elif got != expected:
            raise Refused(f"{where} : identifiant inattendu")


def _check_item(item: object, pattern: object, prop: str, matches: dict, where: str) -> None:
    if not isinstance(item, dict) or item.get("property") != prop:
        raise Refused(f"{where} : propriété inattendue")
    _check_id(item.get("id"), pattern, matches, where)


def _check_dep(sent: object, raw_id: str, prop: str, matches: dict, where: str) -> None:
    pattern = _declared_id(raw_id)
    if _is_multi(pattern):
        if not isinstance(sent, list):
            raise Refused(f"{where} : liste attendue")
        seen = set()
        for item in sent:
            _check_item(item, pattern, prop, matches, where)
            marker = json.dumps(item.get("id"), sort_keys=True)
            if marker in seen:
                raise Refused(f"{where} : identifiant répété")
            seen.add(marker)
    else:
        _check_item(sent, pattern, prop, matches, where)


def _bare_property(sent: object) -> object:
    if isinstance(sent, list):
        return [_bare_property(i) for i in sent]
    if isinstance(sent, dict) and isinstance(sent.get("property"), str):
        return {**sent, "property": sent["property"].split("@")[0]}
    return sent


def _split_output(key: str) -> tuple[str, str]:
    ident, _, prop = key.rpartition(".")
    return ident, prop


def _prop_id(item: dict) -> str:
    cid = item.get("id")
    ident = json.dumps(cid, sort_keys=True, separators=(",", ":")) if isinstance(cid, dict) else str(cid)
    return f"{ident}.{item.get('property')}"


def identify(callback_map: dict, body: object) -> tuple[Call, dict]:
    """The registered callback this request calls and its validated parts; :class:`Refused` (400) otherwise."""
    if not isinstance(body, dict):
        raise Refused("requête de mise à jour illisible")
    output = body.get("output")
    if not isinstance(output, str) or output not in callback_map:
        raise Refused("rappel inconnu du serveur")
    cb = callback_map[output]
    if "callback" not in cb:
        raise Refused("rappel exécuté dans le navigateur, pas sur le serveur")
    matches: dict = {}
    keys = declared_outputs(cb)
    outputs = body.get("outputs")
    if cb.get("no_output"):
        if outputs not in (None, [], {}):
            raise Refused("sorties inattendues")
    else:
        # Dash writes a multi-output callback's key as "..a.p...b.q.." and sends its outputs as a list.
        sent_outputs = outputs if output.startswith("..") else [outputs]
        if not isinstance(sent_outputs, list) or len(sent_outputs) != len(keys):
            raise Refused("sorties inattendues")
        for sent, key in zip(sent_outputs, keys):
            ident, prop = _split_output(key)
            # An output declared with allow_duplicate is sent as "prop@<hash>" by the browser.
            _check_dep(_bare_property(sent), ident, prop, matches, "sortie")
    parts = {}
    for name, label in (("inputs", "entrée"), ("state", "état")):
        sent = body.get(name, [])
        if sent is None:
            sent = []
        declared = cb.get(name, [])
        if not isinstance(sent, list) or len(sent) != len(declared):
            raise Refused(f"{label}s inattendues")
        for item, dep in zip(sent, declared):
            _check_dep(item, dep["id"], dep["property"], matches, label)
        parts[name] = tuple(sent)
    changed = body.get("changedPropIds", [])
    if changed is None:
        changed = []
    if not isinstance(changed, list):
        raise Refused("déclencheurs inattendus")
    flat_inputs = [i for item in parts["inputs"] for i in (item if isinstance(item, list) else [item])]
    known = {_prop_id(i) for i in flat_inputs}
    for prop_id in changed:
        if not isinstance(prop_id, str) or _normal_prop_id(prop_id) not in known:
            raise Refused("déclencheur qui n'est pas une entrée de ce rappel")
    return Call(output=output, keys=tuple(keys), inputs=parts["inputs"], state=parts["state"]), cb


def _normal_prop_id(prop_id: str) -> str:
    ident, _, prop = prop_id.rpartition(".")
    if ident.startswith("{"):
        try:
            ident = json.dumps(json.loads(ident), sort_keys=True, separators=(",", ":"))
        except ValueError:
            return ""
    return f"{ident}.{prop}"


def server_callbacks(callback_map: dict) -> dict[str, dict]:
    """The callbacks that run on the server (clientside ones never reach it)."""
    return {k: v for k, v in callback_map.items() if "callback" in v}


def role_table(callback_map: dict) -> list[tuple[str, tuple[str, ...]]]:
    """(first output, roles) of every server callback: the table as the running app applies it (for the docs)."""
    return [(declared_outputs(cb)[0] if declared_outputs(cb) else key, roles_for(cb)) for key, cb in server_callbacks(callback_map).items()]


def public_dependencies(app) -> list[dict]:  # noqa: ANN001 - dash.Dash
    """The part of Dash's callback graph a visitor who is not signed in may see: the callbacks declared for
    ``""`` (the page router) and the router's own clientside helper (the page title)."""
    out = []
    for dep in app._callback_list:  # noqa: SLF001 - the list Dash serves as /_dash-dependencies
        key = dep.get("output", "")
        cb = app.callback_map.get(key)
        if dep.get("clientside_function"):
            if all(k.startswith("_pages_") for k in declared_outputs({"output": _split_key(key)})):
                out.append(dep)
        elif cb is not None and "" in roles_for(cb):
            out.append(dep)
    return out


def _split_key(key: str) -> list[str]:
    return key[2:-2].split("...") if key.startswith("..") else [key]
