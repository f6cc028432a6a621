"""The analysts' form of the Plan d'actions page: fields, register cell ↔ form value, and the load / save / close
callbacks, each refusing on the server when ``security.is_analyst()`` is False."""

from __future__ import annotations

from datetime import date

import dash_bootstrap_components as dbc
from dash import dcc, html, no_update

from observatory import labels
from observatory.actions import ACTION_COLUMNS, ACTION_STATUSES, ACTION_TYPES, STATUS_LABELS, TYPE_LABELS, RegisterError
from observatory.dashboard import components, security
from observatory.dashboard.action_plan.context import views as _views
from observatory.dashboard.action_plan.ids import EDIT_CLOSE, EDIT_CLOSE_DATE, EDIT_FIELD, EDIT_LOAD, EDIT_MESSAGE, EDIT_SAVE

REFUSED = "Modification refusée : seuls les analystes peuvent créer, modifier ou clôturer une action."
FIELD_LABELS = {
    "action_id": "Identifiant", "title": "Intitulé", "type": "Type", "partner": "Partenaire pilote", "zone_id": "Zone",
    "lon": "Longitude", "lat": "Latitude", "radius_m": "Rayon (m)", "start": "Début", "end": "Fin",
    "categories": "Catégories ciblées", "objective": "Objectif (texte)", "target_change_pct": "Objectif chiffré (%)",
    "objective_year": "Année de l'objectif", "status": "Statut", "notes": "Notes",
}


# Form fields that are not text inputs: their Dash property, and how a register cell (text) maps to it and back.
DATE_FIELDS = ("start", "end")
DATE_FORMAT = "DD/MM/YYYY"  # display only: the picker's value stays ISO (AAAA-MM-JJ), the register's format


def field_prop(col: str) -> str:
    """The property of the form component holding ``col`` (date pickers hold ``date``, the others ``value``)."""
    return "date" if col in DATE_FIELDS else "value"


def category_options() -> list[dict]:
    """The nomenclature's categories, French label shown, code stored (the register keeps codes)."""
    from observatory import schema

    return [{"label": c.label, "value": c.code} for c in schema.categories().values()]


def zone_options(settings) -> list[dict]:  # noqa: ANN001
    """Zones of the territory by name (kind in brackets), sorted by name; the register keeps the zone id."""
    from observatory.territory import load_territory

    zones = load_territory(settings).zones
    kinds = labels.ZONE_KIND_LABELS
    opts = [
        {"label": f"{name} ({kinds.get(kind, kind)})", "value": zid}
        for zid, name, kind in zip(zones["zone_id"].astype(str), zones["name"].astype(str), zones["kind"].astype(str))
    ]
    return sorted(opts, key=lambda o: o["label"].casefold())


def form_value(col: str, cell: str):  # noqa: ANN201 - str | list | None
    """A register cell (text) as its form component expects it."""
    from observatory.actions.register import CATEGORY_SEPARATOR

    cell = (cell or "").strip()
    if col == "categories":
        return [c for c in cell.split(CATEGORY_SEPARATOR) if c]
    if col in DATE_FIELDS or col == "zone_id":
        return cell or None
    return cell


def form_cell(col: str, value) -> str:  # noqa: ANN001
    """A form component's value back to the register's text cell (validated afterwards with the whole register)."""
    from observatory.actions.register import CATEGORY_SEPARATOR

    if value is None:
        return ""
    if col == "categories":
        values = [value] if isinstance(value, str) else list(value)
        return CATEGORY_SEPARATOR.join(str(v) for v in values if v)
    if col in DATE_FIELDS:
        return str(value)[:10]  # the picker may give 'AAAA-MM-JJTHH:MM:SS'
    return str(value)


def _date_picker(component_id: str, placeholder: str) -> dcc.DatePickerSingle:
    return dcc.DatePickerSingle(
        id=component_id, display_format=DATE_FORMAT, placeholder=placeholder, first_day_of_week=1, clearable=True,
        month_format="MM/YYYY", className="d-block small",
    )


