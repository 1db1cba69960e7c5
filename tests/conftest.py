"""Fixtures shared by the whole suite: keys, secrets, the shared test data folder."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# CI clones the repo with shared/ beside it, as in the developers' checkout.
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not (SHARED / "DESIGN.md").exists():
        pytest.fail(
            "../shared (DESIGN.md, fixtures, vectors) is missing beside the repo: " + str(SHARED)
        )
    return SHARED
