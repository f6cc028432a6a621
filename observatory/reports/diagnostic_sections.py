"""The chapters of the yearly diagnostic that stand on their own: one page per arrondissement, the zones, data
quality, the methods, the residents' survey and the means engaged (``diagnostic.build_diagnostic`` assembles them)."""

from __future__ import annotations

import math
from datetime import date

import pandas as pd

from observatory import labels, schema
from observatory.analytics.exposure import year_exposure
from observatory.reports import narrative, protection
from observatory.reports.diagnostic_model import UNRELIABLE_ANY, UNRELIABLE_PREVIOUS, ZONE_KINDS_IN_REPORT, DiagnosticInputs, Section, _Numbering
from observatory.reports.diagnostic_tables import _ABSENT, _ABSENT_TYPES, _change_of, _place, compare, comparison_table
from observatory.reports.protection import cell_text, protect_table
from observatory.reports.protection import hidden as _hidden
from observatory.reports.verdicts import lookup


def arrondissement_pages(arr_prot: pd.DataFrame, all_counts: pd.DataFrame, verdicts: pd.DataFrame, year: int, prev: int,
                         min_count: int) -> list[Section]:
    """The city bilan's page per arrondissement: its total, its change and its five largest significant categories."""
    out = []
    for _, r in arr_prot.iterrows():
        code = r["arrondissement"]
        name = labels.arrondissement_label(code)
        sec = Section(title=name, key=f"arr-{code}")
        sec.sentences.append(
            narrative.total_sentence(name, year, int(r["current"]), _hidden(r["current_status"]), min_count, r["current_status"] != protection.PRIMARY)
        )
        sec.sentences.append(narrative.change_sentence(_change_of("Faits enregistrés", r, str(prev), f"Les faits enregistrés à {name}")))
        sub = all_counts[all_counts["arrondissement"] == code]
        sub_cmp = compare(sub, ["category"], year, prev, lookup(verdicts, code, "category"))
        sub_cmp["family"] = [schema.category_family(c) for c in sub_cmp["category"]]
        # Grouped by family like the theme tables (their totals are the published lines); the sentences cite
        # only categories publishable for this arrondissement.
        sub_prot = protect_table(sub_cmp, ["current", "previous"], min_count, with_total=True, group_by="family", geography=code)
        sig = sub_prot[sub_prot["significant"] & ~sub_prot["current_status"].map(_hidden) & ~sub_prot["previous_status"].map(_hidden)]
        # The five largest significant changes: an arrondissement page is read, not searched.
        sig = sig.assign(_abs=sig["diff"].abs()).sort_values(["_abs", "category"], ascending=[False, True]).head(5)
        for _, s in sig.iterrows():
            sec.sentences.append(narrative.change_sentence(_change_of(labels.category_label(s["category"]), s, str(prev))))
        if sig.empty:
            sec.sentences.append("Aucune catégorie n'y évolue de façon significative.")
        out.append(sec)
    return out


