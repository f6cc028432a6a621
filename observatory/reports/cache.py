"""Diagnostics computed once per snapshot: the Bilan page, its PDF and its downloads answer from memory.

A yearly diagnostic (:func:`observatory.reports.diagnostic.diagnostic_for`) aggregates the whole snapshot, reads
the quarantine, evaluates the action plan and protects every table: seconds of work whose result only changes
when its inputs do. :func:`diagnostic` memoises it under a key naming every input:

- the snapshot id (a new publication gives new keys; the old entries age out of the LRU);
- the Settings (min_count, grid size, windows… — frozen, compared by value);
- the year, the territory and the generation date (the date printed on the document; today unless given);
- the files read beside the snapshot: the action register and its perimeters, the means register and the aggregate
  table's pointer, the official statistics store, the refused-files ledger, the resident-survey store, the exposure
  series and the territory's reference files (mtime, size and inode: an atomic replace is
  seen even within the filesystem's timestamp granularity).

Concurrent requests for the same key wait for one build instead of each starting its own (a page opened by
several élus after a publication). The cached object is shared: callers read it and never modify it.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import date
from pathlib import Path
from typing import Any

from observatory.config import Settings


def file_stamp(path: Path) -> tuple[int, int, int] | None:
    """(mtime ns, size, inode) of a file, None when it does not exist."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size, st.st_ino


def inputs_stamp(settings: Settings) -> tuple:
    """Stamps of the files a diagnostic reads besides the snapshot's own (see the module docstring)."""
    from observatory import store
    from observatory.actions.register import perimeters_path, register_path
    from observatory.official.storage import MANIFEST, official_store_dir
    from observatory.survey.store import survey_dir
    from observatory.territory.geography import _cache_stamp

    files = (register_path(settings), perimeters_path(settings), official_store_dir(settings) / MANIFEST, settings.processed_dir / store.REFUSED_FILE)
    from observatory.means import register as means_register
    from observatory.means import store as means_store

    # The « Déclinaison des moyens » chapter reads the means register and the aggregated MJD/victims/elucidation table.
    files += (means_register.means_path(settings), means_store.store_dir(settings) / means_store.POINTER)
    surveys = sorted(survey_dir(settings).glob("*")) if survey_dir(settings).is_dir() else []
    surveys += _exposure_files(settings)
    return tuple(file_stamp(p) for p in (*files, *surveys)) + (tuple(p.name for p in surveys), _cache_stamp(settings))


def _exposure_files(settings: Settings) -> list[Path]:
    """The exposure series (pools' attendance, people present…) the diagnostic's zone sentences read."""
    from observatory.exposure.store import exposure_dir

    folder = exposure_dir(settings)
    return sorted(folder.glob("*")) if folder.is_dir() else []


class KeyedCache:
    """A small LRU memo with one build per key at a time, and counters (``builds``, ``hits``) for tests."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self.builds = 0
        self.hits = 0
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._building: dict[Hashable, threading.Lock] = {}

    def get(self, key: Hashable, build: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key]
            gate = self._building.setdefault(key, threading.Lock())
        with gate:  # a second request for the same key waits here, then finds the first one's result
            with self._lock:
                if key in self._items:
                    self.hits += 1
                    return self._items[key]
            value = build()
            with self._lock:
                self.builds += 1
                self._items[key] = value
                self._building.pop(key, None)
                while len(self._items) > self.maxsize:
                    self._items.popitem(last=False)
            return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.builds = self.hits = 0


# A city and nine arrondissements over a few years, per snapshot: a Diagnostic weighs ~100 kB (SVG figures and
# small protected tables), so 64 of them stay well under 10 MB.
DIAGNOSTICS = KeyedCache(maxsize=64)


def diagnostic(settings: Settings, year: int, arrondissement: str | None = None, analytics=None, generated_on: date | None = None):  # noqa: ANN001, ANN201 - Analytics, Diagnostic
    """:func:`~observatory.reports.diagnostic.diagnostic_for`, built once per (snapshot, settings, year, territory,
    date, inputs stamp) and then served from memory."""
    from observatory.analytics.engine import get_analytics
    from observatory.reports.diagnostic import diagnostic_for

    an = analytics or get_analytics(settings)
    day = generated_on or date.today()
    key = (str(an.snapshot_id), settings, int(year), arrondissement or None, day, inputs_stamp(settings))
    return DIAGNOSTICS.get(key, lambda: diagnostic_for(settings, int(year), arrondissement or None, analytics=an, generated_on=day))


# The parts of a diagnostic that do not depend on its territory (the means chapter, the zones' exposure sentences,
# the quarantine summary, the resident survey): about two thirds of an arrondissement's first Bilan, computed once
# per (snapshot, settings, year, day, inputs) and shared by the city and the nine arrondissements.
SHARED_PARTS = KeyedCache(maxsize=32)


def shared_part(name: str, settings: Settings, analytics, year: int | None, build: Callable[[], Any]) -> Any:  # noqa: ANN001 - Analytics
    """``build()`` memoised for every territory of a year; each caller gets its own (deep) copy to read or change."""
    snapshot_id = str(analytics.snapshot_id) if analytics is not None else None
    key = (name, snapshot_id, settings, year, date.today(), inputs_stamp(settings))
    return copy.deepcopy(SHARED_PARTS.get(key, build))
