"""Comparison lines of the yearly diagnostic: counts of two years with the publication's verdict, protected
and shaped for display and export, and the badges and directions of the key figures.
"""

from __future__ import annotations

import math

import pandas as pd

from observatory import labels, schema
from observatory.analytics.inference import TEST_LABELS
from observatory.reports import narrative, protection
from observatory.reports.protection import cell_text, protect_table, published_value
from observatory.reports.protection import hidden as _hidden


# Statistics -----------------------------------------------------------------------------------------------------
def compare(frame: pd.DataFrame, keys: list[str], year: int, previous_year: int, verdicts: pd.DataFrame | None = None) -> pd.DataFrame:
    """Counts of two years side by side per key, with difference, ratio and the verdict of each line.

    The verdict columns (``p_value``, ``p_adjusted``, ``significant``, ``comparable``, ``reason``, ``test``,
    ``phi``) come from ``verdicts`` (:func:`observatory.reports.verdicts.lookup` of the publication's verdicts:
    one test per line, corrected with every other test of the year, the same in every document); they are
    matched on ``keys[0]`` = ``code``. A line the publication does not test gets no test.
    """
    from observatory.analytics.compare import compare_counts

    cols = keys + ["current", "previous", "diff", "ratio", "p_value", "p_adjusted", "significant", "unreliable", "comparable", "reason", "test", "phi"]
    cur = frame[frame["year"] == year].groupby(keys, dropna=False)["n"].sum().rename("current")
    prev = frame[frame["year"] == previous_year].groupby(keys, dropna=False)["n"].sum().rename("previous")
    both = pd.concat([cur, prev], axis=1).fillna(0).astype("int64")
    if both.empty:
        return pd.DataFrame(columns=cols)
    stats = compare_counts(both["current"], both["previous"])
    out = stats.reset_index()
    out = out.rename(columns={"pct_change": "ratio"}).drop(columns=["z", "p_value", "significant"])
    out["ratio"] = out["ratio"].astype("float64")
    out["unreliable"] = out["unreliable"].astype(bool)
    if verdicts is None:
        # A table on its own (no publication around it): its lines form their own family of tests.
        from observatory.analytics.verdicts import year_verdicts

        detail = [c for c in ("month", "source") if c in frame.columns]
        uc = frame.groupby([keys[0], "year"] + detail, dropna=False, as_index=False)["n"].sum()
        uc = uc.rename(columns={keys[0]: "code"}).assign(geography="", dimension="")
        for c in ("month", "source"):
            if c not in uc:
                uc[c] = 0 if c == "month" else None
        uc["code"] = uc["code"].astype(object).where(uc["code"].notna(), "inconnu")
        verdicts = year_verdicts(uc, year) if previous_year == year - 1 else pd.DataFrame(columns=["code"])
    v = verdicts.reindex(columns=["code", "p_value", "p_adjusted", "significant", "comparable", "reason", "test", "phi"])
    out = out.merge(v.rename(columns={"code": keys[0]}), on=keys[0], how="left")
    out["comparable"] = out["comparable"].astype("boolean").fillna(True).astype(bool)
    out["significant"] = out["significant"].astype("boolean").fillna(False).astype(bool) & out["comparable"]
    out["reason"] = out["reason"].astype(object).where(out["reason"].notna(), "").astype(str)
    out["test"] = out["test"].astype(object).where(out["test"].notna(), "none").astype(str)
    out["p_value"] = pd.to_numeric(out["p_value"], errors="coerce").astype("float64")
    out["p_adjusted"] = pd.to_numeric(out["p_adjusted"], errors="coerce").astype("float64")
    out["phi"] = pd.to_numeric(out["phi"], errors="coerce").astype("float64")
    return out[cols]


# Building -------------------------------------------------------------------------------------------------------
def _change_of(label: str, row: pd.Series, prev_label: str, who: str = "") -> narrative.Change:
    return narrative.Change(
        subject=who,
        label=label,
        current=int(row["current"]),
        previous=int(row["previous"]),
        previous_label=prev_label,
        p_value=row["p_value"],
        significant=bool(row["significant"]),
        unreliable=bool(row["unreliable"]),
        hidden=_hidden(row["current_status"]) or _hidden(row["previous_status"]),
        secondary=protection.PRIMARY not in (row["current_status"], row["previous_status"]),
        comparable=bool(row.get("comparable", True)),
        reason=str(row.get("reason", "") or ""),
        test=str(row.get("test", "") or ""),
    )


def _evolution_cells(row: pd.Series) -> tuple[str, str, str]:
    """(difference, percent, significance) as displayed; empty when a hidden count would leak through them."""
    if _hidden(row["current_status"]) or _hidden(row["previous_status"]):
        return "", "", ""
    if not row.get("comparable", True):
        # No data for a partner in one of the years: no change is published, only why.
        return "", "", "pas de comparaison possible"
    ratio = row["ratio"]
    pct = labels.fmt_pct(ratio) if not (isinstance(ratio, float) and math.isnan(ratio)) else "–"
    # The same words as the sentences: "significative" whenever the test says so, "effectif faible" otherwise.
    if row["significant"]:
        sig = "significative"
    else:
        sig = "effectif faible" if row["unreliable"] else "non significative"
    if row["diff"] == 0:
        sig = "stable" if not row["unreliable"] else sig
    return labels.fmt_signed(int(row["diff"])), pct, sig


