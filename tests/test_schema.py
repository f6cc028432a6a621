import pyarrow as pa

from observatory import schema


def test_nomenclature_is_sound():
    assert schema.nomenclature_problems() == []


def test_codes_are_unique_and_families_known():
    cats = schema.categories()
    assert len(cats) == len(set(cats))
    assert {c.family for c in cats.values()} <= set(schema.families())


def test_sensitive_categories_are_sexual_and_intrafamily_violence():
    assert schema.sensitive_categories() == {"violences_sexuelles", "violences_intrafamiliales"}


def test_ssmsi_indicators_are_spelled_as_published_and_all_covered():
    mapped = {c.ssmsi_indicator for c in schema.categories().values() if c.ssmsi_indicator}
    assert mapped == set(schema.SSMSI_INDICATORS_2026)
    assert len(schema.SSMSI_INDICATORS_2026) == 15
    assert "Vols d'accessoires sur véhicules" in schema.SSMSI_INDICATORS_2026


def test_ssmsi_labels_match_the_2026_excerpt_when_available():
    import csv

    from tests.conftest import reference_file

    path = reference_file("ssmsi", "ssmsi-communes-excerpt-45rows.csv")
    with path.open(encoding="utf-8") as fh:
        published = {row["indicateur"] for row in csv.DictReader(fh, delimiter=";")}
    assert published <= set(schema.SSMSI_INDICATORS_2026)


def test_unknown_code_falls_back_to_non_classe_family():
    assert schema.category_family("does_not_exist") == schema.categories()[schema.NON_CLASSE].family


def test_arrow_schema_has_the_design_columns():
    names = set(schema.INCIDENT_SCHEMA.names)
    for col in ("incident_key", "source", "occurred_at", "time_precision", "category", "family", "raw_label",
                "lon", "lat", "x", "y", "location_quality", "arrondissement", "iris", "zones", "grid_cell",
                "n_facts", "batch_id", "source_file", "source_row"):
        assert col in names
    assert schema.INCIDENT_SCHEMA.field("zones").type == pa.list_(pa.string())
    assert str(schema.INCIDENT_SCHEMA.field("occurred_at").type.tz) == "Europe/Paris"
    assert schema.empty_incidents().num_rows == 0
