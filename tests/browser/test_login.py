"""Sign-in in real Chromium against gunicorn with users configured: an élu gets no point layer, no raw export.

Reuses the shared snapshot (``dashboard_settings``) and browser of tests/browser/conftest.py, with a server of
its own whose user store (``OBSERVATORY_USERS_FILE``) holds one élu and one analyst.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from observatory import auth
from tests.browser.conftest import ARTIFACTS, ROOT, _free_port, wait_for_dash

PASSWORD = "mot-de-passe-de-test"
ELU_PAGES = ["/", "/bilan", "/zones", "/officielles", "/actions"]
ANALYST_PAGES = ["/carte", "/donnees", "/tendances"]


@pytest.fixture(scope="module")
def secured_url(dashboard_settings, tmp_path_factory):  # noqa: ANN001, ANN201
    users = tmp_path_factory.mktemp("comptes") / "users.json"
    with_users = dashboard_settings.replace(users_file=str(users))
    auth.add_user(with_users, "paul", PASSWORD, "elu")
    auth.add_user(with_users, "marie", PASSWORD, "analyste")
    gunicorn = Path(sys.executable).parent / "gunicorn"
    if not gunicorn.exists():
        pytest.skip("gunicorn is not installed in the venv")
    port = _free_port()
    env = {**os.environ, "OBSERVATORY_DATA_DIR": str(dashboard_settings.data_path), "OBSERVATORY_USERS_FILE": str(users),
           "OBSERVATORY_SECRET_KEY": "cle-de-test-" + "x" * 40}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = ARTIFACTS / "gunicorn-login.log"
    with open(log, "w", encoding="utf-8") as out:
        proc = subprocess.Popen([str(gunicorn), "app:server", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "4",
                                 "--worker-class", "gthread", "--timeout", "120"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
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
            pytest.fail(f"gunicorn did not start; see {log}:\n{log.read_text(encoding='utf-8')[-3000:]}")
        time.sleep(0.3)
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture()
def context(browser):  # noqa: ANN001, ANN201
    ctx = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="fr-FR")
    yield ctx
    ctx.close()


def sign_in(page, url, name, password=PASSWORD):  # noqa: ANN001, ANN201
    page.goto(url + "/")
    page.wait_for_url("**/connexion**")
    wait_for_dash(page)
    page.fill("#connexion-utilisateur", name)
    page.fill("#connexion-mot-de-passe", password)
    page.click("#connexion-valider")
    # An élu's first home page builds the year's publications on a fresh store (linear programs: ~35 s on a
    # loaded 2-core machine), so the wait after signing in is generous.
    page.wait_for_load_state("networkidle", timeout=120_000)


def test_wrong_password_shows_a_message(context, secured_url):  # noqa: ANN001
    page = context.new_page()
    sign_in(page, secured_url, "paul", "pas-le-bon")
    wait_for_dash(page)
    assert "erreur=identifiants" in page.url
    assert "incorrect" in page.inner_text("#connexion-erreur")


def test_elu_is_offered_no_points_and_no_raw_export(context, secured_url):  # noqa: ANN001
    page = context.new_page()
    csp_errors: list[str] = []
    page.on("console", lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None)
    sign_in(page, secured_url, "paul")
    wait_for_dash(page)
    assert "/connexion" not in page.url
    assert "Connecté·e : paul (élu·e)" in page.inner_text("#securite-bandeau")
    for path in ELU_PAGES:
        response = page.goto(secured_url + path)
        assert response.status == 200, path
        wait_for_dash(page)
        text = page.inner_text("body")
        assert "Faits localisés" not in text, path  # the analysts' point layer
        assert "NON PROTÉGÉ" not in text.upper(), path
        assert page.locator("input[value='points']").count() == 0, path
        page.screenshot(path=str(ARTIFACTS / f"login-elu{path.replace('/', '_') or '_'}.png"))
    for path in ANALYST_PAGES:
        response = page.goto(secured_url + path)
        assert response.status == 403, path
        assert "réservée aux analystes" in page.inner_text("body")
    # Asking the server directly, with the élu's session, for the map's point layer: refused.
    answer = page.request.post(secured_url + "/_dash-update-component", headers={"Origin": secured_url}, data={
        "output": "map-graph.figure", "outputs": {"id": "map-graph", "property": "figure"},
        "inputs": [{"id": "map-layer", "property": "value", "value": "points"}], "changedPropIds": ["map-layer.value"], "state": [],
    })
    assert answer.status == 400  # no such callback in the server's registry
    carte = {"page": "carte", "type": "clickable-map"}
    answer = page.request.post(secured_url + "/_dash-update-component", headers={"Origin": secured_url}, data={
        "output": '..{"page":"carte","type":"clickable-map"}.figure...{"target":"map-graph","type":"method-note"}.children..',
        "outputs": [{"id": carte, "property": "figure"}, {"id": {"type": "method-note", "target": "map-graph"}, "property": "children"}],
        "inputs": [{"id": "filters-store", "property": "data", "value": {}}, {"id": "map-layer", "property": "value", "value": "points"},
                   {"id": "map-zone-kinds", "property": "value", "value": []}],
        "changedPropIds": ["map-layer.value"], "state": [],
    })
    assert answer.status == 403  # the real map callback: analysts only
    assert not csp_errors, csp_errors


def test_analyst_signs_in_and_out(context, secured_url):  # noqa: ANN001
    page = context.new_page()
    csp_errors: list[str] = []
    page.on("console", lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None)
    sign_in(page, secured_url, "marie")
    assert page.goto(secured_url + "/carte").status == 200
    wait_for_dash(page)
    page.wait_for_timeout(1500)  # let MapLibre start its worker: a CSP refusal would show in the console
    assert not csp_errors, csp_errors
    page.click("#securite-deconnexion")
    page.wait_for_url("**/connexion**")
    assert page.goto(secured_url + "/carte").url.split("?")[0].endswith("/connexion")


def test_elu_navigation_hides_analyst_pages(context, secured_url):  # noqa: ANN001
    page = context.new_page()
    sign_in(page, secured_url, "paul")
    wait_for_dash(page)
    hrefs = page.eval_on_selector_all("nav a[href]", "els => els.map(e => e.getAttribute('href'))")
    offered = [h for h in hrefs for a in ANALYST_PAGES if (h or "").split("?")[0].rstrip("/").endswith(a)]
    assert not offered, offered
