"""Crash safety: SIGKILL the ingest at ≥ 30 seeded moments, including inside publish.

After each kill the previous snapshot (or the new one, if the pointer was already swapped) reads back intact,
and a re-run converges to exactly the snapshot an uninterrupted run gives.

The ingest runs in a forked child process (cheap: the libraries are already imported) and is killed either
at the N-th named checkpoint of the write path (``store.checkpoint``: every write, fsync, rename and pointer
swap) or after a seeded random delay. Two extra runs use a fresh interpreter and the environment variable.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from observatory import store
from observatory.etl import ingest
from tests.etl_helpers import REPO, pn_row, settings_for, write_pn

SOURCE = "police_nationale"


def _files(base: Path) -> tuple[Path, Path]:
    first = write_pn(base / "pn_20240201.csv", [
        pn_row("A", "10/01/2023 10:00"), pn_row("B", "11/01/2024 11:00", arr="69383"), pn_row("C", "12/01/2024 12:00", arr="69384")])
    # Second extract: revises B, repeats C, adds rows in 2024 and 2025; 2023 stays unchanged (hard-linked).
    second = write_pn(base / "pn_20250201.csv", [
        pn_row("B", "11/01/2024 11:00", arr="69386"), pn_row("C", "12/01/2024 12:00", arr="69384"),
        pn_row("D", "05/01/2025 08:00", arr="69385"), pn_row("E", "06/01/2025 09:00", arr="69387"),
        pn_row("F", "32/01/2025 09:00", arr="69387")] + [pn_row(f"N{i}", f"{i + 1:02d}/02/2024 10:00", arr="69381") for i in range(25)])
    return first, second


def _snapshot_ok(settings) -> store.Snapshot:
    """The current snapshot reads back whole: every file listed, with the rows and checksum the manifest says."""
    snap = store.current_snapshot(settings)
    assert snap is not None
    for f in snap.manifest["files"]:
        path = snap.path / f["path"]
        assert store.sha256_file(path) == f["sha256"]
    assert snap.read_incidents().num_rows == snap.row_count
    store.read_quarantine(settings)
    return snap


def _run_child(settings, second: Path, kill_at: int | None) -> int:
    pid = os.fork()
    if pid == 0:  # child: ingest, then leave without running the parent's atexit/pytest machinery
        code = 0
        try:
            if kill_at is not None:
                os.environ[store._KILL_ENV] = str(kill_at)
                store._checkpoints_seen = 0
            ingest(settings, [second], SOURCE)
        except BaseException:  # noqa: BLE001 - any escape is a failure the parent must see
            code = 3
        os._exit(code)
    return pid


def _wait(pid: int, timeout: float = 60.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.005)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    raise AssertionError("the ingest child hung")


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    base = tmp_path_factory.mktemp("crash")
    first, second = _files(base)
    template = base / "template"
    s = settings_for(template)
    assert ingest(s, [first], SOURCE).snapshot_id
    baseline = store.current_snapshot(s)
    # The uninterrupted result, and how many checkpoints it passes.
    ref_dir = base / "reference"
    shutil.copytree(template, ref_dir, symlinks=True)
    ref = settings_for(ref_dir)
    os.environ.pop(store._KILL_ENV, None)
    t0 = time.perf_counter()
    pid = _run_child(ref, second, kill_at=10**9)
    assert os.waitstatus_to_exitcode(_wait(pid)) == 0
    duration = time.perf_counter() - t0
    expected = store.current_snapshot(ref).read_incidents().sort_by("incident_key")
    # Count the checkpoints of one run (same code path, in-process, on another copy).
    count_dir = base / "count"
    shutil.copytree(template, count_dir, symlinks=True)
    os.environ[store._KILL_ENV] = str(10**9)
    store._checkpoints_seen = 0
    try:
        ingest(settings_for(count_dir), [second], SOURCE)
        checkpoints = store._checkpoints_seen
    finally:
        os.environ.pop(store._KILL_ENV, None)
        store._checkpoints_seen = 0
    return {"base": base, "template": template, "second": second, "baseline_id": baseline.id,
            "expected": expected, "checkpoints": checkpoints, "duration": duration}


def _check_after_kill(work: Path, sc: dict) -> None:
    s = settings_for(work)
    snap = _snapshot_ok(s)
    new_published = snap.id != sc["baseline_id"]
    if not new_published:
        assert snap.read_incidents().num_rows == 3
    rerun = ingest(s, [sc["second"]], SOURCE)
    assert rerun.exit_code == 0
    if new_published:
        assert rerun.snapshot_id is None and rerun.files[0].skipped
    final = _snapshot_ok(s)
    assert final.read_incidents().sort_by("incident_key").equals(sc["expected"])
    assert not [p for p in store.snapshots_dir(s).iterdir() if p.name.startswith(store.TMP_PREFIX)]
    assert len(store.list_snapshots(s)) == 2  # baseline + the one new snapshot: no orphan left behind


def test_kill_at_every_checkpoint_and_at_random_moments(scenario):
    sc = scenario
    n_points = sc["checkpoints"]
    assert n_points >= 12  # writes, fsyncs, rename and pointer swap are all covered
    rng = random.Random(20260101)
    killed = 0
    cases: list[tuple[str, float]] = [("checkpoint", k) for k in range(1, n_points + 1)]
    cases += [("delay", rng.uniform(0.0, sc["duration"] * 1.1)) for _ in range(max(0, 32 - n_points))]
    for i, (kind, value) in enumerate(cases):
        work = sc["base"] / f"run{i}"
        shutil.copytree(sc["template"], work, symlinks=True)
        s = settings_for(work)
        if kind == "checkpoint":
            pid = _run_child(s, sc["second"], kill_at=int(value))
            status = _wait(pid)
            assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, f"checkpoint {value} not reached"
            killed += 1
        else:
            pid = _run_child(s, sc["second"], kill_at=None)
            time.sleep(value)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            status = _wait(pid)
            killed += int(os.WIFSIGNALED(status))
        _check_after_kill(work, sc)
        shutil.rmtree(work)
    assert len(cases) >= 30 and killed >= n_points


def test_kill_of_a_fresh_interpreter_via_the_environment(scenario):
    """The same hook from a real ``python`` subprocess: killed inside publish (the pointer swap), then re-run."""
    sc = scenario
    for target in (sc["checkpoints"] - 2, sc["checkpoints"] // 2):
        work = sc["base"] / f"fresh{target}"
        shutil.copytree(sc["template"], work, symlinks=True)
        code = (
            "import sys; sys.path.insert(0, sys.argv[1]);"
            "from pathlib import Path; from tests.etl_helpers import settings_for; from observatory.etl import ingest;"
            "ingest(settings_for(Path(sys.argv[2])), [Path(sys.argv[3])], 'police_nationale')"
        )
        env = {**os.environ, store._KILL_ENV: str(target)}
        proc = subprocess.run([sys.executable, "-c", code, str(REPO), str(work), str(sc["second"])], env=env, timeout=120, capture_output=True)
        assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-500:]
        _check_after_kill(work, sc)
