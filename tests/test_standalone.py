"""The repository stands alone: a user clones it and nothing else.

Nothing in it may name the folder the developers keep beside it, and a fresh clone with
nothing beside it runs the suite's fast part.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from enriched_webhook.version import VERSION

REPO = Path(__file__).resolve().parents[1]
# Spelled in two parts so that this file does not name the folder itself.
SIBLING = "." + "./shared"


def tracked_files() -> list[str]:
    listing = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        text=True,
        check=True,
    )
    return [name for name in listing.stdout.splitlines() if (REPO / name).is_file()]


def test_no_file_of_the_project_names_the_developers_sibling_folder() -> None:
    naming = [
        name
        for name in tracked_files()
        if SIBLING in (REPO / name).read_text(encoding="utf-8", errors="replace")
    ]
    assert naming == []


def test_the_manifest_and_the_distribution_share_one_version() -> None:
    manifest = json.loads((REPO / "enriched_webhook" / "CANVAS_MANIFEST.json").read_text())
    assert manifest["plugin_version"] == VERSION


def test_a_clone_with_nothing_beside_it_runs_the_fast_suite(tmp_path: Path) -> None:
    """Clone HEAD into an empty folder and run the fast suite there: tests/shared,
    tests/plugin, and the receiver's verification tests (the files issue 9 saw fail)."""
    clone = tmp_path / "alone" / "enriched-webhook"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    assert not (clone.parent / "shared").exists()
    env = dict(os.environ, CANVAS_NO_UPDATE_CHECK="1")
    env.pop("PYTHONPATH", None)
    where = subprocess.run(
        [
            sys.executable,
            "-c",
            "import enriched_webhook, devtools; print(enriched_webhook.__file__)",
        ],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.strip().startswith(str(clone)), "the clone must import its own code"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-q",
            "-m",
            "not runner and not slow and not load",
            "tests/shared",
            "tests/plugin",
            "tests/receiver/test_verify_hmac.py",
            "tests/receiver/test_verify_jwt.py",
        ],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout.splitlines()[-1]
