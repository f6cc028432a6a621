"""What an élu's views read: the year's stored publication, never a query on free filters (DESIGN §6, issue 15).

Per-query suppression cannot be defended against differences between queries (map(A + B) − map(B), a month
window minus the next one…). So an élu's request is reduced, on the server, to what the publication holds:

- one **closed calendar year** (the filters' end year, else the last year whose December is in the data);
- the **city or one arrondissement**;
- **everything, one family or one category** (months: everything or one family);

and whatever else the request asked (a « Du/Au » window, several categories, sources, hours, zones…) is not
applied and is named in the note (:attr:`Scope.ignored`). A comparison is the year against the year before,
both cells of their own publications, with the bilan's verdict (:mod:`observatory.reports.verdicts`): a
difference of two published cells teaches nothing the two cells do not. Views the publication does not hold
(zones on free filters — the publication holds only the bilan's zone tables, read by the bilan —, grid cells,
hot spots, hour × weekday, action windows) are withheld with :data:`WITHHELD`.

Tables built here carry their publication statuses in ``attrs[shaping.PUBLICATION_STATUS]``, so
``shaping.protected_view`` and the exports show exactly the publication's « < 5 », « secret » and « n.d. ».
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from observatory import labels, schema
from observatory.analytics import publication
from observatory.dashboard import shaping

WITHHELD = "Réservé aux analystes : cette vue n'est pas couverte par la publication protégée de l'année."
SENSITIVE = "sensitive"  # status of a cell élus do not get (« n.d. »: not published, or no such cell)
ABSENT = "absent"  # no such cell at all (a sensitive category below the city): read « n.d. », and no row in a breakdown
# Columns of a comparison that give a withheld count back (as in the pages' CMP_DERIVED).
CMP_DERIVED = ("diff", "pct_change", "p_value", "p_adjusted", "z", "significant", "unreliable", "phi")
MONTHLY_YEARS = 4  # years overlaid in the monthly view (as on Tendances)


@dataclass(frozen=True)
class Scope:
    """The publication cells an élu's request is reduced to."""

    year: int | None  # None: no closed year in the data
    geo: str = schema.CITY_CODE
    node: str = publication.ALL
    years: tuple[int, ...] = ()  # the closed years of the data
    ignored: tuple[str, ...] = field(default_factory=tuple)

    @property
    def previous(self) -> int | None:
        return self.year - 1 if self.year is not None and self.year - 1 in self.years else None

    @property
    def period(self) -> tuple[date, date] | None:
        return (date(self.year, 1, 1), date(self.year, 12, 31)) if self.year is not None else None

    def note(self) -> str:
        if self.year is None:
            return "aucune année complète dans les données : rien n'est publié pour les élus"
        text = f"publication {self.year} des élus (année civile entière, protégée avec le bilan)"
        if self.ignored:
            text += " ; non appliqués ici : " + ", ".join(self.ignored)
        return text


def closed_years(an) -> tuple[int, ...]:  # noqa: ANN001 - Analytics
    """The data's closed years (:func:`observatory.analytics.publication.closed_years`)."""
    return publication.closed_years(*an.date_range())


def scope(an, filters, *, monthly: bool = False) -> Scope:  # noqa: ANN001
    """Reduce an élu's filters to the publication's granularity (pure apart from the data's date range)."""
    years = closed_years(an)
    ignored: list[str] = []
    if not years:
        return Scope(None, years=years)
    year = years[-1]
    if filters.end is not None:
        if filters.end.year in years:
            year = filters.end.year
        else:
            ignored.append(f"année {filters.end.year} (pas encore close)" if filters.end.year > years[-1] else f"année {filters.end.year}")
    whole = (filters.start in (None, date(year, 1, 1))) and (filters.end in (None, date(year, 12, 31)))
    if not whole:
        ignored.append("période choisie (seules les années civiles entières sont publiées)")
    geo = schema.CITY_CODE
    if len(filters.arrondissements) == 1:
        geo = filters.arrondissements[0]
    elif filters.arrondissements:
        ignored.append("plusieurs arrondissements")
    node = publication.elu_nomenclature(filters.categories, filters.families)
    families = {schema.category_family(c) for c in schema.categories()}
    if node is None:
        node = publication.ALL
        ignored.append("plusieurs catégories ou familles")
    elif monthly and node != publication.ALL and node not in families:
        node = publication.ALL
        ignored.append("catégorie (les séries mensuelles publiées sont par famille)")
    others = [("sources", filters.sources), ("zones", filters.zones), ("heures", filters.hours), ("jours", filters.weekdays),
              ("qualité de localisation", filters.location_qualities)]
    named = [name for name, value in others if value]
    if named:
        ignored.append(", ".join(named))
    return Scope(year, geo, node, years, tuple(ignored))


