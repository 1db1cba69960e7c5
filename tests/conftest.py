"""Fixtures shared by the whole suite: the published test vectors kept in the repository."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
VECTORS = REPO / "tests" / "vectors"


@pytest.fixture(scope="session")
def vectors_dir() -> Path:
    return VECTORS
