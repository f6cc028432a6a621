"""« Déclinaison des moyens » : the means section of the yearly diagnostic (the CLS document's own chapter).

Pure: :func:`means_content` turns :class:`~observatory.means.service.MeansTables` into sentences and tables for a
year and a territory (the city, or one arrondissement), as an élu may read them (the PDF is a publication: counts
of people are protected, sensitive categories at city level only). :func:`tables_for_year` loads the tables with
the action evaluations *as of 31 December of the year*, the same ones the diagnostic's action chapter quotes, so
one action gets one verdict in the whole document.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from observatory import labels, schema
from observatory.config import Settings
from observatory.means import indicators as ind
from observatory.means import views


@dataclass(frozen=True)
class ReportTable:
    title: str
    frame: pd.DataFrame  # display strings (protected)
    note: str
    key: str


@dataclass(frozen=True)
class MeansContent:
    title: str
    sentences: list[str]
    tables: list[ReportTable]


def tables_for_year(settings: Settings, year: int):  # noqa: ANN201 - MeansTables | None
    """The means tables with the evaluations of ``year`` (data up to 31 December); None when there is nothing."""
    from observatory.actions import evaluations_for_year
    from observatory.means import service

    try:
        evaluations = evaluations_for_year(settings, year)
    except Exception:  # noqa: BLE001 - no snapshot or an invalid plan: costs then say « pas de conclusion »
        evaluations = pd.DataFrame(columns=["action_id", "verdict_code", "verdict"])
    tables = service.build_tables(settings, evaluations=evaluations)
    return None if tables.empty else tables


def _total_sentence(row: dict | None, place: str, year: int) -> str:
    if row is None:
        return f"Aucun moyen n'a été déclaré pour {place} en {year}."
    parts = []
    if row["staff_hours"]:
        parts.append(f"{labels.fmt_int(row['staff_hours'])} heures d'agents ({labels.fmt_number(row['staff_hours_per_1000'], 1)} pour 1 000 habitants)")
    if row["patrols"]:
        parts.append(f"{labels.fmt_int(row['patrols'])} patrouilles")
    if row["cameras_in_service"]:
        parts.append(f"{labels.fmt_int(row['cameras_in_service'])} caméras en service")
    if row[ind.BUDGET_TOTAL]:
        parts.append(f"{labels.fmt_int(row[ind.BUDGET_TOTAL])} € de budget ({labels.fmt_int(row[f'{ind.BUDGET_TOTAL}_per_1000'])} € pour 1 000 habitants)")
    if not parts:
        return f"Aucun moyen chiffré n'a été déclaré pour {place} en {year}."
    per_fact = row.get("staff_hours_per_fact")
    tail = "" if per_fact is None or (isinstance(per_fact, float) and math.isnan(per_fact)) else (
        f", soit {labels.fmt_number(per_fact, 1)} heures d'agents par fait enregistré")
    return f"Moyens déclarés pour {place} en {year} : {', '.join(parts)}{tail}."


def means_content(tables, year: int, arrondissement: str | None, min_count: int) -> MeansContent | None:  # noqa: ANN001 - MeansTables
    """Sentences and tables of the section; None when neither means nor response data touch ``year``."""
    if tables is None or year not in tables.years:
        return None
    code = arrondissement or schema.CITY_CODE
    place = labels.arrondissement_label(code)
    by_arr = tables.by_arrondissement
    mine = by_arr[(by_arr["year"] == year) & (by_arr["arrondissement"] == code)] if not by_arr.empty else by_arr
    sentences = [_total_sentence(mine.iloc[0].to_dict() if len(mine) else None, place, year)]
    out: list[ReportTable] = []
    arr_table = views.arrondissement_table(tables, year)
    if not arr_table.empty:
        if arrondissement:
            arr_table = arr_table[arr_table["Territoire"].isin([place, labels.arrondissement_label(schema.CITY_CODE)])]
        out.append(ReportTable(f"Moyens engagés en {year} : pour 1 000 habitants et par fait enregistré", arr_table.reset_index(drop=True),
                               "Moyens déclarés au registre des moyens, répartis sur l'année au prorata des jours ; populations légales INSEE.", "moyens-arrondissements"))
    actions = views.action_table(tables)
    if arrondissement and not actions.empty:
        actions = actions[actions["Territoire"] == place]
    if not actions.empty:
        estimated = tables.per_action.get("status", pd.Series(dtype=object)).eq("estimate").sum()
        sentences.append(
            f"{labels.fmt_int(estimated)} action(s) ont un coût par fait évité : il n'est calculé que lorsque l'évaluation conclut à une "
            "baisse significative ; sinon le tableau dit pourquoi il n'y en a pas." if estimated else
            "Aucune action n'a de coût par fait évité : aucune évaluation ne conclut à une baisse significative attribuable à l'action, "
            "et un coût calculé sur un effet non démontré serait trompeur.")
        out.append(ReportTable("Moyens par action et coût par fait évité", actions.reset_index(drop=True),
                               f"Évaluations avec les données arrêtées au 31/12/{year}, comme au chapitre des actions.", "moyens-actions"))
    response = views.response_table(tables, year, arrondissement, min_count, False, facts=True)
    if not response.empty:
        out.append(ReportTable(f"Réponse pénale de proximité (MJD) en {year}", response,
                               "Mesures de la Maison de Justice et du Droit pour 100 faits enregistrés par les polices dans les catégories "
                               "concernées ; intervalle de Poisson exact à 95 % ; années complètes seulement.", "moyens-reponse"))
    return MeansContent("Déclinaison des moyens", sentences, out)
