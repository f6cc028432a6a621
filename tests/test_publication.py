"""The publication: one cube for the year, protected jointly; the audit reads what is stored."""

from __future__ import annotations

import numpy as np
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


# The across-page attack, replayed on the real bilans ------------------------------------------------------
YEAR = 2025


def _bilan_cells(d, year: int) -> dict[tuple[str, str], object]:
    """What one bilan publishes for ``year``: {(table key, code): int or "< 5" / "s" / "n.d."}."""
    out = {}
    for tab in d.tables:
        col = f"faits_{year}"
        if col in tab.data.columns and "code" in tab.data.columns and (tab.key == "familles" or tab.key == "arrondissements" or tab.key.startswith("theme-")):
            for code, v in zip(tab.data["code"], tab.data[col]):
                out[(tab.key, str(code))] = v
    return out


def _attack_bilans(city: dict, arrs: dict[str, dict]) -> list[tuple]:
    """Every hidden count of the city's and the arrondissements' bilans, attacked together by linprog.

    Unknowns: each hidden number, and « non réparti » by category (never published by category, ≥ 0). Relations:
    city category = Σ arrondissements + non réparti; family = Σ categories (city and each arrondissement);
    city total = Σ families = Σ arrondissements + non réparti; arrondissement total = Σ its families.
    Returns the cells narrowed below the rule: (name, shown text, interval).
    """
    from scipy.optimize import linprog

    var: dict[str, int] = {}
    known: dict[str, float] = {}
    bounds = []

    def term(name: str, shown) -> None:  # noqa: ANN001
        if name in var or name in known:
            return
        if isinstance(shown, (int, np.integer)):
            known[name] = float(shown)
            return
        var[name] = len(bounds)
        bounds.append((1, MIN - 1) if shown == f"< {MIN}" else (MIN, None) if shown == "s" else (0, None))

    shown_text = {}
    rels = []
    cats_of: dict[str, list[str]] = {}
    for (key, code), v in city.items():
        if key.startswith("theme-"):
            cats_of.setdefault(key[len("theme-"):-len("-tableau")], []).append(code)
    places = {"ville": city} | arrs
    for place, cells in places.items():
        for fam, cats in cats_of.items():
            fam_key = ("familles", fam)
            if fam_key not in cells:
                continue
            term(f"{place}|{fam}", cells[fam_key])
            shown_text[f"{place}|{fam}"] = cells[fam_key]
            parts = []
            for c in cats:
                if c == "total":
                    continue
                ck = (f"theme-{fam}-tableau", c)
                if ck in cells:
                    term(f"{place}|{c}", cells[ck])
                    shown_text[f"{place}|{c}"] = cells[ck]
                    parts.append(f"{place}|{c}")
            rels.append(([f"{place}|{fam}"], parts))
        fams = [f"{place}|{f}" for f in cats_of if ("familles", f) in cells]
        term(f"{place}|total", city[("arrondissements", "total" if place == "ville" else place)])
        rels.append(([f"{place}|total"], fams))
    for (key, code), v in city.items():
        if key == "arrondissements" and code not in ("total",):
            term(f"arr|{code}", v)
            shown_text[f"arr|{code}"] = v
    rels.append((["ville|total"], [f"arr|{a}" for a in list(arrs) + ["inconnu"]]))
    for a in arrs:
        rels.append(([f"arr|{a}"], [f"{a}|total"]))
    for fam, cats in cats_of.items():
        for c in cats:
            if c == "total" or f"ville|{c}" not in (set(var) | set(known)):
                continue
            u = f"inconnu|{c}"
            term(u, "n.d.")
            rels.append(([f"ville|{c}"], [f"{a}|{c}" for a in arrs if f"{a}|{c}" in set(var) | set(known)] + [u]))
    unknown_cats = [f"inconnu|{c}" for cats in cats_of.values() for c in cats if f"inconnu|{c}" in var]
    rels.append((["arr|inconnu"], unknown_cats))
    a_rows, b_rows = [], []
    for lhs, rhs in rels:
        row = np.zeros(len(bounds))
        b = 0.0
        for name, sign in [(n, 1.0) for n in lhs] + [(n, -1.0) for n in rhs]:
            if name in var:
                row[var[name]] += sign
            else:
                b -= sign * known.get(name, 0.0)
        if row.any():
            a_rows.append(row)
            b_rows.append(b)
    a = np.array(a_rows)
    narrowed = []
    for name, k in var.items():
        if name.startswith("inconnu|"):
            continue
        e = np.zeros(len(bounds))
        e[k] = 1
        lo = linprog(e, A_eq=a, b_eq=b_rows, bounds=bounds, method="highs")
        hi = linprog(-e, A_eq=a, b_eq=b_rows, bounds=bounds, method="highs")
        assert lo.status == 0, "the true counts satisfy what the bilans publish"
        iv = (np.ceil(lo.fun - 1e-6), np.inf if hi.status == 3 else np.floor(-hi.fun + 1e-6))
        text = shown_text.get(name, "")
        bad = (iv[0] > 1 or iv[1] < MIN - 1) if text == f"< {MIN}" else (iv[1] - iv[0] < MIN - 2) if text == "s" else False
        if bad:
            narrowed.append((name, text, iv))
    return narrowed


