"""Empty periods say so: the CLI export refuses a year without data (exit ≠ 0, French message, no file), the
overview map names the period it shows (« année en cours » only for this year)."""

from __future__ import annotations

from datetime import date, datetime, timezone

from observatory.analytics.filters import Filters
from tests.test_exports_cli import data_dir, run  # noqa: F401 - the CLI fixture (a 2025 snapshot)


def test_export_of_a_year_without_data_fails_in_french(data_dir, tmp_path):  # noqa: ANN001, F811
    out = tmp_path / "x.csv"
    result = run(data_dir, tmp_path, "arrondissements", "--year", "2031", "--out", str(out))
    assert result.returncode != 0
    assert "aucune donnée pour la période demandée (du 01/01/2031 au 31/12/2031)" in result.stdout + result.stderr
    assert "Traceback" not in result.stderr and not out.exists()
    ok = run(data_dir, tmp_path, "arrondissements", "--year", "2025", "--out", str(out))
    assert ok.returncode == 0 and out.exists()


def test_period_outside_data_only_when_there_is_no_overlap():
    from observatory.commands.report import period_outside_data

    data = (date(2019, 1, 1), date(2025, 12, 31))
    assert period_outside_data(Filters(start="2031-01-01", end="2031-12-31"), data)
    assert period_outside_data(Filters(start="2010-01-01", end="2018-12-31"), data)
    assert period_outside_data(Filters(start="2025-06-01", end="2026-06-01"), data) is None
    assert period_outside_data(Filters(), data) is None
    assert "aucun fait" in period_outside_data(Filters(), (None, None))


def test_overview_map_title_names_the_year():
    from observatory.dashboard.shaping import map_title

    today = date(2026, 12, 5)
    assert map_title(date(2019, 1, 1), date(2019, 12, 31), today) == "Arrondissements — 2019"
    assert map_title(date(2026, 1, 1), date(2026, 11, 30), today) == "Arrondissements — année en cours (2026)"
    assert map_title(date(2025, 3, 1), date(2025, 9, 30), today) == "Arrondissements — du 01/03/2025 au 30/09/2025"


def test_prepare_shows_one_bar_per_step_advanced_by_the_demo_messages():
    from observatory.commands.prepare import StepBars

    with StepBars(2) as bars:
        for text in ("police_nationale : génération 2019–2025", "tcl : génération 2019–2025", "police_nationale : intégration de 7 fichier(s)"):
            bars.message(text)
        done = {bars.progress.tasks[i].description: bars.progress.tasks[i].completed for i in range(2)}
        assert done == {"Génération des extraits": 2, "Intégration dans l'entrepôt": 0}
    assert bars.progress.tasks[1].completed == 1  # the last partner is done when the step ends

    # More items than expected (aggregate sources after the partners): the total follows, never « 3/2 ».
    with StepBars(2) as bars:
        for text in ("a : intégration de 1 fichier(s)", "b : intégration de 1 fichier(s)", "mjd : intégration de 1 fichier(s)"):
            bars.message(text)
    task = bars.progress.tasks[1]
    assert task.completed == 3 and task.total == 3


def test_cli_export_date_is_paris_time():
    import time_machine

    from observatory.reports.exports import ExportMeta

    with time_machine.travel(datetime(2026, 7, 1, 12, 0, tzinfo=timezone.utc), tick=False):
        summer = ExportMeta(title="t", source="s", filters="f", snapshot_id="x", privacy="p", protected=True)
    with time_machine.travel(datetime(2026, 12, 31, 23, 30, tzinfo=timezone.utc), tick=False):
        new_year = ExportMeta(title="t", source="s", filters="f", snapshot_id="x", privacy="p", protected=True)
    assert summer.created_at == datetime(2026, 7, 1, 14, 0)
    assert new_year.created_at == datetime(2027, 1, 1, 0, 30)


def test_hot_spot_cells_are_named_by_place_not_by_raw_id(tmp_path):  # noqa: ANN001
    import pandas as pd

    from observatory.config import get_settings
    from observatory.dashboard import geo
    from observatory.territory import LAMBERT93, WGS84, load_territory
    from observatory.territory.geography import grid_cell_ids
    from pyproj import Transformer

    settings = get_settings(data_dir=tmp_path / "data")
    terr = load_territory(settings)
    to_l93 = Transformer.from_crs(WGS84, LAMBERT93, always_xy=True)
    hyper = terr.zones[terr.zones["kind"] == "hypercentre"].geometry.iloc[0].representative_point()
    far = terr.arrondissements[terr.arrondissements["code"] == "69389"].geometry.iloc[0].representative_point()
    xs, ys = to_l93.transform([hyper.x, hyper.x, far.x], [hyper.y, hyper.y, far.y])
    ids = pd.Series(grid_cell_ids(xs, ys, 200))
    names = geo.cell_places(ids, terr, 200)
    hyper_name = terr.zones[terr.zones["kind"] == "hypercentre"]["name"].iloc[0]
    assert names[0].startswith(hyper_name) or names[0].startswith("près de " + hyper_name)
    assert names[1] == names[0] + ", maille 2"  # the same cell twice: rows stay distinct
    assert "Lyon 9e" in names[2]
    assert not any(n.startswith("E") and "_N" in n for n in names)
