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
    # Says what the test says, no more: not "within the usual year-to-year variation" (the test does not measure that).
    assert text.endswith("; l'écart n'est pas statistiquement significatif (test exact de Poisson, seuil 5\u00a0%).")
    for claim in ("forte", "nette", "inquiétante", "spectaculaire", "importante", "habituelles"):
        assert claim not in text
    assert "habituelles" not in narrative.priorities_sentence([], 2025, 2024)


def test_how_to_read_and_methods_say_many_tests_and_overdispersion(settings):
    text = narrative.how_to_read(5)
    assert "une comparaison sur vingt" in text and "Benjamini–Hochberg" in text
    assert "quasi-Poisson" in text and "pas de comparaison possible" in text
    d = build_diagnostic(_inputs(settings, _rows()), 2025, None, min_count=5)
    methods = dict(d.methods)["Test statistique"]
    assert "une ligne sur vingt" in methods and "Benjamini–Hochberg" in methods and "faits indépendants" in methods
    assert "quasi-Poisson" in methods and "dispersion" in methods


def test_benjamini_hochberg_by_hand():
    from observatory.analytics.compare import benjamini_hochberg

    # Sorted p 0.01, 0.02, 0.03, 0.5 with m = 4: q = min over k ≥ i of p_(k)·m/k → 0.04, 0.04, 0.04, 0.5.
    p = pd.Series([0.02, 0.5, 0.01, 0.03, 0.9])
    tested = pd.Series([True, True, True, True, False])  # the last is no test (0 facts both years): kept as is
    q = benjamini_hochberg(p, tested)
    assert q.round(6).tolist() == [0.04, 0.5, 0.04, 0.04, 0.9]


def test_a_lone_p_below_5_percent_among_many_categories_is_not_called_significant(settings):
    # 24 categories unchanged and one moving 100 → 135 (raw p ≈ 0.026, × 25 / 1 after BH ≈ 0.66): significant alone, not after correction.
    from observatory.reports.diagnostic import compare

    fam = schema.category_family
    cats = [c for c in schema.categories() if not c.startswith("non_")][:25]
    rows = []
    for c in cats[1:]:
        rows += [(2024, "69383", c, fam(c), 200), (2025, "69383", c, fam(c), 200)]
    rows += [(2024, "69383", cats[0], fam(cats[0]), 100), (2025, "69383", cats[0], fam(cats[0]), 135)]
    cmp = compare(pd.DataFrame(rows, columns=["year", "arrondissement", "category", "family", "n"]), ["category"], 2025, 2024).set_index("category")
    assert cmp.at[cats[0], "p_value"] < 0.05
    assert cmp.at[cats[0], "p_adjusted"] >= 0.05 and not cmp.at[cats[0], "significant"]
    alone = compare(pd.DataFrame(rows[-2:], columns=["year", "arrondissement", "category", "family", "n"]), ["category"], 2025, 2024)
    assert bool(alone["significant"].iloc[0])  # one test: nothing to correct


def test_sentence_small_counts_give_counts_not_percent_and_hidden_reveal_nothing():
    small = narrative.Change("Vols avec armes", current=9, previous=6, previous_label="2024", p_value=0.6, unreliable=True)
    assert narrative.change_sentence(small) == (
        "Les vols avec armes passent de 6 à 9 faits (+3) par rapport à 2024 ; les effectifs sont trop faibles pour conclure."
    )
    hidden = narrative.Change("Vols avec armes", current=3, previous=12, previous_label="2024", hidden=True)
    text = narrative.change_sentence(hidden)
    assert "3" not in text.replace("2024", "") and "12" not in text and "%" not in text


def test_sentences_of_a_complementary_hidden_count_do_not_say_it_is_small():
    # Hidden only to protect another cell: its count is not small, "moins de 5" would be false.
    assert narrative.total_sentence("Lyon 4e", 2025, 412, hidden=True, secondary=True) == (
        "En 2025, le nombre de faits enregistrés à Lyon 4e n'est pas publié (secret statistique : il permettrait "
        "de retrouver par différence un nombre inférieur à 5)."
    )
    assert "moins de 5" in narrative.total_sentence("Lyon 4e", 2025, 3, hidden=True)
    ch = narrative.Change("Escroqueries", current=412, previous=380, previous_label="2024", hidden=True, secondary=True)
    text = narrative.change_sentence(ch)
    assert "non publiée" in text and "trop peu" not in text and "412" not in text


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


