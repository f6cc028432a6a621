"""The watch over the current snapshot: watched units, weekly series, this window's alerts and their history.

Watched units: the city, each arrondissement, each action perimeter that is not a zone (circle, polygon),
each zone (hypercentre, QPV, pools — tested in their season
months only —, custom perimeters of ``data/raw/reference/perimetres.geojson``), each × every category family
and all families together. Sensitive categories (sexual and intra-family violence) are left out of the watch:
they are published at city level only (DESIGN §6) and are not what a cellule acts on in public space.

History: ``<processed>/veille/history.parquet`` holds one row per alert episode (``episode_id`` =
unit|family|ISO week it started), upserted at each :func:`record_history`; the same data always give the same
episodes, so re-ingesting identical extracts changes nothing but ``last_snapshot``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from observatory import schema
from observatory.veille.model import (
    ALL_FAMILIES,
    assess,
    complete_weeks,
    episodes,
    iso_week,
    resolve_levels,
)

if TYPE_CHECKING:
    from observatory.analytics.engine import Analytics
    from observatory.config import Settings

CITY = "ville"
WINDOW_WEEKS = 13
MIN_WEEKS = 52
HISTORY_FILE = "history.parquet"


@dataclass(frozen=True)
class WatchResult:
    assessed: pd.DataFrame  # model.assess over the watched series
    alerts: pd.DataFrame  # one row per (requested unit, family) alerted in the last week
    episodes: pd.DataFrame  # model.episodes
    levels: pd.DataFrame  # model.resolve_levels
    units: pd.DataFrame  # unit_id, name, kind, parent
    last_week: pd.Timestamp | None


def units(an: Analytics, actions: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every watched unit: ``unit_id`` (ville, arr:<code>, zone:<id>, action:<id>), ``name``, ``kind``,
    ``parent``, ``season``."""
    from observatory import labels

    rows = [{"unit_id": CITY, "name": "Lyon (ville)", "kind": "ville", "parent": None, "season": None}]
    for code in schema.ARRONDISSEMENT_CODES:
        rows.append({"unit_id": f"arr:{code}", "name": labels.arrondissement_label(code),
                     "kind": "arrondissement", "parent": CITY, "season": None})
    for z in an.territory.zones.itertuples():
        arr = z.arrondissement if isinstance(z.arrondissement, str) and z.arrondissement else None
        rows.append({"unit_id": f"zone:{z.zone_id}", "name": z.name, "kind": z.kind,
                     "parent": f"arr:{arr}" if arr else CITY, "season": z.season if z.kind == "piscine" else None})
    for a in (actions if actions is not None else pd.DataFrame(columns=["action_id"])).itertuples():
        arr = a.arrondissement if isinstance(a.arrondissement, str) and a.arrondissement else None
        rows.append({"unit_id": f"action:{a.action_id}", "name": f"Action {a.action_id} — {a.title}", "kind": "action",
                     "parent": f"arr:{arr}" if arr else CITY, "season": None})
    return pd.DataFrame(rows)


def action_perimeters(settings: Settings) -> pd.DataFrame:
    """Action perimeters that are not already a zone (circles and polygons): ``action_id``, ``title``,
    ``arrondissement``, ``geometry`` (Lambert-93). Empty when the register is absent or unreadable (the Plan
    d'actions page reports its problems)."""
    empty = pd.DataFrame(columns=["action_id", "title", "arrondissement", "geometry"])
    try:
        from observatory.actions.service import load_plan
        from observatory.territory import LAMBERT93

        plan = load_plan(settings)
    except Exception:  # noqa: BLE001 - the watch must not fail on a broken register; its own page says why
        return empty
    per = plan.perimeters[plan.perimeters["perimeter_kind"] != "zone"]
    if per.empty:
        return empty
    titles = dict(zip(plan.register["action_id"], plan.register["title"])) if "title" in plan.register else {}
    l93 = per.to_crs(LAMBERT93)
    return pd.DataFrame({"action_id": l93["action_id"].to_numpy(), "title": [titles.get(a, a) for a in l93["action_id"]],
                         "arrondissement": l93["arrondissement"].to_numpy(), "geometry": l93.geometry.to_numpy()})


