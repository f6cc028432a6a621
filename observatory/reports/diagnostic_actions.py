"""The action plan's evaluations as the yearly diagnostic prints them (no counts below the threshold).
"""

from __future__ import annotations

import math
import re

import pandas as pd

from observatory import labels

# Loading --------------------------------------------------------------------------------------------------------
ACTIONS_NOTES = [
    "Chaque action active pendant l'année est évaluée avec les données arrêtées au 31 décembre : faits dans son périmètre "
    "et dans une zone tampon de 300 m, comparés à une zone témoin du même arrondissement, sur des fenêtres égales avant et après son début.",
    "WDD (différence pondérée avec déplacement, Wheeler et Ratcliffe 2018) : écart entre les faits constatés après l'action, "
    "périmètre et zone tampon ensemble, et ceux que prévoit l'évolution de la zone témoin ; négatif = moins de faits que prévu. "
    "Intervalle de confiance à 95 % entre crochets.",
    "Différence de différences : évolution du seul périmètre, nette de celle de la zone témoin, en pourcentage (intervalle à 95 %).",
    "Quel résultat retenir : le verdict suit le test WDD, qui tient compte d'un éventuel déplacement des faits vers les rues voisines. "
    "La différence de différences peut être significative quand le WDD ne l'est pas : le périmètre a changé, mais la zone tampon a pu "
    "évoluer en sens inverse, et le WDD additionne les incertitudes de trois zones. Le verdict le dit alors explicitement ; "
    "on ne conclut pas à un effet de l'action sur la seule différence de différences. Une étude observationnelle ne prouve pas la causalité.",
    "« – » : pas de chiffre publié, faute de conclusion possible (action trop récente, fenêtres trop courtes ou effectifs trop faibles).",
]
WDD_COLUMN = "WDD [IC\u00a095\u00a0%]"
DID_COLUMN = "Différence de différences [IC\u00a095\u00a0%]"
_FACTS_BEFORE_AFTER = re.compile(r"(\d[\d\u00a0\u202f]*) faits avant, (\d[\d\u00a0\u202f]*) après")


def _mask_small_counts(text: str, min_count: int) -> str:
    """A verdict quoting "3 faits avant, 12 après" must not print a count from 1 to min_count − 1 (public report)."""
    def cell(digits: str) -> str:
        n = int(re.sub(r"\D", "", digits))
        return f"< {min_count}" if 0 < n < min_count else digits

    return _FACTS_BEFORE_AFTER.sub(lambda m: f"{cell(m.group(1))} faits avant, {cell(m.group(2))} après", text)


def _finite(value) -> bool:  # noqa: ANN001
    try:
        return value is not None and not pd.isna(value) and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def actions_display(evaluations: pd.DataFrame, min_count: int = 5) -> pd.DataFrame:
    """The plan's evaluations as the report prints them: what, where, when, verdict, WDD and difference of differences.

    No counts in the perimeter (they can be small); the verdict's own "N faits avant, M après" is masked below the
    threshold. An action whose windows are unusable (too recent, no data before it) gets "–": a WDD of 0 ± 0 from
    empty windows would read as a measured null effect.
    """
    from observatory.actions.evaluation import MIN_WINDOW_MONTHS

    def col(name: str) -> pd.Series:
        return evaluations[name] if name in evaluations else pd.Series([None] * len(evaluations), index=evaluations.index)

    period = [
        f"{labels.fmt_date(s) if pd.notna(s) else '–'} → {labels.fmt_date(e) if e is not None and pd.notna(e) else 'en cours'}"
        for s, e in zip(col("start"), col("end"))
    ]
    wdd, did = [], []
    nb = "\u00a0"  # an interval never breaks inside; the cell may break between the value and its interval
    for months, code, w, lo, hi, r, rlo, rhi in zip(col("window_months"), col("verdict_code"), col("wdd"), col("ci_low"), col("ci_high"),
                                                     col("did_ratio"), col("did_ci_low"), col("did_ci_high")):
        # "Pas de conclusion possible" (windows too short, counts too small): figures would invite the conclusion
        # the verdict refuses, and they rest on small counts; "–" instead, as for unusable windows.
        usable = _finite(months) and int(months) >= MIN_WINDOW_MONTHS and code != "no_conclusion"
        if usable and _finite(w):
            interval = f" [{labels.fmt_signed(lo, 0)}{nb};{nb}{labels.fmt_signed(hi, 0)}]" if _finite(lo) and _finite(hi) else ""
            wdd.append(labels.fmt_signed(w, 0) + interval)
        else:
            wdd.append("–")
        if usable and _finite(r):
            interval = f" [{labels.fmt_pct(rlo - 1)}{nb};{nb}{labels.fmt_pct(rhi - 1)}]" if _finite(rlo) and _finite(rhi) else ""
            did.append(labels.fmt_pct(r - 1) + interval)
        else:
            did.append("–")
    out = pd.DataFrame(
        {
            "Action": col("title").fillna("").astype(str).to_numpy(),
            "Arrondissement": [labels.arrondissement_label(a) if a else "" for a in col("arrondissement")],
            "Période": period,
            "Catégories": [", ".join(labels.category_label(c) for c in (v if isinstance(v, (list, tuple)) else str(v or "").split("|")) if c)
                           for v in col("categories")],
            "Verdict": [_mask_small_counts(str(v), min_count) if v is not None and not pd.isna(v) else "" for v in col("verdict")],
            WDD_COLUMN: wdd,
            DID_COLUMN: did,
        }
    )
    if "objective_text" in evaluations and evaluations["objective_text"].fillna("").astype(str).str.strip().any():
        out["Objectif"] = evaluations["objective_text"].fillna("").astype(str).to_numpy()
    return out.reset_index(drop=True)


