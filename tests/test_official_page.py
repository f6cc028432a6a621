"""The "Statistiques officielles" page and the comparison wired to the analytics of a real published store."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.compute as pc
import pytest

from observatory import official, schema
from observatory.config import get_settings
from observatory.official import compare
from observatory.official import model as m

REPO = Path(__file__).resolve().parents[1]

HEADER = (
    '"CODGEO_2026";"annee";"indicateur";"unite_de_compte";"nombre";"taux_pour_mille";"est_diffuse";"insee_pop";'
    '"insee_pop_millesime";"insee_log";"insee_log_millesime";"complement_info_nombre";"complement_info_taux"'
)


def _line(code, year, label, nombre, taux, status="diff", pop="500000", log="300000") -> str:
    q = lambda v: "NA" if v is None else f'"{v}"'  # noqa: E731
    return ";".join(q(v) for v in (code, year, label, "Infraction", nombre, taux, status, pop, "2023", log, "2022", None, None))


LINES = [
    _line("69123", "2024", "Cambriolages de logement", "3000", "10,0000000"),
    _line("69123", "2023", "Cambriolages de logement", "2700", "9,0000000"),
    _line("69381", "2024", "Cambriolages de logement", "100", "5,0000000", pop="20000", log="20000"),
    _line("69381", "2023", "Cambriolages de logement", None, None, status="ndiff", pop="20000", log="20000"),
    _line("69123", "2024", "Violences sexuelles", "500", "1,0000000"),
    _line("69381", "2024", "Violences sexuelles", "12", "0,6000000", pop="20000", log="20000"),
]


def texts(component) -> str:
    """Every string inside a Dash component tree, joined (repr() would escape the no-break spaces)."""
    if isinstance(component, str):
        return component
    if isinstance(component, (list, tuple)):
        return " ".join(texts(c) for c in component)
    children = getattr(component, "children", None)
    return "" if children is None else texts(children)


@pytest.fixture
def settings(tmp_path):
    return get_settings(root=REPO, env={}, data_dir=tmp_path / "data")


def _import(settings, tmp_path) -> None:
    path = tmp_path / "ssmsi.csv"
    path.write_text("\n".join([HEADER, *LINES]) + "\n", encoding="utf-8")
    official.import_official(settings, path, production_date="2026-03-12")


@pytest.fixture
def app_for(settings):
    from observatory.dashboard.app import create_app

    return create_app(settings)


def test_empty_state_explains_fetch_and_import(settings, app_for):
    from observatory.dashboard.pages import officielles as page

    with app_for.server.test_request_context("/officielles"):
        text = str(page.layout())
    assert "Aucune statistique officielle importée" in text
    assert "observatory official fetch" in text and "observatory official import FICHIER" in text


def test_page_layout_and_callbacks(settings, tmp_path, app_for):
    from observatory.dashboard.pages import officielles as page

    _import(settings, tmp_path)
    with app_for.server.test_request_context("/officielles"):
        text = str(page.layout())
        assert "édition 2026, produite le 12/03/2026" in text
        assert "Pourquoi les chiffres diffèrent" in text
        series, series_note, arr, arr_note = page.official_figures("cambriolages_logement", "69381", "rate", 2024)
        table, _note = page.official_table("cambriolages_logement", "69381")
        fig, fig_note, cmp_table, _ = page.official_comparison("cambriolages_logement", "69381", 2024)
    # The arrondissement's rate and Lyon's, as two lines over 2023–2024; the non-diffused 2023 is a gap.
    by_name = {t.name: t for t in series.data}
    assert list(by_name) == ["Lyon 1er", "Lyon"]
    assert list(by_name["Lyon 1er"].y) == [None, 5.0] and list(by_name["Lyon"].y) == [9.0, 10.0]
    assert "Non diffusé par le SSMSI en 2023" in series_note
    # The arrondissements bar chart of 2024 with Lyon's rate as a dashed line at 10.
    assert list(arr.data[0].x) == ["Lyon 1er"] and list(arr.data[0].y) == [5.0]
    assert arr.layout.shapes[0].y0 == 10.0
    cells = texts(table)
    assert "non diffusé" in cells and "5,00" in cells and "10,00" in cells and "20\u00a0000" in cells
    # No snapshot published: the comparison says so instead of failing.
    assert "Aucune donnée de l'observatoire intégrée" in fig_note


def test_count_measure_shows_only_the_territory(settings, tmp_path, app_for):
    from observatory.dashboard.pages import officielles as page

    _import(settings, tmp_path)
    with app_for.server.test_request_context("/officielles"):
        series, *_ = page.official_figures("cambriolages_logement", "69123", "count", 2024)
    assert [t.name for t in series.data] == ["Lyon"] and list(series.data[0].y) == [2700, 3000]


def test_observatory_counts_are_masked_for_elus():
    frame = pd.DataFrame(
        {
            m.CODE: ["69123", "69381", "69381", "69381"],
            m.INDICATOR: ["violences_sexuelles", "violences_sexuelles", "cambriolages_logement", "cambriolages_logement"],
            compare.OBSERVATORY_COUNT: pd.array([40, 12, 3, 0], dtype="Int64"),
        }
    )
    assert compare.observatory_count_text(frame, 5, viewer_is_analyst=False).tolist() == ["40", "n.d.", "<\u00a05", "0"]
    assert compare.observatory_count_text(frame, 5, viewer_is_analyst=True).tolist() == ["40", "12", "<\u00a05", "0"]


def test_comparison_through_analytics_of_a_published_store(settings, tmp_path):
    from observatory import store
    from tests.dashboard_data import publish_random_store

    publish_random_store(settings, n=3000, start_year=2024, end_year=2024)
    _import(settings, tmp_path)
    snap = store.current_snapshot(settings)
    table = store.read_incident_files(snap.incident_files)
    burglary_2024 = pc.and_(pc.equal(table.column(schema.CATEGORY), "cambriolages_logement"), pc.equal(table.column(schema.YEAR), 2024))
    expected_city = pc.sum(table.filter(burglary_2024).column(schema.N_FACTS)).as_py() or 0
    in_1er = pc.and_(burglary_2024, pc.equal(table.column(schema.ARRONDISSEMENT), "69381"))
    expected_1er = pc.sum(table.filter(in_1er).column(schema.N_FACTS)).as_py() or 0

    cmp = official.comparison(settings).set_index([m.CODE, m.YEAR, m.INDICATOR])
    city = cmp.loc[("69123", 2024, "cambriolages_logement")]
    assert (city["official_count"], city["observatory_count"]) == (3000, expected_city)
    assert cmp.loc[("69381", 2024, "cambriolages_logement"), "observatory_count"] == expected_1er
    # 2023 is outside the observatory's data: unknown, not zero.
    assert pd.isna(cmp.loc[("69123", 2023, "cambriolages_logement"), "observatory_count"])


def _csv(payload) -> tuple[list[list[str]], dict[str, str]]:
    """A dcc.send_bytes payload of a CSV export → (body rows, metadata rows)."""
    import base64
    import csv
    import io

    text = base64.b64decode(payload["content"]).decode("utf-8-sig")
    body, meta = text.split("\r\n\r\n", 1)
    rows = list(csv.reader(io.StringIO(body), delimiter=";"))
    return rows, {r[0]: r[1] for r in csv.reader(io.StringIO(meta), delimiter=";") if r}


def test_layout_hides_the_filter_bar_and_drops_the_sentence(settings, tmp_path, app_for):
    from observatory.dashboard.pages import officielles as page

    _import(settings, tmp_path)
    with app_for.server.test_request_context("/officielles"):
        tree = page.layout()
    assert tree.className == page.PAGE_CLASS == "officielles-page"
    assert "ne s'applique pas" not in texts(tree)
    css = (REPO / "observatory" / "dashboard" / "assets" / "style.css").read_text(encoding="utf-8")
    assert "body:has(.officielles-page) .filter-bar { display: none !important; }" in css
    # Every figure and table card has its CSV and XLSX buttons.
    text = str(tree)
    for target in (page.SERIES, page.ARRONDISSEMENTS, page.TABLE, page.COMPARISON, page.COMPARISON_TABLE):
        for fmt in ("csv", "xlsx"):
            assert str({"type": page.EXPORT_BUTTON, "target": target, "fmt": fmt}) in text


def test_exports_of_the_official_figures(settings, tmp_path, app_for):
    from observatory.dashboard.pages import officielles as page

    _import(settings, tmp_path)
    with app_for.server.test_request_context("/officielles"):
        series = page.export_download(page.SERIES, "csv", "cambriolages_logement", "69381", "rate", 2024, analyst=False)
        arr = page.export_download(page.ARRONDISSEMENTS, "csv", "cambriolages_logement", "69381", "rate", 2024, analyst=False)
        table = page.export_download(page.TABLE, "xlsx", "cambriolages_logement", "69381", "rate", 2024, analyst=False)
    rows, meta = _csv(series)
    assert rows[0] == ["Année", "Code INSEE", "Territoire", "Indicateur", "Unité de compte", "Nombre", "Taux pour 1\u00a0000 logements",
                       "Diffusion", "Logements", "Millésime (logements)"]
    body = {(r[0], r[1]): r for r in rows[1:]}
    assert set(body) == {("2023", "69123"), ("2023", "69381"), ("2024", "69123"), ("2024", "69381")}
    assert body[("2024", "69381")][5:9] == ["100", "5,0", "diffusé", "20000"]
    assert body[("2023", "69381")][5:8] == ["", "", "non diffusé"]  # not diffused: empty, never 0
    assert meta["Filtres"].startswith("édition SSMSI 2026 ; indicateur : Cambriolages de logement ; territoire : Lyon 1er (69381)")
    assert "édition 2026" in meta["Source"]
    assert series["filename"] == "evolution-sur-les-annees-ssmsi-2026-cambriolages-logement-69381.csv"
    rows, meta = _csv(arr)
    assert [r[1] for r in rows[1:]] == ["69123", "69381"] and {r[0] for r in rows[1:]} == {"2024"}
    assert "année : 2024" in meta["Filtres"] and arr["filename"].endswith("-2024.csv")
    # XLSX: typed cells, read back with openpyxl.
    import base64
    import io

    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(base64.b64decode(table["content"])))
    sheet = list(wb.active.values)
    assert sheet[0] == ("Année", "Nombre", "Taux pour 1\u00a0000 logements", "Taux de Lyon", "Logements")
    assert sheet[1] == (2024, 100, 5, 10, 20000) and sheet[2] == (2023, None, None, 9, 20000)
    assert dict(wb["Métadonnées"].values)["Filtres"].startswith("édition SSMSI 2026")


def test_decimal_comma_in_official_exports():
    from observatory.official import tables
    from observatory.reports.exports import ExportMeta, to_csv_bytes

    rows = pd.DataFrame({
        m.CODE: ["69381"], m.YEAR: [2024], m.INDICATOR: ["cambriolages_logement"], m.UNIT: ["Infraction"],
        m.COUNT: pd.array([7], dtype="Int64"), m.RATE: [0.35123], m.DIFFUSED: [True], m.RATE_BASE: ["logements"],
        m.POPULATION: pd.array([20000], dtype="Int64"), m.POPULATION_YEAR: pd.array([2023], dtype="Int64"),
        m.DWELLINGS: pd.array([19929], dtype="Int64"), m.DWELLINGS_YEAR: pd.array([2022], dtype="Int64"),
    })
    text = to_csv_bytes(tables.official_rows_table(rows, "cambriolages_logement"), ExportMeta(title="t")).decode("utf-8-sig")
    assert text.splitlines()[1] == "2024;69381;Lyon 1er;Cambriolages de logement;Infraction;7;0,351;diffusé;19929;2022"


def test_comparison_exports_mask_like_the_page(settings, tmp_path, app_for):
    """The observatory's counts 1..4 read "< 5" and their ratio to the (public) official count is withheld, and
    an élu gets sensitive indicators "n.d." by arrondissement — in the files exactly as on screen."""
    from observatory.official import tables

    cmp = pd.DataFrame({
        m.CODE: ["69381", "69381", "69381"], m.LEVEL: "arrondissement", m.YEAR: [2024, 2024, 2024],
        m.INDICATOR: ["cambriolages_logement", "violences_sexuelles", "vols_avec_armes"],
        m.INDICATOR_LABEL: ["Cambriolages de logement", "Violences sexuelles", "Vols avec armes"],
        compare.CATEGORIES: ["cambriolages_logement", "violences_sexuelles", "vols_avec_armes"],
        compare.OFFICIAL_COUNT: pd.array([100, 12, 10], dtype="Int64"), m.DIFFUSED: True,
        compare.OBSERVATORY_COUNT: pd.array([80, 9, 3], dtype="Int64"),
        compare.DIFFERENCE: pd.array([-20, -3, -7], dtype="Int64"), compare.RATIO: pd.array([0.8, 0.75, 0.3], dtype="Float64"),
    })
    elu = tables.comparison_table(tables.masked_comparison(cmp, 5, viewer_is_analyst=False)).set_index("Indicateur SSMSI")
    assert elu.loc["Cambriolages de logement", "Observatoire (nombre)"] == 80
    assert elu.loc["Cambriolages de logement", "Observatoire / SSMSI (%)"] == 80.0
    assert elu.loc["Violences sexuelles", "Observatoire (nombre)"] == "n.d." and pd.isna(elu.loc["Violences sexuelles", "Observatoire / SSMSI (%)"])
    assert elu.loc["Vols avec armes", "Observatoire (nombre)"] == "<\u00a05" and pd.isna(elu.loc["Vols avec armes", "Observatoire / SSMSI (%)"])
    assert elu.loc["Vols avec armes", "Catégories de l'observatoire"] == "Vols avec armes"
    analyst = tables.comparison_table(tables.masked_comparison(cmp, 5, viewer_is_analyst=True)).set_index("Indicateur SSMSI")
    assert analyst.loc["Violences sexuelles", "Observatoire (nombre)"] == 9
    assert analyst.loc["Vols avec armes", "Observatoire (nombre)"] == "<\u00a05"


def test_comparison_export_through_a_published_store(settings, tmp_path, app_for):
    from observatory.dashboard.pages import officielles as page
    from tests.dashboard_data import publish_random_store

    publish_random_store(settings, n=1500, start_year=2024, end_year=2024)
    _import(settings, tmp_path)
    with app_for.server.test_request_context("/officielles"):
        year = page.export_download(page.COMPARISON_TABLE, "csv", "cambriolages_logement", "69123", "rate", 2024, analyst=False)
        fig = page.export_download(page.COMPARISON, "csv", "cambriolages_logement", "69123", "rate", 2024, analyst=False)
        cmp_table, _note = page.official_comparison("cambriolages_logement", "69123", 2024)[2:]
    rows, meta = _csv(year)
    assert rows[0][:6] == ["Année", "Code INSEE", "Territoire", "Indicateur SSMSI", "Catégories de l'observatoire", "SSMSI (nombre)"]
    labels_in_file = {r[3] for r in rows[1:]}
    assert {"Cambriolages de logement", "Violences sexuelles"} <= labels_in_file and {r[0] for r in rows[1:]} == {"2024"}
    # The file's observatory counts are the ones the page's table prints.
    on_page = texts(cmp_table)
    for r in rows[1:]:
        assert r[6] in on_page.replace("\u00a0", "") or r[6].replace(" ", "\u00a0") in on_page
    assert meta["Instantané"] and "année : 2024 ; territoire : Lyon (69123)" in meta["Filtres"]
    rows, _ = _csv(fig)
    assert {r[3] for r in rows[1:]} == {"Cambriolages de logement"} and {r[0] for r in rows[1:]} == {"2023", "2024"}
