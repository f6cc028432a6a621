"""« Ce que disent les habitants »: the survey section of the yearly diagnostic (PDF and the web bilan).

Pure: :func:`residents_content` turns the published survey tables into sentences and one table for a year and a
territory (the city, or one arrondissement). The wave used is the latest one fielded in or before the year; a
diagnostic of a year before the first wave has no such section. Unpublished estimates read « effectif
insuffisant », never a number.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from observatory import labels, schema
from observatory.survey import tables


@dataclass(frozen=True)
class ResidentsContent:
    title: str
    sentences: list[str]
    frame: pd.DataFrame  # display strings
    data: pd.DataFrame  # typed values (NaN where unpublished)
    note: str


def residents_content(tabs, year: int, arrondissement: str | None = None) -> ResidentsContent | None:  # noqa: ANN001 - SurveyTables
    if tabs is None:
        return None
    waves = [w for w in tabs.waves if w <= year]
    if not waves:
        return None
    wave = waves[-1]
    territory = arrondissement or schema.CITY_CODE
    place = labels.arrondissement_label(territory)
    est = tabs.estimates[(tabs.estimates["wave"] == wave)]
    changes = tabs.changes[tabs.changes["to_wave"] == wave].set_index(["indicator", "territory"])
    columns = [territory] + ([tables.QPV, tables.OUTSIDE_QPV] if territory == schema.CITY_CODE else [])
    rows, data = [], []
    for ind in tabs.indicators:
        if ind.get("among"):
            continue  # complaint questions are read in the dark-figure sentence, not as residents' opinions
        line = {"Indicateur": ind.get("label", ind["code"])}
        typed = {"indicateur": ind["code"]}
        for code in columns:
            r = est[(est["indicator"] == ind["code"]) & (est["territory"] == code)]
            head = tables.territory_label(code)
            if r.empty:
                line[head] = "–"
                typed[code] = np.nan
                continue
            r = r.iloc[0]
            line[head] = tables.estimate_text(r["value"], r["low"], r["high"], ind["kind"], tables.INSUFFICIENT)
            typed[code] = r["value"]
        key = (ind["code"], territory)
        if key in changes.index:
            c = changes.loc[key]
            line["Depuis la vague précédente"] = c["verdict"] if str(c["verdict"]).startswith("pas de") else (
                f"{tables.difference_text(c['difference'], ind['kind'])}, {c['verdict']}")
        else:
            line["Depuis la vague précédente"] = "première vague"
        rows.append(line)
        data.append(typed)
    sentences = [f"L'enquête « {tabs.label} » ({tabs.population}) a été menée en {wave}"
                 + (f" ; le bilan {year} en reprend les résultats les plus récents." if wave < year else ".")]
    first = next((i for i in tabs.indicators if not i.get("among")), None)
    if first is not None:
        r = est[(est["indicator"] == first["code"]) & (est["territory"] == territory)]
        if len(r) and np.isfinite(r.iloc[0]["value"]):
            r = r.iloc[0]
            sentences.append(f"{place} : {first['label'].lower()} pour {tables.estimate_text(r['value'], r['low'], r['high'], first['kind'])} des habitants.")
            key = (first["code"], territory)
            if key in changes.index and not str(changes.loc[key]["verdict"]).startswith("pas de"):
                sentences.append(f"Par rapport à la vague précédente : {tables.difference_text(changes.loc[key]['difference'], first['kind'])} "
                                 f"({changes.loc[key]['verdict']}).")
        elif len(r):
            sentences.append(f"{place} : trop peu de répondants pour publier une estimation ({tables.INSUFFICIENT}).")
    rep = tabs.reporting[(tabs.reporting["wave"] == wave) & (tabs.reporting["territory"] == territory)]
    for r in rep.itertuples(index=False):
        if np.isfinite(r.rate):
            high = "∞" if not np.isfinite(r.high) else labels.fmt_int(100 * r.high)
            sentences.append(
                f"Chiffre noir — {r.indicator_label.lower()} : environ {labels.fmt_int(r.victims_estimated)} victimes estimées pour "
                f"{labels.fmt_int(r.recorded)} faits enregistrés, soit {labels.fmt_int(100 * r.rate)} faits enregistrés pour 100 victimes "
                f"(entre {labels.fmt_int(100 * r.low)} et {high})."
            )
    note = ("Estimations pondérées, intervalles de confiance à 95 % tenant compte du plan de sondage ; « effectif insuffisant » : "
            "trop peu de répondants ou estimation trop imprécise pour être publiée. Les réponses individuelles ne sont jamais diffusées.")
    return ResidentsContent(title="Ce que disent les habitants", sentences=sentences, frame=pd.DataFrame(rows),
                            data=pd.DataFrame(data), note=note)
