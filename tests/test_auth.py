"""User store and `observatory users`: hashed passwords, private file, clear errors."""

from __future__ import annotations

import json
import os

import pytest
from typer.testing import CliRunner

from observatory import auth
from observatory.cli import app as cli_app

PASSWORD = "correct-horse-battery"


def test_hash_is_salted_scrypt_and_verifies():
    first, second = auth.hash_password(PASSWORD), auth.hash_password(PASSWORD)
    assert first.startswith("scrypt$32768$8$1$") and first != second  # fresh salt each time
    assert PASSWORD not in first
    assert auth.verify_password(PASSWORD, first) and auth.verify_password(PASSWORD, second)
    assert not auth.verify_password(PASSWORD + "x", first)
    assert not auth.verify_password(PASSWORD, "") and not auth.verify_password(PASSWORD, "md5$abc")


def test_store_is_private_and_never_holds_a_password_in_clear(settings):
    auth.add_user(settings, "marie", PASSWORD, "analyste")
    path = auth.users_path(settings)
    assert path == settings.data_path / "users.json"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    raw = path.read_text(encoding="utf-8")
    assert PASSWORD not in raw
    record = json.loads(raw)["users"]["marie"]
    assert record["role"] == "analyste" and record["password"].startswith("scrypt$")
    assert not list(path.parent.glob("users.json.*")), "no temporary file left behind"


def test_authenticate(settings):
    auth.add_user(settings, "marie", PASSWORD, "analyste")
    user = auth.authenticate(settings, "marie", PASSWORD)
    assert user == auth.User(name="marie", role="analyste", created_at=user.created_at)
    assert auth.authenticate(settings, "marie", "autre-mot-de-passe") is None
    assert auth.authenticate(settings, "personne", PASSWORD) is None


def test_add_remove_list_and_errors(settings):
    assert not auth.has_users(settings) and auth.list_users(settings) == []
    auth.add_user(settings, "paul", PASSWORD, "elu")
    auth.add_user(settings, "sso.user", None, "analyste")
    assert [(u.name, u.role, u.sso_only) for u in auth.list_users(settings)] == [("paul", "elu", False), ("sso.user", "analyste", True)]
    with pytest.raises(auth.AuthError, match="existe déjà"):
        auth.add_user(settings, "paul", PASSWORD, "elu")
    auth.add_user(settings, "paul", PASSWORD, "admin", replace=True)
    assert auth.get_user(settings, "paul").role == "admin"
    with pytest.raises(auth.AuthError, match="rôle « chef » inconnu"):
        auth.add_user(settings, "chef", PASSWORD, "chef")
    with pytest.raises(auth.AuthError, match="trop court"):
        auth.add_user(settings, "court", "abc", "elu")
    with pytest.raises(auth.AuthError, match="invalide"):
        auth.add_user(settings, "Robert'); DROP", PASSWORD, "elu")
    auth.remove_user(settings, "paul")
    with pytest.raises(auth.AuthError, match="n'existe pas"):
        auth.remove_user(settings, "paul")
    assert [u.name for u in auth.list_users(settings)] == ["sso.user"]


def test_loose_permissions_are_tightened(settings):
    auth.add_user(settings, "marie", PASSWORD, "analyste")
    path = auth.users_path(settings)
    os.chmod(path, 0o644)
    assert auth.has_users(settings)
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_damaged_store_gives_a_clear_message(settings):
    path = auth.users_path(settings)
    path.parent.mkdir(parents=True)
    path.write_text('{"users": {"marie": {"role": "chef"}}}', encoding="utf-8")
    with pytest.raises(auth.AuthError, match="marie.*rôle absent ou inconnu"):
        auth.list_users(settings)
    path.write_text("{pas du json", encoding="utf-8")
    with pytest.raises(auth.AuthError, match="illisible"):
        auth.has_users(settings)


def test_users_file_setting(settings, tmp_path):
    moved = settings.replace(users_file=str(tmp_path / "ailleurs" / "comptes.json"))
    auth.add_user(moved, "marie", PASSWORD, "analyste")
    assert (tmp_path / "ailleurs" / "comptes.json").exists()
    assert not auth.has_users(settings)


# CLI ------------------------------------------------------------------------------------------------------------

@pytest.fixture
def cli_env(settings):
    return {"OBSERVATORY_DATA_DIR": str(settings.data_path), "OBSERVATORY_ROOT": str(settings.root)}


def test_cli_add_list_remove(settings, cli_env):
    runner = CliRunner()
    result = runner.invoke(cli_app, ["users", "add", "marie", "--role", "analyste", "--password-stdin"], input=PASSWORD + "\n", env=cli_env)
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    assert auth.authenticate(settings, "marie", PASSWORD) is not None
    # The interactive prompt hides the password and asks twice.
    result = runner.invoke(cli_app, ["users", "add", "paul", "--role", "elu"], input=f"{PASSWORD}\n{PASSWORD}\n", env=cli_env)
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    listing = runner.invoke(cli_app, ["users", "list"], env=cli_env)
    assert listing.exit_code == 0
    assert "marie" in listing.output and "paul" in listing.output and "scrypt" not in listing.output
    assert runner.invoke(cli_app, ["users", "remove", "paul"], env=cli_env).exit_code == 0
    assert [u.name for u in auth.list_users(settings)] == ["marie"]


def test_cli_errors_are_one_line(settings, cli_env):
    runner = CliRunner()
    result = runner.invoke(cli_app, ["users", "add", "x", "--role", "chef", "--sso"], env=cli_env)
    assert result.exit_code == 1
    assert "rôle « chef » inconnu" in result.output and "Traceback" not in result.output
    result = runner.invoke(cli_app, ["users", "remove", "personne"], env=cli_env)
    assert result.exit_code == 1 and "n'existe pas" in result.output
