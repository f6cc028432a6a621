"""Browser uploads: every hostile file is refused (or made inert) and nothing is published by a refused file."""

from __future__ import annotations

import base64
import io
import json
import random
import zipfile

import dash
import pyarrow.parquet as pq
import pytest
from dash import html
from plotly.utils import PlotlyJSONEncoder

from observatory import auth, schema, store
from observatory.dashboard import security, upload
from observatory.dashboard.upload import UploadRefused, check_upload, start_upload
from observatory.reports.exports import neutralise
from tests.etl_helpers import pn_row, settings_for, write_pn
from tests.test_security import ORIGIN, PASSWORD, build_app, page_registry, sign_in  # noqa: F401 - fixture

MB = 1024 * 1024


def data_url(data: bytes, mime: str = "text/csv") -> str:
    return f"data:{mime};base64," + base64.b64encode(data).decode("ascii")


def xlsx_like(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="x"/>')
        zf.writestr("xl/workbook.xml", '<?xml version="1.0"?><workbook xmlns="x"/>')
        for name, content in members.items():
            zf.writestr(name, content)
    return buf.getvalue()


def real_xlsx() -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["N° intervention", "Date", "Motif"])
    wb.active.append(["PM-1", 45000.5, "Incivilités"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def pn_bytes(tmp_path, rows) -> bytes:
    return write_pn(tmp_path / "pn.csv", rows).read_bytes()


class Spy:
    def __init__(self):
        self.calls = 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        raise AssertionError("ingest must not run for a refused file")


@pytest.fixture
def settings(tmp_path):
    return settings_for(tmp_path)


def assert_nothing_changed(settings):
    assert store.current_snapshot(settings) is None
    uploads = settings.raw_dir / "uploads"
    assert not uploads.exists() or not [p for p in uploads.rglob("*") if p.is_file()]


# Pure content checks -------------------------------------------------------------------------------------------

def test_real_files_pass(tmp_path):
    assert check_upload(real_xlsx(), "interventions_2024-03-01.xlsx", "xlsx", 20 * MB).kind == "xlsx"
    verdict = check_upload(pn_bytes(tmp_path, [pn_row("A1")]), "pn.csv", "csv", 20 * MB, ("utf-8", "cp1252"))
    assert (verdict.kind, verdict.encoding) == ("csv", "cp1252")


def test_oversized_file_is_refused():
    with pytest.raises(UploadRefused, match="dépasse la taille maximale de 1,0 Mo"):
        check_upload(b"a;b\n" * (MB // 3), "gros.csv", "csv", MB)
    with pytest.raises(UploadRefused, match="dépasse"):  # refused before decoding the base64 payload
        upload.decode_contents(data_url(b"x" * (2 * MB)), MB, "gros.csv")


@pytest.mark.parametrize("content, name, fmt, reason", [
    (b"\x7fELF\x02\x01\x01" + bytes(200), "extrait.csv", "csv", "exécutable"),
    (b"\x89PNG\r\n\x1a\n" + bytes(100), "extrait.csv", "csv", "image PNG"),
    (b"id;date\n1;\x00\x01\x02", "extrait.csv", "csv", "octet nul ligne 2"),
    (b"id;date\n1;2024\x1b[31m\n", "extrait.csv", "csv", "caractère de contrôle U\\+001B ligne 2"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "extrait.xlsx", "xlsx", r"97-2003 \(.xls\)"),
    (b"id;date\n1;2024\n", "extrait.xlsx", "xlsx", "signature zip absente"),
    (b"PK\x03\x04garbage", "extrait.xlsx", "xlsx", "illisible"),
    (b"", "vide.csv", "csv", "vide"),
], ids=["elf-as-csv", "png-as-csv", "nul-bytes", "control-chars", "xls-as-xlsx", "csv-as-xlsx", "broken-zip", "empty"])
def test_renamed_binaries_are_refused(content, name, fmt, reason):
    with pytest.raises(UploadRefused, match=reason):
        check_upload(content, name, fmt, 20 * MB, ("utf-8",))


def test_zip_without_workbook_and_wrong_extension_are_refused():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("readme.txt", "bonjour")
    with pytest.raises(UploadRefused, match="manque"):
        check_upload(buf.getvalue(), "extrait.xlsx", "xlsx", 20 * MB)
    with pytest.raises(UploadRefused, match="extension .exe"):
        check_upload(b"MZ", "extrait.exe", "csv", 20 * MB)
    with pytest.raises(UploadRefused, match="envoie des fichiers XLSX, pas CSV"):
        check_upload(b"a;b\n", "extrait.csv", "xlsx", 20 * MB)


def test_zip_bomb_disguised_as_xlsx_is_refused():
    bomb = xlsx_like({"xl/worksheets/sheet1.xml": b"<" + b"0" * (64 * MB)})
    assert len(bomb) < MB  # small on the wire…
    with pytest.raises(UploadRefused, match="se décompresse .* fois .*bombe de décompression"):
        check_upload(bomb, "interventions.xlsx", "xlsx", 20 * MB)


def test_total_uncompressed_size_is_capped(monkeypatch):
    monkeypatch.setattr(upload, "MAX_UNCOMPRESSED_BYTES", 2 * MB)
    rng = random.Random(0)
    members = {f"xl/worksheets/sheet{i}.xml": rng.randbytes(MB) for i in range(3)}  # 1 MiB each, incompressible
    with pytest.raises(UploadRefused, match="une fois décompressé"):
        check_upload(xlsx_like(members), "interventions.xlsx", "xlsx", 20 * MB)


def test_xml_entity_bomb_is_refused():
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
        + ']><worksheet xmlns="x"><c>&lol9;</c></worksheet>'
    )
    with pytest.raises(UploadRefused, match="DTD ou des entités"):
        check_upload(xlsx_like({"xl/worksheets/sheet1.xml": laughs.encode()}), "interventions.xlsx", "xlsx", 20 * MB)
    external = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><workbook>&e;</workbook>'
    with pytest.raises(UploadRefused, match="DTD"):
        check_upload(xlsx_like({"xl/styles.xml": external.encode()}), "interventions.xlsx", "xlsx", 20 * MB)


def test_safe_filename():
    assert upload.safe_filename("../../etc/passwd", "csv") == "passwd.csv"
    assert upload.safe_filename("<script>alert(1)</script> 2024-03-01.csv", "csv") == "script_2024-03-01.csv"  # "/" splits the path: basename only
    assert upload.safe_filename("", "xlsx") == "extrait.xlsx"


# Through start_upload: nothing published by a refused file -----------------------------------------------------

def test_refused_uploads_change_nothing(settings, tmp_path):
    spy = Spy()
    cases = [
        (data_url(b"\x7fELF" + bytes(50)), "pn.csv", "police_nationale", "exécutable"),
        (data_url(pn_bytes(tmp_path, [pn_row("A1")])), "pn.csv", "", "choisissez"),
        (data_url(pn_bytes(tmp_path, [pn_row("A1")])), "pn.csv", "../../etc", "inconnu"),
        (data_url(xlsx_like({"xl/worksheets/sheet1.xml": b"<" + b"0" * (32 * MB)})), "pm.xlsx", "police_municipale", "bombe"),
        ("data:text/csv;base64,@@@", "pn.csv", "police_nationale", "mal encodé"),
    ]
    for contents, name, source, reason in cases:
        with pytest.raises(UploadRefused, match=reason):
            start_upload(settings, contents, name, source, owner="marie", ingest=spy, wait=True)
    assert spy.calls == 0
    assert_nothing_changed(settings)


def test_file_refused_by_the_pipeline_is_removed(settings, tmp_path):
    # Valid CSV text, but not this partner's columns: the pipeline refuses it.
    contents = data_url("colonne_a;colonne_b\n1;2\n".encode("cp1252"))
    job = start_upload(settings, contents, "pn_2024-03-01.csv", "police_nationale", owner="marie", wait=True)
    assert job.state == "refuse", job.message
    assert "rien n'a été publié" in job.message
    assert job.rows and job.rows[0]["refused"]
    assert_nothing_changed(settings)


def test_csv_with_formula_cells_and_script_label_is_ingested_inert(settings, tmp_path):
    formula = '=HYPERLINK("http://exemple.org/x","clic")'
    script = "<script>alert('x')</script>"
    rows = [pn_row("F1", label=formula), pn_row("F2", label=script), pn_row("F3")]
    job = start_upload(settings, data_url(pn_bytes(tmp_path, rows)), "pn_2024-03-01.csv", "police_nationale", owner="marie", wait=True)
    assert job.state == "termine", job.message
    assert job.progress == 1.0 and job.snapshot_id
    assert job.rows[0]["read"] == 3 and job.rows[0]["accepted"] == 3
    snapshot = store.current_snapshot(settings)
    labels = {v for f in snapshot.incident_files for v in pq.ParquetFile(f).read(columns=[schema.RAW_LABEL]).column(0).to_pylist()}
    assert {formula, script} <= labels  # kept as the partner wrote them: plain text, never evaluated
    assert neutralise(formula) == "'" + formula  # …and a spreadsheet export will not run it
    # In the dashboard a label is component text, which React renders as text; in Plotly, escape_hover.
    payload = json.dumps(html.Td(script).to_plotly_json(), cls=PlotlyJSONEncoder)
    assert json.loads(payload)["props"]["children"] == script
    assert security.escape_hover(script) == "&lt;script&gt;alert('x')&lt;/script&gt;"
    # The staged copy is kept under data/raw/uploads (lineage of the published snapshot).
    assert len(list((settings.raw_dir / "uploads" / "police_nationale").rglob("*.csv"))) == 1


def test_progress_and_report_rows():
    from observatory.etl.pipeline import FileReport, IngestResult
    from pathlib import Path

    result = IngestResult(source="x", files=[FileReport(path=Path("/x/a.csv"), rows_read=5, accepted=3, quarantined=1, duplicates=1,
                                                         unmapped_labels={"Inconnu": 2})])
    assert upload.report_rows(result) == [{"file": "a.csv", "read": 5, "accepted": 3, "quarantined": 1, "duplicates": 1,
                                           "revisions": 0, "unpublished": 0, "unmapped": 1, "refused": False, "message": ""}]


# Through HTTP: the upload callback --------------------------------------------------------------------------------

def upload_call(client, contents, filename, source):
    body = {
        "output": "..import-tache.data...import-minuterie.disabled...import-etat.children...import-rapport.children...import-progression.style..",
        "outputs": [{"id": i, "property": p} for i, p in (("import-tache", "data"), ("import-minuterie", "disabled"),
                                                          ("import-etat", "children"), ("import-rapport", "children"),
                                                          ("import-progression", "style"))],
        "inputs": [{"id": "import-fichier", "property": "contents", "value": contents}],
        "state": [{"id": "import-fichier", "property": "filename", "value": filename},
                  {"id": "import-source", "property": "value", "value": source}],
        "changedPropIds": ["import-fichier.contents"],
    }
    return client.post("/_dash-update-component", json=body, headers=ORIGIN)


@pytest.fixture
def http_settings(tmp_path):
    settings = settings_for(tmp_path, max_upload_mb=1.0)
    auth.add_user(settings, "marie", PASSWORD, "analyste")
    auth.add_user(settings, "paul", PASSWORD, "elu")
    return settings


def test_upload_callback_roles_and_refusal(http_settings, page_registry, tmp_path):  # noqa: F811 - fixture
    app = build_app(http_settings)
    elu = app.server.test_client()
    sign_in(elu, "paul")
    good = data_url(pn_bytes(tmp_path, [pn_row("A1")]))
    assert upload_call(elu, good, "pn.csv", "police_nationale").status_code == 403
    assert upload_call(app.server.test_client(), good, "pn.csv", "police_nationale").status_code == 401
    analyst = app.server.test_client()
    sign_in(analyst, "marie")
    hostile = "<img src=x onerror=alert(1)>.csv"
    response = upload_call(analyst, data_url(b"\x7fELF" + bytes(10)), hostile, "police_nationale")
    assert response.status_code == 200
    status = response.get_json()["response"]["import-etat"]["children"]
    assert status["props"]["children"].startswith("Fichier refusé : <img src=x onerror=alert(1)>.csv")  # text, not markup
    assert response.get_json()["response"]["import-tache"]["data"] is None
    assert_nothing_changed(http_settings)


def test_server_refuses_bodies_over_the_upload_limit(http_settings, page_registry):  # noqa: F811 - fixture
    app = build_app(http_settings)
    client = app.server.test_client()
    sign_in(client, "marie")
    response = upload_call(client, data_url(b"a;b\n" * (MB // 2)), "gros.csv", "police_nationale")
    assert response.status_code == 413
    assert_nothing_changed(http_settings)


def test_panel_only_for_analysts(http_settings):
    panel = upload.upload_panel(http_settings)  # outside a request: the local analyst
    ids = {getattr(c, "id", None) for c in _walk(panel)}
    assert {upload.ID_UPLOAD, upload.ID_SOURCE, upload.ID_TICK} <= ids
    dropdown = next(c for c in _walk(panel) if getattr(c, "id", None) == upload.ID_SOURCE)
    assert {"label": "Police nationale", "value": "police_nationale"} in dropdown.options
    uploader = next(c for c in _walk(panel) if getattr(c, "id", None) == upload.ID_UPLOAD)
    assert uploader.max_size == MB


def _walk(component):
    yield component
    children = getattr(component, "children", None)
    if isinstance(children, (list, tuple)):
        for child in children:
            yield from _walk(child)
    elif children is not None and hasattr(children, "_prop_names"):
        yield from _walk(children)


def test_disk_full_while_staging_is_refused_in_french_and_cleaned(settings, tmp_path, monkeypatch):
    import errno
    from pathlib import Path as _Path

    def full(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_Path, "write_bytes", full)
    spy = Spy()
    with pytest.raises(UploadRefused, match="disque plein"):
        start_upload(settings, data_url(b"NUM_FAIT;DATE\n1;2\n"), "pn.csv", "police_nationale", owner="marie", ingest=spy, wait=True)
    monkeypatch.undo()
    assert spy.calls == 0
    staged = settings.raw_dir / "uploads" / "police_nationale"
    assert not staged.exists() or not list(staged.iterdir())  # the stamp folder of the failed copy is gone
    # The ingest lock was released: the next upload is not told one is already running.
    job = start_upload(settings, data_url(pn_bytes(tmp_path, [pn_row("A1")])), "pn_2024-03-01.csv", "police_nationale", owner="marie", ingest=spy, wait=True)
    assert job is not None
