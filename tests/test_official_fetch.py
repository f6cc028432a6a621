"""Fetch of the SSMSI commune file through a fake data.gouv.fr dataset API served on the loopback interface."""

from __future__ import annotations

import gzip
import hashlib
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from observatory import official
from observatory.config import get_settings
from observatory.official import OfficialError

REPO = Path(__file__).resolve().parents[1]

CSV = (
    '"CODGEO_2026";"annee";"indicateur";"unite_de_compte";"nombre";"taux_pour_mille";"est_diffuse";"insee_pop";'
    '"insee_pop_millesime";"insee_log";"insee_log_millesime";"complement_info_nombre";"complement_info_taux"\n'
    '"69123";"2025";"Cambriolages de logement";"Infraction";"3000";"10,0000000";"diff";"500000";"2023";"300000";"2022";NA;NA\n'
    '"69381";"2025";"Cambriolages de logement";"Infraction";"100";"5,0000000";"diff";"20000";"2023";"20000";"2022";NA;NA\n'
    '"01071";"2025";"Vols avec armes";"Infraction";"0";"0,0000000";"diff";"5832";"2023";"2551";"2022";NA;NA\n'
)
GZ = gzip.compress(CSV.encode("utf-8"))


class FakeDataGouv:
    """Serves /api/dataset/ (JSON) and the files named in ``files``; counts requests per path."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {"/files/com.csv.gz": GZ, "/files/dep.csv.gz": b"not this one"}
        self.status: dict[str, int] = {}
        self.hits: dict[str, int] = {}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's naming
                outer.hits[self.path] = outer.hits.get(self.path, 0) + 1
                if self.path in outer.status:
                    self.send_error(outer.status[self.path])
                    return
                if self.path == "/api/dataset/":
                    body = json.dumps(outer.dataset()).encode()
                elif self.path in outer.files:
                    body = outer.files[self.path]
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):  # keep the test output quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def dataset(self) -> dict:
        return {
            "id": "ssmsi",
            "title": "Bases statistiques communale, départementale et régionale de la délinquance",
            "resources": [
                {"id": "r-dep", "title": "DEP - Base départementale", "format": "csv.gz", "url": self.base + "/files/dep.csv.gz",
                 "last_modified": "2026-03-01T10:00:00"},
                {"id": "r-com-xlsx", "title": "COM - Documentation", "format": "xlsx", "url": self.base + "/files/doc.xlsx",
                 "last_modified": "2026-03-01T10:00:00"},
                {"id": "r-com", "title": "COM - Base communale de la délinquance enregistrée", "format": "csv.gz",
                 "url": self.base + "/files/com.csv.gz", "last_modified": "2026-03-12T09:30:00", "filesize": len(GZ),
                 "checksum": {"type": "sha1", "value": hashlib.sha1(GZ).hexdigest()}},
            ],
        }

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def server():
    with FakeDataGouv() as srv:
        yield srv


def settings_for(tmp_path: Path, url: str):
    return get_settings(root=REPO, env={}, data_dir=tmp_path / "data", official_dataset_url=url, download_timeout_s=5.0)


def closed_port_url() -> str:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}/api/dataset/"


def cache_state(settings) -> dict[str, bytes]:
    folder = settings.official_dir
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.exists() else {}


def test_fetch_picks_the_commune_resource_and_caches_with_date_and_checksum(tmp_path, server):
    settings = settings_for(tmp_path, server.base + "/api/dataset/")
    seen: list[tuple[int, int | None]] = []
    result = official.fetch_official(settings, progress=lambda done, total: seen.append((done, total)))
    assert server.hits.get("/files/com.csv.gz") == 1 and "/files/dep.csv.gz" not in server.hits
    assert result.path.parent == settings.official_dir
    assert result.path.read_bytes() == GZ
    assert result.sha256 == hashlib.sha256(GZ).hexdigest()
    assert result.path.name == f"ssmsi_communes_2026-03-12_{result.sha256[:12]}.csv.gz"
    meta = json.loads(result.sidecar.read_text())
    assert meta["production_date"] == "2026-03-12T09:30:00" and meta["sha256"] == result.sha256 and meta["downloaded_at"]
    assert seen[0] == (0, len(GZ)) and seen[-1] == (len(GZ), len(GZ))
    assert [p.name for p in settings.official_dir.iterdir() if p.name.startswith(".")] == []  # no temp file left
    # The production date travels to the import through the sidecar.
    imported = official.import_official(settings, result.path)
    assert imported.production_date == "2026-03-12" and "data.gouv.fr" in imported.production_date_origin
    assert imported.rows == 2  # 69123 and 69381; 01071 left out
    again = official.fetch_official(settings)
    assert again.already_cached and again.path == result.path


def test_offline_gives_a_clear_message_and_leaves_the_cache(tmp_path, server):
    settings = settings_for(tmp_path, server.base + "/api/dataset/")
    official.fetch_official(settings)
    before = cache_state(settings)
    with pytest.raises(OfficialError, match="impossible de joindre .* hors ligne \\? — le cache est inchangé"):
        official.fetch_official(settings_for(tmp_path, closed_port_url()))
    assert cache_state(settings) == before


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        ("file_500", "réponse HTTP 500"),
        ("not_gzip", "n'est pas un gzip complet"),
        ("bad_checksum", "somme de contrôle sha1 différente"),
        ("no_resource", "aucune ressource communale"),
        ("api_404", "réponse HTTP 404"),
    ],
)
def test_broken_source_leaves_the_cache_untouched(tmp_path, server, breakage, message):
    settings = settings_for(tmp_path, server.base + "/api/dataset/")
    official.fetch_official(settings)
    before = cache_state(settings)
    if breakage == "file_500":
        server.status["/files/com.csv.gz"] = 500
    elif breakage == "not_gzip":
        server.files["/files/com.csv.gz"] = GZ[: len(GZ) // 2]
        server.dataset = lambda: {"resources": [{"title": "COM - base", "format": "csv.gz", "url": server.base + "/files/com.csv.gz"}]}
    elif breakage == "bad_checksum":
        server.files["/files/com.csv.gz"] = gzip.compress(CSV.encode() + b"\n")
    elif breakage == "no_resource":
        server.dataset = lambda: {"resources": [{"title": "DEP - base", "format": "csv.gz", "url": server.base + "/x"}]}
    elif breakage == "api_404":
        settings = settings_for(tmp_path, server.base + "/api/nothing/")
    with pytest.raises(OfficialError, match=message):
        official.fetch_official(settings)
    assert cache_state(settings) == before


def test_cli_fetch_imports_and_offline_fails_cleanly(tmp_path, server):
    from observatory.cli import app

    runner = CliRunner()
    env = {"OBSERVATORY_DATA_DIR": str(tmp_path / "data"), "OBSERVATORY_OFFICIAL_DATASET_URL": server.base + "/api/dataset/"}
    result = runner.invoke(app, ["official", "fetch"], env=env)
    assert result.exit_code == 0, result.output
    assert "Fichier téléchargé" in result.output and "Édition 2026 importée : 2 lignes gardées sur 3 lues" in result.output
    env["OBSERVATORY_OFFICIAL_DATASET_URL"] = closed_port_url()
    result = runner.invoke(app, ["official", "fetch"], env=env)
    assert result.exit_code == 1 and "hors ligne" in result.output and "Traceback" not in result.output
