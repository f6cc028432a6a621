"""The one settings object.

Precedence, lowest first: defaults below < ``observatory.toml`` at the project root < environment variables
``OBSERVATORY_<FIELD>`` (upper-case field name). Nothing is read at import time: call :func:`get_settings`.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping

ENV_PREFIX = "OBSERVATORY_"
CONFIG_FILE = "observatory.toml"


def _default_root() -> Path:
    # The package lives at <root>/observatory; an installed copy elsewhere falls back to the working directory.
    candidate = Path(__file__).resolve().parent.parent
    if (candidate / "pyproject.toml").exists():
        return candidate
    return Path.cwd()


class SettingsError(ValueError):
    """A setting has a value that cannot be used; the message says which and why."""


@dataclass(frozen=True)
class Settings:
    """Every tunable of the observatory, with its default."""

    root: Path = field(default_factory=_default_root, metadata={"doc": "project root; relative paths hang from it"})
    data_dir: Path = field(default=Path("data"), metadata={"doc": "data folder (raw/ and processed/ below it)"})
    profiles_dir: Path = field(default=Path("data/raw/sources"), metadata={"doc": "folder of the partners' source profiles (TOML + label CSV)"})
    territory: str = field(default="lyon", metadata={"doc": "territory id (only Lyon ships)"})
    min_count: int = field(default=5, metadata={"doc": "counts 1..min_count-1 are shown as '< min_count' in public views"})
    pool_buffer_m: float = field(default=150.0, metadata={"doc": "radius of the buffer around each pool site, metres"})
    grid_size_m: int = field(default=200, metadata={"doc": "side of the hot-spot grid cells, metres (Lambert-93)"})
    territory_tolerance_m: float = field(default=500.0, metadata={"doc": "points farther than this outside the city are quarantined"})
    quarantine_max_share: float = field(default=0.05, metadata={"doc": "a file with a larger share of quarantined rows is refused"})
    ingest_chunk_mb: float = field(default=256.0, metadata={"doc": "CSV extracts larger than this (MB) are ingested in chunks of about this size, so memory stays bounded whatever the file size"})
    keep_snapshots: int = field(default=10, metadata={"doc": "number of published snapshots kept on disk"})
    tile_source: str = field(default="white-bg", metadata={"doc": "MapLibre basemap style; 'white-bg' sends no request off the machine, e.g. 'carto-positron' online"})
    download_timeout_s: float = field(default=8.0, metadata={"doc": "timeout of official downloads, seconds"})
    boundary_url: str = field(
        default=(
            "https://data.grandlyon.com/geoserver/metropole-de-lyon/ows?SERVICE=WFS&VERSION=2.0.0&request=GetFeature"
            "&typename=metropole-de-lyon:adr_voie_lieu.adrarrond&outputFormat=application/json&SRSNAME=EPSG:4326"
        ),
        metadata={"doc": "official arrondissements (Grand Lyon WFS, GeoJSON in EPSG:4326)"},
    )
    boundary_fallback_url: str = field(
        default="https://etalab-datasets.geo.data.gouv.fr/contours-administratifs/latest/geojson/arrondissements-municipaux-100m.geojson.gz",
        metadata={"doc": "second source of arrondissements (Etalab, all of France)"},
    )
    official_dataset_url: str = field(
        default=(
            "https://www.data.gouv.fr/api/1/datasets/bases-statistiques-communale-departementale-et-regionale-de-la-"
            "delinquance-enregistree-par-la-police-et-la-gendarmerie-nationales/"
        ),
        metadata={"doc": "data.gouv.fr dataset API of the SSMSI recorded-crime bases; the commune file is its csv.gz resource titled 'COM - …'"},
    )
    iris_url: str = field(
        default=(
            "https://data.geopf.fr/wfs/ows?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&TYPENAMES=STATISTICALUNITS.IRIS:contours_iris"
            "&OUTPUTFORMAT=application/json&SRSNAME=EPSG:4326&CQL_FILTER=code_insee%20LIKE%20%276938%25%27"
        ),
        metadata={"doc": "Lyon's IRIS (IGN CONTOURS-IRIS, Géoplateforme WFS, GeoJSON in EPSG:4326)"},
    )
    eval_window_months: int = field(default=12, metadata={"doc": "length of the before and after windows of an action evaluation"})
    max_upload_mb: float = field(default=20.0, metadata={"doc": "largest file accepted by the browser upload"})
    host: str = field(default="127.0.0.1", metadata={"doc": "address the dashboard listens on"})
    port: int = field(default=8050, metadata={"doc": "port the dashboard listens on"})
    secret_key: str = field(default="", metadata={"doc": "session signing key; generated and stored under data/ when empty"})
    auth_header: str = field(default="", metadata={"doc": "trusted reverse-proxy header carrying the user name (SSO mode); empty = off"})
    users_file: str = field(default="", metadata={"doc": "user store (JSON, mode 600); empty = <data_dir>/users.json"})
    trusted_proxies: str = field(default="127.0.0.1,::1", metadata={"doc": "comma-separated addresses allowed to send auth_header; other clients' header is ignored"})
    allowed_hosts: str = field(default="", metadata={"doc": "comma-separated host names the dashboard answers to ('.exemple.fr' = its subdomains, '*' = any); empty = loopback names only in local mode, any name once sign-in is required"})
    https: bool = field(default=False, metadata={"doc": "served over HTTPS (behind a proxy): session cookies get the Secure flag"})
    session_hours: float = field(default=12.0, metadata={"doc": "a signed-in session expires after this many hours"})
    survey_profiles_dir: Path = field(default=Path("data/raw/surveys"), metadata={"doc": "folder of the resident surveys' profiles (TOML)"})
    survey_min_n: int = field(default=30, metadata={"doc": "a survey estimate is published only with at least this many respondents"})
    survey_max_cv: float = field(default=0.3, metadata={"doc": "a survey estimate is published only if its coefficient of variation is at most this"})
    smtp_host: str = field(default="", metadata={"doc": "SMTP server for the veille bulletins (empty = never send e-mail; the bulletin is only written to a file)"})
    smtp_port: int = field(default=25, metadata={"doc": "port of the SMTP server"})
    smtp_sender: str = field(default="observatoire@localhost", metadata={"doc": "sender address of the bulletins"})
    veille_alpha: float = field(default=0.05, metadata={"doc": "weekly watch: probability that a week with no real change raises at least one alert, all watched perimeters together (Bonferroni)"})
    exposure_profiles_dir: Path = field(default=Path("data/raw/exposure"), metadata={"doc": "folder of the exposure series' profiles (TOML): pool attendance, ridership, dwellings…"})

    # Derived paths -------------------------------------------------------------------------------------------
    @property
    def data_path(self) -> Path:
        return self.data_dir if self.data_dir.is_absolute() else self.root / self.data_dir

    @property
    def raw_dir(self) -> Path:
        return self.data_path / "raw"

    @property
    def processed_dir(self) -> Path:
        return self.data_path / "processed"

    @property
    def reference_dir(self) -> Path:
        """Downloaded reference geography and the analysts' own perimeters."""
        return self.raw_dir / "reference"

    @property
    def sources_dir(self) -> Path:
        """Source profiles, one TOML per partner (kept apart from data_dir so a scratch data folder still finds them)."""
        return self.profiles_dir if self.profiles_dir.is_absolute() else self.root / self.profiles_dir

    @property
    def survey_profiles_path(self) -> Path:
        return self.survey_profiles_dir if self.survey_profiles_dir.is_absolute() else self.root / self.survey_profiles_dir

    @property
    def exposure_profiles_path(self) -> Path:
        return self.exposure_profiles_dir if self.exposure_profiles_dir.is_absolute() else self.root / self.exposure_profiles_dir

    @property
    def official_dir(self) -> Path:
        return self.raw_dir / "official"

    def replace(self, **changes: Any) -> "Settings":
        return dataclasses.replace(self, **changes)


