"""The bilan's verdicts: no change claimed without data for the previous year; one verdict per line everywhere."""

import pandas as pd

from observatory import schema
from observatory.reports.diagnostic import DiagnosticInputs, build_diagnostic
from observatory.reports.verdicts import publication_verdicts
from observatory.territory import load_territory


def _inputs(settings, rows, zone_rows=()):
    terr = load_territory(settings)
    return DiagnosticInputs(
        counts=pd.DataFrame(rows, columns=["year", "arrondissement", "category", "family", "n"]),
        zone_counts=pd.DataFrame(list(zone_rows), columns=["year", "zone_id", "arrondissement", "family", "n"]),
        zones=pd.DataFrame(terr.zones.drop(columns="geometry")), arrondissements=terr.arrondissements,
        snapshot_id="snap-test", boundary_source=terr.boundary_source,
    )


def _first_year_rows():
    fam = schema.category_family
    return [(2019, a, c, fam(c), 300 + 40 * i) for i, a in enumerate(schema.ARRONDISSEMENT_CODES)
            for c in ("cambriolages_logement", "escroqueries", "vols_vehicules")]


def test_the_first_year_of_data_claims_no_change(settings):
    d = build_diagnostic(_inputs(settings, _first_year_rows()), 2019, None, min_count=5)
    text = " ".join(d.summary + [k.sentence for k in d.key_figures] + [s for sec in d.themes for s in sec.sentences])
    assert "pas de comparaison possible" in text
    for word in ("augment", "baissent", "significative", "par rapport à 2018 ;", "+"):
        assert word not in " ".join(d.summary), (word, d.summary)
    assert all(k.change in ("", "pas de comparaison") for k in d.key_figures)
    assert all(not k.significant and k.direction == 0 for k in d.key_figures)
    assert d.priorities == []
    # Tables say it too, and publish no difference.
    fam = next(t for t in d.tables if t.key == "familles")
    assert set(fam.frame["Test"]) <= {"pas de comparaison possible", ""}
    assert fam.data["evolution"].isna().all()


def _two_year_rows():
    fam = schema.category_family
    rng_rows = []
    cats = ["cambriolages_logement", "escroqueries", "vols_vehicules", "vols_avec_armes", "degradations"]
    for i, a in enumerate(schema.ARRONDISSEMENT_CODES):
        for j, c in enumerate(cats):
            base = 40 + 15 * i + 7 * j
            rng_rows += [(2024, a, c, fam(c), base), (2025, a, c, fam(c), int(base * (1.6 if (a, c) == ("69383", "escroqueries") else 1.0)))]
    return rng_rows


def test_one_verdict_per_line_in_the_city_and_the_arrondissement_bilans(settings):
    inputs = _two_year_rows()
    zone_rows = [(2024, "hypercentre", "69381", "atteintes_biens", 37), (2025, "hypercentre", "69381", "atteintes_biens", 60),
                 (2024, "hypercentre", "69382", "atteintes_biens", 200), (2025, "hypercentre", "69382", "atteintes_biens", 205)]
    inp = _inputs(settings, inputs, zone_rows)
    city = build_diagnostic(inp, 2025, None, min_count=5)
    arr = build_diagnostic(inp, 2025, "69383", min_count=5)
    # The 3e's categories: the city bilan's 3e section cites the significant ones; the 3e's bilan table has them all.
    theme_tables = [t for t in arr.tables if t.key.startswith("theme-") and t.key.endswith("-tableau")]
    arr_sig = {r["code"]: r["significative"] for t in theme_tables for _, r in t.data.iterrows() if r["code"] != "total"}
    v = publication_verdicts(inp, 2025)
    v3 = v[(v["geography"] == "69383") & (v["dimension"] == "category")].set_index("code")
    for code, said in arr_sig.items():
        assert said == ("oui" if v3.at[code, "significant"] else "non"), code
    section = next(s for s in city.arrondissement_sections if s.key == "arr-69383")
    from observatory import labels

    for code in v3.index:
        cited = any(s.startswith(labels.category_label(code)) or labels.category_label(code).lower() in s.lower() for s in section.sentences[2:])
        assert cited == bool(v3.at[code, "significant"]), (code, section.sentences)
    # The 3e's total: one verdict in the city's arrondissement table and in the 3e's key figure.
    arr_table = next(t for t in city.tables if t.key == "arrondissements").data.set_index("code")
    assert (arr_table.at["69383", "significative"] == "oui") == arr.key_figures[0].significant
    # One family of tests for the whole year: the same p_adjusted whichever document asks.
    assert v.attrs["tests"] == int((v["comparable"] & ((v["current"] + v["previous"]) > 0)).sum())
