"""The dashboard on a 1024 × 768 screen (a council laptop, a projector), in real Chromium: no page scrolls
sideways, no table runs past its card, and the figures' labels stay inside their plots."""

from __future__ import annotations

import pytest

from tests.browser.conftest import ARTIFACTS, open_page
from tests.browser.test_moyens_page import means_data  # noqa: F401 - fixture: means in the served folder (bilan's means table)

WIDTH, HEIGHT = 1024, 768

# Tables that must fit: the zone table and the hot-spot persistence (Zones), the evaluations and objectives
# (Plan d'actions), and every bilan table, the means table with its nine numeric columns included.
PAGES = ["/bilan?annee=2024", "/zones", "/actions?action=A2023-01"]

OVERFLOW_JS = """() => {
  const out = [];
  document.querySelectorAll('table').forEach(t => {
    const card = t.closest('.card-body') || t.closest('.bilan-page') || t.parentElement;
    const tr = t.getBoundingClientRect(), cr = card.getBoundingClientRect();
    const wrapper = t.parentElement;
    const hidden = wrapper.scrollWidth - wrapper.clientWidth;
    if (tr.width > 0 && (tr.right > cr.right + 1 || hidden > 1)) {
      out.push((t.id || t.className) + ': ' + Math.round(tr.width) + ' px in ' + Math.round(cr.width) + ' px');
    }
  });
  return out;
}"""


@pytest.mark.parametrize("path", PAGES)
def test_no_sideways_scroll_and_tables_fit_their_cards_at_1024(page, dashboard_url, means_data, path):  # noqa: ANN001, F811
    page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
    open_page(page, dashboard_url + path, timeout_ms=120_000)  # a cold bilan builds the year's diagnostic
    assert page.locator("table").count() >= 1, f"no table on {path}"
    width = page.evaluate("() => document.documentElement.scrollWidth")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"layout-1024-{path.strip('/').split('?')[0]}.png"), full_page=True)
    assert width <= WIDTH, f"{path} is {width} px wide at a {WIDTH} px viewport"
    assert page.evaluate(OVERFLOW_JS) == [], f"tables wider than their card on {path}"
    assert page.console_errors == [], page.console_errors
