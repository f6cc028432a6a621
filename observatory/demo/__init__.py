"""The embedded default: realistic, fictitious partner extracts for Lyon, generated and ingested on first run.

``generate`` writes the six partners' extracts in their native formats (as the profiles in
``data/raw/sources/`` describe) month by month, never holding more than a month (a year for the yearly pool and
mediator logs) in memory. ``prepare_default`` generates the default demo (2019–2025, seed 42, scale 1) into
``data/raw/demo`` and ingests it through the ordinary ETL, one ``ingest`` call per partner. ``is_demo`` tells
the faces to say "Données de démonstration — fictives".

Determinism: the same (seed, years, scale) gives byte-identical files; every month has its own random stream
(seeded by seed, partner and month), so a shorter year range reproduces the same months. XLSX files have their
document properties and zip timestamps pinned (see ``writers``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import pandas as pd

from observatory.config import Settings
from observatory.labels import DEMO_NOTICE

DEFAULT_YEARS = (2019, 2025)
DEFAULT_SEED = 42
DEFAULT_SCALE = 1.0
MARKER_FILE = "DEMO.json"
ACTIONS_FILE = "actions.csv"

ProgressFn = Callable[[str], None]


@dataclass
class DemoResult:
    out_dir: Path
    seed: int
    years: tuple[int, int]
    scale: float
    files: list = field(default_factory=list)  # FileRecord
    actions_path: Path | None = None
    register_path: Path | None = None  # settings.raw_dir/actions/actions.csv when written (or already there)
    ingest_results: dict = field(default_factory=dict)  # source -> IngestResult

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)

    def files_of(self, source: str) -> list[Path]:
        return [self.out_dir / f.path for f in self.files if f.source == source]


def demo_dir(settings: Settings) -> Path:
    return settings.raw_dir / "demo"


def parse_years(text: str) -> tuple[int, int]:
    """'2019-2025' or '2023' → (first, last); ValueError with a French message otherwise."""
    parts = str(text).replace("–", "-").split("-")
    try:
        years = [int(p) for p in parts if p.strip()]
    except ValueError:
        raise ValueError(f"années invalides « {text} » : attendu par exemple 2019-2025") from None
    if len(years) == 1:
        years = years * 2
    if len(years) != 2 or years[0] > years[1] or not (2000 <= years[0] and years[1] <= 2100):
        raise ValueError(f"années invalides « {text} » : attendu par exemple 2019-2025")
    return years[0], years[1]


def generate(
    settings: Settings,
    out_dir: Path | None = None,
    years: tuple[int, int] = DEFAULT_YEARS,
    scale: float = DEFAULT_SCALE,
    seed: int = DEFAULT_SEED,
    sources: Iterable[str] | None = None,
    progress: ProgressFn | None = None,
) -> DemoResult:
    """Write the partners' extracts into ``out_dir`` (default ``data/raw/demo``) and the marker file."""
    from observatory.demo import actions as act
    from observatory.demo.model import Geography, to_l93
    from observatory.demo.partners import PARTNERS, sha256_of
    from observatory.territory import load_territory

    if scale <= 0:
        raise ValueError(f"échelle invalide {scale} : elle doit être positive")
    out_dir = Path(out_dir) if out_dir is not None else demo_dir(settings)
    out_dir.mkdir(parents=True, exist_ok=True)
    territory = load_territory(settings)
    geo = Geography(territory)
    cx, cy = to_l93([act.CAMERA_SITE[0]], [act.CAMERA_SITE[1]])
    geo.camera_xy = (float(cx[0]), float(cy[0]))
    pools = territory.zones.set_index("zone_id")
    pool_site = pools.loc[act.MEDIATION_POOL, "geometry"].centroid
    px, py = to_l93([pool_site.x], [pool_site.y])
    geo.mediation_pool_xy = (float(px[0]), float(py[0]))

    wanted = set(sources) if sources is not None else None
    result = DemoResult(out_dir=out_dir, seed=seed, years=tuple(years), scale=scale)
    months = [(y, m) for y in range(years[0], years[1] + 1) for m in range(1, 13)]
    for index, cls in enumerate(PARTNERS):
        if wanted is not None and cls.name not in wanted:
            continue
        partner = cls(settings, geo, scale)
        folder = out_dir / cls.name
        if progress:
            progress(f"{cls.name} : génération {years[0]}–{years[1]}")
        if cls.monthly:
            # The first extract has no previous month to repeat: repeating days of a year that is not generated
            # would leave a stub year (a few hundred incidents) at the start of every trend.
            prev = None
            for year, month in months:
                cur = partner.month_frame(seed, index, year, month)
                rng = np.random.default_rng([seed, index, year, month, 1])
                frame, repeated, requalified = partner.with_overlap(rng, prev, cur, year, month)
                name = partner.file_name(year, month)
                partner.write(frame, folder / name, year, month)
                result.files.append(_record(cls.name, out_dir, folder / name, frame, repeated, requalified, sha256_of))
                prev = cur
        else:
            for year in range(years[0], years[1] + 1):
                frames = [partner.month_frame(seed, index, year, m) for m in range(1, 13)]
                frame = pd.concat(frames, ignore_index=True)
                name = partner.file_name(year, 1)
                partner.write(frame, folder / name, year, 1)
                result.files.append(_record(cls.name, out_dir, folder / name, frame, 0, 0, sha256_of))
    result.actions_path = out_dir / ACTIONS_FILE
    result.actions_path.write_text(act.actions_csv(), encoding="utf-8")
    write_marker(result)
    return result


