"""Diagnostic → HTML (Jinja2) → PDF (Chromium's print-to-PDF).

Why Chromium rather than WeasyPrint: Debian's ``chromium`` is already installed here and in CI for the browser
tests, works offline, and supports CSS paged media (A4, margin boxes with page numbers); WeasyPrint would add a
Python package plus Pango system libraries for no gain. The PDF is produced by running
``chromium --headless --print-to-pdf`` on a temporary file: no server, no network, nothing left behind.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import tempfile
from importlib import resources
from pathlib import Path

import jinja2
import pandas as pd
import markupsafe

from observatory import labels
from observatory.reports.diagnostic import Diagnostic

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PDF_TIMEOUT_S = 120


class RenderError(RuntimeError):
    """The PDF could not be produced; the message says why and what to install."""


def _template_text(name: str) -> str:
    return resources.files("observatory.reports").joinpath("templates", name).read_text(encoding="utf-8")


def _css_string(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def data_date_text(diagnostic: Diagnostic) -> str:
    """« données arrêtées au 05/12/2026 » (Paris time): what a reader is told instead of a snapshot id."""
    return labels.data_as_of(diagnostic) if diagnostic.snapshot_date else "données de l'observatoire"


def _public(snapshot_id: str):  # noqa: ANN202 - jinja2 finalize: applied to every printed value
    def finalize(value):  # noqa: ANN001, ANN202
        # Markup (SVG figures, the CSS) is already final; text written for analysts loses its commands, paths
        # and the snapshot id (whatever its form: the date printed beside it says which data were used).
        if isinstance(value, str) and not isinstance(value, markupsafe.Markup):
            text = value.replace(f"instantané {snapshot_id}", "instantané") if snapshot_id else value
            return labels.public_text(text)
        return value

    return finalize


def zone_sentences(section) -> list[str]:  # noqa: ANN001 - reports.diagnostic.Section
    """The text of a zone section (hypercentre, pools, QPV) as one reading of its table.

    The diagnostic writes one sentence per zone, in the table's order, then general notes; with ten pools, ten
    near-identical sentences repeat the table. Here they become one sentence naming only the zones whose change
    is significant (the table holds every figure); a section of one zone keeps its sentence.
    """
    if not section.tables:
        return list(section.sentences)
    data = section.tables[0].data
    n = len(data)
    per_zone, general = section.sentences[:n], section.sentences[n:]
    names = [str(z) for z in data.get("Zone", [])]
    if n <= 1 or len(per_zone) < n or not all(name in sentence for name, sentence in zip(names, per_zone)):
        return list(section.sentences)
    years = sorted(int(c.split("_")[1]) for c in data.columns if c.startswith("faits_") and c.split("_")[1].isdigit())
    span = f"Entre {years[0]} et {years[-1]}" if len(years) == 2 else "D'une année à l'autre"
    test = re.search(r"\(([^()]*seuil[^()]*)\)", per_zone[0])
    how = f" ({test.group(1)})" if test else ""
    moved, unknown = [], 0
    for _, row in data.iterrows():
        verdict, diff = row.get("significative"), row.get("evolution")
        if verdict is None or (isinstance(verdict, float) and math.isnan(verdict)) or diff is None or diff is pd.NA:
            unknown += 1
        elif verdict == "oui":
            word = "hausse" if diff > 0 else "baisse"
            moved.append(f"{word} pour « {row['Zone']} » ({labels.fmt_signed(int(diff))} faits)")
    if moved:
        others = n - len(moved) - unknown
        text = f"{span}, évolution statistiquement significative{how} : " + " ; ".join(moved)
        if others:
            text += ". " + ("L'autre zone ne change pas" if others == 1 else f"Les {others} autres zones ne changent pas") + " de façon significative"
    else:
        text = f"{span}, aucune des {n - unknown} zones n'évolue de façon statistiquement significative{how} : les écarts du tableau relèvent des variations ordinaires d'une année à l'autre"
    if unknown:
        text += f" ; pour {unknown} zone{'s' if unknown > 1 else ''}, les effectifs sont trop faibles pour être publiés ou comparés"
    return [text + "."] + list(general)


def report_css(diagnostic: Diagnostic) -> str:
    footer = f"Diagnostic local de sécurité {diagnostic.year} — {diagnostic.place} · {data_date_text(diagnostic)}"
    return _template_text("report.css").replace("__FOOTER__", _css_string(footer))


def render_html(diagnostic: Diagnostic, demo_notice: str = "") -> str:
    """The whole report as one self-contained HTML page (inline CSS and SVG: no external request)."""
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True, finalize=_public(diagnostic.snapshot_id))
    template = env.from_string(_template_text("report.html.j2"))
    return template.render(
        d=diagnostic,
        css=report_css(diagnostic),
        demo=demo_notice,
        fmt_date=labels.fmt_date,
        fmt_datetime=labels.fmt_datetime,
        fmt_paris=labels.fmt_paris,
        data_date=data_date_text(diagnostic),
        zone_text=zone_sentences,
    )


def find_chromium() -> str:
    explicit = os.environ.get("OBSERVATORY_CHROMIUM")
    if explicit:
        return explicit
    for name in CHROMIUM_CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    raise RenderError("Chromium est introuvable : installez le paquet Debian « chromium » pour produire le PDF (ou utilisez --format html).")


def html_to_pdf(html: str, chromium: str | None = None) -> bytes:
    """Print an HTML page to PDF with headless Chromium (A4 and margins come from the page's @page rule)."""
    exe = chromium or find_chromium()
    with tempfile.TemporaryDirectory(prefix="observatory-pdf-") as tmp:
        src = Path(tmp) / "report.html"
        out = Path(tmp) / "report.pdf"
        src.write_text(html, encoding="utf-8")
        cmd = [
            exe,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-extensions",
            "--no-first-run",
            f"--user-data-dir={Path(tmp) / 'profile'}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={out}",
            src.as_uri(),
        ]
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=PDF_TIMEOUT_S, check=False)
        except FileNotFoundError:
            raise RenderError(f"Chromium introuvable ({exe}).") from None
        except subprocess.TimeoutExpired:
            raise RenderError(f"Chromium n'a pas produit le PDF en {PDF_TIMEOUT_S} s.") from None
        if not out.exists() or out.stat().st_size == 0:
            tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
            raise RenderError(f"Chromium n'a pas produit le PDF (code {proc.returncode}) : {tail[0]}")
        return out.read_bytes()


def render_pdf(diagnostic: Diagnostic, demo_notice: str = "") -> bytes:
    return html_to_pdf(render_html(diagnostic, demo_notice))