def test_report_table_headers_take_their_column_alignment(settings):
    """Review #8 and #13: headers aligned like their cells (numbers right, words left), text columns not nowrap."""
    import re

    d = build_diagnostic(_inputs(settings, _rows()), 2025, None, min_count=5)
    html = render_html(d)
    tables = re.findall(r"<table>(.*?)</table>", html, flags=re.S)
    assert len(tables) == len(d.tables)
    for body in tables:
        heads = re.findall(r"<th(?: class=\"(num)\")?>", body)
        for row in re.findall(r"<tr(?: class=\"total\")?>(.*?)</tr>", body.split("</thead>")[1], flags=re.S):
            assert re.findall(r"<td(?: class=\"(num)[^\"]*\")?>", row) == heads
    fam = next(t for t in d.tables if t.key == "familles")
    assert fam.is_numeric("Évolution (%)") and fam.is_numeric("2025") and fam.is_numeric("Évolution")
    assert not fam.is_numeric("Test") and not fam.is_numeric("Famille")
    assert re.search(r'<th class="num">Évolution \(%\)</th><th>Test</th>', html)
    css = __import__("observatory.reports.render", fromlist=["report_css"]).report_css(d)
    assert "th.num { text-align: right; }" in css


def test_arrondissement_report_counts_only_its_arrondissement(settings):
    d = build_diagnostic(_inputs(settings, _rows()), 2025, "69383", min_count=5)
    assert d.title == "Bilan annuel 2025 — Lyon 3e"
    assert d.key_figures[0].value == "651"  # 623 + 3 + 25
    assert d.arrondissement_sections == []


HIDDEN_TEXT = ("< 5", "s", "n.d.")
YEAR_COLUMNS = tuple(str(y) for y in range(2019, 2026))


def _cell(v):
    """A display cell as (hidden, value): value is the published integer, None when hidden or empty."""
    if v in HIDDEN_TEXT:
        return True, None
    if v == "":
        return False, None
    return False, int(v.replace("\u00a0", "").replace(" ", ""))


def _check_public_tables(d, min_count=5, year_totals=None):
    """No published count in 1..min_count−1, and no hidden cell recoverable from a published total.

    ``year_totals``: the true total of each year (str) of the table restricted to the report's territory; the
    five-year table has no Total row, but each year's total is assumed published when it is itself publishable.
    """
    year_totals = year_totals or {}
    for table in d.tables:
        if table.key in ("localisation", "sources", "actions", "officiel"):
            continue
        frame = table.frame
        if frame.empty:
            continue
        is_total = frame.iloc[:, 0] == "Total"
        for col in [c for c in frame.columns if c in YEAR_COLUMNS]:
            cells = [_cell(v) for v in frame.loc[~is_total, col]]
            for hid, value in cells:
                assert hid or value is None or value == 0 or value >= min_count, (table.title, col, value)
            total_published = bool(is_total.any()) and not _cell(frame.loc[is_total, col].iloc[0])[0]
            if table.key == "tendance-familles-tableau":
                total_published = not 0 < year_totals.get(col, 0) < min_count
            if total_published:
                n_hidden = sum(h for h, _ in cells)
                assert n_hidden != 1, (table.title, col, "a single hidden cell is given back by the total")
        for col in [c for c in table.data.columns if c.startswith("faits_")]:
            for v in table.data[col]:
                assert v is None or isinstance(v, str) and v in HIDDEN_TEXT or v == 0 or v >= min_count, (table.title, col, v)
    for k in d.key_figures:
        hid, value = _cell(k.value) if k.label == "Faits enregistrés" or "," not in k.value else (False, None)
        assert hid or value is None or value == 0 or value >= min_count, (k.label, k.value)
    for fig in d.figures:
        if fig.data is not None:
            for col in [c for c in fig.data.columns if c.startswith("faits_")]:
                assert all(v is None or isinstance(v, str) and v in HIDDEN_TEXT or v == 0 or v >= min_count for v in fig.data[col]), (fig.title, col)


