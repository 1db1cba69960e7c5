"""`canvas validate` on the package and on the plugin-only copy that the runner and deploy get."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from devtools.runner import canvas_executable
from enriched_webhook.tools.plugin_files import PACKAGE_DIR, PLUGIN_PARTS, copy_plugin


def validate(plugin_dir: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, CANVAS_NO_UPDATE_CHECK="1")
    return subprocess.run(
        [canvas_executable(), "validate", plugin_dir.name],
        cwd=plugin_dir.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def handler_count() -> int:
    """Every handler and application the manifest declares: validate loads each one."""
    manifest = json.loads((PACKAGE_DIR / "CANVAS_MANIFEST.json").read_text())
    components = manifest["components"]
    return len(components.get("handlers", [])) + len(components.get("applications", []))


def test_canvas_validate_passes_on_the_package() -> None:
    result = validate(PACKAGE_DIR)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"All {handler_count()} handler(s) load cleanly in the sandbox." in result.stdout
    assert "Warning" not in result.stdout
    assert "will fail on the instance" not in result.stdout


def test_canvas_validate_passes_on_the_plugin_only_copy(tmp_path: Path) -> None:
    copy = copy_plugin(tmp_path)
    assert not (copy / "localrun").exists() and not (copy / "verify.py").exists()
    result = validate(copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "load cleanly" in result.stdout


def test_canvas_validate_catches_a_construct_the_sandbox_rejects(tmp_path: Path) -> None:
    """The check above can fail: a handler-imported module with a sandbox violation does."""
    copy = copy_plugin(tmp_path)
    target = copy / "plugin" / "outbox" / "delivery.py"
    target.write_text(target.read_text() + "\nimport socket\n")
    result = validate(copy)
    assert result.returncode != 0
    assert "socket" in result.stdout


@pytest.mark.parametrize("module", ["fhir.resources", "cryptography"])
def test_receiver_dependencies_are_refused_by_the_sandbox(tmp_path: Path, module: str) -> None:
    copy = copy_plugin(tmp_path)
    target = copy / "shared" / "payload.py"
    target.write_text(target.read_text() + "\nimport " + module + "\n")
    result = validate(copy)
    assert result.returncode != 0, "the sandbox no longer refuses " + module


def test_canvasignore_uploads_exactly_the_plugin_parts() -> None:
    """`canvas install` (reads .canvasignore) and the runner/bundle copy (PLUGIN_PARTS) agree."""
    import pathspec

    repo = PACKAGE_DIR.parent
    lines = ["__pycache__", "*.pyc", *(repo / ".canvasignore").read_text().splitlines()]
    ignored = pathspec.PathSpec.from_lines(pathspec.patterns.GitWildMatchPattern, lines)
    for path in PACKAGE_DIR.rglob("*"):
        relative = path.relative_to(PACKAGE_DIR)
        if path.is_dir() or "__pycache__" in relative.parts:
            continue
        in_plugin = relative.parts[0] in PLUGIN_PARTS
        assert ignored.match_file(relative) != in_plugin, str(relative)