def _action_counts(an: Analytics, actions: pd.DataFrame, excl: str, params: list) -> pd.DataFrame:
    """Facts per action perimeter × family × week, by point-in-polygon on the located facts (bounding box first)."""
    import shapely

    if actions.empty:
        return pd.DataFrame(columns=["unit_id", "family", "week", "count"])
    b = shapely.bounds(np.asarray(actions["geometry"].tolist(), dtype=object))
    x0, y0, x1, y1 = float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()), float(b[:, 3].max())
    pts = an.query(
        f"SELECT x, y, family, CAST(date_trunc('week', local_ts) AS DATE) AS week FROM incidents WHERE time_precision <> 'month' AND {excl} "
        "AND x BETWEEN ? AND ? AND y BETWEEN ? AND ?", params + [x0, x1, y0, y1])
    parts = []
    for rec in actions.itertuples():
        inside = shapely.contains_xy(rec.geometry, pts["x"].to_numpy(), pts["y"].to_numpy())
        if inside.any():
            g = pts[inside].groupby(["family", "week"], as_index=False).size().rename(columns={"size": "count"})
            g.insert(0, "unit_id", f"action:{rec.action_id}")
            parts.append(g)
    if not parts:
        return pd.DataFrame(columns=["unit_id", "family", "week", "count"])
    return pd.concat(parts, ignore_index=True)


def weekly_counts(an: Analytics, actions: pd.DataFrame | None = None) -> pd.DataFrame:
    """Facts per unit_id × family × week (Monday) over the whole snapshot (families and ``toutes``); with
    ``actions`` (see :func:`action_perimeters`), each action perimeter too."""
    sensitive = sorted(schema.sensitive_categories())
    excl = f"category NOT IN ({', '.join('?' * len(sensitive))})" if sensitive else "TRUE"
    week = "CAST(date_trunc('week', local_ts) AS DATE)"
    base = f"FROM incidents WHERE time_precision <> 'month' AND {excl}"
    df = an.query(
        f"SELECT 'arr:' || arrondissement AS unit_id, family, {week} AS week, count(*) AS count {base} AND arrondissement IS NOT NULL GROUP BY ALL "
        f"UNION ALL SELECT 'zone:' || zone AS unit_id, family, week, count(*) FROM (SELECT unnest(zones) AS zone, family, {week} AS week {base}) GROUP BY ALL "
        f"UNION ALL SELECT '{CITY}' AS unit_id, family, {week} AS week, count(*) {base} GROUP BY ALL",
        sensitive * 3,
    )
    if actions is not None and not actions.empty:
        df = pd.concat([df, _action_counts(an, actions, excl, sensitive)], ignore_index=True)
    if df.empty:
        return pd.DataFrame(columns=["unit_id", "family", "week", "count"])
    df["week"] = pd.to_datetime(df["week"]).astype("datetime64[us]")
    allf = df.groupby(["unit_id", "week"], as_index=False)["count"].sum()
    allf["family"] = ALL_FAMILIES
    out = pd.concat([df, allf[["unit_id", "family", "week", "count"]]], ignore_index=True)
    out["count"] = out["count"].astype("int64")
    return out


def last_complete_week(last_day) -> pd.Timestamp:
    """Monday of the last week whose Sunday is ``last_day`` or earlier."""
    d = pd.Timestamp(last_day)
    monday = d - pd.Timedelta(days=d.weekday())
    return monday if d.weekday() == 6 else monday - pd.Timedelta(weeks=1)


