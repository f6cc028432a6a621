"""The publication: one cube for the year, protected jointly; the audit reads what is stored."""

from __future__ import annotations

import pandas as pd

from observatory import schema
from observatory.analytics import publication

MIN = 5


def tiny_counts() -> pd.DataFrame:
    # City = Σ arrondissements: a category at 105 for the city, 103 in 69381 and two « < 5 » elsewhere (the issue's
    # cross-page attack); a sensitive category in two arrondissements, published at city level only.
    rows = [
        (2025, 3, "69381", "escroqueries", 103), (2025, 3, "69382", "escroqueries", 1), (2025, 4, "69383", "escroqueries", 1),
        (2025, 5, "69381", "incivilites", 40), (2025, 6, "69382", "incivilites", 30),
        (2025, 5, "69381", "violences_sexuelles", 3), (2025, 6, "69384", "violences_sexuelles", 9),
        (2024, 5, "69381", "incivilites", 2),
    ]
    return pd.DataFrame(rows, columns=["year", "month", "arrondissement", "category", "n"])


def test_joint_publication_passes_the_attack_and_a_tampered_one_fails(tmp_path):
    pub = publication.protect_year(tiny_counts(), 2025, MIN, "snap")
    cells = pub.cells
    # Sensitive categories: nowhere below the city but in « non réparti ».
    sens = cells[cells["nomenclature"].isin(schema.sensitive_categories()) & (cells["n"] > 0)]
    assert set(sens["geo"]) == {schema.CITY_CODE, publication.UNALLOCATED}
    city = cells[(cells["geo"] == schema.CITY_CODE) & (cells["nomenclature"] == "escroqueries") & (cells["period"] == publication.YEAR)]
    assert int(city["n"].iloc[0]) == 105
    publication.write(pub, tmp_path)
    stored = publication.read(tmp_path, 2025, MIN)
    assert stored is not None and stored.manifest["primary"] >= 2
    res = publication.audit_publication(stored)
    assert len(res) and res["protected"].all(), res[~res["protected"]]
    # The two « < 5 » of escroqueries cannot be recovered as "city − shown arrondissements".
    # (69383 holds a single fact in the year: not broken down, its escroqueries cell is unpublished yet audited.)
    small = res[(res["nomenclature"] == "escroqueries") & (res["period"] == publication.YEAR) & (res["value"] < MIN)
                & res["geo"].isin(schema.ARRONDISSEMENT_CODES)]
    assert sorted(small["status"]) == ["internal", "primary"]
    assert len(small) == 2 and (small["lower"] <= 1).all() and (small["upper"] >= MIN - 1).all()
    # Tampering: publish every complementary cell again → the attack must narrow some hidden cell.
    tampered = stored.cells.copy()
    tampered.loc[tampered["status"] == "secondary", "status"] = ""
    stored.cells = tampered
    assert not publication.audit_publication(stored)["protected"].all()