def _record(source, out_dir, path, frame, repeated, requalified, sha256_of):
    from observatory.demo.partners import ALL_DEFECTS, FileRecord

    codes = frame["defect"].to_numpy() if len(frame) else np.array([], dtype=object)
    defects = {k: int((codes == k).sum()) for k in ALL_DEFECTS if (codes == k).any()}
    return FileRecord(source=source, path=path.relative_to(out_dir).as_posix(), rows=len(frame), repeated=repeated,
                      requalified=requalified, defects=defects, sha256=sha256_of(path))


def write_marker(result: DemoResult) -> Path:
    """DEMO.json: what was generated, with which seed, years and scale (no timestamp: it is deterministic)."""
    marker = {
        "notice": DEMO_NOTICE,
        "seed": result.seed,
        "years": list(result.years),
        "scale": result.scale,
        "rows": result.rows,
        "actions": ACTIONS_FILE,
        "files": [f.as_dict() for f in result.files],
    }
    path = result.out_dir / MARKER_FILE
    path.write_text(json.dumps(marker, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return path


def read_marker(settings: Settings) -> dict | None:
    path = demo_dir(settings) / MARKER_FILE
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def install_register(settings: Settings, result: DemoResult) -> Path:
    """Copy the demo's action register to ``raw/actions/actions.csv`` unless a register is already there."""
    from observatory.demo.actions import actions_csv

    target = settings.raw_dir / "actions" / ACTIONS_FILE
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".csv.part")
        tmp.write_text(actions_csv(), encoding="utf-8")
        tmp.replace(target)
    result.register_path = target
    from observatory.demo.means import install_means_register

    install_means_register(settings, result.years, result.seed)
    return target


def ingest_demo(settings: Settings, result: DemoResult, progress: ProgressFn | None = None) -> dict:
    """Ingest the generated files through the ordinary ETL, one call per partner with all its files."""
    from observatory.etl import ingest

    for source in dict.fromkeys(f.source for f in result.files):
        files = sorted(result.files_of(source))
        if progress:
            progress(f"{source} : intégration de {len(files)} fichier(s)")
        result.ingest_results[source] = ingest(settings, files, source)
    ingest_demo_survey(settings, result, progress)
    from observatory.demo.means import ingest_demo_means

    ingest_demo_means(settings, result.out_dir, result.years, result.seed, progress)

    ingest_demo_exposure(settings, result, progress)
    return result.ingest_results


def ingest_demo_survey(settings: Settings, result: DemoResult, progress: ProgressFn | None = None) -> list:
    """The fictitious resident survey (waves inside the demo's years), written beside the extracts and imported."""
    from observatory import survey
    from observatory.demo import survey as demo_survey
    from observatory.territory import populations

    waves = tuple(w for w in demo_survey.WAVES if result.years[0] <= w <= result.years[1])
    if not waves:
        return []
    if progress:
        progress(f"enquête cadre de vie : {len(waves)} vague(s)")
    profile = survey.load_survey_profile(survey.profile_path(settings, demo_survey.PROFILE_NAME))
    paths = demo_survey.write_survey(result.out_dir / "enquetes", populations(settings), seed=result.seed, waves=waves)
    return [survey.import_survey(settings, profile, p) for p in paths]


def ingest_demo_exposure(settings: Settings, result: DemoResult, progress: ProgressFn | None = None) -> list:
    """The fictitious exposure series (pool attendance, validations, dwellings…), written beside the extracts and imported."""
    from observatory import exposure
    from observatory.demo import exposure as demo_exposure

    if progress:
        progress("séries d'exposition : fréquentation, validations, logements")
    paths = demo_exposure.write_exposure(result.out_dir / "exposition", result.years, seed=result.seed)
    return [exposure.import_exposure(settings, exposure.load_profile(settings, name), path) for name, path in paths.items()]


def install_demo_exposure(settings: Settings) -> list:
    """A demo prepared before the exposure series existed gets them (an install with any series keeps its own)."""
    from observatory import exposure

    marker = read_marker(settings)
    if marker is None or exposure.has_exposure(settings):
        return []
    result = DemoResult(out_dir=demo_dir(settings), seed=int(marker.get("seed", DEFAULT_SEED)), years=tuple(marker.get("years", DEFAULT_YEARS)),
                        scale=float(marker.get("scale", DEFAULT_SCALE)))
    return ingest_demo_exposure(settings, result)


def prepare_default(settings: Settings, progress: ProgressFn | None = None, ingest: bool = True) -> DemoResult:
    """The embedded default: generate 2019–2025 (seed 42, scale 1) into data/raw/demo, install the action
    register, ingest everything. Works offline."""
    result = generate(settings, demo_dir(settings), DEFAULT_YEARS, DEFAULT_SCALE, DEFAULT_SEED, progress=progress)
    install_register(settings, result)
    if ingest:
        ingest_demo(settings, result, progress)
        install_demo_official(settings)
    return result


def install_demo_official(settings: Settings) -> int | None:
    """The fictitious official edition of the demo snapshot (see ``observatory.demo.official``); never fatal."""
    from observatory.demo.official import install_official_edition

    try:
        return install_official_edition(settings)
    except Exception:  # noqa: BLE001 - the official page then says how to import an edition, nothing else breaks
        return None


def is_demo(settings: Settings) -> bool:
    """True when the data shown comes (at least partly) from the demo generator: its marker is there and one
    of its files is in the ingest ledger (matched by checksum), or nothing has been ingested yet."""
    marker = read_marker(settings)
    if marker is None:
        return False
    try:
        from observatory.store import ingest_history

        history = ingest_history(settings)
    except Exception:  # no store yet, or an unreadable ledger: the marker alone decides
        return True
    if history is None or len(history) == 0 or "sha256" not in history.columns:
        return True
    demo_sums = {f.get("sha256") for f in marker.get("files", [])}
    return bool(history["sha256"].astype(str).isin(demo_sums).any())


__all__ = [
    "ACTIONS_FILE", "DEFAULT_SCALE", "DEFAULT_SEED", "DEFAULT_YEARS", "DEMO_NOTICE", "MARKER_FILE", "DemoResult",
    "demo_dir", "generate", "ingest_demo", "install_demo_exposure", "install_register", "is_demo", "parse_years", "prepare_default", "read_marker",
]