def _pub(an, year: int) -> publication.Publication:  # noqa: ANN001
    return publication.publication_for(an.settings, year, an)


def cell(pub: publication.Publication, geo: str, node: str, period: str = publication.YEAR) -> tuple[int | None, str]:
    """(published value or None, status): status "" published, "primary", "secondary", or "sensitive" (no such
    cell for élus, or a cell the publication does not show)."""
    c = pub.cells
    hit = c[(c["geo"] == geo) & (c["nomenclature"] == node) & (c["period"] == period)]
    if hit.empty:
        return None, ABSENT
    st = publication.ELU_STATUS[hit["status"].iloc[0]]
    return (None, st) if st else (int(hit["n"].iloc[0]), "")


def _dimension(node: str) -> tuple[str, str]:
    if node == publication.ALL:
        return "total", "all"
    if node in set(schema.categories()):
        return "category", node
    return "family", node


def _children(node: str, by: str) -> list[str]:
    """Category or family codes under a nomenclature node."""
    cats = [c for c in schema.categories()]
    if node in set(cats):
        cats = [node]
    elif node != publication.ALL:
        cats = [c for c in cats if schema.category_family(c) == node]
    if by == "category":
        return cats
    return list(dict.fromkeys(schema.category_family(c) for c in cats))


def _verdicts(an, year: int) -> pd.DataFrame:  # noqa: ANN001
    from observatory.reports.verdicts import snapshot_verdicts

    return snapshot_verdicts(an, year)


