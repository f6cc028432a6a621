"""Profiles are validated against a schema: every problem listed at once, with the file and key, never a traceback."""

from __future__ import annotations

import json
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from observatory.etl.profile import Profile, ProfileError, load_profile_file
from observatory.etl.profile_schema import SCHEMA

BASE = {
    "source": {"name": "p"},
    "id": {"column": "ID"},
    "time": {"column": "Date", "format": "%d/%m/%Y"},
    "columns": {"label": "Type"},
}


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v).replace("\x7f", "\\u007f")
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {_toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(v)


def to_toml(data: dict) -> str:
    out = []
    for section, body in data.items():
        if isinstance(body, dict):
            out.append(f"[{json.dumps(section)}]")
            out += [f"{json.dumps(k)} = {_toml_value(v)}" for k, v in body.items()]
        else:
            out.insert(0, f"{json.dumps(section)} = {_toml_value(body)}")
    return "\n".join(out) + "\n"


def _write(tmp_path, data: dict, name: str = "p.toml"):
    path = tmp_path / name
    path.write_text(to_toml(data), encoding="utf-8")
    return path


def _load(tmp_path, data: dict) -> Profile:
    return load_profile_file(_write(tmp_path, data))


def _problems(tmp_path, data: dict) -> list[str]:
    with pytest.raises(ProfileError) as exc:
        _load(tmp_path, data)
    assert str(tmp_path / "p.toml") in str(exc.value)
    return exc.value.problems


def _with(**sections) -> dict:
    data = {k: dict(v) for k, v in BASE.items()}
    for section, body in sections.items():
        data.setdefault(section, {}).update(body)
    return data


@pytest.mark.parametrize(("section", "key", "value"), [
    ("time", "format", 12), ("labels", "file", 5), ("id", "column", 5), ("columns", "label", 7), ("location", "x", 3),
    ("extraction", "filename_pattern", 2019), ("file", "header_row", 1.5), ("id", "number_identical_rows", "yes"),
])
def test_wrong_types_named_by_section_and_key(tmp_path, section, key, value):
    problems = _problems(tmp_path, _with(**{section: {key: value}}))
    assert any(p.startswith(f"[{section}] {key} = ") and "attendu" in p for p in problems), problems


def test_build_from_as_a_string_says_write_a_list(tmp_path):
    data = _with(id={"build_from": "Crime ID"})
    del data["id"]["column"]
    (p,) = [p for p in _problems(tmp_path, data) if p.startswith("[id] build_from")]
    assert 'build_from = ["Crime ID"]' in p


def test_typos_get_a_did_you_mean(tmp_path):
    problems = _problems(tmp_path, _with(file={"delimter": ";"}, time={"timezon": "Europe/London"}, loaction={"crs": "EPSG:4326"}))
    assert any("[file] delimter" in p and "« delimiter »" in p for p in problems)
    assert any("[time] timezon" in p and "« timezone »" in p for p in problems)
    assert any("[loaction]" in p and "« location »" in p for p in problems)
    assert len(problems) == 3  # all at once, not the first one only


def test_key_in_the_wrong_section_is_pointed_to_its_section(tmp_path):
    (p,) = _problems(tmp_path, _with(file={"crs": "EPSG:4326"}))
    assert "[file] crs" in p and "[location]" in p


def test_precision_checked_against_format(tmp_path):
    (p,) = _problems(tmp_path, _with(time={"format": "%Y-%m"}))
    assert 'precision = "month"' in p
    (p,) = _problems(tmp_path, _with(time={"format": "%Y-%m", "precision": "day"}))
    assert "ne donne pas le jour" in p
    (p,) = _problems(tmp_path, _with(time={"format": "%d/%m/%Y", "precision": "hour"}))
    assert "ne donne pas l'heure" in p
    assert _load(tmp_path, _with(time={"format": "%Y-%m", "precision": "month"})).precision == "month"
    assert _load(tmp_path, _with(time={"format": "%d/%m/%Y", "time_column": "Heure", "precision": "hour"})).precision == "hour"


def test_required_keys_left_empty_are_problems(tmp_path):
    # Found by the generated-profiles test below: « column = "" » loaded a profile without a date column.
    problems = _problems(tmp_path, _with(time={"column": " ", "format": ""}, columns={"label": ""}))
    assert sorted(p.split(" est vide")[0] for p in problems if " est vide" in p) == ["[columns] label", "[time] column", "[time] format"]


def test_any_epsg_code_and_timezone(tmp_path):
    p = _load(tmp_path, _with(location={"crs": "epsg:3946", "x": "X", "y": "Y"}, time={"timezone": "America/Chicago"}))
    assert p.crs == "EPSG:3946" and p.timezone == "America/Chicago"
    problems = _problems(tmp_path, _with(location={"crs": "EPSG:999999", "x": "X", "y": "Y"}, time={"timezone": "Europe/Lyon"}))
    assert any(p.startswith("[location] crs") for p in problems) and any(p.startswith("[time] timezone") for p in problems)


def test_profile_digest_follows_the_label_table(tmp_path):
    (tmp_path / "l.csv").write_text("label,category\nVol,vols_sans_violence_personnes\n", encoding="utf-8")
    first = _load(tmp_path, _with(labels={"file": "l.csv"})).digest
    (tmp_path / "l.csv").write_text("label,category\nVol,menaces_injures\n", encoding="utf-8")
    assert _load(tmp_path, _with(labels={"file": "l.csv"})).digest != first


ANY = st.recursive(
    st.one_of(st.text(alphabet=string.printable + "éà»", max_size=12), st.integers(-5, 3000), st.booleans(),
              st.floats(allow_nan=False, allow_infinity=False)),
    lambda inner: st.lists(inner, max_size=3), max_leaves=4,
)
KEYS = st.sampled_from(sorted({k for keys in SCHEMA.values() for k in keys}) + ["colum", "formt", "tz", "x"])
SECTIONS = st.sampled_from(list(SCHEMA) + ["loaction", "misc"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(st.tuples(SECTIONS, KEYS, ANY), max_size=6), drop=st.sets(st.sampled_from(list(BASE))), flat=st.booleans())
def test_generated_profiles_never_raise_anything_but_profile_error(tmp_path, edits, drop, flat):
    data = {k: dict(v) for k, v in BASE.items() if k not in drop}
    for section, key, value in edits:
        data.setdefault(section, {})[key] = value
    if flat and edits:
        data[edits[0][0]] = edits[0][2]  # a section replaced by a plain value
    path = _write(tmp_path, data)
    try:
        prof = load_profile_file(path)
    except ProfileError as exc:
        assert exc.problems and str(path) in str(exc)
        assert all(p.startswith("[") or p.startswith("section [") for p in exc.problems), exc.problems
    else:
        assert isinstance(prof, Profile) and prof.time_column and prof.label_column