# What élus read (issue 15) ----------------------------------------------------------------------------------------
# The evaluation windows (perimeter, buffer and control, before and after an action start that falls anywhere in
# the year) are counts of small areas over periods that straddle two years: they are not cells of the year's
# protected publication, so élus get neither the counts nor the estimates computed from them (a WDD is a count,
# a difference of differences with its interval gives the counts back). They read the conclusion.
ELU_ACTIONS_NOTES = [
    ACTIONS_NOTES[0],
    "Le verdict résume deux tests : l'évolution du périmètre nette de celle de la zone témoin, et le bilan net zone tampon "
    "comprise (qui tient compte d'un éventuel déplacement des faits vers les rues voisines). Une étude observationnelle ne "
    "prouve pas la causalité.",
    "Les effectifs des fenêtres et les estimations chiffrées de l'effet sont réservés aux analystes : "
    "ce sont des comptes de petits périmètres, hors de la publication protégée de l'année. « Pas de conclusion possible : "
    "effectif trop faible » signale une action dont les comptes ne permettent aucune conclusion.",
]
TOO_FEW = "effectif trop faible"


def elu_verdict(text: str) -> str:
    """An action's verdict as élus read it: its conclusion, without the counts and figures the sentence quotes.

    Verdicts start with their conclusion, before the first « : » (``actions.evaluation.verdict``); a « pas de
    conclusion » keeps its reason unless the reason is the counts (which it quotes): « effectif trop faible ».
    """
    text = str(text or "").strip()
    if not text:
        return ""
    head, sep, rest = text.partition(" : ")
    if not sep:
        return text if not re.search(r"\d", text) else head.split(" (")[0]
    if "effectifs trop faibles" in rest or "faits avant" in rest:
        return f"{head} : {TOO_FEW}."
    if head.startswith("Pas de conclusion possible") and "faits" not in rest and "WDD" not in rest:
        return text  # windows too short, no control area: no count in the reason
    return f"{head}."


def elu_actions_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """:func:`actions_display`'s table for élus: no WDD or difference-of-differences column, verdicts without counts."""
    out = frame.drop(columns=[c for c in (WDD_COLUMN, DID_COLUMN) if c in frame.columns]).copy()
    if "Verdict" in out:
        out["Verdict"] = [elu_verdict(v) for v in out["Verdict"]]
    return out.reset_index(drop=True)


COST_PER_AVOIDED = "Coût par fait évité"  # means.views.action_table: budget / (−WDD), i.e. the WDD given back
ELU_MEANS_NOTE = ("Le coût par fait évité et les mesures pour 100 faits sont réservés aux analystes : ils se calculent sur des "
                  "effectifs (évaluations d'actions, faits des catégories concernées) qui ne font pas partie de la publication "
                  "protégée de l'année.")


def for_elus(d):  # noqa: ANN001, ANN201 - Diagnostic → Diagnostic
    """The diagnostic as élus get it (page, PDF, downloads): the actions chapter without counts or estimates, and
    the means chapter without the cost per incident avoided (declared budget ÷ cost per avoided = the WDD).

    Pure and non-destructive: ``d`` (cached, shared with analysts) is left as it is.
    """
    import dataclasses

    swapped = {}

    def cut(tab, shape, title=None):  # noqa: ANN001, ANN202
        frame = shape(tab.frame)
        new = dataclasses.replace(tab, frame=frame, data=shape(tab.data) if tab.data is not None else frame,
                                  numeric=tuple(c for c in tab.numeric if c in frame.columns), title=title or tab.title)
        swapped[id(tab)] = new
        return new

    changes = {}
    if d.actions is not None and d.actions.tables:
        changes["actions"] = dataclasses.replace(d.actions, sentences=list(ELU_ACTIONS_NOTES),
                                                 tables=[cut(t, elu_actions_frame) for t in d.actions.tables])
    means = getattr(d, "means", None)
    # The MJD table's facts and rate per 100 facts give incident counts outside the publication back (measures ×
    # 100 ÷ rate): élus read the measures (observatory.means.views.ELU_FACTS_NOTE).
    from observatory.means.views import FACTS_COLUMNS

    def withheld(frame: pd.DataFrame) -> list[str]:
        return [c for c in frame.columns if COST_PER_AVOIDED.lower() in str(c).lower() or c in FACTS_COLUMNS]

    if means is not None and any(withheld(t.frame) for t in means.tables):
        def no_cost(frame: pd.DataFrame) -> pd.DataFrame:
            return frame.drop(columns=withheld(frame))

        sentences = [s for s in means.sentences if "fait évité" not in s] + [ELU_MEANS_NOTE]
        changes["means"] = dataclasses.replace(means, sentences=sentences, tables=[cut(t, no_cost, t.title.replace(" et coût par fait évité", "")) if withheld(t.frame) else t
                                                                                     for t in means.tables])
    if not changes:
        return d
    return dataclasses.replace(d, tables=[swapped.get(id(t), t) for t in d.tables], **changes)
