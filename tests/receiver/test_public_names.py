"""One list of the receiver's public names: `enriched_webhook.verify` and its sources agree."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from enriched_webhook import verify
from enriched_webhook.receiver import errors


def test_errors_all_lists_every_class_defined_in_errors() -> None:
    source = Path(inspect.getfile(errors)).read_text(encoding="utf-8")
    defined = {node.name for node in ast.parse(source).body if isinstance(node, ast.ClassDef)}
    assert sorted(errors.__all__) == sorted(defined)


def test_verify_exports_every_error_and_only_names_it_defines() -> None:
    assert set(errors.__all__) <= set(verify.__all__), set(errors.__all__) - set(verify.__all__)
    for name in verify.__all__:
        assert getattr(verify, name).__module__.startswith("enriched_webhook.receiver.")
    imported = {
        name
        for name, value in vars(verify).items()
        if not name.startswith("_") and getattr(value, "__module__", "").startswith("enriched")
    }
    assert imported == set(verify.__all__)
    assert verify.__all__ == sorted(verify.__all__)
