"""Tables of the Plan d'actions page: evaluations (DiD and WDD) and objectives, counts masked for élus."""

from __future__ import annotations

import dash_bootstrap_components as dbc
import pandas as pd
from dash import html

from observatory import labels
from observatory.dashboard.action_plan.ids import EVAL_TABLE, OBJ_TABLE


def _count(value: float, analyst: bool, min_count: int) -> str:
    if value != value:
        return "–"
    if not analyst and 0 < value < min_count:
        return f"<{labels.NBSP}{min_count}"  # élus never see small counts (privacy rule, DESIGN §6)
    return labels.fmt_int(value)


# Left border of the verdict cell, by verdict code: the reader's eye finds the conclusions before the figures.
VERDICT_COLORS = {
    "decrease": "#1E8449", "reached_significant": "#1E8449", "reached": "#52a36e",
    "increase": "#C0392B", "missed_significant": "#C0392B", "missed": "#d9822b",
    "weak_decrease": "#7fb98f", "weak_increase": "#e0a07a",
    # A perimeter effect that the net total (buffer included) does not confirm: muted, "effet net non démontré".
    "local_decrease": "#b5cfbc", "local_increase": "#e9c2a8",
    "no_effect": "#9aa5b1", "no_conclusion": "#c3cad2",
}
NOWRAP = {"whiteSpace": "nowrap"}
WRAP = {"whiteSpace": "normal"}


def _table(headers: list[tuple[str, dict]], rows: list[list[html.Td]], table_id: str) -> html.Div:
    """A compact table whose long text columns wrap (the house ``french-table`` style keeps cells on one line,
    which pushed the verdicts out of a 1400 px screen). Headers wrap too; the wrapper scrolls horizontally
    only on narrow screens, where the verdict, second column, stays in view."""
    head = html.Thead(html.Tr([html.Th(label, style={**WRAP, "verticalAlign": "bottom", **style}) for label, style in headers]))
    return html.Div(
        dbc.Table([head, html.Tbody([html.Tr(r) for r in rows])], size="sm", striped=True, hover=True, className="mb-1 french-table align-top", id=table_id),
        className="table-responsive",
    )


def _text(value: object) -> str:
    return "" if value is None or value is pd.NA or (isinstance(value, float) and value != value) else str(value)


def _action_cell(action_id: str, title: str) -> html.Td:
    return html.Td([html.Strong(action_id), html.Br(), html.Span(title, className="text-muted")], style={**WRAP, "minWidth": "8rem", "maxWidth": "14rem"})


def _verdict_cell(code: str, text: str, notes: list[str], min_width: str = "16rem") -> html.Td:
    # The conclusion in bold ("Pas de conclusion possible", "Objectif atteint"…), its reasons and figures in plain.
    cut = min((i for i in (text.find(" : "), text.find(" (")) if i > 0), default=len(text))
    head = [html.Strong(text[:cut]), text[cut:]] if cut < len(text) else [html.Strong(text)]
    children = [html.Div(head)] + [html.Div(n, className="text-muted") for n in notes if n]
    border = VERDICT_COLORS.get(code, "#c3cad2")
    return html.Td(children, className="verdict", style={**WRAP, "minWidth": min_width, "borderLeft": f"4px solid {border}"})


def _mask_counts_in_text(text: str, before: float, after: float, analyst: bool, min_count: int) -> str:
    """The "effectifs trop faibles (N faits avant, M après …)" verdict names the perimeter's counts: an élu gets
    them as the tables show them (``< 5``), never a small count in clear (DESIGN §6)."""
    if analyst or before != before or after != after:
        return text
    clear = f"{labels.fmt_int(before)} faits avant, {labels.fmt_int(after)} après"
    return text.replace(clear, f"{_count(before, analyst, min_count)} faits avant, {_count(after, analyst, min_count)} après")


def _p_cell(p: float) -> html.Span:
    from observatory.actions.evaluation import p_text

    return html.Span(p_text(p), className="text-muted")


