"""Diagnostic → HTML (Jinja2) → PDF (Chromium's print-to-PDF).

Why Chromium rather than WeasyPrint: Debian's ``chromium`` is already installed here and in CI for the browser
tests, works offline, and supports CSS paged media (A4, margin boxes with page numbers); WeasyPrint would add a
Python package plus Pango system libraries for no gain. The PDF is produced by running
``chromium --headless --print-to-pdf`` on a temporary file: no server, no network, nothing left behind.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from importlib import resources
from pathlib import Path

import jinja2

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


def report_css(diagnostic: Diagnostic) -> str:
    footer = f"Diagnostic local de sécurité {diagnostic.year} — {diagnostic.place} · instantané {diagnostic.snapshot_id or '–'}"
    return _template_text("report.css").replace("__FOOTER__", _css_string(footer))


def render_html(diagnostic: Diagnostic, demo_notice: str = "") -> str:
    """The whole report as one self-contained HTML page (inline CSS and SVG: no external request)."""
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    template = env.from_string(_template_text("report.html.j2"))
    return template.render(
        d=diagnostic,
        css=report_css(diagnostic),
        demo=demo_notice,
        fmt_date=labels.fmt_date,
        fmt_datetime=labels.fmt_datetime,
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
