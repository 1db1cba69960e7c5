"""Which files make up the plugin Canvas runs, and a copy of just those.

The runner and `canvas deploy` get this copy, never the whole package, so receiver and
tool modules (which import fhir.resources, cryptography) cannot reach the sandbox, and a
test run proves that the plugin works without them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent
PACKAGE_NAME = PACKAGE_DIR.name
# Everything else in the package is receiver or tool code (see .canvasignore).
PLUGIN_PARTS = ("CANVAS_MANIFEST.json", "README.md", "__init__.py", "handlers", "plugin", "shared")


def copy_plugin(destination_parent: Path, package_name: str = PACKAGE_NAME) -> Path:
    """Copy the plugin's files into `destination_parent/package_name`; return that folder."""
    target = destination_parent / package_name
    target.mkdir(parents=True, exist_ok=False)
    for part in PLUGIN_PARTS:
        source = PACKAGE_DIR / part
        if source.is_dir():
            shutil.copytree(source, target / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target / part)
    return target
