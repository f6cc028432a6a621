"""Browser tests of the dashboard: the real app under gunicorn, driven by Debian's Chromium through Playwright.

Fixtures other engineers' page tests can reuse (all marked ``browser``; skipped when Chromium or Playwright is
missing):

- ``dashboard_settings`` (session): Settings over a tmp data folder holding one published snapshot of ~20,000
  random plausible incidents (``tests/dashboard_data.publish_random_store``: 2022–2025, a TCL gap in March
  2025), the demo's fictitious resident survey (waves 2021, 2023, 2025) and its exposure series (2022–2025).
- ``dashboard_url`` (session): base URL ("http://127.0.0.1:PORT") of ``gunicorn app:server`` (the production
  WSGI entry point) started on a free port with ``OBSERVATORY_DATA_DIR`` pointing at that folder.
- ``browser`` (session): a Playwright Chromium browser (``/usr/bin/chromium``, no sandbox, no GPU, no
  background networking).
- ``page`` (function): a fresh page with ``page.console_errors`` (console errors and uncaught exceptions),
  ``page.failed_callbacks`` (``/_dash-update-component`` responses ≥ 400) and ``page.foreign_requests``
  (any request to a host other than the dashboard's). Use ``open_page(page, url)`` to load a URL and wait
  until Dash has no callback in flight.
- ``ARTIFACTS``: ``tests/artifacts/`` (gitignored) for screenshots.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]


def pytest_collection_modifyitems(config, items):  # noqa: ANN001, ANN201
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def dashboard_settings(tmp_path_factory):  # noqa: ANN001, ANN201
    from observatory.config import get_settings
    from tests.dashboard_data import publish_random_store

    data = tmp_path_factory.mktemp("dashboard") / "data"
    settings = publish_random_store(get_settings(data_dir=data), n=20_000, seed=7)
    import_demo_survey(settings)
    import_demo_exposure(settings)
    # As `observatory prepare` does: the élus' yearly publications are built with the snapshot, not by the first
    # élu request (which would then wait for the linear programs of every year it reads).
    from observatory.analytics import publication
    from observatory.analytics.engine import get_analytics

    publication.ensure_all(settings, get_analytics(settings))
    return settings


def import_demo_exposure(settings):  # noqa: ANN001, ANN201
    """The demo's fictitious exposure series (pool attendance, people present…), for « par exposition »."""
    from observatory import exposure
    from observatory.demo.exposure import write_exposure

    for name, path in write_exposure(settings.raw_dir / "exposition", (2022, 2025)).items():
        exposure.import_exposure(settings, exposure.load_profile(settings, name), path)
    return settings


def import_demo_survey(settings):  # noqa: ANN001, ANN201
    """The demo's fictitious resident survey (three waves), for the « Sentiment d'insécurité » page."""
    from observatory import survey
    from observatory.demo.survey import PROFILE_NAME, write_survey
    from observatory.territory import populations

    profile = survey.load_survey_profile(survey.profile_path(settings, PROFILE_NAME))
    for path in write_survey(settings.raw_dir / "enquetes", populations(settings)):
        survey.import_survey(settings, profile, path)
    return settings


@pytest.fixture(scope="session")
def dashboard_url(dashboard_settings):  # noqa: ANN001, ANN201
    gunicorn = Path(sys.executable).parent / "gunicorn"
    if not gunicorn.exists():
        pytest.skip("gunicorn is not installed in the venv")
    port = _free_port()
    env = {**os.environ, "OBSERVATORY_DATA_DIR": str(dashboard_settings.data_path), "OBSERVATORY_HOST": "127.0.0.1"}
    log = ARTIFACTS / "gunicorn.log"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with open(log, "w", encoding="utf-8") as out:
        proc = subprocess.Popen(
            [str(gunicorn), "app:server", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "4", "--worker-class", "gthread", "--timeout", "120"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            with urllib.request.urlopen(url + "/_dash-layout", timeout=5) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            pytest.fail(f"gunicorn app:server did not start; see {log}:\n{log.read_text(encoding='utf-8')[-3000:]}")
        time.sleep(0.3)
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def browser():  # noqa: ANN201
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        pytest.skip("Debian's chromium is not installed (/usr/bin/chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright (python) is not installed")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture()
def page(browser, dashboard_url):  # noqa: ANN001, ANN201
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="fr-FR", accept_downloads=True)
    pg = context.new_page()
    host = urlparse(dashboard_url).netloc
    pg.console_errors = []
    pg.failed_callbacks = []
    pg.foreign_requests = []
    pg.on("console", lambda m: pg.console_errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: pg.console_errors.append(f"exception: {e}"))
    pg.on("response", lambda r: pg.failed_callbacks.append(f"{r.status} {r.url}") if "_dash-update-component" in r.url and r.status >= 400 else None)

    def _request(req):  # noqa: ANN001, ANN202
        parsed = urlparse(req.url)
        if parsed.scheme in ("http", "https", "ws", "wss") and parsed.netloc != host:
            pg.foreign_requests.append(req.url)

    pg.on("request", _request)
    yield pg
    context.close()


def wait_for_dash(pg, timeout_ms: int = 30_000) -> None:  # noqa: ANN001
    """Wait until the Dash renderer is idle: no loading component, no pending callback request."""
    pg.wait_for_load_state("networkidle", timeout=timeout_ms)
    pg.wait_for_function(
        "() => !document.querySelector('[data-dash-is-loading=\"true\"]') && !document.querySelector('._dash-loading')",
        timeout=timeout_ms,
    )
    pg.wait_for_load_state("networkidle", timeout=timeout_ms)


def open_page(pg, url: str, timeout_ms: int = 30_000) -> None:  # noqa: ANN001
    pg.goto(url, wait_until="networkidle", timeout=timeout_ms)
    pg.wait_for_selector("#_pages_content", timeout=timeout_ms)
    wait_for_dash(pg, timeout_ms)
