"""Shared test fixtures: settings anchored in a temporary folder, the location of ../shared/reference."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import pytest

from observatory.config import get_settings

REPO = Path(__file__).resolve().parents[1]
SHARED_REFERENCE = REPO.parent / "shared" / "reference"

# Generated-input tests explore new inputs on a developer's machine, but CI replays the same ones: a red build
# must be the commit's doing, not a new draw (a draw on a laptop found the empty « [time] column » once).
if os.environ.get("CI"):
    from hypothesis import settings as _hypothesis_settings

    _hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
    _hypothesis_settings.load_profile("ci")


# The calendar check (tests/test_calendar.py) reruns the time-sensitive tests with the whole process moved to
# another day: every clock the product or a test reads (datetime, date, time, pandas) then says that day.
FAKE_TODAY_ENV = "OBSERVATORY_TEST_TODAY"


@pytest.fixture(autouse=True, scope="session")
def _fake_today():
    value = os.environ.get(FAKE_TODAY_ENV)
    if not value:
        yield None
        return
    import time_machine

    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(hour=10, tzinfo=timezone.utc)
    # tick=True: time still moves forward from the fake moment (snapshot ids and durations stay ordered).
    with time_machine.travel(moment, tick=True):
        yield moment


@pytest.fixture
def settings(tmp_path):
    """Settings whose data folder is a fresh temporary directory (profiles still read from the repository)."""
    return get_settings(root=REPO, env={}, data_dir=tmp_path / "data")


def reference_file(*parts: str) -> Path:
    """A file of ../shared/reference, or skip the test with the reason."""
    path = SHARED_REFERENCE.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"reference data not available: {path.relative_to(REPO.parent)} (../shared is absent)")
    return path
