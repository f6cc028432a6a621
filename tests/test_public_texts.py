"""Élu pages and the PDF speak plain French: no snapshot id, no CLI command, no repository path, one readable
paragraph per zone table, the web bilan carries the PDF's data-quality chapter, times in Paris time."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import datetime, timezone

import pandas as pd
import pytest

from observatory import labels
from observatory.dashboard import components
from observatory.reports.diagnostic import Section, Table
from tests.test_security import app, page_registry, users_settings  # noqa: F401 - fixtures of the access-denied test

SNAPSHOT_ID = "20261205T071545595714Z"
DEVELOPER = re.compile(r"«\s*observatory |docs/\S+\.md|\d{8}T\d{6,}Z")


def test_public_text_drops_commands_paths_and_snapshot_ids():
    cases = {
        "Contours approximatifs (fournis par le projet ; lancer « observatory territory fetch » pour les contours officiels)": "Contours approximatifs",
        "évaluation contre une zone témoin (méthode : docs/actions.md).": "évaluation contre une zone témoin.",
        "registre du plan d'actions ; méthode : docs/actions.md": "registre du plan d'actions",
        f"Extraits intégrés dans l'instantané {SNAPSHOT_ID} du 05/12/2026 08:15.": "Extraits intégrés dans l'instantané du 05/12/2026 08:15.",
    }
    for raw, expected in cases.items():
        assert labels.public_text(raw) == expected
    told = labels.public_text("celui que donne la commande « observatory quarantine » pour cet instantané")
    assert "observatory quarantine" not in told and "outil" in told
    assert labels.public_text("Texte ordinaire, 1 234 faits.") == "Texte ordinaire, 1 234 faits."


def test_times_read_by_users_are_paris_time():
    moment = datetime(2026, 12, 5, 7, 15, tzinfo=timezone.utc)
    assert labels.fmt_datetime(moment) == "05/12/2026 08:15"
    assert labels.fmt_datetime(datetime(2026, 7, 1, 12, 0, tzinfo=timezone.utc)) == "01/07/2026 14:00"  # summer time
    assert labels.data_as_of(moment) == "données arrêtées au 05/12/2026"
    assert labels.data_as_of(datetime(2026, 12, 31, 23, 30, tzinfo=timezone.utc)) == "données arrêtées au 01/01/2027"
    # A snapshot object without a date (hand-built stores) reads as the observatory's data, never as its repr.
    assert labels.data_as_of(object()) == labels.data_as_of(None) == "données de l'observatoire"


def _zone_section(verdicts: list[str | None], diffs: list[int | None]) -> Section:
    names = [f"Piscine {i}" for i in range(len(verdicts))]
    data = pd.DataFrame({"Zone": names, "faits_2024": [50] * len(names), "faits_2025": [50 + (d or 0) for d in diffs],
                         "evolution": pd.array(diffs, dtype="Int64"), "significative": verdicts})
    sentences = [f"Les faits enregistrés dans la zone « {n} » baissent (test exact de Poisson, seuil 5 %)." for n in names]
    sentences.append("Les piscines d'été ne sont ouvertes que de juin à août.")
    table = Table(number=1, title="Piscines", frame=data, data=data, key="zone-piscine")
    return Section(title="Piscines municipales", sentences=sentences, tables=[table], key="zone-piscine")


def test_ten_pool_sentences_become_one_reading_of_the_table():
    from observatory.reports.render import zone_sentences

    quiet = zone_sentences(_zone_section(["non"] * 10, [1, -2, 3, 0, -1, 2, 4, -3, 1, -14]))
    assert len(quiet) == 2 and quiet[1].startswith("Les piscines d'été")
    assert quiet[0] == ("Entre 2024 et 2025, aucune des 10 zones n'évolue de façon statistiquement significative (test exact de Poisson, "
                        "seuil 5 %) : les écarts du tableau relèvent des variations ordinaires d'une année à l'autre.")
    moved = zone_sentences(_zone_section(["oui", "non", None, "non"], [-30, 2, None, 1]))
    assert "baisse pour « Piscine 0 » (−30 faits)" in moved[0]
    assert "Les 2 autres zones ne changent pas" in moved[0] and "pour 1 zone, les effectifs sont trop faibles" in moved[0]
    one = _zone_section(["non"], [3])
    assert zone_sentences(one) == one.sentences  # a single zone keeps its own sentence


@pytest.fixture(scope="module")
def snapshot_files(tmp_path_factory):
    from tests.incident_factory import random_incidents, write_snapshot

    return write_snapshot(random_incidents(5_000, seed=11, start_year=2023, end_year=2025), tmp_path_factory.mktemp("snap"))


def test_printed_diagnostic_names_no_command_path_or_snapshot_id(settings, snapshot_files):
    from observatory.analytics.engine import Analytics
    from observatory.reports.diagnostic import diagnostic_for
    from observatory.reports.render import render_html

    an = Analytics.from_files(snapshot_files, settings, snapshot_id=SNAPSHOT_ID)
    d = diagnostic_for(settings, 2025, None, analytics=an)
    d = replace(d, snapshot_date=datetime(2026, 12, 5, 7, 15, tzinfo=timezone.utc))
    text = render_html(d)
    assert SNAPSHOT_ID in json.dumps([d.snapshot_id] + [v for _, v in d.methods])  # the diagnostic holds it…
    assert not DEVELOPER.findall(text), DEVELOPER.findall(text)[:5]  # …the document does not print it
    assert "données arrêtées au 05/12/2026 (05/12/2026 08:15, heure de Paris)" in text


def test_bilan_page_has_the_pdf_quality_chapter_and_no_developer_text(settings, snapshot_files, monkeypatch):
    from observatory.analytics.engine import Analytics
    from observatory.dashboard import security
    from tests.dashboard_data import shared_app

    app = shared_app(settings)
    an = Analytics.from_files(snapshot_files, settings, snapshot_id=SNAPSHOT_ID)
    monkeypatch.setattr(components, "analytics", lambda: an)
    monkeypatch.setattr(security, "current_role", lambda: "elu")
    import observatory.dashboard.pages.bilan as bilan

    with app.server.test_request_context("/bilan?annee=2025"):
        page = bilan.layout(annee="2025")
    text = json.dumps(page.to_plotly_json(), default=lambda o: o.to_plotly_json() if hasattr(o, "to_plotly_json") else str(o), ensure_ascii=False)
    assert "Qualité des données" in text and "Part des faits localisés précisément" in text
    assert not DEVELOPER.findall(text), DEVELOPER.findall(text)[:5]
    assert "onglet Données" not in text


def test_method_notes_for_an_elu_give_the_data_date_not_the_snapshot_id(settings, snapshot_files, monkeypatch):
    from observatory.analytics import Filters
    from observatory.analytics.engine import Analytics
    from observatory.dashboard import security
    from tests.dashboard_data import shared_app

    app = shared_app(settings)
    an = Analytics.from_files(snapshot_files, settings, snapshot_id=SNAPSHOT_ID)
    an.snapshot.created_at = datetime(2026, 12, 5, 7, 15, tzinfo=timezone.utc)
    with app.server.test_request_context("/"):
        monkeypatch.setattr(security, "current_role", lambda: "elu")
        elu = components.method_note(an, Filters())
        monkeypatch.setattr(security, "current_role", lambda: "analyste")
        analyst = components.method_note(an, Filters())
    assert "données arrêtées au 05/12/2026" in elu and SNAPSHOT_ID not in elu and "observatory" not in elu.replace("(observatoire", "")
    assert SNAPSHOT_ID in analyst


def test_access_denied_page_has_the_app_look_and_two_ways_out(app):  # noqa: ANN001, F811 - fixture of test_security
    from tests.test_security import sign_in

    client = app.server.test_client()
    assert sign_in(client, "paul").status_code == 303  # an élu
    response = client.get("/carte")
    body = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "vendor/bootstrap.min.css" in body and "class='card shadow-sm access-denied'" in body
    assert "<h1 class='h4 mb-3'>Accès refusé</h1>" in body and "Cette page est réservée aux analystes" in body
    assert "Retour à l'accueil" in body and "Changer d'utilisateur" in body


def test_demo_official_edition_matches_the_demo_counts_and_says_it_is_fictitious(tmp_path):
    from observatory import official
    from observatory.demo import official as demo_official
    from observatory.official.compare import OBSERVATORY_COUNT, observatory_indicator_counts

    counts = pd.DataFrame({"year": [2024, 2024, 2025, 2025], "arrondissement": ["69381", "69382", "69381", "69382"],
                           "category": ["cambriolage_logement"] * 4, "count": [200, 100, 220, 2]})
    if "cambriolage_logement" not in official.indicators.category_indicators():
        counts["category"] = next(iter(official.indicators.category_indicators()))
    rows = demo_official.official_rows(counts, {"69381": 30_000, "69382": 30_000, "69123": 60_000})
    obs = observatory_indicator_counts(counts)
    assert len(rows) == len(obs) and set(rows["CODGEO"]) == {"69123", "69381", "69382"}
    city = rows[(rows["CODGEO"] == "69123") & (rows["annee"] == 2025)].iloc[0]
    expected = int(obs[(obs["code"] == "69123") & (obs["year"] == 2025)][OBSERVATORY_COUNT].iloc[0])
    assert 0.5 * expected <= city["nombre"] <= 1.2 * expected  # the same order as the demo's own counts
    small = rows[(rows["CODGEO"] == "69382") & (rows["annee"] == 2025)].iloc[0]
    assert small["est_diffuse"] == "ndiff" and pd.isna(small["nombre"])  # a tiny count is not diffused, as the SSMSI does
    info = {"edition": 2026, "source_file": f"{demo_official.DEMO_PREFIX}-2026.csv"}
    assert official.is_demo_edition(info) and "fictive" in official.source_citation(info)
    assert not official.is_demo_edition({"edition": 2026, "source_file": "donnee-data-gouv-2026.csv"})


def test_bilan_test_column_keeps_one_line(settings):  # noqa: ANN001
    from tests.dashboard_data import shared_app

    shared_app(settings)  # page modules register with the app's Dash Pages
    from observatory.dashboard.pages import bilan

    class Tab:
        def is_numeric(self, column):  # noqa: ANN001, ANN201
            return column == "2025"

    assert "text-nowrap" in bilan._column_class(Tab(), "Test")
    assert "text-nowrap" not in bilan._column_class(Tab(), "Catégories")
