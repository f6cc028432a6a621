"""Élu pages in real Chromium speak plain French: no snapshot id, no test names (« quasi-Poisson », « BH »), no
« p = »; the method is one click away in the bilan; an analyst still reads the details."""

from __future__ import annotations

import re

from tests.browser.conftest import wait_for_dash
from tests.browser.test_login import context, secured_url, sign_in  # noqa: F401 - fixtures: gunicorn with an élu and an analyst

JARGON = re.compile(r"\d{8}T\d{6,}Z|quasi-Poisson|\bBH\b|Benjamini|\bp\s*[=<]\s*\d|\bWDD\b|différence de différences")
ELU_PAGES = ["/", "/bilan?annee=2025", "/actions?action=A2023-01", "/veille", "/zones", "/tendances"]


def _open(page, url):  # noqa: ANN001, ANN202
    response = page.goto(url, wait_until="networkidle", timeout=120_000)
    wait_for_dash(page, 120_000)
    return response


def test_elu_pages_have_no_snapshot_id_and_no_test_jargon(context, secured_url):  # noqa: ANN001, F811
    page = context.new_page()
    sign_in(page, secured_url, "paul")
    seen = 0
    for path in ELU_PAGES:
        if _open(page, secured_url + path).status != 200:
            continue  # a page reserved to analysts (the élu is refused it, see test_login)
        seen += 1
        found = sorted({m.group(0) for m in JARGON.finditer(page.inner_text("body"))})
        assert found == [], f"{path} shows {found} to an élu"
    assert seen >= 4
    _open(page, secured_url + "/bilan?annee=2025")
    method = page.locator("details.bilan-method")
    assert method.count() == 1 and "quasi-Poisson" in method.text_content()  # folded (not in the visible text), one click away


def test_analyst_keeps_the_statistical_details(context, secured_url):  # noqa: ANN001, F811
    page = context.new_page()
    sign_in(page, secured_url, "marie")
    _open(page, secured_url + "/actions?action=A2023-01")
    text = page.inner_text("#actions-eval-table-table")
    assert "différence de différences" in text and "WDD" in text  # the tests' own columns
    _open(page, secured_url + "/")
    assert "quasi-Poisson" in page.inner_text("body")