def compare(an, sc: Scope, by: str | None = None) -> pd.DataFrame:  # noqa: ANN001
    """The year against the year before, from the two publications, like ``compare_periods`` (one row, or one per
    category / family / arrondissement under the scope), with the bilan's verdicts; statuses in attrs."""
    by_col = by or "unit"
    if sc.year is None:
        out = pd.DataFrame(columns=[by_col, "current", "previous"])
        out.attrs[shaping.PUBLICATION_STATUS] = pd.DataFrame(columns=["current", "previous"])
        return out
    pub = _pub(an, sc.year)
    prev = _pub(an, sc.previous) if sc.previous is not None else None
    if by == "arrondissement":
        units = [(code, code, sc.node) for code in schema.ARRONDISSEMENT_CODES]
    elif by in ("category", "family"):
        units = [(code, sc.geo, code) for code in _children(sc.node, by)]
    else:
        units = [("all", sc.geo, sc.node)]
    verdicts = _verdicts(an, sc.year) if prev is not None else None
    rows, status = [], []
    for key, geo, node in units:
        cur, cur_st = cell(pub, geo, node)
        before, before_st = cell(prev, geo, node) if prev is not None else (None, SENSITIVE)
        if by in ("category", "family") and cur_st == ABSENT:
            continue  # no such cell below the city (sensitive categories): not a row
        cur_st, before_st = (SENSITIVE if x == ABSENT else x for x in (cur_st, before_st))
        row = {by_col: key, "current": cur, "previous": before,
               "current_start": pd.Timestamp(sc.year, 1, 1), "current_end": pd.Timestamp(sc.year, 12, 31),
               "previous_start": pd.Timestamp(sc.year - 1, 1, 1), "previous_end": pd.Timestamp(sc.year - 1, 12, 31),
               "comparable": prev is not None, "reason": None if prev is not None else f"pas de données publiées pour {sc.year - 1}",
               "significant": False, "p_value": float("nan"), "p_adjusted": float("nan"), "unreliable": False}
        if cur is not None and before is not None:
            row["diff"] = cur - before
            row["pct_change"] = (cur - before) / before if before > 0 else float("nan")
            row["unreliable"] = before < 20 or cur < 10
        if verdicts is not None and len(verdicts):
            dim, code = _dimension(node)
            v = verdicts[(verdicts["geography"] == geo) & (verdicts["dimension"] == dim) & (verdicts["code"] == code)]
            if len(v):
                for col in ("significant", "p_value", "p_adjusted", "comparable", "reason"):
                    row[col] = v[col].iloc[0]
        rows.append(row)
        status.append({"current": cur_st, "previous": before_st if prev is not None else ""})
    columns = [by_col, "current", "previous", "diff", "pct_change", "current_start", "current_end", "previous_start", "previous_end",
               "comparable", "reason", "significant", "p_value", "p_adjusted", "unreliable"]
    out = pd.DataFrame(rows, columns=columns)
    for col in ("current", "previous", "diff", "pct_change"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("float64")
    out["significant"] = out["significant"].fillna(False).astype(bool)
    st = pd.DataFrame(status, columns=["current", "previous"])
    if prev is None:  # first year: nothing to compare with, and no number pretends otherwise
        out["previous"] = float("nan")
        st["previous"] = SENSITIVE
    out.attrs[shaping.PUBLICATION_STATUS] = st
    out.attrs["note"] = f"{sc.note()} ; verdicts : ceux du bilan {sc.year}"
    return out


def arrondissement_table(an, filters) -> pd.DataFrame:  # noqa: ANN001
    """Counts and yearly rates per arrondissement of the scope's year and node; statuses in attrs."""
    sc = scope(an, filters)
    if sc.year is None:
        return pd.DataFrame(columns=["arrondissement", "count", "population", "rate_per_1000"])
    from observatory.analytics.filters import Filters

    ignored = sc.ignored + (("arrondissement choisi (la carte montre les neuf)",) if sc.geo != schema.CITY_CODE else ())
    sc = Scope(sc.year, schema.CITY_CODE, sc.node, sc.years, ignored)
    df = publication.arrondissement_counts(_pub(an, sc.year), sc.node)
    pop = an.rates_by_arrondissement(Filters(), include_city=False)[["arrondissement", "population"]]
    df = df.merge(pop, on="arrondissement", how="left")
    counts = df["count"].astype("float64")
    df["count"] = counts
    df["rate_per_1000"] = 1000 * counts / df["population"].where(df["population"] > 0)
    status = pd.DataFrame({"count": df.pop("status").to_numpy()})
    df.attrs[shaping.PUBLICATION_STATUS] = status
    df.attrs["scope"] = sc
    return df


def monthly(an, filters, years: int = MONTHLY_YEARS) -> pd.DataFrame:  # noqa: ANN001
    """``month`` (first day), ``count``: the scope's territory and family (or all), month by month, over the last
    ``years`` closed years up to the scope's year; statuses in attrs. « Non réparti » and withdrawn territories
    have no published months: those read « n.d. »."""
    sc = scope(an, filters, monthly=True)
    rows, status = [], []
    if sc.year is not None:
        for y in [y for y in sc.years if sc.year - years < y <= sc.year]:
            pub = _pub(an, y)
            for m in range(1, 13):
                v, st = cell(pub, sc.geo, sc.node, f"{m:02d}")
                rows.append({"month": pd.Timestamp(y, m, 1), "count": v})
                status.append(SENSITIVE if st == ABSENT else st)
    out = pd.DataFrame(rows, columns=["month", "count"])
    out["count"] = pd.to_numeric(out["count"], errors="coerce").astype("float64")
    out.attrs[shaping.PUBLICATION_STATUS] = pd.DataFrame({"count": status})
    out.attrs["scope"] = sc
    return out


def territory_label(sc: Scope) -> str:
    where = "Lyon" if sc.geo == schema.CITY_CODE else labels.arrondissement_label(sc.geo)
    if sc.node == publication.ALL:
        return where
    what = labels.category_label(sc.node) if sc.node in set(schema.categories()) else labels.family_label(sc.node)
    return f"{where}, {what}"


# Rendering for the pages' élu branches -------------------------------------------------------------------------------
def withheld_figure(height: int = 340):  # noqa: ANN201 - go.Figure
    from observatory import figures

    return figures.empty_figure(WITHHELD, height=height)


def withheld_block():  # noqa: ANN201 - Dash component
    from dash import html

    return html.P(WITHHELD, className="text-muted small mb-0")


def compare_view(an, sc: Scope, by: str | None = None) -> pd.DataFrame:  # noqa: ANN001
    """:func:`compare` as élus read it (« < 5 », « secret », « n.d. »; changes blanked beside a withheld count)."""
    from observatory.dashboard import components

    cmp = compare(an, sc, by)
    v = shaping.protected_view(cmp, ["current", "previous"], components.min_count(), analyst=False, derived=CMP_DERIVED)
    v.attrs["note"] = cmp.attrs.get("note", "")
    return v


def overview_kpis(an, filters):  # noqa: ANN001, ANN201
    """The home page's four key figures for an élu, every number a cell of the publications (or a count of the
    bilan's verdicts on published cells)."""
    import dash_bootstrap_components as dbc

    from observatory.analytics.filters import Filters
    from observatory.dashboard import components

    sc = scope(an, filters)
    if sc.year is None:
        return components.empty_state("Aucune année complète publiée", sc.note())
    total = compare_view(an, sc).iloc[0]
    text, tone = components.change_text(total)
    rates = an.rates_by_arrondissement(Filters(), include_city=False)
    arr = rates[rates["arrondissement"].isin(schema.ARRONDISSEMENT_CODES)]
    pop = int(arr["population"].sum()) if sc.geo == schema.CITY_CODE else int(arr.loc[arr["arrondissement"] == sc.geo, "population"].sum())
    rate = 1000 * total["current"] / pop if pop and pd.notna(total["current"]) else None
    rate_text = labels.fmt_number(rate, 1) if rate is not None else "non publié"
    by_cat = shaping.published_rows(compare_view(an, sc, "category"), ["current", "previous"])
    sig = by_cat["significant"].fillna(False).astype(bool) if len(by_cat) else pd.Series(dtype=bool)
    n_up = int((sig & (by_cat["diff"] > 0)).sum()) if len(by_cat) else 0
    n_down = int((sig & (by_cat["diff"] < 0)).sum()) if len(by_cat) else 0
    test = "écart plus grand que les variations ordinaires d'une année à l'autre (verdicts du bilan annuel)"  # élus: plain French (issue 19)
    hint = f"01/01/{sc.year} – 31/12/{sc.year} par rapport à {sc.year - 1} ; {sc.note()}"
    where = territory_label(sc) + f", {labels.fmt_int(pop)} habitants"
    return dbc.Row(
        [
            dbc.Col(components.kpi_card(f"Faits {sc.year}", total["current_text"], text, tone, hint=hint), md=3),
            dbc.Col(components.kpi_card("Taux annuel pour 1 000 habitants", rate_text, where), md=3),
            dbc.Col(components.kpi_card("Catégories en hausse significative", labels.fmt_int(n_up), test, "up" if n_up else "neutral"), md=3),
            dbc.Col(components.kpi_card("Catégories en baisse significative", labels.fmt_int(n_down), test, "down" if n_down else "neutral"), md=3),
        ],
        className="g-2",
    )


def movers_table(an, filters) -> pd.DataFrame:  # noqa: ANN001
    """The year against the year before by category, from the publications (élus' home page and its export)."""
    return compare(an, scope(an, filters), "category")


def panel_content(an, filters, kind: str, key: str) -> list:  # noqa: ANN001
    """The side panel for an élu: an arrondissement's year and its categories from the publications (the
    élu's filters reduced as everywhere); a zone or a grid cell is not in the publication."""
    import dash_bootstrap_components as dbc
    from dash import dcc, html

    from observatory import figures
    from observatory.dashboard import components

    if kind != "arrondissement" or key not in schema.ARRONDISSEMENT_CODES:
        return [withheld_block()]
    base = scope(an, filters.replace(arrondissements=(key,)))
    if base.year is None:
        return [html.P(base.note(), className="text-muted small")]
    total = compare_view(an, base).iloc[0]
    text, tone = components.change_text(total)
    children = [
        html.P(components.method_note(an, filters, period=base.period, extra=SENSITIVE_NOTE + " ; " + base.note()), className="small text-muted"),
        dbc.Row([dbc.Col(components.kpi_card(f"{base.year} par rapport à {base.year - 1}", f"{total['current_text']} / {total['previous_text']}", text, tone))],
                className="g-2 mb-2"),
    ]
    cats = shaping.published_rows(compare_view(an, base, "category"), ["current"]).sort_values("current", ascending=False).head(5)
    children.append(html.H3("Principales catégories", className="h6 mt-2"))
    children.append(html.Ol([html.Li(f"{labels.category_label(r.category)} : {r.current_text}") for r in cats.itertuples()]) if len(cats) else html.P("Aucun fait publiable.", className="text-muted"))
    children.append(html.H3("Tendance mensuelle", className="h6 mt-2"))
    months = monthly(an, filters.replace(arrondissements=(key,)), years=1)
    v = components.view(months, ["count"])
    children.append(dcc.Graph(figure=figures.time_series(v, "month", "count", height=200), config=figures.graph_config(modebar=False)))
    if v.attrs.get("hidden"):
        children.append(html.P(html.Small(components.privacy_note(v) + ".", className="text-muted")))
    return children


SENSITIVE_NOTE = "hors violences sexuelles et intrafamiliales, publiées à l'échelle de la ville seulement"
