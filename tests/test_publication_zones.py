"""The bilan's zone tables inside the élus' publication: protected with the rest, audited, read by the bilans."""

from __future__ import annotations

import dataclasses

import pandas as pd

from observatory import schema
from observatory.analytics import publication

MIN = 5
YEAR = 2025


def _counts() -> pd.DataFrame:
    rows = [(YEAR, 3, "69381", "incivilites", 60), (YEAR, 4, "69382", "incivilites", 50), (YEAR, 5, "69381", "escroqueries", 30),
            (YEAR, 6, "69382", "escroqueries", 20)]
    return pd.DataFrame(rows, columns=["year", "month", "arrondissement", "category", "n"])


def _zones(rows) -> pd.DataFrame:  # noqa: ANN001
    z = pd.DataFrame(rows, columns=["year", "arrondissement", "signature", "n"])
    z.attrs["zone_ids"] = ("hypercentre", "piscine_a", "piscine_b")
    return z


def test_a_zone_across_two_arrondissements_cannot_be_differenced():
    """Hypercentre = 3 in 69381 + 40 in 69382: published together, « zone − shown part » would give the 3 back."""
    zones = _zones([(YEAR, "69381", "hypercentre", 3), (YEAR, "69382", "hypercentre", 40),
                    # Overlapping zones: a pool's buffer inside the hypercentre, and one beside it.
                    (YEAR, "69382", "hypercentre|piscine_a", 6), (YEAR, "69382", "piscine_a", 2), (YEAR, "69381", "piscine_b", 12)])
    pub = publication.protect_year(_counts(), YEAR, MIN, "snap", zones)
    z = pub.cells[pub.cells["table"] == publication.TABLE_ZONES].set_index("geo")
    assert int(z.at[publication.zone_geo("hypercentre"), "n"]) == 49
    assert int(z.at[publication.zone_geo("hypercentre", "69382"), "n"]) == 46
    assert int(z.at[publication.zone_geo("piscine_a", "69382"), "n"]) == 8
    assert z.at[publication.zone_geo("hypercentre", "69381"), "status"] == "primary"
    # The hypercentre's total and its part in 69382 cannot both stay published.
    assert {z.at[publication.zone_geo("hypercentre"), "status"], z.at[publication.zone_geo("hypercentre", "69382"), "status"]} - {""}
    parts = pub.cells[pub.cells["table"] == publication.TABLE_ZONE_PARTS]
    assert (parts["status"] == "internal").all() and len(parts)
    res = publication.audit_publication(pub)
    zone_res = res[res["table"] == publication.TABLE_ZONES]
    assert len(zone_res) and res["protected"].all(), res[~res["protected"]]
    # Publishing the zone cells' complementary suppressions again lets the attacker narrow a zone cell.
    tampered = pub.cells.copy()
    hidden_zone = (tampered["table"] == publication.TABLE_ZONES) & (tampered["status"] == "secondary")
    assert hidden_zone.any()
    tampered.loc[hidden_zone, "status"] = ""
    bad = publication.audit_publication(dataclasses.replace(pub, cells=tampered))
    assert not bad["protected"].all()


def test_zone_facts_beyond_the_territory_total_are_refused():
    zones = _zones([(YEAR, "69381", "hypercentre", 500)])
    try:
        publication.protect_year(_counts(), YEAR, MIN, "snap", zones)
    except ValueError as exc:
        assert "69381" in str(exc)
    else:  # pragma: no cover - the assertion below says what went wrong
        raise AssertionError("a zone holding more facts than its arrondissement must be refused")


def _zone_tables(d, year: int) -> dict[tuple[str, str], object]:  # noqa: ANN001 - Diagnostic
    out = {}
    for tab in d.tables:
        if tab.key.startswith("zone-"):
            for code, v in zip(tab.data["code"], tab.data[f"faits_{year}"]):
                out[str(code)] = v
    return out


def test_bilans_zone_tables_are_the_publication_and_resist_differencing(settings):
    """City and arrondissement bilans: each zone cell reads the publication's status, and no zone's hidden part
    comes back as « zone in the city − its parts shown in the arrondissements' bilans »."""
    from observatory.analytics.engine import Analytics
    from observatory.reports import diagnostic, protection
    from observatory.reports.verdicts import publication_verdicts
    from tests.incident_factory import random_incidents, write_snapshot

    files = write_snapshot(random_incidents(2_500, seed=11, start_year=YEAR - 1, end_year=YEAR), settings.data_dir / "snapz")
    an = Analytics.from_files(files, settings, snapshot_id="snap-zones")
    inputs = diagnostic.load_inputs(settings, an, YEAR)
    # A rereading per zone (rates per visitor): it must stand only beside a zone whose two years are published.
    kinds = dict(zip(inputs.zones["zone_id"], inputs.zones["kind"]))
    exposure = {}
    for zone, kind in kinds.items():
        exposure.setdefault(kind, []).append((zone, f"RELECTURE {zone}."))
    inputs = dataclasses.replace(inputs, verdicts=publication_verdicts(inputs, YEAR), exposure=exposure)
    pub = publication.publication_for(settings, YEAR, an)
    statuses = pub.cells.set_index("geo")

    docs = {}

    def bilan(a):  # noqa: ANN001, ANN202
        source = protection.publication_source(settings, an, YEAR, [YEAR, YEAR - 1], a)
        with protection.published_counts(source):
            docs[a] = diagnostic.build_diagnostic(inputs, YEAR, a, settings.min_count)
        return _zone_tables(docs[a], YEAR)

    city = bilan(None)
    arrs = {a: bilan(a) for a in schema.ARRONDISSEMENT_CODES}
    assert city, "the demo territory has zones in the bilan"
    text = {"": None, "primary": f"< {MIN}", "secondary": "s", "internal": "n.d."}
    shown = 0
    for zone, v in city.items():
        st = statuses.at[publication.zone_geo(zone), "status"]
        assert (v == text[st]) if st else isinstance(v, int), (zone, v, st)
    for a, cells in arrs.items():
        for zone, v in cells.items():
            st = statuses.at[publication.zone_geo(zone, a), "status"]
            assert (v == text[st]) if st else isinstance(v, int), (a, zone, v, st)
            shown += 1
    assert shown
    hidden = [v for cells in [city, *arrs.values()] for v in cells.values() if isinstance(v, str)]
    assert f"< {MIN}" in hidden  # the attack below has something to chew on
    # The differencing attack: a zone's city figure minus the parts shown in the arrondissements' bilans. Facts
    # of « non réparti » in a zone are ≥ 0: a single hidden part is then at most the difference.
    for zone, total in city.items():
        if not isinstance(total, int):
            continue
        parts = [cells[zone] for cells in arrs.values() if zone in cells]
        hidden_parts = [p for p in parts if not isinstance(p, int)]
        if len(hidden_parts) == 1 and hidden_parts[0] == f"< {MIN}":
            rest = total - sum(p for p in parts if isinstance(p, int))
            assert rest >= MIN - 1, f"{zone}: its hidden part is at most {rest}"
    assert publication.audit_publication(pub)["protected"].all()
    # Rereadings: beside the published zones only.
    previous = publication.publication_for(settings, YEAR - 1, an).cells.set_index("geo")
    sentences = " ".join(s for sec in docs[None].zones for s in sec.sentences)
    both = {z for z in city if statuses.at[publication.zone_geo(z), "status"] == "" and previous.at[publication.zone_geo(z), "status"] == ""}
    assert both and set(city) - both
    for zone in city:
        assert (f"RELECTURE {zone}." in sentences) == (zone in both), zone