def evaluation_table(ev: pd.DataFrame, analyst: bool, min_count: int) -> html.Div:
    """Action, verdict (first, wrapping), windows, before → after counts, the DiD (perimeter question) and the WDD
    (net question, buffer included), each with its 95 % interval and p so the verdict can be checked against them.

    An action whose windows are unusable (not started in the data, too recent) shows "–" for its figures: its
    zero-month windows have no counts and a WDD of 0 ± 0 would read as a measured null effect.
    """
    if ev.empty:
        return html.P("Aucune action à évaluer.", className="small text-muted")
    from observatory.actions.evaluation import MIN_WINDOW_MONTHS

    num = {**NOWRAP, "textAlign": "right"}
    # « 1 234 → 1 456 » may break after its arrow (thousands are joined by no-break spaces): three such pairs on
    # one line each pushed the table past its card at 1024 px.
    pair_style = {**WRAP, "textAlign": "right", "minWidth": "4.5rem"}
    headers = [
        ("Action", {}), ("Verdict", {"minWidth": "16rem"}), ("Fenêtres avant / après", {}),
        ("Périmètre avant → après", {"textAlign": "right"}), ("Témoin avant → après", {"textAlign": "right"}),
        ("Zone tampon avant → après", {"textAlign": "right"}),
        # Each test's column names the question it answers: the two can differ and the verdict says how.
        ("Périmètre vs témoin : différence de différences [IC 95\u00a0%]", {"textAlign": "right", "minWidth": "7.5rem"}),
        ("Bilan net, zone tampon comprise : WDD en faits [IC 95\u00a0%]", {"textAlign": "right", "minWidth": "7.5rem"}),
    ]
    rows = []
    for r in ev.to_dict("records"):
        usable = (r["window_months"] or 0) >= MIN_WINDOW_MONTHS

        def pair(b: float, a: float) -> str:
            return f"{_count(b, analyst, min_count)} → {_count(a, analyst, min_count)}" if usable else "–"

        verdict = _mask_counts_in_text(r["verdict"], r["treated_before"], r["treated_after"], analyst, min_count)
        notes = [r["displacement_note"], r["window_note"]]
        if not analyst:  # an élu reads the conclusion in plain French; the tests' names and figures are the analyst's
            verdict, notes = labels.plain_text(verdict), [labels.plain_text(n) if n else n for n in notes]
        windows = [f"{labels.fmt_date(r['before_start'])} → {labels.fmt_date(r['after_end'])}", html.Br(), f"({r['window_months']} mois × 2)"] if usable else [f"début {labels.fmt_date(r['start'])}"]
        # "Pas de conclusion possible" overrides both tests: their figures are not shown beside it (a p = 0,002 next
        # to "no conclusion" reads as a contradiction), and with the counts masked for an élu the DiD ratio and
        # the WDD together would give back the perimeter's small counts. The analyst's export keeps them.
        tested = usable and r.get("verdict_code") != "no_conclusion"
        wdd = ["–"] if not tested or r["wdd"] != r["wdd"] else [
            labels.fmt_signed(r["wdd"], 1), html.Br(), f"[{labels.fmt_signed(r['ci_low'], 1)} ; {labels.fmt_signed(r['ci_high'], 1)}]", html.Br(), _p_cell(r["p_value"]),
        ]
        did = ["–"] if not tested or r["did_ratio"] != r["did_ratio"] else [
            labels.fmt_pct(r["did_ratio"] - 1), html.Br(), f"[{labels.fmt_pct(r['did_ci_low'] - 1)} ; {labels.fmt_pct(r['did_ci_high'] - 1)}]", html.Br(), _p_cell(r["did_p_value"]),
        ]
        rows.append([
            _action_cell(r["action_id"], _text(r.get("title"))),
            _verdict_cell(r["verdict_code"], verdict, notes),
            html.Td(windows, style={**WRAP, "minWidth": "6.5rem"}),
            html.Td(pair(r["treated_before"], r["treated_after"]), style=pair_style),
            html.Td(pair(r["control_before"], r["control_after"]), style=pair_style),
            html.Td(pair(r["buffer_before"], r["buffer_after"]), style=pair_style),
        ] + ([html.Td(did, style=num), html.Td(wdd, style=num)] if analyst else []))
    # The two tests' columns (ratios, intervals, p) are the analyst's: the élu's verdict already says what they mean.
    return _table(headers if analyst else headers[:-2], rows, EVAL_TABLE + "-table")


def objectives_table(obj: pd.DataFrame, analyst: bool, min_count: int) -> html.Div:
    """Action, follow-up sentence (first, wrapping), objective as written, year, counts, target and actual."""
    if obj.empty:
        return html.P("Aucune action n'a d'objectif chiffré.", className="small text-muted")
    num = {**NOWRAP, "textAlign": "right"}
    headers = [
        ("Action", {}), ("Suivi", {"minWidth": "16rem"}), ("Objectif", {}), ("Année", {}),
        ("Année précédente → année visée", {"textAlign": "right"}), ("Cible", {"textAlign": "right"}), ("Constaté", {"textAlign": "right"}),
    ]
    rows = []
    for r in obj.to_dict("records"):
        year = r["objective_year"]
        rows.append([
            _action_cell(r["action_id"], _text(r.get("title"))),
            _verdict_cell(r["objective_code"], r["objective_text"] if analyst else labels.plain_text(r["objective_text"]), []),
            html.Td(_text(r.get("objective")) or "–", style={**WRAP, "minWidth": "10rem"}),
            html.Td(str(int(year)) if year == year else "–", style=NOWRAP),
            html.Td(f"{_count(r['previous'], analyst, min_count)} → {_count(r['current'], analyst, min_count)}", style=num),
            html.Td(labels.fmt_pct(r["target_change"]), style=num),
            html.Td(labels.fmt_pct(r["actual_change"]), style=num),
        ])
    return _table(headers, rows, OBJ_TABLE + "-table")
