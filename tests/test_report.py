"""The yearly diagnostic: narrative sentences, protection of every published count, HTML/PDF output read back."""

from __future__ import annotations

import shutil
import subprocess

import pandas as pd
import pytest
from hypothesis import given, settings as hsettings, strategies as st

from observatory import schema
from observatory.reports import narrative
from observatory.reports.diagnostic import DiagnosticInputs, build_diagnostic, diagnostic_for
from observatory.reports.protection import PRIMARY, SECONDARY, protect_table
from observatory.reports.render import render_html
from observatory.territory import load_territory


# Narrative --------------------------------------------------------------------------------------------------------
def test_sentence_matches_the_issue_example():
    ch = narrative.Change("Cambriolages de logement", current=623, previous=708, previous_label="2024", p_value=0.02, significant=True)
    assert narrative.change_sentence(ch) == (
        "Les cambriolages de logement baissent de 12\u00a0% (−85 faits) par rapport à 2024 ; cette baisse est significative."
    )


def test_sentence_never_claims_significance_it_does_not_have():
    ch = narrative.Change("Tranquillité publique", current=110, previous=100, previous_label="2024", p_value=0.5, significant=False)
    text = narrative.change_sentence(ch)
    assert text.startswith("Les faits de tranquillité publique augmentent de 10\u00a0% (+10 faits)")
    assert "n'est pas significative" in text
    for adjective in ("forte", "nette", "inquiétante", "spectaculaire", "importante"):
        assert adjective not in text


def test_sentence_small_counts_give_counts_not_percent_and_hidden_reveal_nothing():
    small = narrative.Change("Vols avec armes", current=9, previous=6, previous_label="2024", p_value=0.6, unreliable=True)
    assert narrative.change_sentence(small) == (
        "Les vols avec armes passent de 6 à 9 faits (+3) par rapport à 2024 ; les effectifs sont trop faibles pour conclure."
    )
    hidden = narrative.Change("Vols avec armes", current=3, previous=12, previous_label="2024", hidden=True)
    text = narrative.change_sentence(hidden)
    assert "3" not in text.replace("2024", "") and "12" not in text and "%" not in text


# Protection -------------------------------------------------------------------------------------------------------
def test_protect_table_primary_and_complementary():
    df = pd.DataFrame({"k": list("abcd"), "n": [3, 0, 7, 20]})
    prot = protect_table(df, ["n"], 5, with_total=True)
    # 3 is primary; alone with a published total it could be recovered, so the smallest other non-zero (7) goes too.
    assert list(prot["n_status"]) == [PRIMARY, "", SECONDARY, ""]
    assert list(protect_table(df, ["n"], 5, with_total=False)["n_status"]) == [PRIMARY, "", "", ""]


# Diagnostic on tiny hand-made aggregates ----------------------------------------------------------------------
def _inputs(settings, counts_rows, zone_rows=()):
    terr = load_territory(settings)
    counts = pd.DataFrame(counts_rows, columns=["year", "arrondissement", "category", "family", "n"])
    zones = pd.DataFrame(list(zone_rows), columns=["year", "zone_id", "arrondissement", "family", "n"])
    return DiagnosticInputs(
        counts=counts, zone_counts=zones, zones=pd.DataFrame(terr.zones.drop(columns="geometry")),
        arrondissements=terr.arrondissements, snapshot_id="snap-test", boundary_source=terr.boundary_source,
    )


def _rows():
    fam = schema.category_family
    rows = [
        (2024, "69383", "cambriolages_logement", fam("cambriolages_logement"), 708),
        (2025, "69383", "cambriolages_logement", fam("cambriolages_logement"), 623),
        (2024, "69383", "vols_avec_armes", fam("vols_avec_armes"), 12),
        (2025, "69383", "vols_avec_armes", fam("vols_avec_armes"), 3),  # must never be printed
        # With only one other category in the family, the hidden 3 would force the 623 to be hidden too (the
        # family total is published); this third one is the smaller complement.
        (2024, "69383", "vols_vehicules", fam("vols_vehicules"), 30),
        (2025, "69383", "vols_vehicules", fam("vols_vehicules"), 25),
        (2024, "69381", "escroqueries", fam("escroqueries"), 40),
        (2025, "69381", "escroqueries", fam("escroqueries"), 90),
    ]
    return rows