def watch(an: Analytics, alpha: float = 0.05, last_week: pd.Timestamp | None = None,
          window: int = WINDOW_WEEKS) -> WatchResult:
    """Assess every watched series over the ``window`` weeks ending at ``last_week`` (default: the last complete
    week of the snapshot)."""
    from observatory.territory import SEASON_MONTHS

    actions = action_perimeters(an.settings)
    u = units(an, actions)
    counts = weekly_counts(an, actions)
    _, hi = an.date_range()
    if counts.empty or hi is None:
        empty = pd.DataFrame()
        return WatchResult(empty, empty, empty, empty, u, None)
    last_week = pd.Timestamp(last_week) if last_week is not None else last_complete_week(hi)
    first_week = counts["week"].min()
    window_start = last_week - pd.Timedelta(weeks=window - 1)
    families = [f for f in schema.families()] + [ALL_FAMILIES]
    requests = u[["unit_id"]].merge(pd.DataFrame({"family": families}), how="cross")
    full = complete_weeks(counts[counts["week"] <= last_week], first_week, last_week, series=requests)
    parents = dict(zip(u["unit_id"], u["parent"]))
    levels = resolve_levels(requests, full, window_start, MIN_WEEKS, parents)
    watched = levels.dropna(subset=["watched_unit"])[["watched_unit", "watched_family"]].drop_duplicates()
    watched.columns = ["unit_id", "family"]
    series = full.merge(watched, on=["unit_id", "family"])
    # Pools are watched in their season only.
    seasons = dict(zip(u["unit_id"], u["season"]))
    win = series[series["week"] >= window_start][["unit_id", "family", "week"]].copy()
    months = win["week"].dt.month
    win["tested"] = [m in SEASON_MONTHS.get(seasons.get(unit) or "both", SEASON_MONTHS["both"]) for unit, m in zip(win["unit_id"], months)]
    season_months = {unit: SEASON_MONTHS[season] for unit, season in seasons.items() if season and season in SEASON_MONTHS}
    assessed = assess(series, window_start, alpha=alpha, min_weeks=MIN_WEEKS, tested=win, seasons=season_months)
    eps = episodes(assessed)
    last = assessed[assessed["week"] == last_week] if not assessed.empty else assessed
    alerts = _alerts(levels, last, eps, u)
    return WatchResult(assessed, alerts, eps, levels, u, last_week)


def _alerts(levels: pd.DataFrame, last: pd.DataFrame, eps: pd.DataFrame, u: pd.DataFrame) -> pd.DataFrame:
    cols = ["unit_id", "name", "kind", "family", "watched_unit", "watched_family", "level", "week", "count",
            "expected", "lower", "upper", "spike", "drift", "since", "episode_id", "new"]
    if last.empty or not last["alert"].any():
        return pd.DataFrame(columns=cols)
    hit = last[last["alert"]].rename(columns={"unit_id": "watched_unit", "family": "watched_family"})
    out = levels.merge(hit, on=["watched_unit", "watched_family"])
    out = out.merge(u[["unit_id", "name", "kind"]], on="unit_id", how="left")
    open_eps = eps[eps["open"]].rename(columns={"unit_id": "watched_unit", "family": "watched_family"})
    out = out.merge(open_eps[["watched_unit", "watched_family", "since", "episode_id"]], on=["watched_unit", "watched_family"], how="left")
    out["new"] = out["since"] == out["week"]
    out["week"] = out["week"].map(iso_week)
    out["since"] = out["since"].map(iso_week)
    # A coarser series alerted once is shown once, as itself (not under each family or unit that fell back to it).
    out = out[(out["unit_id"] == out["watched_unit"]) & (out["family"] == out["watched_family"])]
    return out[cols].sort_values(["kind", "unit_id", "family"]).reset_index(drop=True)


