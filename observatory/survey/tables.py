"""The published tables of a survey: weighted estimates by wave and territory, wave-to-wave changes, reporting rates.

Pure functions over the respondent table (:mod:`observatory.survey.read`) and the indicator definitions stored
with it; nothing here reads files. Territories are the city, each arrondissement, the residents of priority
neighbourhoods (QPV) and the rest of the city, and the hypercentre's residents when the file says who they are.
Every estimate carries its unweighted number of respondents, and ``published`` says whether it passes the
publication rule (``survey_min_n`` respondents, CV at most ``survey_max_cv``); an unpublished estimate keeps
no value in :func:`public_view`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from observatory import labels, schema
from observatory.survey.estimate import Design, Estimate, change_between_waves, publishable, ratio_estimate, reporting_rate
from observatory.survey.read import indicator_column

CITY = schema.CITY_CODE
QPV = "qpv"
OUTSIDE_QPV = "hors_qpv"
HYPERCENTRE = "hypercentre"
TERRITORY_LABELS = {QPV: "Quartiers prioritaires (QPV)", OUTSIDE_QPV: "Hors quartiers prioritaires", HYPERCENTRE: "Hypercentre (résidents)"}
INSUFFICIENT = "effectif insuffisant"

COLUMNS = ["wave", "indicator", "indicator_label", "territory", "territory_label", "kind", "value", "se", "low", "high",
           "n", "weighted_n", "cv", "deff", "published", "reason"]


def territory_label(code: str) -> str:
    return TERRITORY_LABELS.get(code) or labels.arrondissement_label(code)


def territories(respondents: pd.DataFrame) -> list[tuple[str, np.ndarray]]:
    """(territory code, boolean mask over the respondents) for each territory the file can describe."""
    out = [(CITY, np.ones(len(respondents), dtype=bool))]
    arr = respondents["arrondissement"].astype(str).to_numpy()
    for code in schema.ARRONDISSEMENT_CODES:
        if (arr == code).any():
            out.append((code, arr == code))
    qpv = respondents["qpv"].astype(bool).to_numpy()
    if qpv.any():
        out += [(QPV, qpv), (OUTSIDE_QPV, ~qpv)]
    hyper = respondents["hypercentre"].astype(bool).to_numpy()
    if hyper.any():
        out.append((HYPERCENTRE, hyper))
    return out


def estimates(respondents: pd.DataFrame, indicators: list[dict], min_n: int, max_cv: float) -> pd.DataFrame:
    """One row per (wave, indicator, territory): the weighted estimate, its 95 % interval and the publication verdict."""
    rows = []
    for wave in sorted(respondents["wave"].unique()) if not respondents.empty else []:
        sample = respondents[respondents["wave"] == wave].reset_index(drop=True)
        design = Design.of(sample, "weight", "stratum" if sample["stratum"].astype(str).ne("").any() else None, "psu")
        domains = territories(sample)
        for ind in indicators:
            values = sample[indicator_column(ind["code"])].to_numpy(dtype=float)
            proportion = ind["kind"] == "proportion"
            for code, mask in domains:
                est = ratio_estimate(values, design, mask, proportion)
                rows.append(_row(int(wave), ind, code, est, min_n, max_cv))
    return pd.DataFrame(rows, columns=COLUMNS)


def _row(wave: int, ind: dict, code: str, est: Estimate, min_n: int, max_cv: float) -> dict:
    low, high = est.interval()
    ok = publishable(est, min_n, max_cv)
    reason = "" if ok else (f"{INSUFFICIENT} ({est.n} répondants)" if est.n < min_n else f"{INSUFFICIENT} (estimation trop imprécise)")
    return {"wave": wave, "indicator": ind["code"], "indicator_label": ind["label"], "territory": code,
            "territory_label": territory_label(code), "kind": ind["kind"], "value": est.value, "se": est.se, "low": low, "high": high,
            "n": est.n, "weighted_n": est.weighted_n, "cv": est.cv, "deff": est.deff, "published": ok, "reason": reason}


def public_view(table: pd.DataFrame) -> pd.DataFrame:
    """What may leave the store: unpublished estimates lose their value, interval and precision (n is kept)."""
    out = table.copy()
    hidden = ~out["published"].astype(bool)
    for col in ("value", "se", "low", "high", "cv", "deff", "weighted_n"):
        out[col] = out[col].where(~hidden, np.nan)
    return out


def changes(table: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Each published estimate against the same (indicator, territory) in the previous wave: difference, p-value, verdict.

    Waves are independent samples, so the variance of the difference is the sum of the variances. A pair where
    either estimate is unpublished gets no verdict (« pas de comparaison : effectif insuffisant »). The p-values
    of one wave's comparisons are corrected together (Benjamini–Hochberg) because a page shows them all at once.
    """
    from scipy.stats import false_discovery_control

    rows = []
    for (ind, terr), group in table.sort_values("wave").groupby(["indicator", "territory"], sort=False):
        group = group.reset_index(drop=True)
        for i in range(1, len(group)):
            a, b = group.iloc[i - 1], group.iloc[i]
            base = {"indicator": ind, "indicator_label": b["indicator_label"], "territory": terr, "territory_label": b["territory_label"],
                    "from_wave": int(a["wave"]), "to_wave": int(b["wave"]), "kind": b["kind"]}
            if not (a["published"] and b["published"]):
                rows.append({**base, "difference": np.nan, "se": np.nan, "p_value": np.nan, "verdict": "pas de comparaison : effectif insuffisant"})
                continue
            ea = Estimate(a["value"], a["se"], int(a["n"]), a["weighted_n"], a["kind"] == "proportion")
            eb = Estimate(b["value"], b["se"], int(b["n"]), b["weighted_n"], b["kind"] == "proportion")
            diff, se, p = change_between_waves(ea, eb)
            rows.append({**base, "difference": diff, "se": se, "p_value": p, "verdict": ""})
    out = pd.DataFrame(rows, columns=["indicator", "indicator_label", "territory", "territory_label", "from_wave", "to_wave", "kind",
                                      "difference", "se", "p_value", "verdict"])
    out["p_adjusted"] = np.nan
    for _wave, idx in out[out["p_value"].notna()].groupby("to_wave").groups.items():
        out.loc[idx, "p_adjusted"] = false_discovery_control(out.loc[idx, "p_value"].to_numpy(), method="bh")
    testable = out["p_adjusted"].notna()
    significant = testable & (out["p_adjusted"] < alpha)
    out.loc[testable & ~significant, "verdict"] = "évolution non significative"
    out.loc[significant & (out["difference"] > 0), "verdict"] = "hausse significative"
    out.loc[significant & (out["difference"] < 0), "verdict"] = "baisse significative"
    return out


