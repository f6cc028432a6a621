from pathlib import Path

import pytest

from observatory.config import Settings, SettingsError, get_settings


def test_defaults_are_anchored_at_the_project_root(tmp_path):
    s = get_settings(root=tmp_path, env={})
    assert s.root == tmp_path.resolve()
    assert s.processed_dir == tmp_path.resolve() / "data" / "processed"
    assert s.reference_dir == tmp_path.resolve() / "data" / "raw" / "reference"
    assert s.sources_dir == tmp_path.resolve() / "data" / "raw" / "sources"
    assert s.min_count == 5 and s.pool_buffer_m == 150.0 and s.grid_size_m == 200


def test_precedence_defaults_then_toml_then_environment(tmp_path):
    (tmp_path / "observatory.toml").write_text("min_count = 7\npool_buffer_m = 200\n", encoding="utf-8")
    from_toml = get_settings(root=tmp_path, env={})
    assert (from_toml.min_count, from_toml.pool_buffer_m) == (7, 200.0)
    from_env = get_settings(root=tmp_path, env={"OBSERVATORY_MIN_COUNT": "11"})
    assert (from_env.min_count, from_env.pool_buffer_m) == (11, 200.0)
    overridden = get_settings(root=tmp_path, env={"OBSERVATORY_MIN_COUNT": "11"}, min_count=3)
    assert overridden.min_count == 3


def test_root_from_environment_and_absolute_data_dir(tmp_path):
    s = get_settings(env={"OBSERVATORY_ROOT": str(tmp_path), "OBSERVATORY_DATA_DIR": str(tmp_path / "elsewhere")})
    assert s.root == tmp_path.resolve()
    assert s.processed_dir == tmp_path / "elsewhere" / "processed"


def test_settings_are_frozen(tmp_path):
    s = get_settings(root=tmp_path, env={})
    with pytest.raises(AttributeError):
        s.min_count = 2  # type: ignore[misc]
    assert s.replace(min_count=2).min_count == 2


@pytest.mark.parametrize(
    "toml, message",
    [
        ("min_count = 'abc'", "not a valid int"),
        ("unknown_thing = 1", "unknown setting"),
        ("min_count = [", "not valid TOML"),
        ("min_count = 0", "min_count must be at least 1"),
    ],
)
def test_bad_settings_say_what_is_wrong(tmp_path, toml, message):
    (tmp_path / "observatory.toml").write_text(toml, encoding="utf-8")
    with pytest.raises(SettingsError, match=message):
        get_settings(root=tmp_path, env={})


def test_every_setting_has_a_doc_line():
    import dataclasses

    for f in dataclasses.fields(Settings):
        assert f.metadata.get("doc"), f"setting {f.name} has no doc line"


def test_import_has_no_side_effects(tmp_path):
    import subprocess
    import sys

    code = "import observatory.config, observatory.schema, observatory.territory, observatory.labels, observatory.cli"
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, check=True)
    assert list(Path(tmp_path).iterdir()) == []


def test_veille_alpha_setting_is_read_and_checked(tmp_path):  # noqa: ANN001
    import pytest

    from observatory.config import SettingsError, get_settings

    assert get_settings(root=tmp_path, env={}).veille_alpha == 0.05
    assert get_settings(root=tmp_path, env={"OBSERVATORY_VEILLE_ALPHA": "0.01"}).veille_alpha == 0.01
    with pytest.raises(SettingsError, match="veille_alpha"):
        get_settings(root=tmp_path, env={"OBSERVATORY_VEILLE_ALPHA": "1.5"})


def test_smtp_settings_default_to_no_email(tmp_path):  # noqa: ANN001
    from observatory.config import get_settings

    s = get_settings(root=tmp_path, env={})
    assert s.smtp_host == "" and s.smtp_port == 25
    s = get_settings(root=tmp_path, env={"OBSERVATORY_SMTP_HOST": "smtp.ville.fr", "OBSERVATORY_SMTP_PORT": "2525"})
    assert (s.smtp_host, s.smtp_port) == ("smtp.ville.fr", 2525)
