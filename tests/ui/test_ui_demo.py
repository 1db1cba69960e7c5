"""`python -m devtools demo --ui`: fills the outbox through the runner and prints the URLs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.runner

REPO = Path(__file__).resolve().parents[2]


def test_demo_ui_fills_the_outbox_prints_the_urls_and_stops() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "devtools", "demo", "--ui", "--seconds", "1", "--port", "0"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        "past week: 58 deliveries over 7 days, among them an outage of 6 h"
        " (12 Tasks answered 503, resent once it was over)"
    ) in result.stdout
    assert "outbox filled: delivered 17, failed 3, retrying 4" in result.stdout
    login = re.search(
        r"open \(stand-in staff session\): (http://127\.0\.0\.1:\d+/_session/\S+)", result.stdout
    )
    page = re.search(
        r"the page itself: (http://127\.0\.0\.1:\d+/plugin-io/api/enriched_webhook/app/deliveries)",
        result.stdout,
    )
    assert login is not None and page is not None
    assert result.stderr == ""


def test_demo_refuses_an_unknown_option() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "devtools", "demo", "--colour"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "unrecognized arguments: --colour" in result.stderr
