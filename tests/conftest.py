"""Shared fixtures: the real extracts in ../shared/data (skipped when absent) and small builders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# CI is deterministic: the same examples every run, no example database carried between runs,
# no deadline (tests never depend on the clock). Developers explore new examples by default; a
# failure found that way is pinned in its test with @example.
settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.load_profile(os.environ.get("SERVICEGRID_HYPOTHESIS_PROFILE", "dev"))

# The command line's tables wrap at the terminal width: wide enough that a message is one line.
os.environ["COLUMNS"] = "250"

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def shared_path(*parts: str) -> Path:
    """A file under ../shared/data, or skip the test with the reason when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real test data not available: {path} (the ../shared/data folder is absent)")
    return path


@pytest.fixture
def shared_data() -> Path:
    """The ../shared/data folder (skips the test when absent)."""
    return shared_path()
