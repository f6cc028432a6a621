"""Locate: coordinates projected (pyproj) and checked, then arrondissement, zones, grid cell, site and quarter names."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import shapely
from pyproj import Transformer

from observatory import schema as S
from observatory.labels import fmt_int
from observatory.etl.profile import Profile
from observatory.territory import LAMBERT93, WGS84
from observatory.etl.columns import Problems, normalise_name, parse_numbers
from observatory.etl.mapping import Mapped
from observatory.etl.places import TerritoryIndex, Spatial, _zone_lists, distinct_pairs, spatial


# Generous WGS84 and Lambert-93 boxes around Lyon, to recognise a wrong CRS declaration.
WGS84_BOX = (3.5, 45.0, 6.0, 46.5)
L93_BOX = (780_000.0, 6_450_000.0, 900_000.0, 6_600_000.0)


# Locate ---------------------------------------------------------------------------------------------------------
_local = threading.local()


def _transformer(src: str, dst: str) -> Transformer:
    """One Transformer per thread and CRS pair: pyproj transformers must not be shared between threads."""
    cache = _local.__dict__.setdefault("transformers", {})
    if (src, dst) not in cache:
        cache[(src, dst)] = Transformer.from_crs(src, dst, always_xy=True)
    return cache[(src, dst)]


@dataclass
class Located:
    x: np.ndarray
    y: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    quality: np.ndarray  # index into LOCATION_QUALITIES
    arrondissement: np.ndarray  # index into ARRONDISSEMENT_CODES, -1 = none
    zones: pa.Array
    grid: pa.Array
    notes: list[str]
    iris: np.ndarray | None = None  # IRIS code per row (None where unknown); None when no IRIS are loaded


def _in_box(a: np.ndarray, b: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    return (a >= box[0]) & (a <= box[2]) & (b >= box[1]) & (b <= box[3])


Q_POINT, Q_ADDRESS, Q_SECTOR, Q_NONE = (S.LOCATION_QUALITIES.index(q) for q in ("point", "address", "sector", "none"))


@dataclass
class Points:
    """Partner coordinates parsed, checked and projected (both CRS); independent of the mapping step.

    ``codes`` and ``unique``: when many rows share their coordinates (addresses geocoded to the same point), the
    distinct pairs projected once (``unique``, a Points without problems) and the pair of each row."""

    x: np.ndarray
    y: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    ok: np.ndarray
    problems: Problems
    notes: list[str]
    codes: np.ndarray | None = None
    unique: "Points | None" = None

    def permuted(self, order: np.ndarray) -> "Points":
        """The same points for the rows put in ``order`` (problem positions follow their rows)."""
        inv = np.empty_like(order)
        inv[order] = np.arange(len(order))
        probs = Problems([inv[p] for p in self.problems.pos], list(self.problems.column), list(self.problems.reason))
        if self.codes is not None and self.unique is not None:
            # Gathered from the distinct pairs' arrays (small, in cache) rather than the rows' five.
            codes = self.codes[order]
            u = self.unique
            return Points(u.x[codes], u.y[codes], u.lon[codes], u.lat[codes], u.ok[codes], probs, list(self.notes), codes, u)
        return Points(self.x[order], self.y[order], self.lon[order], self.lat[order], self.ok[order], probs, list(self.notes))

    @property
    def distinct(self) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """Each row's pair and the distinct pairs' Lambert-93 x and y (``places.spatial``), None when not shared."""
        return None if self.codes is None or self.unique is None else (self.codes, self.unique.x, self.unique.y)


# Systems a French partner's coordinates are likely to be in, tried when the declared one puts the points far away.
CANDIDATE_CRS = ("EPSG:4326", "EPSG:2154", "EPSG:3946", "EPSG:3945", "EPSG:3947", "EPSG:27572", "EPSG:3857", "EPSG:32631")


def fitting_crs(a: np.ndarray, b: np.ndarray, exclude: str = "") -> list[str]:
    """The candidate CRS that put most of the points ``(a, b)`` (x, y as read) near Lyon, best first."""
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep][:500], b[keep][:500]
    if not len(a):
        return []
    scores = []
    for crs in CANDIDATE_CRS:
        if crs == exclude:
            continue
        with np.errstate(all="ignore"):
            x, y = _transformer(crs, LAMBERT93).transform(a, b)
        share = float(np.mean(_in_box(np.asarray(x), np.asarray(y), L93_BOX)))
        if share >= 0.8:
            scores.append((-share, CANDIDATE_CRS.index(crs), crs))
    return [c for _, _, c in sorted(scores)]


def crs_hint(a: np.ndarray, b: np.ndarray, declared: str) -> str:
    """One French sentence: the declared CRS puts the points far from Lyon, and which one would not."""
    fits = fitting_crs(a, b, exclude=declared)
    if fits:
        return f"avec crs = {declared} la plupart des points tombent loin de Lyon ; {fits[0]} les placerait à Lyon : corrigez [location] crs dans le profil"
    swapped = fitting_crs(b, a)
    if declared in swapped:
        return f"avec crs = {declared} la plupart des points tombent loin de Lyon ; x et y semblent inversés : échangez [location] x et y dans le profil"
    return f"avec crs = {declared} la plupart des points tombent loin de Lyon, et aucun système usuel (WGS84, Lambert-93, CC45–CC47, Lambert II) ne les y place : vérifiez [location] crs, x et y"


@dataclass
class _Projected:
    """What a coordinate pair alone decides (so it can be computed once per distinct pair): both CRS, whether the
    point is usable, the checks it fails (mask, reason), and whether its latitude and longitude were swapped."""

    x: np.ndarray
    y: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    ok: np.ndarray
    flags: list[tuple[np.ndarray, str]]
    swapped: np.ndarray | None = None

    def take(self, codes: np.ndarray) -> "_Projected":
        return _Projected(self.x[codes], self.y[codes], self.lon[codes], self.lat[codes], self.ok[codes],
                          [(m[codes], r) for m, r in self.flags], None if self.swapped is None else self.swapped[codes])


def _project(a: np.ndarray, b: np.ndarray, profile: Profile) -> _Projected:
    """Coordinates as read (x, y in ``profile.crs``) → Lambert-93 and WGS84, with the checks of each pair."""
    n = len(a)
    x = np.full(n, np.nan)
    y = np.full(n, np.nan)
    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    flags: list[tuple[np.ndarray, str]] = []
    swapped = None
    have = np.isfinite(a) & np.isfinite(b) & ~((a == 0) & (b == 0))  # 0,0 is an export's "no location"
    if profile.crs == WGS84:
        swapped = have & _in_box(b, a, WGS84_BOX) & ~_in_box(a, b, WGS84_BOX)
        if swapped.any():
            a, b = np.where(swapped, b, a), np.where(swapped, a, b)
        looks_l93 = have & _in_box(a, b, L93_BOX)
        flags.append((looks_l93, "coordonnées en Lambert-93 (EPSG:2154) alors que le profil déclare WGS84 : corrigez crs dans le profil"))
        bad_range = have & ~looks_l93 & ~((np.abs(a) <= 180) & (np.abs(b) <= 90))
        flags.append((bad_range, "coordonnées hors des bornes WGS84"))
        ok = have & ~looks_l93 & ~bad_range
        lon[ok], lat[ok] = a[ok], b[ok]
        if ok.any():
            x[ok], y[ok] = _transformer(WGS84, LAMBERT93).transform(a[ok], b[ok])
    elif profile.crs != LAMBERT93:
        ok = have.copy()
        if ok.any():
            x[ok], y[ok] = _transformer(profile.crs, LAMBERT93).transform(a[ok], b[ok])
            lon[ok], lat[ok] = _transformer(profile.crs, WGS84).transform(a[ok], b[ok])
            lost = ok & ~(np.isfinite(x) & np.isfinite(y) & np.isfinite(lon) & np.isfinite(lat))
            flags.append((lost, f"coordonnées hors du domaine de {profile.crs}"))
            ok &= ~lost
            x[~ok] = y[~ok] = lon[~ok] = lat[~ok] = np.nan
    else:
        looks_wgs = have & _in_box(a, b, WGS84_BOX)
        flags.append((looks_wgs, "coordonnées en degrés WGS84 alors que le profil déclare Lambert-93 (EPSG:2154) : corrigez crs dans le profil"))
        ok = have & ~looks_wgs
        if ok.all():
            # The usual extract: every row has its point; no masked copies of the million-row arrays.
            x, y = a, b
            lon, lat = _transformer(LAMBERT93, WGS84).transform(a, b)
        else:
            x[ok], y[ok] = a[ok], b[ok]
            if ok.any():
                lon[ok], lat[ok] = _transformer(LAMBERT93, WGS84).transform(a[ok], b[ok])
    return _Projected(x, y, lon, lat, ok, flags, swapped)


def project_points(raw: pa.Table, profile: Profile) -> Points:
    """Coordinates → WGS84 and Lambert-93 (pyproj, always_xy); swapped lat/lon repaired, wrong CRS caught.

    Each distinct pair is projected once when pairs repeat (``distinct_pairs``): partners' points are addresses,
    shared by many rows."""
    n = raw.num_rows
    problems = Problems()
    notes: list[str] = []
    if not (profile.crs != "none" and profile.x in raw.column_names and profile.y in raw.column_names):
        nan = np.full(n, np.nan)
        return Points(nan, nan.copy(), nan.copy(), nan.copy(), np.zeros(n, dtype=bool), problems, notes)
    a, bad_a = parse_numbers(raw[profile.x], profile.decimal)
    b, bad_b = parse_numbers(raw[profile.y], profile.decimal)
    problems.add(bad_a, profile.x, "coordonnée illisible")
    problems.add(bad_b & ~bad_a, profile.y, "coordonnée illisible")
    pairs = distinct_pairs(a, b)
    unique = None
    if pairs is None:
        p = _project(a, b, profile)
    else:
        codes, first = pairs
        u = _project(a[first], b[first], profile)
        unique = Points(u.x, u.y, u.lon, u.lat, u.ok, Problems(), [])
        p = u.take(codes)
    if p.swapped is not None and p.swapped.any():
        notes.append(f"{int(p.swapped.sum())} point(s) avec latitude et longitude inversées : remises dans l'ordre")
    for mask, reason in p.flags:
        problems.add(mask, profile.x, reason)
    if profile.crs not in (WGS84, LAMBERT93):
        near = p.ok & _in_box(p.x, p.y, L93_BOX)
        if p.ok.sum() and near.sum() < 0.5 * p.ok.sum():
            notes.append(crs_hint(a[p.ok], b[p.ok], profile.crs))
    return Points(p.x, p.y, p.lon, p.lat, p.ok, problems, notes, None if pairs is None else pairs[0], unique)


def locate(mapped: Mapped, raw: pa.Table, profile: Profile, index: TerritoryIndex, *, tolerance_m: float, grid_size_m: int, problems: Problems,
           points: Points | None = None, spatial_: Spatial | None = None) -> Located:
    """Coordinates → WGS84 + Lambert-93, arrondissement, zones, grid cell; problems added to ``problems``.

    ``points`` and ``spatial_`` may be computed beforehand (the pipeline overlaps them
    with mapping); ``spatial_`` is used only if the coordinates did not change since (no site name located a row).
    """
    n = mapped.table.num_rows
    pts = points if points is not None else project_points(raw, profile)
    problems.extend(pts.problems)
    notes: list[str] = list(pts.notes)
    x, y, lon, lat = pts.x, pts.y, pts.lon, pts.lat  # copied below only if a site name moves points
    quality = np.full(n, Q_NONE, dtype=np.int8)
    quality[pts.ok] = Q_POINT
    extra_zone: np.ndarray | None = None  # zone ids known from a site or quarter name (small partner files)
    arr_pos = {c: i for i, c in enumerate(S.ARRONDISSEMENT_CODES)}

    if profile.site and profile.site in raw.column_names:
        extra_zone = np.full(n, None, dtype=object)
        x, y, lon, lat = x.copy(), y.copy(), lon.copy(), lat.copy()
        names = pc.utf8_trim_whitespace(raw[profile.site]).to_pylist()
        cache: dict[str, tuple | None] = {}
        unknown: dict[str, int] = {}
        for i, v in enumerate(names):
            if not v or quality[i] == Q_POINT:
                continue
            if v not in cache:
                cache[v] = index.sites.get(normalise_name(v))
            hit = cache[v]
            if hit is None:
                unknown[v] = unknown.get(v, 0) + 1
                continue
            extra_zone[i] = hit[0]
            lon[i], lat[i] = hit[1], hit[2]
            quality[i] = Q_ADDRESS
        sel = quality == Q_ADDRESS
        if sel.any():
            x[sel], y[sel] = _transformer(WGS84, LAMBERT93).transform(lon[sel], lat[sel])
        if unknown:
            notes.append("site(s) inconnu(s), sans localisation : " + ", ".join(f"{k} ({v})" for k, v in _most_first(unknown)))

    # Point in polygon: arrondissement, then distance to the city for points outside every polygon.
    has_xy = np.isfinite(x) & np.isfinite(y)
    same_points = spatial_ is not None and (spatial_.x is x and spatial_.y is y or (
        np.array_equal(spatial_.x, x, equal_nan=True) and np.array_equal(spatial_.y, y, equal_nan=True)))
    sp = spatial_ if same_points else spatial(x, y, index, grid_size_m)
    arr_idx = sp.arrondissement.copy()
    outside = has_xy & (arr_idx < 0)
    if outside.any():
        idx = np.flatnonzero(outside)
        pts = shapely.points(x[idx], y[idx])
        dist = shapely.distance(index.city, pts)
        far = dist > tolerance_m
        if far.any():
            reasons = np.full(n, "", dtype=object)
            reasons[idx[far]] = [f"point hors du territoire (à {fmt_int(d)} m de Lyon, tolérance {fmt_int(tolerance_m)} m)" for d in dist[far]]
            m = np.zeros(n, dtype=bool)
            m[idx[far]] = True
            problems.add(m, profile.x or profile.site or "", reasons)
        near = idx[~far]
        if len(near):
            # Within the tolerance (river banks, boundary imprecision): kept, given the nearest arrondissement.
            near_pts = shapely.points(x[near], y[near])
            dists = np.vstack([shapely.distance(g, near_pts) for g in index.arr_geoms])
            arr_idx[near] = [arr_pos[index.codes[k]] for k in dists.argmin(axis=0)]
            notes.append(f"{len(near)} point(s) juste hors des limites (≤ {tolerance_m:.0f} m) : rattaché(s) à l'arrondissement le plus proche")

    # Quarter names locate to a sector.
    if profile.quarter and profile.quarter in raw.column_names:
        if extra_zone is None:
            extra_zone = np.full(n, None, dtype=object)
        names = pc.utf8_trim_whitespace(raw[profile.quarter]).to_pylist()
        unknown = {}
        for i, v in enumerate(names):
            if not v or quality[i] != Q_NONE:
                continue
            hit = index.quarters.get(normalise_name(v))
            if hit is None:
                unknown[v] = unknown.get(v, 0) + 1
                continue
            if hit[0] in arr_pos:
                arr_idx[i] = arr_pos[hit[0]]
                quality[i] = Q_SECTOR
            extra_zone[i] = hit[1]
        if unknown:
            notes.append("quartier(s) inconnu(s), sans localisation : " + ", ".join(f"{k} ({v})" for k, v in _most_first(unknown)[:10]))

    # No usable location: the declared arrondissement still counts (sector only), never a default point.
    fill = (quality == Q_NONE) & (mapped.declared >= 0)
    arr_idx[fill] = mapped.declared[fill]
    quality[fill] = Q_SECTOR

    zones = _zone_lists(index, sp.zone_masks, mapped.wall, extra_zone, sp.zone_codes)
    iris = None
    if index.iris is not None:
        from observatory.territory import iris_of_points

        located = (quality == Q_POINT) | (quality == Q_ADDRESS)
        arr_codes = np.where(located & (arr_idx >= 0), np.array(S.ARRONDISSEMENT_CODES + ("",), dtype=object)[arr_idx], None)
        iris = iris_of_points(np.where(located, x, np.nan), np.where(located, y, np.nan), arr_codes, index.iris)
    return Located(x, y, lon, lat, quality, arr_idx, zones, sp.grid, notes, iris)


def _most_first(counts: dict[str, int]) -> list[tuple[str, int]]:
    """Most frequent first, then by name: independent of row order (rows are sorted by time, not file order)."""
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