def _coerce(name: str, value: Any, target: Any) -> Any:
    kind = {f.name: f.type for f in fields(Settings)}[name]
    try:
        if kind in ("Path",):
            return Path(value)
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
        if kind == "bool":
            return str(value).strip().lower() in ("1", "true", "yes", "oui", "on")
        return str(value)
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"setting {name!r}: {value!r} is not a valid {kind} ({exc})") from None


def get_settings(root: Path | None = None, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Build the settings: defaults, then ``observatory.toml``, then ``OBSERVATORY_*`` variables, then overrides."""
    env = os.environ if env is None else env
    known = {f.name for f in fields(Settings)}
    values: dict[str, Any] = {}
    root_value = root or (Path(env[ENV_PREFIX + "ROOT"]) if ENV_PREFIX + "ROOT" in env else None) or _default_root()
    values["root"] = Path(root_value).resolve()
    toml_path = values["root"] / CONFIG_FILE
    if toml_path.exists():
        try:
            data = tomllib.loads(toml_path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise SettingsError(f"{toml_path}: not valid TOML ({exc})") from None
        for key, value in data.items():
            if key not in known or key == "root":
                raise SettingsError(f"{toml_path}: unknown setting {key!r}; known: {', '.join(sorted(known - {'root'}))}")
            values[key] = _coerce(key, value, None)
    for key in known - {"root"}:
        env_key = ENV_PREFIX + key.upper()
        if env_key in env:
            values[key] = _coerce(key, env[env_key], None)
    for key, value in overrides.items():
        if key not in known:
            raise SettingsError(f"unknown setting {key!r}")
        values[key] = value
    settings = Settings(**values)
    if settings.min_count < 1:
        raise SettingsError("min_count must be at least 1")
    if not 0 <= settings.quarantine_max_share <= 1:
        raise SettingsError("quarantine_max_share must be between 0 and 1")
    if settings.survey_min_n < 1 or not 0 < settings.survey_max_cv:
        raise SettingsError("survey_min_n must be at least 1 and survey_max_cv positive")
    if not 0 < settings.veille_alpha < 1:
        raise SettingsError("veille_alpha must be between 0 and 1 (exclusive)")
    if settings.ingest_chunk_mb <= 0:
        raise SettingsError("ingest_chunk_mb must be positive")
    if settings.grid_size_m <= 0:
        raise SettingsError("grid_size_m must be positive")
    return settings