def comparison_table(
    cmp: pd.DataFrame, key: str, key_label: str, name_of, year: int, previous_year: int, min_count: int, with_total: bool = True,
    geography: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Protect a comparison and shape it for display and for export.

    Returns (protected comparison with *_status columns, display frame, export frame). The export frame keeps
    the published counts as integers and the hidden ones as their text ("< 5", "s", "n.d."), like
    ``privacy.protect(as_text=True)``; derived values of a row with a hidden count are empty.
    ``geography``: the arrondissement the table is restricted to (None for the city).
    """
    prot = protect_table(cmp, ["current", "previous"], min_count, with_total=with_total, geography=geography)
    display_rows = []
    data_rows = []
    for _, row in prot.iterrows():
        diff, pct, sig = _evolution_cells(row)
        display_rows.append(
            {
                key_label: name_of(row[key]),
                str(previous_year): cell_text(row["previous"], row["previous_status"], min_count),
                str(year): cell_text(row["current"], row["current_status"], min_count),
                "Évolution": diff,
                "Évolution (%)": pct,
                "Test": sig,
            }
        )
        leak = _hidden(row["current_status"]) or _hidden(row["previous_status"])
        incomparable = not row.get("comparable", True)
        test = str(row.get("test", "none") or "none")
        data_rows.append(
            {
                key_label: name_of(row[key]),
                "code": row[key],
                f"faits_{previous_year}": published_value(row["previous"], row["previous_status"], min_count),
                f"faits_{year}": published_value(row["current"], row["current_status"], min_count),
                "evolution": None if leak or incomparable else int(row["diff"]),
                "evolution_pct": None if leak or incomparable or math.isnan(row["ratio"]) else round(float(row["ratio"]) * 100, 1),
                "p_value": None if leak or pd.isna(row["p_value"]) else round(float(row["p_value"]), 4),
                "p_ajustee_bh": None if leak or pd.isna(row.get("p_adjusted")) else round(float(row["p_adjusted"]), 4),
                "significative": None if leak else ("pas de comparaison possible" if incomparable else ("oui" if row["significant"] else "non")),
                "test": None if leak else TEST_LABELS.get(test, test),
                "dispersion": None if leak or pd.isna(row.get("phi")) else round(float(row["phi"]), 2),
                "comparaison": str(row.get("reason", "") or "") or None,
            }
        )
    if with_total and len(prot):
        cur_total, prev_total = int(cmp["current"].sum()), int(cmp["previous"].sum())
        total_row = pd.DataFrame([{"current": cur_total, "previous": prev_total}])
        families = {schema.category_family(c) for c in cmp[key]} if key == "category" else set()
        if len(families) == 1:
            total_row["family"] = families.pop()  # a family's categories add up to the family (a publication cell)
        tprot = protect_table(total_row, ["current", "previous"], min_count, with_total=False, geography=geography).iloc[0]
        display_rows.append(
            {
                key_label: "Total",
                str(previous_year): cell_text(prev_total, tprot["previous_status"], min_count),
                str(year): cell_text(cur_total, tprot["current_status"], min_count),
                "Évolution": "",
                "Évolution (%)": "",
                "Test": "",
            }
        )
        data_rows.append(
            {
                key_label: "Total",
                "code": "total",
                f"faits_{previous_year}": published_value(prev_total, tprot["previous_status"], min_count),
                f"faits_{year}": published_value(cur_total, tprot["current_status"], min_count),
                "evolution": None, "evolution_pct": None, "p_value": None, "p_ajustee_bh": None, "significative": None,
                "test": None, "dispersion": None, "comparaison": None,
            }
        )
    data = pd.DataFrame(data_rows)
    if len(data):
        # A difference stays an integer when some rows are blank (hidden), instead of becoming a float.
        data["evolution"] = data["evolution"].astype("Int64")
    return prot, pd.DataFrame(display_rows), data


UNKNOWN_ARRONDISSEMENT = "inconnu"
# A line absent from both years (a family of the trend, a zone without facts): no change, nothing to test.
_ABSENT = {"current": 0, "previous": 0, "diff": 0, "significant": False, "unreliable": True, "comparable": True, "reason": "", "test": "none"}
_ABSENT_TYPES = {"current": "int64", "previous": "int64", "diff": "int64", "significant": bool, "unreliable": bool, "comparable": bool}
SENSITIVE_NOTE = (
    "Les violences sexuelles et les violences intrafamiliales ne sont publiées qu'à l'échelle de la ville : elles ne "
    "sont pas comptées dans les chiffres d'un arrondissement (ni dans son total, ni dans ses familles)."
)


def _arrondissement_name(code: str) -> str:
    if code == UNKNOWN_ARRONDISSEMENT:
        return "Non réparti (violences sexuelles et intrafamiliales, faits sans arrondissement connu)"
    return labels.arrondissement_label(code)


def _place(arrondissement: str | None) -> str:
    return labels.arrondissement_label(arrondissement or schema.CITY_CODE)


def _direction(row: pd.Series) -> int:
    if _hidden(row["current_status"]) or _hidden(row["previous_status"]) or not row.get("comparable", True):
        return 0
    d = int(row["diff"])
    return (d > 0) - (d < 0)


def _change_badge(row: pd.Series) -> str:
    """The short evolution next to a key figure: "−12 % (−85)"; empty when it would reveal a hidden count."""
    if _hidden(row["current_status"]) or _hidden(row["previous_status"]):
        return ""
    if not row.get("comparable", True):
        return "pas de comparaison"
    if row["unreliable"]:
        # Same rule as the sentences: on small counts a percentage swings wildly, give the difference only.
        return f"{labels.fmt_signed(int(row['diff']))} fait{'s' if abs(int(row['diff'])) > 1 else ''}"
    ratio = row["ratio"]
    pct = labels.fmt_pct(ratio) if not (isinstance(ratio, float) and math.isnan(ratio)) else "nouveau"
    return f"{pct} ({labels.fmt_signed(int(row['diff']))})"
