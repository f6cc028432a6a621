"""The user store: one JSON file, readable by its owner only, passwords hashed with scrypt.

File format (``users.json`` under the data folder unless ``settings.users_file`` says otherwise)::

    {"version": 1, "users": {"marie": {"role": "analyste", "password": "scrypt$32768$8$1$<salt>$<hash>",
                                        "created_at": "2026-03-01T10:00:00"}}}

A user created for the reverse-proxy (SSO) mode has ``"password": ""``: nobody can sign in with a password as
that user, the proxy vouches for them. Passwords never leave this module in clear: not logged, not stored,
not put in exceptions.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import stat
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from observatory.config import Settings

log = logging.getLogger(__name__)

ROLES = ("analyste", "elu", "admin")
ROLE_LABELS = {"analyste": "analyste", "elu": "élu·e", "admin": "administrateur"}
USERS_FILE = "users.json"
SECRET_FILE = ".secret_key"
MIN_PASSWORD_LENGTH = 10
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,63}$")

# scrypt cost: N=2**15, r=8 takes ~50-100 ms and 32 MiB here, which makes offline guessing expensive and a
# sign-in still instant. Stored with each hash so the cost can be raised later without breaking old hashes.
SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 1
_SCRYPT_MAXMEM = 128 * 1024 * 1024


class AuthError(ValueError):
    """A user-store operation cannot be done; the message (French) says why. Never contains a password."""


@dataclass(frozen=True)
class User:
    name: str
    role: str
    created_at: str = ""
    sso_only: bool = False

    @property
    def is_analyst(self) -> bool:
        return self.role in ("analyste", "admin")


# Hashing -------------------------------------------------------------------------------------------------------

def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    """Encode ``password`` as ``scrypt$N$r$p$salt$hash`` (base64), with a fresh 16-byte salt."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_SCRYPT_MAXMEM, dklen=32)
    b64 = lambda raw: base64.b64encode(raw).decode("ascii")  # noqa: E731 - two uses, one line
    return f"scrypt${n}${r}${p}${b64(salt)}${b64(digest)}"


def verify_password(password: str, encoded: str) -> bool:
    """True when ``password`` matches ``encoded``; False for any malformed or empty (SSO-only) hash."""
    try:
        scheme, n, r, p, salt, digest = encoded.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        got = hashlib.scrypt(
            password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
            maxmem=_SCRYPT_MAXMEM, dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


# A hash computed once so that an unknown user name costs the same time as a wrong password.
_DUMMY_HASH: str | None = None


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password(secrets.token_hex(8))
    return _DUMMY_HASH


# Files ---------------------------------------------------------------------------------------------------------

def users_path(settings: Settings) -> Path:
    """Where the user store lives: ``settings.users_file`` when set, else ``<data>/users.json``."""
    configured = getattr(settings, "users_file", "") or ""
    if configured:
        path = Path(configured)
        return path if path.is_absolute() else settings.root / path
    return settings.data_path / USERS_FILE


def _write_private(path: Path, text: str) -> None:
    """Write atomically (temp file then rename) with mode 0600 from the first byte."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", dir=path.parent)  # mkstemp creates with 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _ensure_private(path: Path) -> None:
    # A store copied around may have lost its mode; tighten it rather than refuse to start, and say so.
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("%s was readable by others (mode %o); permissions reset to 600", path, mode)
        os.chmod(path, 0o600)


def _load(settings: Settings) -> dict:
    path = users_path(settings)
    if not path.exists():
        return {"version": 1, "users": {}}
    _ensure_private(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise AuthError(f"{path} : fichier des utilisateurs illisible ({exc.__class__.__name__}, ligne {getattr(exc, 'lineno', '?')})") from None
    if not isinstance(data, dict) or not isinstance(data.get("users"), dict):
        raise AuthError(f"{path} : fichier des utilisateurs mal formé (clé « users » absente)")
    for name, record in data["users"].items():
        if not isinstance(record, dict) or record.get("role") not in ROLES:
            raise AuthError(f"{path} : utilisateur « {name} » : rôle absent ou inconnu (attendu : {', '.join(ROLES)})")
    return data


def _save(settings: Settings, data: dict) -> None:
    _write_private(users_path(settings), json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n")


def _user(name: str, record: dict) -> User:
    return User(name=name, role=record["role"], created_at=record.get("created_at", ""), sso_only=not record.get("password"))


# Operations ----------------------------------------------------------------------------------------------------

def list_users(settings: Settings) -> list[User]:
    return [_user(name, rec) for name, rec in sorted(_load(settings)["users"].items())]


def has_users(settings: Settings) -> bool:
    return bool(_load(settings)["users"])


def get_user(settings: Settings, name: str) -> User | None:
    record = _load(settings)["users"].get(name)
    return _user(name, record) if record else None


def add_user(settings: Settings, name: str, password: str | None, role: str, *, replace: bool = False) -> User:
    """Create (or with ``replace`` update) a user. ``password=None`` creates an SSO-only user (proxy header mode)."""
    name = name.strip()
    if not NAME_PATTERN.match(name):
        raise AuthError(f"nom d'utilisateur « {name} » invalide : minuscules, chiffres et . _ @ - seulement (64 caractères au plus)")
    if role not in ROLES:
        raise AuthError(f"rôle « {role} » inconnu ; rôles possibles : {', '.join(ROLES)}")
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        raise AuthError(f"mot de passe trop court : {MIN_PASSWORD_LENGTH} caractères au moins")
    data = _load(settings)
    if name in data["users"] and not replace:
        raise AuthError(f"l'utilisateur « {name} » existe déjà (utilisez --replace pour changer son mot de passe ou son rôle)")
    data["users"][name] = {
        "role": role,
        "password": hash_password(password) if password is not None else "",
        "created_at": data["users"].get(name, {}).get("created_at") or datetime.now(timezone.utc).replace(microsecond=0).isoformat(),  # aware: shown in Paris time whatever the machine zone
    }
    _save(settings, data)
    log.info("user %s saved with role %s", name, role)
    return _user(name, data["users"][name])


def remove_user(settings: Settings, name: str) -> None:
    data = _load(settings)
    if name not in data["users"]:
        raise AuthError(f"l'utilisateur « {name} » n'existe pas")
    del data["users"][name]
    _save(settings, data)
    log.info("user %s removed", name)


def authenticate(settings: Settings, name: str, password: str) -> User | None:
    """The user when ``name``/``password`` match, else None (same cost whether or not the name exists)."""
    record = _load(settings)["users"].get((name or "").strip())
    if record is None or not record.get("password"):
        verify_password(password or "", _dummy_hash())
        return None
    if not verify_password(password or "", record["password"]):
        return None
    return _user(name.strip(), record)


def secret_key(settings: Settings) -> str:
    """The session signing key: ``settings.secret_key``, else one generated once and kept in ``<data>/.secret_key`` (0600)."""
    if settings.secret_key:
        return settings.secret_key
    path = settings.data_path / SECRET_FILE
    if path.exists():
        _ensure_private(path)
        key = path.read_text(encoding="ascii").strip()
        if len(key) >= 32:
            return key
    key = secrets.token_hex(32)
    _write_private(path, key + "\n")
    return key
