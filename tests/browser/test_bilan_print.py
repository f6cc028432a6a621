"""The Bilan annuel page in real Chromium: it reads cleanly, prints to an A4 PDF with nothing cut, and its
download buttons hand back files named after the year and the territory.

Uses the dashboard's browser fixtures (``tests/browser/conftest.py``: gunicorn over a published random store,
2022–2025, Debian's Chromium through Playwright).
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.browser.conftest import ARTIFACTS, open_page

URL = "/bilan?annee=2025&arrondissement=69383"
TITLE = "Bilan annuel 2025 — Lyon 3e"
# A4 is 210 mm wide; the print section of assets/style.css sets 14 mm side margins: 182 mm of printable width, in CSS pixels (96 per inch).
PRINTABLE_WIDTH_PX = 182 / 25.4 * 96


def _flat(text: str) -> str:
    return " ".join(text.replace("\u00a0", " ").replace("\u202f", " ").split())


def _clean(page) -> None:  # noqa: ANN001
    assert page.console_errors == [], f"console errors: {page.console_errors}"
    assert page.failed_callbacks == [], f"failed callbacks: {page.failed_callbacks}"
    assert page.foreign_requests == [], f"requests left the machine: {page.foreign_requests}"


def test_bilan_page_reads_and_downloads(page, dashboard_url):  # noqa: ANN001
    # The first view of an arrondissement's bilan builds it (a few seconds quiet): generous on a loaded machine.
    open_page(page, dashboard_url + URL, timeout_ms=90_000)
    assert page.locator("h1", has_text="Bilan annuel").first.inner_text() == TITLE
    body = _flat(page.locator(".bilan-page").inner_text())
    for heading in ("Priorités de l'année", "Comment lire ces chiffres", "Les arrondissements", "Vue d'ensemble par famille"):
        assert heading in body
    assert page.locator(".bilan-fig img").count() >= 2
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "bilan-2025-lyon-3e.png"), full_page=True)
    # A download from the family table: the file is named after the year and the territory.
    with page.expect_download(timeout=30_000) as info:
        page.locator(".bilan-tbl", has_text="Faits enregistrés par famille, 2024 et 2025").locator("button", has_text="CSV").click()
    download = info.value
    assert download.suggested_filename == "bilan-2025-lyon-3e_familles.csv"
    text = open(download.path(), encoding="utf-8-sig").read()
    assert text.splitlines()[0].startswith("Famille;code;faits_2024;faits_2025")
    assert "territoire Lyon 3e (69383)" in text
    with page.expect_download(timeout=30_000) as info:
        page.locator(".bilan-fig", has_text="Faits enregistrés par famille, 2022–2025").locator("button", has_text="SVG").click()
    assert info.value.suggested_filename == "bilan-2025-lyon-3e_tendance-familles.svg"
    _clean(page)


@pytest.mark.skipif(shutil.which("pdfinfo") is None or shutil.which("pdftotext") is None, reason="needs poppler-utils (pdfinfo, pdftotext)")
def test_bilan_prints_to_a4_without_cut_figures(page, dashboard_url, tmp_path):  # noqa: ANN001
    open_page(page, dashboard_url + URL)
    key_values = [_flat(v) for v in page.locator(".kpi-card .kpi-value").all_inner_texts()]
    key_labels = [_flat(v) for v in page.locator(".kpi-card .kpi-title").all_inner_texts()]
    assert key_values and key_labels
    # Lay the page out at the printable width under print media, as the print engine will.
    page.set_viewport_size({"width": int(PRINTABLE_WIDTH_PX), "height": 1000})
    page.emulate_media(media="print")
    boxes = page.evaluate(
        """() => Array.from(document.querySelectorAll('.bilan-page figure, .bilan-page img, .bilan-page table, .bilan-tbl, .kpi-card'))
              .filter(e => e.offsetParent !== null)
              .map(e => { const r = e.getBoundingClientRect(); return {tag: e.tagName, cls: e.className, left: r.left, right: r.right, width: r.width}; })"""
    )
    assert len(boxes) >= 6
    too_wide = [b for b in boxes if b["width"] > PRINTABLE_WIDTH_PX + 1 or b["right"] > PRINTABLE_WIDTH_PX + 1 or b["left"] < -1]
    assert too_wide == [], too_wide
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PRINTABLE_WIDTH_PX + 1
    # Navigation, selector and buttons are not printed.
    assert page.locator("button:visible").count() == 0
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "bilan-2025-lyon-3e-print.png"), full_page=True)

    pdf = tmp_path / "bilan.pdf"
    page.pdf(path=str(pdf), format="A4", print_background=True, prefer_css_page_size=True)
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, check=True, text=True).stdout
    size = re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info)
    assert size and abs(float(size.group(1)) - 595.3) < 1 and abs(float(size.group(2)) - 841.9) < 1, info
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    assert 1 <= pages <= 12, info
    text = _flat(subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, check=True, text=True).stdout)
    assert TITLE in text
    for label, value in zip(key_labels, key_values):
        assert value in text, (label, value)
    assert "Figure 1." in text and "Tableau 1." in text and "Comment lire ces chiffres" in text
    assert "Afficher" not in text and "Télécharger" not in text  # the form and the buttons stay on screen
    # Every figure is drawn whole: as many figure captions in the PDF as on the page.
    n_figs = page.locator(".bilan-fig").count()
    assert len(re.findall(r"Figure \d+\.", text)) >= n_figs
    _clean(page)