def zone_sections_of(inputs: DiagnosticInputs, zone_counts: pd.DataFrame, verdicts: pd.DataFrame, geo: str, year: int,
                     min_count: int, arrondissement: str | None, num: _Numbering) -> list[Section]:
    """Hypercentre, pools and QPV: one table per kind of zone, year against the previous one (no total: zones overlap)."""
    out = []
    prev = year - 1
    place = _place(arrondissement)
    zmeta = inputs.zones.set_index("zone_id")
    kind_titles = {"hypercentre": "Hypercentre", "piscine": "Piscines municipales", "qpv": "Quartiers prioritaires (QPV)"}
    for kind in ZONE_KINDS_IN_REPORT:
        ids = [z for z in inputs.zones.loc[inputs.zones["kind"] == kind, "zone_id"]]
        zc = zone_counts[zone_counts["zone_id"].isin(ids) & zone_counts["year"].isin([year, prev])]
        if arrondissement:
            ids = sorted(set(zc["zone_id"]))
        if not ids:
            continue
        z_cmp = compare(zc, ["zone_id"], year, prev, lookup(verdicts, geo, "zone"))
        z_cmp = pd.DataFrame({"zone_id": ids}).merge(z_cmp, how="left").fillna(_ABSENT)
        z_cmp = z_cmp.astype(_ABSENT_TYPES)
        z_prot, z_display, z_data = comparison_table(
            z_cmp, "zone_id", "Zone", lambda z: str(zmeta.at[z, "name"]) if z in zmeta.index else z, year, prev, min_count,
            with_total=False,  # an incident can fall in two zones: a sum would double count
        )
        sec = Section(title=kind_titles[kind], key=f"zone-{kind}")
        for _, r in z_prot.iterrows():
            name = str(zmeta.at[r["zone_id"], "name"]) if r["zone_id"] in zmeta.index else r["zone_id"]
            sec.sentences.append(narrative.change_sentence(_change_of(name, r, str(prev), f"Les faits enregistrés dans la zone « {name} »")))
        # A rate per visitor with the visitors published gives the count back: only beside a zone whose two years
        # are published cells (the publication may hide a zone to protect another one).
        shown = set(z_prot.loc[~z_prot["current_status"].map(_hidden) & ~z_prot["previous_status"].map(_hidden), "zone_id"])
        sec.sentences.extend(text for zone, text in (inputs.exposure or {}).get(kind, []) if zone in ids and zone in shown)
        if kind == "piscine":
            sec.sentences.append("Les piscines d'été ne sont ouvertes que de juin à août : les comparaisons se font d'une saison à l'autre.")
        if arrondissement:
            sec.sentences.append(f"Seuls les faits situés dans {place} sont comptés ici.")
        sec.tables.append(num.table(f"{kind_titles[kind]} : faits enregistrés, {prev} et {year}", z_display, z_data, key=f"zone-{kind}"))
        out.append(sec)
    return out


def quality_section(inputs: DiagnosticInputs, counts: pd.DataFrame, year: int, min_count: int, arrondissement: str | None,
                    total_text: str | None, num: _Numbering) -> Section:
    """Location precision, source coverage, « non classé », revisions, quarantine and refused files of the year."""
    quality = Section(title="Qualité des données", key="qualite")
    if inputs.location is not None and len(inputs.location):
        loc = inputs.location[inputs.location["year"] == year].groupby("location_quality")["n"].sum()
        tot = int(loc.sum())
        rows = [
            {"Localisation": labels.LOCATION_QUALITY_LABELS.get(q, q), "Part": labels.fmt_pct(int(loc.get(q, 0)) / tot if tot else math.nan, 1, signed=False)}
            for q in schema.LOCATION_QUALITIES
        ]
        located = (int(loc.get("point", 0)) + int(loc.get("address", 0))) / tot if tot else math.nan
        quality.sentences.append(f"Part des faits localisés précisément (coordonnées ou adresse) en {year} : {labels.fmt_pct(located, 1, signed=False)}.")
        frame = pd.DataFrame(rows)
        quality.tables.append(num.table(f"Précision de la localisation des faits de {year} (toute la ville)", frame, frame, key="localisation"))
    if inputs.sources is not None and len(inputs.sources):
        src = inputs.sources
        src_prot = protect_table(src[["n"]].astype("int64"), ["n"], min_count)
        frame = pd.DataFrame(
            {
                "Source": [labels.source_label(s) for s in src["source"]],
                "Premier fait": [labels.fmt_date(d) for d in src["first"]],
                "Dernier fait": [labels.fmt_date(d) for d in src["last"]],
                "Faits (tout l'historique)": [cell_text(v, st, min_count) for v, st in zip(src_prot["n"], src_prot["n_status"])],
            }
        )
        quality.tables.append(num.table("Couverture des sources dans l'instantané", frame, frame, key="sources"))
    non_classe = int(counts.loc[(counts["year"] == year) & (counts["category"] == schema.NON_CLASSE), "n"].sum())
    # The place's « non classé » cell of the year: the publication's status, like in the theme tables.
    nc = protect_table(pd.DataFrame({"category": [schema.NON_CLASSE], "current": [non_classe]}), ["current"], min_count,
                       with_total=False, geography=arrondissement).iloc[0]
    quality.sentences.append(
        f"Faits au libellé non reconnu (« non classé ») en {year} : "
        + cell_text(non_classe, nc["current_status"], min_count)
        + (f" sur {total_text}." if total_text else ".")
    )
    if inputs.revisions is not None:
        quality.sentences.append(f"Révisions enregistrées (faits remplacés par un extrait plus récent) : {labels.fmt_int(inputs.revisions)}.")
    if inputs.quarantined is not None:
        quality.sentences.append(
            f"Lignes mises en quarantaine (rejetées avec leur motif) dans les fichiers intégrés à l'instantané : {labels.fmt_int(inputs.quarantined)}."
        )
    if inputs.refused_files:
        names = sorted(inputs.refused_files)
        shown = ", ".join(names[:10]) + (f" et {len(names) - 10} autre(s)" if len(names) > 10 else "")
        quality.sentences.append(
            f"Fichiers refusés en entier (rien n'en est publié, leurs lignes ne sont pas comptées ci-dessus) : {labels.fmt_int(len(names))} — {shown}."
        )
    return quality


