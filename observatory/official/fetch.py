"""Download the current SSMSI communal file through the data.gouv.fr dataset API.

The dataset JSON lists resources; the commune file is the one whose format is ``csv.gz`` and whose title
starts with ``COM -``. The file is streamed to a temporary name beside the cache, checked (gzip readable,
checksum when the API gives one), then renamed into ``settings.official_dir`` with a JSON sidecar holding its
URL, production date, download date and sha256. Any failure leaves the cache as it was.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import tempfile
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from observatory.config import Settings
from observatory.official.model import OfficialError
from observatory.official.storage import _atomic_write, now_iso

USER_AGENT = "observatory/0.1 (ODS Lyon)"
CHUNK = 1 << 16
MAX_BYTES = 2_000_000_000

ProgressCallback = Callable[[int, int | None], None]


@dataclass(frozen=True)
class FetchResult:
    path: Path
    sidecar: Path
    url: str
    title: str
    production_date: str | None
    sha256: str
    size: int
    already_cached: bool


def _host(url: str) -> str:
    return url.split("?")[0]


def _open(url: str, timeout: float):
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "application/json, */*"})
    try:
        return urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 - URL comes from Settings or the dataset API
    except urllib.error.HTTPError as exc:
        raise OfficialError(f"{_host(url)} : réponse HTTP {exc.code} ({exc.reason}) — le cache est inchangé") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise OfficialError(f"impossible de joindre {_host(url)} ({reason}) : hors ligne ? — le cache est inchangé") from None


def commune_resource(dataset: dict[str, Any]) -> dict[str, Any]:
    """The commune resource of the dataset JSON: format ``csv.gz``, title starting with ``COM -``; newest if several."""
    resources = dataset.get("resources") if isinstance(dataset, dict) else None
    if not isinstance(resources, list):
        raise OfficialError("réponse de l'API data.gouv.fr inattendue : pas de liste « resources » — le cache est inchangé")
    matches = [
        r for r in resources
        if isinstance(r, dict)
        and str(r.get("format", "")).strip().lower() == "csv.gz"
        and str(r.get("title", "")).strip().upper().startswith("COM -")
        and r.get("url")
    ]
    if not matches:
        titles = ", ".join(f"« {r.get('title')} » ({r.get('format')})" for r in resources if isinstance(r, dict))[:400]
        raise OfficialError(f"aucune ressource communale (format csv.gz, titre « COM - … ») dans le jeu de données ; ressources : {titles or 'aucune'}")
    return max(matches, key=lambda r: str(r.get("last_modified") or r.get("created_at") or ""))


def _safe_name(production_date: str | None, sha256: str) -> str:
    stamp = (production_date or "sans-date")[:10]
    return f"ssmsi_communes_{stamp}_{sha256[:12]}.csv.gz"


def fetch_official(settings: Settings, url: str | None = None, progress: ProgressCallback | None = None) -> FetchResult:
    """Find the commune file through the dataset API, download it and cache it; raise OfficialError on failure.

    ``progress(done_bytes, total_bytes_or_None)`` is called while downloading (the CLI draws a rich bar).
    """
    api = url or settings.official_dataset_url
    timeout = settings.download_timeout_s
    with _open(api, timeout) as response:
        try:
            dataset = json.loads(response.read(50_000_000).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, OSError, TimeoutError) as exc:
            raise OfficialError(f"{_host(api)} : réponse illisible ({exc}) — le cache est inchangé") from None
    resource = commune_resource(dataset)
    file_url = str(resource["url"])
    production_date = resource.get("last_modified") or resource.get("created_at")
    cache = settings.official_dir
    cache.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=cache, prefix=".download.", suffix=".tmp")
    tmp = Path(tmp_name)
    sha256 = hashlib.sha256()
    checksum = resource.get("checksum") or {}
    expected_algo = str(checksum.get("type", "")).lower() if isinstance(checksum, dict) else ""
    other = hashlib.new(expected_algo) if expected_algo in ("sha1", "md5", "sha512") else None
    size = 0
    try:
        with os.fdopen(fd, "wb") as fh, _open(file_url, timeout) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else (int(resource["filesize"]) if str(resource.get("filesize", "")).isdigit() else None)
            if progress:
                progress(0, total)
            while True:
                try:
                    chunk = response.read(CHUNK)
                except (OSError, TimeoutError) as exc:
                    raise OfficialError(f"{_host(file_url)} : téléchargement interrompu ({exc}) — le cache est inchangé") from None
                if not chunk:
                    break
                size += len(chunk)
                if size > MAX_BYTES:
                    raise OfficialError(f"{_host(file_url)} : fichier de plus de {MAX_BYTES} octets, refusé — le cache est inchangé")
                fh.write(chunk)
                sha256.update(chunk)
                if other is not None:
                    other.update(chunk)
                if progress:
                    progress(size, total)
            fh.flush()
            os.fsync(fh.fileno())
        if total is not None and length and size != total:
            raise OfficialError(f"{_host(file_url)} : {size} octets reçus sur {total} annoncés — le cache est inchangé")
        if other is not None and checksum.get("value") and other.hexdigest() != str(checksum["value"]).lower():
            raise OfficialError(f"{_host(file_url)} : somme de contrôle {expected_algo} différente de celle publiée — le cache est inchangé")
        _check_gzip(tmp, file_url)
        digest = sha256.hexdigest()
        target = cache / _safe_name(production_date, digest)
        sidecar = target.with_name(target.name + ".json")
        already = target.exists() and sidecar.exists()
        if not already:
            os.replace(tmp, target)
            meta = {
                "url": file_url,
                "dataset_api": api,
                "resource_id": resource.get("id"),
                "title": resource.get("title"),
                "production_date": production_date,
                "downloaded_at": now_iso(),
                "sha256": digest,
                "size": size,
            }
            _atomic_write(sidecar, json.dumps(meta, indent=2, ensure_ascii=False).encode("utf-8"))
    finally:
        if tmp.exists():
            tmp.unlink()
    return FetchResult(target, sidecar, file_url, str(resource.get("title", "")), production_date, digest, size, already)


def _check_gzip(path: Path, url: str) -> None:
    # The resource is declared csv.gz: a truncated or HTML answer must not replace a good cache.
    try:
        with gzip.open(path, "rb") as fh:
            head = fh.read(4096)
            while fh.read(1 << 20):
                pass
    except (OSError, EOFError, zlib.error) as exc:
        raise OfficialError(f"{_host(url)} : le fichier reçu n'est pas un gzip complet ({exc}) — le cache est inchangé") from None
    if b";" not in head.split(b"\n", 1)[0]:
        raise OfficialError(f"{_host(url)} : le fichier reçu n'a pas d'en-tête CSV « ; » — le cache est inchangé")


def cached_files(settings: Settings) -> list[dict[str, Any]]:
    """Downloaded files with their sidecar metadata, newest download first."""
    out = []
    for sidecar in settings.official_dir.glob("*.csv.gz.json"):
        try:
            meta = json.loads(sidecar.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        path = sidecar.with_name(sidecar.name[: -len(".json")])
        if path.exists():
            out.append({**meta, "path": path})
    return sorted(out, key=lambda r: str(r.get("downloaded_at", "")), reverse=True)