def population_of(territory: str, populations: pd.DataFrame) -> float:
    """Residents of a territory from the INSEE legal populations (QPV and hypercentre have none here: NaN)."""
    pops = populations.set_index("code")["population"].astype(float)
    if territory == CITY:
        return float(pops.reindex(list(schema.ARRONDISSEMENT_CODES)).sum())
    return float(pops.get(territory, np.nan))


def reporting_rates(table: pd.DataFrame, indicators: list[dict], recorded: pd.DataFrame, populations: pd.DataFrame,
                    adult_share: float, persons_per_household: float) -> pd.DataFrame:
    """The « chiffre noir »: recorded facts per victim the survey estimates, by wave, indicator and territory.

    ``recorded`` has columns wave, territory, indicator, recorded (facts the partners recorded over the survey's
    reference period for the indicator's categories). Victims = proportion × the population the question covers:
    residents × ``adult_share`` for personal victimisation, households (residents ÷ ``persons_per_household``)
    for household victimisation (burglary). Only published proportions are used.
    """
    units = {i["code"]: i.get("unit", "individu") for i in indicators if i.get("categories")}
    rows = []
    merged = table[table["indicator"].isin(units) & table["published"]].merge(recorded, on=["wave", "territory", "indicator"], how="inner")
    for r in merged.itertuples(index=False):
        residents = population_of(r.territory, populations)
        if not np.isfinite(residents):
            continue
        base = residents * adult_share if units[r.indicator] == "individu" else residents / persons_per_household
        est = Estimate(r.value, r.se, int(r.n), r.weighted_n, True)
        rate, low, high = reporting_rate(int(r.recorded), est, base)
        rows.append({"wave": r.wave, "indicator": r.indicator, "indicator_label": r.indicator_label, "territory": r.territory,
                     "territory_label": r.territory_label, "victims_estimated": r.value * base, "recorded": int(r.recorded),
                     "rate": rate, "low": low, "high": high})
    return pd.DataFrame(rows, columns=["wave", "indicator", "indicator_label", "territory", "territory_label", "victims_estimated",
                                       "recorded", "rate", "low", "high"])


def estimate_text(value: float, low: float, high: float, kind: str, reason: str = "") -> str:
    """« 22,9 % (IC 95 % : 20,8 – 25,1) », « 6,2 / 10 (…) », or the reason it is not published."""
    if not np.isfinite(value):
        return reason or INSUFFICIENT
    if kind == "proportion":
        return (f"{labels.fmt_number(100 * value, 1)} % (IC 95 % : {labels.fmt_number(100 * low, 1)}\u202f–\u202f"
                f"{labels.fmt_number(100 * high, 1)})")
    return f"{labels.fmt_number(value, 1)} (IC 95 % : {labels.fmt_number(low, 1)}\u202f–\u202f{labels.fmt_number(high, 1)})"


def difference_text(difference: float, kind: str) -> str:
    if not np.isfinite(difference):
        return "–"
    if kind == "proportion":
        return f"{labels.fmt_signed(100 * difference, 1)} point{'s' if abs(100 * difference) >= 2 else ''}"
    return labels.fmt_signed(difference, 1)
