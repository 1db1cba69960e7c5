"""Receiver fixtures: a real redis-server, fresh secrets and keys, the shared vectors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .helpers import KeyPair, new_key_pair, new_whsec
from .servers import redis_server


@pytest.fixture(scope="session")
def vectors(vectors_dir: Path) -> dict[str, Any]:
    folder = vectors_dir
    return {path.stem: json.loads(path.read_text()) for path in folder.glob("*.json")}


@pytest.fixture
def secret() -> str:
    return new_whsec()


@pytest.fixture(scope="session")
def es256() -> KeyPair:
    return new_key_pair("ES256", "es-1")


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server on a free port, in a temp dir, without persistence."""
    with redis_server(tmp_path_factory.mktemp("redis")) as server:
        yield f"redis://127.0.0.1:{server.port}/0"
