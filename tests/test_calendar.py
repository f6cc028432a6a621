"""The suite does not depend on the day it runs: the time-sensitive tests pass with the clock moved far away.

Each check reruns, in a child pytest, the tests that touch the product's clocks (download dates, snapshot and
ingest times, default years and reference dates, report and export dates, sessions) with every clock of the
process moved to another day by ``tests/conftest.py`` (time-machine). A probe test proves that the move
reached the clocks the product reads.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import date, datetime, timezone

import pandas as pd
import pytest

from tests.conftest import FAKE_TODAY_ENV, REPO

# Tests whose code reads a clock (found by searching the product for now()/today() and following the callers).
TIME_SENSITIVE = [
    "tests/test_territory.py",
    "tests/test_official_fetch.py",
    "tests/test_store.py",
    "tests/test_bilan.py",
    "tests/test_exports.py",
    "tests/test_analytics_hotspots.py",
    "tests/test_auth.py",
    "tests/test_cli.py",
    "tests/test_report.py",
    "tests/test_actions_page.py",
    "tests/test_etl_pipeline.py",
    "tests/test_dashboard_app.py",
]
PROBE = "tests/test_calendar.py::test_every_clock_reads_the_fake_day"


def test_every_clock_reads_the_fake_day(_fake_today):
    if _fake_today is None:
        pytest.skip("probe of the calendar check: only meaningful with the clock moved (OBSERVATORY_TEST_TODAY)")
    # The probe reads the real clock on purpose: under the calendar check it must say the fake day.
    fake_day = _fake_today.date()
    assert date.today() == fake_day  # fake clock
    assert datetime.now(timezone.utc).date() == fake_day  # fake clock
    assert pd.Timestamp.now(tz="UTC").date() == fake_day  # fake clock


DAYS = ("2027-01-01", "2031-06-15")


@pytest.mark.slow
def test_time_sensitive_tests_pass_on_another_day(tmp_path):
    """Both days at once: the two child runs are independent and use one core each (the suite's longest check)."""
    if os.environ.get(FAKE_TODAY_ENV):
        pytest.skip("already inside a calendar check")
    runs, problems = {}, []
    with contextlib.ExitStack() as stack:
        for day in DAYS:
            report = tmp_path / f"junit-{day}.xml"
            env = {**os.environ, FAKE_TODAY_ENV: day}
            cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not browser",
                   f"--junitxml={report}", f"--basetemp={tmp_path / day}", PROBE, *TIME_SENSITIVE]
            out = stack.enter_context((tmp_path / f"out-{day}.txt").open("w+"))
            # Its own process group: a hung run is killed with whatever it started (the CLI tests' subprocesses).
            proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, text=True, start_new_session=True)
            runs[day] = (proc, out, report)
            stack.callback(_stop, proc)
        for day, (proc, out, report) in runs.items():
            try:
                code = proc.wait(timeout=900)  # they run side by side: the second is about done when the first is
            except subprocess.TimeoutExpired:
                problems.append(f"on {day}: still running after 900 s")
                continue
            out.seek(0)
            if code != 0:
                problems.append(f"on {day}:\n{out.read()[-8000:]}")
                continue
            cases = ET.parse(report).getroot().iter("testcase")
            by_name = {c.get("name"): c for c in cases}
            probe = by_name["test_every_clock_reads_the_fake_day"]
            if probe.find("skipped") is not None or probe.find("failure") is not None:
                problems.append(f"on {day}: the clock was not moved")
            ran = [c for c in by_name.values() if c.find("skipped") is None]
            if len(ran) <= 20:
                problems.append(f"on {day}: only {len(ran)} tests ran")
    assert not problems, "\n".join(problems)


def _stop(proc: subprocess.Popen) -> None:
    """Kill a child run still going (and its process group), then reap it."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