def test_city_minus_arrondissements_gives_no_hidden_cell_back(settings):
    """The city's bilan and the nine arrondissements' bilans, attacked together: nothing hidden comes back."""
    from observatory.analytics.engine import Analytics
    from observatory.reports import diagnostic
    from tests.incident_factory import random_incidents, write_snapshot

    files = write_snapshot(random_incidents(2_500, seed=11, start_year=YEAR, end_year=YEAR), settings.data_dir / "snap")
    an = Analytics.from_files(files, settings, snapshot_id="snap-attack")

    import dataclasses

    from observatory.reports import protection
    from observatory.reports.verdicts import publication_verdicts

    inputs = diagnostic.load_inputs(settings, an, YEAR)
    # Official figures and actions (what differs between places) play no part: one input, verdicts computed once.
    inputs = dataclasses.replace(inputs, verdicts=publication_verdicts(inputs, YEAR))

    def bilans(with_publication: bool) -> tuple[dict, dict]:
        def one(a):  # noqa: ANN001, ANN202
            # diagnostic_for's own wiring: the place's bilan reads the stored publications of its years.
            source = protection.publication_source(settings, an, YEAR, [YEAR, YEAR - 1], a) if with_publication else None
            with protection.published_counts(source):
                return _bilan_cells(diagnostic.build_diagnostic(inputs, YEAR, a, settings.min_count), YEAR)

        return one(None), {a: one(a) for a in schema.ARRONDISSEMENT_CODES}

    city, arrs = bilans(with_publication=True)
    hidden = [v for cells in [city, *arrs.values()] for v in cells.values() if isinstance(v, str)]
    assert hidden.count(f"< {MIN}") >= 10 and "s" in hidden  # the attack has something to chew on
    assert _attack_bilans(city, arrs) == []
    # The same bilans protected table by table (the rule before the publication) fall to the same attack.
    city0, arrs0 = bilans(with_publication=False)
    assert _attack_bilans(city0, arrs0) != []
    # diagnostic_for is wired to the publication: the city's bilan it builds hides what the publication hides.
    assert _bilan_cells(diagnostic.diagnostic_for(settings, YEAR, None, analytics=an), YEAR) == city


def test_privacy_audit_command_passes_then_fails_on_a_tampered_publication(tmp_path):
    """`observatory privacy audit` end to end: exit 0 on the stored publication, 1 once its « s » are published."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    import pyarrow.parquet as pq
    import pytest

    from observatory.config import get_settings
    from tests.incident_factory import incidents, publish_snapshot

    exe = Path(sys.executable).parent / "observatory"
    if not exe.exists():
        pytest.skip("the observatory console script is not installed in this venv")
    rows = [("69381", "escroqueries")] * 40 + [("69382", "escroqueries")] * 3 + [("69383", "escroqueries")] * 9 + \
           [("69381", "incivilites")] * 20 + [("69382", "incivilites")] * 30 + [("69383", "incivilites")] * 2
    table = incidents(arrondissement=[r[0] for r in rows], category=[r[1] for r in rows], source=["police_nationale"] * len(rows),
                      source_id=[f"P{i:04d}" for i in range(len(rows))], occurred_at=[f"2025-{1 + i % 12:02d}-10 14:00" for i in range(len(rows))])
    repo = Path(__file__).resolve().parents[1]
    data = tmp_path / "data"
    publish_snapshot(table, get_settings(root=repo, env={}, data_dir=data), snapshot_id="snap-audit")
    env = {**os.environ, "OBSERVATORY_DATA_DIR": str(data)}

    def audit() -> subprocess.CompletedProcess:
        return subprocess.run([str(exe), "privacy", "audit", "--year", "2025"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)

    ok = audit()
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "Audit réussi" in ok.stdout and "2025" in ok.stdout
    (cells_file,) = (data / "processed" / "publications" / "snap-audit").glob("2025-seuil*.cells.parquet")
    cells = pq.read_table(cells_file).to_pandas()
    assert (cells["status"] == "secondary").any()
    cells.loc[cells["status"] == "secondary", "status"] = ""
    cells.to_parquet(cells_file, index=False)
    bad = audit()
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "NON" in bad.stdout