def _edit_form(options: list[dict]) -> dbc.Card:
    def field(col: str, component, md: int = 3) -> dbc.Col:  # noqa: ANN001
        return dbc.Col([dbc.Label(FIELD_LABELS[col], html_for=EDIT_FIELD[col], className="small mb-0 d-block"), component], md=md, className="mb-2")

    def text(col: str, placeholder: str = "") -> dbc.Col:
        return field(col, dbc.Input(id=EDIT_FIELD[col], type="text", size="sm", placeholder=placeholder))

    settings = components.settings()
    return dbc.Card(
        [
            dbc.CardHeader(html.H2("Créer, modifier ou clôturer une action (analystes)", className="h6 mb-0")),
            dbc.CardBody(
                [
                    dbc.Row(
                        [
                            dbc.Col(components.dropdown(id=EDIT_LOAD, options=options, placeholder="Charger une action existante pour la modifier…"), md=6),
                        ],
                        className="mb-2",
                    ),
                    dbc.Row(
                        [
                            text("action_id", "ex. A-2026-01"),
                            text("title"),
                            field("type", dbc.Select(id=EDIT_FIELD["type"], size="sm", options=[{"label": TYPE_LABELS[t], "value": t} for t in ACTION_TYPES], value="patrouilles")),
                            text("partner"),
                            field("start", _date_picker(EDIT_FIELD["start"], "JJ/MM/AAAA")),
                            field("end", _date_picker(EDIT_FIELD["end"], "vide si en cours")),
                            field("status", dbc.Select(id=EDIT_FIELD["status"], size="sm", options=[{"label": STATUS_LABELS[s], "value": s} for s in ACTION_STATUSES], value="prevue")),
                            text("notes"),
                            field("categories", components.dropdown(id=EDIT_FIELD["categories"], options=category_options(), multi=True, placeholder="Choisir une ou plusieurs catégories…"), md=6),
                            field("zone_id", components.dropdown(id=EDIT_FIELD["zone_id"], options=zone_options(settings), placeholder="Zone du territoire… (ou un cercle ci-contre)"), md=6),
                            text("lon", "ou longitude (WGS84)"),
                            text("lat", "latitude"),
                            text("radius_m", "rayon en mètres"),
                            text("objective", "ex. −10 % des vols en 2026"),
                            text("target_change_pct", "ex. -10"),
                            text("objective_year", "ex. 2026"),
                        ]
                    ),
                    html.Div(
                        [
                            dbc.Button("Enregistrer", id=EDIT_SAVE, color="primary", size="sm", className="me-3"),
                            dbc.Label("Date de fin", html_for=EDIT_CLOSE_DATE, className="small mb-0 me-2"),
                            html.Div(_date_picker(EDIT_CLOSE_DATE, "JJ/MM/AAAA"), className="me-2"),
                            dbc.Button("Clôturer l'action", id=EDIT_CLOSE, color="secondary", outline=True, size="sm"),
                        ],
                        className="d-flex align-items-center flex-wrap",
                    ),
                    html.Div(id=EDIT_MESSAGE, className="mt-2 small", role="status"),
                ]
            ),
        ],
        className="mb-3 shadow-sm",
    )


def load_form(action_id: str | None) -> list:
    """Field values of an existing action (text, as in the register file)."""
    from observatory.actions.register import register_to_raw

    reg = _views()["plan"].register
    found = reg[reg["action_id"] == action_id] if action_id and not reg.empty else reg.iloc[0:0]
    if found.empty:
        return [no_update] * len(ACTION_COLUMNS)
    rec = register_to_raw(found.drop(columns=["arrondissement"], errors="ignore")).iloc[0]
    return [form_value(c, rec[c]) for c in ACTION_COLUMNS]


def save_action(n_clicks, version, *values):  # noqa: ANN001, ANN201
    """Create or update an action from the form: analysts only, validated, written back atomically."""
    if not n_clicks:
        return no_update, no_update
    if not security.is_analyst():
        return dbc.Alert(REFUSED, color="danger", className="py-1 mb-0"), no_update
    from observatory.actions import upsert_action

    record = {c: form_cell(c, v) for c, v in zip(ACTION_COLUMNS, values)}
    try:
        upsert_action(components.settings(), record)
    except RegisterError as exc:
        return dbc.Alert([html.Strong("Action non enregistrée :"), html.Ul([html.Li(str(p)) for p in exc.problems])], color="danger", className="py-1 mb-0"), no_update
    return dbc.Alert(f"Action « {record['action_id']} » enregistrée dans le registre.", color="success", className="py-1 mb-0"), (version or 0) + 1


def close_action_from_form(n_clicks, version, action_id, end_text):  # noqa: ANN001, ANN201
    """Close an action (status terminee + end date from the picker, ISO): analysts only."""
    if not n_clicks:
        return no_update, no_update
    if not security.is_analyst():
        return dbc.Alert(REFUSED, color="danger", className="py-1 mb-0"), no_update
    from observatory.actions import close_action

    try:
        end = date.fromisoformat(form_cell("end", end_text).strip())
    except ValueError:
        message = "Choisir la date de fin dans le calendrier." if not end_text else f"Date de fin « {end_text} » invalide."
        return dbc.Alert(message, color="danger", className="py-1 mb-0"), no_update
    if not action_id:
        return dbc.Alert("Indiquer l'identifiant de l'action à clôturer.", color="danger", className="py-1 mb-0"), no_update
    try:
        close_action(components.settings(), action_id, end)
    except RegisterError as exc:
        return dbc.Alert([html.Strong("Action non clôturée :"), html.Ul([html.Li(str(p)) for p in exc.problems])], color="danger", className="py-1 mb-0"), no_update
    return dbc.Alert(f"Action « {action_id} » clôturée au {labels.fmt_date(end)}.", color="success", className="py-1 mb-0"), (version or 0) + 1
