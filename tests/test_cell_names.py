"""Grid cells are named by place (IRIS or perimeter or sector, and arrondissement) wherever the dashboard shows
one: map hovers of every cell layer, the side panel's title, the hot-spot table; the same name everywhere."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from observatory.config import get_settings
from tests.test_dashboard_app import _answer

RAW_ID = re.compile(r"E\d{4}_N\d{5}")
MAP = '{"page":"carte","type":"clickable-map"}'


@pytest.fixture(scope="module")
def app_and_settings(tmp_path_factory):  # noqa: ANN001, ANN201
    from tests.dashboard_data import publish_random_store, shared_app

    settings = publish_random_store(get_settings(data_dir=tmp_path_factory.mktemp("cells") / "data"), n=4_000, seed=17)
    app = shared_app(settings)
    app.server.config["OBSERVATORY_SETTINGS"] = settings
    return app, settings


def _hover_names(trace: dict) -> list[str]:
    """The bold first line of each hover (the name), from the template and the customdata it reads."""
    m = re.match(r"<b>%\{customdata\[(\d+)\]\}</b>", trace.get("hovertemplate", ""))
    if not m:
        return []
    return [str(row[int(m.group(1))]) for row in trace.get("customdata") or []]


@pytest.mark.parametrize("layer", ["grid", "hotspots", "persistence", "points"])
def test_every_cell_layer_names_its_cells_by_place(app_and_settings, layer):  # noqa: ANN001
    from observatory.dashboard import geo

    app, settings = app_and_settings
    out = _answer(app, '{"page": "carte", "type": "clickable-map"}[' + layer + "]", {})
    fig = out[MAP]["figure"]
    cells = [t for t in fig["data"] if t.get("customdata") and t["customdata"][0][-1] == "cell"]
    if layer in ("hotspots", "persistence") and not cells:
        pytest.skip(f"no {layer} in this random store")
    assert cells, [t.get("name") for t in fig["data"]]
    for trace in cells:
        ids = [row[0] for row in trace["customdata"]]
        names = _hover_names(trace)
        assert len(names) == len(ids) > 0
        # The click still carries the cell id; the reader sees where it is.
        assert all(RAW_ID.fullmatch(i) for i in ids)
        assert not any(RAW_ID.search(n) for n in names), names[:5]
        assert names == list(geo.cell_names(settings, pd.Series(ids)))
        assert all("Lyon" in n or "hors des arrondissements" in n for n in names), names[:5]


def test_cell_names_are_stable_and_distinct(app_and_settings):  # noqa: ANN001
    from observatory.dashboard import geo
    from observatory.territory import city_grid, load_territory

    _app, settings = app_and_settings
    grid = city_grid(load_territory(settings), settings.grid_size_m)["cell_id"].astype(str)
    names = geo.cell_names(settings, grid)
    assert names.is_unique  # repeats numbered, so that two rows of a table never read the same
    # A subset is named as in the whole city (not renumbered per view), and an id outside the grid stays an id.
    some = grid.sample(20, random_state=1)
    assert list(geo.cell_names(settings, some)) == list(names.loc[some.index])
    assert geo.cell_names(settings, pd.Series(["E9999_N99999"])).iloc[0] == "E9999_N99999"


def test_the_cell_panel_title_names_the_place(app_and_settings):  # noqa: ANN001
    from observatory.dashboard import geo, panel
    from observatory.territory import city_grid, load_territory

    app, settings = app_and_settings
    grid = city_grid(load_territory(settings), settings.grid_size_m)
    cell = str(grid["cell_id"].iloc[len(grid) // 2])
    with app.server.test_request_context("/"):
        from observatory.dashboard import components

        title = panel.selection_title(components.analytics(), "cell", cell)
    assert title == f"{geo.cell_names(settings, pd.Series([cell])).iloc[0]} (maille de {settings.grid_size_m} m)"
    assert not RAW_ID.search(title)


def test_cells_near_a_perimeter_are_named_in_french(app_and_settings):  # noqa: ANN001
    """« près de l'hypercentre », « près de la piscine de Vaise »: never « près de Hypercentre »."""
    from observatory.dashboard import geo
    from observatory.territory import city_grid, load_territory

    _app, settings = app_and_settings
    names = geo.cell_names(settings, city_grid(load_territory(settings), settings.grid_size_m)["cell_id"].astype(str))
    near = [n for n in names if "près d" in n]
    assert near, "no cell named after a nearby perimeter"
    assert not [n for n in near if re.search(r"près de (?:Hypercentre|Piscine|Centre)", n)]
    assert any(n.startswith("près de l'hypercentre") for n in near)
