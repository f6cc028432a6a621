"""What an élu is offered, in real Chromium (issue 15): the filter bar holds only what the publication honours,
and the bilan only closed years; an analyst keeps the full bar and every year.

Reuses the secured gunicorn of ``test_login`` (one élu « paul », one analyst « marie ») over the shared random
store (2022–2025, every year closed): a request for 2026 stands for the year still filling.
"""

from __future__ import annotations

from tests.browser.conftest import ARTIFACTS, wait_for_dash
from tests.browser.test_login import context, secured_url, sign_in  # noqa: F401 - fixtures: gunicorn with an élu and an analyst

UNPUBLISHED_LABELS = ("Partenaires", "Zones", "Heures", "Jours")
SIZES = {"1440": (1440, 900), "1024": (1024, 768)}


def _open(page, url):  # noqa: ANN001, ANN202
    response = page.goto(url, wait_until="networkidle", timeout=120_000)
    wait_for_dash(page, 120_000)
    return response


def _bar_labels(page) -> list[str]:  # noqa: ANN001
    """The labels of the filter bar a reader can see."""
    return [t.strip() for t in page.locator(".filter-bar label:visible").all_inner_texts()]


def _shots(page, name: str) -> None:  # noqa: ANN001
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for size, (w, h) in SIZES.items():
        page.set_viewport_size({"width": w, "height": h})
        page.wait_for_timeout(300)
        page.screenshot(path=str(ARTIFACTS / f"{name}-{size}.png"))
    page.set_viewport_size({"width": 1440, "height": 1000})


def test_elu_filter_bar_and_bilan_years(context, secured_url):  # noqa: ANN001, F811
    page = context.new_page()
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if "_dash-update-component" in r.url and r.status >= 400 else None)
    sign_in(page, secured_url, "paul")
    # A crafted address with the filters the publication cannot honour.
    assert _open(page, secured_url + "/?hours=20,21,22&weekdays=5,6").status == 200
    shown = _bar_labels(page)
    assert {"Année", "Famille", "Catégorie", "Arrondissement"} <= set(shown), shown
    assert not {"Du", "Au", *UNPUBLISHED_LABELS} & set(shown), shown
    note = page.locator("#filter-elu-note")
    assert note.is_visible() and "réservés aux analystes" in note.inner_text()
    for cid in ("filter-sources", "filter-zones", "filter-hours", "filter-weekdays"):  # in the page (the shell's callbacks), not shown
        assert page.locator(f"#{cid}").count() == 1 and not page.locator(f"#{cid}").is_visible(), cid
    # The server still cuts what the address asked for, and says so.
    body = page.inner_text("body")
    assert "non appliqués ici" in body and "heures" in body and "jours" in body
    _shots(page, "elu5-overview-elu")
    # An analyst's link naming two categories: the élu's single choice shows none, and a sentence says why.
    assert _open(page, secured_url + "/?categories=cambriolages_logement,vols_vehicules").status == 200
    wait_for_dash(page)
    page.wait_for_timeout(500)  # the store's callback answers after the controls: the sentence must survive it
    assert "plusieurs catégories" in page.locator("#filter-link-note").inner_text()
    assert page.locator("#filter-categories").inner_text().strip() == "toutes"
    # « Année » is a year alone: choosing one asks for that whole calendar year, and the cards show it.
    page.click("#filter-end-year")
    years = page.locator(".dash-dropdown-content").first
    years.wait_for(state="visible")
    assert years.locator("[role=option]").all_inner_texts() == ["2025", "2024", "2023", "2022"]
    years.locator("[role=option]", has_text="2024").click()
    page.wait_for_function("() => window.location.search.includes('end=2024-12-31')", timeout=15_000)
    wait_for_dash(page)
    assert "01/01/2024 – 31/12/2024" in page.inner_text("#overview-kpis")
    # One category at a time: choosing another replaces the first (the publication holds one category, never a sum).
    chosen = []
    for k in (0, 1):
        page.click("#filter-categories")
        menu = page.locator(".dash-dropdown-content").first
        menu.wait_for(state="visible")
        menu.locator("[role=option]").nth(k).click()
        page.wait_for_function("(before) => { const c = new URLSearchParams(window.location.search).get('categories');"
                               " return c && !before.includes(c); }", arg=chosen, timeout=15_000)
        chosen.append(page.evaluate("() => new URLSearchParams(window.location.search).get('categories')"))
    assert len(set(chosen)) == 2 and not any("," in c for c in chosen), chosen
    wait_for_dash(page)
    label = page.locator("#filter-categories").inner_text().strip()
    assert label and label != "toutes"
    # A publication node: applied (the key figures name it once their callback has answered).
    page.wait_for_function("(label) => document.querySelector('#overview-kpis').innerText.includes(label)", arg=label, timeout=15_000)
    assert "plusieurs catégories" not in page.inner_text("#overview-kpis")
    # A family then replaces the category (one or the other is a node; both would be dropped by the server).
    page.click("#filter-families")
    menu = page.locator(".dash-dropdown-content").first
    menu.wait_for(state="visible")
    menu.locator("[role=option]").first.click()
    page.wait_for_function("() => { const q = new URLSearchParams(window.location.search);"
                           " return q.get('families') && !q.get('categories'); }", timeout=15_000)
    wait_for_dash(page)
    assert "plusieurs catégories" not in page.inner_text("#overview-kpis")
    # The bilan: closed years only; a request for the year after is served as the last closed one, with a note.
    assert _open(page, secured_url + "/bilan?annee=2026").status == 200
    options = page.locator("#bilan-annee option").all_inner_texts()
    assert options == ["2022", "2023", "2024", "2025"], options
    assert page.locator("h1", has_text="Bilan annuel").first.inner_text().startswith("Bilan annuel 2025")
    assert "L'année 2026 n'est pas encore close" in page.locator(".bilan-year-note").inner_text()
    _shots(page, "elu5-bilan-elu")
    # Pages that read none of the shared filters do not show the bar.
    for path in ("/veille", "/actions"):
        assert _open(page, secured_url + path).status == 200
        assert not page.locator(".filter-bar").is_visible(), path
    assert failed == [], failed


def test_analyst_keeps_the_full_bar(context, secured_url):  # noqa: ANN001, F811
    page = context.new_page()
    sign_in(page, secured_url, "marie")
    _open(page, secured_url + "/")
    shown = _bar_labels(page)
    assert {"Du", "Au", *UNPUBLISHED_LABELS} <= set(shown), shown
    assert page.locator("#filter-elu-note").count() == 0
    for cid in ("filter-sources", "filter-zones", "filter-hours", "filter-weekdays"):
        assert page.locator(f"#{cid}").is_visible(), cid
    _shots(page, "elu5-overview-analyst")
    _open(page, secured_url + "/bilan?annee=2025")
    assert page.locator("#bilan-annee option").all_inner_texts() == ["2022", "2023", "2024", "2025"]
    assert page.locator(".bilan-year-note").count() == 0
    _shots(page, "elu5-bilan-analyst")
