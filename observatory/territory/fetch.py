"""Official downloads of reference geography, cached under ``data/raw/reference/`` with date and checksum."""

from __future__ import annotations

import gzip
import hashlib
import json
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from observatory.config import Settings
from observatory.fileio import atomic_write
from observatory.territory.geography import OFFICIAL_BOUNDARY_FILE, TerritoryDownloadError, TerritoryError, read_boundary_file


@dataclass(frozen=True)
class FetchResult:
    path: Path
    origin: str
    sha256: str
    features: int
    area_km2: float


def download(url: str, timeout: float, max_bytes: int = 200_000_000) -> bytes:
    """GET a URL; raise TerritoryDownloadError with a one-line French reason when it cannot be reached."""
    request = urllib.request.Request(url, headers={"User-Agent": "observatory/0.1 (ODS Lyon)"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - URLs come from Settings
            data = response.read(max_bytes + 1)
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        # The network's own words (often English, e.g. "Name or service not known") stay in brackets, last.
        raise TerritoryDownloadError(f"téléchargement impossible depuis {url.split('?')[0]} ({reason}) ; vérifiez la connexion ou l'adresse") from None
    if len(data) > max_bytes:
        raise TerritoryError(f"{url.split('?')[0]} : fichier de plus de {max_bytes // 1_000_000} Mo, refusé ; vérifiez l'adresse")
    return data


def gunzip_if_needed(data: bytes, origin: str) -> bytes:
    """Uncompress a gzip payload (magic bytes 1f 8b); a damaged archive is a TerritoryError, not a traceback."""
    if data[:2] != b"\x1f\x8b":
        return data
    try:
        return gzip.decompress(data)
    except (gzip.BadGzipFile, EOFError, OSError) as exc:
        raise TerritoryError(f"{origin} : archive gzip illisible ({exc.__class__.__name__}) ; téléchargez-la à nouveau") from None


def fetch_arrondissements(settings: Settings, urls: list[str] | None = None) -> FetchResult:
    """Download the official arrondissements, validate them, and replace the cache only if they are sound.

    Tries each URL in turn (Grand Lyon WFS, then Etalab); the previous cache is untouched on any failure.
    """
    urls = urls or [settings.boundary_url, settings.boundary_fallback_url]
    errors: list[str] = []
    offline = True  # stays True only if no source could even be reached
    target = settings.reference_dir / OFFICIAL_BOUNDARY_FILE
    for url in urls:
        try:
            data = gunzip_if_needed(download(url, settings.download_timeout_s), url.split("?")[0])
            with tempfile.TemporaryDirectory() as tmp:
                candidate = Path(tmp) / "candidate.geojson"
                candidate.write_bytes(data)
                gdf = read_boundary_file(candidate, origin=url.split("?")[0])
                # Keep only Lyon's nine features: the Etalab file covers all of France.
                compact = gdf.to_json(drop_id=True).encode("utf-8")
        except TerritoryDownloadError as exc:
            errors.append(str(exc))
            continue
        except TerritoryError as exc:
            offline = False
            errors.append(str(exc))
            continue
        digest = hashlib.sha256(data).hexdigest()
        area = float(gdf.to_crs("EPSG:2154").area.sum() / 1e6)
        atomic_write(target, compact)
        meta = {
            "origin": url.split("?")[0],
            "url": url,
            "downloaded_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "sha256": digest,
            "features": len(gdf),
            "area_km2": round(area, 3),
        }
        atomic_write(target.with_suffix(".json"), json.dumps(meta, indent=2).encode("utf-8"))
        return FetchResult(target, meta["origin"], digest, len(gdf), area)
    error = TerritoryDownloadError if offline else TerritoryError
    raise error(" | ".join(errors) + " — le cache précédent est inchangé")


QPV_DATASET_API = "https://www.data.gouv.fr/api/1/datasets/quartiers-prioritaires-politique-de-la-ville-anct-26avril2024/"


def _qpv_resource_url(dataset: dict) -> str:
    """The GeoJSON resource of the QPV dataset (the API lists several formats)."""
    for res in dataset.get("resources", []):
        fmt = str(res.get("format", "")).lower()
        if "geojson" in fmt or str(res.get("url", "")).lower().endswith((".geojson", ".geojson.gz")):
            return res["url"]
    raise TerritoryError("le jeu de données QPV ne propose aucune ressource GeoJSON ; téléchargez-la à la main dans data/raw/reference/qpv.geojson")


def fetch_qpv(settings: Settings, dataset_url: str = QPV_DATASET_API) -> int:
    """Download the official QPV perimeters (2024 generation), keep those inside Lyon, cache them as qpv.geojson.

    Returns the number of QPV kept. The cached file replaces the shipped approximate perimeters at next load.
    """
    import geopandas as gpd

    from observatory.territory.geography import QPV_FILE, load_territory

    try:
        dataset = json.loads(download(dataset_url, settings.download_timeout_s))
    except json.JSONDecodeError:
        raise TerritoryError(f"{dataset_url} : l'API du jeu de données n'a pas répondu en JSON ; vérifiez l'adresse (--url)") from None
    url = _qpv_resource_url(dataset)
    data = gunzip_if_needed(download(url, settings.download_timeout_s), url)
    with tempfile.TemporaryDirectory() as tmp:
        candidate = Path(tmp) / "qpv.geojson"
        candidate.write_bytes(data)
        try:
            gdf = gpd.read_file(candidate)
        except Exception as exc:  # pyogrio raises several types for unreadable files; all mean the same to a user
            raise TerritoryError(f"{url} : fichier QPV illisible ({exc.__class__.__name__}) ; vérifiez la ressource téléchargée") from None
    if gdf.crs is None:
        gdf = gdf.set_crs("EPSG:4326")
    gdf = gdf.to_crs("EPSG:4326")
    code_col = next((c for c in ("code_qp", "code_qpv", "CODE_QP", "qp_code") if c in gdf.columns), None)
    name_col = next((c for c in ("lib_qp", "nom_qp", "LIB_QP", "qp_nom", "nom") if c in gdf.columns), None)
    if code_col is None or name_col is None:
        raise TerritoryError(f"{url} : propriétés de code et de nom des QPV absentes (attendu code_qp et lib_qp) ; est-ce la bonne couche ?")
    city = load_territory(settings).arrondissements.to_crs("EPSG:2154").union_all()
    l93 = gdf.to_crs("EPSG:2154")
    inside = l93.geometry.intersection(city).area > 0.5 * l93.area
    kept = gdf[inside.to_numpy()]
    if kept.empty:
        raise TerritoryError(f"{url} : aucun QPV à l'intérieur de Lyon ; mauvais fichier ?")
    out = gpd.GeoDataFrame(
        {"zone_id": "qpv_" + kept[code_col].astype(str).str.lower(), "kind": "qpv", "name": kept[name_col].astype(str),
         "valid_from": "2024-01-01", "valid_to": None},
        geometry=kept.geometry.values, crs="EPSG:4326",
    )
    atomic_write(settings.reference_dir / QPV_FILE, out.to_json(drop_id=True).encode("utf-8"))
    return len(out)


def fetch_iris(settings: Settings, url: str | None = None) -> int:
    """Download Lyon's IRIS (IGN CONTOURS-IRIS through the Géoplateforme WFS), validate, cache as iris.geojson.

    Returns the number of IRIS cached. The previous cache is untouched on any failure.
    """
    import geopandas as gpd

    from observatory.territory.geography import IRIS_FILE, normalise_iris

    url = url or settings.iris_url
    origin = url.split("?")[0]
    data = gunzip_if_needed(download(url, settings.download_timeout_s), origin)
    with tempfile.TemporaryDirectory() as tmp:
        candidate = Path(tmp) / "iris.geojson"
        candidate.write_bytes(data)
        try:
            gdf = gpd.read_file(candidate)
        except Exception as exc:  # pyogrio raises several types for unreadable files; all mean the same to a user
            raise TerritoryError(f"{origin} : fichier IRIS illisible ({exc.__class__.__name__}) ; vérifiez l'adresse (--url)") from None
    iris = normalise_iris(gdf, origin)
    atomic_write(settings.reference_dir / IRIS_FILE, iris.to_json(drop_id=True).encode("utf-8"))
    meta = {"origin": origin, "url": url, "downloaded_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "sha256": hashlib.sha256(data).hexdigest(), "features": len(iris)}
    atomic_write((settings.reference_dir / IRIS_FILE).with_suffix(".json"), json.dumps(meta, indent=2).encode("utf-8"))
    return len(iris)
