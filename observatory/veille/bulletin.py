"""The weekly bulletin of one cellule: a one-page HTML (printable to PDF) with the week's alerts, a small chart
each and the sentences a cellule reads aloud. Always the protected view: a bulletin leaves the observatory."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import pandas as pd

from observatory import labels
from observatory.veille.cellules import Cellule
from observatory.veille.model import ALL_FAMILIES, iso_week
from observatory.veille.watch import WatchResult, alert_details

if TYPE_CHECKING:
    from observatory.analytics.engine import Analytics

CSS = """
@page { size: A4; margin: 14mm 12mm; }
body { font-family: 'DejaVu Sans', Arial, sans-serif; font-size: 10.5pt; color: #222; }
h1 { font-size: 16pt; margin: 0 0 2mm 0; } h2 { font-size: 11.5pt; margin: 3mm 0 1mm 0; }
.sub { color: #555; margin-bottom: 3mm; } .alert { border-left: 4px solid #c0392b; padding: 1mm 3mm; margin: 2mm 0; page-break-inside: avoid; }
.alert.old { border-color: #e67e22; } .note { font-size: 8pt; color: #666; margin-top: 4mm; } .read { background: #f4f6fa; padding: 2mm 3mm; }
.demo { color: #a00; font-weight: bold; } svg { display: block; }
"""


def family_text(code: str) -> str:
    return "toutes familles" if code == ALL_FAMILIES else labels.family_label(code).lower()


def count_text(value: float, min_count: int) -> str:
    v = int(value)
    return f"moins de {min_count}" if 0 < v < min_count else labels.fmt_int(v)


def svg_chart(series: pd.DataFrame, min_count: int, width: int = 300, height: int = 90) -> str:
    """Observed weekly counts (counts under ``min_count`` not drawn) against the expected band, as inline SVG."""
    s = series.sort_values("week").reset_index(drop=True)
    n = len(s)
    top = max(float(s["upper"].max()), float(s["count"].max()), 1.0) * 1.1
    x = lambda i: 4 + i * (width - 8) / max(n - 1, 1)
    y = lambda v: height - 12 - float(v) / top * (height - 16)
    band = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(s["upper"])) + " " + " ".join(
        f"{x(i):.1f},{y(v):.1f}" for i, v in reversed(list(enumerate(s["lower"]))))
    exp = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(s["expected"]))
    shown = [(i, v, a) for i, (v, a) in enumerate(zip(s["count"], s["alert"])) if v == 0 or v >= min_count]
    obs = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v, _ in shown)
    dots = "".join(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="2.5" fill="{"#c0392b" if a else "#333"}"/>' for i, v, a in shown)
    return (f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="observé et attendu">'
            f'<polygon points="{band}" fill="rgba(100,130,180,0.25)"/><polyline points="{exp}" fill="none" stroke="#4a6fa5" stroke-dasharray="4 3"/>'
            f'<polyline points="{obs}" fill="none" stroke="#333"/>{dots}'
            f'<text x="4" y="{height - 1}" font-size="8">{html.escape(iso_week(s["week"].iloc[0]))}</text>'
            f'<text x="{width - 4}" y="{height - 1}" font-size="8" text-anchor="end">{html.escape(iso_week(s["week"].iloc[-1]))}</text></svg>')


def alert_sentence(row, places: str, hours: str, min_count: int) -> str:
    """What the cellule reads aloud for one alert."""
    start = "Nouvelle alerte" if row.new else f"Alerte toujours ouverte depuis la semaine {row.since}"
    kind = "un pic inhabituel" if row.spike else "une hausse durable"
    return (f"{start} : {html.escape(str(row.name))}, {family_text(row.family)}. {count_text(row.observed, min_count).capitalize()} faits "
            f"cette semaine pour environ {labels.fmt_number(row.expected, 0)} attendus (au plus {labels.fmt_int(row.upper)} "
            f"sans changement réel) : {kind}. Lieux principaux : {places}. Heures les plus chargées : {hours}.")


def render_bulletin(an: Analytics, res: WatchResult, cellule: Cellule, min_count: int, demo_notice: str = "") -> str:
    """The bulletin's HTML for the week ``res.last_week``."""
    week = iso_week(res.last_week)
    alerts = res.alerts[[cellule.follows(u, f) for u, f in zip(res.alerts["unit_id"], res.alerts["family"])]] if not res.alerts.empty else res.alerts
    parts = [f"<!doctype html><html lang='fr'><head><meta charset='utf-8'><title>Bulletin de veille {html.escape(week)}</title><style>{CSS}</style></head><body>"]
    if demo_notice:
        parts.append(f"<p class='demo'>{html.escape(demo_notice)}</p>")
    monday = pd.Timestamp(res.last_week)
    parts.append(f"<h1>Bulletin de veille — {html.escape(cellule.name)}</h1>")
    parts.append(f"<p class='sub'>Semaine {week} (du {labels.fmt_date(monday.date())} au {labels.fmt_date((monday + pd.Timedelta(days=6)).date())}) · "
                 f"{html.escape(labels.data_as_of(getattr(an, 'snapshot', None)))}</p>")
    if alerts.empty:
        parts.append("<p class='read'>Aucun périmètre suivi par la cellule n'est au-dessus de l'attendu cette semaine.</p>")
    else:
        new = int(alerts["new"].sum())
        parts.append(f"<p class='read'>{len(alerts)} alerte(s) cette semaine, dont {new} nouvelle(s).</p>")
    for row in alerts.rename(columns={"count": "observed"}).itertuples():
        series = res.assessed[(res.assessed["unit_id"] == row.watched_unit) & (res.assessed["family"] == row.watched_family)]
        first = series.loc[series["alert"], "week"].min()
        cells, hours = alert_details(an, row.watched_unit, row.watched_family, first, res.last_week, top=3)
        from observatory.dashboard.geo import cell_names  # place names of grid cells (IRIS or sector, arrondissement)

        places = " ; ".join(f"{c} : {count_text(n, min_count)} faits" for c, n in zip(cell_names(an.settings, cells["grid_cell"]), cells["count"])) or "non localisés"
        peak = sorted(hours.sort_values("count", ascending=False).head(3)["hour"].tolist())
        hours_text = ", ".join(f"{h} h" for h in peak) or "heures inconnues"
        parts.append(f"<div class='alert{'' if row.new else ' old'}'><h2>{html.escape(str(row.name))} — {family_text(row.family)}</h2>"
                     f"<p>{alert_sentence(row, places, hours_text, min_count)}</p>{svg_chart(series, min_count)}</div>")
    parts.append("<p class='note'>Méthode : attendu par régression binomiale négative sur l'historique propre de chaque périmètre "
                 "(tendance, saisonnalité) ; alerte au-dessus de la borne haute ou en cas de hausse durable ; fausses alertes "
                 "limitées par une correction de Bonferroni sur tous les périmètres de la semaine. Bande bleue : intervalle attendu ; "
                 f"points rouges : semaines en alerte. Comptes inférieurs à {min_count} masqués.</p>"
                 # The header gives the date of the data; the snapshot id, which lets the observatory reproduce the
                 # bulletin, is a reference at the foot, not the reader's first line.
                 f"<p class='note'>Référence des données à l'observatoire : {html.escape(an.snapshot_id)}.</p></body></html>")
    return "".join(parts)
