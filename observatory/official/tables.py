"""The tables behind the "Statistiques officielles" page, for its display and its CSV/XLSX exports.

Pure functions (DataFrames in, DataFrames out, no I/O, no Dash). Export tables carry French headers and numeric
columns (the export writers give them the decimal comma); counts the SSMSI did not diffuse stay empty, never 0.
"""

from __future__ import annotations

import pandas as pd

from observatory import labels, schema
from observatory.official import compare
from observatory.official import model as m
from observatory.official.indicators import indicator_label, rate_unit

NOT_DIFFUSED = "non diffusé"


def _base_column(indicator: str) -> str:
    return "Logements" if rate_unit(indicator).endswith("logements") else "Population"


def _base_values(rows: pd.DataFrame) -> pd.Series:
    """The rate's denominator of each row: dwellings for rates per dwelling, inhabitants otherwise."""
    dwellings = rows[m.DWELLINGS].astype("Int64")
    population = rows[m.POPULATION].astype("Int64")
    return dwellings.where(rows[m.RATE_BASE] == "logements", population)


def _territory(codes: pd.Series) -> list[str]:
    return [labels.arrondissement_label(str(c)) for c in codes]


def official_rows_table(rows: pd.DataFrame, indicator: str) -> pd.DataFrame:
    """Official rows of one indicator as published (the data of the two figures), one row per territory × year.

    Columns: Année, Code INSEE, Territoire, Indicateur, Unité de compte, Nombre, Taux pour 1 000 …, Diffusion,
    Population (or Logements), Millésime de la population. Sorted by year then code (Lyon first).
    """
    part = rows[rows[m.INDICATOR] == indicator]
    order = {c: i for i, c in enumerate(m.LYON_CODES)}
    part = part.assign(_order=part[m.CODE].map(lambda c: order.get(c, len(order)))).sort_values([m.YEAR, "_order", m.CODE])
    base = _base_column(indicator)
    base_year = part[m.DWELLINGS_YEAR] if base == "Logements" else part[m.POPULATION_YEAR]
    return pd.DataFrame(
        {
            "Année": part[m.YEAR].astype(int).to_numpy(),
            "Code INSEE": part[m.CODE].astype(str).to_numpy(),
            "Territoire": _territory(part[m.CODE]),
            "Indicateur": indicator_label(indicator),
            "Unité de compte": part[m.UNIT].astype(object).where(part[m.UNIT].notna(), "").to_numpy(),
            "Nombre": part[m.COUNT].astype("Int64").array,
            f"Taux {rate_unit(indicator)}": part[m.RATE].astype("Float64").round(3).array,
            "Diffusion": ["diffusé" if d else NOT_DIFFUSED for d in part[m.DIFFUSED]],
            base: _base_values(part).array,
            f"Millésime ({base.lower()})": base_year.astype("Int64").array,
        }
    )


def year_table(rows: pd.DataFrame, indicator: str, code: str) -> pd.DataFrame:
    """"Nombres et taux par année" for one territory, newest year first, with Lyon's rate beside it.

    Columns: Année, Nombre (<NA> when not diffused), Taux …, Taux de Lyon, Population | Logements.
    """
    part = rows[rows[m.INDICATOR] == indicator]
    own = part[part[m.CODE] == code].sort_values(m.YEAR, ascending=False)
    city = part[part[m.CODE] == schema.CITY_CODE].set_index(m.YEAR)[m.RATE]
    return pd.DataFrame(
        {
            "Année": own[m.YEAR].astype(int).to_numpy(),
            "Nombre": own[m.COUNT].astype("Int64").array,
            f"Taux {rate_unit(indicator)}": own[m.RATE].astype("Float64").round(3).array,
            "Taux de Lyon": own[m.YEAR].map(city).astype("Float64").round(3).array,
            _base_column(indicator): _base_values(own).array,
        }
    )


def masked_comparison(cmp: pd.DataFrame, min_count: int, viewer_is_analyst: bool) -> pd.DataFrame:
    """The comparison with the observatory's counts as the viewer may see them.

    Adds ``shown`` (the count as published text: "< 5", "n.d." for sensitive indicators below the city for
    non-analysts, "–" when unknown) and, where a count is masked, empties the count, the difference and the
    ratio — the ratio to a public official count would give the hidden count back.
    """
    out = cmp.assign(shown=compare.observatory_count_text(cmp, min_count, viewer_is_analyst))
    masked = ~out["shown"].str.match(r"^[\d\u00a0]+$") & out[compare.OBSERVATORY_COUNT].notna()
    out[compare.OBSERVATORY_COUNT] = out[compare.OBSERVATORY_COUNT].astype("Int64").mask(masked)
    out[compare.DIFFERENCE] = out[compare.DIFFERENCE].astype("Int64").mask(masked)
    out[compare.RATIO] = out[compare.RATIO].astype("Float64").mask(masked)
    return out


def comparison_table(cmp: pd.DataFrame) -> pd.DataFrame:
    """Official vs observatory counts, for export, from :func:`masked_comparison` output.

    Columns: Année, Code INSEE, Territoire, Indicateur SSMSI, Catégories de l'observatoire, SSMSI (nombre),
    Observatoire (nombre) — text ("< 5", "n.d.") where masked, a number otherwise —, Observatoire / SSMSI (%).
    """
    part = cmp.sort_values([m.YEAR, m.CODE], kind="mergesort")  # stable: the indicators keep the page's order
    shown = part["shown"] if "shown" in part.columns else part[compare.OBSERVATORY_COUNT].astype("Int64").astype(object)
    observed = [
        (int(v) if pd.notna(v) else (None if s in ("–", "") else s))
        for v, s in zip(part[compare.OBSERVATORY_COUNT].astype("Int64"), shown.astype(object))
    ]
    cats = [
        ", ".join(labels.category_label(c) for c in str(v).split(", ") if c) if isinstance(v, str) else ""
        for v in part[compare.CATEGORIES]
    ]
    return pd.DataFrame(
        {
            "Année": part[m.YEAR].astype(int).to_numpy(),
            "Code INSEE": part[m.CODE].astype(str).to_numpy(),
            "Territoire": _territory(part[m.CODE]),
            "Indicateur SSMSI": part[m.INDICATOR_LABEL].astype(str).to_numpy(),
            "Catégories de l'observatoire": cats,
            "SSMSI (nombre)": part[compare.OFFICIAL_COUNT].astype("Int64").array,
            "Observatoire (nombre)": pd.array(observed, dtype=object),
            "Observatoire / SSMSI (%)": (part[compare.RATIO].astype("Float64") * 100).round(1).array,
        }
    )
