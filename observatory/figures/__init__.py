"""DataFrame → Plotly figure, with one theme, shared by the dashboard and the yearly report.

No Dash import here. Every builder takes tidy DataFrames whose columns are named by the caller (codes, not
labels: labels come from :mod:`observatory.labels`), never mutates them, and returns a ``go.Figure`` with
French separators and French axis labels. Maps use the MapLibre traces (``choroplethmap``, ``scattermap``,
``densitymap``); the basemap style is a parameter so that offline ("white-bg") no request leaves the machine.

The builders live in one module per kind of figure; callers import them from here (``figures.change_bars``):

- :mod:`.style`: palette, template, :func:`theme`, the empty figure, inert labels;
- :mod:`.map_base`: GeoJSON, the offline style, place names and the map layout; :mod:`.maps`: the maps;
- :mod:`.trends`: figures over time; :mod:`.bars`: changes and breakdowns as bars;
- :mod:`.config`: the ``dcc.Graph`` config.
"""

from observatory.figures.bars import PLOT_PX, change_bars, contribution_bars, contributions_waterfall, grouped_bars, stacked_bars
from observatory.figures.config import MODEBAR_BUTTONS, REMOTE_CONFIG_OFF, figure_to_json_size, graph_config, image_export_config
from observatory.figures.map_base import (
    LABEL_DARK,
    LABEL_LIGHT,
    OFFLINE_STYLE_NAME,
    GeoRef,
    base_layers,
    is_offline,
    offline_style,
    place_labels,
    rivers_geojson,
    to_geojson,
)
from observatory.figures.maps import ACTION_TYPE_COLORS, actions_map, choropleth_map, density_map, hotspot_map, points_map, zones_map
from observatory.figures.style import (
    COLORWAY,
    CURRENT_COLOR,
    DOWN_COLOR,
    FONT,
    HIDDEN_COLOR,
    HOTSPOT_COLORS,
    HOTSPOT_LABELS,
    INT_FMT,
    LYON_CENTER,
    NEUTRAL_COLOR,
    PREVIOUS_COLORS,
    RATE_FMT,
    SEQUENTIAL,
    UP_COLOR,
    ZONE_COLORS,
    empty_figure,
    house_template,
    hover_texts,
    inert,
    theme,
    wrap_label,
)
from observatory.figures.trends import (
    ACTION_COLOR,
    coverage_heatmap,
    mark_actions_on_overlay,
    monthly_overlay,
    seasonal_profile,
    small_multiples,
    time_series,
    weekday_hour_heatmap,
)

__all__ = [
    "ACTION_COLOR", "ACTION_TYPE_COLORS", "COLORWAY", "CURRENT_COLOR", "DOWN_COLOR", "FONT", "HIDDEN_COLOR", "HOTSPOT_COLORS",
    "HOTSPOT_LABELS", "INT_FMT", "LABEL_DARK", "LABEL_LIGHT", "LYON_CENTER", "MODEBAR_BUTTONS", "NEUTRAL_COLOR",
    "OFFLINE_STYLE_NAME", "PLOT_PX", "PREVIOUS_COLORS", "RATE_FMT", "REMOTE_CONFIG_OFF", "SEQUENTIAL", "UP_COLOR",
    "ZONE_COLORS", "GeoRef", "actions_map", "base_layers", "change_bars", "choropleth_map", "contribution_bars",
    "contributions_waterfall", "coverage_heatmap", "density_map", "empty_figure", "figure_to_json_size", "graph_config",
    "grouped_bars", "hotspot_map", "house_template", "hover_texts", "image_export_config", "inert", "is_offline",
    "mark_actions_on_overlay", "monthly_overlay", "offline_style", "place_labels", "points_map", "rivers_geojson",
    "seasonal_profile", "small_multiples", "stacked_bars", "theme", "time_series", "to_geojson", "weekday_hour_heatmap",
    "wrap_label", "zones_map",
]