def alert_details(an: Analytics, unit_id: str, family: str, since: pd.Timestamp, until: pd.Timestamp,
                  top: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Top grid cells (``grid_cell``, ``count``) and the hours profile (``hour``, ``count``) of one alert's
    facts, weeks ``since``..``until`` inclusive. Counts are raw: protect them before showing élus."""
    from datetime import datetime, time

    from observatory.analytics.filters import PARIS

    sensitive = sorted(schema.sensitive_categories())
    start = datetime.combine(pd.Timestamp(since).date(), time(0), tzinfo=PARIS)
    end = datetime.combine((pd.Timestamp(until) + pd.Timedelta(days=7)).date(), time(0), tzinfo=PARIS)
    where = ["occurred_at >= ?", "occurred_at < ?", "time_precision <> 'month'"]
    params: list = [start, end]
    if sensitive:
        where.append(f"category NOT IN ({', '.join('?' * len(sensitive))})")
        params += sensitive
    if family != ALL_FAMILIES:
        where.append("family = ?")
        params.append(family)
    if unit_id.startswith("arr:"):
        where.append("arrondissement = ?")
        params.append(unit_id[4:])
    elif unit_id.startswith("zone:"):
        where.append("list_contains(zones, ?)")
        params.append(unit_id[5:])
    w = " AND ".join(where)
    cells = an.query(f"SELECT grid_cell, count(*) AS count FROM incidents WHERE {w} AND grid_cell IS NOT NULL GROUP BY ALL ORDER BY count DESC, grid_cell LIMIT {int(top)}", params)
    hours = an.query(f"SELECT CAST(hour(local_ts) AS INTEGER) AS hour, count(*) AS count FROM incidents WHERE {w} AND time_precision = 'hour' GROUP BY ALL ORDER BY hour", params)
    return cells, hours


# History ------------------------------------------------------------------------------------------------------
def history_path(settings: Settings):
    return settings.processed_dir / "veille" / HISTORY_FILE


def read_history(settings: Settings) -> pd.DataFrame:
    path = history_path(settings)
    cols = ["episode_id", "unit_id", "family", "since", "until", "weeks", "status", "first_snapshot", "last_snapshot"]
    if not path.exists():
        return pd.DataFrame(columns=cols)
    return pd.read_parquet(path)


def merge_history(previous: pd.DataFrame, eps: pd.DataFrame, snapshot_id: str) -> pd.DataFrame:
    """Upsert this snapshot's episodes into the history (pure). ``status``: ``ouverte`` (still alerted in the
    last week), ``close`` (ended). An episode seen before keeps its ``first_snapshot``."""
    cur = eps.copy()
    cur["status"] = np.where(cur["open"], "ouverte", "close")
    cur["since"] = cur["since"].map(iso_week)
    cur["until"] = cur["until"].map(iso_week)
    cur["last_snapshot"] = snapshot_id
    first = dict(zip(previous["episode_id"], previous["first_snapshot"])) if not previous.empty else {}
    cur["first_snapshot"] = [first.get(e, snapshot_id) for e in cur["episode_id"]]
    cols = ["episode_id", "unit_id", "family", "since", "until", "weeks", "status", "first_snapshot", "last_snapshot"]
    kept = previous[~previous["episode_id"].isin(cur["episode_id"])] if not previous.empty else previous
    out = pd.concat([kept[cols] if not kept.empty else None, cur[cols]], ignore_index=True) if not kept.empty else cur[cols]
    return out.sort_values(["since", "episode_id"]).reset_index(drop=True)


def record_history(settings: Settings, result: WatchResult, snapshot_id: str) -> pd.DataFrame:
    """Merge ``result``'s episodes into the history file (written atomically) and return it."""
    from observatory.fileio import atomic_write

    hist = merge_history(read_history(settings), result.episodes, snapshot_id)
    path = history_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    hist.to_parquet(buf, index=False)
    atomic_write(path, buf.getvalue())
    return hist


_RESULTS: dict[tuple, WatchResult] = {}
_RESULTS_LOCK = __import__("threading").Lock()


def current_watch(an: Analytics, record: bool = True, last_week: pd.Timestamp | None = None) -> WatchResult:
    """The watch of ``an``'s snapshot at ``veille_alpha`` for ``last_week`` (default: the last complete week),
    computed once per snapshot, week and process; the default week is recorded in the history the first time."""
    key = (an.settings, an.snapshot_id, None if last_week is None else pd.Timestamp(last_week))
    with _RESULTS_LOCK:
        hit = _RESULTS.get(key)
    if hit is not None:
        return hit
    res = watch(an, alpha=an.settings.veille_alpha, last_week=last_week)
    if record and last_week is None and res.last_week is not None and an.snapshot_id != "empty":
        record_history(an.settings, res, an.snapshot_id)
    with _RESULTS_LOCK:
        if len(_RESULTS) > 8:
            _RESULTS.clear()
        _RESULTS[key] = res
    return res
