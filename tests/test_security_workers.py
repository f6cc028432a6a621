"""Sign-in throttle and session revocation hold across gunicorn workers (issue 14, point 5).

Two workers serve the app on a free loopback port; each request opens a new connection, so the requests land on
either worker. With per-process state, five failures split between the workers left each under the limit, and a
cookie copied before sign-out kept working in every worker.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest

from observatory import auth
from observatory.config import get_settings

REPO = Path(__file__).resolve().parents[1]
PASSWORD = "correct-horse-battery"

pytest.importorskip("gunicorn")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory):  # noqa: ANN001, ANN201
    data = tmp_path_factory.mktemp("workers") / "data"
    settings = get_settings(root=REPO, env={}, data_dir=data)
    auth.add_user(settings, "paul", PASSWORD, "elu")
    auth.add_user(settings, "marie", PASSWORD, "analyste")
    port = _free_port()
    env = {**os.environ, "OBSERVATORY_DATA_DIR": str(data), "OBSERVATORY_ROOT": str(REPO)}
    # --preload builds the app once, then forks the two workers (faster to start; each worker has its own memory).
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "2", "--preload", "--bind", f"127.0.0.1:{port}", "app:server"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        for _ in range(600):  # up to 60 s on a loaded machine
            if proc.poll() is not None:
                pytest.fail(f"gunicorn stopped: {proc.stderr.read().decode(errors='replace')[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("gunicorn did not start")
        yield port
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def _request(port: int, method: str, path: str, body: str = "", cookie: str = "") -> http.client.HTTPResponse:
    """One request on a new connection (so that either worker may take it)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Origin": f"http://127.0.0.1:{port}", "Connection": "close"}
    if body:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    if cookie:
        headers["Cookie"] = cookie
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


def _sign_in(port: int, name: str, password: str) -> http.client.HTTPResponse:
    return _request(port, "POST", "/connexion", urlencode({"utilisateur": name, "mot_de_passe": password, "next": "/"}))


def _cookie(response: http.client.HTTPResponse) -> str:
    raw = response.getheader("Set-Cookie") or ""
    return raw.split(";", 1)[0]


def test_throttle_counts_across_workers(served):  # noqa: ANN001
    port = served
    for _ in range(5):
        assert "erreur=identifiants" in _sign_in(port, "paul", "mauvais-mot-de-passe").getheader("Location")
    # Whichever worker answers, the pair is blocked now, even with the right password.
    for _ in range(6):
        assert "erreur=bloque" in _sign_in(port, "paul", PASSWORD).getheader("Location")


def test_sign_out_ends_every_copy_of_the_cookie_in_every_worker(served):  # noqa: ANN001
    port = served
    signed = _sign_in(port, "marie", PASSWORD)
    assert signed.status == 303 and "erreur" not in signed.getheader("Location")
    cookie = _cookie(signed)
    for _ in range(4):
        assert _request(port, "GET", "/donnees", cookie=cookie).status == 200
    assert _request(port, "GET", "/deconnexion", cookie=cookie).status == 405  # sign-out by POST only
    assert _request(port, "POST", "/deconnexion", cookie=cookie).status == 303
    for _ in range(8):
        response = _request(port, "GET", "/donnees", cookie=cookie)  # the copy kept from before the sign-out
        assert response.status == 302 and response.getheader("Location").startswith("/connexion"), response.status
    again = _cookie(_sign_in(port, "marie", PASSWORD))
    assert _request(port, "GET", "/donnees", cookie=again).status == 200
