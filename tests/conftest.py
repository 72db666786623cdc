"""Shared fixtures: the real extracts in ../shared/data (skipped when absent) and small builders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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