def test_diagnostic_key_figures_and_hidden_counts(settings):
    inputs = _inputs(settings, _rows(), [(2025, "qpv_moncey", "69383", "atteintes_biens", 2), (2024, "qpv_moncey", "69383", "atteintes_biens", 30)])
    d = build_diagnostic(inputs, 2025, None, min_count=5)
    assert d.key_figures[0].value == "741"  # 623 + 3 + 25 + 90
    assert any("Les cambriolages de logement baissent de 12\u00a0% (−85 faits)" in s for sec in d.themes for s in sec.sentences)
    html = render_html(d)
    assert "< 5" in html.replace("&lt;", "<")
    # The hidden 3 of vols avec armes: nowhere as a cell; its complement in the same family table is "s".
    tables = [t for t in d.tables if "Atteintes aux biens" in t.title]
    frame = tables[0].frame
    row = frame[frame["Catégorie"] == "Vols avec armes"].iloc[0]
    assert row["2025"] == "< 5" and row["Évolution"] == "" and row["Évolution (%)"] == ""
    assert frame.loc[frame["Catégorie"] == "Vols de véhicule", "2025"].iloc[0] == "s"
    # Zone count 2 is hidden too, and its change not published.
    zone = [t for t in d.tables if t.key == "zone-qpv"][0].frame
    assert zone.loc[zone["Zone"] == "Moncey", "2025"].iloc[0] == "< 5"
    escro = [s for s in d.priorities if "Les escroqueries" in s]
    assert escro and "cette hausse est significative" in escro[0]


def test_arrondissement_report_counts_only_its_arrondissement(settings):
    d = build_diagnostic(_inputs(settings, _rows()), 2025, "69383", min_count=5)
    assert d.title == "Bilan annuel 2025 — Lyon 3e"
    assert d.key_figures[0].value == "651"  # 623 + 3 + 25
    assert d.arrondissement_sections == []


@hsettings(max_examples=25, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(["69381", "69382", "69383"]), st.sampled_from(["cambriolages_logement", "vols_avec_armes", "escroqueries", "incivilites"]),
                       st.sampled_from([2024, 2025]), st.integers(0, 12)), min_size=1, max_size=20),
    st.sampled_from([None, "69381", "69383"]),
)
def test_no_cell_below_threshold_in_any_public_table(rows, arrondissement):
    from observatory.config import get_settings

    settings = get_settings(env={})
    counts = [(y, a, c, schema.category_family(c), n) for a, c, y, n in rows]
    d = build_diagnostic(_inputs(settings, counts), 2025, arrondissement, min_count=5)
    for table in d.tables:
        for col in table.frame.columns:
            if col in ("2024", "2025", "2021", "2022", "2023"):
                for v in table.frame[col]:
                    if v not in ("< 5", "s", ""):
                        n = int(v.replace("\u00a0", ""))
                        assert n == 0 or n >= 5, (table.title, col, v)
        for col in table.data.columns:
            if col.startswith("faits_"):
                assert all(v is None or pd.isna(v) or v == 0 or v >= 5 for v in table.data[col]), (table.title, col)


# Whole report from a snapshot, as PDF read back ------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_snapshot(tmp_path_factory):
    from tests.incident_factory import random_incidents, write_snapshot

    folder = tmp_path_factory.mktemp("snap")
    return write_snapshot(random_incidents(20_000, seed=3, start_year=2021, end_year=2025), folder)


@pytest.mark.skipif(shutil.which("chromium") is None or shutil.which("pdftotext") is None, reason="needs Debian chromium and poppler-utils")
def test_pdf_contains_the_expected_figures(settings, small_snapshot, tmp_path):
    from observatory.analytics.engine import Analytics
    from observatory.reports.render import render_pdf

    an = Analytics.from_files(small_snapshot, settings, snapshot_id="snap-pdf")
    d = diagnostic_for(settings, 2025, None, analytics=an)
    d_again = diagnostic_for(settings, 2025, None, analytics=an)
    assert [f.svg for f in d.figures] == [f.svg for f in d_again.figures]  # determinism
    assert [t.frame.to_dict() for t in d.tables] == [t.frame.to_dict() for t in d_again.tables]
    pdf = tmp_path / "r.pdf"
    pdf.write_bytes(render_pdf(d))
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, check=True).stdout.decode()
    flat = " ".join(text.replace("\u00a0", " ").split())
    total = an.counts(__import__("observatory.analytics", fromlist=["Filters"]).Filters(start="2025-01-01", end="2025-12-31"), by=())["count"].iloc[0]
    assert f"En 2025, {total:,} faits".replace(",", " ").replace("En 2025  ", "En 2025, ") in flat
    assert "Diagnostic local de sécurité 2025" in flat and "snap-pdf" in flat
    assert "Page 2 / " in flat  # page numbers
    assert "Figure 1." in flat and "Tableau 1." in flat
    assert "Règle de confidentialité" in flat and "Test statistique" in flat
    pages = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, check=True).stdout.decode()
    assert "595.92 x 842.88 pts" in pages or "595 x 842 pts" in pages or "(A4)" in pages, pages
