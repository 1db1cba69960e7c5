"""docs/receiver.md shows the example apps exactly as the repository holds them."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHOWN = ("examples/flask/app.py", "examples/fastapi/app.py", "examples/django/views.py")


@pytest.mark.parametrize("path", SHOWN)
def test_the_docs_show_each_example_verbatim(path: str) -> None:
    docs = (REPO / "docs" / "receiver.md").read_text(encoding="utf-8")
    source = (REPO / path).read_text(encoding="utf-8")
    assert f"`{path}`:\n\n```python\n{source}```\n" in docs
