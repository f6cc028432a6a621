"""Read survey microdata (CSV, XLSX, SPSS ``.sav``, Stata ``.dta``) into the canonical respondent table.

The canonical table has one row per respondent: ``respondent_id``, ``wave``, ``weight``, ``stratum``, ``psu``,
``arrondissement`` (INSEE code or ""), ``qpv`` and ``hypercentre`` (booleans), ``quarter``, and one column per
indicator (``ind_<code>``: 1/0 for proportions, the number for means, NaN when the answer is missing or the
question was not asked). A file with any invalid row is refused as a whole — dropping respondents would bias
weighted estimates — with every problem named by file, row and column.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from observatory import schema
from observatory.survey.profile import SurveyProfile, _code_text

INDICATOR_PREFIX = "ind_"
MAX_LISTED = 20


class SurveyInputError(ValueError):
    """A survey file that cannot be imported; the message names the file, the rows and the columns."""


def indicator_column(code: str) -> str:
    return INDICATOR_PREFIX + code


def read_raw(path: Path, profile: SurveyProfile) -> tuple[pd.DataFrame, int]:
    """The file as text columns, and the line/row number of its first data row (1-based, header counted)."""
    fmt = profile.file_format(path)
    name = path.name
    try:
        if fmt == "csv":
            frame = pd.read_csv(path, sep=profile.delimiter, encoding=profile.encoding, dtype=str, keep_default_na=False)
            return frame, 2
        if fmt == "xlsx":
            frame = pd.read_excel(path, sheet_name=profile.sheet or 0, dtype=str, engine="openpyxl").fillna("")
            return frame, 2
        import pyreadstat

        reader = pyreadstat.read_sav if fmt == "sav" else pyreadstat.read_dta
        frame, _meta = reader(str(path), apply_value_formats=False)
        return frame.astype(object).where(frame.notna(), "").map(_code_text), 1
    except FileNotFoundError:
        raise SurveyInputError(f"{name} : fichier introuvable") from None
    except UnicodeDecodeError as exc:
        raise SurveyInputError(f"{name} : encodage {profile.encoding} incorrect (octet {exc.start}) — corrigez [file] encoding du profil") from None
    except ValueError as exc:
        if fmt == "xlsx" and "Worksheet" in str(exc):
            raise SurveyInputError(f"{name} : feuille « {profile.sheet} » absente du classeur") from None
        raise SurveyInputError(f"{name} : fichier {fmt.upper()} illisible ({exc})") from None
    except Exception as exc:  # noqa: BLE001 - every reader's own error becomes one French message naming the file
        raise SurveyInputError(f"{name} : fichier {fmt.upper()} illisible ({type(exc).__name__} : {exc})") from None


def _numbers(values: pd.Series, decimal: str) -> pd.Series:
    text = values.astype(str).str.strip()
    if decimal != ".":
        text = text.str.replace(decimal, ".", regex=False)
    return pd.to_numeric(text.replace("", np.nan), errors="coerce")


def _flag(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    text = values.astype(str).str.strip().str.lower()
    yes = text.isin(["1", "1.0", "oui", "o", "vrai", "true", "yes"])
    no = text.isin(["0", "0.0", "non", "n", "faux", "false", "no", ""])
    return yes, ~(yes | no)


def _arrondissement(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    text = values.astype(str).str.strip().str.replace(r"\.0$", "", regex=True)
    short = text.where(~text.str.fullmatch(r"[1-9]"), "6938" + text)
    bad = ~(short.isin(schema.ARRONDISSEMENT_CODES) | (short == ""))
    return short.where(~bad, ""), bad


def to_respondents(raw: pd.DataFrame, profile: SurveyProfile, file_name: str, first_row: int) -> pd.DataFrame:
    """Map and validate; :class:`SurveyInputError` lists every problem (file, row, column) when any row is invalid."""
    raw = raw.rename(columns=lambda c: str(c).strip())
    missing = [c for c in profile.columns if c not in raw.columns]
    if missing:
        raise SurveyInputError(
            f"{file_name} : colonnes absentes : {', '.join(missing)} (colonnes du fichier : {', '.join(map(str, raw.columns[:30]))})"
        )
    rows = pd.Series(np.arange(len(raw)) + first_row, index=raw.index)
    problems: list[tuple[int, str, str]] = []

    def flag_rows(mask: pd.Series, column: str, message) -> None:  # noqa: ANN001 - message: str or callable(value)
        for idx in np.flatnonzero(mask.to_numpy()):
            value = raw[column].iloc[idx]
            problems.append((int(rows.iloc[idx]), column, message(value) if callable(message) else message))

    out = pd.DataFrame(index=raw.index)
    ids = raw[profile.id].astype(str).str.strip()
    flag_rows(ids == "", profile.id, "identifiant de répondant manquant")
    waves_text = raw[profile.wave].astype(str).str.strip().str.replace(r"\.0$", "", regex=True)
    dup = (ids + "\x1f" + waves_text).duplicated(keep="first") & (ids != "")
    flag_rows(dup, profile.id, lambda v: f"répondant « {v} » en double dans la même vague")
    wave = pd.to_numeric(waves_text, errors="coerce")
    flag_rows(wave.isna() | (wave < 1990) | (wave > 2100), profile.wave, lambda v: f"vague « {v} » invalide (attendu une année, par exemple 2023)")
    weight = _numbers(raw[profile.weight], profile.decimal)
    flag_rows(weight.isna(), profile.weight, lambda v: f"poids « {v} » illisible (nombre attendu)")
    flag_rows(weight.notna() & (weight <= 0), profile.weight, lambda v: f"poids « {v} » nul ou négatif")
    out["respondent_id"] = ids
    out["wave"] = wave.fillna(0).astype("int64")
    out["weight"] = weight
    out["stratum"] = raw[profile.stratum].astype(str).str.strip() if profile.stratum else ""
    out["psu"] = raw[profile.psu].astype(str).str.strip() if profile.psu else ids
    if profile.stratum:
        flag_rows(out["stratum"] == "", profile.stratum, "strate manquante")
    if profile.psu:
        flag_rows(out["psu"] == "", profile.psu, "unité primaire (grappe) manquante")
    if profile.arrondissement:
        arr, bad = _arrondissement(raw[profile.arrondissement])
        flag_rows(bad, profile.arrondissement, lambda v: f"arrondissement « {v} » inconnu (attendu 1 à 9 ou 69381 à 69389)")
        out["arrondissement"] = arr
    else:
        out["arrondissement"] = ""
    for key in ("qpv", "hypercentre"):
        column = getattr(profile, key)
        if column:
            yes, bad = _flag(raw[column])
            flag_rows(bad, column, lambda v: f"valeur « {v} » : 1/0 ou oui/non attendu")
            out[key] = yes.to_numpy()
        else:
            out[key] = False
    out["quarter"] = raw[profile.quarter].astype(str).str.strip() if profile.quarter else ""

    for ind in profile.indicators:
        answers = raw[ind.question].map(_code_text)
        blank = answers == ""
        non_answer = answers.isin(ind.missing) | blank
        if ind.kind == "proportion":
            if ind.valid:
                value = answers.isin(ind.yes).astype(float).where(answers.isin(ind.valid), np.nan)
                unknown = ~answers.isin(ind.valid) & ~non_answer
                flag_rows(unknown, ind.question, lambda v, ind=ind: (
                    f"code de réponse « {v} » inconnu (valides : {', '.join(ind.valid)} ; non-réponses : {', '.join(ind.missing) or 'aucune'})"))
            else:
                value = answers.isin(ind.yes).astype(float).where(~non_answer, np.nan)
        else:
            value = _numbers(answers, profile.decimal).where(~non_answer, np.nan)
            unreadable = value.isna() & ~non_answer
            flag_rows(unreadable, ind.question, lambda v: f"réponse « {v} » illisible (nombre attendu)")
            if ind.valid:
                outside = value.notna() & ~answers.isin(ind.valid)
                flag_rows(outside, ind.question, lambda v, ind=ind: f"réponse « {v} » hors des valeurs valides ({', '.join(ind.valid)})")
        out[indicator_column(ind.code)] = value.astype(float)
    # Questions asked of a sub-population (among): outside it the answer is not asked, whatever the file says.
    for ind in profile.indicators:
        if ind.among:
            parent = out[indicator_column(ind.among)]
            out[indicator_column(ind.code)] = out[indicator_column(ind.code)].where(parent == 1, np.nan)

    if problems:
        problems.sort()
        listed = "\n".join(f"  ligne {row}, colonne « {col} » : {msg}" for row, col, msg in problems[:MAX_LISTED])
        more = f"\n  … et {len(problems) - MAX_LISTED} autres problèmes" if len(problems) > MAX_LISTED else ""
        raise SurveyInputError(
            f"{file_name} : {len(problems)} problème(s), fichier refusé (écarter des répondants fausserait les pondérations) :\n{listed}{more}"
        )
    return out.reset_index(drop=True)


def read_survey_file(path: Path, profile: SurveyProfile) -> pd.DataFrame:
    raw, first = read_raw(path, profile)
    if raw.empty:
        raise SurveyInputError(f"{path.name} : aucun répondant dans le fichier")
    return to_respondents(raw, profile, path.name, first)