def methods_rows(inputs: DiagnosticInputs, vintage: int | None, min_count: int) -> list[tuple[str, str]]:
    """The « Méthodes » chapter: (heading, text) rows."""
    return [
        ("Sources", "Extraits des partenaires de l'observatoire intégrés dans l'instantané " + (inputs.snapshot_id or "–")
         + (f" du {labels.fmt_datetime(inputs.snapshot_date)}" if inputs.snapshot_date else "") + "."),
        ("Comptage", "Un fait enregistré compte pour le nombre de faits qu'il porte ; un fait situé dans plusieurs zones compte dans chacune, "
         "c'est pourquoi les tableaux de zones n'ont pas de total ; les catégories sensibles n'y sont pas comptées, ni les faits rattachés à une zone par un simple nom de quartier (sans point ni adresse). Un fait sans localisation compte dans son arrondissement s'il est connu et dans le total de la ville."),
        ("Territoire", inputs.boundary_source or "–"),
        ("Population", labels.population_note(vintage) if vintage else "–"),
        ("Règle de confidentialité", f"Les nombres de 1 à {min_count - 1} sont remplacés par « < {min_count} ». Tous les chiffres d'une année "
         "qu'un élu peut obtenir (bilans de la ville et des arrondissements, tableaux des zones, séries mensuelles par famille, carte, exports) forment "
         "une seule publication, protégée d'un bloc : d'autres cases sont masquées aussi (« s ») de sorte qu'aucune combinaison "
         "des chiffres publiés, ni d'un tableau à l'autre, ne permette de retrouver une case masquée ni de l'encadrer plus "
         f"étroitement que « < {min_count} » (vérifié par programmation linéaire : « observatory privacy audit »). "
         "Les catégories sensibles (violences sexuelles, violences intrafamiliales) ne sont publiées qu'à l'échelle de la ville : elles ne sont comptées ni dans les arrondissements ni dans les zones. "
         "Les effectifs des évaluations d'actions (fenêtres avant et après) ne font pas partie de cette publication : la version des élus ne donne que le verdict. "
         "Les évolutions d'une ligne masquée ne sont pas publiées." + f" Mise en œuvre : la même {protection.rule_name(min_count)} pour toutes les sorties publiques (page, rapport, exports)."),
        ("Test statistique", "Comparaison de deux années, par jour (365 ou 366 jours) : conditionnellement au total des deux années, "
         "le compte de l'année suit une loi binomiale dont la variance est multipliée par la dispersion φ de la série (test "
         "quasi-Poisson). φ est estimée sur l'historique mensuel de la ligne (jusqu'à cinq ans, mois sans données exclus) par un "
         "modèle log-linéaire avec un niveau par année et un par mois de l'année (χ² de Pearson sur ses degrés de liberté, au "
         "moins 1) : les comptes de la délinquance varient plus que des faits indépendants (faits en série, pratiques "
         "d'enregistrement), ce que le test exact de Poisson ignorerait. Lorsque φ ne peut pas être estimée (moins de "
         "dix degrés de liberté ou moins de deux faits par mois en moyenne), le test exact de Poisson est gardé ; les exports "
         "disent quel test a servi pour chaque ligne et la dispersion estimée. Toutes les évolutions publiées pour l'année "
         "(ville, familles, catégories, arrondissements, zones, dans tous les bilans) forment un seul ensemble de tests : "
         "au seuil de 5 %, environ une ligne sur vingt paraîtrait significative par le seul hasard si rien n'avait changé ; "
         "les p-valeurs sont donc corrigées ensemble par la procédure de Benjamini–Hochberg, et une même ligne porte le même "
         "verdict dans le bilan de la ville et dans celui de l'arrondissement. Une évolution est dite significative si la "
         "p-valeur corrigée est inférieure à 0,05. Aucune évolution n'est calculée lorsqu'un partenaire ayant déjà transmis "
         "des faits de la ligne n'a pas de données pour un des mois comparés, ni pour la première année de données "
         "(« pas de comparaison possible »). Une évolution non significative signifie seulement que les données ne permettent "
         "pas de conclure. Une évolution en pourcentage est jugée peu fiable "
         f"si l'année précédente compte moins de {UNRELIABLE_PREVIOUS} faits ou l'année courante moins de {UNRELIABLE_ANY} : "
         "les phrases ne citent alors pas de pourcentage. Détails : docs/methods.md."),
        ("Quarantaine", "Le nombre de lignes en quarantaine est celui que donne la commande « observatory quarantine » pour cet instantané : "
         "les lignes écartées, avec leur motif, des fichiers effectivement intégrés. Un fichier refusé en entier (format, encodage, "
         "coordonnées hors de Lyon…) n'est pas intégré : il est listé à part, une seule fois même s'il a été soumis plusieurs fois, "
         "et ses lignes ne sont pas comptées. Les révisions sont comptées sur les mêmes fichiers intégrés."),
        ("Reproductibilité", "Deux éditions produites sur le même instantané donnent les mêmes chiffres et les mêmes figures ; seule la date d'édition change."),
    ]


