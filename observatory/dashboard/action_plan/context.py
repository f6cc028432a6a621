"""What the Plan d'actions page reads besides its callbacks' inputs: the action views of the snapshot, the monthly
series of an action, and the territory (arrondissement names, city bounds, the map's source note)."""

from __future__ import annotations

from observatory.dashboard import components
from observatory.reports.cache import KeyedCache

# Monthly series of an action, per (views key, settings, action): one DuckDB query per action and snapshot.
SERIES = KeyedCache(maxsize=64)


def arrondissement_names(settings) -> dict[str, str]:  # noqa: ANN001
    from observatory.territory import load_territory

    arr = load_territory(settings).arrondissements
    return dict(zip(arr["code"].astype(str), arr["name"].astype(str)))


def city_bounds(settings) -> tuple[float, float, float, float]:  # noqa: ANN001
    from observatory.territory import load_territory

    return tuple(float(v) for v in load_territory(settings).arrondissements.total_bounds)


def map_note(settings) -> str:  # noqa: ANN001
    from observatory.territory import APPROXIMATE_NOTE, load_territory

    territory = load_territory(settings)
    source = territory.boundary_source
    # The shipped outlines' source text already starts with "contours approximatifs": say it once.
    if territory.approximate and APPROXIMATE_NOTE not in source:
        source = f"{APPROXIMATE_NOTE}, {source}"
    return f"Fond : limites des arrondissements, {source}. Vue centrée sur l'action choisie ; survol : nom de chaque périmètre et arrondissement."


def views() -> dict:
    from observatory.actions import dashboard_views

    return dashboard_views(components.settings())


def action_series(settings, views: dict, action_id: str):  # noqa: ANN001, ANN201 - Settings, DataFrame
    """The monthly series of one action (``actions.service.monthly_series``), computed once per snapshot and
    register version; a copy each time (callers add columns)."""
    from observatory.actions.service import monthly_series

    frame = SERIES.get((views["key"], settings, action_id), lambda: monthly_series(settings, views["plan"], views["source"], action_id))
    return frame.copy(deep=False)