@hsettings(max_examples=25, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(["69381", "69382", "69383", None]),
                       st.sampled_from(["cambriolages_logement", "vols_avec_armes", "escroqueries", "incivilites", "violences_sexuelles", "violences_intrafamiliales"]),
                       st.sampled_from([2022, 2023, 2024, 2025]), st.integers(0, 12)), min_size=1, max_size=24),
    st.sampled_from([None, "69381", "69383"]),
    st.sampled_from([2024, 2025]),
)
def test_no_cell_below_threshold_and_none_recoverable_in_any_public_table(rows, arrondissement, year):
    from observatory.config import get_settings

    settings = get_settings(env={})
    counts = [(y, a, c, schema.category_family(c), n) for a, c, y, n in rows]
    d = build_diagnostic(_inputs(settings, counts), year, arrondissement, min_count=5)
    totals = {}
    for y, a, c, _f, n in counts:
        # An arrondissement's bilan does not count the sensitive categories (privacy rule: city level only).
        if arrondissement is None or (a == arrondissement and c not in schema.sensitive_categories()):
            totals[str(y)] = totals.get(str(y), 0) + n
    _check_public_tables(d, year_totals=totals)
    # The family table and the five-year table hide the same cells of the two years compared.
    fam = [t for t in d.tables if t.key == "familles"][0].frame
    trend = [t for t in d.tables if t.key == "tendance-familles-tableau"][0].frame
    if fam.empty or trend.empty:
        return
    fam, trend = fam.set_index("Famille"), trend.set_index("Famille")
    for y in (str(year - 1), str(year)):
        for name in trend.index:
            if name in fam.index:
                assert _cell(fam.at[name, y])[0] == _cell(trend.at[name, y])[0], (name, y)
    if arrondissement:
        # Sensitive categories are not published below the city.
        for t in d.tables:
            if "Catégorie" in t.frame.columns:
                for _, r in t.frame[t.frame["Catégorie"].isin(["Violences sexuelles", "Violences physiques intrafamiliales"])].iterrows():
                    assert r[str(year)] in ("n.d.", "0") and r[str(year - 1)] in ("n.d.", "0"), r.to_dict()


def test_sensitive_categories_are_published_only_for_the_city(settings):
    fam = schema.category_family
    rows = [
        (2024, "69383", "violences_sexuelles", fam("violences_sexuelles"), 30),
        (2025, "69383", "violences_sexuelles", fam("violences_sexuelles"), 40),
        (2024, "69383", "violences_physiques_hors_famille", fam("violences_physiques_hors_famille"), 200),
        (2025, "69383", "violences_physiques_hors_famille", fam("violences_physiques_hors_famille"), 210),
        (2024, "69383", "menaces_injures", fam("menaces_injures"), 50),
        (2025, "69383", "menaces_injures", fam("menaces_injures"), 60),
    ]
    d = build_diagnostic(_inputs(settings, rows), 2025, "69383", min_count=5)
    table = [t for t in d.tables if t.key == "theme-atteintes_personnes-tableau"][0].frame.set_index("Catégorie")
    # Not in the arrondissement's tables nor in its totals: 210 + 60, and the note says why.
    assert "Violences sexuelles" not in table.index and table.at["Total", "2025"] == "270"
    assert d.key_figures[0].value == "270" and "ville" in d.how_to_read
    city = build_diagnostic(_inputs(settings, rows), 2025, None, min_count=5)
    table = [t for t in city.tables if t.key == "theme-atteintes_personnes-tableau"][0].frame.set_index("Catégorie")
    assert table.at["Violences sexuelles", "2025"] == "40"  # the city level publishes it
    arr = [t for t in city.tables if t.key == "arrondissements"][0].frame.set_index("Arrondissement")
    # Per arrondissement without them (else 3e city report − 3e bilan would give them back), on a city row instead.
    assert arr.at["Lyon 3e", "2025"] == "270" and arr.at["Non réparti (violences sexuelles et intrafamiliales, faits sans arrondissement connu)", "2025"] == "40"
    assert arr.at["Total", "2025"] == "310" == city.key_figures[0].value
    rule = dict(city.methods)["Règle de confidentialité"]
    # The rule in words (one rule for page, report and exports), never an internal module path.
    assert "règle de secret statistique de l'observatoire (seuil 5, suppression complémentaire)" in rule and "observatory." not in rule


def test_adapter_hides_sensitive_rows_below_the_city_with_their_complement():
    df = pd.DataFrame({"category": ["violences_sexuelles", "escroqueries", "vols_avec_armes"], "current": [30, 40, 13], "previous": [0, 50, 12]})
    prot = protect_table(df, ["current", "previous"], 5, geography="69383")
    assert list(prot["current_status"]) == ["sensitive", "", "secondary"]  # the 13 protects the 30 from the total
    assert list(prot["previous_status"]) == ["", "", ""]  # a zero stays published
    assert list(protect_table(df, ["current", "previous"], 5)["current_status"]) == ["", "", ""]


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
    assert "Diagnostic local de sécurité 2025" in flat and "snap-pdf" not in flat  # a reader gets the data's date, not the id
    assert "Page 2 / " in flat  # page numbers
    assert "Figure 1." in flat and "Tableau 1." in flat
    assert "Règle de confidentialité" in flat and "Test statistique" in flat
    pages = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, check=True).stdout.decode()
    assert "595.92 x 842.88 pts" in pages or "595 x 842 pts" in pages or "(A4)" in pages, pages