def year_span(inputs: DiagnosticInputs, year: int) -> tuple[date, date, float]:
    """The days of ``year`` with data in the snapshot (every partner) and their exposure in years."""
    src = inputs.sources
    if src is None or not len(src):
        return year_exposure(None, None, year)
    return year_exposure(pd.to_datetime(src["first"]).min().date(), pd.to_datetime(src["last"]).max().date(), year)


def residents_section(tabs, year: int, arrondissement: str | None, num: _Numbering) -> Section | None:  # noqa: ANN001 - SurveyTables
    from observatory.survey.report import residents_content

    content = residents_content(tabs, year, arrondissement)
    if content is None:
        return None
    table = num.table("Ce que disent les habitants : estimations de l'enquête", content.frame, content.data, content.note, key="habitants")
    return Section(title=content.title, sentences=content.sentences, tables=[table], key="habitants")


def means_section(tabs, year: int, arrondissement: str | None, min_count: int, num: _Numbering) -> Section | None:  # noqa: ANN001 - MeansTables
    from observatory.means.report import means_content

    content = means_content(tabs, year, arrondissement, min_count)
    if content is None:
        return None
    tables = [num.table(t.title, t.frame, t.frame, t.note, key=t.key) for t in content.tables]
    return Section(title=content.title, sentences=content.sentences, tables=tables, key="moyens")
