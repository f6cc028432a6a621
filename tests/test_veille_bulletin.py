"""``observatory veille bulletin``: a one-page HTML (and PDF) of one cellule's week; e-mail only with an SMTP
server configured, proven with a local aiosmtpd server."""

from __future__ import annotations

import html
import shutil

import pytest
from typer.testing import CliRunner

from observatory.cli import app
from observatory.config import get_settings

runner = CliRunner()


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    from tests.dashboard_data import publish_random_store

    data = tmp_path_factory.mktemp("bulletin") / "data"
    s = publish_random_store(get_settings(data_dir=data), n=20_000, seed=11, actions=False)
    ref = s.reference_dir
    ref.mkdir(parents=True, exist_ok=True)
    (ref / "cellules_veille.csv").write_text("cellule_id,name,units,families\npresquile,Cellule Presqu'île,arr:69382|zone:hypercentre,atteintes_biens\n", encoding="utf-8")
    return s


def _env(store, **more):
    return {"OBSERVATORY_DATA_DIR": str(store.data_path), **more}


def test_bulletin_html_names_the_cellule_and_week(store, tmp_path):
    out = tmp_path / "b.html"
    r = runner.invoke(app, ["veille", "bulletin", "--cellule", "presquile", "--semaine", "2025-W14", "--out", str(out)], env=_env(store))
    assert r.exit_code == 0, r.output
    text = html.unescape(out.read_text(encoding="utf-8"))
    assert "Bulletin de veille — Cellule Presqu'île" in text and "Semaine 2025-W14 (du 31/03/2025 au 06/04/2025)" in text
    assert "Bonferroni" in text


def test_bulletin_header_gives_the_date_of_the_data_not_the_snapshot_id(store, tmp_path):
    import re

    out = tmp_path / "b.html"
    r = runner.invoke(app, ["veille", "bulletin", "--cellule", "presquile", "--semaine", "2025-W14", "--out", str(out)], env=_env(store))
    assert r.exit_code == 0, r.output
    text = html.unescape(out.read_text(encoding="utf-8"))
    header = re.search(r"<p class='sub'>(.*?)</p>", text).group(1)
    assert re.search(r"données arrêtées au \d{2}/\d{2}/\d{4}", header), header
    assert not re.search(r"\d{8}T\d+Z", header), header
    # The id stays as a reference at the foot, where the observatory can reproduce the bulletin from it.
    assert re.search(r"Référence des données à l'observatoire : \d{8}T\d+Z", text)


def test_bulletin_refuses_bad_input_in_french(store, tmp_path):
    r = runner.invoke(app, ["veille", "bulletin", "--semaine", "semaine 14"], env=_env(store))
    assert r.exit_code == 1 and "2025-W14" in r.output
    r = runner.invoke(app, ["veille", "bulletin", "--cellule", "inconnue", "--semaine", "2025-W14"], env=_env(store))
    assert r.exit_code == 1 and "cellule 'inconnue' inconnue" in r.output
    r = runner.invoke(app, ["veille", "bulletin", "--semaine", "2025-W14", "--to", "a@b.fr", "--out", str(tmp_path / "x.html")], env=_env(store))
    assert r.exit_code == 1 and "smtp_host" in r.output


def test_bulletin_is_mailed_through_the_configured_server(store, tmp_path):
    aiosmtpd = pytest.importorskip("aiosmtpd.controller")
    from aiosmtpd.handlers import Sink

    class Keep(Sink):
        def __init__(self) -> None:
            self.messages = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append(envelope)
            return "250 OK"

    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    handler = Keep()
    ctl = aiosmtpd.Controller(handler, hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        r = runner.invoke(app, ["veille", "bulletin", "--cellule", "presquile", "--semaine", "2025-W14", "--out", str(tmp_path / "m.html"),
                                "--to", "cellule@example.org"],
                          env=_env(store, OBSERVATORY_SMTP_HOST="127.0.0.1", OBSERVATORY_SMTP_PORT=str(port)))
    finally:
        ctl.stop()
    assert r.exit_code == 0, r.output
    assert len(handler.messages) == 1
    env = handler.messages[0]
    assert env.rcpt_tos == ["cellule@example.org"]
    assert b"Bulletin de veille 2025-W14" in env.content or b"Bulletin_de_veille" in env.content


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Chromium absent: no PDF")
def test_bulletin_pdf(store, tmp_path):
    out = tmp_path / "b.pdf"
    r = runner.invoke(app, ["veille", "bulletin", "--semaine", "2025-W50", "--format", "pdf", "--out", str(out)], env=_env(store))
    assert r.exit_code == 0, r.output
    assert out.read_bytes()[:5] == b"%PDF-"


def test_alertes_command_records_the_history(store):  # noqa: ANN001
    from observatory.veille.watch import history_path

    r = runner.invoke(app, ["veille", "alertes"], env=_env(store))
    assert r.exit_code == 0, r.output
    assert "Veille — semaine 2025-W52" in r.output and "Historique" in r.output
    assert history_path(store).exists()
