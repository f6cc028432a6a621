"""Shared test fixtures: settings anchored in a temporary folder, the location of ../shared/reference."""

from __future__ import annotations

from pathlib import Path

import pytest

from observatory.config import get_settings

REPO = Path(__file__).resolve().parents[1]
SHARED_REFERENCE = REPO.parent / "shared" / "reference"


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
