"""Sign-in state shared by every worker process: failed sign-ins (throttle) and session generations (revocation).

Kept in one SQLite file beside the user store (``auth_state.sqlite``, mode 600), so that several gunicorn
workers see the same counts and the same revocations: SQLite serialises writers across processes, and each
decision is one ``BEGIN IMMEDIATE`` transaction.

* Throttle: an attempt is recorded *before* the password is checked (and forgotten when it succeeds), so that
  concurrent attempts in several workers cannot slip past the limit. More than :data:`PAIR_LIMIT` failures for
  one (address, name) or :data:`ADDRESS_LIMIT` for one address over all names within :data:`WINDOW_S` block
  further attempts from there until the window has passed.
* Revocation: each user has a generation number; a session records the generation it was opened in, and
  :func:`sign_out_everywhere` (sign-out) increments it, which ends every earlier session of that user in
  every worker. A password or role change ends them through the user store's fingerprint.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from observatory.auth.store import users_path
from observatory.config import Settings

STATE_FILE = "auth_state.sqlite"
PAIR_LIMIT = 5
ADDRESS_LIMIT = 20
WINDOW_S = 900.0


def state_path(settings: Settings) -> Path:
    """Beside the user store, so the two travel together."""
    return users_path(settings).parent / STATE_FILE


@contextmanager
def _db(settings: Settings) -> Iterator[sqlite3.Connection]:
    path = state_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        # Created private from the first byte (it names users and addresses).
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    with closing(sqlite3.connect(path, timeout=30, isolation_level=None)) as con:
        con.execute("PRAGMA busy_timeout = 30000")
        con.execute("CREATE TABLE IF NOT EXISTS failures (address TEXT NOT NULL, name TEXT NOT NULL, at REAL NOT NULL)")
        con.execute("CREATE TABLE IF NOT EXISTS generations (name TEXT PRIMARY KEY, generation INTEGER NOT NULL)")
        yield con


def begin_attempt(settings: Settings, address: str, name: str, now: float | None = None) -> bool:
    """Record a sign-in attempt (counted as a failure until :func:`attempt_succeeded`); False when blocked."""
    now = time.time() if now is None else now
    with _db(settings) as con:
        con.execute("BEGIN IMMEDIATE")
        try:
            con.execute("DELETE FROM failures WHERE at < ?", (now - WINDOW_S,))
            (pair,) = con.execute("SELECT COUNT(*) FROM failures WHERE address = ? AND name = ?", (address, name)).fetchone()
            (total,) = con.execute("SELECT COUNT(*) FROM failures WHERE address = ?", (address,)).fetchone()
            if pair >= PAIR_LIMIT or total >= ADDRESS_LIMIT:
                con.execute("COMMIT")
                return False
            con.execute("INSERT INTO failures VALUES (?, ?, ?)", (address, name, now))
            con.execute("COMMIT")
            return True
        except BaseException:
            con.execute("ROLLBACK")
            raise


def attempt_succeeded(settings: Settings, address: str, name: str) -> None:
    """A right password: forget this pair's failures (the address's failures on other names stay)."""
    with _db(settings) as con:
        con.execute("DELETE FROM failures WHERE address = ? AND name = ?", (address, name))


def generation(settings: Settings, name: str) -> int:
    """The user's current session generation (0 until a first sign-out)."""
    with _db(settings) as con:
        row = con.execute("SELECT generation FROM generations WHERE name = ?", (name,)).fetchone()
    return int(row[0]) if row else 0


def sign_out_everywhere(settings: Settings, name: str) -> int:
    """End every session of ``name`` opened so far, in every worker; returns the new generation."""
    with _db(settings) as con:
        con.execute("BEGIN IMMEDIATE")
        con.execute("INSERT INTO generations VALUES (?, 1) ON CONFLICT(name) DO UPDATE SET generation = generation + 1", (name,))
        (gen,) = con.execute("SELECT generation FROM generations WHERE name = ?", (name,)).fetchone()
        con.execute("COMMIT")
    return int(gen)
