"""Run `enriched-webhook` through its real entry point, as a user's shell would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def cli(
    *args: str, cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).parent / "enriched-webhook"
    command = (
        [str(script)] if script.exists() else [sys.executable, "-m", "enriched_webhook.cli.main"]
    )
    env = dict(os.environ, CANVAS_NO_UPDATE_CHECK="1")
    return subprocess.run(
        [*command, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


REPO = Path(__file__).resolve().parents[2]


def devtools_command(*args: str) -> list[str]:
    """`python -m devtools ...` as `make demo` runs it (from the repository root)."""
    return [sys.executable, "-m", "devtools", *args]


def devtools(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, CANVAS_NO_UPDATE_CHECK="1")
    return subprocess.run(
        devtools_command(*args),
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
